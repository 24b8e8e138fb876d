"""The explanation view's core: occlusion heat maps, the explanation model, the worker."""

import time

import numpy as np
import pytest
from conftest import ROOT

from live_digits import datasets, explain, model, preprocess, synth

MODELS = ROOT / "models"  # this checkout's models, whichever install `--model cnn` would find


@pytest.fixture(scope="module")
def rendered_inputs(mnist_sample):
    """Model inputs read by the live path from rendered webcam frames of eight test digits."""
    rng = np.random.default_rng(5)
    inputs = []
    for digit in mnist_sample["x_test"][:8]:
        frame = synth.render_frames([digit], synth.random_conditions(rng), 1, rng)[0]
        digits = preprocess.read_box(frame, preprocess.DEFAULT_BOX)[3]
        inputs.append(digits[0].image)
    return np.stack(inputs)


@pytest.fixture(scope="module")
def cnn_explain():
    return explain.ExplainModel(explain.explain_path(MODELS / "cnn.json"))


def test_every_pixel_is_hidden_by_the_same_number_of_squares_and_the_input_comes_first():
    positions = explain.patch_positions()
    x = np.random.default_rng(0).random((28, 28)).astype(np.float32) + 0.1
    batch = explain.occluded_batch(x)
    assert batch.shape == (1 + len(positions), 28, 28) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch[0], x)
    hidden = batch[1:] == explain.FILL
    assert np.all(hidden.sum(axis=(1, 2)) == explain.PATCH**2)  # one square each, inside the input
    cover = hidden.sum(axis=0)
    assert cover.min() >= 1 and np.all(cover[2:-2, 2:-2] == (explain.PATCH // explain.STRIDE) ** 2)


def test_heat_is_where_hiding_changes_the_class():
    """Made-up probabilities: class 3 is sure unless a square inside the top-left 8x8 is hidden."""
    positions = explain.patch_positions()
    probs = np.full((1 + len(positions), 10), 0.01, np.float32)
    probs[:, 3] = 0.91
    top_left = (positions[:, 0] + explain.PATCH <= 8) & (positions[:, 1] + explain.PATCH <= 8)
    probs[1:][top_left] = 0.1  # all ten classes equally likely
    heat = explain.occlusion_heat(probs)
    assert heat.shape == (10, 28, 28) and heat.dtype == np.float32
    assert heat[3, :8, :8].min() > 0 and heat[3, 8:].max() == 0 and heat[3, :, 8:].max() == 0  # evidence for 3
    others = heat[np.arange(10) != 3]
    assert others[:, :8, :8].max() < 0 and others[:, 8:].min() == 0 and others[:, :, 8:].min() == 0  # ... against


@pytest.mark.parametrize("name", ["cnn", "dense"])
def test_feature_maps_come_from_the_network_that_predicts(name, mnist_sample, rendered_inputs):
    """Same input -> same probabilities as the plain per-frame model; the layers the view shows."""
    inputs = np.concatenate([datasets.mnist_to_inputs(mnist_sample["x_test"][:32]), rendered_inputs])
    net = explain.ExplainModel(explain.explain_path(MODELS / f"{name}.json"))
    *maps, hidden, probs = net.run(inputs)
    digits = model.load(MODELS / f"{name}.json").predict(inputs)  # the ten digits (a not-a-digit class left out)
    np.testing.assert_allclose(probs[:, : digits.shape[1]], digits, atol=1e-5)
    assert [m.shape[1:] for m in maps] == ([(24, 24, 32), (8, 8, 64)] if name == "cnn" else [])
    assert hidden.shape == (len(inputs), 128) and hidden.min() >= 0  # after a ReLU
    assert net.votes is not None and net.votes.shape == (10, 128)
    # The softmax weights read from the file give back the probabilities (up to the bias).
    logits = hidden @ net.votes.T
    odds = np.log(probs[:, :1]) - np.log(probs[:, 1:10])  # among the ten digits' rows
    bias = (logits[:, :1] - logits[:, 1:]) - odds
    assert np.allclose(bias, bias[0], atol=1e-2)


def test_the_heat_map_of_a_rendered_digit_lies_on_the_ink(cnn_explain, rendered_inputs):
    """Most of the shown digit's positive heat falls on inked pixels, which cover ~15% of the input."""
    shares = []
    for x in rendered_inputs:
        e = explain.explain(cnn_explain, x)
        heat = np.maximum(e.heat[e.ranked[0]], 0)
        ink = x > 0.1
        shares.append(heat[ink].sum() / heat.sum())
        assert shares[-1] >= 2.5 * ink.mean(), (shares[-1], ink.mean())
    assert np.median(shares) >= 0.5, shares


def test_an_explanation_describes_its_input(cnn_explain, rendered_inputs, mnist_sample):
    e = explain.explain(cnn_explain, rendered_inputs[0])
    assert e.ranked[0] == mnist_sample["y_test"][0] and e.probs.sum() == pytest.approx(1, abs=1e-4)
    assert [m.shape for m in e.maps] == [(24, 24, 32), (8, 8, 64)] and e.hidden.shape == (128,)
    units = e.strongest_units(8)
    assert len(units) == 8 and list(e.hidden[units]) == sorted(e.hidden, reverse=True)[:8]


def test_the_live_explainer_never_waits_and_explains_the_newest_input(rendered_inputs):
    path = explain.explain_path(MODELS / "cnn.json")
    explainer = explain.LiveExplainer(lambda: explain.ExplainModel(path), min_interval=0.05)
    try:
        waits = []
        end = time.perf_counter() + 1.5
        while time.perf_counter() < end:  # a 30 fps loop handing over a new input every frame
            t = time.perf_counter()
            explainer.submit(rendered_inputs[len(waits) % 4])
            explainer.latest()
            waits.append(time.perf_counter() - t)
            time.sleep(1 / 30)
        assert max(waits) < 0.005, max(waits)
        assert explainer.latest() is not None and len(explainer.refreshes) >= 3
        done = explainer.refreshes
        assert (len(done) - 1) / (done[-1] - done[0]) <= 1 / 0.05 + 1  # no more often than asked
        explainer.submit(rendered_inputs[5])
        deadline = time.perf_counter() + 5
        while not np.array_equal(explainer.latest().model_input, rendered_inputs[5]):
            assert time.perf_counter() < deadline, "the newest input was never explained"
            time.sleep(0.01)
        done = len(explainer.refreshes)
        for _ in range(10):  # a digit held still: its input barely changes, nothing new to show
            explainer.submit(np.clip(rendered_inputs[5] + 0.004, 0, 1))
            time.sleep(1 / 30)
        assert len(explainer.refreshes) == done
        explainer.submit(None)  # the digit left: the view empties
        assert explainer.latest() is None
    finally:
        explainer.close()


def test_a_missing_explanation_model_is_reported_not_raised(tmp_path, rendered_inputs):
    explainer = explain.LiveExplainer(lambda: explain.ExplainModel(tmp_path / "gone.explain.tflite"))
    try:
        explainer.submit(rendered_inputs[0])
        deadline = time.perf_counter() + 5
        while not explainer.error:
            assert time.perf_counter() < deadline
            time.sleep(0.01)
        assert explainer.latest() is None and "no explanation model" in explainer.error
    finally:
        explainer.close()


def test_a_damaged_explanation_model_is_not_used(tmp_path):
    """Its checksum is in the model's metadata: a flipped byte means no view, not a wrong one."""
    for path in (MODELS).glob("cnn.*"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    assert explain.explain_path(tmp_path / "cnn.json") == tmp_path / "cnn.explain.tflite"
    damaged = bytearray((tmp_path / "cnn.explain.tflite").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / "cnn.explain.tflite").write_bytes(bytes(damaged))
    assert explain.explain_path(tmp_path / "cnn.json") is None

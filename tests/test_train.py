"""live-digits-train end to end on the small fixture: files, metadata, loadable model."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import DATA, ROOT

from live_digits import augment, datasets, explain, model


@pytest.mark.parametrize("members, val_per_class, filmed", [(1, 5, 1), (2, 5, 0), (2, 0, 0)])
def test_training_writes_a_loadable_model_with_its_metadata(tmp_path, members, val_per_class, filmed):
    args = ["--mnist", str(DATA / "mnist_sample.npz"), "--arch", "dense", "--epochs", "2", "--copies", "1"]
    args += ["--members", str(members), "--val-per-class", str(val_per_class), "--filmed", str(filmed)]
    proc = subprocess.run(
        [sys.executable, "-m", "live_digits.train_cli", *args, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((tmp_path / "dense.json").read_text())
    assert meta["input"] == model.INPUT_CONTRACT and meta["training"]["command"].startswith("live-digits-train --mnist")
    held_out = 10 * val_per_class
    assert meta["training"]["train_images"] == 500 - held_out and meta["training"]["validation_images"] == held_out
    assert 0.5 < meta["mnist_test"]["accuracy"] <= 1.0  # 1,000 fixture test images, two short epochs
    assert meta["training"]["filmed_copies"] == filmed and meta["training"]["filmed_number_copies"] == 0
    assert meta["members"] == members and meta["layers"][-1] == "Dense"  # a member's layers, not the wrapper's
    if members > 1:  # networks from different seeds: each validated, the average too
        assert len(meta["training"]["member_validation_accuracy"]) == members
    if not held_out:  # every image trained on: each network keeps its last epoch, nothing to validate
        assert meta["training"]["best_epoch"] == [2, 2] and meta["training"]["validation_accuracy"] is None
    loaded = model.load(tmp_path / "dense.json")
    assert loaded.runtime == "litert" and loaded.predict(np.zeros((3, 28, 28), np.float32)).shape == (3, 10)
    if members == 1:  # the explanation view's model: the same network, more outputs
        assert meta["files"]["explain"] == "dense.explain.tflite"
        x = datasets.mnist_to_inputs(np.load(DATA / "mnist_sample.npz")["x_test"][:20])
        *_, probs = explain.ExplainModel(tmp_path / "dense.explain.tflite").run(x)
        np.testing.assert_allclose(probs, loaded.predict(x), atol=1e-5)
    else:  # an average of networks has no one network to show
        assert "explain" not in meta["files"] and not (tmp_path / "dense.explain.tflite").exists()


@pytest.mark.parametrize(
    "args, fragment",
    [(["--members", "0"], "--members"), (["--filmed", "-1"], "--filmed"), (["--arch", "rnn"], "--arch")],
)
def test_bad_training_arguments_give_one_line_and_a_hint(args, fragment):
    proc = subprocess.run(
        [sys.executable, "-m", "live_digits.train_cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("live-digits-train: error: ") and fragment in lines[0] and "(hint: " in lines[0]


def test_filmed_inputs_are_the_live_paths_reading_of_each_labelled_digit(mnist_sample, cnn):
    """Rendered-camera copies: labels line up with images, the live path finds nearly every
    digit, and the work is split over processes without changing a single pixel."""
    x, y = mnist_sample["x_train"][::25], mnist_sample["y_train"][::25]  # 20 digits, every class
    inputs, source = augment.filmed_inputs(x, copies=3, seed=4, workers=1)
    assert inputs.dtype == np.float32 and inputs.shape[1:] == (28, 28)
    assert 0.0 <= inputs.min() and inputs.max() <= 1.0
    assert len(inputs) == len(source) >= 0.9 * 3 * len(x) and set(source) <= set(range(len(x)))
    assert np.mean(cnn.predict(inputs).argmax(1) == y[source]) >= 0.85  # misaligned labels: ~10%
    again, again_source = augment.filmed_inputs(x, copies=3, seed=4, workers=2)
    np.testing.assert_array_equal(again, inputs)
    np.testing.assert_array_equal(again_source, source)


def test_filmed_number_copies_are_number_mode_readings_of_each_labelled_digit(mnist_sample, cnn):
    """Digits filmed as numbers: each image once per copy, labels in reading order, and the
    single-digit copies of the same seed are unchanged by adding them."""
    x, y = mnist_sample["x_train"][::25], mnist_sample["y_train"][::25]
    inputs, source = augment.filmed_inputs(x, copies=1, seed=4, workers=1, numbers=2)
    single, single_source = augment.filmed_inputs(x, copies=1, seed=4, workers=1)
    np.testing.assert_array_equal(inputs[: len(single)], single)
    np.testing.assert_array_equal(source[: len(single)], single_source)
    numbers = source[len(single) :]
    assert len(numbers) >= 0.7 * 2 * len(x)  # a number whose digit count is misread is left out whole
    assert np.bincount(numbers, minlength=len(x)).max() <= 2  # each image at most once per copy
    assert np.mean(cnn.predict(inputs[len(single) :]).argmax(1) == y[numbers]) >= 0.85  # misaligned: ~10%


def test_a_model_trained_with_no_digit_inputs_knows_a_fragment_from_a_digit(tmp_path, mnist_sample):
    """--not-digits adds inputs of part of a digit or two touching digits as an eleventh class;
    the model loads, knows it has that class, and answers the ten digits' probabilities."""
    inputs = augment.not_a_digit_inputs(mnist_sample["x_train"], 50, seed=3)
    assert inputs.shape == (50, 28, 28) and inputs.dtype == np.float32 and 0 <= inputs.min() and inputs.max() <= 1
    assert (inputs.reshape(50, -1).max(1) > 0.5).all()  # every one has ink
    args = ["--mnist", str(DATA / "mnist_sample.npz"), "--arch", "dense", "--epochs", "2", "--copies", "1"]
    proc = subprocess.run(
        [sys.executable, "-m", "live_digits.train_cli", *args, "--not-digits", "0.3", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((tmp_path / "dense.json").read_text())
    assert meta["classes"] == 11 and meta["training"]["not_digit_share"] == 0.3
    loaded = model.load(tmp_path / "dense.json")
    probs = loaded.predict(np.zeros((3, 28, 28), np.float32))
    assert loaded.knows_not_a_digit and probs.shape == (3, 10) and (probs.sum(1) <= 1 + 1e-5).all()
    assert not model.load("cnn").knows_not_a_digit

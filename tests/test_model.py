"""The shipped models: metadata contract, and the fast path equals the Keras model."""

import json

import numpy as np
import pytest
from conftest import ROOT

from live_digits import catalog, datasets, evaluate, model


@pytest.mark.parametrize("name", catalog.SHIPPED)
def test_shipped_model_metadata_states_contract_training_and_accuracy(name):
    meta = json.loads((ROOT / "models" / f"{name}.json").read_text())
    assert meta["input"] == model.INPUT_CONTRACT
    assert meta["training"]["command"].startswith("live-digits-train")
    assert meta["training"]["train_images"] + meta["training"]["validation_images"] <= 60000
    assert 0.9 < meta["mnist_test"]["accuracy"] <= 1.0 and meta["mnist_test"]["images"] == 10000
    assert (ROOT / "models" / meta["files"]["tflite"]).exists() and (ROOT / "models" / meta["files"]["keras"]).exists()


@pytest.mark.parametrize("name", catalog.SHIPPED)
def test_fast_path_gives_the_keras_models_answers(name, mnist_sample):
    inputs = datasets.mnist_to_inputs(mnist_sample["x_test"])
    fast, reference = model.load(name), model.load(name, runtime="keras")
    assert fast.runtime == "litert" and reference.runtime == "keras"
    p_fast = np.concatenate([fast.predict(inputs[i : i + 5]) for i in range(0, len(inputs), 5)])
    p_ref = reference.predict(inputs)
    assert np.array_equal(p_fast.argmax(1), p_ref.argmax(1))
    assert np.abs(p_fast - p_ref).max() < 1e-4


@pytest.mark.parametrize("name", catalog.SHIPPED)
def test_shipped_models_read_held_out_mnist(name, mnist_sample):
    probs = model.load(name).predict(datasets.mnist_to_inputs(mnist_sample["x_test"]))
    assert evaluate.accuracy(probs, mnist_sample["y_test"]) >= (0.985 if name == "cnn" else 0.96)


def test_predict_handles_any_batch_size(cnn):
    for n in (1, 5, 3, 0, 12):
        assert cnn.predict(np.zeros((n, 28, 28), np.float32)).shape == (n, 10)


@pytest.mark.parametrize("name", catalog.SHIPPED)
def test_shipped_model_metadata_records_each_files_checksum(name):
    meta = json.loads((ROOT / "models" / f"{name}.json").read_text())
    for role in ("tflite", "keras"):
        assert meta["sha256"][role] == model.file_sha256(ROOT / "models" / meta["files"][role])


def test_the_shipped_line_reader_is_loaded_with_every_model_and_is_no_digit_model():
    meta = json.loads((ROOT / "models" / f"{catalog.LINE_READER}.json").read_text())
    assert meta["input"] == model.LINE_CONTRACT and meta["kind"] == "line-reader"
    for role in ("tflite", "keras"):
        assert meta["sha256"][role] == model.file_sha256(ROOT / "models" / f"{catalog.LINE_READER}.{role}")
    for name in catalog.SHIPPED:
        assert model.load(name).read_line is not None
    assert catalog.LINE_READER not in [m.name for m in catalog.installed()]


def test_a_damaged_line_reader_is_not_used(tmp_path, caplog):
    """Number mode then reads digit by digit: a warning, no crash, no confidently wrong numbers."""
    for role in ("json", "tflite", "keras"):
        data = (ROOT / "models" / f"{catalog.LINE_READER}.{role}").read_bytes()
        if role == "tflite":
            data = data[:4000] + bytes([data[4000] ^ 0xFF]) + data[4001:]
        (tmp_path / f"{catalog.LINE_READER}.{role}").write_bytes(data)
    assert model.load_line_reader(tmp_path) is None
    assert "damaged" in caplog.text
    assert model.load_line_reader(tmp_path / "elsewhere") is None  # none shipped: digit by digit, silently

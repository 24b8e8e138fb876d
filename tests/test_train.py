"""live-digits-train end to end on the small fixture: files, metadata, loadable model."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import DATA, ROOT

from live_digits import augment, catalog, datasets, explain, model


def train_cli(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "live_digits.train_cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        **kwargs,
    )


@pytest.mark.parametrize("members, val_per_class, filmed", [(1, 5, 1), (2, 5, 0), (2, 0, 0)])
def test_training_writes_a_loadable_model_with_its_metadata(tmp_path, members, val_per_class, filmed):
    args = ["--mnist", str(DATA / "mnist_sample.npz"), "--arch", "dense", "--epochs", "2", "--copies", "1"]
    args += ["--members", str(members), "--val-per-class", str(val_per_class), "--filmed", str(filmed)]
    proc = train_cli(*args, "--out", str(tmp_path), timeout=600)
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
    proc = train_cli(*args, timeout=120)
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
    proc = train_cli(*args, "--not-digits", "0.3", "--val-per-class", "5", "--out", str(tmp_path), timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((tmp_path / "dense.json").read_text())
    assert meta["classes"] == 11 and meta["training"]["not_digit_share"] == 0.3
    loaded = model.load(tmp_path / "dense.json")
    probs = loaded.predict(np.zeros((3, 28, 28), np.float32))
    assert loaded.knows_not_a_digit and probs.shape == (3, 10) and (probs.sum(1) <= 1 + 1e-5).all()
    assert model.load("cnn").knows_not_a_digit and not model.load("dense").knows_not_a_digit


def assert_one_line(proc, *fragments):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode not in (0,) and proc.returncode > 0 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("live-digits-train: error: ") and "(hint: " in lines[0], proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def idx_folder(folder, images: bytes, labels: bytes, gz: bool = False):
    import gzip

    folder.mkdir()
    for name, data in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
        (folder / (name + ".gz" if gz else name)).write_bytes(gzip.compress(data) if gz else data)
    return str(folder)


IDX_IMAGES = b"\x00\x00\x08\x03" + (3).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + bytes(3 * 28 * 28)
IDX_LABELS = b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + bytes([1, 2, 3])


def bad_mnist(tmp_path, kind: str) -> str:
    """MNIST files a user might point --mnist at by mistake."""
    with np.load(DATA / "mnist_sample.npz") as d:
        x, y = d["x_train"], d["y_train"]
    if kind == "idx-short":  # the header promises three images, the file holds two
        return idx_folder(tmp_path / "idx", IDX_IMAGES[: -28 * 28], IDX_LABELS)
    if kind == "idx-gz-cut":
        folder = idx_folder(tmp_path / "idx", IDX_IMAGES, IDX_LABELS, gz=True)
        gz = tmp_path / "idx" / "train-images-idx3-ubyte.gz"
        gz.write_bytes(gz.read_bytes()[:40])
        return folder
    if kind == "npz-garbage":
        (tmp_path / "m.npz").write_bytes(b"PK\x03\x04" + bytes(200))
        return str(tmp_path / "m.npz")
    if kind == "labels-10":
        return write_npz(tmp_path / "m.npz", x_train=x, y_train=np.where(y == 3, 10, y))
    if kind == "lengths":
        return write_npz(tmp_path / "m.npz", x_train=x, y_train=y[:-7])
    if kind == "floats":  # scaled to [0, 1]: would threshold to blank masks and train on nothing
        return write_npz(tmp_path / "m.npz", x_train=x.astype(np.float32) / 255, y_train=y)
    if kind == "flat":
        return write_npz(tmp_path / "m.npz", x_train=x.reshape(len(x), -1), y_train=y)
    raise ValueError(kind)


@pytest.mark.parametrize(
    "kind, fragment",
    [
        ("idx-short", "header"),
        ("idx-gz-cut", "cannot read"),
        ("npz-garbage", "npz"),
        ("labels-10", "labels 0-9"),
        ("lengths", "y_train"),
        ("floats", "float32"),
        ("flat", "(N, 28, 28)"),
    ],
)
def test_bad_mnist_files_are_refused_before_training(tmp_path, kind, fragment):
    proc = train_cli("--mnist", bad_mnist(tmp_path, kind), "--arch", "dense", "--out", str(tmp_path / "out"))
    assert_one_line(proc, fragment)
    assert not list((tmp_path / "out").glob("dense.*"))


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--epochs", "0"], "--epochs"),
        (["--copies", "-1"], "--copies"),
        (["--seed", "-1"], "--seed"),
        (["--val-per-class", "50"], "--val-per-class"),  # the fixture has 50 of each digit
        (["--out", "{shipped}", "--mnist", "/nonexistent.npz"], "shipped models"),  # refused before reading MNIST
        (["--samples", "x", "--name", "../escape"], "--name"),
        (["--samples", "x", "--holdout", "1.5"], "--holdout"),
    ],
)
def test_bad_training_settings_are_refused_before_training(tmp_path, args, fragment):
    args = [a.replace("{shipped}", str(catalog.shipped_dir())) for a in args]
    proc = train_cli("--mnist", str(DATA / "mnist_sample.npz"), "--arch", "dense", "--out", str(tmp_path), *args)
    assert_one_line(proc, fragment)
    assert not list(tmp_path.glob("dense.*"))


def test_an_unwritable_out_is_found_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = train_cli("--mnist", str(DATA / "mnist_sample.npz"), "--arch", "dense", "--out", str(blocker / "sub"))
    assert_one_line(proc, "--out")
    assert "Epoch" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_fine_tuning_from_a_base_without_a_usable_keras_file_is_refused(tmp_path, damage):
    from test_finetune import style_set, write_samples

    images, labels = style_set(3, seed=5)
    write_samples(tmp_path / "samples", images, labels)
    base = tmp_path / "base"
    base.mkdir()
    for suffix in (".json", ".tflite", ".keras"):
        (base / f"cnn{suffix}").write_bytes((ROOT / "models" / f"cnn{suffix}").read_bytes())
    if damage == "missing":
        (base / "cnn.keras").unlink()
    else:
        (base / "cnn.keras").write_bytes(b"PK\x03\x04 not a keras file")
    args = ["--samples", str(tmp_path / "samples"), "--mnist", str(DATA / "mnist_sample.npz")]
    proc = train_cli(*args, "--base", str(base / "cnn.json"), "--out", str(tmp_path / "out"))
    assert_one_line(proc, "cnn.keras")


def test_a_disk_filling_up_while_saving_leaves_the_previous_model_whole(tmp_path):
    """A file size limit stands in for a full disk; the model files there before are kept, byte for byte."""
    import resource

    for suffix in (".json", ".tflite", ".keras"):
        (tmp_path / f"dense{suffix}").write_bytes((ROOT / "models" / f"dense{suffix}").read_bytes())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, resource.RLIM_INFINITY))

    args = ["--mnist", str(DATA / "mnist_sample.npz"), "--arch", "dense", "--epochs", "1", "--copies", "0"]
    proc = train_cli(*args, "--val-per-class", "0", "--out", str(tmp_path), preexec_fn=limit_file_size, timeout=600)
    assert proc.returncode == 1 and "cannot write model dense" in proc.stderr.strip().splitlines()[-1], proc.stderr
    assert "Traceback" not in proc.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    model.load(tmp_path / "dense.json")  # still the shipped model, checksums and all


def test_training_the_line_reader_writes_one_number_mode_loads(tmp_path):
    """scripts/train_lines.py end to end on the fixture: numbers filmed, a CTC fit, files the loader takes."""
    proc = subprocess.run(
        [sys.executable, "scripts/train_lines.py", "--mnist", str(DATA / "mnist_sample.npz"), "--scenes", "24"]
        + ["--val-scenes", "6", "--epochs", "1", "--val-per-class", "5", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads((tmp_path / f"{catalog.LINE_READER}.json").read_text())
    assert meta["kind"] == "line-reader" and meta["input"] == model.LINE_CONTRACT
    assert meta["training"]["lines"] > 24 and meta["training"]["best_epoch"] == 1
    read_line = model.load_line_reader(tmp_path)
    steps = read_line(np.zeros((1, *model.LINE_CONTRACT["shape"]), np.float32))
    assert steps.shape == (1, 48, 11) and np.allclose(steps.sum(-1), 1, atol=1e-4)


def test_the_line_reader_architectures_keep_the_line_contract():
    """`--arch v2` (a wider reader, tried and not shipped) reads the same line image into the same steps."""
    train_lines = pytest.importorskip("live_digits.train_lines")
    lines = np.zeros((2, *model.LINE_CONTRACT["shape"]), np.float32)
    shipped, wider = (train_lines.build_line_model(logits=False, arch=arch) for arch in ("v1", "v2"))
    for net in (shipped, wider):
        steps = np.asarray(net(lines))
        assert steps.shape == (2, 48, 11) and np.allclose(steps.sum(-1), 1, atol=1e-4)
    assert wider.count_params() > 1.9 * shipped.count_params()
    with pytest.raises(ValueError, match="unknown line model architecture"):
        train_lines.build_line_model(arch="v3")

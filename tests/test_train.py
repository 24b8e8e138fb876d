"""live-digits-train end to end on the small fixture: files, metadata, loadable model."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import DATA, ROOT

from live_digits import model


@pytest.mark.parametrize("members, val_per_class", [(1, 5), (2, 5), (2, 0)])
def test_training_writes_a_loadable_model_with_its_metadata(tmp_path, members, val_per_class):
    args = ["--mnist", str(DATA / "mnist_sample.npz"), "--arch", "dense", "--epochs", "2", "--copies", "1"]
    args += ["--members", str(members), "--val-per-class", str(val_per_class)]
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
    assert meta["members"] == members and meta["layers"][-1] == "Dense"  # a member's layers, not the wrapper's
    if members > 1:  # networks from different seeds: each validated, the average too
        assert len(meta["training"]["member_validation_accuracy"]) == members
    if not held_out:  # every image trained on: each network keeps its last epoch, nothing to validate
        assert meta["training"]["best_epoch"] == [2, 2] and meta["training"]["validation_accuracy"] is None
    loaded = model.load(tmp_path / "dense.json")
    assert loaded.runtime == "litert" and loaded.predict(np.zeros((3, 28, 28), np.float32)).shape == (3, 10)

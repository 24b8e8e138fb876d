"""scripts/render_clips.py: the benchmark's clips are drawn in the conditions asked for."""

import json
import subprocess
import sys

import pytest
from conftest import DATA, ROOT


@pytest.mark.parametrize(("conditions", "sides"), [("past", {"left", "right"}), ("past-rows", {"top", "bottom"})])
def test_numbers_held_past_the_box_go_past_the_sides_asked_for(tmp_path, conditions, sides):
    out = tmp_path / "clips"
    cmd = [sys.executable, str(ROOT / "scripts" / "render_clips.py"), "--mnist", str(DATA / "mnist_sample.npz")]
    cmd += ["--clips", "0", "--blank", "0", "--multi", "6", "--frames", "2", "--conditions", conditions]
    proc = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    items = json.loads((out / "labels.json").read_text())
    assert len(items) == 6 and all((out / it["file"]).stat().st_size > 0 for it in items)
    assert {it["conditions"]["edge_side"] for it in items} <= sides
    assert all(0 <= it["conditions"]["edge_reach"] <= 0.2 for it in items)

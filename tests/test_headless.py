"""Headless mode on the shipped clip: one JSON object per frame, the right digit."""

import json

import cv2
from conftest import run_cli


def frame_count(path):
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def test_headless_jsonl_on_the_shipped_clip(clip, tmp_path):
    path, info = clip
    out = tmp_path / "preds.jsonl"
    proc = run_cli("--source", str(path), "--no-gui", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["frame"] for r in rows] == list(range(frame_count(path)))
    for r in rows:
        assert {"frame", "digit", "confidence", "probs", "threshold"} <= r.keys()
        assert len(r["probs"]) == 10 and r["threshold"] == 0
        assert r["digit"] is None or r["confidence"] == max(r["probs"])
    assert rows[-1]["digit"] == info["label"]
    assert rows[-1]["confidence"] > 0.7


def test_headless_writes_stdout_and_a_manual_threshold(clip):
    proc = run_cli("--source", str(clip[0]), "--no-gui", "--threshold", "40", "--max-frames", "3")
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0 and len(rows) == 3
    assert all(r["threshold"] == 40 and r["threshold_mode"] == "manual" for r in rows)


def test_demo_source_runs_headless():
    proc = run_cli("--source", "demo", "--no-gui", "--max-frames", "60")
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0 and len(rows) == 60
    assert any(r["digit"] is not None for r in rows)

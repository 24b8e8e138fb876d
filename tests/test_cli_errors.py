"""Every mistake a user can make ends in one line with a hint and a non-zero exit."""

import json
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, run_cli


def assert_one_line_error(proc, *fragments, code=None):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0, proc.stderr
    if code is not None:
        assert proc.returncode == code
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("live-digits: error: ") and "(hint: " in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_no_camera_at_that_index():
    assert_one_line_error(run_cli("--source", "7", "--no-gui"), "no camera at index 7", "--source demo")


def test_missing_source_file():
    assert_one_line_error(run_cli("--source", "/nonexistent/clip.avi", "--no-gui"), "source not found")


def test_unreadable_video_file(tmp_path):
    bad = tmp_path / "clip.avi"
    bad.write_bytes(b"this is not a video" * 100)
    assert_one_line_error(run_cli("--source", str(bad), "--no-gui"), str(bad))


def test_empty_folder_and_folder_of_broken_images(tmp_path):
    assert_one_line_error(run_cli("--source", str(tmp_path), "--no-gui"), "no images in folder")
    (tmp_path / "a.png").write_bytes(b"not a png")
    assert_one_line_error(run_cli("--source", str(tmp_path), "--no-gui"), "can be read")


def test_missing_model(clip):
    assert_one_line_error(run_cli("--source", str(clip[0]), "--no-gui", "--model", "/nope/m.json"), "model not found")


def test_corrupt_model_files(tmp_path, clip):
    shutil.copy(ROOT / "models" / "cnn.json", tmp_path / "cnn.json")
    (tmp_path / "cnn.tflite").write_bytes(b"\x00garbage" * 50)
    proc = run_cli("--source", str(clip[0]), "--no-gui", "--model", str(tmp_path / "cnn.json"))
    assert_one_line_error(proc, "corrupt")
    (tmp_path / "cnn.json").write_text("{ not json")
    assert_one_line_error(run_cli("--source", str(clip[0]), "--no-gui", "--model", str(tmp_path / "cnn.json")))


def test_model_with_another_input_contract_is_refused(tmp_path, clip):
    meta = json.loads((ROOT / "models" / "cnn.json").read_text())
    meta["input"]["polarity"] = "black-on-white"
    (tmp_path / "m.json").write_text(json.dumps(meta))
    shutil.copy(ROOT / "models" / "cnn.tflite", tmp_path / "cnn.tflite")
    proc = run_cli("--source", str(clip[0]), "--no-gui", "--model", str(tmp_path / "m.json"))
    assert_one_line_error(proc, "polarity")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--box", "10x10"], "--box"),
        (["--box", "wide"], "WIDTHxHEIGHT"),
        (["--threshold", "300"], "--threshold"),
        (["--min-confidence", "2"], "--min-confidence"),
        (["--frobnicate"], "unrecognized"),
    ],
)
def test_bad_arguments(args, fragment):
    assert_one_line_error(run_cli(*args), fragment, code=2)


def test_unwritable_save_dir_fails_before_opening_anything(tmp_path, clip):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli("--source", str(clip[0]), "--save-dir", str(blocker / "sub"), env={"DISPLAY": ":99"})
    assert_one_line_error(proc, "save folder", "--save-dir")


def test_unwritable_output(tmp_path, clip):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli("--source", str(clip[0]), "--no-gui", "--output", str(blocker / "out.jsonl"))
    assert_one_line_error(proc, "--output")


def test_no_display_for_the_window(clip, tmp_path):
    proc = run_cli("--source", str(clip[0]), "--save-dir", str(tmp_path), env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert_one_line_error(proc, "no display", "--no-gui")


@pytest.mark.parametrize("script", ["benchmark.py", "evaluate.py", "render_clips.py", "train_lines.py"])
def test_scripts_given_a_missing_mnist_file_say_so_in_one_line(script, tmp_path):
    out = tmp_path / "out"
    args = ["--mnist", str(tmp_path / "nope.npz")] + (["--out", str(out)] if script == "render_clips.py" else [])
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    missing = tmp_path / "nope.npz"
    hint = "(hint: pass --mnist PATH to mnist.npz or an IDX folder)"
    assert proc.stderr.strip().splitlines()[-1] == f"{script}: error: MNIST file not found: {missing} {hint}"
    assert not out.exists()

"""A normal install: the wheel carries the models and reads digits from any folder, without TensorFlow.

Editable installs find everything in the checkout, so only a built wheel in a fresh venv
shows what `pip install live-digits` or `pipx install` users get.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile

from conftest import ROOT

# What building needs; copied so pip's in-tree build leaves no build/ or *.egg-info in the checkout.
BUILD_INPUTS = ("setup.cfg", "pyproject.toml", "README.md", "live_digits", "models")


def run(*args, cwd, env=None, timeout=600):
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


def test_the_wheel_installs_into_a_fresh_venv_and_reads_a_digit(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", src, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("live_digits-*.whl")

    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "live_digits").rglob("*.py")}
    assert modules <= in_wheel, f"subpackages missing from setup.cfg's packages: {sorted(modules - in_wheel)}"
    shipped = {f"live_digits/models/{p.name}" for p in (ROOT / "models").glob("*.*")}
    assert len(shipped) > 1 and shipped <= in_wheel

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    run(bin_dir / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"  # no checkout here or on the path: only the installed package
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = run(bin_dir / "live-digits", "--source", "demo", "--no-gui", "--max-frames", "30", cwd=elsewhere, env=env)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 30 and any(r["digit"] is not None for r in rows)

    listed = run(bin_dir / "live-digits", "--list-models", cwd=elsewhere, env=env).stdout
    assert f"shipped models: {venv}" in listed and "cnn" in listed and "MNIST test 99." in listed, listed
    version = run(bin_dir / "live-digits", "--version", cwd=elsewhere, env=env).stdout
    assert version.startswith("live-digits ") and version.split()[1][0].isdigit()

    # Running needs no TensorFlow; training says how to get it, in one line.
    find = "import importlib.util as u; print(u.find_spec('tensorflow') is None)"
    assert run(bin_dir / "python", "-c", find, cwd=elsewhere, env=env).stdout.strip() == "True"
    train = subprocess.run(
        [bin_dir / "live-digits-train", "--samples", "x"], capture_output=True, text=True, cwd=elsewhere, env=env
    )
    assert train.returncode == 1 and train.stderr.count("\n") == 1 and "live-digits[train]" in train.stderr

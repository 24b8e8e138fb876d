"""Shared fixtures: the repository's data, a CLI runner, and a real X server (Xvfb)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from live_digits.paths import DATA_DIR_ENV
from live_digits.xvfb import start_xvfb

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
CLIP = DATA / "clip_7.avi"


@pytest.fixture(scope="session", autouse=True)
def private_user_folder(tmp_path_factory):
    """No test reads or writes the real per-user folder: the CLIs run here get a temporary one."""
    os.environ[DATA_DIR_ENV] = str(tmp_path_factory.mktemp("user-data"))


@pytest.fixture(scope="session")
def mnist_sample():
    with np.load(DATA / "mnist_sample.npz") as d:
        return {k: d[k] for k in d.files}


@pytest.fixture(scope="session")
def clip():
    """The shipped rendered clip and its label/conditions."""
    return CLIP, json.loads(CLIP.with_suffix(".json").read_text())


@pytest.fixture(scope="session")
def cnn():
    from live_digits import model

    return model.load("cnn")


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 120):
    """Run `python -m live_digits ARGS` as a user would; returns CompletedProcess (text)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "live_digits", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def xvfb():
    """A private X display (Xvfb) for real windows; yields the DISPLAY string.

    Skips when Xvfb/xdotool are not installed, unless LIVE_DIGITS_REQUIRE_XVFB is set
    (CI sets it, so the window test can never silently vanish there).
    """
    missing = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("LIVE_DIGITS_REQUIRE_XVFB"):
            pytest.fail(f"{', '.join(missing)} not installed (apt install xvfb xdotool)")
        pytest.skip(f"{', '.join(missing)} not installed (apt install xvfb xdotool)")
    started = start_xvfb()
    if started is None:
        pytest.fail("Xvfb did not start")
    server, display = started
    yield display
    server.terminate()
    server.wait(timeout=10)

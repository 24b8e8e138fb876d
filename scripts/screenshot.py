"""Take a real screenshot of the live-digits window under Xvfb, once a digit is shown.

    python scripts/screenshot.py --out docs/screenshot.png [-- extra live-digits args]

Starts a private Xvfb, runs `live-digits --source demo` (or what you pass after --),
waits until the window reports a recognised digit in its JSON log, grabs the screen with
ImageMagick's `import` and crops it to the window. Needs the apt packages xvfb, xdotool
and imagemagick.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2

from live_digits.signals import run_main
from live_digits.xvfb import start_xvfb


def window_geometry(display: str) -> dict[str, int]:
    env = {**os.environ, "DISPLAY": display}
    ids = subprocess.run(["xdotool", "search", "--name", "^live-digits$"], capture_output=True, text=True, env=env)
    if not ids.stdout.strip():
        return {}
    out = subprocess.run(
        ["xdotool", "getwindowgeometry", "--shell", ids.stdout.split()[-1]], capture_output=True, text=True, env=env
    ).stdout
    return {k: int(v) for k, v in (line.split("=") for line in out.splitlines())}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("docs/screenshot.png"))
    p.add_argument("--settle", type=float, default=0.6, help="seconds to wait after the first recognised digit")
    p.add_argument("--digit", type=int, help="wait for this digit instead of the first one recognised")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("app_args", nargs="*", help="arguments for live-digits (after --)")
    args = p.parse_args()
    started = start_xvfb()
    if started is None:
        raise SystemExit("screenshot.py: Xvfb is not installed (apt install xvfb xdotool imagemagick)")
    server, display = started
    env = {**os.environ, "DISPLAY": display}
    app_args = args.app_args or ["--source", "demo"]
    app = subprocess.Popen(
        [sys.executable, "-m", "live_digits", *app_args, "--output", "-"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + args.timeout
        for line in app.stdout:
            digit = json.loads(line)["digit"]
            if (digit is not None and args.digit in (None, digit)) or time.monotonic() > deadline:
                break
        time.sleep(args.settle)
        geo = window_geometry(display)
        shot = args.out.with_suffix(".full.png")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["import", "-window", "root", str(shot)], env=env, check=True)
        img = cv2.imread(str(shot))
        shot.unlink()
        x, y, w, h = geo["X"], geo["Y"], geo["WIDTH"], geo["HEIGHT"]
        cv2.imwrite(str(args.out), img[y : y + h, x : x + w])
        print(f"wrote {args.out} ({w}x{h})")
    finally:
        app.terminate()
        app.wait(timeout=10)
        server.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main("screenshot.py", main))  # bad input: one line, no traceback

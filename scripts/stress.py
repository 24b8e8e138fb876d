"""Reliability: the real CLIs against bad files, bad models, bad arguments, unwritable and
full outputs, signals and a real window; prints how each kind of case ended.

    python scripts/stress.py [--jobs 2] [--only WORD] [-v]

Every case runs `python -m live_digits` (or `live_digits.train_cli`) in a subprocess, in a
scratch folder of its own, and is judged:

  clean error       an error was expected: non-zero exit, one stderr line `PROG: error: ... (hint: ...)`
  clean run         success (or a stop by the signal sent) was expected, and that is what happened
  traceback         a Python traceback on stderr (but for a Ctrl-C in Python's own startup, before
                    any live-digits code runs: Python prints that one itself)
  abort             killed by a signal nobody sent (SIGABRT from Qt, SIGSEGV, ...), or hung
  wrongly accepted  exit 0 where an error was expected, or a key did what it must not
  data lost         a file the user had was changed, or a half-written file was left behind
  messy             an error, but not in one line (library noise, no hint)

Exit status 1 if any of the last five columns is not zero. Takes about 1.5 minutes on two
busy cores (three short training runs and five window cases under Xvfb included).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from live_digits import catalog  # noqa: E402
from live_digits.xvfb import start_xvfb  # noqa: E402

DATA = ROOT / "tests" / "data"
MODELS = ROOT / "models"
CLIP = DATA / "clip_7.avi"
MNIST = DATA / "mnist_sample.npz"
BAD = ("traceback", "abort", "wrongly accepted", "data lost", "messy")
COLUMNS = ("cases", "clean error", "clean run", *BAD)


@dataclass
class Case:
    """One command and what must come of it; `{d}` in args is the case's scratch folder."""

    group: str
    name: str
    args: list[str]
    expect: str = "error"  # "error", "ok", or "stop" (ended by the signal it was sent)
    prog: str = "live_digits"
    setup: object = None  # callable(folder) preparing files
    keep: tuple[str, ...] = ()  # files that must stay byte for byte as setup left them
    forbid: tuple[str, ...] = ()  # glob patterns that must not appear (a key acted like q)
    env: dict = field(default_factory=dict)
    fsize: int | None = None  # RLIMIT_FSIZE: a disk that fills up part-way through a write
    send: tuple[int, float] | None = None  # (signal, seconds after the start)
    shell: str | None = None  # run through sh: `{cmd}` is replaced by the command
    keys: tuple[str, ...] = ()  # xdotool keys for the window, sent once it is up
    timeout: float = 180
    trains_first: bool = False  # the error comes after training, whose log precedes it on stderr
    kept: dict = field(default_factory=dict)  # sha256 of the `keep` files once setup has run
    given: set = field(default_factory=set)  # the files setup made: only the others are checked for damage


# ----------------------------------------------------------------------------- files the cases use


def copy_model(d: Path, stem: str = "cnn", drop_sum: bool = False, **changes) -> None:
    """A copy of a shipped model in `d`, its metadata changed by `changes`."""
    for suffix in (".tflite", ".keras"):
        shutil.copy(MODELS / f"{stem}{suffix}", d / f"{stem}{suffix}")
    meta = json.loads((MODELS / f"{stem}.json").read_text())
    if drop_sum:
        meta.pop("sha256", None)  # older checkouts have none
    (d / f"{stem}.json").write_text(json.dumps({**meta, **changes}))


def flip_bytes(path: Path, seed: int = 0, n: int = 50) -> None:
    data = bytearray(path.read_bytes())
    for i in np.random.default_rng(seed).choice(len(data) // 2, n, replace=False) + len(data) // 2:
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def odd_model(d: Path, odd: str) -> None:
    copy_model(d, drop_sum=True, files={"tflite": f"{odd}.tflite", "keras": f"{odd}.keras"})
    shutil.copy(DATA / "odd_models" / f"{odd}.tflite", d)


def mnist_variant(d: Path, kind: str) -> None:
    with np.load(MNIST) as m:
        x, y = m["x_train"], m["y_train"]
    arrays = {
        "labels10": dict(x_train=x, y_train=np.where(y == 3, 10, y)),
        "negative": dict(x_train=x, y_train=np.where(y == 3, -1, y).astype(np.int64)),
        "lengths": dict(x_train=x, y_train=y[:-7]),
        "floats": dict(x_train=x.astype(np.float32) / 255, y_train=y),
        "flat": dict(x_train=x.reshape(len(x), -1), y_train=y),
        "empty": dict(x_train=x[:0], y_train=y[:0]),
        "x_only": dict(x_train=x),
        "objects": dict(x_train=np.array([object()] * 3), y_train=y[:3]),
    }[kind]
    np.savez(d / "m.npz", **arrays)


def idx_files(d: Path, kind: str) -> None:
    images = b"\x00\x00\x08\x03" + (3).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + bytes(3 * 28 * 28)
    labels = b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + bytes([1, 2, 3])
    (d / "idx").mkdir()
    if kind == "short":
        images = images[:-100]
    if kind == "header":
        images = images[:6]
    if kind == "dtype":
        images = images[:2] + b"\x0d" + images[3:]
    if kind == "gzcut":
        (d / "idx" / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(images)[:40])
    else:
        (d / "idx" / "train-images-idx3-ubyte").write_bytes(images)
    (d / "idx" / "train-labels-idx1-ubyte").write_bytes(labels)


def samples(d: Path, per_digit: int = 3, stray: str | None = None) -> None:
    with np.load(MNIST) as m:
        x, y = m["x_test"], m["y_test"]
    for digit in range(10):
        (d / "samples" / str(digit)).mkdir(parents=True)
        for i, img in enumerate(x[y == digit][:per_digit]):
            cv2.imwrite(str(d / "samples" / str(digit) / f"sample-{i:04d}-input.png"), img)
    if stray:
        (d / "samples" / stray).write_bytes(b"x")


def base_model(d: Path, damage: str) -> None:
    copy_model(d, drop_sum=damage != "flipped")
    if damage == "missing":
        (d / "cnn.keras").unlink()
    elif damage == "garbage":
        (d / "cnn.keras").write_bytes(b"PK\x03\x04 not a keras file")
    elif damage == "flipped":
        flip_bytes(d / "cnn.tflite")


def write(path: str, data: bytes = b"x"):
    def make(d: Path) -> None:
        (d / path).parent.mkdir(parents=True, exist_ok=True)
        (d / path).write_bytes(data)

    return make


def all_of(*steps):
    return lambda d: [step(d) for step in steps]


def jpeg_cut(d: Path) -> None:
    (d / "frames").mkdir()
    data = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8))[1].tobytes()
    (d / "frames" / "a.jpg").write_bytes(data[: len(data) * 2 // 3])
    cv2.imwrite(str(d / "frames" / "b.png"), np.full((60, 80), 40000, np.uint16))


def video_copy(d: Path) -> None:
    shutil.copy(CLIP, d / "mine.avi")


def preds(d: Path) -> None:
    (d / "preds.jsonl").write_text('{"frame": 0, "mine": true}\n')


# ----------------------------------------------------------------------------- the cases


def cli_cases() -> list[Case]:
    clip, h = str(CLIP), ["--no-gui"]
    c = [
        # bad sources
        Case("sources", "missing file", [*h, "--source", "{d}/nope.avi"]),
        Case("sources", "empty folder", [*h, "--source", "{d}/empty"], setup=lambda d: (d / "empty").mkdir()),
        Case("sources", "folder of broken images", [*h, "--source", "{d}/f"], setup=write("f/a.png", b"not png")),
        Case("sources", "text named .avi", [*h, "--source", "{d}/t.avi"], setup=write("t.avi", b"text " * 200)),
        Case("sources", "zero-byte video", [*h, "--source", "{d}/z.avi"], setup=write("z.avi", b"")),
        Case(
            "sources", "truncated video", [*h, "--source", "{d}/c.avi"], setup=write("c.avi", CLIP.read_bytes()[:3000])
        ),
        Case("sources", "garbage .png", [*h, "--source", "{d}/g.png"], setup=write("g.png", os.urandom(500))),
        Case("sources", "/dev/null", [*h, "--source", "/dev/null"]),
        Case("sources", "no camera 7", [*h, "--source", "7"]),
        Case("sources", "superscript two", [*h, "--source", "²"]),
        Case("sources", "arabic-indic three", [*h, "--source", "٣"]),
        Case("sources", "20-digit index", [*h, "--source", "99999999999999999999"]),
        Case("sources", "empty string", [*h, "--source", ""]),
        Case("sources", "cut jpeg + 16-bit png", [*h, "--source", "{d}/frames"], expect="ok", setup=jpeg_cut),
        Case("sources", "video, whole run", [*h, "--source", clip, "--output", "{d}/o.jsonl"], expect="ok"),
        # bad models
        Case("models", "missing", [*h, "--source", clip, "--model", "{d}/none.json"]),
        Case("models", "a folder", [*h, "--source", clip, "--model", "{d}"]),
        Case("models", "json garbage", [*h, "--source", clip, "--model", "{d}/m.json"], setup=write("m.json", b"{ no")),
        Case(
            "models", "json binary", [*h, "--source", clip, "--model", "{d}/m.json"], setup=write("m.json", b"\xff\xfe")
        ),
        Case(
            "models",
            "json nested 100k",
            [*h, "--source", clip, "--model", "{d}/m.json"],
            setup=write("m.json", b"[" * 100_000 + b"]" * 100_000),
        ),
        Case("models", "json a list", [*h, "--source", clip, "--model", "{d}/m.json"], setup=write("m.json", b"[]")),
    ]
    for label, change in [
        ("input a list", {"input": [28, 28]}),
        ("files a list", {"files": ["cnn.tflite"]}),
        ("files an int", {"files": 3}),
        ("files null", {"files": None}),
        ("files escape", {"files": {"tflite": "../../cnn.tflite"}}),
        ("name a list", {"name": ["cnn"]}),
        ("sha256 an int", {"sha256": 5}),
        ("polarity flipped", {"input": {"shape": [28, 28], "scale": [0, 1], "polarity": "black-on-white"}}),
    ]:
        c.append(
            Case(
                "models",
                label,
                [*h, "--source", clip, "--model", "{d}/cnn.json"],
                setup=lambda d, ch=change: copy_model(d, **ch),
            )
        )
    flipped = all_of(copy_model, lambda d: flip_bytes(d / "cnn.tflite"))
    unsummed = all_of(lambda d: copy_model(d, drop_sum=True), lambda d: flip_bytes(d / "cnn.tflite"))
    with_model = [*h, "--source", clip, "--model", "{d}/cnn.json"]
    c += [
        Case("models", "tflite 50 bytes flipped", with_model, setup=flipped),
        Case("models", "flipped, no checksum", with_model, setup=unsummed),
        Case("models", "tflite garbage", with_model, setup=all_of(copy_model, write("cnn.tflite", b"\0junk" * 99))),
        Case(
            "models",
            "tflite empty",
            with_model,
            setup=all_of(lambda d: copy_model(d, drop_sum=True), write("cnn.tflite", b"")),
        ),
        Case(
            "models",
            "keras only, garbage",
            with_model,
            setup=all_of(
                lambda d: copy_model(d, drop_sum=True),
                lambda d: (d / "cnn.tflite").unlink(),
                write("cnn.keras", b"PK junk"),
            ),
        ),
        Case(
            "models",
            "input 32x32",
            [*h, "--source", clip, "--model", "{d}/cnn.json"],
            setup=lambda d: odd_model(d, "shape32"),
        ),
        Case(
            "models",
            "input int32",
            [*h, "--source", clip, "--model", "{d}/cnn.json"],
            setup=lambda d: odd_model(d, "int32"),
        ),
        Case(
            "models",
            "a copied model, whole run",
            [*h, "--source", clip, "--model", "{d}/cnn.json", "--output", "{d}/o.jsonl"],
            expect="ok",
            setup=copy_model,
        ),
    ]
    # bad arguments
    for args in (
        ["--box", "10x10"],
        ["--box", "wide"],
        ["--box", "1e9x5"],
        ["--threshold", "300"],
        ["--threshold", "-1"],
        ["--window", "0"],
        ["--min-confidence", "nan"],
        ["--min-confidence", "2"],
        ["--max-frames", "0"],
        ["--max-frames", "99999999999"],
        ["--frobnicate"],
        ["--source"],
        ["--model", ""],
    ):
        c.append(Case("arguments", " ".join(args) or "(none)", [*h, "--source", clip, *args]))
    # outputs
    out = [*h, "--source", clip, "--output"]
    c += [
        Case(
            "outputs",
            "output = source",
            [*h, "--source", "{d}/mine.avi", "--output", "{d}/mine.avi"],
            setup=video_copy,
            keep=("mine.avi",),
        ),
        Case(
            "outputs",
            "output = model json",
            [*out, "{d}/cnn.json", "--model", "{d}/cnn.json"],
            setup=copy_model,
            keep=("cnn.json",),
        ),
        Case(
            "outputs",
            "output = model tflite",
            [*out, "{d}/cnn.tflite", "--model", "{d}/cnn.json"],
            setup=copy_model,
            keep=("cnn.tflite",),
        ),
        Case(
            "outputs",
            "output = image in source folder",
            [*h, "--source", "{d}/frames", "--output", "{d}/frames/b.png"],
            setup=jpeg_cut,
            keep=("frames/b.png",),
        ),
        Case(
            "outputs",
            "earlier output, missing source",
            [*h, "--source", "{d}/x.avi", "--output", "{d}/preds.jsonl"],
            setup=preds,
            keep=("preds.jsonl",),
        ),
        Case(
            "outputs",
            "earlier output, bad model",
            [*out, "{d}/preds.jsonl", "--model", "{d}/m.json"],
            setup=all_of(preds, write("m.json", b"{")),
            keep=("preds.jsonl",),
        ),
        Case(
            "outputs",
            "earlier output, no display",
            ["--source", clip, "--output", "{d}/preds.jsonl", "--save-dir", "{d}"],
            env={"DISPLAY": ":987"},
            setup=preds,
            keep=("preds.jsonl",),
        ),
        Case("outputs", "output under a file", [*out, "{d}/f/out.jsonl"], setup=write("f")),
        Case("outputs", "output a folder", [*out, "{d}"]),
        Case("outputs", "output in /proc", [*out, "/proc/live-digits.jsonl"]),
        Case("outputs", "output /dev/full", [*out, "/dev/full"]),
        Case("outputs", "disk full mid-line", [*out, "{d}/o.jsonl"], fsize=1500),
        Case("outputs", "disk full at once", [*out, "{d}/o.jsonl"], fsize=10),
        Case("outputs", "stdout closed", [*h, "--source", clip], shell="{cmd} >&-"),
        Case("outputs", "stdout /dev/full", [*h, "--source", clip], shell="{cmd} >/dev/full"),
        Case(
            "outputs", "stdout | head -1", [*h, "--source", "demo"], expect="ok", shell="{cmd} | head -n 1 >/dev/null"
        ),
        Case(
            "outputs",
            "save-dir under a file",
            ["--source", clip, "--save-dir", "{d}/f/sub"],
            setup=write("f"),
            env={"DISPLAY": ":987"},
        ),
        # displays
        Case("display", "DISPLAY unreachable", ["--source", clip, "--save-dir", "{d}"], env={"DISPLAY": ":987"}),
        Case(
            "display",
            "DISPLAY empty",
            ["--source", clip, "--save-dir", "{d}"],
            env={"DISPLAY": "", "WAYLAND_DISPLAY": ""},
        ),
        Case("display", "DISPLAY garbage", ["--source", clip, "--save-dir", "{d}"], env={"DISPLAY": "no-such-host::x"}),
        # signals
        Case(
            "signals",
            "SIGTERM headless",
            [*h, "--source", "demo", "--output", "{d}/o.jsonl"],
            expect="stop",
            send=(signal.SIGTERM, 4),
        ),
        Case(
            "signals",
            "SIGINT headless",
            [*h, "--source", "demo", "--output", "{d}/o.jsonl"],
            expect="stop",
            send=(signal.SIGINT, 4),
        ),
        Case("signals", "SIGTERM stdout", [*h, "--source", "demo"], expect="stop", send=(signal.SIGTERM, 3)),
    ]
    for delay in (0.15, 0.3, 0.6, 1.0):
        for sig in (signal.SIGINT, signal.SIGTERM):
            name = f"{signal.Signals(sig).name} at {delay} s"
            c.append(
                Case(
                    "signals",
                    name,
                    [*h, "--source", "demo", "--output", "{d}/o.jsonl"],
                    expect="stop",
                    send=(sig, delay),
                )
            )
    return c


def window_cases() -> list[Case]:
    w = ["--source", str(CLIP), "--save-dir", "{d}/saves"]
    return [
        Case("window", "q saves crop and input", w, expect="ok", keys=("q",)),
        Case(
            "window",
            "Left, dead_acute, Esc",
            w,
            expect="ok",
            keys=("Left", "dead_acute", "Escape"),
            forbid=("saves/*",),
        ),
        Case("window", "q on a full disk", w, keys=("q",), fsize=200),
        Case("window", "SIGTERM", [*w, "--output", "{d}/o.jsonl"], expect="stop", send=(signal.SIGTERM, 6)),
        Case(
            "window",
            "corrupt model",
            [*w, "--model", "{d}/cnn.json"],
            setup=all_of(copy_model, lambda d: flip_bytes(d / "cnn.tflite")),
        ),
    ]


def train_cases() -> list[Case]:
    t = ["--arch", "dense", "--out", "{d}/out"]
    m = ["--mnist", str(MNIST), *t]
    tune = ["--samples", "{d}/samples", "--mnist", str(MNIST), "--out", "{d}/out"]
    c = [
        Case("train", f"npz {k}", ["--mnist", "{d}/m.npz", *t], prog="train", setup=lambda d, k=k: mnist_variant(d, k))
        for k in ("labels10", "negative", "lengths", "floats", "flat", "empty", "x_only", "objects")
    ]
    c += [
        Case("train", f"idx {k}", ["--mnist", "{d}/idx", *t], prog="train", setup=lambda d, k=k: idx_files(d, k))
        for k in ("short", "header", "dtype", "gzcut")
    ]
    c += [
        Case(
            "train",
            "npz garbage",
            ["--mnist", "{d}/m.npz", *t],
            prog="train",
            setup=write("m.npz", b"PK\x03\x04" + bytes(99)),
        ),
        Case("train", "npz empty file", ["--mnist", "{d}/m.npz", *t], prog="train", setup=write("m.npz", b"")),
        Case("train", "mnist missing", ["--mnist", "{d}/none.npz", *t], prog="train"),
        Case("train", "mnist empty folder", ["--mnist", "{d}", *t], prog="train"),
    ]
    for args in (
        ["--epochs", "0"],
        ["--epochs", "-3"],
        ["--copies", "-1"],
        ["--seed", "-1"],
        ["--seed", "99999999999"],
        ["--val-per-class", "50"],
        ["--val-per-class", "5000"],
        ["--members", "0"],
        ["--filmed", "-1"],
        ["--arch", "rnn"],
    ):
        c.append(Case("train", " ".join(args), [*m, *args], prog="train"))
    c += [
        Case(
            "train",
            "--out under a file",
            ["--mnist", str(MNIST), "--arch", "dense", "--out", "{d}/f/sub"],
            prog="train",
            setup=write("f"),
        ),
        Case(
            "train",
            "--out = shipped models",
            ["--mnist", "{d}/none.npz", "--arch", "dense", "--out", str(catalog.shipped_dir())],  # refused before MNIST
            prog="train",
        ),
        Case("train", "tune: no samples folder", [*tune], prog="train"),
        Case("train", "tune: too few samples", [*tune], prog="train", setup=lambda d: samples(d, per_digit=1)),
        Case("train", "tune: stray file", [*tune], prog="train", setup=lambda d: samples(d, stray="notes.txt")),
        Case("train", "tune: --holdout 1.5", [*tune, "--holdout", "1.5"], prog="train", setup=samples),
        Case("train", "tune: --name ../x", [*tune, "--name", "../x"], prog="train", setup=samples),
        Case(
            "train",
            "tune: base without .keras",
            [*tune, "--base", "{d}/cnn.json"],
            prog="train",
            setup=all_of(samples, lambda d: base_model(d, "missing")),
        ),
        Case(
            "train",
            "tune: base .keras garbage",
            [*tune, "--base", "{d}/cnn.json"],
            prog="train",
            setup=all_of(samples, lambda d: base_model(d, "garbage")),
        ),
        Case(
            "train",
            "tune: base tflite flipped",
            [*tune, "--base", "{d}/cnn.json"],
            prog="train",
            setup=all_of(samples, lambda d: base_model(d, "flipped")),
        ),
        Case(
            "train",
            "disk full while saving",
            [*m, "--epochs", "1", "--copies", "0", "--val-per-class", "0"],
            prog="train",
            trains_first=True,
            fsize=200_000,
            setup=lambda d: (d / "out").mkdir() or copy_model(d / "out", "dense"),
            keep=("out/dense.json", "out/dense.tflite", "out/dense.keras"),
        ),
        Case(
            "train",
            "SIGTERM while training",
            [*m, "--epochs", "500", "--copies", "20", "--val-per-class", "0"],  # still training 8 s in, even unloaded
            prog="train",
            expect="stop",
            trains_first=True,
            send=(signal.SIGTERM, 8),
        ),
        Case(
            "train",
            "a short run",
            [*m, "--epochs", "1", "--copies", "0", "--val-per-class", "0"],
            prog="train",
            expect="ok",
        ),
    ]
    return c


# ----------------------------------------------------------------------------- running and judging


def command(case: Case) -> list[str]:
    module = "live_digits.train_cli" if case.prog == "train" else "live_digits"
    return [sys.executable, "-m", module, *case.args]


def run(case: Case, folder: Path, display: str | None) -> tuple[subprocess.CompletedProcess | None, str]:
    """Run one case in `folder`; returns the finished process (None if it hung) and any note."""
    folder.mkdir(parents=True)
    if case.setup:
        case.setup(folder)
    case.kept = snapshot(folder, case.keep)
    case.given = {p for p in folder.rglob("*") if p.is_file()}
    argv = [a.replace("{d}", str(folder)) for a in command(case)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **case.env}
    if case.keys or case.group == "window":
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    limit = case.fsize

    def preexec() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    if case.shell:
        argv = ["sh", "-c", case.shell.replace("{cmd}", " ".join(f"'{a}'" for a in argv))]
    proc = subprocess.Popen(
        argv, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec
    )
    note = ""
    try:
        if case.keys:
            note = press(display, case.keys, proc)
        if case.send:
            time.sleep(case.send[1])
            proc.send_signal(case.send[0])
        out, err = proc.communicate(timeout=case.timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None, "hung"
    return subprocess.CompletedProcess(argv, proc.returncode, out, err), note


def press(display: str, keys: tuple[str, ...], proc: subprocess.Popen) -> str:
    """Wait for the window, then send the keys one by one; a note if the window quit early."""
    env = {**os.environ, "DISPLAY": display}

    def xdotool(*args):
        return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=10).stdout.strip()

    end = time.monotonic() + 60
    window = ""
    while not window and time.monotonic() < end and proc.poll() is None:
        found = xdotool("search", "--all", "--pid", str(proc.pid), "--name", "^live-digits$").splitlines()
        window = found[-1] if found else ""
        time.sleep(0.3)
    if not window:
        return "no window"
    time.sleep(1.5)  # the clip's digit in the box
    for key in keys:
        if proc.poll() is not None:
            return f"quit before key {key}"
        xdotool("key", "--window", window, key)
        time.sleep(0.8)
    return ""


def snapshot(folder: Path, keep: tuple[str, ...]) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in keep}


def losses(folder: Path, kept: dict[str, str], given: set[Path]) -> list[str]:
    """What the run destroyed or left half-written in its folder."""
    lost = [
        f"{name} changed"
        for name, digest in kept.items()
        if not (folder / name).exists() or hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest
    ]
    for path in folder.rglob("*"):
        if not path.is_file() or path in given:
            continue
        if ".tmp" in path.name:
            lost.append(f"temporary file {path.name} left")
        elif path.suffix == ".jsonl" and path.stat().st_size and not _whole_json_lines(path):
            lost.append(f"{path.name} ends in a broken line")
        elif path.suffix == ".png" and cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is None:
            lost.append(f"{path.name} is not a whole PNG")
    for meta in (folder / "out").glob("*.json") if (folder / "out").is_dir() else []:
        check = subprocess.run(
            [sys.executable, "-c", f"from live_digits import model; model.load({str(meta)!r})"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if check.returncode:
            lost.append(f"{meta.name} does not load: {check.stderr.strip().splitlines()[-1:]}")
    return lost


def _whole_json_lines(path: Path) -> bool:
    text = path.read_text(errors="replace")
    try:
        return text.endswith("\n") and all(json.loads(line) is not None for line in text.splitlines())
    except json.JSONDecodeError:
        return False


def judge(case: Case, proc: subprocess.CompletedProcess | None, note: str, lost: list[str], folder: Path) -> str:
    """One of COLUMNS[1:] for the finished case."""
    if proc is None:
        return "abort"  # hung
    err, code = proc.stderr, proc.returncode
    prefix = "live-digits-train: " if case.prog == "train" else "live-digits: "
    sent = case.send[0] if case.send else None
    if "Traceback" in err and not _before_our_code(err, sent):
        return "traceback"
    if code < 0 and -code != sent:
        return "abort"
    if lost:
        return "data lost"
    if note.startswith("quit before") or any(any(folder.glob(pattern)) for pattern in case.forbid):
        return "wrongly accepted"
    lines = err.strip().splitlines()
    if case.trains_first:
        lines = lines[-1:]
    if case.expect == "error":
        if code == 0:
            return "wrongly accepted"
        one_line = len(lines) == 1 and lines[0].startswith(prefix + "error: ") and "(hint: " in lines[0]
        return "clean error" if one_line else "messy"
    if case.expect == "stop":  # the signal's own exit (128 + N, one line), or killed by it before main ran
        by_main = code == 128 + sent and len(lines) == 1 and lines[0].startswith(prefix)
        return "clean run" if by_main or code == -sent or _before_our_code(err, sent) else "messy"
    if code != 0:
        return "messy"
    return "clean run" if case.prog == "train" or not lines else "messy"


def _before_our_code(err: str, sent: int | None) -> bool:
    """A Ctrl-C in Python's own startup (site, runpy), before live-digits' first line: Python's traceback."""
    return sent == signal.SIGINT and "live_digits" not in err and err.strip().endswith("KeyboardInterrupt")


def run_case(case: Case, scratch: Path, index: int, display: str | None) -> tuple[Case, str, str]:
    folder = scratch / f"{index:03d}"
    proc, note = run(case, folder, display)
    lost = losses(folder, case.kept, case.given) if proc is not None else []
    verdict = judge(case, proc, note, lost, folder)
    where = [line.strip() for line in proc.stderr.splitlines() if line.strip().startswith("File ")][-1:] if proc else []
    last = (proc.stderr.strip().splitlines() or [""])[-1][:150] if proc else ""
    detail = "; ".join(lost) or note or " ".join([*where, last])
    return case, verdict, detail


def table(results: list[tuple[Case, str, str]]) -> str:
    groups = list(dict.fromkeys(case.group for case, _, _ in results))
    rows = []
    for group in [*groups, "all"]:
        counts = Counter(v for c, v, _ in results if group in ("all", c.group))
        rows.append([group, str(sum(counts.values())), *(str(counts[col]) for col in COLUMNS[1:])])
    widths = [max(len(r[i]) for r in [["", *COLUMNS], *rows]) for i in range(len(COLUMNS) + 1)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(["", *COLUMNS], widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    p.add_argument("--only", help="run only the cases whose group or name contains this")
    p.add_argument("-v", "--verbose", action="store_true", help="print every case, not only the bad ones")
    args = p.parse_args()
    cases = cli_cases() + train_cases()
    xvfb = start_xvfb() if shutil.which("xdotool") else None
    if xvfb:
        cases += window_cases()
    else:
        print("no Xvfb/xdotool: window cases skipped")
    if args.only:
        cases = [c for c in cases if args.only in c.group or args.only in c.name]
    t0 = time.time()
    results = []

    def report(future) -> None:
        case, verdict, detail = future.result()
        results.append((case, verdict, detail))
        if args.verbose or verdict in BAD:
            print(f"{verdict:>16}  {case.group}: {case.name}  -- {detail}", flush=True)

    with tempfile.TemporaryDirectory(prefix="live-digits-stress-") as scratch:
        display = xvfb[1] if xvfb else None
        for windows, jobs in ((False, args.jobs), (True, 1)):  # windows one at a time: keys go to the only one
            with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
                for i, case in enumerate(cases):
                    if (case.group == "window") == windows:
                        pool.submit(run_case, case, Path(scratch), i, display).add_done_callback(report)
    if xvfb:
        xvfb[0].terminate()
    results.sort(key=lambda r: cases.index(r[0]))
    print(table(results))
    print(f"{len(results)} cases in {time.time() - t0:.0f} s")
    return 1 if any(v in BAD for _, v, _ in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())

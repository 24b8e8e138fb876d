"""Benchmark live-digits against the classic webcam-digit loop, side by side in one run.

Measures, with the classic loop (scripts/classic_loop.py) as the baseline:
1. inference: a batch of five 28x28 inputs through the shipped CNN (and dense) model with
   Keras `model.predict`, a compiled `tf.function`, the LiteRT interpreter (1 and 2 threads),
   live-digits' own `model.load(...).predict` and OpenCV dnn; plus an equivalence check;
2. per frame: `Recognizer.process` + `overlay.compose` on rendered 640x480 webcam frames,
   as the window loop runs them (inference overlapped with drawing) and in step (headless),
   against `ClassicLoop` (Keras `model.predict` every fifth frame): median, amortised, p95, max;
3. startup: the real window app under Xvfb, Popen -> first frame shown / first prediction,
   against importing TensorFlow and loading the Keras dense model;
4. memory: resident set size of the running app against a process running the classic loop;
5. the camera view with the explanation view off and on: the real window loop (`app.run_window`)
   under Xvfb, fed by a 30 fps camera stand-in: frames shown per second, how long each frame
   waits from capture until the loop is done with it, the loop's time per frame, and how often
   the explanation refreshes and what it costs on its worker thread.
Variants are interleaved, warmed up first and summarised by medians; times are in ms.

Run from the repository root (takes a few minutes; --camera-view-only: section 5 alone):

    python scripts/benchmark.py --mnist ../shared/datasets/mnist/mnist.npz
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from live_digits import datasets
from live_digits.signals import run_main
from live_digits.sources import Source
from live_digits.xvfb import start_xvfb

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"


BLOCK = 20  # calls per block: variants alternate block by block, not call by call


def timed(fns: dict, repeats: int, warmup: int = 10) -> dict[str, np.ndarray]:
    """Call the functions in alternating blocks (order rotating each round); ms per call for each name.

    Blocks rather than single calls: TensorFlow's worker threads keep spinning for a while
    after each Keras call, and call-by-call alternation would bill that to the next variant.
    """
    names = list(fns)
    for _ in range(warmup):
        for f in fns.values():
            f()
    times = {name: [] for name in names}
    for i in range(max(1, repeats // BLOCK)):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            for _ in range(BLOCK):
                t = time.perf_counter()
                fns[name]()
                times[name].append(1e3 * (time.perf_counter() - t))
    return {name: np.array(v) for name, v in times.items()}


def litert_runner(path: Path, threads: int):
    """A LiteRT interpreter resized to batch 5 and allocated once: batch -> probs."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    inp, out = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    interpreter.resize_tensor_input(inp, (5, 28, 28), strict=False)
    interpreter.allocate_tensors()

    def run(batch: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(inp, batch)
        interpreter.invoke()
        return interpreter.get_tensor(out)

    return run


def opencv_dnn_runner(net, folder: Path):
    """OpenCV dnn on a fixed-batch-5 TFLite export; returns (runner, None) or (None, error text)."""
    import cv2
    import tensorflow as tf

    fn = tf.function(lambda x: net(x, training=False), input_signature=[tf.TensorSpec((5, 28, 28), tf.float32)])
    path = folder / "cnn_batch5.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], net).convert())
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        dnn = cv2.dnn.readNetFromTFLite(str(path))
        dnn.setInput(np.zeros((5, 28, 28), np.float32))
        dnn.forward()
    except cv2.error as exc:
        first = str(exc).strip().splitlines()[0]
        return None, "unsupported: " + first.split(" error: ", 1)[-1]

    def run(batch: np.ndarray) -> np.ndarray:
        dnn.setInput(batch)
        return dnn.forward().reshape(len(batch), 10)

    return run, None


def inference(x: np.ndarray, repeats: int, folder: Path) -> dict:
    """Median ms per batch-of-five call for each runtime, and agreement with Keras predict."""
    import keras
    import tensorflow as tf

    from live_digits import model

    out = {}
    for name in ("cnn", "dense"):
        net = keras.models.load_model(MODELS / f"{name}.keras", compile=False)
        fn = tf.function(lambda b, net=net: net(b, training=False), input_signature=[tf.TensorSpec((None, 28, 28))])
        runners = {
            "keras_predict": lambda b, net=net: net.predict(b, verbose=0),
            "litert_1_thread": litert_runner(MODELS / f"{name}.tflite", 1),
            "live_digits": model.load(name).predict,
        }
        if name == "cnn":
            runners["tf_function"] = lambda b, fn=fn: fn(b).numpy()
            runners["litert_2_threads"] = litert_runner(MODELS / f"{name}.tflite", 2)
            dnn, error = opencv_dnn_runner(net, folder)
            if dnn:
                runners["opencv_dnn"] = dnn
            else:
                out["cnn_opencv_dnn"] = error
        batch = np.ascontiguousarray(x[:5])
        times = timed({k: (lambda f=f, b=batch: f(b)) for k, f in runners.items()}, repeats)
        out.update({f"{name}_{k}": float(np.median(v)) for k, v in times.items()})
        chunks = [np.ascontiguousarray(x[i : i + 5]) for i in range(0, len(x) - 4, 5)]
        probs = {k: np.concatenate([np.asarray(f(c)) for c in chunks]) for k, f in runners.items()}
        ref = probs.pop("keras_predict")
        for k, p in probs.items():
            p = p[:, : ref.shape[1]] if p.shape[1] > ref.shape[1] else p
            ref_k = ref[:, : p.shape[1]]  # live_digits' predict gives the ten digits, not the not-a-digit class
            same = int(np.sum(p.argmax(1) == ref_k.argmax(1)))
            out[f"{name}_{k}_equivalence"] = {
                "n": len(ref),
                "argmax_equal": same,
                "max_abs_dp": float(abs(p - ref_k).max()),
            }
    return out


def render(x_test: np.ndarray, n_digits: int = 6, per_digit: int = 10, seed: int = 0) -> list[np.ndarray]:
    """Rendered 640x480 webcam frames of several MNIST test digits, `per_digit` frames each."""
    from live_digits import synth

    rng = np.random.default_rng(seed)
    frames = []
    for digit in x_test[rng.choice(len(x_test), n_digits, replace=False)]:
        frames += synth.render_frames([digit], synth.random_conditions(rng, synth.CLASSIC_RATES), per_digit, rng)
    return frames


def per_frame(frames: list[np.ndarray], classic_model, repeats: int) -> dict:
    """Per-frame ms of the live-digits core + drawing and of the classic loop, in alternating passes.

    Two live-digits variants: "ours" classifies in step (headless mode), "window" overlaps
    inference with drawing on a worker thread as the window loop does (one frame of lag).
    """
    from classic_loop import BATCH, ClassicLoop

    from live_digits import model, overlay
    from live_digits.recognizer import Recognizer, Settings

    opencv_threads = cv2.getNumThreads()  # the classic loop runs with OpenCV's default
    status = overlay.Status()
    # One model each: an interpreter must not run on two threads at once (the window's
    # worker may still be busy when the in-step side starts).
    recognizers = {
        "ours": Recognizer(model.load("cnn"), Settings()),
        "window": Recognizer(model.load("cnn"), Settings(), overlap=True),
    }
    classic = ClassicLoop(classic_model)
    # Each frame is first written, untimed, into a capture buffer, as a camera read decodes
    # it: reading the stored frames directly would time cache misses on 55 MB of frames
    # that no camera loop has.
    captured = np.empty_like(frames[0])
    times: dict[str, list[float]] = {"ours": [], "window": [], "classic": []}
    stalls = []
    canvas = overlay.compose(frames[0], recognizers["ours"].process(frames[0]), status)  # reused, as in the window
    rounds = max(2, repeats // len(frames))
    for r in range(-1, rounds):  # round -1: warm-up; then whole passes over the frames, rotating the order
        sides = list(times)
        for side in sides[r % 3 :] + sides[: r % 3]:
            cv2.setNumThreads(1 if side != "classic" else opencv_threads)  # as each runs
            for frame in frames:
                np.copyto(captured, frame)
                stall = side == "classic" and len(classic.pending) == BATCH - 1
                t = time.perf_counter()
                if side == "classic":
                    classic.process(captured)
                else:
                    canvas = overlay.compose(captured, recognizers[side].process(captured), status, canvas)
                ms = 1e3 * (time.perf_counter() - t)
                if r >= 0:
                    times[side].append(ms)
                    if side == "classic":
                        stalls.append(stall)
    recognizers["window"].close()
    out = {"frames": len(times["ours"])}
    for name, v in times.items():
        v = np.array(v)
        out |= {
            f"{name}_median": float(np.median(v)),
            f"{name}_mean": float(v.mean()),
            f"{name}_p95": float(np.percentile(v, 95)),
            f"{name}_max": float(v.max()),
        }
    out["classic_predict_frame"] = float(np.median(np.array(times["classic"])[np.array(stalls)]))
    return out


def render_numbers(x_test: np.ndarray, n_numbers: int = 6, per_number: int = 10, seed: int = 0) -> list[np.ndarray]:
    """Rendered 640x480 frames of 2-6 digit numbers in the widened conditions, `per_number` frames each."""
    from live_digits import preprocess, synth

    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n_numbers):
        digits = x_test[rng.choice(len(x_test), int(rng.integers(2, 7)), replace=False)]
        cond = synth.random_number_conditions(rng)
        frames += synth.render_frames(list(digits), cond, per_number, rng, box=preprocess.NUMBER_BOX)
    return frames


def per_frame_numbers(frames: list[np.ndarray], repeats: int) -> dict:
    """Per-frame ms of number mode as the window runs it (model on the worker thread, drawing
    included), reading with the line reader and digit by digit (cuts), in alternating passes."""
    from live_digits import model, overlay
    from live_digits.recognizer import Recognizer, Settings

    cv2.setNumThreads(1)
    status = overlay.Status()
    recognizers = {
        "lines": Recognizer(model.load("cnn"), Settings(multi=True), overlap=True),
        "cuts": Recognizer(model.load("cnn"), Settings(multi=True, read_lines=False), overlap=True),
    }
    captured = np.empty_like(frames[0])
    canvas = overlay.compose(frames[0], recognizers["cuts"].process(frames[0]), status)
    times: dict[str, list[float]] = {name: [] for name in recognizers}
    for r in range(-1, max(2, repeats // len(frames))):
        for name in list(times)[r % 2 :] + list(times)[: r % 2]:
            for frame in frames:
                np.copyto(captured, frame)
                t = time.perf_counter()
                canvas = overlay.compose(captured, recognizers[name].process(captured), status, canvas)
                if r >= 0:
                    times[name].append(1e3 * (time.perf_counter() - t))
    for recognizer in recognizers.values():
        recognizer.close()
    out = {"frames": len(times["lines"])}
    for name, v in times.items():
        out |= {f"{name}_median": float(np.median(v)), f"{name}_p95": float(np.percentile(v, 95))}
    return out


def stop(proc: subprocess.Popen) -> None:
    """Terminate a child we started, killing it if it does not exit."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def app_startup(display: str, folder: Path) -> tuple[float, float]:
    """One window-app launch: ms from Popen to the first JSON line and to the first prediction."""
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    cmd = [sys.executable, "-m", "live_digits", "--source", "demo", "--output", "-", "--samples-dir", str(folder)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    watchdog = threading.Timer(90, proc.kill)
    watchdog.start()
    first = pred = float("nan")
    try:
        for line in proc.stdout:
            t = 1e3 * (time.perf_counter() - t0)
            first = t if np.isnan(first) else first
            if max(json.loads(line)["probs"]) > 0:
                pred = t
                break
    finally:
        watchdog.cancel()
        stop(proc)
    return first, pred


def startup(runs: int) -> dict:
    """Median app startup under Xvfb, and the classic import-TensorFlow-and-load-Keras time."""
    out = {}
    xvfb = start_xvfb()
    if xvfb is None:
        out["app"] = "skipped"
    else:
        server, display = xvfb
        try:
            with tempfile.TemporaryDirectory() as tmp:
                times = np.array([app_startup(display, Path(tmp)) for _ in range(runs)])
        finally:
            stop(server)
        out |= {"first_frame": float(np.median(times[:, 0])), "first_prediction": float(np.median(times[:, 1]))}
    code = "import tensorflow; import keras; keras.models.load_model('models/dense.keras')"
    classic = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
        classic.append(1e3 * (time.perf_counter() - t))
    out["classic_tf_import_and_load"] = float(np.median(classic))
    return out


def rss_mb(pid: int) -> float:
    """VmRSS of a process in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def classic_child() -> None:
    """--classic-child: import TensorFlow, load the Keras dense model, run the classic loop, then idle."""
    import keras
    from classic_loop import ClassicLoop

    loop = ClassicLoop(keras.models.load_model(MODELS / "dense.keras"))
    frame = np.full((480, 640, 3), 200, np.uint8)
    end = time.perf_counter() + 2
    while time.perf_counter() < end:
        loop.process(frame)
    print("ready", flush=True)
    time.sleep(120)


def memory() -> dict:
    """RSS of the headless app after ~3 s and of a process running the classic loop."""
    app = subprocess.Popen(
        [sys.executable, "-m", "live_digits", "--no-gui", "--source", "demo", "--max-frames", "100000"]
        + ["--output", "/dev/null"],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)
        ours = rss_mb(app.pid)
    finally:
        stop(app)
    child = subprocess.Popen(
        [sys.executable, __file__, "--classic-child"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        if not child.stdout.readline():
            raise RuntimeError("the classic-loop child process failed")
        classic = rss_mb(child.pid)
    finally:
        stop(child)
    return {"ours_mb": ours, "classic_mb": classic}


class PacedCamera(Source):
    """A webcam stand-in: frame i exists at t0 + i / fps and `read` blocks until it does.

    Records, per frame, when the loop asked for it and when it got it (wall clock) and the
    asking thread's CPU time, so a frame's wait and the loop's work can be told apart.
    """

    name, live, self_paced = "paced camera", True, True

    def __init__(self, frames: list[np.ndarray], fps: float):
        self.frames, self.fps = frames, fps
        self.t0: float | None = None
        self.asked: list[float] = []
        self.got: list[float] = []
        self.cpu_asked: list[float] = []
        self.cpu_got: list[float] = []

    def read(self) -> np.ndarray:
        now, i = time.perf_counter(), len(self.asked)
        self.asked.append(now)
        self.cpu_asked.append(time.thread_time())
        self.t0 = now if self.t0 is None else self.t0
        time.sleep(max(0.0, self.due(i) - now))
        self.got.append(time.perf_counter())
        self.cpu_got.append(time.thread_time())
        return self.frames[i % len(self.frames)]

    def due(self, i: int) -> float:
        return self.t0 + i / self.fps


def camera_view_run(frames: list[np.ndarray], net, on: bool, count: int, skip: int) -> dict[str, np.ndarray]:
    """One run of the real window loop on a 30 fps camera; per-frame numbers after `skip` frames."""
    from live_digits import app, explain
    from live_digits.recognizer import Recognizer

    camera = PacedCamera(frames, 30.0)
    polls: list[tuple[float, float]] = []  # (start, end) of each key poll, where Qt paints and the loop idles
    wait_key = cv2.waitKeyEx

    def timed_wait_key(ms: int) -> int:
        t = time.perf_counter()
        key = wait_key(ms)
        polls.append((t, time.perf_counter()))
        return key

    recognizer = Recognizer(None, overlap=True)
    model = app.load_in_background(lambda: net)
    explainer = explain.live_explainer(MODELS / "cnn.json") if on else None
    options = app.RunOptions(save_dir=Path(tempfile.gettempdir()), max_frames=count, explain=on)
    app.cv2.waitKeyEx = timed_wait_key
    try:
        app.run_window(camera, recognizer, model, None, options, explainer)
    finally:
        app.cv2.waitKeyEx = wait_key
    frames_done = range(skip, count - 1)  # frame i is done when the loop asks for frame i + 1
    out = {
        "wait": np.array([camera.asked[i + 1] - camera.due(i) for i in frames_done]),
        "loop": np.array([camera.asked[i + 1] - camera.got[i] for i in frames_done]),
        "shown": np.array([polls[i][0] - camera.got[i] for i in frames_done]),
        "poll": np.array([polls[i][1] - polls[i][0] for i in frames_done]),
        "cpu": np.array([camera.cpu_asked[i + 1] - camera.cpu_got[i] for i in frames_done]),
        "shown_per_s": np.array([(len(frames_done)) / (camera.got[count - 1] - camera.got[skip])]),
    }
    if explainer is not None:
        start = camera.got[skip]
        done = [t for t in explainer.refreshes if t >= start]
        out["refresh_interval"] = np.diff(done)
        out["refresh_per_s"] = np.array([len(done) / (camera.asked[count - 1] - start)])
        out["work"] = np.array(explainer.work[-len(done) :])
    return out


def camera_view(frames: list[np.ndarray], rounds: int, seconds: float) -> dict:
    """The window loop with the explanation view off and on, alternating runs under Xvfb; times in ms."""
    from live_digits import cli, model

    xvfb = start_xvfb()
    if xvfb is None:
        return {"skipped": "Xvfb is not installed"}
    server, display = xvfb
    os.environ.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    cli._use_system_fonts(os.environ)
    cv2.setNumThreads(1)  # as the app runs
    net = model.load("cnn")
    count, skip = int(30 * seconds), 30  # the first second: window creation, the worker's first load
    runs: dict[str, list[dict]] = {"off": [], "on": []}
    try:
        for r in range(rounds):
            for side in ("off", "on") if r % 2 == 0 else ("on", "off"):
                runs[side].append(camera_view_run(frames, net, side == "on", count, skip))
    finally:
        stop(server)
    out = {}
    for side, results in runs.items():
        v = {k: np.concatenate([x[k] for x in results]) for k in results[0]}
        out[side] = {
            "frames": len(v["wait"]),
            "shown_per_s": float(np.median(v["shown_per_s"])),
            "wait_max": 1e3 * float(v["wait"].max()),
            "late": int(np.sum(v["wait"] > 1 / 30)),
            "wait_p99": 1e3 * float(np.percentile(v["wait"], 99)),
            "loop_median": 1e3 * float(np.median(v["loop"])),
            "shown_median": 1e3 * float(np.median(v["shown"])),
            "shown_p95": 1e3 * float(np.percentile(v["shown"], 95)),
            "poll_median": 1e3 * float(np.median(v["poll"])),
            "loop_p95": 1e3 * float(np.percentile(v["loop"], 95)),
            "cpu_median": 1e3 * float(np.median(v["cpu"])),
        }
        if side == "on":
            out[side] |= {
                "refresh_per_s": float(np.median(v["refresh_per_s"])),
                "refresh_interval_median": 1e3 * float(np.median(v["refresh_interval"])),
                "refresh_interval_max": 1e3 * float(v["refresh_interval"].max()),
                "work_median": 1e3 * float(np.median(v["work"])),
                "work_p95": 1e3 * float(np.percentile(v["work"], 95)),
            }
    return out


def camera_view_table(c: dict) -> str:
    """The camera view, explanation view off and on side by side."""
    if "skipped" in c:
        return f"camera view: skipped ({c['skipped']})"
    off, on = c["off"], c["on"]
    rows = [
        ("what (30 fps camera, real window under Xvfb)", "view off", "view on", "goal"),
        ("frames shown per second", f"{off['shown_per_s']:.1f}", f"{on['shown_per_s']:.1f}", ""),
    ]
    period = 1e3 / 30
    for key, what, goal in (
        ("wait_max", "longest wait, capture -> loop done with it, ms", period),
        ("wait_p99", "  99th percentile, ms", None),
        ("late", "  frames that waited longer than one frame period (33.3 ms)", None),
        ("loop_median", "window loop per frame (frame in hand -> next read), median ms", None),
        ("loop_p95", "  95th percentile, ms", None),
        ("shown_median", "  frame in hand -> on screen (read, draw, imshow), median ms", 5.0),
        ("shown_p95", "    95th percentile, ms", None),
        ("poll_median", "  key poll (waitKeyEx(1): Qt paints, the loop idles), median ms", None),
        ("cpu_median", "  the loop thread's CPU time per frame, median ms", None),
    ):
        ok = "" if goal is None else f"view on <= {goal:.1f}: {'ok' if on[key] <= goal else 'MISSED'}"
        rows.append((what, *(f"{side[key]}" if key == "late" else f"{side[key]:.2f}" for side in (off, on)), ok))
    rows += [
        ("explanation refreshes per second (worker thread)", "", f"{on['refresh_per_s']:.1f}", ""),
        (
            "  interval between refreshes, median / max ms",
            "",
            f"{on['refresh_interval_median']:.0f} / {on['refresh_interval_max']:.0f}",
            "",
        ),
        (
            "  worker time per refresh (explain + draw), median / p95 ms",
            "",
            f"{on['work_median']:.1f} / {on['work_p95']:.1f}",
            "",
        ),
        (f"frames measured per side ({c['rounds']} alternating runs each)", str(off["frames"]), str(on["frames"]), ""),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def table(r: dict) -> str:
    """The one results table: what | live-digits | classic baseline | ratio (classic / ours) | goal."""

    def row(what, ours, classic, goal=None):
        if isinstance(ours, str):  # a note spanning the value columns
            return [what, ours]
        cells = [f"{v:.3f}" if v < 10 else f"{v:.1f}" for v in (ours, classic)]
        return [
            what,
            *cells,
            f"{classic / ours:.1f}x",
            "" if goal is None else f"{goal[1]}: {'ok' if goal[0] else 'MISSED'}",
        ]

    inf, fr, mem = r["inference"], r["per_frame"], r["memory"]
    rows = [["what", "live-digits", "classic baseline", "ratio", "goal"]]
    rows.append(["batch of 5, median ms per call (baseline: Keras model.predict(verbose=0))"])
    for model_name, key, what in [
        ("cnn", "live_digits", "live-digits model.load('cnn').predict"),
        ("cnn", "tf_function", "tf.function compiled once"),
        ("cnn", "litert_1_thread", "LiteRT interpreter, 1 thread"),
        ("cnn", "litert_2_threads", "LiteRT interpreter, 2 threads"),
        ("cnn", "opencv_dnn", "OpenCV dnn (fixed batch-5 TFLite)"),
        ("dense", "live_digits", "live-digits model.load('dense').predict"),
        ("dense", "litert_1_thread", "LiteRT interpreter, 1 thread"),
    ]:
        value, base = inf[f"{model_name}_{key}"], inf[f"{model_name}_keras_predict"]
        goal = (value <= 0.5, "<= 0.5 ms") if (model_name, key) == ("cnn", "live_digits") else None
        rows.append(row(f"  {model_name}: {what}", value, base, goal))
    for key, eq in ((k, v) for k, v in inf.items() if k.endswith("_equivalence")):
        name = key.removesuffix("_equivalence").replace("_", ": ", 1)
        rows.append(
            [f"  same as Keras? {name}", f"argmax {eq['argmax_equal']}/{eq['n']}, max|dp| {eq['max_abs_dp']:.1e}"]
        )
    rows.append([f"per 640x480 frame, ms over {fr['frames']} frames (ours: process + compose; classic: ClassicLoop)"])
    for side, what in (("window", "window loop (inference overlapped)"), ("ours", "in step (headless)")):
        ratio = fr["classic_mean"] / fr[f"{side}_mean"]
        median = fr[f"{side}_median"]
        rows.append(row(f"  {what}: median", median, fr["classic_median"], (median <= 2, "<= 2 ms")))
        rows.append(row(f"  {what}: amortised", fr[f"{side}_mean"], fr["classic_mean"], (ratio >= 10, ">= 10x")))
        rows.append(row(f"  {what}: p95", fr[f"{side}_p95"], fr["classic_p95"]))
        rows.append(row(f"  {what}: max", fr[f"{side}_max"], fr["classic_max"]))
    rows.append(row("  classic predict frame (every 5th), median", fr["window_median"], fr["classic_predict_frame"]))
    if "numbers" in r:
        nu = r["numbers"]
        rows.append([f"number mode per 640x480 frame, window loop, ms over {nu['frames']} frames"])
        for name, what in (("lines", "line reader"), ("cuts", "digit by digit, cuts")):
            median = nu[f"{name}_median"]
            goal = f"<= 2 ms: {'ok' if median <= 2 else 'MISSED'}"
            rows.append([f"  {what}: median / p95", f"{median:.3f} / {nu[f'{name}_p95']:.3f}", "", "", goal])
    if "startup" in r:
        st = r["startup"]
        rows.append(["startup, median ms from Popen (classic: python -c 'import tensorflow, keras; load dense.keras')"])
        if "app" in st:
            rows.append(["  window app under Xvfb", st["app"]])
        else:
            base = st["classic_tf_import_and_load"]
            rows.append(row("  first frame shown", st["first_frame"], base, (st["first_frame"] <= 1000, "<= 1 s")))
            pred = st["first_prediction"]
            rows.append(row("  first prediction", pred, base, (pred <= 2500, "<= 2.5 s")))
    rows.append(["memory (ours: headless app after 3 s; classic: TensorFlow + Keras dense model + loop)"])
    rows.append(row("  resident set size, MB", mem["ours_mb"], mem["classic_mb"]))
    widths = [max(len(x[i]) for x in rows if len(x) == 5) for i in range(5)]
    lines = []
    for x in rows:
        if len(x) == 5:
            lines.append(" | ".join(c.ljust(w) for c, w in zip(x, widths, strict=True)).rstrip())
        else:  # a section heading, or a note spanning the value columns
            lines.append(" | ".join([x[0].ljust(widths[0]), *x[1:]]) if len(x) == 2 else x[0])
        if x is rows[0]:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", type=Path, default=ROOT.parent / "shared/datasets/mnist/mnist.npz", help="keras npz")
    p.add_argument("--repeats", type=int, default=200, help="timed calls per variant / frames per loop (200)")
    p.add_argument("--skip-startup", action="store_true", help="skip the app startup measurement")
    p.add_argument("--camera-view-only", action="store_true", help="only the camera view with the explanation off/on")
    p.add_argument("--camera-seconds", type=float, default=5, help="seconds per camera-view run (5)")
    p.add_argument("--camera-rounds", type=int, default=8, help="camera-view runs per side, alternating (8)")
    p.add_argument("--numbers-only", action="store_true", help="only number mode per frame, line reader against cuts")
    p.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    p.add_argument("--classic-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.classic_child:
        classic_child()
        return 0
    t0 = time.perf_counter()
    d = datasets.load_mnist(args.mnist)
    x_train, y_train, x_test = d["x_train"], d["y_train"], d["x_test"]
    from classic_loop import train_classic_dense

    results = {}
    if args.numbers_only:
        results["numbers"] = nu = per_frame_numbers(render_numbers(x_test), args.repeats)
        print(f"number mode, window loop, ms per frame over {nu['frames']} frames (median / p95):")
        for name in ("lines", "cuts"):
            print(f"  {name}: {nu[f'{name}_median']:.3f} / {nu[f'{name}_p95']:.3f}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
        return 0
    if args.camera_view_only:
        results["camera_view"] = camera_view(render(x_test), args.camera_rounds, args.camera_seconds)
        results["camera_view"]["rounds"] = args.camera_rounds
        print(camera_view_table(results["camera_view"]))
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        print("inference ...", file=sys.stderr, flush=True)
        results["inference"] = inference(x_test[:300].astype(np.float32) / 255, args.repeats, Path(tmp))
    print("per frame ...", file=sys.stderr, flush=True)
    frames = render(x_test)
    results["per_frame"] = per_frame(frames, train_classic_dense(x_train, y_train), args.repeats)
    print("number mode per frame ...", file=sys.stderr, flush=True)
    results["numbers"] = per_frame_numbers(render_numbers(x_test), args.repeats)
    if not args.skip_startup:
        print("startup ...", file=sys.stderr, flush=True)
        results["startup"] = startup(runs=5)
    print("memory ...", file=sys.stderr, flush=True)
    results["memory"] = memory()
    print("camera view ...", file=sys.stderr, flush=True)
    results["camera_view"] = camera_view(frames, args.camera_rounds, args.camera_seconds)
    results["camera_view"]["rounds"] = args.camera_rounds
    results["seconds"] = time.perf_counter() - t0
    print(table(results))
    print()
    print(camera_view_table(results["camera_view"]))
    print(f"({results['seconds']:.0f} s; ratio = classic / live-digits)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main("benchmark.py", main))  # bad input: one line, no traceback

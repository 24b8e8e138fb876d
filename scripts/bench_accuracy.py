"""Real-world accuracy of live-digits on rendered webcam clips, against the classic loop.

For every clip of a folder made by scripts/render_clips.py it runs the live-digits core (the
same Recognizer the headless CLI runs; `--via-cli` runs the real `live-digits --no-gui` per
clip instead) and scores the digit shown at the LAST frame:

- digit clips: accuracy (shown == label; nothing shown counts as wrong), split into "shown but
  wrong" and "nothing shown", overall and per subset: the classic conditions (dim, ruled,
  small, thin, blurry) and the wider ones (fat marker, ink at the box edge, a small sheet's
  edge in the box, slanted writing, styles MNIST rarely has); folders rendered before the
  wider subsets existed simply have none of them;
- blank clips: false positives, a digit shown at the last frame (and, stricter, at any frame);
- multi clips (if any): exact number read at the last frame (run with --multi, 400x200 box),
  how often a wrong number is shown there and how often nothing, per subset (4-6 digits,
  small, touching, a sheet edge in the box), and what separates finding from reading:
  `multi_found`, the numbers whose digit count settled right (what a perfect classifier
  could at best read; the count does not depend on the model), and `multi_digits`, the
  digits of those numbers read right;
- swaps (the live feel): the digit clips, in order, through ONE Recognizer without a reset, so
  that a clip ending and the next starting is a digit swapped for another. `swap_third`: the
  swaps during which (from the new clip's first frame until the new digit is shown) a digit
  is shown that is neither the old nor the new one nor what was shown when the swap began;
  `swap_latency`: frames from the new clip's first frame until the new digit is shown (0: at
  once; never shown counts as the clip's length), median, 95th percentile and `swap_within_3`
  (shown by the 3rd frame); `flicker`: the clips whose shown digit changes more than once
  after it first settled (on the new digit, or else on any other than the old one).

The classic loop of scripts/classic_loop.py (fixed threshold, dense net) runs on the same clips
for a sweep of thresholds; the best threshold's numbers are the baseline column.

`--calibrate` (on clips rendered from the TRAINING split only) sweeps --min-confidence instead
and suggests the smallest value at which no blank clip shows a digit at any frame: this is how
the CLI default is calibrated.

    python scripts/render_clips.py --mnist ../shared/datasets/mnist/mnist.npz --split test \
        --clips 600 --blank 100 --out /tmp/clips_test
    python scripts/bench_accuracy.py --clips /tmp/clips_test --mnist ../shared/datasets/mnist/mnist.npz
    python scripts/bench_accuracy.py --clips /tmp/clips_calib --render --calibrate --clips-count 300 \
        --blank-count 100 --seed 1      # renders the train split first, then calibrates
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from live_digits import datasets, model, sources
from live_digits.errors import UserError
from live_digits.recognizer import Recognizer, Settings, vote
from live_digits.signals import run_main

DEFAULT_MIN_CONFIDENCE = Settings().min_confidence  # what live-digits shows digits at by default
SCRIPTS = Path(__file__).resolve().parent
DEFAULT_MNIST = SCRIPTS.parent.parent / "shared" / "datasets" / "mnist" / "mnist.npz"
SUBSETS = ("dim", "ruled", "small", "thin", "blurry", "fat", "edge", "sheet", "slant", "style")
NUMBER_SUBSETS = ("4-6 digits", "small", "touching", "sheet")
# #15's pen range is up to a quarter of the digit's height, and the single-digit clips keep to it;
# the number clips keep an ordinary pen on digits as small as 35 px, so some go past it (blobs).
PEN_RANGE = 0.25
PEN_SUBSETS = ("pen <= h/4", "pen > h/4")  # h: the smallest digit's height
TABLE_ROWS = (
    "overall",
    *SUBSETS,
    "shown_wrong",
    "nothing_shown",
    "blank_fp_last",
    "blank_fp_any",
    "multi_exact",
    *(f"multi {name}" for name in NUMBER_SUBSETS),
    *(f"multi {name}" for name in PEN_SUBSETS),
    "multi_wrong",
    "multi_nothing",
    "multi_found",
    "multi_digits",
    "swap_third",
    "swap_within_3",
    "flicker",
)
WITHIN_FRAMES = 3  # the new digit should be shown by the 3rd frame it is in view
CLASSIC_THRESHOLDS = (60, 80, 100, 120, 140, 160, 180)
CALIBRATION_GRID = tuple(round(0.30 + 0.05 * i, 2) for i in range(14))  # 0.30 .. 0.95
MAX_BLANK_FP = 0.0  # no calibration blank clip may ever show a digit


def load_script(name: str):
    """Import scripts/NAME.py by path (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render(args: argparse.Namespace, split: str) -> None:
    """Render the clip folder with render_clips.py (the train split for --calibrate)."""
    cmd = [sys.executable, str(SCRIPTS / "render_clips.py"), "--mnist", str(args.mnist), "--split", split]
    cmd += ["--clips", str(args.clips_count), "--blank", str(args.blank_count), "--multi", str(args.multi_count)]
    cmd += ["--seed", str(args.seed), "--out", str(args.clips)]
    print("$", " ".join(cmd), flush=True)
    if subprocess.run(cmd).returncode:
        raise UserError("rendering the clips failed", "render_clips.py said why just above")


def repo_commit() -> str:
    """The checkout's commit (with "+dirty" when live_digits/ has local changes): the core changes often."""
    git = ["git", "-C", str(SCRIPTS.parent)]
    try:
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "live_digits"], capture_output=True, text=True).stdout
    except OSError:
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty.strip() else "")


def read_frames(path: Path) -> list[np.ndarray]:
    """All frames of a clip, decoded exactly as the CLI's source decodes them."""
    frames = []
    with sources.open_source(str(path)) as src:
        while (frame := src.read()) is not None:
            frames.append(frame)
    return frames


def clip_settings(item: dict, args: argparse.Namespace, **changes) -> Settings:
    """The Settings the CLI builds for this clip (multi clips: --multi with the clip's box)."""
    settings = Settings(
        box=tuple(item["box"]),
        number_box=tuple(item["box"]),
        threshold=args.threshold,
        window=args.window,
        min_confidence=args.min_confidence,
        multi=item["kind"] == "multi",
        cut_touching=not args.no_cuts,
        read_lines=not args.no_lines,
    )
    return dataclasses.replace(settings, **changes)


def run_core(frames: list[np.ndarray], net, settings: Settings) -> list:
    """What app.run_headless does: one Recognizer, every frame through it; the Results."""
    recognizer = Recognizer(net, settings)
    return [recognizer.process(frame) for frame in frames]


def json_rows(results: list) -> list[dict]:
    """The headless output lines, round-tripped through JSON like the CLI's file."""
    return [json.loads(json.dumps(r.to_json())) for r in results]


def run_cli(path: Path, settings: Settings, model_spec: str) -> list[dict]:
    """The real `live-digits --no-gui` on one clip; its JSON lines."""
    w, h = settings.box
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "preds.jsonl"
        cmd = [sys.executable, "-m", "live_digits", "--source", str(path), "--no-gui", "--output", str(out)]
        cmd += ["--model", model_spec, "--threshold", str(settings.threshold), "--window", str(settings.window)]
        cmd += ["--min-confidence", repr(settings.min_confidence), "--box", f"{w}x{h}"]
        cmd += ["--multi"] if settings.multi else []
        if subprocess.run(cmd).returncode:
            raise UserError(f"live-digits failed on {path.name}", "it said why just above")
        return [json.loads(line) for line in out.read_text().splitlines()]


def summarise_rows(rows: list[dict]) -> dict:
    """What one clip showed at the last frame (digit, number, its digits), and whether any frame showed a digit."""
    last = rows[-1] if rows else {}
    return {
        "digit": last.get("digit"),
        "number": last.get("number", ""),
        "digits": [d["digit"] for d in last.get("digits", [])],
        "any": any(r["digit"] is not None for r in rows),
    }


def classic_batch(frames: list[np.ndarray], classic_input) -> np.ndarray | None:
    """Classic inputs (thresholds, 5, 28, 28) of the last complete batch of 5 frames, None if none."""
    k = len(frames) // 5
    if k == 0:
        return None
    batch = frames[5 * (k - 1) : 5 * k]
    return np.stack([np.stack([classic_input(f, t) for f in batch]) for t in CLASSIC_THRESHOLDS])


def classic_shown(net, batches: list[np.ndarray | None]) -> list[list[int | None]]:
    """Per clip and threshold, the digit ClassicLoop shows at the last frame.

    ClassicLoop shows argmax(mean probs) of the last complete batch of 5 frames. One predict
    call over all clips' batches gives the same probabilities as one call per batch (same
    model, same inputs, no batch-dependent layers), only much faster.
    """
    done = [b for b in batches if b is not None]
    if not done:
        return [[None] * len(CLASSIC_THRESHOLDS) for _ in batches]
    stacked = np.stack(done)  # (clips, thresholds, 5, 28, 28)
    probs = net.predict(stacked.reshape(-1, 28, 28), verbose=0, batch_size=1024)
    digits = iter(probs.reshape(*stacked.shape[:3], 10).mean(axis=2).argmax(axis=2).tolist())
    return [next(digits) if b is not None else [None] * len(CLASSIC_THRESHOLDS) for b in batches]


def frac(hits: list[bool]) -> dict:
    """A rate with its count: {"n", "rate"} (rate None when n is 0)."""
    return {"n": len(hits), "rate": float(np.mean(hits)) if hits else None}


def pen_past_range(item: dict) -> bool | None:
    """Whether a number clip's pen is wider than PEN_RANGE of its smallest digit's height
    (None for folders rendered before the layout was recorded)."""
    heights = (item.get("layout") or {}).get("digit_heights")
    return item["conditions"]["pen_px"] > PEN_RANGE * min(heights) if heights else None


def score(items: list[dict], shown: list[dict]) -> dict:
    """Clip metrics from each clip's summary ({"digit", "number", "any"})."""
    digit = [(it, s) for it, s in zip(items, shown, strict=True) if it["kind"] == "digit"]
    blank = [s for it, s in zip(items, shown, strict=True) if it["kind"] == "blank"]
    multi = [(it, s) for it, s in zip(items, shown, strict=True) if it["kind"] == "multi"]
    out = {
        "overall": frac([s["digit"] == it["label"] for it, s in digit]),
        "shown_wrong": frac([s["digit"] not in (None, it["label"]) for it, s in digit]),
        "nothing_shown": frac([s["digit"] is None for _, s in digit]),
    }
    for name in SUBSETS:  # folders rendered before a subset existed have no clips in it
        out[name] = frac([s["digit"] == it["label"] for it, s in digit if it["flags"].get(name)])
    out["blank_fp_last"] = frac([s["digit"] is not None for s in blank])
    out["blank_fp_any"] = frac([s["any"] for s in blank])
    if multi:
        out["multi_exact"] = frac([s["number"] == it["number"] for it, s in multi])
        for name in NUMBER_SUBSETS:
            subset = [(it, s) for it, s in multi if (it.get("number_flags") or {}).get(name)]
            out[f"multi {name}"] = frac([s["number"] == it["number"] for it, s in subset])
        for name, past in zip(PEN_SUBSETS, (False, True), strict=True):
            subset = [(it, s) for it, s in multi if pen_past_range(it) == past]
            out[f"multi {name}"] = frac([s["number"] == it["number"] for it, s in subset])
        out["multi_wrong"] = frac([s["number"] not in ("", it["number"]) for it, s in multi])  # worse than nothing
        out["multi_nothing"] = frac([s["number"] == "" for _, s in multi])
        found = [(s["digits"], it["number"]) for it, s in multi if len(s["digits"]) == len(it["number"])]
        out["multi_found"] = frac([len(s["digits"]) == len(it["number"]) for it, s in multi])
        out["multi_digits"] = frac([str(d) == c for shown, number in found for d, c in zip(shown, number, strict=True)])
    return out


def swap_metrics(labels: list[int], shown: list[list[int | None]]) -> dict:
    """The live feel, from the digit shown at every frame of consecutive clips read without a reset.

    labels: each clip's digit; shown: per clip, the digit shown at each frame (None: nothing).
    Clip k following a clip of another digit is a swap (see the module docstring for the rows).
    """
    third, latency, never, flicker = [], [], [], []
    for k, (new, frames) in enumerate(zip(labels, shown, strict=True)):
        before = shown[k - 1][-1] if k else None  # what the window showed when the swap began
        old = labels[k - 1] if k else None
        settled = next((i for i, d in enumerate(frames) if d == new), None)
        if k and old != new:
            during = frames if settled is None else frames[: settled + 1]
            third.append(any(d not in (None, old, new, before) for d in during))
            latency.append(len(frames) if settled is None else settled)
            never.append(settled is None)
        if settled is None:  # misread: settled on whatever replaced the old digit
            settled = next((i for i, d in enumerate(frames) if d not in (None, old, before)), None)
        changes = 0 if settled is None else sum(a != b for a, b in itertools.pairwise(frames[settled:]))
        flicker.append(changes > 1)
    lat = np.asarray(latency, float)
    return {
        "swap_third": frac(third),
        "swap_within_3": frac([t < WITHIN_FRAMES for t in latency]),
        "swap_latency": {
            "n": len(latency),
            "median": float(np.median(lat)) if latency else None,
            "p95": float(np.percentile(lat, 95)) if latency else None,
            "never": float(np.mean(never)) if never else None,
        },
        "flicker": frac(flicker),
    }


def save_failure(folder: Path, item: dict, result) -> None:
    """The last frame's ink mask (and model input) of a failing clip, as PNGs."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{Path(item['file']).stem}_label{item['label']}_shown{result.digit}"
    cv2.imwrite(str(folder / f"{stem}_mask.png"), result.mask)
    if result.model_input is not None:
        cv2.imwrite(str(folder / f"{stem}_input.png"), (result.model_input * 255 + 0.5).astype(np.uint8))


def pct(metric: dict | None) -> str:
    return "-" if not metric or metric["rate"] is None else f"{100 * metric['rate']:.1f}%"


def print_table(live: dict, classic: dict | None, threshold: int | None) -> None:
    """Rows: the metrics; columns: n, live-digits, classic at its best threshold."""
    head = f"{'':22} {'n':>5} {'live-digits':>12}" + (f" {f'classic (thr={threshold})':>18}" if classic else "")
    print(head)
    for key in TABLE_ROWS:
        if key in live and live[key]["n"]:  # rows of clip kinds the folder has
            line = f"{key:22} {live[key]['n']:>5} {pct(live[key]):>12}"
            print(line + (f" {pct(classic.get(key)):>18}" if classic and key in classic else ""))
    latency = live.get("swap_latency")
    if latency and latency["n"]:
        print(
            f"{'swap_latency':22} {latency['n']:>5} median {latency['median']:.0f}, p95 {latency['p95']:.0f} frames, "
            f"never shown {100 * latency['never']:.1f}%"
        )


def benchmark(args: argparse.Namespace, items: list[dict]) -> dict:
    """Live-digits (in-process or via the CLI) and the classic sweep on the same clips."""
    net = model.load(args.model)
    classic = None if args.no_classic else load_script("classic_loop")
    cli_rows = {}
    if args.via_cli:
        with ThreadPoolExecutor(args.workers) as pool:
            jobs = {
                it["file"]: pool.submit(run_cli, args.clips / it["file"], clip_settings(it, args), args.model)
                for it in items
            }
            cli_rows = {name: job.result() for name, job in jobs.items()}
    shown, batches = [], []
    digit_items = [it for it in items if it["kind"] == "digit"]
    chain = Recognizer(net, clip_settings(digit_items[0], args)) if digit_items else None  # swaps: never reset
    chained: list[list[int | None]] = []
    for item in items:
        frames = read_frames(args.clips / item["file"])
        if chain and item["kind"] == "digit":
            chained.append([chain.process(frame).digit for frame in frames])
        if args.via_cli:
            shown.append(summarise_rows(cli_rows[item["file"]]))
        else:
            results = run_core(frames, net, clip_settings(item, args))
            shown.append(summarise_rows(json_rows(results)))
            wrong = item["kind"] == "digit" and results[-1].digit != item["label"]
            if args.failures and (wrong or (item["kind"] == "blank" and results[-1].digit is not None)):
                save_failure(args.failures, item, results[-1])
        if classic and item["kind"] != "multi":
            batches.append(classic_batch(frames, classic.classic_input))
    report = {"settings": {k: str(v) for k, v in vars(args).items()}, "live_digits": score(items, shown)}
    if chained:
        report["live_digits"].update(swap_metrics([it["label"] for it in digit_items], chained))
    if classic:
        report["classic"] = classic_sweep(args, classic, [it for it in items if it["kind"] != "multi"], batches)
    return report


def classic_sweep(args: argparse.Namespace, classic, items: list[dict], batches: list) -> dict:
    """Train the tutorial model, score every threshold, pick the best by overall accuracy."""
    data = datasets.load_mnist(str(args.mnist))
    net = classic.train_classic_dense(data["x_train"], data["y_train"])
    per_clip = classic_shown(net, batches)
    sweep = {}
    for j, thr in enumerate(CLASSIC_THRESHOLDS):
        # the classic window shows a digit from the first complete batch on: "any" = "last"
        shown = [{"digit": d[j], "number": "", "any": d[j] is not None} for d in per_clip]
        sweep[thr] = score(items, shown)
    best = max(CLASSIC_THRESHOLDS, key=lambda t: sweep[t]["overall"]["rate"] or 0.0)
    return {"best_threshold": best, "best": sweep[best], "sweep": sweep}


def calibrate(args: argparse.Namespace, items: list[dict]) -> dict:
    """Sweep min_confidence on per-frame probabilities combined like the Recognizer does."""
    biggest = max((i for it in items for i in it.get("mnist_index", [])), default=0)
    if biggest >= 10 * load_script("render_clips").VAL_PER_CLASS:
        raise UserError(
            f"{args.clips} looks rendered from the test split (MNIST index {biggest});"
            " calibrate only on --split train clips",
            "add --render",
        )
    net = model.load(args.model)
    items = [it for it in items if it["kind"] in ("digit", "blank")]
    frame_probs = []
    for item in items:  # window=1, min_confidence=0: each frame's own probs (zeros when no digit)
        results = run_core(
            read_frames(args.clips / item["file"]), net, clip_settings(item, args, window=1, min_confidence=0.0)
        )
        frame_probs.append(np.stack([r.probs for r in results]))
    sweep = {}
    for value in CALIBRATION_GRID:
        shown = [shown_at(p, args.window, value) for p in frame_probs]
        sweep[value] = score(items, shown)
    kinds = [it["kind"] for it in items]
    print(f"{kinds.count('digit')} digit clips, {kinds.count('blank')} blank clips, window {args.window}")
    print(f"{'min_conf':>8} {'digit acc':>10} {'wrong':>7} {'nothing':>8} {'blank fp last':>14} {'blank fp any':>13}")
    for value, m in sweep.items():
        print(
            f"{value:>8.2f} {pct(m['overall']):>10} {pct(m['shown_wrong']):>7} {pct(m['nothing_shown']):>8} "
            f"{pct(m['blank_fp_last']):>14} {pct(m['blank_fp_any']):>13}"
        )
    ok = [v for v, m in sweep.items() if (m["blank_fp_any"]["rate"] or 0.0) <= MAX_BLANK_FP]
    suggested = min(ok) if ok else None
    blank_peak = max(
        (
            max(combined.max() for combined, _ in votes(p, args.window, 0.0))
            for p, it in zip(frame_probs, items, strict=True)
            if it["kind"] == "blank"
        ),
        default=0.0,
    )
    print(f"highest combined confidence on any blank frame: {blank_peak:.3f}")
    print(
        f"suggested --min-confidence: {suggested} (smallest with blank false positives at any frame "
        f"<= {MAX_BLANK_FP:.0%}; current default {DEFAULT_MIN_CONFIDENCE})"
    )
    if suggested == CALIBRATION_GRID[0]:
        print("note: the blank limit never binds on this set; weigh 'wrong' against 'nothing' to choose")
    return {"suggested": suggested, "blank_peak": float(blank_peak), "sweep": {str(k): v for k, v in sweep.items()}}


def votes(probs: np.ndarray, window: int, min_confidence: float) -> list[tuple[np.ndarray, int | None]]:
    """The Recognizer's vote at each frame of a clip, from its per-frame probabilities float32 (frames, 10)."""
    return [vote(probs[max(0, i - window + 1) : i + 1], min_confidence, window) for i in range(len(probs))]


def shown_at(probs: np.ndarray, window: int, min_confidence: float) -> dict:
    """The clip summary (digit shown at the last frame, any frame) at another min_confidence."""
    digits = [digit for _, digit in votes(probs, window, min_confidence)]
    return {"digit": digits[-1], "number": "", "any": any(d is not None for d in digits)}


def check(args: argparse.Namespace, items: list[dict]) -> bool:
    """The in-process rows must equal the real CLI's rows on the first N clips of every kind."""
    net, same = model.load(args.model), True
    for kind in ("digit", "blank", "multi"):
        for item in [it for it in items if it["kind"] == kind][: args.check]:
            settings = clip_settings(item, args)
            core = json_rows(run_core(read_frames(args.clips / item["file"]), net, settings))
            cli = run_cli(args.clips / item["file"], settings, args.model)
            print(f"{item['file']} ({kind}): {len(cli)} frames, {'identical' if core == cli else 'DIFFERENT'}")
            same &= core == cli
    return same


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench_accuracy.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--clips", type=Path, required=True, help="folder made by render_clips.py (with labels.json)")
    p.add_argument("--mnist", type=Path, default=DEFAULT_MNIST, help="mnist.npz (classic training, --render)")
    p.add_argument("--render", action="store_true", help="render --clips first (train split with --calibrate)")
    p.add_argument("--clips-count", type=int, default=600, help="--render: digit clips (default 600)")
    p.add_argument("--blank-count", type=int, default=100, help="--render: blank clips (default 100)")
    p.add_argument("--multi-count", type=int, default=0, help="--render: multi-digit clips (default 0)")
    p.add_argument("--seed", type=int, default=0, help="--render: seed (default 0)")
    p.add_argument("--model", default="cnn", help="live-digits --model (default cnn)")
    p.add_argument("--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE, help="live-digits --min-confidence")
    p.add_argument("--threshold", type=int, default=0, help="live-digits --threshold (default 0 = automatic)")
    p.add_argument("--window", type=int, default=5, help="live-digits --window (default 5)")
    p.add_argument("--via-cli", action="store_true", help="run the real CLI per clip instead of the core in-process")
    p.add_argument("--workers", type=int, default=2, help="--via-cli: parallel CLI processes (default 2)")
    p.add_argument("--check", type=int, metavar="N", help="only compare core vs CLI rows on N clips of each kind")
    p.add_argument("--calibrate", action="store_true", help="sweep --min-confidence (train-split clips only)")
    p.add_argument("--no-classic", action="store_true", help="skip the classic-loop baseline")
    p.add_argument("--no-cuts", action="store_true", help="number mode: components only, no cuts of touching digits")
    p.add_argument("--no-lines", action="store_true", help="number mode: read digit by digit, not with the line reader")
    p.add_argument("--failures", type=Path, help="save the last frame's mask/input of failing clips here")
    p.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    t0 = time.perf_counter()
    if args.render:
        render(args, "train" if args.calibrate else "test")
    items = json.loads((args.clips / "labels.json").read_text())
    commit = repo_commit()
    print(f"live-digits at {commit}, {len(items)} clips in {args.clips}", flush=True)
    if args.check:
        return 0 if check(args, items) else 1
    if args.calibrate:
        report = calibrate(args, items)
    else:
        report = benchmark(args, items)
        classic = report.get("classic", {})
        print(
            f"\nmodel {args.model}, min_confidence {args.min_confidence}, "
            f"threshold {args.threshold or 'auto'}{' (via CLI)' if args.via_cli else ''}"
        )
        print_table(report["live_digits"], classic.get("best"), classic.get("best_threshold"))
        if classic:
            print(
                "\nclassic sweep: "
                + ", ".join(
                    f"thr {t}: {pct(m['overall'])} acc / {pct(m['blank_fp_last'])} blank fp"
                    for t, m in classic["sweep"].items()
                )
            )
    report["commit"] = commit
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"took {report['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main("bench_accuracy.py", main))  # bad input: one line, no traceback

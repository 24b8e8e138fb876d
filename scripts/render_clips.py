"""Render a benchmark set of fake webcam clips: MNIST digits written on paper and filmed.

Writes DIR/clip_0000.avi ... (MJPG) and DIR/labels.json, a list of
{"file", "label", "number", "kind", "box", "mnist_index", "conditions", "flags"}, where kind is
"digit" (label 0-9), "blank" (label null) or "multi" (label null, number like "472").
Every clip is reproducible from --seed alone.

    python scripts/render_clips.py --mnist /work/shared/datasets/mnist/mnist.npz --out clips/test
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

try:
    from live_digits import datasets, preprocess, synth
    from live_digits.errors import UserError
except ImportError:  # run from a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from live_digits import datasets, preprocess, synth
    from live_digits.errors import UserError

VAL_PER_CLASS = datasets.HOLDOUT_PER_CLASS  # the training hold-out that --split train draws from
MULTI_BOX = preprocess.NUMBER_BOX  # the box live-digits --multi reads by default
FRAME_SIZE = (640, 480)  # what the webcam delivers


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH like 200x200, got {text!r}") from None
    if not (0 < w <= FRAME_SIZE[0] and 0 < h <= FRAME_SIZE[1]):
        raise argparse.ArgumentTypeError(f"the box must fit in the {FRAME_SIZE[0]}x{FRAME_SIZE[1]} frame, got {text!r}")
    return w, h


def _count(text: str, least: int = 0) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < least:
        raise argparse.ArgumentTypeError(f"expected a number >= {least}, got {n}")
    return n


def _positive(text: str) -> int:
    return _count(text, 1)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="render_clips.py",
        description="Render MJPG webcam-like clips of handwritten MNIST digits on paper, with labels.json.",
    )
    p.add_argument(
        "--mnist",
        default=datasets.KERAS,
        help="mnist.npz in keras's layout (x_train, y_train, x_test, y_test), a folder of IDX files, or 'keras'",
    )
    p.add_argument(
        "--split",
        choices=("test", "train"),
        default="test",
        help="test: MNIST test images; train: only the validation hold-out of the training images (default test)",
    )
    p.add_argument("--clips", type=_count, default=600, help="single-digit clips (default 600, balanced classes)")
    p.add_argument("--blank", type=_count, default=100, help="blank-paper clips (default 100)")
    p.add_argument("--multi", type=_count, default=0, help="clips of a 2-4 digit number (default 0)")
    p.add_argument("--frames", type=_positive, default=12, help="frames per clip (default 12)")
    p.add_argument(
        "--box",
        type=_size,
        help="crop box WxH the digits are written into (default 200x200; 400x200 for --multi clips)",
    )
    p.add_argument("--fps", type=float, default=15.0, help="frame rate stored in the .avi files (default 15)")
    p.add_argument("--seed", type=int, default=0, help="seed for everything drawn (default 0)")
    p.add_argument("--out", type=Path, required=True, help="folder to write clip_NNNN.avi and labels.json into")
    return p


def _digit_pool(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST images clips may show: uint8 (N, 28, 28) and labels (N,)."""
    data = datasets.load_mnist(args.mnist)
    if args.split == "test":
        if "x_test" not in data:
            raise UserError(f"{args.mnist} has no test images", "use --split train or a full mnist.npz")
        return data["x_test"], data["y_test"]
    if "x_train" not in data:
        raise UserError(f"{args.mnist} has no training images", "use --split test or a full mnist.npz")
    (_, _), (x_val, y_val) = datasets.split_train_val(data["x_train"], data["y_train"], VAL_PER_CLASS)
    return x_val, y_val


def _plan(args: argparse.Namespace, y: np.ndarray, rng: np.random.Generator) -> list[dict]:
    """What every clip shows: kind, MNIST indices, box. Single digits are balanced over the classes."""
    by_class = [np.flatnonzero(y == d) for d in range(10)]
    missing = [d for d in range(10) if by_class[d].size == 0]
    if missing and (args.clips or args.multi):
        raise UserError(f"the {args.split} images have no digit {missing}", "use a complete MNIST file")
    single_box = args.box or (200, 200)
    plan: list[dict] = []
    for d in rng.permutation(np.arange(args.clips) % 10):
        plan.append({"kind": "digit", "index": [int(rng.choice(by_class[d]))], "box": single_box})
    plan += [{"kind": "blank", "index": [], "box": single_box} for _ in range(args.blank)]
    for _ in range(args.multi):
        digits = rng.integers(0, 10, int(rng.integers(2, 5)))
        plan.append(
            {"kind": "multi", "index": [int(rng.choice(by_class[d])) for d in digits], "box": args.box or MULTI_BOX}
        )
    return plan


def render(args: argparse.Namespace) -> int:
    x, y = _digit_pool(args)
    seeds = np.random.SeedSequence(args.seed).spawn(1 + args.clips + args.blank + args.multi)
    plan = _plan(args, y, np.random.default_rng(seeds[0]))
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {args.out} ({exc.strerror})", "pass a writable --out folder") from exc
    labels = []
    t0 = time.perf_counter()
    for i, (item, seed) in enumerate(zip(plan, seeds[1:], strict=True)):
        rng = np.random.default_rng(seed)
        cond = synth.random_conditions(rng)
        frames = synth.render_frames([x[j] for j in item["index"]], cond, args.frames, rng, FRAME_SIZE, item["box"])
        name = f"clip_{i:04d}.avi"
        try:
            synth.write_clip(args.out / name, frames, fps=args.fps)
        except OSError as exc:
            raise UserError(str(exc), "check that --out is writable") from exc
        digits = "".join(str(int(y[j])) for j in item["index"])
        labels.append(
            {
                "file": name,
                "label": int(digits) if item["kind"] == "digit" else None,
                "number": digits if item["kind"] == "multi" else None,
                "kind": item["kind"],
                "box": list(item["box"]),
                "mnist_index": item["index"],
                "conditions": cond.to_dict(),
                "flags": cond.flags(),
            }
        )
        if (i + 1) % 100 == 0:
            print(f"  {i + 1}/{len(plan)} clips", file=sys.stderr, flush=True)
    tmp = args.out / "labels.json.tmp"
    tmp.write_text(json.dumps(labels, indent=1) + "\n")
    os.replace(tmp, args.out / "labels.json")
    counts = {k: sum(item["kind"] == k for item in plan) for k in ("digit", "blank", "multi")}
    print(
        f"wrote {len(plan)} clips ({counts['digit']} digit, {counts['blank']} blank, {counts['multi']} multi) "
        f"x {args.frames} frames from MNIST {args.split} to {args.out} in {time.perf_counter() - t0:.1f} s"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return render(args)
    except UserError as err:
        print(f"render_clips.py: error: {err}", file=sys.stderr)
        return err.exit_code


if __name__ == "__main__":
    raise SystemExit(main())

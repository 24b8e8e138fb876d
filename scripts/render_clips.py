"""Render a benchmark set of fake webcam clips: MNIST digits written on paper and filmed.

Writes DIR/clip_0000.avi ... (MJPG) and DIR/labels.json, a list of
{"file", "label", "number", "kind", "box", "mnist_index", "styles", "conditions", "layout", "flags",
"number_flags"}, where kind is "digit" (label 0-9), "blank" (label null) or "multi" (label null,
number like "472"). `flags` are the subsets a digit clip belongs to (`synth.Conditions.flags`,
"sheet" only where the sheet's edge shows in the box, and "style"); `number_flags` those of a
number (4-6 digits, small: every digit under 60 px tall, touching, a sheet edge in the box);
`layout` where the ink landed (`synth.Layout`). Every clip is reproducible from --seed alone.

--conditions wide (default) draws what people really hold up: `synth.random_conditions` with
its wider conditions, a share of 1s, 4s and 7s in styles MNIST rarely has, and numbers of 2-6
digits as `synth.random_number_conditions` writes them. --conditions classic draws the clips
rendered before the conditions were widened, bit for bit. --conditions past draws the wide
clips held partly past the box's left or right side (0-20% of the box's width beyond it): a
digit there may be wholly outside the box, so what counts is how many show a wrong number.
--conditions past-rows does the same past the box's top or bottom (0-20% of its height).

    python scripts/render_clips.py --mnist /work/shared/datasets/mnist/mnist.npz --out clips/test
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

try:
    from live_digits import datasets, preprocess, synth
    from live_digits.cli import int_range, parse_box
    from live_digits.errors import UserError
    from live_digits.signals import run_main
except ImportError:  # run from a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from live_digits import datasets, preprocess, synth
    from live_digits.cli import int_range, parse_box
    from live_digits.errors import UserError
    from live_digits.signals import run_main

VAL_PER_CLASS = datasets.HOLDOUT_PER_CLASS  # the training hold-out that --split train draws from
MULTI_BOX = preprocess.NUMBER_BOX  # the box live-digits --multi reads by default
FRAME_SIZE = (640, 480)  # what the webcam delivers


STYLE_SHARE = 0.4  # wide single digits: the share of 1s, 4s and 7s drawn in a style (synth.STYLES)
STYLE_SHARE_IN_NUMBERS = 0.25  # ... and of those digits in numbers
SMALL_NUMBER_PX = 60  # a number whose digits are all shorter than this is "small"
PAST_REACH = 0.2  # --conditions past: the farthest the ink runs past the box's side (synth's limit)
STYLE_OF = {label: name for name, label in synth.STYLES.items()}
count = int_range(0, 10**6)


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
    p.add_argument("--clips", type=count, default=600, help="single-digit clips (default 600, balanced classes)")
    p.add_argument("--blank", type=count, default=100, help="blank-paper clips (default 100)")
    p.add_argument(
        "--multi", type=count, default=0, help="clips of a number: 2-6 digits (wide), 2-4 (classic) (default 0)"
    )
    p.add_argument("--frames", type=int_range(1, 10**4), default=12, help="frames per clip (default 12)")
    p.add_argument(
        "--conditions",
        choices=("wide", "classic", "past", "past-rows"),
        default="wide",
        help="wide: what people hold up (default); classic: the clips rendered before the conditions were widened; "
        "past: wide, held partly past the box's left or right side; past-rows: ... its top or bottom",
    )
    p.add_argument(
        "--box",
        type=parse_box,
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
    wide = args.conditions != "classic"
    plan: list[dict] = []
    for d in rng.permutation(np.arange(args.clips) % 10):
        item = {"kind": "digit", "index": [int(rng.choice(by_class[d]))], "box": single_box}
        plan.append({**item, "styles": _styles([d], STYLE_SHARE, rng)} if wide else item)
    plan += [{"kind": "blank", "index": [], "box": single_box} for _ in range(args.blank)]
    for _ in range(args.multi):
        digits = rng.integers(0, 10, int(rng.integers(2, 7 if wide else 5)))
        item = {"kind": "multi", "index": [int(rng.choice(by_class[d])) for d in digits], "box": args.box or MULTI_BOX}
        plan.append({**item, "styles": _styles(digits, STYLE_SHARE_IN_NUMBERS, rng)} if wide else item)
    return plan


def _styles(digits, share: float, rng: np.random.Generator) -> list[str | None]:
    """Per digit, the synth style it is drawn in (None: the MNIST image), for `share` of the styled labels."""
    return [STYLE_OF[d] if d in STYLE_OF and rng.random() < share else None for d in (int(d) for d in digits)]


def _flags(item: dict, cond: synth.Conditions, layout: synth.Layout) -> tuple[dict, dict | None]:
    """The subsets a clip belongs to: a digit's (conditions and style), a number's (None for a digit)."""
    flags = {**cond.flags(), "sheet": layout.sheet_in_box, "style": any(item.get("styles") or [])}
    if item["kind"] != "multi":
        return flags, None
    heights = layout.digit_heights
    return flags, {
        "4-6 digits": len(item["index"]) >= 4,
        "small": max(heights) < SMALL_NUMBER_PX,
        "touching": any(layout.touching),
        "sheet": layout.sheet_in_box,
    }


def render(args: argparse.Namespace) -> int:
    if args.box and (args.box[0] > FRAME_SIZE[0] or args.box[1] > FRAME_SIZE[1]):
        raise UserError(
            f"the box {args.box} does not fit the {FRAME_SIZE[0]}x{FRAME_SIZE[1]} frame", "pass a smaller --box"
        )
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
        if args.conditions == "classic":
            cond = synth.random_conditions(rng, synth.CLASSIC_RATES)
        elif item["kind"] == "multi":
            cond = synth.random_number_conditions(rng)
        else:
            cond = synth.random_conditions(rng)
        if args.conditions in ("past", "past-rows"):  # the ink runs up to PAST_REACH of the box's side past it
            sides = ("left", "right") if args.conditions == "past" else ("top", "bottom")
            cond = replace(cond, edge_side=str(rng.choice(sides)), edge_reach=rng.uniform(0, PAST_REACH))
        styles = item.get("styles") or [None] * len(item["index"])
        images = [
            x[j] if style is None else synth.style_digit(style, rng)
            for j, style in zip(item["index"], styles, strict=True)
        ]
        clip = synth.render_clip(images, cond, args.frames, rng, FRAME_SIZE, item["box"])
        name = f"clip_{i:04d}.avi"
        try:
            synth.write_clip(args.out / name, clip.frames, fps=args.fps)
        except OSError as exc:
            raise UserError(str(exc), "check that --out is writable") from exc
        digits = "".join(str(int(y[j])) for j in item["index"])
        flags, number_flags = _flags(item, cond, clip.layout)
        labels.append(
            {
                "file": name,
                "label": int(digits) if item["kind"] == "digit" else None,
                "number": digits if item["kind"] == "multi" else None,
                "kind": item["kind"],
                "box": list(item["box"]),
                "mnist_index": item["index"],
                "styles": item.get("styles"),
                "conditions": cond.to_dict(),
                "layout": clip.layout.to_dict(),
                "flags": flags,
                "number_flags": number_flags,
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
        f"x {args.frames} frames from MNIST {args.split} ({args.conditions} conditions) to {args.out} "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    return render(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(run_main("render_clips.py", main))  # bad input: one line, no traceback

"""Train number mode's line reader (live_digits.sequence) and write it as models/lines.*.

    python scripts/train_lines.py --mnist ../shared/datasets/mnist/mnist10k.npz

Numbers of 1-6 digits are written with the training digits (the 500 held-out ones excepted:
the development clips are rendered from them), filmed by the rendered webcam and read by number
mode's live path into line images (`augment.filmed_lines`); the network learns them with CTC.
The epoch kept is the one reading most numbers exactly on lines filmed from the held-out digits.
Needs the [train] extra. Takes about 12 minutes to film and 2 minutes per epoch (v1) on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

from live_digits import augment, catalog, datasets, train_lines
from live_digits.signals import run_main

VAL_PER_CLASS = 50  # the same 500 held-out digits as live-digits-train's and the development clips'


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", default=datasets.KERAS, help="keras (download), mnist.npz/mnist10k.npz, or an IDX folder")
    p.add_argument("--scenes", type=int, default=train_lines.LineConfig.scenes, help="numbers filmed for training")
    p.add_argument("--val-scenes", type=int, default=train_lines.LineConfig.val_scenes)
    p.add_argument("--epochs", type=int, default=train_lines.LineConfig.epochs)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--arch",
        choices=sorted(train_lines.LINE_ARCHS),
        default=train_lines.LineConfig.arch,
        help="network (v1: shipped)",
    )
    p.add_argument("--val-per-class", type=int, default=VAL_PER_CLASS, help="held-out digits per class (50)")
    p.add_argument("--out", type=Path, default=catalog.shipped_dir(), help="folder for lines.* (default: models/)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = train_lines.LineConfig(args.scenes, args.val_scenes, args.epochs, seed=args.seed, arch=args.arch)
    data = datasets.load_mnist(args.mnist)
    (x, y), (x_val, y_val) = datasets.split_train_val(data["x_train"], data["y_train"], args.val_per_class)
    t0 = time.time()
    train = augment.filmed_lines(x, y, config.scenes, seed=config.seed)
    val = augment.filmed_lines(x_val, y_val, config.val_scenes, seed=config.seed + 1)
    print(f"filmed {len(train[0])} training and {len(val[0])} validation lines in {time.time() - t0:.0f} s")
    model, info = train_lines.fit(config, train, val)
    command = "python scripts/train_lines.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    meta = {
        "training": {**asdict(config), **info, "lines": len(train[0]), "images": len(x), "data": str(args.mnist)},
        "command": command,
    }
    path = train_lines.save_line_reader(model, args.out, meta)
    print(f"validation numbers read exactly: {100 * info['val_exact']:.2f}% (epoch {info['best_epoch']}); wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main("train_lines.py", main))  # bad input: one line, no traceback

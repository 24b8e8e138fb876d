"""Measure the shipped models on the MNIST test set (never used for training or tuning).

    python scripts/evaluate.py --mnist ../shared/datasets/mnist/mnist.npz [--update-metadata]

Prints, per model: test accuracy through the live normalisation (the number we quote),
accuracy on the raw MNIST images for reference, and whether the LiteRT fast path gives
the Keras model's answers (argmax on every image, largest probability difference).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time

import numpy as np

from live_digits import catalog, datasets, evaluate, model
from live_digits.signals import run_main


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", default=datasets.KERAS, help="keras (download), mnist.npz, or an IDX folder")
    p.add_argument("--models", nargs="+", default=list(catalog.SHIPPED), help="names or paths (default: dense cnn)")
    p.add_argument("--update-metadata", action="store_true", help="write the measured accuracy into NAME.json")
    args = p.parse_args(argv)
    data = datasets.load_mnist(args.mnist)
    x, y = data["x_test"], data["y_test"]
    t0 = time.time()
    inputs = datasets.mnist_to_inputs(x)
    print(f"{len(y)} test images normalised in {time.time() - t0:.1f} s")
    print(f"{'model':8} {'live-normalised':>15} {'raw MNIST':>10} {'argmax equal':>13} {'max |dp|':>10}")
    for name in args.models:
        fast, ref = model.load(name), model.load(name, runtime="keras")
        p_fast = np.concatenate([fast.predict(inputs[i : i + 5]) for i in range(0, len(inputs), 5)])
        p_ref = ref.predict(inputs)
        acc = evaluate.accuracy(p_fast, y)
        raw = evaluate.accuracy(fast.predict(x.astype(np.float32) / 255.0), y)
        equal = int(np.sum(p_fast.argmax(1) == p_ref.argmax(1)))
        diff = float(np.abs(p_fast - p_ref).max())
        print(f"{name:8} {100 * acc:14.2f}% {100 * raw:9.2f}% {equal:>7}/{len(y):<5} {diff:10.2e}")
        if args.update_metadata:
            path = catalog.resolve(name)
            meta = json.loads(path.read_text())
            meta["mnist_test"] = {
                "accuracy": round(acc, 5),
                "images": int(len(y)),
                "raw_mnist_accuracy": round(raw, 5),
                "command": "python scripts/evaluate.py " + shlex.join(sys.argv[1:] if argv is None else argv),
            }
            path.write_text(json.dumps(meta, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main("evaluate.py", main))  # bad input: one line, no traceback

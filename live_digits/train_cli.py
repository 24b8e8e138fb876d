"""`live-digits-train`: train the shipped models from MNIST, or fine-tune on your samples."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from pathlib import Path

from live_digits import datasets
from live_digits.errors import UserError

log = logging.getLogger("live_digits.train")

DEFAULTS = {  # per architecture: augmented copies of each training image, epochs
    "dense": {"copies": 20, "epochs": 30},
    "cnn": {"copies": 20, "epochs": 20},
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="live-digits-train",
        description="Train the dense and CNN digit models on MNIST with camera-style augmentation.",
    )
    p.add_argument(
        "--mnist",
        default=datasets.KERAS,
        help="'keras' (download the full MNIST, default), an mnist.npz in keras's layout, or a folder of IDX files",
    )
    p.add_argument("--arch", choices=("dense", "cnn", "both"), default="both", help="which model(s) to train")
    p.add_argument("--out", type=Path, default=Path("models"), help="folder to write NAME.keras/.tflite/.json into")
    p.add_argument("--epochs", type=int, help="override the default number of epochs")
    p.add_argument("--copies", type=int, help="augmented copies per training image (default per architecture)")
    p.add_argument("--val-per-class", type=int, default=50, help="training images per digit held out for validation")
    p.add_argument("--seed", type=int, default=0)
    return p


def train_main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return _train(args, argv if argv is not None else sys.argv[1:])
    except UserError as err:
        print(f"live-digits-train: error: {err}", file=sys.stderr)
        return err.exit_code


def _train(args, argv: list[str]) -> int:
    from live_digits import evaluate, train

    data = datasets.load_mnist(args.mnist)
    if "x_train" not in data:
        raise UserError(f"{args.mnist} has no training images", "point --mnist at data with x_train/y_train")
    (xtr, ytr), (xval, yval) = datasets.split_train_val(data["x_train"], data["y_train"], args.val_per_class, args.seed)
    command = "live-digits-train " + shlex.join(argv)
    for kind in ("dense", "cnn") if args.arch == "both" else (args.arch,):
        epochs = args.epochs or DEFAULTS[kind]["epochs"]
        copies = args.copies if args.copies is not None else DEFAULTS[kind]["copies"]
        t0 = time.time()
        model, info = train.train(kind, xtr, ytr, xval, yval, epochs=epochs, copies=copies, seed=args.seed)
        meta = {
            "name": kind,
            "architecture": kind,
            "layers": [layer.__class__.__name__ for layer in model.layers],
            "parameters": int(model.count_params()),
            "input": evaluate.INPUT_CONTRACT,
            "files": {"keras": f"{kind}.keras", "tflite": f"{kind}.tflite"},
            "training": {
                "data": str(args.mnist),
                "train_images": int(len(xtr)),
                "validation_images": int(len(xval)),
                "augmented_copies": copies,
                "epochs": epochs,
                "best_epoch": info["best_epoch"],
                "validation_accuracy": round(info["val_accuracy"], 5),
                "seconds": round(time.time() - t0),
                "seed": args.seed,
                "command": command,
            },
        }
        if "x_test" in data:
            acc = evaluate.accuracy(model.predict(datasets.mnist_to_inputs(data["x_test"]), verbose=0), data["y_test"])
            meta["mnist_test"] = {"accuracy": round(acc, 5), "images": int(len(data["y_test"]))}
            log.info("%s: MNIST test accuracy %.2f%%", kind, 100 * acc)
        path = train.save_model(model, args.out, kind, meta)
        log.info("%s: wrote %s (validation accuracy %.2f%%)", kind, path, 100 * info["val_accuracy"])
    return 0


if __name__ == "__main__":
    raise SystemExit(train_main())

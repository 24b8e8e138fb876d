"""`live-digits-train`: train the shipped models from MNIST, or fine-tune on your samples."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import re
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from live_digits import native, paths, signals
from live_digits.cli import OneLineParser, check_writable_dir, fraction, int_range
from live_digits.errors import UserError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("live_digits.train")

OVERRIDES = ("epochs", "copies", "filmed", "filmed_numbers", "not_digits", "styles", "members", "seed")
MAX_SEED = 2**32 - 1  # keras.utils.set_random_seed's limit
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _share(text: str) -> float:
    """A share strictly between 0 and 1, like --holdout 0.25."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text}")
    return value


def _model_name(text: str) -> str:
    """A file name stem: NAME.keras, NAME.tflite and NAME.json go into --out, nowhere else."""
    if not NAME_PATTERN.fullmatch(text) or text.endswith(".json"):
        raise argparse.ArgumentTypeError(f"expected letters, digits, '_', '-' or '.', got {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    # numpy's and OpenCV's native imports, cut by a Ctrl-C, fail with a traceback or lose it.
    with signals.deferred():
        import numpy.random  # noqa: F401  numpy imports it on first use: the hold-out's draw, outside this

        from live_digits import datasets

    p = OneLineParser(
        prog="live-digits-train",
        description="Train the dense and CNN digit models on MNIST with camera-style augmentation.",
    )
    p.add_argument(
        "--mnist",
        default=datasets.KERAS,
        help="'keras' (download the full MNIST, default), an mnist.npz in keras's layout, or a folder of IDX files",
    )
    p.add_argument("--arch", choices=("dense", "cnn", "both"), default="both", help="which model(s) to train")
    p.add_argument(
        "--out",
        type=Path,
        help="folder to write NAME.keras/.tflite/.json into (default: your models folder; live-digits --list-models)",
    )
    p.add_argument("--epochs", type=int_range(1, 10_000), help="override the default number of epochs")
    p.add_argument(
        "--copies", type=int_range(0, 1000), help="augmented copies per training image (default per architecture)"
    )
    p.add_argument(
        "--filmed",
        type=int_range(0, 1000),
        help="copies per training image filmed by the rendered webcam and read by the live path (cnn: 8)",
    )
    p.add_argument(
        "--filmed-numbers",
        type=int_range(0, 1000),
        help="more filmed copies, written as the digits of 2-4 digit numbers and read in number mode (default 0)",
    )
    p.add_argument(
        "--not-digits",
        type=fraction,
        help="inputs of no single digit (part of one, two touching), as a share of the digit inputs (cnn: 0.1)",
    )
    p.add_argument(
        "--styles",
        type=int_range(0, 100000),
        help="digits added per style MNIST rarely has: flagged 1, crossed 7, open 4 (cnn: 150)",
    )
    p.add_argument(
        "--members",
        type=int_range(1, 10),
        help="networks trained from different seeds and averaged (default 1)",
    )
    p.add_argument(
        "--val-per-class",
        type=int_range(0, 1000),
        default=datasets.HOLDOUT_PER_CLASS,
        help="training images per digit held out to pick each network's best epoch (0: train on all, keep the last)",
    )
    p.add_argument("--seed", type=int_range(0, MAX_SEED), default=0)
    tune = p.add_argument_group("fine-tuning on your own handwriting")
    tune.add_argument(
        "--samples", type=Path, help="fine-tune on the samples the window saved (keys 0-9) in this folder"
    )
    tune.add_argument("--base", default="cnn", help="model to start from: cnn (default), another name or a path")
    tune.add_argument(
        "--name", type=_model_name, default="finetuned", help="name of the fine-tuned model files (default: finetuned)"
    )
    tune.add_argument("--holdout", type=_share, default=0.25, help="share of each digit's samples held out (0.25)")
    return p


def train_main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's INFO and WARNING lines about itself

    def body() -> int:
        args = build_parser().parse_args(argv)
        if importlib.util.find_spec("tensorflow") is None:
            raise UserError("training needs TensorFlow, which is not installed", "pip install 'live-digits[train]'")
        dirs = paths.user_dirs(os.environ)
        args.out = args.out or dirs.models  # never the installed package's models
        check_writable_dir(args.out, "output folder", "--out")  # before the training, not after it
        args.user_models = dirs.models
        return _train(args, argv if argv is not None else sys.argv[1:])

    return signals.run_main("live-digits-train", body, " (models already written stay whole)")


def refuse_shipped_out(out: Path) -> None:
    """Before any slow step: training must never replace the shipped models (they are the package's)."""
    from live_digits import catalog

    if out.resolve() == catalog.shipped_dir().resolve():
        raise UserError(
            f"--out {out} is the shipped models' folder",
            "drop --out (your models folder is the default) or choose another folder",
        )


def check_val_per_class(y: np.ndarray, val_per_class: int) -> None:
    """Each digit present must keep at least one training image after the hold-out."""
    import numpy as np

    from live_digits import datasets

    total = np.bincount(y, minlength=10)
    held = np.minimum(np.bincount(y[: datasets.HOLDOUT_POOL], minlength=10), val_per_class)
    for digit in np.flatnonzero((total > 0) & (total == held)):
        raise UserError(
            f"--val-per-class {val_per_class} would hold out every training image of digit {digit} ({total[digit]})",
            f"use --val-per-class {total[digit] - 1} or less, or more data",
        )


def _train(args, argv: list[str]) -> int:
    from live_digits import datasets, evaluate, train

    if args.samples is not None:
        return _fine_tune(args, argv)
    refuse_shipped_out(args.out)
    data = datasets.load_mnist(args.mnist)
    if "x_train" not in data:
        raise UserError(f"{args.mnist} has no training images", "point --mnist at data with x_train/y_train")
    check_val_per_class(data["y_train"], args.val_per_class)
    native.import_keras()
    (xtr, ytr), (xval, yval) = datasets.split_train_val(data["x_train"], data["y_train"], args.val_per_class)
    command = "live-digits-train " + shlex.join(argv)
    for kind in ("dense", "cnn") if args.arch == "both" else (args.arch,):
        config = train.TrainConfig.preset(
            kind, **{k: getattr(args, k) for k in OVERRIDES if getattr(args, k) is not None}
        )
        t0 = time.time()
        net, info = train.train(config, xtr, ytr, xval, yval)
        meta = model_metadata(config, net, info)
        meta["training"].update(
            data=str(args.mnist),
            train_images=int(len(xtr)),
            validation_images=int(len(xval)),
            seconds=round(time.time() - t0),
            seed=args.seed,
            command=command,
        )
        if "x_test" in data:
            acc = evaluate.accuracy(net.predict(datasets.mnist_to_inputs(data["x_test"]), verbose=0), data["y_test"])
            meta["mnist_test"] = {"accuracy": round(acc, 5), "images": int(len(data["y_test"]))}
            log.info("%s: MNIST test accuracy %.2f%%", kind, 100 * acc)
        path = save(net, args.out, kind, meta)
        val = info["val_accuracy"]
        log.info("%s: wrote %s (%s)", kind, path, "no validation" if val is None else f"validation {100 * val:.2f}%")
    return 0


def save(net, out: Path, name: str, meta: dict) -> Path:
    """`train.save_model`, with a full disk as one line: the previous model files stay as they were."""
    from live_digits import train

    try:
        return train.save_model(net, out, name, meta)
    except OSError as exc:
        raise UserError(f"cannot write model {name} to {out} ({exc.strerror or exc})", "free space, or --out") from exc


def model_metadata(config, net, info: dict) -> dict:
    """The JSON written beside a trained model: what it is, what it expects, how it was trained."""
    from live_digits.model import INPUT_CONTRACT

    kind, members = config.arch, config.members
    one = net.get_layer("member_0") if members > 1 else net
    training = {
        "augmented_copies": config.copies,
        "filmed_copies": config.filmed,
        "filmed_number_copies": config.filmed_numbers,
        "not_digit_share": config.not_digits,
        "style_digits_per_style": config.styles,
        "epochs": config.epochs,
        "best_epoch": info["best_epoch"],
        "validation_accuracy": _rounded(info["val_accuracy"]),
    }
    if members > 1:
        training["member_validation_accuracy"] = [_rounded(m["val_accuracy"]) for m in info["members"]]
    return {
        "name": kind,
        "architecture": kind,
        "members": members,
        "layers": [layer.__class__.__name__ for layer in one.layers],
        "parameters": int(net.count_params()),
        "input": INPUT_CONTRACT,
        "classes": config.classes,
        "files": {"keras": f"{kind}.keras", "tflite": f"{kind}.tflite"},
        "training": training,
    }


def _rounded(accuracy: float | None) -> float | None:
    return None if accuracy is None else round(accuracy, 5)


def _fine_tune(args, argv: list[str]) -> int:
    """Fine-tune --base on --samples mixed with MNIST; report held-out accuracy before/after."""
    from live_digits import catalog, datasets, evaluate, finetune, model

    samples = finetune.load_samples(args.samples)  # refuse bad folders before the slow imports
    refuse_shipped_out(args.out)
    with signals.deferred():  # LiteRT's native import, like TensorFlow's (native.import_keras)
        base = model.load(args.base, args.user_models)
    native.import_keras()
    meta_path = catalog.resolve(args.base, args.user_models)
    base_net = finetune.load_base(model.files_of(meta_path, base.metadata)[1])
    fit, held = finetune.split_samples(samples, args.holdout, args.seed)
    data = datasets.load_mnist(args.mnist)
    if "x_train" not in data:
        raise UserError(f"{args.mnist} has no training images to mix in", "point --mnist at data with x_train")
    before = finetune.accuracy_on(base.predict, held)
    log.info(
        "%d samples (%d held out); held-out accuracy of %s before: %.1f%%",
        len(samples.labels),
        len(held.labels),
        args.base,
        100 * before,
    )
    t0 = time.time()
    tuned = finetune.fine_tune(
        base_net, fit, data["x_train"], data["y_train"], epochs=args.epochs or 6, seed=args.seed, verbose=1
    )
    after = finetune.accuracy_on(lambda x: tuned.predict(x, verbose=0), held)
    meta = dict(base.metadata)
    meta.update(
        name=args.name,
        files={"keras": f"{args.name}.keras", "tflite": f"{args.name}.tflite"},
        fine_tuning={
            "base": str(args.base),
            "samples": int(len(samples.labels)),
            "held_out": int(len(held.labels)),
            "held_out_accuracy_before": round(before, 4),
            "held_out_accuracy_after": round(after, 4),
            "mnist_mixed_from": str(args.mnist),
            "seconds": round(time.time() - t0),
            "command": "live-digits-train " + shlex.join(argv),
        },
    )
    if "x_test" in data:
        inputs = datasets.mnist_to_inputs(data["x_test"])
        acc_before = evaluate.accuracy(base.predict(inputs), data["y_test"])
        acc_after = evaluate.accuracy(tuned.predict(inputs, verbose=0), data["y_test"])
        meta["fine_tuning"]["mnist_test_accuracy_before"] = round(acc_before, 5)
        meta["mnist_test"] = {"accuracy": round(acc_after, 5), "images": int(len(data["y_test"]))}
        log.info("MNIST test accuracy: %.2f%% before, %.2f%% after", 100 * acc_before, 100 * acc_after)
    path = save(tuned, args.out, args.name, meta)
    log.info("held-out accuracy on your samples: %.1f%% before, %.1f%% after", 100 * before, 100 * after)
    by_name = path.parent.resolve() == args.user_models.resolve()
    log.info("wrote %s; use it with: live-digits --model %s", path, args.name if by_name else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(train_main())

"""MNIST from keras's download, an npz file in keras's layout, or LeCun's IDX files.

All loaders return uint8 images (N, 28, 28), white ink on black, and uint8 labels (N,).
The images are raw MNIST; `mnist_to_inputs` turns them into model inputs through the
same normalisation the live loop applies to camera crops.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from pathlib import Path

import cv2
import numpy as np

from live_digits import native, preprocess
from live_digits.errors import UserError

log = logging.getLogger(__name__)

KERAS = "keras"  # the `source` that means keras's own download of the full MNIST
UPSCALE = 4  # MNIST 28x28 -> 112x112 before thresholding: a crop-like resolution


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file of uint8 values (LeCun's MNIST format, optionally gzipped) as an array."""
    opener = gzip.open if path.suffix == ".gz" else open
    hint = "use LeCun's *-idx?-ubyte(.gz) files"
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise UserError(f"cannot read {path} ({exc.__class__.__name__}: {exc})", hint) from exc
    ndim = data[3] if len(data) >= 4 else 0
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08 or not 1 <= ndim <= 3:
        raise UserError(f"{path} is not an IDX file of uint8 values", hint)
    if len(data) < 4 + 4 * ndim:
        raise UserError(f"{path} is truncated", hint)
    dims = np.frombuffer(data, ">u4", count=ndim, offset=4).astype(np.int64)
    if 4 + 4 * ndim + int(np.prod(dims)) != len(data):
        raise UserError(f"{path} holds {len(data) - 4 - 4 * ndim} values, its header says {np.prod(dims)}", hint)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _find_idx(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).exists():
            return folder / name
    return None


def _load_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = _find_idx(folder, f"{prefix}-images-idx3-ubyte")
        labels = _find_idx(folder, f"{prefix}-labels-idx1-ubyte")
        if images and labels:
            out[f"x_{split}"], out[f"y_{split}"] = _read_idx(images), _read_idx(labels)
    return out


def load_mnist(source: str | Path = KERAS) -> dict[str, np.ndarray]:
    """Load MNIST as a dict with x_train/y_train and/or x_test/y_test.

    `source` is "keras" (keras's own download, cached in ~/.keras), an .npz file in
    keras's mnist.npz layout, or a folder holding an mnist.npz or the IDX files.
    """
    if str(source) == KERAS:
        try:
            native.import_keras()
        except ImportError as exc:
            raise UserError(
                "downloading MNIST needs keras, which is not installed", "pip install 'live-digits[train]'"
            ) from exc
        import keras

        try:
            (xtr, ytr), (xte, yte) = keras.datasets.mnist.load_data()
        except Exception as exc:  # no internet, proxy, ...
            raise UserError(
                f"could not download MNIST through keras ({type(exc).__name__})",
                "pass --mnist PATH to a local mnist.npz or a folder of IDX files",
            ) from exc
        return check_mnist({"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}, "keras's MNIST")
    path = Path(source)
    if path.is_dir():
        data = _load_idx_folder(path)
        if not data and (path / "mnist.npz").exists():
            path = path / "mnist.npz"
        elif not data:
            raise UserError(f"no MNIST files in {path}", "expected mnist.npz or *-idx?-ubyte(.gz) files")
        else:
            return check_mnist(data, str(path))
    if not path.exists():
        raise UserError(f"MNIST file not found: {path}", "pass --mnist PATH to mnist.npz or an IDX folder")
    try:
        with np.load(path) as npz:
            data = {k: npz[k] for k in npz.files if k in ("x_train", "y_train", "x_test", "y_test")}
    except Exception as exc:
        raise UserError(f"cannot read {path} as an npz file ({exc})", "expected keras's mnist.npz layout") from exc
    if not data:
        raise UserError(f"{path} holds none of x_train/y_train/x_test/y_test", "expected keras's mnist.npz layout")
    return check_mnist(data, str(path))


def check_mnist(data: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """Refuse data training would misuse: images must be uint8 (N, 28, 28) in 0-255, labels 0-9, one per image.

    Float images in [0, 1] would threshold to blank masks and train on nothing, silently.
    Integer images in 0-255 of a wider type are converted.
    """
    hint = "expected keras's mnist.npz layout: uint8 images (N, 28, 28) in 0-255 and labels 0-9"
    checked = {}
    for split in ("train", "test"):
        if f"x_{split}" not in data and f"y_{split}" not in data:
            continue
        if f"x_{split}" not in data or f"y_{split}" not in data:
            raise UserError(f"{source} has x_{split} or y_{split} but not both", hint)
        x, y = np.asarray(data[f"x_{split}"]), np.asarray(data[f"y_{split}"])
        if x.ndim != 3 or x.shape[1:] != (28, 28) or not len(x):
            raise UserError(f"{source}: x_{split} has shape {x.shape}, not (N, 28, 28)", hint)
        if not np.issubdtype(x.dtype, np.integer) or x.min() < 0 or x.max() > 255:
            raise UserError(f"{source}: x_{split} is {x.dtype} in [{x.min()}, {x.max()}], not uint8 0-255", hint)
        if y.shape != (len(x),):
            raise UserError(f"{source}: {len(x)} images in x_{split} but y_{split} has shape {y.shape}", hint)
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
            raise UserError(f"{source}: y_{split} is {y.dtype} in [{y.min()}, {y.max()}], not labels 0-9", hint)
        checked[f"x_{split}"], checked[f"y_{split}"] = x.astype(np.uint8, copy=False), y.astype(np.uint8, copy=False)
    return checked


HOLDOUT_PER_CLASS = 50  # training's default hold-out, and the digits render_clips --split train draws
HOLDOUT_SEED = 0  # fixed: the hold-out must not change with the training seed
# ... nor with the data file: it is drawn from the first 5,000 images, which mnist10k.npz
# shares with mnist.npz, so clips rendered from it stay unseen whichever file trains.
HOLDOUT_POOL = 5000


def split_train_val(x: np.ndarray, y: np.ndarray, val_per_class: int):
    """Stratified hold-out: `val_per_class` images of each digit go to validation.

    The same images whatever the training seed and data file (`HOLDOUT_POOL`): networks are
    compared on clips rendered from these digits (render_clips.py --split train), so none
    of them may have trained on them.
    """
    rng = np.random.default_rng(HOLDOUT_SEED)
    pool = y[:HOLDOUT_POOL]
    val = np.concatenate([rng.permutation(np.flatnonzero(pool == d))[:val_per_class] for d in range(10)])
    train = np.setdiff1d(np.arange(len(y)), val)
    return (x[train], y[train]), (x[val], y[val])


def image_to_mask(image: np.ndarray, level: float = 0.5, upscale: int = UPSCALE) -> np.ndarray:
    """A small grey digit (white ink) -> a crop-sized binary mask, as a camera would see it.

    Upscaling before thresholding gives smooth contours at crop resolution, so a
    training image reaches the normaliser in the same form a live crop does.
    """
    size = (image.shape[1] * upscale, image.shape[0] * upscale)
    big = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    pad = upscale * 4  # room around the digit so it never touches the box border
    big = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    return (big > level * 255).astype(np.uint8) * 255


def mask_to_input(mask: np.ndarray) -> np.ndarray:
    """Normalise a mask like a live crop; if it holds no acceptable digit, fit all its ink.

    Evaluation must answer for every image, and a training image always holds a digit.
    """
    image = preprocess.normalise_crop(mask)
    if image is None:
        ys, xs = np.nonzero(mask)
        if ys.size == 0:
            return np.zeros((preprocess.INPUT_SIZE,) * 2, np.float32)
        image = preprocess.normalise_patch(mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
    return image


def mnist_to_inputs(images: np.ndarray) -> np.ndarray:
    """Raw MNIST uint8 (N, 28, 28) -> model inputs float32 (N, 28, 28) via the live normalisation."""
    if len(images) == 0:
        return np.zeros((0, preprocess.INPUT_SIZE, preprocess.INPUT_SIZE), np.float32)
    return np.stack([mask_to_input(image_to_mask(img)) for img in images])

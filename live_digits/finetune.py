"""Fine-tune a shipped model on your own handwriting, mixed with MNIST so it does not forget.

Samples are what the window saves when you press a digit key: SAMPLES/<digit>/
sample-NNNN-input.png (the 28x28 model input; the matching -crop.png is ignored here).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from live_digits import augment, datasets, evaluate
from live_digits.errors import UserError
from live_digits.native import quiet_stderr

log = logging.getLogger(__name__)

MIN_SAMPLES = 20  # fewer cannot be split into training and a held-out check
MIN_PER_DIGIT = 2  # each digit present needs one for training and one held out


@dataclass
class Samples:
    images: np.ndarray  # uint8 (N, 28, 28), white ink on black
    labels: np.ndarray  # uint8 (N,)


def load_samples(folder: Path) -> Samples:
    """Read SAMPLES/<digit>/*-input.png; refuse unlabelled files and too few samples."""
    if not folder.is_dir():
        raise UserError(f"samples folder not found: {folder}", "press digit keys in the window to collect samples")
    images, labels, stray = [], [], []
    for path in sorted(folder.rglob("*")):
        if path.is_dir() or path.name.endswith("-crop.png") or path.name.startswith("."):
            continue  # hidden: a save's temporary file, or the desktop's own
        label = path.parent.name if path.parent != folder else None
        if label is None or not (len(label) == 1 and label.isdigit()) or path.suffix.lower() != ".png":
            stray.append(path)
            continue
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if img is None or img.shape != (28, 28):
            stray.append(path)
            continue
        images.append(img)
        labels.append(int(label))
    if stray:
        raise UserError(
            f"{len(stray)} unlabelled or unreadable file(s) in {folder}, e.g. {stray[0].relative_to(folder)}",
            "samples must be 28x28 PNGs in a folder named after their digit (0-9)",
        )
    counts = np.bincount(np.array(labels, dtype=np.int64), minlength=10)
    if len(labels) < MIN_SAMPLES or counts[counts > 0].min() < MIN_PER_DIGIT:
        raise UserError(
            f"too few samples in {folder}: {len(labels)} (need {MIN_SAMPLES}, and {MIN_PER_DIGIT} of each digit used)",
            "collect more with the digit keys in the window",
        )
    return Samples(np.stack(images), np.array(labels, np.uint8))


def split_samples(samples: Samples, fraction: float, seed: int) -> tuple[Samples, Samples]:
    """Hold out `fraction` of each digit's samples (at least one) for the before/after check."""
    rng = np.random.default_rng(seed)
    held = []
    for d in np.unique(samples.labels):
        idx = rng.permutation(np.flatnonzero(samples.labels == d))
        held.extend(idx[: max(1, int(round(fraction * len(idx))))])
    held = np.array(sorted(held))
    rest = np.setdiff1d(np.arange(len(samples.labels)), held)
    pick = lambda i: Samples(samples.images[i], samples.labels[i])  # noqa: E731
    return pick(rest), pick(held)


def sample_inputs(images: np.ndarray) -> np.ndarray:
    """Saved sample PNGs are already model inputs: just scale to [0, 1]."""
    return images.astype(np.float32) / 255.0


def load_base(path: Path):
    """The base model's Keras file, loaded before any slow step: fine-tuning continues its training."""
    if not path.exists():
        raise UserError(
            f"the base model has no Keras file {path}", "fine-tune from a model live-digits-train wrote, or restore it"
        )
    try:
        with quiet_stderr():  # TensorFlow's import prints about oneDNN and CUDA
            import keras

            return keras.models.load_model(path, compile=False)
    except Exception as exc:  # keras raises many types for a damaged zip
        raise UserError(
            f"base model file {path} is corrupt ({exc.__class__.__name__})", "retrain or restore it"
        ) from exc


def fine_tune(
    base,
    samples: Samples,
    mnist_x: np.ndarray,
    mnist_y: np.ndarray,
    epochs: int = 6,
    copies: int = 20,
    mnist_images: int = 3000,
    seed: int = 0,
    verbose: int = 1,
):
    """Continue training the base Keras model (`load_base`) on augmented samples mixed with MNIST.

    Personal samples are augmented `copies` times (the same camera-style augmentation as
    the shipped models), MNIST images are mixed in about one to one so the model keeps
    its general knowledge, and a low learning rate keeps the change gentle.
    """
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    # Dropout draws its seed when its layer is built, which for `base` was at load, before any
    # seeding: rebuilt layers make the run repeatable (the same seed, the same model).
    model = keras.models.clone_model(base)
    model.set_weights(base.get_weights())
    pick = rng.permutation(len(mnist_y))[:mnist_images]
    mx, my = mnist_x[pick], mnist_y[pick]
    mnist_copies = max(1, copies * len(samples.labels) // max(1, len(my)))  # about as many as the samples
    xs = np.concatenate(
        [
            sample_inputs(samples.images),
            augment.augmented_inputs(samples.images, copies, seed),
            datasets.mnist_to_inputs(mx),
            augment.augmented_inputs(mx, mnist_copies, seed + 1),
        ]
    )
    ys = np.concatenate([np.tile(samples.labels, copies + 1), my, np.tile(my, mnist_copies)]).astype(np.int64)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    model.fit(xs, ys, batch_size=64, epochs=epochs, shuffle=True, verbose=verbose)
    return model


def accuracy_on(model_predict, samples: Samples) -> float:
    return evaluate.accuracy(model_predict(sample_inputs(samples.images)), samples.labels)

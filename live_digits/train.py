"""Model definitions, camera-style augmentation, training and export.

Training images take the live path: MNIST digit -> (augmented) binary mask at crop
resolution -> `preprocess` normalisation -> model. Augmentation models what a camera
and a pen do to a digit *before* thresholding (shape: rotation, shear, aspect, elastic
wobble; pen: stroke thickness; camera and threshold: blur, ragged edges, holes, specks),
so the model learns the live crops' distribution, not only MNIST's. Filmed copies go
the whole way: the digit written on rendered paper, filmed by the rendered webcam
(`synth`) and read by the live path itself (`preprocess.read_box`).
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import multiprocessing
import os
import time
from pathlib import Path

import cv2
import numpy as np

from live_digits import datasets, preprocess, synth

log = logging.getLogger(__name__)

ARCHITECTURES = ("dense", "cnn")


def build_model(kind: str):
    """The two shipped architectures; inputs float32 (N, 28, 28) in [0, 1], softmax out."""
    import keras
    from keras import layers

    inputs = keras.Input((preprocess.INPUT_SIZE, preprocess.INPUT_SIZE), name="digit")
    if kind == "dense":  # the classic Flatten-128-128-10
        x = layers.Flatten()(inputs)
        x = layers.Dense(128, activation="relu")(x)
        x = layers.Dropout(0.1)(x)
        x = layers.Dense(128, activation="relu")(x)
    elif kind == "cnn":  # LeNet-like: small enough for ~0.1 ms per digit on one CPU core
        x = layers.Reshape((preprocess.INPUT_SIZE, preprocess.INPUT_SIZE, 1))(inputs)
        x = layers.Conv2D(32, 5, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Conv2D(64, 5, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Flatten()(x)
        x = layers.Dropout(0.4)(x)
        x = layers.Dense(128, activation="relu")(x)
        x = layers.Dropout(0.4)(x)
    else:
        raise ValueError(f"unknown architecture {kind!r}; choose from {ARCHITECTURES}")
    outputs = layers.Dense(10, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=f"live_digits_{kind}")


# ----------------------------------------------------------------------------- augmentation


def _elastic_maps(rng: np.random.Generator, size: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random displacement fields (pixels), as in Simard et al.'s elastic distortion."""
    coarse = rng.uniform(-1, 1, (2, 5, 5)).astype(np.float32)
    dx, dy = (cv2.resize(c, (size, size), interpolation=cv2.INTER_CUBIC) * alpha for c in coarse)
    grid = np.arange(size, dtype=np.float32)
    return grid[None, :] + dx, grid[:, None] + dy


def augment_mask(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One raw MNIST digit (uint8 28x28) -> a randomly distorted binary mask at crop scale."""
    up = datasets.UPSCALE
    size = image.shape[0] * up
    big = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    pad = up * 6
    big = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    n = big.shape[0]
    c = n / 2
    angle = rng.normal(0, 7)
    shear = rng.normal(0, 0.15)
    aspect = np.exp(rng.normal(0, 0.12))
    a = cv2.getRotationMatrix2D((c, c), angle, 1.0)
    s = np.array([[aspect, shear, 0], [0, 1 / aspect, 0]], np.float64)
    m = a[:, :2] @ s[:, :2]
    offset = np.array([c, c]) - m @ np.array([c, c])
    warp = np.hstack([m, offset[:, None]])
    big = cv2.warpAffine(big, warp, (n, n), flags=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        mx, my = _elastic_maps(rng, n, alpha=rng.uniform(2, 6))
        big = cv2.remap(big, mx, my, cv2.INTER_LINEAR)
    if rng.random() < 0.3:  # camera blur before the threshold: rounder, thicker or thinner
        big = cv2.GaussianBlur(big, (0, 0), rng.uniform(1, 3))
    if rng.random() < 0.25:  # sensor noise before the threshold: ragged edges
        big = np.clip(big + rng.normal(0, 25, big.shape), 0, 255).astype(np.uint8)
    level = rng.uniform(0.2, 0.75)  # threshold choice changes the stroke width
    mask = (big > level * 255).astype(np.uint8) * 255
    r = rng.random()
    if r < 0.2:  # thick marker
        k = int(rng.integers(2, 6)) * 2 + 1
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    elif r < 0.35:  # fine pen
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    if rng.random() < 0.2 and r >= 0.35:  # threshold artefacts: holes in strokes, specks around
        holes = rng.random(mask.shape) < rng.uniform(0.01, 0.04)
        mask[holes] = 0
        specks = rng.random(mask.shape) < 0.0005
        mask[specks] = 255
    return mask


def augmented_inputs(x: np.ndarray, copies: int, seed: int) -> np.ndarray:
    """`copies` augmented model inputs per image: float32 (copies * N, 28, 28)."""
    rng = np.random.default_rng(seed)
    out = np.empty((copies * len(x), preprocess.INPUT_SIZE, preprocess.INPUT_SIZE), np.float32)
    for k in range(copies):
        for i, img in enumerate(x):
            out[k * len(x) + i] = datasets.mask_to_input(augment_mask(img, rng))
    return out


def filmed_inputs(
    x: np.ndarray, copies: int, seed: int, workers: int | None = None, numbers: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """`copies` model inputs per image, each filmed by the rendered webcam and read by the live path.

    Mask augmentation stops at the threshold; this goes the whole way: the digit's pen path
    redrawn with a random pen on rendered paper (ink, ruling, light, blur, noise, shake, JPEG,
    as `synth.random_conditions` draws them), then `preprocess.read_box`, the live loop's own
    threshold, line removal, segmentation and normalisation. What the model learns is then
    exactly what the live loop feeds it. `numbers` more copies film the images as the digits
    of 2-4 digit numbers read in number mode, whose crops differ (hysteresis, the wider box,
    neighbours); a number whose digit count is misread is left out. Returns (inputs float32
    (M, 28, 28), index of each input's source image): a digit the live path loses (too faint
    to find) is left out. Rendering costs ~12 ms per input, so the copies are shared among
    `workers` processes.
    """
    streams = np.random.SeedSequence(seed).spawn(copies + numbers)
    tasks = [(x, stream, k >= copies) for k, stream in enumerate(streams)]
    workers = min(len(tasks), workers or os.cpu_count() or 1)
    if tasks:
        log.info("filming %d + %d (as numbers) copies of %d digits on %d process(es)", copies, numbers, len(x), workers)
    if workers <= 1:
        parts = [_film_copy(task) for task in tasks]
    else:  # spawn, not fork: the parent may already run TensorFlow's threads
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            parts = list(pool.map(_film_copy, tasks))
    empty = np.zeros((0, preprocess.INPUT_SIZE, preprocess.INPUT_SIZE), np.float32)
    inputs = np.concatenate([empty] + [images for images, _ in parts])
    return inputs, np.concatenate([np.zeros(0, np.int64)] + [index for _, index in parts])


FILM_FRAME = (240, 240)  # the 200x200 box with room around it for shake and light falloff
FILM_NUMBER_FRAME = (440, 240)  # ... and the 400x200 number box


def _film_copy(task: tuple[np.ndarray, np.random.SeedSequence, bool]) -> tuple[np.ndarray, np.ndarray]:
    """One filmed copy of every image in x (a worker process's share of `filmed_inputs`)."""
    x, stream, as_numbers = task
    cv2.setNumThreads(1)  # one process per core already
    rng = np.random.default_rng(stream)
    box, frame_size = (preprocess.NUMBER_BOX, FILM_NUMBER_FRAME) if as_numbers else (preprocess.DEFAULT_BOX, FILM_FRAME)
    images, index = [], []
    for group in _number_groups(len(x), rng) if as_numbers else ([i] for i in range(len(x))):
        cond = synth.random_conditions(rng, desk_side="none", desk_frac=0.0)  # no desk in a small frame
        frame = synth.render_frames([x[i] for i in group], cond, 1, rng, frame_size, box)[0]
        digits = preprocess.read_box(frame, box, multi=as_numbers)[3]
        if len(digits) != len(group):  # a digit lost, or a number's digits miscounted: which is which?
            continue
        for i, digit in zip(group, digits, strict=True):
            images.append(digit.image)
            index.append(i)
    shape = (len(images), preprocess.INPUT_SIZE, preprocess.INPUT_SIZE)
    return np.asarray(images, np.float32).reshape(shape), np.asarray(index, np.int64)


def _number_groups(n: int, rng: np.random.Generator) -> list[list[int]]:
    """All n image indices shuffled and cut into numbers of 2-4 digits."""
    order = rng.permutation(n).tolist()
    groups = []
    while order:
        size = int(rng.integers(2, 5))
        groups.append(order[:size])
        order = order[size:]
    return groups


# ----------------------------------------------------------------------------- training


def train(
    kind: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    epochs: int,
    copies: int,
    filmed: int = 0,
    seed: int = 0,
    filmed_numbers: int = 0,
    members: int = 1,
    batch_size: int = 128,
    verbose: int = 2,
):
    """Train one architecture on raw MNIST-style images; returns (model, info dict).

    Each image is used as is, in `copies` mask-augmented versions, in `filmed` versions
    filmed by the rendered webcam and in `filmed_numbers` filmed as digits of numbers
    (`filmed_inputs`).

    With `members` > 1, that many networks are trained with seeds seed, seed + 1, ...
    (different initialisation and augmentation) and averaged into one model. Each keeps
    its epoch with the best validation accuracy (validation images come from the
    training set; the test set is never looked at here). With no validation images,
    every image is trained on and each network keeps its last epoch (the learning rate
    has decayed by then): the final fit once the recipe has been validated.
    """
    xv = datasets.mnist_to_inputs(x_val)
    nets, infos = [], []
    for k in range(members):
        net, info = _train_one(
            kind, x_train, y_train, xv, y_val, epochs, copies, filmed, filmed_numbers, seed + k, batch_size, verbose
        )
        nets.append(net)
        infos.append(info)
    if members == 1:
        return nets[0], infos[0]
    combined = ensemble(nets)
    val_accuracy = None
    if len(y_val):
        val_accuracy = float(np.mean(np.argmax(combined.predict(xv, verbose=0), axis=1) == y_val))
        log.info("%d-member ensemble: validation accuracy %.2f%%", members, 100 * val_accuracy)
    return combined, {"val_accuracy": val_accuracy, "members": infos, "best_epoch": [i["best_epoch"] for i in infos]}


def _train_one(kind, x_train, y_train, xv, y_val, epochs, copies, filmed, filmed_numbers, seed, batch_size, verbose):
    import keras

    keras.utils.set_random_seed(seed)
    t0 = time.time()
    clean = datasets.mnist_to_inputs(x_train)
    aug = augmented_inputs(x_train, copies, seed)
    film, source = filmed_inputs(x_train, filmed, seed, numbers=filmed_numbers)
    xs = np.concatenate([clean, aug, film])
    ys = np.concatenate([y_train] * (copies + 1) + [y_train[source]]).astype(np.int64)
    log.info("prepared %d training inputs in %.0f s", len(xs), time.time() - t0)
    model = build_model(kind)
    steps = epochs * int(np.ceil(len(xs) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, steps, alpha=0.02)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    validated = len(y_val) > 0  # else the final fit on every image: keep the last epoch
    best = _best_weights_callback()
    history = model.fit(
        xs,
        ys,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(xv, y_val.astype(np.int64)) if validated else None,
        callbacks=[best] if validated else [],
        verbose=verbose,
    )
    if not validated:
        return model, {"val_accuracy": None, "best_epoch": epochs, "history": history.history}
    model.set_weights(best.weights)
    return model, {"val_accuracy": best.best, "best_epoch": best.epoch, "history": history.history}


def ensemble(members: list):
    """One model averaging the members' probabilities: one file, one interpreter call.

    Members trained from different seeds make different mistakes; averaging them fixes
    some of each. On the held-out webcam clips two CNNs read no better than one (README,
    "One network, not two"), so the default is one network: this is for experiments.
    """
    import keras

    inputs = keras.Input(tuple(members[0].inputs[0].shape[1:]), name="digit")
    outputs = []
    for k, member in enumerate(members):
        member.name = f"member_{k}"  # nested models need distinct names
        outputs.append(member(inputs))
    return keras.Model(inputs, keras.layers.Average(name="probs")(outputs), name="live_digits_ensemble")


def _best_weights_callback():
    """A callback keeping (in memory) the weights of the epoch with the best validation accuracy.

    Unlike keras's ModelCheckpoint, a tie goes to the later epoch: with a small validation
    set ties are common, and the later epoch has seen more data at a lower learning rate.
    """
    import keras

    class BestWeights(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best, self.epoch, self.weights = -1.0, -1, None

        def on_epoch_end(self, epoch, logs=None):
            acc = (logs or {}).get("val_accuracy", -1.0)
            if acc >= self.best:
                self.best, self.epoch, self.weights = float(acc), epoch + 1, self.model.get_weights()

    return BestWeights()


# ----------------------------------------------------------------------------- export


def export_tflite(model, path: Path) -> None:
    """Write the fast-path model: a TFLite flatbuffer with a dynamic batch dimension."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    path.write_bytes(converter.convert())


def save_model(model, out_dir: Path, name: str, metadata: dict) -> Path:
    """Write NAME.keras (source of truth), NAME.tflite (fast path) and NAME.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / f"{name}.keras")
    export_tflite(model, out_dir / f"{name}.tflite")
    meta_path = out_dir / f"{name}.json"
    meta_path.write_text(json.dumps(metadata, indent=2) + "\n")
    return meta_path

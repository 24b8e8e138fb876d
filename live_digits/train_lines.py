"""Training number mode's line reader (`sequence`): a small CNN over the line image whose
columns become a sequence, trained with CTC on numbers filmed by the rendered webcam.

Needs the [train] extra (TensorFlow). scripts/train_lines.py drives it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live_digits import files, sequence
from live_digits.catalog import LINE_READER

log = logging.getLogger(__name__)


# build_line_model's architectures: conv filters per block, 1-D conv filters, their dilations
LINE_ARCHS = {"v1": ((32, 48, 64, 96), 128, (1, 1)), "v2": ((48, 64, 96, 128), 160, (1, 2, 4))}


@dataclass(frozen=True)
class LineConfig:
    scenes: int = 12000  # numbers filmed for training (each gives up to 3 frames)
    val_scenes: int = 400  # ... and for choosing the epoch, from the held-out digits
    epochs: int = 20
    batch: int = 64
    seed: int = 0
    arch: str = "v1"  # build_line_model's architecture (v1: the shipped reader's)


def build_line_model(logits: bool = True, arch: str = "v1"):
    """float32 (N, LINE_HEIGHT, LINE_WIDTH) line images -> (N, STEPS, CLASSES): CTC logits
    for training, or probabilities (`logits=False`: the softmax the live loop decodes).

    arch "v1" is the shipped reader's. "v2", tried and not shipped (docs/training.md), has twice
    the parameters: wider convolutions, and dilated convolutions over the steps so that each
    sees about two digits either side (a recurrent layer there does not convert to TFLite
    builtin ops)."""
    import keras
    from keras import layers

    if arch not in LINE_ARCHS:
        raise ValueError(f"unknown line model architecture {arch!r}")
    widths, context, dilations = LINE_ARCHS[arch]
    inputs = keras.Input((sequence.LINE_HEIGHT, sequence.LINE_WIDTH), name="line")
    x = layers.Reshape((sequence.LINE_HEIGHT, sequence.LINE_WIDTH, 1))(inputs)
    for filters, pool in zip(widths, ((2, 2), (2, 2), (2, 1), None), strict=True):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        if pool:
            x = layers.MaxPooling2D(pool)(x)
    # (H / 8, STEPS, filters): each column of the feature map is one step of the sequence
    x = layers.Permute((2, 1, 3))(x)
    x = layers.Reshape((sequence.STEPS, -1))(x)
    x = layers.Dropout(0.2)(x)
    for dilation in dilations:  # context along the line: v1's step sees about two digit widths, v2's 60 px
        x = layers.Conv1D(context, 3, padding="same", dilation_rate=dilation, activation="relu")(x)
        x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(sequence.CLASSES, activation=None if logits else "softmax", name="steps")(x)
    return keras.Model(inputs, outputs, name="live_digits_lines")


def ctc_targets(labels: np.ndarray) -> np.ndarray:
    """Digit labels int (N, K) padded with -1 -> CTC targets int32 (N, K): digit d is d + 1, padding the blank 0."""
    return np.where(labels >= 0, labels + 1, sequence.BLANK).astype(np.int32)


def read_lines(model, lines: np.ndarray) -> list[str]:
    """The numbers a trained model reads in float32 line images (greedy CTC decoding)."""
    import keras

    probs = keras.ops.convert_to_numpy(keras.ops.softmax(model.predict(lines, verbose=0, batch_size=256)))
    return ["".join(str(int(np.argmax(p))) for p, _ in sequence.decode(steps)) for steps in probs]


def exact(read: list[str], labels: np.ndarray) -> float:
    truth = ["".join(str(int(d)) for d in row if d >= 0) for row in labels]
    return float(np.mean([a == b for a, b in zip(read, truth, strict=True)]))


def fit(config: LineConfig, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray]):
    """Train on (lines, labels); keep the epoch reading most validation numbers exactly. Returns (model, info)."""
    import keras

    keras.utils.set_random_seed(config.seed)
    model = build_line_model(arch=config.arch)
    steps = config.epochs * int(np.ceil(len(train[0]) / config.batch))
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, steps, alpha=0.02)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=keras.losses.CTC())

    class BestExact(keras.callbacks.Callback):
        best, epoch, weights = -1.0, 0, None

        def on_epoch_end(self, epoch, logs=None):
            score = exact(read_lines(self.model, val[0]), val[1])
            log.info("epoch %d: validation numbers read exactly %.2f%%", epoch + 1, 100 * score)
            if score >= self.best:
                self.best, self.epoch, self.weights = score, epoch + 1, self.model.get_weights()

    best = BestExact()
    model.fit(
        train[0],
        ctc_targets(train[1]),
        batch_size=config.batch,
        epochs=config.epochs,
        shuffle=True,
        callbacks=[best],
        verbose=2,
    )
    model.set_weights(best.weights)
    serving = build_line_model(logits=False, arch=config.arch)
    serving.set_weights(model.get_weights())
    return serving, {"val_exact": best.best, "best_epoch": best.epoch, "epochs": config.epochs}


def save_line_reader(model, out_dir: Path, metadata: dict) -> Path:
    """Write LINE_READER.keras, .tflite and .json (with the files' SHA-256), all or nothing (`files.staged`)."""
    from live_digits.model import LINE_CONTRACT, file_sha256
    from live_digits.train import export_tflite

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {role: out_dir / f"{LINE_READER}.{role}" for role in ("tflite", "keras")}
    meta_path = out_dir / f"{LINE_READER}.json"
    with files.staged([*paths.values(), meta_path], replace=True) as temps:
        model.save(temps[paths["keras"]])
        export_tflite(model, temps[paths["tflite"]])
        sums = {role: file_sha256(temps[path]) for role, path in paths.items()}
        meta = {"name": LINE_READER, "kind": "line-reader", "input": LINE_CONTRACT, **metadata, "sha256": sums}
        temps[meta_path].write_text(json.dumps(meta, indent=2) + "\n")
    return meta_path

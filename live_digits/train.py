"""Training, like a keras-io example: config -> data -> model -> fit -> export.

Training images take the live path: MNIST digit -> (augmented or filmed) binary mask at
crop resolution -> `preprocess` normalisation -> model (`augment`). A `TrainConfig` holds
every knob, with one preset per architecture.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live_digits import augment, datasets, files, preprocess

log = logging.getLogger(__name__)

ARCHITECTURES = ("dense", "cnn")


@dataclass(frozen=True)
class TrainConfig:
    """Every training knob. `preset(arch)` gives the shipped recipe; override with `replace`."""

    arch: str
    epochs: int
    copies: int  # mask-augmented copies of each training image
    filmed: int = 0  # copies filmed by the rendered webcam and read by the live path
    filmed_numbers: int = 0  # ... filmed as the digits of 2-4 digit numbers, read in number mode
    not_digits: float = 0.0  # inputs of no single digit (class 10), as a share of the digit inputs
    styles: int = 0  # images added per digit style MNIST rarely has (`augment.style_images`)
    members: int = 1  # networks trained from seeds seed, seed + 1, ... and averaged
    seed: int = 0
    batch_size: int = 128
    learning_rate: float = 2e-3  # start of the cosine decay
    verbose: int = 2  # keras fit's verbosity

    @classmethod
    def preset(cls, arch: str, **changes) -> TrainConfig:
        if arch not in PRESETS:
            raise ValueError(f"unknown architecture {arch!r}; choose from {ARCHITECTURES}")
        return dataclasses.replace(PRESETS[arch], **changes)

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    @property
    def classes(self) -> int:
        """10 digits, plus "not one digit" when trained with such inputs (`model.NOT_A_DIGIT`)."""
        return 11 if self.not_digits > 0 else 10


STYLE_SEED = 104729  # style digits for training; benchmarks draw theirs from their own seeds

PRESETS = {
    "dense": TrainConfig("dense", epochs=30, copies=20),
    "cnn": TrainConfig("cnn", epochs=25, copies=24, filmed=8, not_digits=0.1, styles=150),
}


def build_model(kind: str, classes: int = 10):
    """The two shipped architectures; inputs float32 (N, 28, 28) in [0, 1], softmax over `classes` out."""
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
    outputs = layers.Dense(classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=f"live_digits_{kind}")


# ----------------------------------------------------------------------------- augmentation


# ----------------------------------------------------------------------------- training


def train(config: TrainConfig, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray):
    """Train `config.arch` on raw MNIST-style uint8 images (N, 28, 28); returns (model, info dict).

    Each image is used as is, in `config.copies` mask-augmented versions and in filmed
    versions (`augment.filmed_inputs`). With `members` > 1, that many networks are trained
    with seeds seed, seed + 1, ... and averaged into one model. Each keeps its epoch with
    the best validation accuracy (validation images come from the training set; the test
    set is never looked at here). With no validation images, every image is trained on
    and each network keeps its last epoch: the final fit once the recipe has been validated.
    """
    if config.styles:  # drawn apart from the seeds: every network sees the same style digits
        x_style, y_style = augment.style_images(config.styles, seed=STYLE_SEED)
        x_train, y_train = np.concatenate([x_train, x_style]), np.concatenate([y_train, y_style])
    xv = datasets.mnist_to_inputs(x_val)
    nets, infos = [], []
    for k in range(config.members):
        net, info = _train_one(config.replace(seed=config.seed + k), x_train, y_train, xv, y_val)
        nets.append(net)
        infos.append(info)
    if config.members == 1:
        return nets[0], infos[0]
    combined = ensemble(nets)
    val_accuracy = None
    if len(y_val):
        val_accuracy = float(np.mean(np.argmax(combined.predict(xv, verbose=0), axis=1) == y_val))
        log.info("%d-member ensemble: validation accuracy %.2f%%", config.members, 100 * val_accuracy)
    return combined, {"val_accuracy": val_accuracy, "members": infos, "best_epoch": [i["best_epoch"] for i in infos]}


def training_inputs(config: TrainConfig, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The images as model inputs: clean, augmented, filmed and (class 10) no single digit;
    float32 (M, 28, 28) and int64 (M,) labels."""
    clean = datasets.mnist_to_inputs(x)
    aug = augment.augmented_inputs(x, config.copies, config.seed)
    film, source = augment.filmed_inputs(x, config.filmed, config.seed, numbers=config.filmed_numbers)
    digits = len(clean) + len(aug) + len(film)
    none = augment.not_a_digit_inputs(x, int(config.not_digits * digits), config.seed + 7919)
    xs = np.concatenate([clean, aug, film, none])
    ys = np.concatenate([y] * (config.copies + 1) + [y[source], np.full(len(none), 10)]).astype(np.int64)
    return xs, ys


def _train_one(config: TrainConfig, x_train: np.ndarray, y_train: np.ndarray, xv: np.ndarray, y_val: np.ndarray):
    """One network from `config.seed`: data, model, fit; the best epoch's weights if validated."""
    import keras

    keras.utils.set_random_seed(config.seed)
    t0 = time.time()
    xs, ys = training_inputs(config, x_train, y_train)
    log.info("prepared %d training inputs in %.0f s", len(xs), time.time() - t0)
    model = build_model(config.arch, config.classes)
    steps = config.epochs * int(np.ceil(len(xs) / config.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, steps, alpha=0.02)
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
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=(xv, y_val.astype(np.int64)) if validated else None,
        callbacks=[best] if validated else [],
        verbose=config.verbose,
    )
    if not validated:
        return model, {"val_accuracy": None, "best_epoch": config.epochs, "history": history.history}
    model.set_weights(best.weights)
    return model, {"val_accuracy": best.best, "best_epoch": best.epoch, "history": history.history}


def ensemble(members: list):
    """One model averaging the members' probabilities: one file, one interpreter call.

    For experiments: the shipped recipe is one network (docs/training.md says why).
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


def explain_outputs(model) -> list:
    """The tensors the explanation view shows, in this order: each convolution's activation
    map (after its ReLU), the last hidden dense layer's activations, the probabilities.

    A dense network has no convolutions: [hidden (N, 128), probs (N, 10)]. The CNN gives
    [conv1 (N, 24, 24, 32), conv2 (N, 8, 8, 64), hidden (N, 128), probs (N, 10)].
    """
    import keras

    layers = model.layers
    maps = []
    for i, layer in enumerate(layers):
        if isinstance(layer, keras.layers.Conv2D):  # its activation: the first ReLU after it
            relu = next((la for la in layers[i + 1 :] if isinstance(la, keras.layers.ReLU)), layer)
            maps.append(relu.output)
    hidden = [la for la in layers if isinstance(la, keras.layers.Dense)][-2]  # the one feeding the softmax
    return [*maps, hidden.output, model.output]


def export_explain_tflite(model, path: Path) -> None:
    """Write NAME.explain.tflite: the same weights, with `explain_outputs` as its outputs.

    The window's explanation view runs it on a worker thread (live_digits.explain); the
    per-frame classifier keeps the plain NAME.tflite, which computes no extra outputs.
    """
    import keras
    import tensorflow as tf

    explain = keras.Model(model.inputs, explain_outputs(model), name=f"{model.name}_explain")
    converter = tf.lite.TFLiteConverter.from_keras_model(explain)
    path.write_bytes(converter.convert())


def save_model(model, out_dir: Path, name: str, metadata: dict) -> Path:
    """Write NAME.keras (source of truth), NAME.tflite (fast path), NAME.explain.tflite (the
    explanation view's, for a single network) and NAME.json (its `files` lists them, with
    each file's SHA-256).

    All are written under temporary names, then renamed into place, the metadata last: a
    full disk or a kill leaves the previous model whole, never a half-written file, and a
    mix of old and new files is refused at load by the checksums.
    """
    import keras

    from live_digits.model import file_sha256

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {role: out_dir / f"{name}.{ext}" for role, ext in (("keras", "keras"), ("tflite", "tflite"))}
    if not any(isinstance(layer, keras.Model) for layer in model.layers):  # an ensemble has no one network to show
        paths["explain"] = out_dir / f"{name}.explain.tflite"
        metadata = {**metadata, "files": {**metadata.get("files", {}), "explain": paths["explain"].name}}
    meta_path = out_dir / f"{name}.json"
    with files.staged([*paths.values(), meta_path], replace=True) as temps:
        model.save(temps[paths["keras"]])
        export_tflite(model, temps[paths["tflite"]])
        if "explain" in paths:
            export_explain_tflite(model, temps[paths["explain"]])
        sums = {role: file_sha256(temps[path]) for role, path in paths.items()}
        temps[meta_path].write_text(json.dumps({**metadata, "sha256": sums}, indent=2) + "\n")
    return meta_path

"""The classic webcam-digit loop that peers of this tool use, kept as the benchmarks' baseline.

Per frame: gray -> fixed binary-inverse threshold -> centred 200x200 crop -> direct resize
to 28x28 -> per-row L2 normalisation (`keras.utils.normalize(x, axis=1)`) -> collect five
frames -> `model.predict` on the batch -> show the batch's average argmax until the next
batch. The model is the tutorial's Flatten-128-128-10 dense net trained for 3 epochs on
L2-normalised raw MNIST. Nothing here is used by live-digits itself.
"""

from __future__ import annotations

import cv2
import numpy as np

BATCH = 5


def train_classic_dense(x_train: np.ndarray, y_train: np.ndarray, epochs: int = 3, seed: int = 0):
    """The tutorial model: raw MNIST, per-row L2 normalisation, Flatten-128-128-10, Adam."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(classic_normalise(x_train.astype(np.float32)), y_train, epochs=epochs, verbose=0)
    return model


def classic_normalise(images: np.ndarray) -> np.ndarray:
    """keras.utils.normalize(x, axis=1): each image row scaled to unit L2 norm."""
    norms = np.linalg.norm(images, axis=-2, keepdims=True)
    return images / np.where(norms == 0, 1, norms)


def classic_input(frame: np.ndarray, threshold: int, box: int = 200) -> np.ndarray:
    """One frame -> the classic 28x28 model input (float32)."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    _, binary = cv2.threshold(gray, threshold, 255, cv2.THRESH_BINARY_INV)
    h, w = binary.shape
    y0, x0 = (h - box) // 2, (w - box) // 2
    crop = binary[y0 : y0 + box, x0 : x0 + box]
    small = cv2.resize(crop, (28, 28)).astype(np.float32)
    return classic_normalise(small[None])[0]


class ClassicLoop:
    """Frames in, the digit the classic window would show out (None before the first batch)."""

    def __init__(self, model, threshold: int = 127):
        self.model, self.threshold = model, threshold
        self.pending: list[np.ndarray] = []
        self.shown: int | None = None

    def process(self, frame: np.ndarray) -> int | None:
        self.pending.append(classic_input(frame, self.threshold))
        if len(self.pending) == BATCH:
            probs = self.model.predict(np.stack(self.pending), verbose=0)
            self.shown = int(np.argmax(probs.mean(axis=0)))
            self.pending.clear()
        label = str(self.shown) if self.shown is not None else ""
        cv2.putText(frame, label, (20, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 255, 0), 2)
        return self.shown

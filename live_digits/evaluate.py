"""Accuracy of a model on MNIST test images, through the live normalisation."""

from __future__ import annotations

import numpy as np

from live_digits import preprocess

# What every shipped model expects; loading a model checks its metadata against this.
INPUT_CONTRACT = {
    "shape": [preprocess.INPUT_SIZE, preprocess.INPUT_SIZE],
    "dtype": "float32",
    "scale": [0.0, 1.0],
    "polarity": "white-on-black",
    "normalisation": "bbox-20x20-com-28x28",
}


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose argmax equals the label."""
    return float(np.mean(np.argmax(probs, axis=1) == np.asarray(labels)))

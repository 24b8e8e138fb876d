"""Scoring helpers shared by training, fine-tuning and the evaluation script."""

from __future__ import annotations

import numpy as np


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose argmax equals the label."""
    return float(np.mean(np.argmax(probs, axis=1) == np.asarray(labels)))

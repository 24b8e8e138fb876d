"""Connected components of a mask, and masks of chosen components: shared by the stages."""

from __future__ import annotations

import cv2
import numpy as np


def components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-connected labels of a uint8 mask (same shape) and their stats rows (x, y, w, h, area)."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=label_type(mask.shape))
    return labels, stats


def label_type(shape: tuple[int, ...]) -> int:
    """16-bit labels whenever a mask this size cannot hold 65,535 components (8-connected,
    at most one per 2x2 block): OpenCV labels several times faster into uint16 than int32."""
    return cv2.CV_16U if ((shape[0] + 1) // 2) * ((shape[1] + 1) // 2) < 65535 else cv2.CV_32S


def select(labels: np.ndarray, group: np.ndarray, n_labels: int) -> np.ndarray:
    """uint8 mask (like labels), 255 where the label is in `group`: a lookup table, not np.isin."""
    if len(group) == 1:  # the usual digit, one stroke: one comparison
        # inRange, not compare: cv2.compare takes a scalar for an array on a 1x1 patch, and raises
        return cv2.inRange(labels, int(group[0]), int(group[0]))
    lut = np.zeros(n_labels, np.uint8)
    lut[group] = 255
    return np.take(lut, labels)


def reached(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """uint8 mask like `mask`, 255 on its 8-connected components that hold a pixel of `seeds`
    (both uint8 (H, W), nonzero = set): what a seed reaches through `mask`."""
    n, labels = cv2.connectedComponents(mask, connectivity=8, ltype=label_type(mask.shape))
    lut = np.zeros(n, np.uint8)
    lut[labels[seeds > 0]] = 255
    lut[0] = 0
    return np.take(lut, labels)

"""One digit's tight binary patch -> an MNIST-like 28x28 model input."""

from __future__ import annotations

import cv2
import numpy as np

INPUT_SIZE = 28  # side of the model input
FIT_SIZE = 20  # MNIST fits the digit's bounding box into 20x20 ...
CENTRE = 14.0  # ... and puts its centre of mass at pixel (14, 14) of the 28x28 field
MIN_STROKE = 1.8  # strokes thinner than this at the 20x20 scale are thickened ...
TARGET_STROKE = 2.2  # ... to about this width (MNIST's strokes: median 2.5 px)


def stroke_width(patch: np.ndarray) -> float:
    """Mean stroke width of a binary uint8 shape in pixels: 2 * area / perimeter.

    For a stroke of width t and length L, area ~ t*L and perimeter ~ 2*L.
    """
    contours, _ = cv2.findContours(patch, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * np.count_nonzero(patch) / max(perimeter, 1.0)


def thicken_thin_strokes(patch: np.ndarray) -> np.ndarray:
    """Dilate a digit drawn with a fine pen so its strokes, once fitted into 20x20, are
    at least MIN_STROKE wide, like MNIST's (10th percentile 1.8 px).

    A 1-px ballpoint line on a large digit would otherwise shrink to faint grey dust.
    Thick strokes are left alone: eroding them would break digits apart.
    """
    scale = FIT_SIZE / max(patch.shape)
    width = stroke_width(patch) * scale  # at the 20x20 scale
    radius = int(round((TARGET_STROKE - width) / scale / 2))  # dilation adds 2 * radius patch pixels
    if width >= MIN_STROKE or radius < 1:
        return patch
    padded = cv2.copyMakeBorder(patch, radius, radius, radius, radius, cv2.BORDER_CONSTANT, value=0)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(padded, disc)


def normalise_patch(patch: np.ndarray) -> np.ndarray:
    """A tight binary digit patch (uint8 (h, w), ink 255) -> float32 (28, 28) in [0, 1], like MNIST.

    Thicken fine-pen strokes, fit the bounding box into 20x20 keeping the aspect ratio
    (area-averaging, which anti-aliases like MNIST's own preparation), then shift by
    whole pixels so the centre of mass lands on (14, 14).
    """
    patch = thicken_thin_strokes(patch)
    h, w = patch.shape
    scale = FIT_SIZE / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(patch, (nw, nh), interpolation=interp)  # 8-bit grey levels, like MNIST's
    m = cv2.moments(small)
    if m["m00"] <= 1e-6:
        cx, cy = nw / 2 - 0.5, nh / 2 - 0.5
    else:
        cx, cy = m["m10"] / m["m00"], m["m01"] / m["m00"]
    ox = min(max(round(CENTRE - cx), 0), INPUT_SIZE - nw)
    oy = min(max(round(CENTRE - cy), 0), INPUT_SIZE - nh)
    out = np.zeros((INPUT_SIZE, INPUT_SIZE), np.float32)
    np.multiply(small, np.float32(1 / 255.0), out=out[oy : oy + nh, ox : ox + nw], casting="unsafe")
    return out

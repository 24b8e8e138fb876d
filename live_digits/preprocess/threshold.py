"""Gray crop -> ink mask: ink is what is darker than the paper around it.

Masks are uint8 (H, W) with ink = 255 on background = 0 (MNIST polarity).
"""

from __future__ import annotations

import cv2
import numpy as np

from live_digits.preprocess.labels import label_type

# Automatic threshold: ink is at least this much darker than the local paper ...
AUTO_MIN_CONTRAST = 0.12
# ... and this many noise standard deviations darker (dim, noisy frames) ...
AUTO_NOISE_SIGMAS = 4.0
# ... and Otsu's level is never asked to be more than this.
AUTO_MAX_CONTRAST = 0.5
PAPER_LEVELS = np.maximum(np.arange(256, dtype=np.float32), 1.0)  # paper grey level -> divisor, never 0
# Number mode: pixels at least this fraction of the threshold dark that touch ink above it
# are ink too (hysteresis). A faint stretch of a stroke otherwise splits a digit into
# columns, and one broken digit costs the whole number; a lone faint smudge stays out.
NUMBER_HYSTERESIS = 0.75


def paper_background(gray: np.ndarray) -> np.ndarray:
    """Estimate the paper's brightness under the ink: uint8 (>= 1), same shape as `gray`.

    A grey-level closing (max then min filter) wider than any pen stroke erases the dark
    ink and keeps slow changes: shadows, vignetting, dim corners. Done at quarter
    resolution because it only needs the low frequencies, and it must be cheap.
    """
    h, w = gray.shape
    small = cv2.resize(gray, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
    small = cv2.morphologyEx(small, cv2.MORPH_CLOSE, k, borderType=cv2.BORDER_REPLICATE)
    small = np.maximum(cv2.blur(small, (5, 5)), 1)  # interpolation keeps it >= 1: safe to divide by
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def ink_darkness(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How much darker than the local paper each pixel is, and the paper's brightness.

    Returns (darkness uint8: 0 = paper, 255 * (1 - pixel / paper) for ink; background
    uint8 gray levels). Dividing by the estimated paper brightness makes the measure
    independent of exposure and of shadow gradients across the sheet, so one threshold
    works from dim to bright. A light 3x3 blur tames sensor noise without washing out a
    thin pen line.
    """
    smooth = cv2.GaussianBlur(gray, (3, 3), 0)
    background = paper_background(gray)
    ratio = cv2.divide(smooth, background, scale=255)  # saturates at 255 where brighter than paper
    return cv2.subtract(255, ratio), background


def auto_threshold(darkness: np.ndarray, background: np.ndarray) -> tuple[float, np.ndarray]:
    """Choose where ink starts: a global contrast level and a per-pixel threshold map (uint8).

    Otsu's split of the darkness histogram separates ink from paper when both are present,
    clamped to a plausible contrast range. Sensor noise is roughly constant in gray levels,
    so relative to the paper it is largest where the paper is darkest (a shadow, a dim
    corner): the floor of AUTO_NOISE_SIGMAS noise sigmas is computed per pixel (a lookup on
    the paper's brightness), which keeps blank or noisy paper blank.
    """
    otsu, _ = cv2.threshold(darkness, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    level = min(max(otsu / 255.0, AUTO_MIN_CONTRAST), AUTO_MAX_CONTRAST)
    d = darkness[::4, ::4].ravel().astype(np.float32) / 255.0  # a sample is plenty here
    b = background[::4, ::4].ravel().astype(np.float32)
    residual = (d * b)[d <= _quantile(d, 0.75)]  # gray levels below the paper, ink excluded
    sigma = 1.4826 * _quantile(np.abs(residual - _quantile(residual, 0.5)), 0.5)  # robust std (MAD)
    floor = np.maximum(level, AUTO_NOISE_SIGMAS * sigma / PAPER_LEVELS)
    lut = np.floor(np.minimum(floor, 1.0) * 255.0).astype(np.uint8)
    return level, cv2.LUT(background, lut)


def _quantile(values: np.ndarray, q: float) -> float:
    """The q-quantile by partial sort (np.percentile's overhead dominates at this size)."""
    k = min(len(values) - 1, int(q * len(values)))
    return float(np.partition(values, k)[k]) if len(values) else 0.0


def threshold_ink(gray: np.ndarray, level: int = 0, hysteresis: float | None = None) -> tuple[np.ndarray, float]:
    """Binary ink mask of a uint8 gray crop (H, W): uint8 (H, W), ink 255 on 0, and the level used.

    level 0 means automatic (the returned level is then the contrast fraction chosen,
    e.g. 0.3 = ink is 30% darker than the paper); 1..255 is the classic fixed threshold on
    the gray value (ink = gray < level). With automatic levels, `hysteresis` (a fraction
    below 1) also takes pixels that dark which touch the ink (`grow_into_faint_ink`).
    """
    if level > 0:
        _, mask = cv2.threshold(gray, level - 1, 255, cv2.THRESH_BINARY_INV)
        return mask, float(level)
    darkness, background = ink_darkness(gray)
    chosen, per_pixel = auto_threshold(darkness, background)
    mask = cv2.compare(darkness, per_pixel, cv2.CMP_GT)
    if hysteresis is not None:
        mask = grow_into_faint_ink(mask, darkness, per_pixel, hysteresis)
    return mask, chosen


def grow_into_faint_ink(mask: np.ndarray, darkness: np.ndarray, per_pixel: np.ndarray, fraction: float) -> np.ndarray:
    """Hysteresis: add to `mask` the pixels darker than `fraction` of their threshold that are
    8-connected to it (a blurred or faint stretch of a stroke), as Canny does with edges."""
    faint = cv2.compare(darkness, (per_pixel * np.float32(fraction)).astype(np.uint8), cv2.CMP_GT)
    n, labels = cv2.connectedComponents(faint, connectivity=8, ltype=label_type(faint.shape))
    lut = np.zeros(n, np.uint8)
    lut[labels[mask > 0]] = 255  # every region of faint pixels that holds some ink
    lut[0] = 0
    return np.take(lut, labels)

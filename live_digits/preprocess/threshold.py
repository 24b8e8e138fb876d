"""Gray crop -> ink mask: ink is what is darker than the paper around it.

Masks are uint8 (H, W) with ink = 255 on background = 0 (MNIST polarity).
"""

from __future__ import annotations

import cv2
import numpy as np

from live_digits.preprocess.labels import label_type, reached

# Automatic threshold: ink is at least this much darker than the local paper ...
AUTO_MIN_CONTRAST = 0.12
# ... and this many noise standard deviations darker (dim, noisy frames) ...
AUTO_NOISE_SIGMAS = 4.0
# ... and Otsu's level is never asked to be more than this: a desk or a sleeve in the box is
# far "darker than the paper" and pulls Otsu's split above a pale pen line (0.5 lost thin
# strokes on small sheets; 0.25 was the best of 0.2-0.5 on the development clips).
AUTO_MAX_CONTRAST = 0.25
# A hollow stroke's inside (quarter-resolution pixels) is at least HOLLOW_CONTRAST darker
# than the brightest paper HOLLOW_REACH around it (about 60 px in the frame, beyond the
# widest marker), which a shadow across the paper is not; its outline is HOLLOW_RING wide.
HOLLOW_REACH = 15
HOLLOW_CONTRAST = 0.3
HOLLOW_MIN_PIXELS = 3
HOLLOW_RING = 9
HOLLOW_HALF_WIDTH = 8  # quarter-resolution px: a stroke up to about 64 px wide in the frame
# "Paper" this much darker than the paper next to it is not paper: the desk, a thumb.
OFF_PAPER = 0.2
OFF_PAPER_AREA = 0.06
PAPER_LEVELS = np.maximum(np.arange(256, dtype=np.float32), 1.0)  # paper grey level -> divisor, never 0
# Number mode: pixels at least this fraction of the threshold dark that touch ink above it
# are ink too (hysteresis). A faint stretch of a stroke otherwise splits a digit into
# columns, and one broken digit costs the whole number; a lone faint smudge stays out.
NUMBER_HYSTERESIS = 0.75


def paper_background(gray: np.ndarray) -> np.ndarray:
    """Estimate the paper's brightness under the ink: uint8 (>= 1), same shape as `gray`.

    A grey-level closing (max then min filter) wider than a pen stroke erases the dark ink
    and keeps slow changes: shadows, vignetting, dim corners. Done at quarter resolution
    because it only needs the low frequencies, and it must be cheap. A marker stroke wider
    than the closing survives it, and its inside would pass for paper: those insides are
    found and their paper filled in from around the stroke (`_fill_hollow_strokes`).
    """
    h, w = gray.shape
    small = cv2.resize(gray, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, k, borderType=cv2.BORDER_REPLICATE)
    small_bg = np.maximum(cv2.blur(closed, (5, 5)), 1)  # interpolation keeps it >= 1: safe to divide by
    small_bg = _fill_hollow_strokes(small, small_bg)
    return cv2.resize(small_bg, (w, h), interpolation=cv2.INTER_LINEAR)


def _fill_hollow_strokes(small: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Re-estimate the paper inside strokes wider than the closing; uint8 like `background`.

    Such a stroke thresholds into its outline: ink around a dark inside whose estimated
    paper is as dark as the ink. An inside is dark (HOLLOW_CONTRAST below the paper around
    it, which the hole of a 0 is not), narrow (at most HOLLOW_HALF_WIDTH from its middle to
    its side, which the desk beside a small sheet is not), and leaves the box, if at all,
    only across its width (a stroke's end; the desk runs along the box's side). Its paper is
    then interpolated (inpainted) from the estimate around the stroke. Returns `background`
    itself when there is no such inside, the usual case.
    """
    ink = cv2.compare(small, _darker(background), cv2.CMP_LT)
    nearby_paper = cv2.dilate(background, cv2.getStructuringElement(cv2.MORPH_RECT, (HOLLOW_REACH, HOLLOW_REACH)))
    inked = cv2.compare(small, (nearby_paper * np.float32(1 - HOLLOW_CONTRAST)).astype(np.uint8), cv2.CMP_LT)
    dark = cv2.bitwise_and(inked, cv2.bitwise_not(ink))  # as dark as ink, yet taken for paper
    if cv2.countNonZero(dark) < HOLLOW_MIN_PIXELS:
        return background
    n, labels = cv2.connectedComponents(dark, connectivity=8)
    half_width = np.zeros(n, np.float32)
    np.maximum.at(half_width, labels, cv2.distanceTransform(dark, cv2.DIST_L2, 3))
    rim = np.concatenate([labels[0], labels[-1], labels[1:-1, 0], labels[1:-1, -1]])
    contact = np.bincount(rim, minlength=n)  # a stroke leaves the box at an end, the desk along a side
    narrow = ((half_width <= HOLLOW_HALF_WIDTH) & (contact <= 2 * HOLLOW_HALF_WIDTH)).astype(np.uint8) * 255
    narrow[0] = 0
    inside = np.take(narrow, labels)
    if cv2.countNonZero(inside) < HOLLOW_MIN_PIXELS:
        return background
    ring = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_RECT, (HOLLOW_RING, HOLLOW_RING)))
    stroke = cv2.bitwise_or(inside, cv2.bitwise_and(ring, ink))  # the inside and the outline around it
    stroke = cv2.dilate(stroke, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))  # and the blur's reach
    return np.maximum(cv2.inpaint(background, stroke, 3, cv2.INPAINT_TELEA), 1)


def _darker(paper: np.ndarray) -> np.ndarray:
    """The grey level (uint8) that ink at least AUTO_MIN_CONTRAST darker than `paper` stays under."""
    return (paper * np.float32(1 - AUTO_MIN_CONTRAST)).astype(np.uint8)


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
    return np.uint8(255) - ratio, background  # numpy: cv2 takes a 4x1 crop for a scalar


def auto_threshold(darkness: np.ndarray, background: np.ndarray) -> tuple[float, np.ndarray]:
    """Choose where ink starts: a global contrast level and a lookup table (uint8 (256,)) from a
    pixel's paper brightness to its darkness threshold.

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
    return level, np.floor(np.minimum(floor, 1.0) * 255.0).astype(np.uint8)


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
    mask, chosen, _ = read_ink(gray, level, hysteresis)
    return mask, chosen


def read_ink(gray: np.ndarray, level: int = 0, hysteresis: float | None = None):
    """`threshold_ink`, plus where the box shows no paper: (mask, level, off_paper mask or None).

    off_paper (uint8 (H, W), 255 = not paper) marks what is far darker than the sheet even
    after its own local paper estimate: the desk beside a small sheet, a sleeve. It is
    None with a fixed threshold, which estimates no paper, or when all of the box is paper.
    """
    if level > 0:
        _, mask = cv2.threshold(gray, level - 1, 255, cv2.THRESH_BINARY_INV)
        return mask, float(level), None
    darkness, background = ink_darkness(gray)
    chosen, lut = auto_threshold(darkness, background)
    per_pixel = cv2.LUT(background, lut)
    mask = cv2.compare(darkness, per_pixel, cv2.CMP_GT)
    off_paper = _off_paper(background, mask)
    if off_paper is not None:
        mask = _drop_desk_rim(mask, off_paper)
    if hysteresis is not None:
        mask = grow_into_faint_ink(mask, darkness, per_pixel, hysteresis)
    return mask, chosen, off_paper


def _drop_desk_rim(mask: np.ndarray, off_paper: np.ndarray) -> np.ndarray:
    """Clear the rim of desk along a small sheet's edge from an ink mask (uint8 (H, W)).

    The paper estimate blurs across the sheet's edge, so the desk just beyond it looks darker
    than "paper" and thresholds into a strip of ink outlining the sheet, which runs into what
    is not paper. Ink that touches it is dropped whole; a stroke on the sheet does not touch
    the desk (one that runs off the sheet is lost with the rim).
    """
    beside = cv2.dilate(off_paper, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    return cv2.subtract(mask, reached(mask, beside))


def _off_paper(background: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Where the estimated paper drops OFF_PAPER below the paper next to it (a step, where a
    shadow is a slope), over a region covering OFF_PAPER_AREA of the box that is mostly not
    ink in `mask` (a marker stroke's paper estimate sags too, but the stroke is ink)."""
    coarse = np.ascontiguousarray(background[::4, ::4])  # the estimate is smooth: a quarter of it tells if any
    near = cv2.dilate(coarse, cv2.getStructuringElement(cv2.MORPH_RECT, (HOLLOW_REACH, HOLLOW_REACH)))
    if not cv2.countNonZero(cv2.compare(coarse, (near * np.float32(1 - OFF_PAPER)).astype(np.uint8), cv2.CMP_LT)):
        return None
    reach = cv2.getStructuringElement(cv2.MORPH_RECT, (4 * HOLLOW_REACH + 1, 4 * HOLLOW_REACH + 1))
    nearby = cv2.dilate(background, reach)
    off = cv2.compare(background, (nearby * np.float32(1 - OFF_PAPER)).astype(np.uint8), cv2.CMP_LT)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(off, connectivity=8, ltype=label_type(off.shape))
    ink = np.bincount(labels[mask > 0], minlength=n)
    area = stats[:, cv2.CC_STAT_AREA]
    wide = (area >= OFF_PAPER_AREA * off.size) & (ink < 0.5 * area)
    wide[0] = False
    if not wide.any():
        return None
    return np.take(wide.astype(np.uint8) * 255, labels)


def grow_into_faint_ink(mask: np.ndarray, darkness: np.ndarray, per_pixel: np.ndarray, fraction: float) -> np.ndarray:
    """Hysteresis: add to `mask` the pixels darker than `fraction` of their threshold that are
    8-connected to it (a blurred or faint stretch of a stroke), as Canny does with edges."""
    faint = cv2.compare(darkness, (per_pixel * np.float32(fraction)).astype(np.uint8), cv2.CMP_GT)
    return reached(faint, mask)  # every region of faint pixels that holds some ink

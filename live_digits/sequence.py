"""Number mode's line reader: the digits found in the box laid out as one line image, read
left to right by a small CNN trained with CTC (connectionist temporal classification).

Segmenting first and classifying each piece loses numbers whose digits touch: one piece holds
two or three digits and no cut is sure. The line reader needs no cut. It sees every piece the
segmenter kept (so the desk, the sheet's edge and debris stay out), in place, and emits a
digit sequence; each digit's box is the ink between its neighbours' positions.

Pure numpy/OpenCV: the model itself runs through `model.Model`'s interpreter.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from live_digits.preprocess import Rect

LINE_HEIGHT = 32  # the line image, float32 (LINE_HEIGHT, LINE_WIDTH), ink 1.0 on 0.0
LINE_WIDTH = 192  # six digits with ordinary gaps at full height; wider lines are shrunk to fit
LINE_PAD = 2  # px of paper round the ink
STRIDE = 4  # line pixels per output step: the model emits LINE_WIDTH // STRIDE steps
STEPS = LINE_WIDTH // STRIDE
BLANK = 0  # CTC's "no new digit here"; digit d is class d + 1
CLASSES = 11


@dataclass(frozen=True)
class Line:
    """Where the line image came from: line x = LINE_PAD + (mask x - x0) * scale."""

    x0: int
    y0: int
    scale: float
    ink: np.ndarray  # uint8 (H, W): the mask's ink inside the pieces' union rect, pieces only


def line_input(mask: np.ndarray, rects: list[Rect]) -> tuple[np.ndarray, Line] | None:
    """The pieces (`rects` in `mask`, uint8 (H, W) ink 255) as one line: float32 (LINE_HEIGHT,
    LINE_WIDTH) and its `Line`, or None without pieces.

    Only ink inside the pieces' rects is kept; the union of the rects is scaled (aspect kept)
    to the line's height, or to its width if that is the tighter, and set at its left.
    """
    rects = [r for r in (r.clipped(mask.shape) for r in rects) if r is not None]
    if not rects:
        return None
    x0, y0 = min(r.x for r in rects), min(r.y for r in rects)
    x1, y1 = max(r.x + r.w for r in rects), max(r.y + r.h for r in rects)
    ink = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for r in rects:
        ink[r.y - y0 : r.y - y0 + r.h, r.x - x0 : r.x - x0 + r.w] = mask[r.slices()]
    scale = min((LINE_HEIGHT - 2 * LINE_PAD) / ink.shape[0], (LINE_WIDTH - 2 * LINE_PAD) / ink.shape[1])
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    small = cv2.resize(ink, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    image = np.zeros((LINE_HEIGHT, LINE_WIDTH), np.float32)
    top = (LINE_HEIGHT - size[1]) // 2
    image[top : top + size[1], LINE_PAD : LINE_PAD + size[0]] = small * np.float32(1 / 255)
    return image, Line(x0, y0, scale, ink)


def decode(steps: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Greedy CTC decoding of one line's float32 (STEPS, CLASSES) probabilities.

    Returns, left to right, each digit's float32 (10,) probabilities (at the step that is
    surest of it) and that step. A digit repeated in the line is told apart by a blank
    between its two runs, as CTC is trained to emit.
    """
    best = np.argmax(steps, axis=1)
    out: list[tuple[np.ndarray, int]] = []
    t = 0
    while t < len(best):
        cls = best[t]
        end = t + 1
        while end < len(best) and best[end] == cls:
            end += 1
        if cls != BLANK:
            peak = t + int(np.argmax(steps[t:end, cls]))
            out.append((steps[peak, 1:].astype(np.float32), peak))
        t = end
    return out


def digit_rects(line: Line, peaks: list[int]) -> list[Rect]:
    """Each decoded digit's box in mask coordinates: the ink between the midpoints to its
    neighbours' peaks (the whole piece's height if that column band holds no ink). CTC
    places a digit's peak anywhere on it, so these boxes are rough where digits touch."""
    if not peaks:
        return []
    centres = [line.x0 + ((p + 0.5) * STRIDE - LINE_PAD) / line.scale for p in peaks]
    width = line.ink.shape[1]
    bounds = [0] + [round((a + b) / 2) - line.x0 for a, b in itertools.pairwise(centres)] + [width]
    rects = []
    for left, right in itertools.pairwise(bounds):
        left, right = max(0, min(left, width - 1)), max(1, min(right, width))
        band = line.ink[:, left:right]
        x, y, w, h = cv2.boundingRect(band)
        if w == 0:
            x, y, w, h = 0, 0, max(1, right - left), line.ink.shape[0]
        rects.append(Rect(line.x0 + left + x, line.y0 + y, w, h))
    return rects


def read_line(predict, mask: np.ndarray, rects: list[Rect]) -> tuple[list[Rect], np.ndarray]:
    """Read the pieces (`rects` in the box's `mask`) as one number with a line reader
    (`predict`: float32 (N, LINE_HEIGHT, LINE_WIDTH) -> (N, STEPS, CLASSES) probabilities).

    Returns the digits' rects in the mask and float32 (K, 10) probabilities, left to right
    (what number mode's vote takes, as from `recognizer.read_touching`).
    """
    made = line_input(mask, rects)
    if made is None:
        return [], np.zeros((0, 10), np.float32)
    image, line = made
    digits = decode(predict(image[None])[0])
    probs = np.array([p for p, _ in digits], np.float32).reshape(-1, 10)
    return digit_rects(line, [t for _, t in digits]), probs

"""Ink mask -> the digit(s) in it: components, grouping into digits, rejecting what is not one."""

from __future__ import annotations

import cv2
import numpy as np

from live_digits.preprocess.box import Rect
from live_digits.preprocess.labels import components, select

MAX_INK = 0.5  # a crop more than half ink is a covered lens or a dark object, not a digit
MIN_HEIGHT_IN_NUMBER = 0.5  # in a number, a piece under half the tallest digit's height is not a digit
# In a number, a column of pieces none of which holds this share of the ink is debris
# (dashes of a pale ruled line, blobs where a margin crossed the lines), not a digit.
MIN_MAIN_PIECE = 0.3


def too_much_ink(mask: np.ndarray) -> bool:
    """A uint8 mask more than MAX_INK ink holds no readable digit."""
    return np.count_nonzero(mask) > MAX_INK * mask.size


def candidate_components(stats: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Label ids of the components that can be (part of) a digit.

    Specks (tiny next to the box and to the largest component) and blobs touching the
    box border (a hand, a shadow, the edge of the sheet, a digit cut by the box) are dropped.
    """
    if len(stats) <= 1:
        return np.empty(0, np.int64)
    areas = stats[1:, cv2.CC_STAT_AREA]
    min_area = max(8.0, 4e-4 * shape[0] * shape[1], 0.04 * areas.max())
    ok = (areas >= min_area) & ~_touches_border(stats[1:], shape)
    return np.flatnonzero(ok) + 1


def find_digit_groups(
    mask: np.ndarray, multi: bool = False, labelled: tuple[np.ndarray, np.ndarray] | None = None
) -> list[tuple[Rect, np.ndarray]]:
    """Group candidate components into digits: [(rect, tight uint8 patch)], left to right.

    Single mode: the largest component plus the pieces lying next to it (a '5' drawn
    in two strokes, a stroke cut by a ruled line). Multi mode: components whose
    horizontal extents overlap are one digit; separate columns are separate digits.
    """
    labels, stats = labelled if labelled is not None else components(mask)
    keep = candidate_components(stats, mask.shape)
    if keep.size == 0:
        return []
    groups = _column_groups(stats, keep) if multi else [_neighbourhood_group(stats, keep)]
    digits = []
    for group in groups:
        rect = _union_of(stats[group, :4].tolist())
        areas = stats[group, cv2.CC_STAT_AREA]
        ink = int(areas.sum())
        if not _looks_like_digit(rect, ink, mask.shape):
            continue
        if multi and areas.max() < MIN_MAIN_PIECE * ink:
            continue
        digits.append((rect, group))
    if multi and digits:  # the digits of a number are about equally tall: dots and stray pieces are not
        tallest = max(rect.h for rect, _ in digits)
        digits = [(rect, group) for rect, group in digits if rect.h >= MIN_HEIGHT_IN_NUMBER * tallest]
    digits.sort(key=lambda item: item[0].x)
    return [(rect, select(labels[rect.slices()], group, len(stats))) for rect, group in digits]


def _touches_border(stats: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    x, y, cw, ch = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3]
    return (x == 0) | (y == 0) | (x + cw == w) | (y + ch == h)


def _union_of(boxes: list[list[int]]) -> Rect:
    """The rect around (x, y, w, h) boxes. Plain Python: a digit has a handful of pieces."""
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return Rect(x0, y0, x1 - x0, y1 - y0)


def _looks_like_digit(rect: Rect, ink: int, box_shape: tuple[int, int]) -> bool:
    """Reject what cannot be a digit: too small to read, a dash, or a solid blob."""
    bh, bw = box_shape
    if max(rect.w, rect.h) < 0.12 * min(bh, bw) or rect.h < 0.08 * bh:
        return False
    if rect.w > 2.5 * rect.h:  # dashes, underlines
        return False
    fill = ink / float(rect.w * rect.h)
    return not (fill > 0.72 and rect.w > 0.45 * rect.h)  # fingertips, blots


def _neighbourhood_group(stats: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The largest candidate and the candidates near it (grown twice: pieces of pieces)."""
    main = int(keep[np.argmax(stats[keep, cv2.CC_STAT_AREA])])
    boxes = dict(zip(keep.tolist(), stats[keep, :4].tolist(), strict=True))
    group = {main}
    for _ in range(2):
        r = _union_of([boxes[lab] for lab in group])
        pad = max(4, int(0.5 * max(r.w, r.h)))
        x0, y0, x1, y1 = r.x - pad, r.y - pad, r.x + r.w + pad, r.y + r.h + pad
        for lab, (sx, sy, sw, sh) in boxes.items():
            if sx < x1 and sx + sw > x0 and sy < y1 and sy + sh > y0:
                group.add(lab)
    return np.array(sorted(group))


def _column_groups(stats: np.ndarray, keep: np.ndarray) -> list[np.ndarray]:
    """Candidates grouped left to right: one group per column of overlapping extents."""
    order = keep[np.argsort(stats[keep, cv2.CC_STAT_LEFT])]
    groups: list[list[int]] = []
    right = -1
    for lab in order:
        sx, sw = stats[lab, 0], stats[lab, 2]
        overlap = right - sx
        if groups and overlap > 0.25 * min(sw, right - stats[groups[-1], 0].min()):
            groups[-1].append(int(lab))
            right = max(right, sx + sw)
        else:
            groups.append([int(lab)])
            right = sx + sw
    return [np.array(g) for g in groups]

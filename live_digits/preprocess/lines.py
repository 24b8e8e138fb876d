"""Ink mask -> the same mask without ruled lines, margins and sheet edges, strokes kept."""

from __future__ import annotations

import cv2
import numpy as np

from live_digits.preprocess.labels import components, select

LINE_RUN = 7  # ink runs across a ruled line at least this long are pen strokes, not the line
LINE_PIECE = 0.15  # a piece of a line spans at least this share of the box ...
LINE_SPAN = 0.8  # ... and a whole line at least this share of the side it crosses
LINE_DASH_HEIGHT = 3  # a dash of a faint ruled line is at most this many px tall ...
LINE_DASH_LENGTH = 8  # ... and at least this long (shorter: specks of noise)
FAINT_RULING_DASHES = 6  # this many dashes are a faint ruling
HOUGH_SCALE = 2  # lines are searched for at 1/HOUGH_SCALE of the box's resolution


def remove_ruled_lines(mask: np.ndarray, labelled: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Erase straight lines that cross the box from a uint8 mask (H, W); returns `mask` itself if none.

    Only components touching the border (a line crosses it; a broken line, or one merged
    with a digit it crosses, may reach only one side), long thin pieces of a broken line
    and the dashes of a faint one (with, where many, the thin ink of the digit's piece that
    the line runs through) are searched, and a line must run nearly the whole box (a tall
    '1' does not);
    vertical lines are looked for again without the horizontal ones. Along a line, only
    pixels in short runs across it are erased: where a pen stroke crosses the line, its
    pixels form a long run and stay, so the digit is not cut. `labelled` is
    `labels.components(mask)` when the caller has it already.
    """
    labels, stats = labelled if labelled is not None else components(mask)
    h, w = mask.shape
    pieces, dashes = _line_pieces(stats, (h, w))
    if not pieces:
        return mask
    crossing = select(labels, np.array(pieces), len(stats))
    if dashes >= FAINT_RULING_DASHES:
        # A faint ruling: where a line runs through the digit it is part of the digit's
        # piece, and its thin stretches there join the dashes on either side.
        thick = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, LINE_RUN)))
        crossing = cv2.bitwise_or(crossing, cv2.subtract(mask, thick))
    bands = np.zeros((2, h, w), np.uint8)  # [0]: near-horizontal lines, [1]: near-vertical
    if not _draw_lines(crossing, bands):
        return mask
    if bands[0].any() and bands[1].any():
        # Look for vertical lines again without the horizontal ones: else a vertical pen
        # stroke (the stem of a 7) plus the ruled lines' pixels above and below it in
        # the same column add up to a "line" across the box, and the stroke is erased.
        bands[1] = 0
        _draw_lines(cv2.subtract(crossing, bands[0]), bands, only_vertical=True)
    out = mask.copy()
    for band, kernel in zip(bands, ((1, LINE_RUN), (LINE_RUN, 1)), strict=True):
        if band.any():
            across = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
            out[(band > 0) & (across == 0)] = 0
    return out


def _line_pieces(stats: np.ndarray, shape: tuple[int, int]) -> tuple[list[int], int]:
    """Labels of the components that may be (part of) a ruled line, and how many of them
    are dashes: touching the border, long and thin, or short flat dashes. Only the few
    components at least LINE_PIECE of the box across are looked at one by one, in plain
    Python (numpy's per-call overhead dominates on a few rows)."""
    h, w = shape
    size = h * w
    long = np.flatnonzero((stats[1:, 2] >= LINE_PIECE * w) | (stats[1:, 3] >= LINE_PIECE * h)) + 1
    # A faint, fine ruled line thresholds into short dashes, none of them long: flat ones join in.
    cw, ch = stats[1:, 2], stats[1:, 3]
    dashes = np.flatnonzero((ch <= LINE_DASH_HEIGHT) & (cw >= LINE_DASH_LENGTH) & (cw < LINE_PIECE * w)) + 1
    pieces = dashes.tolist()
    for label, (x, y, cw, ch, area) in zip(long.tolist(), stats[long].tolist(), strict=True):
        edge = (x == 0 or y == 0 or x + cw == w or y + ch == h) and area < 0.3 * size  # thin, not a hand
        # A pale ruled line can threshold into dashes: long flat pieces, which Hough joins up.
        flat = cw >= LINE_PIECE * w and ch <= max(4, LINE_PIECE * cw)
        upright = ch >= LINE_PIECE * h and cw <= max(4, LINE_PIECE * ch)
        if edge or flat or upright:
            pieces.append(label)
    return pieces, len(dashes)


def _draw_lines(crossing: np.ndarray, bands: np.ndarray, only_vertical: bool = False) -> bool:
    """Find straight lines across the box in `crossing` and draw them, 4 px wide, into `bands`
    ([0] near-horizontal, [1] near-vertical); True if any was drawn.

    The search runs at half resolution in 1 degree steps: a line across the box is still long
    enough to be found there, at about a sixth of the cost (docs/speed.md). A line found is
    drawn back at full scale 4 px wide, covering the pixel the halving may have moved it.
    """
    h, w = crossing.shape
    small_size = (max(1, w // HOUGH_SCALE), max(1, h // HOUGH_SCALE))  # a box 1 px thin stays 1 px
    small = cv2.resize(crossing, small_size, interpolation=cv2.INTER_AREA)
    span = min(small_size)
    segments = cv2.HoughLinesP(
        cv2.threshold(small, 0, 255, cv2.THRESH_BINARY)[1],  # any ink in the 2x2 cell
        1,
        np.pi / 180,
        threshold=span // 3,
        minLineLength=int(span * LINE_SPAN),
        maxLineGap=span // 4,
    )
    found = False
    for x0, y0, x1, y1 in () if segments is None else HOUGH_SCALE * segments.reshape(-1, 4):
        vertical = abs(y1 - y0) > abs(x1 - x0)
        side = h if vertical else w
        # Only segments as long as the box side they cross (less the halving's rounding): shorter ones are not ruling.
        if (vertical or not only_vertical) and np.hypot(x1 - x0, y1 - y0) >= LINE_SPAN * side - HOUGH_SCALE:
            cv2.line(bands[int(vertical)], (int(x0), int(y0)), (int(x1), int(y1)), 255, thickness=4)
            found = True
    return found

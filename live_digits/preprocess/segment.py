"""Ink mask -> the digit(s) in it: components, grouping into digits, rejecting what is not one."""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from live_digits.preprocess.box import Rect
from live_digits.preprocess.labels import components, select

MAX_INK = 0.5  # a crop more than half ink is a covered lens or a dark object, not a digit
MIN_DIGIT = 0.12  # a digit is at least this much of the box's shorter side tall or wide ...
MIN_DIGIT_IN_NUMBER = 0.07  # ... in a number, where a digit may be half its neighbour's height, this
DASH_ASPECT = 2.5  # a piece wider than this many times its height is a dash or an underline ...
RUN_ASPECT = 6.0  # ... but in a number a run of up to six touching digits (the line reader's most)
# In a number, a piece under MIN_HEIGHT_IN_NUMBER of the tallest digit's height is a digit
# only if it stands on the number's line (its bottom within ON_THE_LINE of that height from
# the tall digits' bottoms), is at least MIN_SMALL_DIGIT of it tall and SMALL_DIGIT_ASPECT
# as wide as tall: a small 0 beside a 9 is read; a dot, a tick (and so a small 1) or a mark
# above the line is not.
MIN_HEIGHT_IN_NUMBER = 0.5
ON_THE_LINE = 0.2
MIN_SMALL_DIGIT = 0.3
SMALL_DIGIT_ASPECT = 0.35
# A piece of a number at least PAIR_ASPECT as wide as tall may be touching digits: cut
# candidates are its CUTS thinnest columns between CUT_MARGIN and 1 - CUT_MARGIN of its width ...
PAIR_ASPECT = 0.6
CUT_MARGIN = 0.1
CUTS = 4
MAX_PARTS = 4  # ... into at most this many digits, none narrower than MIN_PART of its height
MIN_PART = 0.15
# In a number, a column of pieces none of which holds this share of the ink is debris
# (dashes of a pale ruled line, blobs where a margin crossed the lines), not a digit.
MIN_MAIN_PIECE = 0.3
# A piece touching the box border is a pen stroke running into the edge, not a hand, the
# desk, a sheet's edge or noise, only if it has EDGE_MIN_SHARE of the largest piece that
# can be a digit, meets each side in at most EDGE_MAX_RUNS runs (EDGE_RUN_GAP px apart is
# one run) along at most EDGE_MAX_CONTACT of it, covers at most EDGE_MAX_AREA of the box,
# and is not a straight bar: its rotated bounding rectangle thinner than EDGE_BAR_ASPECT
# and either a line (under EDGE_LINE_PX across) or filled: more than EDGE_BAR_FILL ink, or
# EDGE_RAGGED_FILL if it meets two sides (a ragged margin line in the dark; a curving 1
# from one side to the next fills a third).
EDGE_MIN_SHARE = 0.25
EDGE_MAX_RUNS = 3  # a loop cut by the edge, and one more stroke's tip
EDGE_RUN_GAP = 4
EDGE_MAX_CONTACT = 0.45
EDGE_MAX_AREA = 0.5
EDGE_BAR_ASPECT = 0.3
EDGE_BAR_FILL = 0.75
EDGE_RAGGED_FILL = 0.5
EDGE_LINE_PX = 6
# A piece filling more than BLOT_FILL of its rect is a fingertip or a blot unless it has a
# hole of at least BLOT_HOLE of its ink (a fat marker's 8: holes of 2-5%, a specular glint less).
BLOT_FILL = 0.72
BLOT_HOLE = 0.01
# In a number, a straight stroke running into one side of the box (a bar to
# `_stroke_reaching_edge`) is a 1 if it stands like one beside the end digit (the left or
# right side) or in a gap between two digits (the top or bottom: a number held high or low
# in the box) (`_ones_cut_by_the_edge`).
ONE_HEIGHT = (0.6, 1.3)
ONE_GAP = 1.0
EDGE_RIM = 4  # px around a piece searched for the desk beside it
MAX_DESK_SHARE = 0.5  # a piece more than this surrounded by the desk is on the desk, not the sheet


def too_much_ink(mask: np.ndarray) -> bool:
    """A uint8 mask more than MAX_INK ink holds no readable digit."""
    return np.count_nonzero(mask) > MAX_INK * mask.size


def candidate_components(labels: np.ndarray, stats: np.ndarray, off_paper: np.ndarray | None = None) -> np.ndarray:
    """Label ids of the components that can be (part of) a digit.

    Specks (tiny next to the box and to the largest component) are dropped, and so are
    blobs touching the box border (a hand, a shadow, the sheet's edge, the desk), unless
    they look like a pen stroke that runs into one edge (`_stroke_reaching_edge`): people
    do not keep every digit inside the box. `off_paper` (uint8 like labels, 255 where the
    box shows no paper) rules out what lies on the desk beside a small sheet (`_desk_share`).
    """
    if len(stats) <= 1:
        return np.empty(0, np.int64)
    areas = stats[1:, cv2.CC_STAT_AREA]
    touching = _touches_border(stats[1:], labels.shape)
    # Specks are small next to the largest piece inside the box, not next to the desk or a hand across its border.
    inside = areas[~touching]
    min_area = max(8.0, 4e-4 * labels.size, 0.04 * (inside.max() if inside.size else areas.max()))
    ok = (areas >= min_area) & ~touching
    # A stroke reaching the edge needs a share of the largest piece that can be a digit,
    # not of the desk strip or the hand beside it, which are rejected themselves.
    largest = int(areas[ok].max()) if ok.any() else 0
    reaching = []
    for i in sorted(np.flatnonzero(touching & (areas >= min_area)).tolist(), key=lambda i: -areas[i]):
        if areas[i] < EDGE_MIN_SHARE * largest:
            break  # the rest are smaller still
        if _stroke_reaching_edge(labels, stats, i + 1) and _desk_share(labels, stats, i + 1, off_paper) == 0:
            reaching.append(i)
            largest = max(largest, int(areas[i]))
    ok[[i for i in reaching if areas[i] >= EDGE_MIN_SHARE * largest]] = True
    if off_paper is not None:  # ink is written on the paper, not on the desk round it
        for i in np.flatnonzero(ok & ~touching).tolist():
            ok[i] = _desk_share(labels, stats, i + 1, off_paper) <= MAX_DESK_SHARE
    return np.flatnonzero(ok) + 1


def _stroke_reaching_edge(labels: np.ndarray, stats: np.ndarray, label: int) -> bool:
    """True if a border-touching component is a digit's stroke running into the box's edges.

    It meets at most two sides (a digit as tall as the box meets the top and the bottom),
    each in a few runs (a loop cut by the edge, a stroke's tip) covering at most
    EDGE_MAX_CONTACT of it (a hand or the desk meets it broadly), it is no bigger than a
    digit, and it is not a straight bar (a sheet's edge, a ruled line's remains).
    """
    h, w = labels.shape
    x, y, cw, ch, area = stats[label].tolist()
    sides = [(labels[:, 0], x == 0), (labels[:, -1], x + cw == w), (labels[0], y == 0), (labels[-1], y + ch == h)]
    touched = [border for border, touches in sides if touches]
    if len(touched) > 2 or area > EDGE_MAX_AREA * h * w:
        return False
    for border in touched:
        contact = (border == label).view(np.uint8)
        # Runs a few px apart are one: noise nicks the rim of a stroke where it meets the edge.
        bridged = cv2.morphologyEx(contact[None], cv2.MORPH_CLOSE, np.ones((1, EDGE_RUN_GAP + 1), np.uint8))[0]
        runs = np.count_nonzero(np.diff(bridged.astype(np.int8), prepend=0) == 1)
        if runs > EDGE_MAX_RUNS or np.count_nonzero(contact) > EDGE_MAX_CONTACT * len(contact):
            return False
    short, long = (max(side, 1.0) for side in _rotated_sides(labels, stats, label))
    fill = area / (short * long)
    straight = short < EDGE_LINE_PX or fill > (EDGE_RAGGED_FILL if len(touched) > 1 else EDGE_BAR_FILL)
    if short < EDGE_BAR_ASPECT * long and straight:
        return False  # a bar; across the box, even a ragged one (a margin line in the dark)
    return True


def _rotated_sides(labels: np.ndarray, stats: np.ndarray, label: int) -> tuple[float, float]:
    """The short and long side of a component's rotated bounding rectangle (px)."""
    x, y, cw, ch = stats[label, :4].tolist()
    piece = (labels[y : y + ch, x : x + cw] == label).view(np.uint8)
    (_, _), (rw, rh), _ = cv2.minAreaRect(cv2.findNonZero(piece))
    return min(rw, rh), max(rw, rh)


def _desk_share(labels: np.ndarray, stats: np.ndarray, label: int, off_paper: np.ndarray | None) -> float:
    """The share of a component's surroundings (EDGE_RIM px around it) that is not paper."""
    if off_paper is None:
        return 0.0
    h, w = labels.shape
    x, y, cw, ch, _ = stats[label].tolist()
    y0, y1, x0, x1 = max(y - EDGE_RIM, 0), min(y + ch + EDGE_RIM, h), max(x - EDGE_RIM, 0), min(x + cw + EDGE_RIM, w)
    piece = (labels[y0:y1, x0:x1] == label).view(np.uint8)
    ring = cv2.subtract(cv2.dilate(piece, np.ones((2 * EDGE_RIM + 1, 2 * EDGE_RIM + 1), np.uint8)), piece)
    return cv2.countNonZero(cv2.bitwise_and(ring, off_paper[y0:y1, x0:x1])) / max(cv2.countNonZero(ring), 1)


def find_digit_groups(
    mask: np.ndarray,
    multi: bool = False,
    labelled: tuple[np.ndarray, np.ndarray] | None = None,
    off_paper: np.ndarray | None = None,
) -> list[tuple[Rect, np.ndarray]]:
    """Group candidate components into digits: [(rect, tight uint8 patch)], left to right.

    Single mode: the largest component plus the pieces lying next to it (a '5' drawn
    in two strokes, a stroke cut by a ruled line). Multi mode: components whose
    horizontal extents overlap are one digit; separate columns are separate digits.
    """
    labels, stats = labelled if labelled is not None else components(mask)
    keep = candidate_components(labels, stats, off_paper)
    if keep.size == 0:
        return []
    if not multi:
        group = _neighbourhood_group(stats, keep)
        rect = _union_of(stats[group, :4].tolist())
        if not _looks_like_digit(rect, mask.shape):
            return []
        patch = select(labels[rect.slices()], group, len(stats))
        return [] if _solid_blob(rect, patch) else [(rect, patch)]
    digits = []
    for group in _column_groups(stats, keep):
        areas = stats[group, cv2.CC_STAT_AREA]
        if areas.max() < MIN_MAIN_PIECE * areas.sum():
            continue
        rect = _union_of(stats[group, :4].tolist())
        if _looks_like_digit(rect, mask.shape, MIN_DIGIT_IN_NUMBER, RUN_ASPECT):
            digits.append((rect, group))
    digits = _on_the_line(digits) if digits else []
    if digits:
        digits += _ones_cut_by_the_edge(digits, _edge_bars(labels, stats, keep, off_paper), mask.shape[1])
    digits.sort(key=lambda item: item[0].x)
    patches = [(rect, select(labels[rect.slices()], group, len(stats))) for rect, group in digits]
    if all(_solid_blob(rect, patch) for rect, patch in patches):
        return []  # blots or a fingertip alone; beside other digits a blob is a fat marker's small digit
    return patches


def split_touching(rect: Rect, patch: np.ndarray) -> list[list[tuple[Rect, np.ndarray]]]:
    """Where a piece of a number may be touching digits: the ways to cut it into 2-MAX_PARTS digits.

    A piece at least PAIR_ASPECT as wide as tall may hold digits whose strokes meet
    (connected components cannot part them). Candidate cuts are the CUTS columns with the
    least ink (where neighbours touch, the ink is thinnest) between CUT_MARGIN and
    1 - CUT_MARGIN of its width; a way to cut it takes one or more of them, leaving no part
    narrower than MIN_PART of its height, and no more parts than the piece is wide for.
    Only candidates: a wide 0 is one digit, and the classifier decides
    (`recognizer.read_touching`). Returns, per way, its parts as [(rect in the mask, tight
    uint8 patch)], left to right; [] for a narrow piece.
    """
    if rect.w < PAIR_ASPECT * rect.h:
        return []
    profile = cv2.blur(np.count_nonzero(patch, axis=0).astype(np.float32)[None], (5, 1))[0]
    lo, hi = int(CUT_MARGIN * rect.w), int((1 - CUT_MARGIN) * rect.w)
    inner = profile[lo:hi]
    minima = [i for i in range(1, len(inner) - 1) if inner[i] <= inner[i - 1] and inner[i] < inner[i + 1]]
    cuts = sorted(lo + c for c in sorted(minima, key=lambda i: inner[i])[:CUTS]) or [lo + int(np.argmin(inner))]
    most = min(MAX_PARTS, max(2, round(rect.w / (PAIR_ASPECT * rect.h))))
    ways, spans = [], {}  # a span (a, b) shared by several ways is cut out once
    for n in range(1, most):
        for chosen in itertools.combinations(cuts, n):
            edges = list(itertools.pairwise([0, *chosen, rect.w]))
            if min(b - a for a, b in edges) < MIN_PART * rect.h:
                continue
            for edge in edges:
                if edge not in spans:
                    spans[edge] = _tight(rect, patch, *edge)
            parts = [spans[edge] for edge in edges]
            if all(parts):
                ways.append(parts)
    return ways


def _tight(rect: Rect, patch: np.ndarray, x0: int, x1: int) -> tuple[Rect, np.ndarray] | None:
    """Columns x0:x1 of a patch, cropped to their ink, with their rect in the mask; None if blank."""
    part = patch[:, x0:x1]
    rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
    if rows.size == 0:
        return None
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return Rect(rect.x + x0 + left, rect.y + top, right - left, bottom - top), part[top:bottom, left:right]


def _on_the_line(digits: list[tuple[Rect, np.ndarray]]) -> list[tuple[Rect, np.ndarray]]:
    """The pieces of a number that are digits: the tall ones, and short ones standing on their line."""
    tallest = max(rect.h for rect, _ in digits)
    tall = [rect for rect, _ in digits if rect.h >= MIN_HEIGHT_IN_NUMBER * tallest]
    line = float(np.median([rect.y + rect.h for rect in tall]))
    return [
        (rect, group)
        for rect, group in digits
        if rect.h >= MIN_HEIGHT_IN_NUMBER * tallest
        or (
            rect.h >= MIN_SMALL_DIGIT * tallest
            and rect.w >= SMALL_DIGIT_ASPECT * rect.h
            and abs(rect.y + rect.h - line) <= ON_THE_LINE * tallest
        )
    ]


def _edge_bars(
    labels: np.ndarray, stats: np.ndarray, keep: np.ndarray, off_paper: np.ndarray | None
) -> list[tuple[Rect, np.ndarray]]:
    """The pieces left out as bars (any slant) that run into one side of the box only, on the
    paper, as [(rect, [label])]: a 1 cut by the edge, or a sheet's edge."""
    h, w = labels.shape
    x, y, cw, ch, area = (stats[:, i] for i in range(5))
    sides = (x == 0).astype(int) + (x + cw == w) + (y == 0) + (y + ch == h)
    one_side = (sides == 1) & (area >= 8)
    one_side[0] = False
    one_side[keep] = False
    bars = []
    for label in np.flatnonzero(one_side).tolist():
        short, long = _rotated_sides(labels, stats, label)
        if short < EDGE_BAR_ASPECT * long and _desk_share(labels, stats, label, off_paper) == 0:
            bars.append((Rect(*stats[label, :4].tolist()), np.array([label])))
    return bars


def _ones_cut_by_the_edge(
    digits: list[tuple[Rect, np.ndarray]], bars: list[tuple[Rect, np.ndarray]], width: int
) -> list:
    """The edge bars standing like a 1: ONE_HEIGHT times the digits' median height, ONE_GAP of
    it from its neighbour and level with it (half the bar's height; the edge may cut its foot),
    beside the number's first or last digit (a bar cut by the left or right side, of a mask
    `width` wide) or in a gap between two digits (cut by the top or bottom)."""
    if not bars:
        return []
    rects = sorted((rect for rect, _ in digits), key=lambda r: r.x)
    height = float(np.median([r.h for r in rects]))
    ones = []
    for bar, group in bars:
        if bar.x == 0 or bar.x + bar.w == width:  # cut by a side: beside the number's end
            neighbour = rects[0] if bar.x < rects[0].x else rects[-1]
        else:  # cut by the top or bottom: in a gap between two of its digits
            inside = rects[0].x < bar.x and bar.x + bar.w < rects[-1].x + rects[-1].w
            if not inside or any(bar.gap_x(r) < 0 for r in rects):
                continue
            neighbour = min(rects, key=lambda r: bar.gap_x(r))
        level = min(bar.y + bar.h, neighbour.y + neighbour.h) - max(bar.y, neighbour.y)
        beside = bar.gap_x(neighbour) <= ONE_GAP * height and level >= bar.h / 2
        if ONE_HEIGHT[0] * height <= bar.h <= ONE_HEIGHT[1] * height and beside:
            ones.append((bar, group))
    return ones


def _touches_border(stats: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    x, y, cw, ch = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3]
    return (x == 0) | (y == 0) | (x + cw == w) | (y + ch == h)


def _union_of(boxes: list[list[int]]) -> Rect:
    """The rect around (x, y, w, h) boxes. Plain Python: a digit has a handful of pieces."""
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return Rect(x0, y0, x1 - x0, y1 - y0)


def _looks_like_digit(
    rect: Rect, box_shape: tuple[int, int], smallest: float = MIN_DIGIT, widest: float = DASH_ASPECT
) -> bool:
    """Reject what cannot be a digit by its rect: too small to read (under `smallest` of the
    box's shorter side) or a dash (wider than `widest` times its height)."""
    bh, bw = box_shape
    big_enough = max(rect.w, rect.h) >= smallest * min(bh, bw) and rect.h >= 0.08 * bh
    return big_enough and rect.w <= widest * rect.h


def _solid_blob(rect: Rect, patch: np.ndarray) -> bool:
    """A fingertip or a blot: a uint8 patch that fills most of its rect, is not narrow like
    a 1, and has no hole a loop leaves (a fat marker's 0, 6 or 8 keeps at least a small one)."""
    ink = cv2.countNonZero(patch)
    if ink <= BLOT_FILL * rect.w * rect.h or rect.w <= 0.45 * rect.h:
        return False
    contours, hierarchy = cv2.findContours(patch, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    holes = [cv2.contourArea(c) for c, link in zip(contours, hierarchy[0], strict=True) if link[3] >= 0]
    return max(holes, default=0.0) < BLOT_HOLE * ink


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

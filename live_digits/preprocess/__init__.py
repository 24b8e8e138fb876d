"""Pure image functions: camera frame -> ink mask -> MNIST-like 28x28 digit(s).

One module per stage, each with its own constants:

    box        the centred box of a frame, any frame as 8-bit gray
    threshold  gray -> ink mask (darkness relative to the local paper)
    lines      erase ruled lines, margins and sheet edges, keep strokes crossing them
    segment    mask -> the digit(s): components, grouping, rejecting non-digits
    normalise  one digit -> 28x28 like MNIST (bbox 20x20, centre of mass at the centre)

`read_box` composes them; training, evaluation and the live loop all call it, so they
share exactly the same preprocessing. Masks are uint8 with ink = 255 on background = 0
(MNIST polarity); model inputs are float32 in [0, 1], shape (28, 28).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from live_digits.preprocess.box import Rect, centred_box, to_gray
from live_digits.preprocess.labels import components
from live_digits.preprocess.lines import remove_ruled_lines
from live_digits.preprocess.normalise import INPUT_SIZE, normalise_patch
from live_digits.preprocess.segment import find_digit_groups, split_touching, too_much_ink
from live_digits.preprocess.threshold import NUMBER_HYSTERESIS, read_ink, threshold_ink

DEFAULT_BOX = (200, 200)  # (width, height) of the centred crop read for one digit
NUMBER_BOX = (400, 200)  # ... and for a number (--multi): room for several digits side by side
# People do not keep every stroke inside the box: when a digit's piece touches the box's
# edge, the box grown by REACH of its sides on each side is read too, and the piece found
# there replaces the cut one if it holds REACH_COVER of the cut piece's rect and has
# REACH_INSIDE of its own rect inside the box (a digit mostly outside it is not read).
# Only a piece at the edge is replaced: reading the grown box always shows more of a small
# sheet's edge and the desk, and lost more than it gained (docs/accuracy.md).
REACH = 0.15
REACH_COVER = 0.8
REACH_INSIDE = 0.5
# A number held partly outside the box must not be shown cut short ("491" for 4913). Past its
# left or right side, within PAST_GAP digit heights of the number's end piece, a piece on the
# number's line (no more than PAST_BAND heights above or below it), as tall as its digits
# (PAST_SIZE), not thin (PAST_THIN: a margin, a sheet's edge), with PAST_OUT of its width
# beyond the side, on paper and not cut by the read, is more of the number (`past_the_sides`).
PAST_GAP = 1.0
PAST_BAND = 0.3
PAST_SIZE = (0.6, 1.3)
PAST_THIN = 0.3
PAST_OUT = 0.25

__all__ = [
    "DEFAULT_BOX",
    "INPUT_SIZE",
    "NUMBER_BOX",
    "Digit",
    "Rect",
    "centred_box",
    "find_digits",
    "normalise_crop",
    "normalise_patch",
    "past_the_sides",
    "past_the_top_or_bottom",
    "read_box",
    "remove_ruled_lines",
    "threshold_ink",
    "to_gray",
]


@dataclass(frozen=True)
class Digit:
    """One digit found in a mask: where it is and the 28x28 model input made from it."""

    rect: Rect  # bounding box in the mask it was found in (one read past the box edge overhangs it)
    image: np.ndarray  # float32 (28, 28) in [0, 1], white ink on black
    # Number mode: makes `splits` when first asked. Most pieces read surely whole and are never
    # cut, and cutting and normalising every way's parts cost more than the rest of the read.
    cut: Callable[[], tuple[tuple[Digit, ...], ...]] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def splits(self) -> tuple[tuple[Digit, ...], ...]:
        """A piece wide enough to be touching digits: the ways to cut it into digits
        (`segment.split_touching`), each its parts; the classifier decides which reading holds."""
        return self.cut() if self.cut is not None else ()

    def remapped(self, place: Callable[[Rect], Rect]) -> Digit:
        """The digit with `place` applied to its rect, and to its parts' when they are made
        (moved into a bigger box, scaled to a frame's pixels)."""
        cut = None if self.cut is None else functools.partial(_remapped_ways, self, place)
        return dataclasses.replace(self, rect=place(self.rect), cut=cut)


def _remapped_ways(digit: Digit, place: Callable[[Rect], Rect]) -> tuple[tuple[Digit, ...], ...]:
    return tuple(tuple(part.remapped(place) for part in way) for way in digit.splits)


def find_digits(mask: np.ndarray, multi: bool = False, off_paper: np.ndarray | None = None) -> list[Digit]:
    """Binary crop mask (uint8 (H, W), ink 255) -> the digits in it as model inputs, left to right.

    An empty list means "no digit": blank paper, noise, a hand, a line. `off_paper`: where
    the box shows no paper (`threshold.read_ink`), if known.
    """
    if too_much_ink(mask):
        return []
    labelled = components(mask)
    clean = remove_ruled_lines(mask, labelled)
    if clean is not mask:
        mask, labelled = clean, components(clean)
    pieces = find_digit_groups(mask, multi, labelled, off_paper)
    return [
        Digit(rect, normalise_patch(patch), functools.partial(_ways, rect, patch) if multi else None)
        for rect, patch in pieces
    ]


def _ways(rect: Rect, patch: np.ndarray) -> tuple[tuple[Digit, ...], ...]:
    """The ways to cut a piece (`rect` in the mask, its uint8 `patch`) into touching digits, as Digits."""
    cuts = split_touching(rect, patch)
    parts: dict[int, Digit] = {}  # the ways share parts: each is normalised once
    for r, p in (part for way in cuts for part in way):
        if id(p) not in parts:
            parts[id(p)] = Digit(r, normalise_patch(p))
    return tuple(tuple(parts[id(p)] for _, p in way) for way in cuts)


def read_box(
    frame: np.ndarray, box_size: tuple[int, int], threshold: int = 0, multi: bool = False, scale: float = 1.0
) -> tuple[Rect, np.ndarray, float, list[Digit]]:
    """A camera frame (any dtype/channels) -> (its centred box, the box's uint8 ink mask,
    the threshold level used, the digits in it).

    The one path from a frame to model inputs: the live loop and training both take it.
    Number mode also keeps faint ink that touches the ink (hysteresis). A digit cut by the
    box's edge is read whole from the frame around the box (`REACH`): its rect then
    overhangs the mask. `scale` > 1 reads the box shrunk that many times (gray, INTER_AREA):
    the mask and the digits' rects are then in the shrunk pixels.
    """
    box = centred_box(frame.shape, box_size)
    mask, level, digits, _ = _read(frame, box, threshold, multi, scale)
    if any(d.rect.touches_edge(mask.shape) for d in digits):
        digits = _reach_past_edge(frame, box, threshold, multi, scale, digits, mask.shape)
    return box, mask, level, digits


def _read(
    frame: np.ndarray, box: Rect, threshold: int, multi: bool, scale: float
) -> tuple[np.ndarray, float, list[Digit], np.ndarray | None]:
    """The `box` of `frame` read: its ink mask, the level used, the digits, where it is not paper."""
    gray = to_gray(frame[box.slices()])
    if gray.size == 0:  # a 0-size frame: nothing to threshold, no digit
        return gray, float(threshold), [], None
    if scale != 1:
        shrunk = (max(1, round(box.w / scale)), max(1, round(box.h / scale)))
        gray = cv2.resize(gray, shrunk, interpolation=cv2.INTER_AREA)
    mask, level, off_paper = read_ink(gray, threshold, NUMBER_HYSTERESIS if multi else None)
    return mask, level, find_digits(mask, multi, off_paper), off_paper


def _reach_past_edge(
    frame: np.ndarray,
    box: Rect,
    threshold: int,
    multi: bool,
    scale: float,
    digits: list[Digit],
    shape: tuple[int, ...],
) -> list[Digit]:
    """`digits` (in the box's (H, W) mask of `shape`) with each one cut by the box's edge
    replaced by its whole piece read in the grown box, where there is one (rects in the mask's pixels)."""
    size = (round(box.w * (1 + 2 * REACH)), round(box.h * (1 + 2 * REACH)))
    grown = centred_box(frame.shape, size)
    if grown == box:  # the frame is no bigger than the box
        return digits
    dx, dy = round((grown.x - box.x) / scale), round((grown.y - box.y) / scale)
    into_box = functools.partial(Rect.moved, dx=dx, dy=dy)
    found = [d.remapped(into_box) for d in _read(frame, grown, threshold, multi, scale)[2]]
    inside, used, out = Rect(0, 0, shape[1], shape[0]), set(), []
    for digit in digits:
        if digit.rect.touches_edge(shape) and found:
            i = max(range(len(found)), key=lambda k: found[k].rect.overlap(digit.rect))
            whole = found[i].rect
            held = whole.overlap(digit.rect) >= REACH_COVER * digit.rect.w * digit.rect.h
            mostly_inside = whole.overlap(inside) >= REACH_INSIDE * whole.w * whole.h
            if held and i not in used and mostly_inside and _past_only_where_cut(whole, digit.rect, inside):
                used.add(i)
                digit = found[i]
        out.append(digit)
    return out


def past_the_sides(
    frame: np.ndarray, box: Rect, threshold: int, digits: list[Digit], mask: np.ndarray, scale: float = 1.0
) -> list[Digit]:
    """Number mode: pieces of the number past the box's left or right side (`PAST_GAP` ...).

    `digits` are the number's pieces as `read_box` found them in the box's uint8 `mask`
    (pixels `scale` times the frame's, like `read_box`'s). A side is looked past when the
    number may go on there: its end piece or other ink on the number's line touches the side,
    or the end piece is closer to it than the number's own gaps (1.5 times their median). Then
    the frame from that piece (from half a height inside it, if the side cuts it) to PAST_GAP +
    PAST_SIZE[1] heights past the side, on the number's line, is read as the box is; a piece it
    cuts is none. Returns the pieces found there that qualify, rects in the mask's pixels
    (overhanging it), for the classifier to judge: a digit there means the box holds only part
    of the number.
    """
    if not digits:
        return []
    rects = sorted((d.rect for d in digits), key=lambda r: r.x)
    height = float(np.median([r.h for r in rects]))
    top, bottom = min(r.y for r in rects), max(r.y + r.h for r in rects)
    band = slice(max(0, round(top - PAST_BAND * height)), min(mask.shape[0], round(bottom + PAST_BAND * height)))
    gaps = [b.x - (a.x + a.w) for a, b in zip(rects, rects[1:], strict=False)]
    spacing = 1.5 * max(float(np.median(gaps)), 0.1 * height) if gaps else PAST_GAP * height / 2
    reach = round((PAST_GAP + PAST_SIZE[1]) * height * scale)  # frame pixels past the side
    found = []
    for end, past in ((rects[0], -1), (max(rects, key=lambda r: r.x + r.w), 1)):
        room = end.x if past < 0 else mask.shape[1] - (end.x + end.w)
        side = mask[band, 0] if past < 0 else mask[band, -1]
        ink_at_side = room <= 0 or np.count_nonzero(side) >= 0.1 * height  # rows of ink (a ruled line: 1-2)
        if room > PAST_GAP * height or (room > spacing and not ink_at_side):
            continue
        # From the end piece's far side; from inside it if the side cuts it (the whole digit is wider).
        inward = round(height / 2) if room <= 0 else -end.w
        if past < 0:
            left = max(0, box.x - reach)
            right = box.x + round((end.x + end.w + inward) * scale)
        else:
            left = box.x + round((end.x - inward) * scale)
            right = min(frame.shape[1], box.x + box.w + reach)
        strip = Rect(left, box.y + round(band.start * scale), right - left, round((band.stop - band.start) * scale))
        if (past < 0 and left >= box.x) or (past > 0 and right <= box.x + box.w):
            continue  # the box reaches the frame's side: nothing past it to read
        strip_mask, _, pieces, off_paper = _read(frame, strip, threshold, True, scale)
        into_box = functools.partial(Rect.moved, dx=round((strip.x - box.x) / scale), dy=band.start)
        for piece in pieces:
            r = into_box(piece.rect)
            beyond = -r.x if past < 0 else r.x + r.w - mask.shape[1]
            if (
                _digit_sized(piece, r, height, strip_mask, off_paper)
                and r.overlap(end) < 0.5 * max(r.w * r.h, end.w * end.h)  # not the end piece read again
                and beyond >= PAST_OUT * r.w
                and r.gap_x(end) <= PAST_GAP * height
            ):
                found.append(piece.remapped(into_box))
    return found


def past_the_top_or_bottom(
    frame: np.ndarray, box: Rect, threshold: int, digits: list[Digit], mask: np.ndarray, scale: float = 1.0
) -> list[Digit]:
    """Number mode: digits of the number that the box's top or bottom cut away.

    When some of the number's pieces (`digits`, as `read_box` found them in the box's uint8
    `mask`) reach past the box's top or bottom, a digit beside them may reach further out and
    leave too little inside to be read (9264 held low showed 926). The frame's band along the
    number's line, PAST_SIZE[1] heights further past the edge it crosses and PAST_GAP +
    PAST_SIZE[1] heights past its ends, is read as the box is. Returns the pieces found there
    that the box's top or bottom cuts, as tall as the number's digits (PAST_SIZE), not thin
    (PAST_THIN), on its line, within PAST_GAP heights of its pieces and none of them, neither
    cut by the band nor beside the desk; rects in the mask's pixels, for the classifier to judge.
    """
    rects = [d.rect for d in digits]
    above, below = any(r.y < 0 for r in rects), any(r.y + r.h > mask.shape[0] for r in rects)
    if not (above or below):
        return []
    height = float(np.median([r.h for r in rects]))
    top, bottom = min(r.y for r in rects), max(r.y + r.h for r in rects)
    reach = (PAST_GAP + PAST_SIZE[1]) * height
    x0, x1 = min(r.x for r in rects) - reach, max(r.x + r.w for r in rects) + reach
    y0 = top - (PAST_BAND + PAST_SIZE[1] * above) * height
    y1 = bottom + (PAST_BAND + PAST_SIZE[1] * below) * height
    left, right = max(0, box.x + round(x0 * scale)), min(frame.shape[1], box.x + round(x1 * scale))
    upper, lower = max(0, box.y + round(y0 * scale)), min(frame.shape[0], box.y + round(y1 * scale))
    band = Rect(left, upper, right - left, lower - upper)
    band_mask, _, pieces, off_paper = _read(frame, band, threshold, True, scale)
    into_box = functools.partial(Rect.moved, dx=round((band.x - box.x) / scale), dy=round((band.y - box.y) / scale))
    found = []
    for piece in pieces:
        r = into_box(piece.rect)
        rows_shared = min(r.y + r.h, bottom) - max(r.y, top)
        if (
            _digit_sized(piece, r, height, band_mask, off_paper)
            and (r.y < 0 < r.y + r.h or r.y < mask.shape[0] < r.y + r.h)  # the box's top or bottom cuts it
            and 0 < r.x + r.w
            and r.x < mask.shape[1]  # not past a side: `past_the_sides` looks there
            and all(r.overlap(n) < 0.5 * min(r.w * r.h, n.w * n.h) for n in rects)  # none of the number's pieces
            and rows_shared >= 0.5 * r.h  # on the number's line
            and min(r.gap_x(n) for n in rects) <= PAST_GAP * height
        ):
            found.append(piece.remapped(into_box))
    return found


def _digit_sized(piece: Digit, r: Rect, height: float, read: np.ndarray, off_paper: np.ndarray | None) -> bool:
    """What a piece read beyond the box (`piece`, rect in that read's `read` mask; `r`, the same
    in the box's mask) must be to count as more of a number whose digits are `height` tall: not
    cut by that read (the desk, the frame's side, the next line), as tall as the digits
    (PAST_SIZE), not thin (PAST_THIN: a margin, a sheet's edge), and not beside the desk."""
    return (
        not piece.rect.touches_edge(read.shape)
        and PAST_SIZE[0] * height <= r.h <= PAST_SIZE[1] * height
        and r.w >= PAST_THIN * height
        and (off_paper is None or not _near(off_paper, piece.rect, round(height / 2)))
    )


def _near(mask: np.ndarray, rect: Rect, margin: int) -> bool:
    """Whether `mask` has any pixel set within `margin` of `rect`."""
    y0, x0 = max(0, rect.y - margin), max(0, rect.x - margin)
    return bool(mask[y0 : rect.y + rect.h + margin, x0 : rect.x + rect.w + margin].any())


def _past_only_where_cut(whole: Rect, cut: Rect, box: Rect) -> bool:
    """Whether `whole` goes past the box only across the sides the `cut` piece touches: the
    digit runs on where the edge cut it, and nothing beyond another side (the desk, a sheet's
    edge beside the box) joined it."""
    return (
        (whole.x >= box.x or cut.x <= box.x)
        and (whole.y >= box.y or cut.y <= box.y)
        and (whole.x + whole.w <= box.x + box.w or cut.x + cut.w >= box.x + box.w)
        and (whole.y + whole.h <= box.y + box.h or cut.y + cut.h >= box.y + box.h)
    )


def normalise_crop(mask: np.ndarray) -> np.ndarray | None:
    """The one digit in a binary crop as a float32 (28, 28) model input, or None."""
    digits = find_digits(mask)
    return digits[0].image if digits else None

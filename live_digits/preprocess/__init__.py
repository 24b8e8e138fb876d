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
    mask, level, digits = _read(frame, box, threshold, multi, scale)
    if any(d.rect.touches_edge(mask.shape) for d in digits):
        digits = _reach_past_edge(frame, box, threshold, multi, scale, digits, mask.shape)
    return box, mask, level, digits


def _read(
    frame: np.ndarray, box: Rect, threshold: int, multi: bool, scale: float
) -> tuple[np.ndarray, float, list[Digit]]:
    gray = to_gray(frame[box.slices()])
    if gray.size == 0:  # a 0-size frame: nothing to threshold, no digit
        return gray, float(threshold), []
    if scale != 1:
        shrunk = (max(1, round(box.w / scale)), max(1, round(box.h / scale)))
        gray = cv2.resize(gray, shrunk, interpolation=cv2.INTER_AREA)
    mask, level, off_paper = read_ink(gray, threshold, NUMBER_HYSTERESIS if multi else None)
    return mask, level, find_digits(mask, multi, off_paper)


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

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

from dataclasses import dataclass

import numpy as np

from live_digits.preprocess.box import Rect, centred_box, to_gray
from live_digits.preprocess.labels import components
from live_digits.preprocess.lines import remove_ruled_lines
from live_digits.preprocess.normalise import INPUT_SIZE, normalise_patch
from live_digits.preprocess.segment import find_digit_groups, split_touching, too_much_ink
from live_digits.preprocess.threshold import NUMBER_HYSTERESIS, read_ink, threshold_ink

DEFAULT_BOX = (200, 200)  # (width, height) of the centred crop read for one digit
NUMBER_BOX = (400, 200)  # ... and for a number (--multi): room for several digits side by side

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

    rect: Rect  # bounding box inside the mask it was found in
    image: np.ndarray  # float32 (28, 28) in [0, 1], white ink on black
    # Number mode, a piece wide enough to be touching digits: the ways to cut it into
    # digits (`segment.split_touching`); the classifier decides which reading holds.
    splits: tuple[tuple[Digit, ...], ...] = ()


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
    digits = []
    for rect, patch in find_digit_groups(mask, multi, labelled, off_paper):
        cuts = split_touching(rect, patch) if multi else []
        parts: dict[int, Digit] = {}  # the ways share parts: each is normalised once
        for r, p in (part for way in cuts for part in way):
            if id(p) not in parts:
                parts[id(p)] = Digit(r, normalise_patch(p))
        ways = tuple(tuple(parts[id(p)] for _, p in way) for way in cuts)
        digits.append(Digit(rect, normalise_patch(patch), ways))
    return digits


def read_box(
    frame: np.ndarray, box_size: tuple[int, int], threshold: int = 0, multi: bool = False
) -> tuple[Rect, np.ndarray, float, list[Digit]]:
    """A camera frame (any dtype/channels) -> (its centred box, the box's uint8 ink mask,
    the threshold level used, the digits in it).

    The one path from a frame to model inputs: the live loop and training both take it.
    Number mode also keeps faint ink that touches the ink (hysteresis).
    """
    box = centred_box(frame.shape, box_size)
    gray = to_gray(frame[box.slices()])
    if gray.size == 0:  # a 0-size frame: nothing to threshold, no digit
        return box, gray, float(threshold), []
    mask, level, off_paper = read_ink(gray, threshold, NUMBER_HYSTERESIS if multi else None)
    return box, mask, level, find_digits(mask, multi, off_paper)


def normalise_crop(mask: np.ndarray) -> np.ndarray | None:
    """The one digit in a binary crop as a float32 (28, 28) model input, or None."""
    digits = find_digits(mask)
    return digits[0].image if digits else None

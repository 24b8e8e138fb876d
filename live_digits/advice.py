"""What to change when ink is in the box and nothing is read: a short hint for the person.

Most numbers that fail show nothing rather than a wrong number, and the usual causes are
things the person holding the paper can fix: the number runs out of the box (or the sheet's
edge is in it), the digits are too small for the camera's pixels, the pen is thick for their
size, the digits touch. Each is measured on the pieces the pipeline found (`preprocess`): the
hint names what the frames show, though not every unread number has such a cause.

A hint appears only after HINT_FRAMES frames in a row with ink in the box and nothing shown,
as the most common cause over them (no flicker), and goes as soon as something is read or
the box is empty. Pure apart from `Advisor`'s frame count.
"""

from __future__ import annotations

import collections

import numpy as np

from live_digits.preprocess import Rect
from live_digits.preprocess.normalise import stroke_width

HINT_FRAMES = 10  # a third of a second at 30 fps; a readable number shows by its 2nd or 3rd frame
MAIN_PIECE = 0.5  # pieces at least this share of the tallest one's height count (specks do not)
SMALL_DIGIT_PX = {False: 30, True: 45}  # digit / number mode: shorter is small (px at the 480 scale)
THICK_PEN = 0.22  # stroke width over digit height above this: loops close, digits blur into blobs
WIDE_PIECE = 1.1  # number mode: a piece this many times wider than tall is digits run together

HINTS = {  # code (headless JSON) -> what the window says
    "inside": "move it all inside the box",
    "thinner": "pen thick for digits this small: write bigger",
    "closer": "hold it closer: the digits are small",
    "gaps": "leave a gap between the digits",
}


def diagnose(mask: np.ndarray, pieces: list[Rect], multi: bool, past_side: bool = False) -> str | None:
    """The likeliest fixable reason the `pieces` (rects in the box's uint8 (H, W) `mask`, ink
    255, at the 480-line scale) are not read, as a HINTS code; None without pieces or reason.

    In order: the number goes on past the box's side (`past_side`: `preprocess.past_the_sides`
    found more of it) or a piece touches the box's edge (the sheet's edge is in it), a pen
    thick for the digits' height, digits too small, and then digits run together (number mode).
    """
    if not pieces:
        return None
    tallest = max(r.h for r in pieces)
    main = [r for r in pieces if r.h >= MAIN_PIECE * tallest]
    if past_side or any(r.touches_edge(mask.shape) for r in main):
        return "inside"
    if max(_stroke(mask, r) / r.h for r in main) > THICK_PEN:
        return "thinner"
    if float(np.median([r.h for r in main])) < SMALL_DIGIT_PX[multi]:
        return "closer"
    if multi and any(r.w > WIDE_PIECE * r.h for r in main):
        return "gaps"
    return None


def _stroke(mask: np.ndarray, rect: Rect) -> float:
    """Mean stroke width (px) of the ink inside `rect`, clipped to the mask."""
    inside = rect.clipped(mask.shape)
    patch = mask[inside.slices()] if inside is not None else None
    return stroke_width(patch) if patch is not None and patch.any() else 0.0


class Advisor:
    """Turns each frame's diagnosis into the hint to show: one that has held for HINT_FRAMES."""

    def __init__(self) -> None:
        self._recent: collections.deque[str | None] = collections.deque(maxlen=HINT_FRAMES)

    def update(self, shown: bool, mask: np.ndarray, pieces: list[Rect], multi: bool, past_side: bool = False) -> str:
        """The hint code for this frame ("" for none). `shown`: whether the window shows a reading;
        the rest as `diagnose` takes them."""
        if shown or not pieces:
            self._recent.clear()
            return ""
        self._recent.append(diagnose(mask, pieces, multi, past_side))
        if len(self._recent) < HINT_FRAMES:
            return ""
        counts = collections.Counter(code for code in self._recent if code)
        return max(counts, key=counts.__getitem__) if counts else ""

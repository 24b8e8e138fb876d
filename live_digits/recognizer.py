"""The per-frame core: frame in, Result out. The window and headless mode both call it.

Per frame: crop the box, threshold, find the digit(s), normalise, classify (one small
batch per frame), then combine the last `window` frames' probabilities (a sliding window:
the display updates on every frame and does not flicker). A digit is shown only when
the combined confidence passes `min_confidence`; frames with no digit count as zero
probability, so blank paper, a hand or noise shows nothing.

With `overlap=True` (the window loop) the model runs on a worker thread: frame N's
batch is classified while the loop draws frame N and prepares frame N+1, and frame
N+1's Result carries the probabilities combined up to frame N (one frame of lag, ~33 ms
at 30 fps). The interpreter releases the GIL, so on a second core this takes inference
off the frame's critical path. Headless mode stays in step: each line describes its frame.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from live_digits import preprocess
from live_digits.advice import Advisor
from live_digits.preprocess import Rect
from live_digits.sequence import read_line

NO_PROBS = np.zeros(10, np.float32)
SWAP_FRAMES = 2  # a new digit replaces the shown one after this many sure frames in a row ...
SWAP_SURE = 0.8  # ... each at least this sure, following a frame this sure of another digit
WHOLE_SURE = 0.95  # a piece read whole this surely is one digit, neither cut nor read as a line (0.8-0.99 swept)
SPLIT_SURE = (
    0.9  # touching digits are read apart only if every part of the cut reads this surely, and surer than the whole
)
# ... and none of the parts is shorter than PART_HEIGHT of the piece: touching digits stand about as tall as each
# other, while a cut can leave a low stub (a 4's tail cut off by the box's top read as a 1: 4913 -> 14913)
PART_HEIGHT = 0.5
LINE_SURE = 0.95  # ... or if the line reader reads each of them this surely (0.8-0.95 on dev numbers: docs/accuracy.md)
AGREE_SURE = 0.3  # ... or if both read the same digits, each at least this surely (0-0.7 swept on dev numbers)
PAST_SURE = 0.8  # a piece past the box's side read this surely as a digit: only part of the number is in the box
STRAY_GAP = 1.0  # a number's end piece this many digit heights from the next is apart from it (gaps: 0.6-1.5 swept)
# The frame height the default boxes are sized for: 640x480, what webcams give by default.
REFERENCE_HEIGHT = 480


@dataclass(frozen=True)
class Settings:
    """Everything that shapes recognition; built once from the command line."""

    box: tuple[int, int] = preprocess.DEFAULT_BOX  # (width, height) of the centred crop for one digit
    number_box: tuple[int, int] = preprocess.NUMBER_BOX  # ... and in number mode (--multi, or key m)
    threshold: int = 0  # 0 = automatic, 1..255 = fixed gray level (ink = gray < level)
    window: int = 5  # frames whose probabilities are combined
    min_confidence: float = 0.55  # combined confidence needed to show a digit (calibrated: docs/accuracy.md)
    multi: bool = False  # read every digit in the box as a number
    cut_touching: bool = True  # number mode: let a not-a-digit-aware model cut touching digits apart
    read_lines: bool = True  # number mode: read touching digits with the line reader, if one is loaded
    scale_box: bool = True  # grow the boxes with frames taller than 480 lines (off: a box chosen with --box)

    def box_for(self, multi: bool, frame_height: int = REFERENCE_HEIGHT) -> tuple[int, int]:
        """The crop box of a mode (a number needs a wider one than a digit) for a frame this tall.

        A 1280x720 or 1920x1080 camera sees the paper at the same distance with more pixels:
        the box grows with the frame height (300x300, 450x450) to cover the same part of the
        view, so the digit fills it as it does at 480. Smaller frames keep the box (shrunk to
        fit): there a digit already has few pixels, and still images are often just the digit.
        """
        box = self.number_box if multi else self.box
        if not self.scale_box or frame_height <= REFERENCE_HEIGHT:
            return box
        scale = frame_height / REFERENCE_HEIGHT
        return round(box[0] * scale), round(box[1] * scale)


@dataclass(frozen=True)
class DigitReading:
    """One digit of a multi-digit reading: its box in frame coordinates and class."""

    rect: Rect
    digit: int | None
    confidence: float


@dataclass
class Result:
    """What one frame produced; `to_json` is the headless output line."""

    frame: int
    digit: int | None  # what the window shows (None: nothing shown)
    confidence: float  # combined confidence of the shown (or best) class
    probs: np.ndarray  # (10,) combined probabilities over the window
    threshold: int  # the setting: 0 = automatic
    threshold_level: float  # gray level (manual) or contrast fraction (auto) actually used
    box: Rect  # the crop box in frame coordinates
    mask: np.ndarray  # uint8 thresholded crop, ink 255 (at the 480-line scale for taller frames)
    model_input: np.ndarray | None  # float32 (28, 28) of the main digit, None if none found
    model_ready: bool = True
    multi: bool = False
    number: str = ""  # multi mode: the number read, left to right ("" = nothing read)
    readings: list[DigitReading] = field(default_factory=list)
    digit_rect: Rect | None = None  # the model input's digit, in frame coordinates
    hint: str = ""  # why ink in the box has not been read for a while (`advice.HINTS` code), "" if not

    @property
    def threshold_mode(self) -> str:
        return "manual" if self.threshold else "auto"

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        order = np.argsort(self.probs)[::-1][:k]
        return [(int(i), float(self.probs[i])) for i in order]

    def to_json(self) -> dict:
        out = {
            "frame": self.frame,
            "digit": self.digit,
            "confidence": round(float(self.confidence), 5),
            "probs": [round(float(p), 5) for p in self.probs],
            "threshold": self.threshold,
            "threshold_mode": self.threshold_mode,
            "threshold_level": round(float(self.threshold_level), 4),
            "hint": self.hint,
        }
        if self.multi:
            out["number"] = self.number
            out["digits"] = [
                {
                    "digit": r.digit,
                    "confidence": round(r.confidence, 5),
                    "box": [r.rect.x, r.rect.y, r.rect.w, r.rect.h],
                }
                for r in self.readings
            ]
        return out


def model_batch(digits: list[preprocess.Digit]) -> np.ndarray:
    """float32 (N, 28, 28): the digits' model inputs."""
    images = [d.image for d in digits]
    return np.stack(images) if images else np.zeros((0, preprocess.INPUT_SIZE, preprocess.INPUT_SIZE), np.float32)


def read_touching(
    digits: list[preprocess.Digit],
    probs: np.ndarray,
    classify=None,
    line_reader=None,
    mask: np.ndarray | None = None,
    mask_scale: float = 1.0,
) -> tuple[list[Rect], np.ndarray]:
    """Each piece read as one digit, or as the touching digits it may be.

    `probs` (N, 10) are the pieces read whole (`model_batch(digits)`). A piece read whole at
    least WHOLE_SURE is one digit. Any other piece wide enough to be touching digits (one
    with `splits`) is, with a line reader (`sequence`; `mask` is the box's), first read alone
    as a line: if it reads two digits or more, each at least LINE_SURE, those are taken, with
    boxes on their own ink. Otherwise, with `classify` (the classifier's predict; None: no
    piece is cut), it is read as the parts of its best way to cut it (the way whose least
    sure part is surest) when every part reads at least SPLIT_SURE and more surely than the
    whole, or when a way's parts read as the digits the line reader read (`_agreed_cut`).
    This needs a classifier that knows "not one digit": to it, touching digits and part of a
    digit are that, so the whole of a touching pair and the halves of a wide 0 read unsure.
    `mask_scale`: digit rects are in pixels this many times the mask's (a grown HD box).
    Returns the digits' rects (in the mask) and probabilities (K, 10), left to right.
    """
    unsure = [float(whole.max()) < WHOLE_SURE and bool(d.splits) for d, whole in zip(digits, probs, strict=True)]
    parts = [part.image for d, u in zip(digits, unsure, strict=True) if u for way in d.splits for part in way]
    parts_read = classify(np.stack(parts)) if classify is not None and parts else np.zeros((0, 10), np.float32)
    rects, rows, k = [], [], 0
    for digit, whole, maybe_touching in zip(digits, probs, unsure, strict=True):
        if not maybe_touching:
            rects.append(digit.rect)
            rows.append(whole)
            continue
        ways = parts_read[k : k + sum(len(way) for way in digit.splits)]  # its parts' rows (none without classify)
        k += len(ways)
        read = np.zeros((0, 10), np.float32)
        if line_reader is not None:
            found, read = read_line(line_reader, mask, [_scaled_rect(digit.rect, 1 / mask_scale)])
            found = [_scaled_rect(r, mask_scale) for r in found]
            if len(found) >= 2 and read.max(axis=1).min() >= LINE_SURE:
                rects += _boxes_of(digit, ways, read.argmax(axis=1), found)
                rows += list(read)
                continue
        best = _surest_cut(digit, ways, whole) or _agreed_cut(digit, ways, read)
        if best is None:
            rects.append(digit.rect)
            rows.append(whole)
        else:
            rects += [part.rect for part in best[0]]
            rows += list(best[1])
    return rects, np.array(rows, np.float32).reshape(-1, 10)


def _surest_cut(digit: preprocess.Digit, ways: np.ndarray, whole: np.ndarray):
    """The way to cut `digit` whose least sure part is surest, as (parts, their rows), if every
    part reads at least SPLIT_SURE and more surely than the whole; else None."""
    best, sure = None, max(SPLIT_SURE, float(whole.max()))
    for way, parts in _ways_read(digit, ways):
        if parts.max(axis=1).min() > sure and _standing(digit, way):
            best, sure = (way, parts), float(parts.max(axis=1).min())
    return best


def _agreed_cut(digit: preprocess.Digit, ways: np.ndarray, read: np.ndarray):
    """The way to cut `digit` into the digits the line reader read in it (`read` float32 (K, 10),
    K >= 2), each part and each of those read at least AGREE_SURE: two readers that see the
    piece differently (one whole, one part by part) agreeing below their own bars. Returns
    (parts, the two readers' mean rows) for the surest such way, or None."""
    if len(read) < 2 or read.max(axis=1).min() < AGREE_SURE:
        return None
    digits, best, sure = read.argmax(axis=1), None, AGREE_SURE
    for way, parts in _ways_read(digit, ways):
        if (
            len(way) == len(read)
            and (parts.argmax(axis=1) == digits).all()
            and parts.max(axis=1).min() >= sure
            and _standing(digit, way)
        ):
            best, sure = (way, (parts + read) / 2), float(parts.max(axis=1).min())
    return best


def _standing(digit: preprocess.Digit, way: tuple[preprocess.Digit, ...]) -> bool:
    """Whether every part of a way to cut `digit` is at least PART_HEIGHT of its height."""
    return min(part.rect.h for part in way) >= PART_HEIGHT * digit.rect.h


def drop_strays(rects: list[Rect], rows: np.ndarray, min_confidence: float) -> tuple[list[Rect], np.ndarray]:
    """A number's pieces (`rects` left to right, `rows` their float32 (K, 10) readings)
    without the ones at either end that stand apart from it (STRAY_GAP of the median piece
    height from their neighbour) and read as no digit surely enough to show: a blot on the
    desk beside the sheet, a speckled patch, the sheet's edge. Kept, one such piece hides
    the whole number; people rarely leave a digit's height between a number's digits."""
    keep = list(range(len(rects)))
    if len(keep) < 2:
        return rects, rows
    height = float(np.median([r.h for r in rects]))

    def apart(i: int, j: int) -> bool:
        return rects[i].gap_x(rects[j]) >= STRAY_GAP * height and float(rows[i].max()) < min_confidence

    while len(keep) >= 2 and apart(keep[0], keep[1]):
        keep.pop(0)
    while len(keep) >= 2 and apart(keep[-1], keep[-2]):
        keep.pop()
    return [rects[i] for i in keep], rows[keep]


def _boxes_of(digit: preprocess.Digit, ways: np.ndarray, read: np.ndarray, found: list[Rect]) -> list[Rect]:
    """Boxes for the digits `read` (K,) in a piece: the parts of its way to cut it into K that
    the classifier (`ways`: its parts' probabilities, none without cuts) finds most like those
    digits; without such a way, the line reader's own boxes (`found`: rougher, from where
    CTC placed each digit)."""
    best, score = None, -np.inf
    for way, parts in _ways_read(digit, ways):
        if len(way) == len(read):
            fit = float(np.log(parts[np.arange(len(read)), read] + 1e-6).sum())
            if fit > score:
                best, score = way, fit
    return [part.rect for part in best] if best is not None else found


def _ways_read(digit: preprocess.Digit, ways: np.ndarray):
    """Each way to cut the piece with its parts' rows of `ways` (the classifier's (P, 10) on all
    its ways' parts, in `model_batch` order); none when the parts were not classified."""
    at = 0
    for way in digit.splits if len(ways) else ():
        yield way, ways[at : at + len(way)]
        at += len(way)


def _scaled_rect(rect: Rect, scale: float) -> Rect:
    return Rect(*(round(v * scale) for v in dataclasses.astuple(rect))) if scale != 1 else rect


def vote(
    history: Sequence[np.ndarray], min_confidence: float, window: int | None = None
) -> tuple[np.ndarray, int | None]:
    """The single-digit window's rule: the combined float32 (10,) of the recent frames'
    probabilities and the digit shown (None below `min_confidence`).

    Normally the mean over the `window` (default: the frames given), a frame without a
    digit counting as zeros, and so do the frames before the first: a digit appears once
    most of the window has seen it, and one odd frame changes nothing. When another digit
    replaces the one in view, the window would go on showing the old one for frames: once
    the last SWAP_FRAMES frames all read a new digit surely (SWAP_SURE) after a frame that
    surely read another, only those frames count.
    """
    frames = list(history)
    latest = int(np.argmax(frames[-1]))
    run = 0
    for probs in reversed(frames):
        if int(np.argmax(probs)) != latest or probs[latest] < SWAP_SURE:
            break
        run += 1
    earlier = frames[: len(frames) - run]
    if run >= SWAP_FRAMES and any(int(np.argmax(p)) != latest and p.max() >= SWAP_SURE for p in earlier):
        combined = sum(frames[-run:]) / run
    else:
        combined = sum(frames) / (window or len(frames))  # np.mean would cost 10x for 5 rows
    best = int(np.argmax(combined))
    return combined, best if combined[best] >= min_confidence else None


class Recognizer:
    """Turns frames into Results, remembering the last `window` frames' predictions.

    `model` may be None while it is still loading; frames are then thresholded and shown
    but not classified. `overlap`: classify on a worker thread, one frame behind (see above).
    """

    def __init__(self, model=None, settings: Settings = Settings(), overlap: bool = False):
        self.model = model
        self.settings = settings
        self.multi = settings.multi
        self.frames = 0
        self._history: collections.deque = collections.deque(maxlen=settings.window)
        self.overlap = overlap
        self._worker: concurrent.futures.ThreadPoolExecutor | None = None  # started on first use
        self._pending = None  # overlap: (future reading, box) of the previous frame
        self._advisor = Advisor()

    def reset(self) -> None:
        self._history.clear()
        self._advisor = Advisor()
        self._pending = None  # its prediction belongs to the old mode: let it finish unread

    def close(self) -> None:
        """Stop the worker thread (overlap mode); process() starts a new one if called again."""
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            self._worker, self._pending = None, None

    def set_multi(self, multi: bool) -> None:
        if multi != self.multi:
            self.multi = multi
            self.reset()

    def process(self, frame: np.ndarray, threshold: int | None = None) -> Result:
        threshold = self.settings.threshold if threshold is None else int(threshold)
        box, mask, level, digits, beyond = self._read(frame, threshold)
        result = Result(
            frame=self.frames,
            digit=None,
            confidence=0.0,
            probs=NO_PROBS,
            threshold=threshold,
            threshold_level=level,
            box=box,
            mask=mask,
            model_input=digits[0].image if digits else None,  # the (leftmost) digit the model sees
            model_ready=self.model is not None,
            multi=self.multi,
        )
        if digits:
            r = digits[0].rect
            result.digit_rect = Rect(box.x + r.x, box.y + r.y, r.w, r.h)
        self.frames += 1
        if self.model is None:
            return result
        cuts = self.settings.cut_touching and self.model.knows_not_a_digit  # without it, halves read too surely
        line_reader = self.model.read_line if self.multi and self.settings.read_lines else None
        mask_scale = box.w / max(1, mask.shape[1])
        infer = functools.partial(self._classify, digits, beyond, mask, mask_scale, cuts, line_reader)
        if not self.overlap:
            self._combine(result, infer(), box)
        else:
            if self._worker is None:
                self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="live-digits-model")
            previous, self._pending = self._pending, (self._worker.submit(infer), box)
            if previous is not None:
                future, previous_box = previous
                self._combine(result, future.result(), previous_box)
        shown = bool(result.number) if self.multi else result.digit is not None
        pieces = [_scaled_rect(d.rect, 1 / mask_scale) for d in digits]  # the mask's pixels
        result.hint = self._advisor.update(shown, mask, pieces, self.multi, past_side=bool(beyond))
        return result

    def _classify(
        self,
        digits: list[preprocess.Digit],
        beyond: list[preprocess.Digit],
        mask: np.ndarray,
        mask_scale: float,
        cuts: bool,
        line_reader,
    ):
        """Classify each digit: (N, 10) probabilities; for a number, (rects, rows), with the
        pieces that may be touching digits read apart (`read_touching`) and strays dropped,
        or none at all when a piece `beyond` the box's side is surely a digit of it."""
        probs = self.model.predict(model_batch(digits + beyond))  # one batch: one call
        probs, past = probs[: len(digits)], probs[len(digits) :]
        if not self.multi:
            return probs
        if len(past) and float(past.max()) >= PAST_SURE:
            return [], np.zeros((0, 10), np.float32)  # a number cut short is a wrong number: show none of it
        rects, rows = read_touching(digits, probs, self.model.predict if cuts else None, line_reader, mask, mask_scale)
        return drop_strays(rects, rows, self.settings.min_confidence)

    def _read(self, frame: np.ndarray, threshold: int):
        """preprocess.read_box on the mode's box; a box grown for a tall frame is read at the 480 scale.

        The reading's pixel constants (speck sizes, line widths) are tuned on 640x480 frames:
        the grown box (and the frame around it, if a digit is cut by its edge) is shrunk back
        to that scale and read there, which also costs less than reading it large. Returns
        (box, mask, level, digits, the pieces past its sides in number mode), rects in frame pixels.
        """
        size = self.settings.box_for(self.multi, frame.shape[0])
        scale = 1.0 if size == self.settings.box_for(self.multi) else frame.shape[0] / REFERENCE_HEIGHT
        box, mask, level, digits = preprocess.read_box(frame, size, threshold, self.multi, scale)
        beyond = []
        if self.multi and self.model is not None:  # unclassified, they would change nothing
            beyond = preprocess.past_the_sides(frame, box, threshold, digits, mask, scale)
            beyond += preprocess.past_the_top_or_bottom(frame, box, threshold, digits, mask, scale)
        if scale == 1:
            return box, mask, level, digits, beyond
        place = functools.partial(_scaled_rect, scale=scale)
        return box, mask, level, [d.remapped(place) for d in digits], [d.remapped(place) for d in beyond]

    def _combine(self, result: Result, read, box: Rect) -> None:
        if self.multi:
            self._combine_multi(result, *read, box)
        else:
            self._combine_single(result, read)

    def _combine_single(self, result: Result, probs: np.ndarray) -> None:
        self._history.append(probs[0] if len(probs) else NO_PROBS)
        result.probs, result.digit = vote(self._history, self.settings.min_confidence, self._history.maxlen)
        result.confidence = float(result.probs.max())

    def _combine_multi(self, result: Result, found: list[Rect], probs: np.ndarray, box: Rect) -> None:
        """Average each digit position over the recent frames that saw the most common count.

        `found`: the frame's digits' rects in the box, left to right; `probs` float32 (K, 10).
        A frame where a faint digit drops out (or a speck adds one) is outvoted, so the
        number does not flicker; the boxes drawn are those of the latest frame with that count.
        """
        rects = [Rect(box.x + r.x, box.y + r.y, r.w, r.h) for r in found]
        self._history.append((probs, rects))
        counts = collections.Counter(len(p) for p, _ in self._history if len(p))
        if not counts:
            return
        count = max(counts, key=lambda n: (counts[n], n))  # ties: more digits (a dropout loses one)
        same = [(p, r) for p, r in self._history if len(p) == count]
        if len(same) * 2 <= self._history.maxlen:
            return
        combined = sum(p for p, _ in same) / len(self._history)  # absent frames count as zeros
        best = np.argmax(combined, axis=1)
        confs = combined[np.arange(len(best)), best]
        shown = confs >= self.settings.min_confidence
        result.readings = [
            DigitReading(r, int(b) if s else None, float(c))
            for r, b, c, s in zip(same[-1][1], best, confs, shown, strict=True)
        ]
        result.probs = combined[0]
        result.confidence = float(confs.min())
        if shown.all():
            result.number = "".join(str(int(b)) for b in best)
            if len(best) == 1:
                result.digit = int(best[0])

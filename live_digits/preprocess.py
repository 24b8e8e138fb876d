"""Pure image functions: frame -> ink mask -> MNIST-like 28x28 digit(s).

Every function takes numpy arrays and returns numpy arrays (or None for "no digit"), so
training, evaluation and the live loop share exactly the same preprocessing. Masks are
uint8 with ink = 255 on background = 0 (MNIST polarity); model inputs are float32 in
[0, 1], shape (28, 28).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

INPUT_SIZE = 28  # side of the model input
DEFAULT_BOX = (200, 200)  # (width, height) of the centred crop read for one digit
NUMBER_BOX = (400, 200)  # ... and for a number (--multi): room for several digits side by side
FIT_SIZE = 20  # MNIST fits the digit's bounding box into 20x20 ...
CENTRE = 14.0  # ... and puts its centre of mass at pixel (14, 14) of the 28x28 field
MIN_STROKE = 1.8  # strokes thinner than this at the 20x20 scale are thickened ...
TARGET_STROKE = 2.2  # ... to about this width (MNIST's strokes: median 2.5 px)

# Automatic threshold: ink is at least this much darker than the local paper ...
AUTO_MIN_CONTRAST = 0.12
# ... and this many noise standard deviations darker (dim, noisy frames).
AUTO_NOISE_SIGMAS = 4.0
AUTO_MAX_CONTRAST = 0.5
LINE_RUN = 7  # ink runs across a ruled line at least this long are pen strokes, not the line
PAPER_LEVELS = np.maximum(np.arange(256, dtype=np.float32), 1.0)  # paper grey level -> divisor, never 0
MAX_INK = 0.5  # a crop more than half ink is a covered lens or a dark object, not a digit
MIN_HEIGHT_IN_NUMBER = 0.5  # in a number, a piece under half the tallest digit's height is not a digit
# In a number, a column of pieces none of which holds this share of the ink is debris
# (dashes of a pale ruled line, blobs where a margin crossed the lines), not a digit.
MIN_MAIN_PIECE = 0.3
# Number mode, automatic threshold: pixels at least this fraction of the threshold dark that
# touch ink above it are ink too (hysteresis). A faint stretch of a stroke otherwise splits a
# digit into columns, and one broken digit costs the whole number; a lone faint smudge stays out.
NUMBER_HYSTERESIS = 0.75


@dataclass(frozen=True)
class Rect:
    """An axis-aligned box in pixel coordinates."""

    x: int
    y: int
    w: int
    h: int

    def slices(self) -> tuple[slice, slice]:
        return slice(self.y, self.y + self.h), slice(self.x, self.x + self.w)


@dataclass(frozen=True)
class Digit:
    """One digit found in a mask: where it is and the 28x28 model input made from it."""

    rect: Rect  # bounding box inside the mask it was found in
    image: np.ndarray  # float32 (28, 28) in [0, 1], white ink on black


def to_gray(frame: np.ndarray) -> np.ndarray:
    """Any camera frame (gray/BGR/BGRA; uint8, uint16 or float) -> uint8 gray (H, W).

    Floats are taken to be in [0, 1]; uint16 in [0, 65535]. Cameras and image files give
    all of these, and everything downstream wants plain 8-bit gray.
    """
    img = np.asarray(frame)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        if img.dtype not in (np.uint8, np.uint16, np.float32):
            img = img.astype(np.float32)
        img = cv2.cvtColor(img, code)
    if img.ndim != 2:
        raise ValueError(f"expected a 2-D or 3-D image, got shape {img.shape}")
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    if img.dtype == np.bool_:
        return img.astype(np.uint8) * 255
    if np.issubdtype(img.dtype, np.integer):
        return np.clip(img, 0, 255).astype(np.uint8)
    img = np.nan_to_num(img.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def centred_box(frame_shape: tuple[int, ...], size: tuple[int, int]) -> Rect:
    """The (w, h) box centred in a frame of `frame_shape`, shrunk to fit if the frame is small."""
    fh, fw = frame_shape[:2]
    w, h = min(size[0], fw), min(size[1], fh)
    return Rect((fw - w) // 2, (fh - h) // 2, w, h)


def paper_background(gray: np.ndarray) -> np.ndarray:
    """Estimate the paper's brightness under the ink: uint8 (>= 1), same shape as `gray`.

    A grey-level closing (max then min filter) wider than any pen stroke erases the dark
    ink and keeps slow changes: shadows, vignetting, dim corners. Done at quarter
    resolution because it only needs the low frequencies, and it must be cheap.
    """
    h, w = gray.shape
    small = cv2.resize(gray, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
    small = cv2.morphologyEx(small, cv2.MORPH_CLOSE, k, borderType=cv2.BORDER_REPLICATE)
    small = np.maximum(cv2.blur(small, (5, 5)), 1)  # interpolation keeps it >= 1: safe to divide by
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def ink_darkness(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How much darker than the local paper each pixel is, and the paper's brightness.

    Returns (darkness uint8: 0 = paper, 255 * (1 - pixel / paper) for ink; background
    uint8 gray levels). Dividing by the estimated paper brightness makes the measure
    independent of exposure and of shadow gradients across the sheet, so one threshold
    works from dim to bright. A light 3x3 blur tames sensor noise without washing out a
    thin pen line. Everything stays 8-bit: it runs on every frame.
    """
    smooth = cv2.GaussianBlur(gray, (3, 3), 0)
    background = paper_background(gray)
    ratio = cv2.divide(smooth, background, scale=255)  # saturates at 255 where brighter than paper
    return cv2.subtract(255, ratio), background


def auto_threshold(darkness: np.ndarray, background: np.ndarray) -> tuple[float, np.ndarray]:
    """Choose where ink starts: a global contrast level and a per-pixel threshold map (uint8).

    Otsu's split of the darkness histogram separates ink from paper when both are present,
    clamped to a plausible contrast range. Sensor noise is roughly constant in gray levels,
    so relative to the paper it is largest where the paper is darkest (a shadow, a dim
    corner): the floor of AUTO_NOISE_SIGMAS noise sigmas is computed per pixel (a lookup on
    the paper's brightness), which keeps blank or noisy paper blank.
    """
    otsu, _ = cv2.threshold(darkness, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    level = min(max(otsu / 255.0, AUTO_MIN_CONTRAST), AUTO_MAX_CONTRAST)  # np.clip: 8 us on a scalar
    d = darkness[::4, ::4].ravel().astype(np.float32) / 255.0  # a sample is plenty here
    b = background[::4, ::4].ravel().astype(np.float32)
    residual = (d * b)[d <= _quantile(d, 0.75)]  # gray levels below the paper, ink excluded
    sigma = 1.4826 * _quantile(np.abs(residual - _quantile(residual, 0.5)), 0.5)  # robust std (MAD)
    floor = np.maximum(level, AUTO_NOISE_SIGMAS * sigma / PAPER_LEVELS)
    lut = np.floor(np.minimum(floor, 1.0) * 255.0).astype(np.uint8)
    return level, cv2.LUT(background, lut)


def _quantile(values: np.ndarray, q: float) -> float:
    """The q-quantile by partial sort: np.percentile's cost is mostly overhead at this size."""
    k = min(len(values) - 1, int(q * len(values)))
    return float(np.partition(values, k)[k]) if len(values) else 0.0


def threshold_ink(gray: np.ndarray, level: int = 0, hysteresis: float | None = None) -> tuple[np.ndarray, float]:
    """Binary ink mask of a gray crop: uint8 (H, W), ink 255 on 0, and the level used.

    level 0 means automatic (the returned level is then the contrast fraction chosen,
    e.g. 0.3 = ink is 30% darker than the paper); 1..255 is the classic fixed threshold on
    the gray value (ink = gray < level). With automatic levels, `hysteresis` (a fraction
    below 1) also takes pixels that dark which touch the ink (`grow_into_faint_ink`).
    """
    if level > 0:
        _, mask = cv2.threshold(gray, level - 1, 255, cv2.THRESH_BINARY_INV)
        return mask, float(level)
    darkness, background = ink_darkness(gray)
    chosen, per_pixel = auto_threshold(darkness, background)
    mask = cv2.compare(darkness, per_pixel, cv2.CMP_GT)
    if hysteresis is not None:
        mask = grow_into_faint_ink(mask, darkness, per_pixel, hysteresis)
    return mask, chosen


def grow_into_faint_ink(mask: np.ndarray, darkness: np.ndarray, per_pixel: np.ndarray, fraction: float) -> np.ndarray:
    """Hysteresis: add to `mask` the pixels darker than `fraction` of their threshold that are
    8-connected to it (a blurred or faint stretch of a stroke), as Canny does with edges."""
    faint = cv2.compare(darkness, (per_pixel * np.float32(fraction)).astype(np.uint8), cv2.CMP_GT)
    n, labels = cv2.connectedComponents(faint, connectivity=8, ltype=_label_type(faint.shape))
    lut = np.zeros(n, np.uint8)
    lut[labels[mask > 0]] = 255  # every region of faint pixels that holds some ink
    lut[0] = 0
    return np.take(lut, labels)


def remove_ruled_lines(mask: np.ndarray) -> np.ndarray:
    """Erase straight lines that cross the whole box (ruled paper, margins, sheet edges).

    Only components touching the border (a line crosses it; a broken line, or one merged
    with a digit it crosses, may reach only one side), or long thin pieces of a broken
    line, are searched, and a line must run nearly the whole box (a tall '1' does not); vertical
    lines are looked for again without the horizontal ones. Along a line, only pixels in
    short runs across it are erased: where a pen stroke crosses the line, its pixels
    form a long run and stay, so the digit is not cut.
    """
    out = _erase_lines(mask, *_components(mask))
    return mask if out is None else out


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-connected labels (like mask) and their stats (x, y, w, h, area) rows.

    16-bit labels when they fit (`_label_type`).
    """
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=_label_type(mask.shape))
    return labels, stats


def _label_type(shape: tuple[int, ...]) -> int:
    """16-bit labels whenever a mask this size cannot hold 65,535 components (8-connected,
    at most one per 2x2 block): OpenCV labels about 3x faster into uint16 than into int32."""
    return cv2.CV_16U if ((shape[0] + 1) // 2) * ((shape[1] + 1) // 2) < 65535 else cv2.CV_32S


def _erase_lines(mask: np.ndarray, labels: np.ndarray, stats: np.ndarray) -> np.ndarray | None:
    """`remove_ruled_lines` on an already labelled mask; None when there is no line."""
    h, w = mask.shape
    pieces = _line_pieces(stats, (h, w))
    if not pieces:
        return None
    crossing = _select(labels, np.array(pieces), len(stats))
    bands = np.zeros((2, h, w), np.uint8)  # [0]: near-horizontal lines, [1]: near-vertical
    if not _draw_lines(crossing, bands):
        return None
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


def _line_pieces(stats: np.ndarray, shape: tuple[int, int]) -> list[int]:
    """Labels of the components that may be (part of) a ruled line: touching the border, or
    long and thin. Each is at least 15% of the box across, so only those few rows are
    looked at, in plain Python (numpy's per-call overhead dominates on a few rows)."""
    h, w = shape
    size = h * w
    long = np.flatnonzero((stats[1:, 2] >= 0.15 * w) | (stats[1:, 3] >= 0.15 * h)) + 1
    pieces = []
    for label, (x, y, cw, ch, area) in zip(long.tolist(), stats[long].tolist(), strict=True):
        edge = (x == 0 or y == 0 or x + cw == w or y + ch == h) and area < 0.3 * size  # thin, not a hand
        # A pale ruled line can threshold into dashes: long flat pieces, which Hough joins up.
        flat = cw >= 0.15 * w and ch <= max(4, 0.15 * cw)
        upright = ch >= 0.15 * h and cw <= max(4, 0.15 * ch)
        if edge or flat or upright:
            pieces.append(label)
    return pieces


def _draw_lines(crossing: np.ndarray, bands: np.ndarray, only_vertical: bool = False) -> bool:
    """Find straight lines across the box in `crossing` and draw them, 3 px wide, into `bands`
    ([0] near-horizontal, [1] near-vertical); True if any was drawn."""
    h, w = crossing.shape
    span = min(h, w)
    segments = cv2.HoughLinesP(
        crossing, 1, np.pi / 360, threshold=span // 3, minLineLength=int(span * 0.8), maxLineGap=span // 4
    )
    found = False
    for x0, y0, x1, y1 in () if segments is None else segments.reshape(-1, 4):
        vertical = abs(y1 - y0) > abs(x1 - x0)
        # Only segments as long as the box side they cross: shorter ones are not ruling.
        if (vertical or not only_vertical) and np.hypot(x1 - x0, y1 - y0) >= 0.8 * (h if vertical else w):
            cv2.line(bands[int(vertical)], (int(x0), int(y0)), (int(x1), int(y1)), 255, thickness=3)
            found = True
    return found


def _stats_touch_border(stats: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    x, y, cw, ch = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3]
    return (x == 0) | (y == 0) | (x + cw == w) | (y + ch == h)


def _union_rect(stats: np.ndarray) -> Rect:
    return _union_of(stats[:, :4].tolist())


def _union_of(boxes: list[list[int]]) -> Rect:
    """The rect around (x, y, w, h) boxes. Plain Python: a digit has a handful of pieces,
    where numpy's per-call overhead would cost more than the arithmetic."""
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return Rect(x0, y0, x1 - x0, y1 - y0)


def candidate_components(stats: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Label ids of the components that can be (part of) a digit.

    Specks (tiny next to the box and to the largest component) and blobs touching the
    box border (a hand, a shadow, the edge of the sheet, a digit cut by the box) are dropped.
    """
    if len(stats) <= 1:
        return np.empty(0, np.int64)
    areas = stats[1:, cv2.CC_STAT_AREA]
    min_area = max(8.0, 4e-4 * shape[0] * shape[1], 0.04 * areas.max())
    ok = (areas >= min_area) & ~_stats_touch_border(stats[1:], shape)
    return np.flatnonzero(ok) + 1


def _looks_like_digit(rect: Rect, ink: int, box_shape: tuple[int, int]) -> bool:
    """Reject what cannot be a digit: too small to read, a dash, or a solid blob."""
    bh, bw = box_shape
    if max(rect.w, rect.h) < 0.12 * min(bh, bw) or rect.h < 0.08 * bh:
        return False
    if rect.w > 2.5 * rect.h:  # dashes, underlines
        return False
    fill = ink / float(rect.w * rect.h)
    return not (fill > 0.72 and rect.w > 0.45 * rect.h)  # fingertips, blots


def stroke_width(patch: np.ndarray) -> float:
    """Mean stroke width of a binary shape in pixels: 2 * area / perimeter.

    For a stroke of width t and length L, area ~ t*L and perimeter ~ 2*L.
    """
    contours, _ = cv2.findContours(patch, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * np.count_nonzero(patch) / max(perimeter, 1.0)


def thicken_thin_strokes(patch: np.ndarray) -> np.ndarray:
    """Dilate a digit drawn with a fine pen so its strokes, once fitted into 20x20, are
    at least MIN_STROKE wide, like MNIST's (median 2.5 px, 10th percentile 1.8 px).

    A 1-px ballpoint line on a large digit would otherwise shrink to faint grey dust.
    Thick strokes are left alone: eroding them would break digits apart.
    """
    scale = FIT_SIZE / max(patch.shape)
    width = stroke_width(patch) * scale  # at the 20x20 scale
    radius = int(round((TARGET_STROKE - width) / scale / 2))  # dilation adds 2 * radius patch pixels
    if width >= MIN_STROKE or radius < 1:
        return patch
    padded = cv2.copyMakeBorder(patch, radius, radius, radius, radius, cv2.BORDER_CONSTANT, value=0)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(padded, disc)


def normalise_patch(patch: np.ndarray) -> np.ndarray:
    """A tight binary digit patch (uint8 ink 255) -> float32 (28, 28) like MNIST.

    Thicken fine-pen strokes, fit the bounding box into 20x20 keeping the aspect ratio
    (area-averaging, which anti-aliases like MNIST's own preparation), then shift by
    whole pixels so the centre of mass lands on (14, 14).
    """
    patch = thicken_thin_strokes(patch)
    h, w = patch.shape
    scale = FIT_SIZE / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(patch, (nw, nh), interpolation=interp)  # 8-bit grey levels, like MNIST's
    m = cv2.moments(small)
    if m["m00"] <= 1e-6:
        cx, cy = nw / 2 - 0.5, nh / 2 - 0.5
    else:
        cx, cy = m["m10"] / m["m00"], m["m01"] / m["m00"]
    ox = min(max(round(CENTRE - cx), 0), INPUT_SIZE - nw)
    oy = min(max(round(CENTRE - cy), 0), INPUT_SIZE - nh)
    out = np.zeros((INPUT_SIZE, INPUT_SIZE), np.float32)
    np.multiply(small, np.float32(1 / 255.0), out=out[oy : oy + nh, ox : ox + nw], casting="unsafe")
    return out


def find_digit_groups(
    mask: np.ndarray, multi: bool = False, labelled: tuple[np.ndarray, np.ndarray] | None = None
) -> list[tuple[Rect, np.ndarray]]:
    """Group candidate components into digits: [(rect, tight uint8 patch)], left to right.

    Single mode: the largest component plus the pieces lying next to it (a '5' drawn
    in two strokes, a stroke cut by a ruled line). Multi mode: components whose
    horizontal extents overlap are one digit; separate columns are separate digits.
    """
    labels, stats = labelled if labelled is not None else _components(mask)
    keep = candidate_components(stats, mask.shape)
    if keep.size == 0:
        return []
    if multi:
        groups = _column_groups(stats, keep)
    else:
        groups = [_neighbourhood_group(stats, keep)]
    digits = []
    for group in groups:
        rect = _union_rect(stats[group])
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
    return [(rect, _select(labels[rect.slices()], group, len(stats))) for rect, group in digits]


def _select(labels: np.ndarray, group: np.ndarray, n_labels: int) -> np.ndarray:
    """uint8 mask, 255 where the label is in `group`: a lookup table, ~6x faster than np.isin."""
    if len(group) == 1:  # the usual digit, one stroke: a comparison is ~5x cheaper than the lookup
        return cv2.compare(labels, int(group[0]), cv2.CMP_EQ)
    lut = np.zeros(n_labels, np.uint8)
    lut[group] = 255
    return np.take(lut, labels)


def _neighbourhood_group(stats: np.ndarray, keep: np.ndarray) -> np.ndarray:
    main = int(keep[np.argmax(stats[keep, cv2.CC_STAT_AREA])])
    boxes = dict(zip(keep.tolist(), stats[keep, :4].tolist(), strict=True))
    group = {main}
    for _ in range(2):  # grow twice: pieces of pieces
        r = _union_of([boxes[lab] for lab in group])
        pad = max(4, int(0.5 * max(r.w, r.h)))
        x0, y0, x1, y1 = r.x - pad, r.y - pad, r.x + r.w + pad, r.y + r.h + pad
        for lab, (sx, sy, sw, sh) in boxes.items():
            if sx < x1 and sx + sw > x0 and sy < y1 and sy + sh > y0:
                group.add(lab)
    return np.array(sorted(group))


def _column_groups(stats: np.ndarray, keep: np.ndarray) -> list[np.ndarray]:
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


def find_digits(mask: np.ndarray, multi: bool = False) -> list[Digit]:
    """Binary crop mask (uint8, ink 255) -> the digits in it as model inputs, left to right.

    An empty list means "no digit": blank paper, noise, a hand, a line.
    """
    if np.count_nonzero(mask) > MAX_INK * mask.size:
        return []
    labelled = _components(mask)
    clean = _erase_lines(mask, *labelled)
    if clean is not None:
        mask, labelled = clean, _components(clean)
    return [Digit(rect, normalise_patch(patch)) for rect, patch in find_digit_groups(mask, multi, labelled)]


def read_box(
    frame: np.ndarray, box_size: tuple[int, int], threshold: int = 0, multi: bool = False
) -> tuple[Rect, np.ndarray, float, list[Digit]]:
    """A camera frame -> (its centred box, the box's ink mask, the threshold level, the digits in it).

    The one path from a frame to model inputs: the live loop and training both take it.
    Number mode also keeps faint ink that touches the ink (NUMBER_HYSTERESIS).
    """
    box = centred_box(frame.shape, box_size)
    mask, level = threshold_ink(to_gray(frame[box.slices()]), threshold, NUMBER_HYSTERESIS if multi else None)
    return box, mask, level, find_digits(mask, multi=multi)


def normalise_crop(mask: np.ndarray) -> np.ndarray | None:
    """The one digit in a binary crop as a float32 (28, 28) model input, or None."""
    digits = find_digits(mask)
    return digits[0].image if digits else None

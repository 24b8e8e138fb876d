"""Rendered webcam clips of a handwritten digit on a sheet of paper, for testing without a camera.

The live tool reads a digit that someone holds up to a webcam. To benchmark it reproducibly we
fake that camera: an MNIST digit is redrawn as a pen stroke on a sheet of (maybe ruled) paper,
and the sheet is filmed under per-clip `Conditions` (exposure, shadow, vignetting, blur, sensor
noise that rises in the dark, hand shake, MJPG compression). Everything is a pure function of
its arguments and a `numpy.random.Generator`, so a seed reproduces a clip exactly.

Conventions: frames are BGR uint8 (H, W, 3); MNIST digits are uint8 (28, 28), white ink (255) on
black (0); sizes are (width, height) like OpenCV; reflectances are float32 in [0, 1].
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

__all__ = [
    "BLURRY_SIGMA",
    "BOX_HEIGHT_PX",
    "CLASSIC_RATES",
    "DESK_SIDES",
    "DIM_EXPOSURE",
    "EDGE_SIDES",
    "FAT_PEN_PX",
    "INKS",
    "SLANT",
    "SMALL_HEIGHT",
    "STYLES",
    "THIN_PEN_PX",
    "WIDE_RATES",
    "Clip",
    "Conditions",
    "Layout",
    "demo_frames",
    "random_conditions",
    "random_number_conditions",
    "render_clip",
    "render_frames",
    "style_digit",
    "write_clip",
]

# Benchmark subset thresholds (see `Conditions.flags`).
DIM_EXPOSURE = 0.5
SMALL_HEIGHT = 0.45
THIN_PEN_PX = 4.0
BLURRY_SIGMA = 1.5
FAT_PEN_PX = 16.0
SLANT = 0.25  # |shear| from which writing counts as slanted (12 degrees of sheet rotation is 0.21)

# How often `random_conditions` draws each condition beyond the classic ones (each independently).
WIDE_RATES: dict[str, float] = {"fat": 0.15, "edge": 0.15, "sheet": 0.15, "slant": 0.15}
CLASSIC_RATES: dict[str, float] = dict.fromkeys(WIDE_RATES, 0.0)  # the conditions before they were widened
BOX_HEIGHT_PX = 200  # the box height random conditions are drawn for (pen widths relative to digit heights)

# Ink reflectances (BGR): dark but never pure black; blue ballpoint; graphite.
INKS: dict[str, tuple[float, float, float]] = {
    "black": (0.11, 0.10, 0.10),
    "blue": (0.50, 0.24, 0.13),
    "pencil": (0.36, 0.35, 0.34),
}
DESK_SIDES = ("none", "left", "right", "top", "bottom")
EDGE_SIDES = DESK_SIDES
# Sticky notes and index cards (BGR reflectance multipliers of the paper).
SHEET_COLOURS = {
    "white": (1.0, 1.0, 1.0),
    "yellow": (0.55, 0.93, 1.0),
    "pink": (0.8, 0.7, 1.0),
    "green": (0.7, 0.95, 0.8),
}

_SKELETON_SCALE = 8  # MNIST is thinned at 8x (224 px): smooth enough to redraw with any pen
_SHAKE_MEMORY = 0.7  # AR(1) coefficient: a hand drifts smoothly rather than jumping every frame
_FLICKER = 0.012  # frame-to-frame auto-exposure wobble (relative)
_GAIN_REF = 0.9  # below this exposure the webcam raises its gain, and the noise with it


@dataclass(frozen=True)
class Conditions:
    """Everything that makes one rendered clip look the way it does (fixed for the whole clip).

    Lengths marked px are at frame scale (640x480); fractions of the box are of the crop box the
    tool reads (200x200 by default). Colours are BGR reflectance multipliers in [0, 1].
    """

    paper_tone: float = 0.88  # paper reflectance: printer paper is ~0.9, recycled or grey paper less
    paper_tint: tuple[float, float, float] = (0.95, 0.99, 1.0)  # white-balance cast (BGR gains)
    ruled: bool = False
    line_spacing: float = 28.0  # px between ruled lines
    line_offset: float = 0.3  # phase of the ruling, fraction of the spacing
    line_bgr: tuple[float, float, float] = (0.97, 0.86, 0.74)  # ruled line colour (pale blue)
    line_thickness: int = 1  # px
    margin: bool = False  # red vertical margin line
    margin_x: float = 0.18  # its position, fraction of the frame width (usually left of the box)
    ink: str = "black"  # name in INKS
    ink_bgr: tuple[float, float, float] = INKS["black"]
    pen_px: float = 6.0  # stroke width in px
    digit_height: float = 0.6  # ink height as a fraction of the box height
    dx: float = 0.0  # digit (group) centre offset from the box centre, fraction of box width
    dy: float = 0.0  # ... and of box height
    digit_gap: float = 0.2  # space between digits of a number, fraction of the digit height
    rotation: float = 0.0  # sheet rotation in degrees (about the digit)
    exposure: float = 1.0  # overall brightness: ~0.25 dim room .. ~1.3 bright, slightly clipped
    shadow: float = 0.0  # darkening at the shadowed side, 0 = none .. 0.7 = heavy
    shadow_angle: float = 0.0  # degrees; direction (image coordinates) in which it gets darker
    vignette: float = 0.2  # relative darkening in the frame corners
    blur_sigma: float = 0.6  # optical (defocus) blur, px
    noise_sigma: float = 2.0  # sensor noise in grey levels at normal light; grows with gain
    shake_px: float = 1.0  # hand shake: std of the sheet's translation between frames, px
    shake_deg: float = 0.2  # ... and of its rotation, degrees
    jpeg_quality: int = 80  # MJPG compression of each frame
    desk_side: str = "none"  # where the background shows beyond the sheet's edge, if anywhere
    desk_frac: float = 0.0  # how much of the frame it covers on that side
    desk_bgr: tuple[float, float, float] = (0.16, 0.2, 0.25)  # background reflectance
    slant: float = 0.0  # shear of the writing: x shift per unit of height upwards (0.5 leans right strongly)
    edge_side: str = "none"  # box side the ink is pushed against ("none": kept clear of the border)
    edge_reach: float = 0.0  # how far the ink reaches past that side, fraction of the box side (< 0: short of it)
    sheet_margins: tuple[float, ...] = ()  # a small sheet: paper beyond the ink (left, top, right, bottom), in
    # digit heights, desk all around it; () = the sheet fills the frame
    paper_bgr: tuple[float, float, float] = (1.0, 1.0, 1.0)  # paper colour (sticky notes are yellow, pink ...)
    digit_sizes: float = 0.0  # uneven heights in a number: each digit 1 - U(0, digit_sizes) of the set height
    baseline_drift: float = 0.0  # a number's baseline wanders by this std per digit, fraction of the height

    def __post_init__(self) -> None:
        checks = {
            "paper_tone": 0.05 <= self.paper_tone <= 1.0,
            "line_spacing": self.line_spacing >= 4.0,
            "line_thickness": self.line_thickness >= 1,
            "ink": self.ink in INKS,
            "pen_px": 0.5 <= self.pen_px <= 60.0,
            "digit_height": 0.05 <= self.digit_height <= 1.0,
            "digit_gap": self.digit_gap >= -0.5,
            "exposure": 0.01 <= self.exposure <= 4.0,
            "shadow": 0.0 <= self.shadow < 1.0,
            "vignette": 0.0 <= self.vignette < 1.0,
            "blur_sigma": 0.0 <= self.blur_sigma <= 20.0,
            "noise_sigma": self.noise_sigma >= 0.0,
            "shake_px": self.shake_px >= 0.0,
            "shake_deg": self.shake_deg >= 0.0,
            "jpeg_quality": 1 <= self.jpeg_quality <= 100,
            "desk_side": self.desk_side in DESK_SIDES,
            "desk_frac": 0.0 <= self.desk_frac < 0.5,
            "slant": abs(self.slant) <= 1.5,
            "edge_side": self.edge_side in EDGE_SIDES,
            "edge_reach": -0.2 <= self.edge_reach <= 0.2,
            "sheet_margins": len(self.sheet_margins) in (0, 4) and all(0.0 < m <= 5.0 for m in self.sheet_margins),
            "digit_sizes": 0.0 <= self.digit_sizes < 0.8,
            "baseline_drift": 0.0 <= self.baseline_drift <= 0.5,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError("invalid rendering conditions: " + ", ".join(f"{n}={getattr(self, n)!r}" for n in bad))

    @property
    def gain(self) -> float:
        """Sensor gain a webcam's auto-exposure would use: 1 in good light, more when dim."""
        return max(1.0, _GAIN_REF / self.exposure)

    @property
    def effective_noise(self) -> float:
        """Noise std in grey levels on the average-lit paper: dim scenes get amplified noise, as on webcams."""
        return self.noise_sigma * self.gain**0.8

    def flags(self) -> dict[str, bool]:
        """The benchmark subsets this clip belongs to (accuracy is reported per subset)."""
        return {
            "dim": self.exposure < DIM_EXPOSURE,
            "ruled": self.ruled,
            "small": self.digit_height < SMALL_HEIGHT,
            "thin": self.pen_px < THIN_PEN_PX,
            "blurry": self.blur_sigma > BLURRY_SIGMA,
            "fat": self.pen_px >= FAT_PEN_PX,
            "edge": self.edge_side != "none",
            "sheet": bool(self.sheet_margins),
            "slant": abs(self.slant) >= SLANT,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists, floats rounded); `from_dict` inverts it."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, tuple):
                value = [round(float(v), 4) for v in value]
            elif isinstance(value, float):
                value = round(value, 4)
            out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conditions:
        """Rebuild conditions from `to_dict` output (e.g. from labels.json); unknown keys are ignored."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in data:
                value = data[f.name]
                kwargs[f.name] = tuple(float(v) for v in value) if isinstance(value, list) else value
        return cls(**kwargs)


def _uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def random_conditions(rng: np.random.Generator, rates: dict[str, float] | None = None, **overrides: Any) -> Conditions:
    """Draw realistic conditions for one clip; keyword arguments fix chosen fields.

    The classic benchmark subsets are drawn independently: ~30% dim, ~35% ruled, ~30% small
    digit, ~30% thin pen, ~25% blurry, so each subset is large enough to report on its own.
    Offsets keep a typical digit well inside the box (`render_frames` clamps them again for
    the actual ink). Then the wider conditions people meet are drawn, each independently with
    its probability in `rates` (missing names: `WIDE_RATES`): a fat marker up to a quarter of
    a big digit's height, a digit as large as the box against one of its sides, a small sheet
    (sticky note, index card) with the desk around it, strongly slanted writing.
    `rates=CLASSIC_RATES` draws exactly what was drawn before the conditions were widened,
    from the same random numbers. Raises TypeError for an unknown field name and ValueError
    for an invalid value.
    """
    cond = _classic_conditions(rng)
    rates = {**WIDE_RATES, **(rates or {})}
    if any(rates.values()):
        cond = _widen(cond, rng, rates)
    return replace(cond, **overrides) if overrides else cond


def _classic_conditions(rng: np.random.Generator) -> Conditions:
    """The conditions `random_conditions` drew before they were widened (same draws, same order)."""
    dim = rng.random() < 0.30
    ruled = bool(rng.random() < 0.35)
    small = rng.random() < 0.30
    thin = rng.random() < 0.30
    blurry = rng.random() < 0.25

    exposure = _uniform(rng, 0.25, DIM_EXPOSURE - 1e-3) if dim else _uniform(rng, DIM_EXPOSURE, 1.3)
    height = _uniform(rng, 0.30, SMALL_HEIGHT - 1e-3) if small else _uniform(rng, SMALL_HEIGHT, 0.80)
    ink = str(rng.choice(list(INKS), p=[0.45, 0.35, 0.20]))
    if thin:
        pen = _log_uniform(rng, 1.5, THIN_PEN_PX - 1e-3)
    elif ink == "pencil":  # a pencil is never a marker
        pen = _uniform(rng, THIN_PEN_PX, 6.0)
    else:
        pen = _log_uniform(rng, THIN_PEN_PX, 12.0)
    blur = _uniform(rng, BLURRY_SIGMA + 1e-3, 3.0) if blurry else _uniform(rng, 0.3, 1.2)

    # Camera white balance: warm (indoor bulbs) or cool (daylight, screens).
    warmth = float(rng.normal(0.0, 0.05))
    tint = (min(1.0, 1.0 - warmth), float(rng.uniform(0.96, 1.0)), min(1.0, 1.0 + warmth))
    ink_bgr = tuple(float(np.clip(c * rng.uniform(0.85, 1.2), 0.02, 0.6)) for c in INKS[ink])
    if rng.random() < 0.7:  # pale blue ruling, more or less faded
        fade = _uniform(rng, 0.0, 0.5)
        line_bgr = tuple(1.0 - (1.0 - c) * (1.0 - fade) for c in (0.97, 0.84, 0.70))
    else:  # grey ruling
        g = _uniform(rng, 0.8, 0.9)
        line_bgr = (g, g, g)
    shake_px = _log_uniform(rng, 0.3, 3.0)

    # Keep the digit (assumed at most ~0.85 of its height wide) clear of the box border.
    edge = 0.06 + 3.0 * shake_px / 200.0
    lim_x = max(0.0, (1.0 - 0.85 * height) / 2.0 - edge)
    lim_y = max(0.0, (1.0 - height) / 2.0 - edge)
    desk = rng.random() < 0.3

    cond = Conditions(
        paper_tone=_uniform(rng, 0.78, 0.95),
        paper_tint=tint,
        ruled=ruled,
        line_spacing=_uniform(rng, 22.0, 36.0),
        line_offset=_uniform(rng, 0.0, 1.0),
        line_bgr=line_bgr,
        line_thickness=int(rng.choice([1, 2], p=[0.8, 0.2])),
        margin=bool(ruled and rng.random() < 0.5),
        margin_x=_uniform(rng, 0.06, 0.28),
        ink=ink,
        ink_bgr=ink_bgr,
        pen_px=pen,
        digit_height=height,
        dx=_uniform(rng, -lim_x, lim_x) * 0.8,
        dy=_uniform(rng, -lim_y, lim_y) * 0.8,
        digit_gap=_uniform(rng, 0.12, 0.35),
        rotation=float(np.clip(rng.normal(0.0, 4.0), -12.0, 12.0)),
        exposure=exposure,
        shadow=_uniform(rng, 0.0, 0.15) if rng.random() < 0.5 else _uniform(rng, 0.15, 0.6),
        shadow_angle=_uniform(rng, 0.0, 360.0),
        vignette=_uniform(rng, 0.05, 0.45),
        blur_sigma=blur,
        noise_sigma=_uniform(rng, 1.0, 3.5),
        shake_px=shake_px,
        shake_deg=_log_uniform(rng, 0.05, 0.8),
        jpeg_quality=int(rng.integers(55, 96)),
        desk_side=str(rng.choice(DESK_SIDES[1:])) if desk else "none",
        desk_frac=_uniform(rng, 0.03, 0.15) if desk else 0.0,
        desk_bgr=tuple(float(c) for c in rng.uniform(0.05, 0.35) * rng.uniform(0.7, 1.0, 3)),
    )
    return cond


def _widen(cond: Conditions, rng: np.random.Generator, rates: dict[str, float]) -> Conditions:
    """Add the wider conditions to classic ones, each with its probability in `rates`."""
    fat, edge, sheet, slant = (bool(u < rates[name]) for u, name in zip(rng.random(4), WIDE_RATES, strict=True))
    changes: dict[str, Any] = {}
    height = cond.digit_height
    if edge:  # as large as the box, against one side of it, touching or just crossing it
        height = _uniform(rng, 0.55, 1.0)
        changes.update(edge_side=str(rng.choice(EDGE_SIDES[1:])), edge_reach=_uniform(rng, -0.01, 0.05))
    elif fat:  # fat markers are used for big digits
        height = _uniform(rng, 0.6, 0.92)
    if fat:  # a whiteboard or felt marker: a stroke of 15-25% of the digit's height
        ink = str(rng.choice(["black", "blue"], p=[0.6, 0.4]))
        ink_bgr = tuple(float(np.clip(c * rng.uniform(0.85, 1.2), 0.02, 0.6)) for c in INKS[ink])
        pen = _uniform(rng, 0.15, 0.25) * height * BOX_HEIGHT_PX
        changes.update(ink=ink, ink_bgr=ink_bgr, pen_px=max(pen, FAT_PEN_PX))
    if sheet:  # a sticky note or index card: its edges and the desk behind it show in the box
        near = int(rng.integers(4))  # at least one side comes close to the ink
        margins = [_uniform(rng, 0.08, 0.35) if k == near else _uniform(rng, 0.12, 1.2) for k in range(4)]
        colour = str(rng.choice(list(SHEET_COLOURS), p=[0.45, 0.35, 0.1, 0.1]))
        desk = rng.uniform(0.05, 0.55) * rng.uniform(0.7, 1.0, 3)  # from a dark desk to a light grey one
        changes.update(
            sheet_margins=tuple(margins),
            paper_bgr=SHEET_COLOURS[colour],
            desk_side="none",
            desk_frac=0.0,
            desk_bgr=tuple(float(c) for c in desk),
        )
    if slant:  # mostly leaning right, as right-handed writers do
        changes["slant"] = _uniform(rng, SLANT, 0.7) * (1.0 if rng.random() < 0.8 else -1.0)
    if height != cond.digit_height:
        changes["digit_height"] = height
    return replace(cond, **changes) if changes else cond


def random_number_conditions(
    rng: np.random.Generator, rates: dict[str, float] | None = None, **overrides: Any
) -> Conditions:
    """Draw conditions for a clip of a number as people write one; keyword arguments fix fields.

    `random_conditions`, then the number's own layout: digits 35-140 px tall in a box
    `BOX_HEIGHT_PX` high (log-uniform: small numbers are common), gaps from overlapping
    (~25%) to wide, uneven digit heights (~30%: a digit down to half its neighbour's height)
    and a wandering baseline (~30%). A fat marker keeps its width relative to the height.
    """
    cond = random_conditions(rng, rates)
    height_px = _log_uniform(rng, 35.0, 140.0)
    touching = rng.random() < 0.25
    gap = _uniform(rng, -0.15, 0.03) if touching else _log_uniform(rng, 0.06, 0.8)
    sizes = _uniform(rng, 0.25, 0.55) if rng.random() < 0.3 else 0.0
    drift = _uniform(rng, 0.03, 0.12) if rng.random() < 0.3 else 0.0
    pen = cond.pen_px
    if pen >= FAT_PEN_PX:
        pen = max(THIN_PEN_PX, pen * height_px / (cond.digit_height * BOX_HEIGHT_PX))
    cond = replace(
        cond,
        digit_height=height_px / BOX_HEIGHT_PX,
        digit_gap=gap,
        digit_sizes=sizes,
        baseline_drift=drift,
        pen_px=pen,
    )
    return replace(cond, **overrides) if overrides else cond


# --------------------------------------------------------------------------- drawing the ink


def _thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a bool (H, W) mask to a 1-px skeleton (bool), vectorised with a LUT.

    The skeleton is the pen's path: redrawing it with a disc of the wanted width turns an MNIST
    digit (whose strokes are ~15% of its height) into the same digit written with any pen.
    """
    img = np.pad(mask.astype(np.uint8), 1)
    luts = _ZHANG_SUEN_LUTS
    while True:
        changed = False
        for lut in luts:
            c = img[1:-1, 1:-1]
            code = (
                img[:-2, 1:-1]  # N
                | img[:-2, 2:] << 1  # NE
                | img[1:-1, 2:] << 2  # E
                | img[2:, 2:] << 3  # SE
                | img[2:, 1:-1] << 4  # S
                | img[2:, :-2] << 5  # SW
                | img[1:-1, :-2] << 6  # W
                | img[:-2, :-2] << 7  # NW
            )
            delete = lut[code] & (c == 1)
            if delete.any():
                c[delete] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def _zhang_suen_luts() -> tuple[np.ndarray, np.ndarray]:
    """Deletion tables (bool (256,)) of the two Zhang-Suen sub-iterations, indexed by neighbour code."""
    codes = np.arange(256)
    p = (codes[:, None] >> np.arange(8)) & 1  # p[:, 0] = N, clockwise
    b = p.sum(1)
    a = ((p == 0) & (np.roll(p, -1, axis=1) == 1)).sum(1)
    base = (b >= 2) & (b <= 6) & (a == 1)
    n, e, s, w = p[:, 0], p[:, 2], p[:, 4], p[:, 6]
    first = base & (n * e * s == 0) & (e * s * w == 0)
    second = base & (n * e * w == 0) & (n * s * w == 0)
    return first, second


_ZHANG_SUEN_LUTS = _zhang_suen_luts()  # constant, computed once


@dataclass(frozen=True)
class _Skeleton:
    """A digit's pen path: distance (float32, px at skeleton scale) to the path, and the path's bbox."""

    dist: np.ndarray
    x0: int
    y0: int
    w: int
    h: int


def _shear(img: np.ndarray, slant: float) -> np.ndarray:
    """float32 (H, W) -> (H, W + 2 * extra): rows shifted right by slant * (height above the middle)."""
    h, w = img.shape
    extra = int(math.ceil(abs(slant) * h / 2.0)) + 1
    m = np.array([[1.0, -slant, slant * (h - 1) / 2.0 + extra], [0.0, 1.0, 0.0]], np.float32)
    return cv2.warpAffine(img, m, (w + 2 * extra, h), flags=cv2.INTER_LINEAR, borderValue=0.0)


def _skeleton(digit: np.ndarray, slant: float = 0.0) -> _Skeleton:
    """MNIST uint8 (28, 28) -> its pen path, found on a smooth 8x upsampling (224x224), sheared by `slant`."""
    img = np.asarray(digit)
    if img.shape != (28, 28):
        raise ValueError(f"digits must be (28, 28) MNIST images, got shape {img.shape}")
    img = np.asarray(img, np.float32)
    if img.max() > 1.5:
        img = img / 255.0
    s = _SKELETON_SCALE
    big = cv2.resize(img, (28 * s, 28 * s), interpolation=cv2.INTER_CUBIC)
    if slant:  # slanted writing: the same pen path, sheared (then thinned like any digit)
        big = _shear(big, slant)
    pad = 6 * s  # room for the widest pen around the path
    shape = np.pad(big > 0.5, pad)
    if not shape.any():
        raise ValueError("an MNIST digit has no ink")
    ys, xs = np.nonzero(shape)  # thin only the digit's bounding box: most of the canvas is empty
    y0, y1, x0, x1 = ys.min() - 1, ys.max() + 2, xs.min() - 1, xs.max() + 2
    path = np.zeros_like(shape)
    path[y0:y1, x0:x1] = _thin(shape[y0:y1, x0:x1])
    ys, xs = np.nonzero(path)
    dist = cv2.distanceTransform((~path).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return _Skeleton(dist, int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Low-frequency noise, float32 (H, W), std ~1, with about `cells` blobs across the larger side."""
    h, w = shape
    gh, gw = max(2, round(cells * h / max(h, w))), max(2, round(cells * w / max(h, w)))
    grid = rng.standard_normal((gh, gw), dtype=np.float32)
    out = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    return out / max(float(out.std()), 1e-6)


def _stroke_alpha(sk: _Skeleton, height_px: float, cond: Conditions, rng: np.random.Generator) -> np.ndarray:
    """Ink coverage float32 (h, w) in [0, 1] of one digit written `height_px` tall with cond's pen.

    The distance-to-path field is scaled to frame size and cut at the pen radius with a 1-px
    ramp, giving anti-aliased strokes of sub-pixel-exact width; a little low-frequency wobble of
    the radius and of the opacity makes the stroke look hand-made rather than vector-drawn.
    """
    pen = cond.pen_px
    scale = max(height_px - pen, 2.0) / sk.h
    margin = int(math.ceil((pen / 2 + 2) / scale)) + 1
    y0, x0 = max(0, sk.y0 - margin), max(0, sk.x0 - margin)
    y1 = min(sk.dist.shape[0], sk.y0 + sk.h + margin)
    x1 = min(sk.dist.shape[1], sk.x0 + sk.w + margin)
    crop = sk.dist[y0:y1, x0:x1]
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    dist = cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR) * scale
    radius = pen / 2.0 * (1.0 + 0.08 * _smooth_noise(rng, dist.shape, 4))
    alpha = np.clip(radius - dist + 0.5, 0.0, 1.0)
    if cond.ink == "pencil":  # graphite leaves a grainy, patchy line
        grain = 0.75 + 0.25 * rng.standard_normal(alpha.shape, dtype=np.float32)
        alpha *= np.clip(cv2.GaussianBlur(grain, (0, 0), 0.7), 0.3, 1.0)
    else:  # ballpoint and felt pens vary slightly in how much ink they lay down
        alpha *= 0.9 + 0.1 * np.clip(_smooth_noise(rng, alpha.shape, 6), -1.0, 1.0)
    ys, xs = np.nonzero(alpha > 0.02)
    if ys.size == 0:
        return np.zeros((1, 1), np.float32)
    return np.ascontiguousarray(alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


@dataclass(frozen=True)
class _Placed:
    """One digit's ink coverage float32 (h, w) and its top-left corner on the group canvas."""

    alpha: np.ndarray
    x: int
    y: int


def _digit_group(
    digits: list[np.ndarray], cond: Conditions, box: tuple[int, int], rng: np.random.Generator
) -> tuple[np.ndarray, list[_Placed]]:
    """Ink coverage float32 (h, w) of the digits written left to right, sized to fit the box.

    Each digit is cond.digit_height of the box tall (with a little handwriting jitter in size
    and baseline, and cond.digit_sizes of unevenness) and separated by cond.digit_gap of that
    height (< 0: overlapping). If the group (rotated with the sheet) would not fit the box with
    a margin, it is scaled down as a whole (a digit against the box edge may fill the box).
    Also returns where each digit landed on the canvas.
    """
    skeletons = [_skeleton(d, cond.slant) for d in digits]
    target = cond.digit_height * box[1]
    jitter = [float(rng.uniform(0.92, 1.08)) if len(digits) > 1 else 1.0 for _ in digits]
    if cond.digit_sizes:  # a digit written much smaller than its neighbours
        jitter = [j * (1.0 - float(rng.uniform(0.0, cond.digit_sizes))) for j in jitter]
    heights = np.array([target * j for j in jitter])
    widths = np.array(
        [(sk.w / sk.h) * max(h - cond.pen_px, 2.0) + cond.pen_px for sk, h in zip(skeletons, heights, strict=True)]
    )
    gap = cond.digit_gap * target
    group_w = float(widths.sum() + gap * (len(digits) - 1))
    group_h = float(heights.max() * (1.1 if len(digits) > 1 else 1.0))
    # Fit the rotated group inside the box, leaving room for hand shake (none against the edge).
    th = math.radians(abs(cond.rotation))
    rot_w = group_w * math.cos(th) + group_h * math.sin(th)
    rot_h = group_w * math.sin(th) + group_h * math.cos(th)
    edge = 2.0 * (6.0 + 3.0 * cond.shake_px) if cond.edge_side == "none" else 0.0
    fit = min(1.0, (box[0] - edge) / rot_w, (box[1] - edge) / rot_h)
    alphas = [_stroke_alpha(sk, h * fit, cond, rng) for sk, h in zip(skeletons, heights, strict=True)]
    gap_px = max(1, round(gap * fit)) if gap >= 0 else round(gap * fit)
    xs = [0]
    for a in alphas[:-1]:  # an overlap never puts a digit before the middle of the previous one
        xs.append(xs[-1] + max(a.shape[1] + gap_px, (a.shape[1] + 1) // 2))
    if cond.baseline_drift or cond.digit_sizes:
        ys = _on_baseline(alphas, cond.baseline_drift * target, target, rng)
        canvas_h = max(y + a.shape[0] for y, a in zip(ys, alphas, strict=True))
    else:  # digits centred on the line
        canvas_h = max(a.shape[0] for a in alphas) + round(0.1 * target)
        ys = []
        for a in alphas:
            slack = canvas_h - a.shape[0]
            jit = rng.normal(0, 0.03 * target) if len(alphas) > 1 else 0.0
            ys.append(int(np.clip(round(slack / 2 + jit), 0, slack)) if len(alphas) > 1 else slack // 2)
    canvas_w = max(x + a.shape[1] for x, a in zip(xs, alphas, strict=True))
    out = np.zeros((canvas_h, canvas_w), np.float32)
    for a, x, y in zip(alphas, xs, ys, strict=True):
        region = out[y : y + a.shape[0], x : x + a.shape[1]]
        np.maximum(region, a, out=region)
    rows = np.flatnonzero(out.max(1) > 0)
    placed = [_Placed(a, x, y - int(rows.min())) for a, x, y in zip(alphas, xs, ys, strict=True)]
    return out[rows.min() : rows.max() + 1], placed


def _on_baseline(alphas: list[np.ndarray], drift: float, target: float, rng: np.random.Generator) -> list[int]:
    """Top rows of digits standing on a line that wanders by `drift` px (std) per digit."""
    base, bottoms = 0.0, []
    for _ in alphas:
        base += float(rng.normal(0.0, drift)) if drift else 0.0
        bottoms.append(base + float(rng.normal(0.0, 0.03 * target)))
    tops = [b - a.shape[0] for b, a in zip(bottoms, alphas, strict=True)]
    return [round(t - min(tops)) for t in tops]


def _neighbours(placed: list[_Placed]) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """Between each digit and the next: the narrowest horizontal space between their ink in any row
    (px, <= 0 where they overlap; the space between their boxes if no row has both) and whether
    their ink touches."""
    gaps, touching = [], []
    for left, right in itertools.pairwise(placed):
        x0, y0 = min(left.x, right.x), min(left.y, right.y)
        x1 = max(left.x + left.alpha.shape[1], right.x + right.alpha.shape[1])
        y1 = max(left.y + left.alpha.shape[0], right.y + right.alpha.shape[0])
        masks = []
        for p in (left, right):
            m = np.zeros((y1 - y0, x1 - x0), np.uint8)
            m[p.y - y0 : p.y - y0 + p.alpha.shape[0], p.x - x0 : p.x - x0 + p.alpha.shape[1]] = p.alpha > 0.5
            masks.append(m)
        both = masks[0].any(1) & masks[1].any(1)
        if both.any():
            cols = np.arange(x1 - x0)
            last = np.where(masks[0][both] > 0, cols, -1).max(1)
            first = np.where(masks[1][both] > 0, cols, x1 - x0).min(1)
            gaps.append(int((first - last - 1).min()))
        else:
            gaps.append(right.x - (left.x + left.alpha.shape[1]))
        touching.append(bool((cv2.dilate(masks[0], np.ones((3, 3), np.uint8)) & masks[1]).any()))
    return tuple(gaps), tuple(touching)


# --------------------------------------------------------------------------- styles MNIST rarely has


def _curve(p0, p1, p2, n: int = 16) -> np.ndarray:
    """A quadratic Bezier from p0 to p2 pulled towards p1: float (n, 2) points (x, y)."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    p0, p1, p2 = (np.asarray(p, float) for p in (p0, p1, p2))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def _flag_one(rng: np.random.Generator) -> list[np.ndarray]:
    """A `1` as much of Europe writes it: a long up-stroke (flag) into the top, a stem, no foot."""
    top = np.array([0.0, 0.0])
    flag_len, angle = _uniform(rng, 0.3, 0.55), math.radians(_uniform(rng, 15.0, 45.0))
    start = top + flag_len * np.array([-math.cos(angle), math.sin(angle)])
    bend = (start + top) / 2 + rng.normal(0.0, 0.03, 2)
    foot = np.array([_uniform(rng, -0.1, 0.06), 1.0])
    return [np.concatenate([_curve(start, bend, top), _curve(top, (top + foot) / 2 + rng.normal(0, 0.02, 2), foot)])]


def _crossed_seven(rng: np.random.Generator) -> list[np.ndarray]:
    """A `7` with a bar across its stem and a peaked top (the bar rises into a sharp corner)."""
    width = _uniform(rng, 0.5, 0.8)
    corner = np.array([width, _uniform(rng, -0.06, 0.02)])
    left = np.array([0.0, _uniform(rng, 0.02, 0.1)])
    foot = np.array([width * _uniform(rng, 0.15, 0.5), 1.0])
    stem = _curve(corner, (corner + foot) / 2 + np.array([_uniform(rng, -0.08, 0.05), 0.0]), foot)
    top = _curve(left, (left + corner) / 2 + rng.normal(0.0, 0.02, 2), corner, 8)
    if rng.random() < 0.5:  # a short tick down at the bar's left end
        top = np.concatenate([[left + np.array([_uniform(rng, -0.04, 0.04), _uniform(rng, 0.12, 0.25)])], top])
    k = int(np.argmin(np.abs(stem[:, 1] - _uniform(rng, 0.45, 0.6))))
    mid = stem[k]
    bar = np.array([mid - [_uniform(rng, 0.15, 0.3), _uniform(rng, -0.03, 0.03)], mid + [_uniform(rng, 0.12, 0.28), 0]])
    return [np.concatenate([top, stem]), bar]


def _open_four(rng: np.random.Generator) -> list[np.ndarray]:
    """A `4` whose arm curves down into the bar, open at the top (the stem does not meet the arm)."""
    width = _uniform(rng, 0.6, 0.85)
    arm_top = np.array([width * _uniform(rng, 0.15, 0.4), _uniform(rng, 0.0, 0.08)])
    bar_left = np.array([width * _uniform(rng, 0.0, 0.15), _uniform(rng, 0.58, 0.7)])
    pull = np.array([width * _uniform(rng, -0.12, 0.05), _uniform(rng, 0.4, 0.62)])
    bar_right = np.array([width, bar_left[1] + _uniform(rng, -0.08, 0.03)])
    arm = np.concatenate([_curve(arm_top, pull, bar_left), [bar_right]])
    stem_x = width * _uniform(rng, 0.6, 0.8)
    stem = np.array([[stem_x, _uniform(rng, 0.05, 0.25)], [stem_x + _uniform(rng, -0.08, 0.04), 1.0]])
    return [arm, stem]


# Named styles: what label each is, and how to draw its pen path (polylines in units of the height).
STYLES: dict[str, int] = {"flag-1": 1, "crossed-7": 7, "open-4": 4}
_STYLE_PATHS = {"flag-1": _flag_one, "crossed-7": _crossed_seven, "open-4": _open_four}


def style_digit(style: str, rng: np.random.Generator) -> np.ndarray:
    """An MNIST-like uint8 (28, 28) image (white ink on black) of a digit in a named style (`STYLES`).

    The pen path is a few jittered curves, drawn at 8x with an MNIST-like stroke, shrunk so its
    longer side is 20 px and centred by its centre of mass, as MNIST digits are. The renderer
    redraws it with any pen like an MNIST digit, and training can use it as one.
    """
    if style not in _STYLE_PATHS:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
    s = _SKELETON_SCALE
    strokes = _STYLE_PATHS[style](rng)
    points = np.concatenate(strokes)
    lo = points.min(0)
    scale = 20 * s / max(float(np.ptp(points[:, 1])), 1e-6)
    pen = int(round(_uniform(rng, 1.8, 2.8) * s))
    size = np.ceil((points.max(0) - lo) * scale).astype(int) + 2 * pen
    canvas = np.zeros((size[1], size[0]), np.uint8)
    for stroke in strokes:
        pts = np.round(((stroke - lo) * scale + pen) * 16).astype(np.int32)
        cv2.polylines(canvas, [pts], False, 255, pen, cv2.LINE_AA, 4)
    ys, xs = np.nonzero(canvas)
    canvas = canvas[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    fit = 20.0 / max(canvas.shape)
    small = cv2.resize(
        canvas,
        (max(1, round(canvas.shape[1] * fit)), max(1, round(canvas.shape[0] * fit))),
        interpolation=cv2.INTER_AREA,
    )
    m = cv2.moments(small)
    cx, cy = m["m10"] / m["m00"], m["m01"] / m["m00"]
    out = np.zeros((28, 28), np.uint8)
    x0 = int(np.clip(round(14 - cx), 0, 28 - small.shape[1]))
    y0 = int(np.clip(round(14 - cy), 0, 28 - small.shape[0]))
    out[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    return out


# --------------------------------------------------------------------------- the filmed scene


@dataclass(frozen=True)
class _Scene:
    """Everything fixed for a clip: the sheet (reflectance canvas, in sheet coordinates) and the light.

    `inked` (and `paper`, the same sheet without ink, kept only when blank frames are wanted) are
    float32 (H + 2*pad, W + 2*pad, 3), already optically blurred: blur commutes with the rigid
    hand shake, so it is done once per clip. `light` is float32 (H, W, 3) = exposure x shadow x
    vignette x white balance x 255, and `noise` float32 (H, W) the sensor noise std in grey
    levels, both in frame coordinates.
    """

    inked: np.ndarray
    paper: np.ndarray | None
    light: np.ndarray
    noise: np.ndarray
    anchor_sheet: tuple[float, float]  # the digit group's centre on the canvas ...
    anchor_frame: tuple[float, float]  # ... and where it appears in the frame
    cond: Conditions


def _canvas_pad(cond: Conditions, frame_size: tuple[int, int], anchor: tuple[float, float]) -> int:
    """How far the sheet canvas must extend beyond the frame so rotation and shake never show its edge."""
    fw, fh = frame_size
    reach = max(math.hypot(cx - anchor[0], cy - anchor[1]) for cx in (0, fw) for cy in (0, fh))
    turn = math.radians(min(90.0, abs(cond.rotation) + 2.5 * cond.shake_deg))
    return int(math.ceil(2.0 * reach * math.sin(turn / 2.0) + 2.5 * cond.shake_px * math.sqrt(2.0))) + 8


def _sheet(
    cond: Conditions,
    frame_size: tuple[int, int],
    pad: int,
    rng: np.random.Generator,
    small: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Blank sheet reflectance float32 (H + 2*pad, W + 2*pad, 3): paper texture, ruling, margin, desk.

    `small`: the rectangle (x0, y0, x1, y1) on the canvas a small sheet covers; desk all around it.
    Built channel by channel on 2-D arrays (cheaper than 3-channel broadcasting).
    """
    fw, fh = frame_size
    ch, cw = fh + 2 * pad, fw + 2 * pad
    tone = _smooth_noise(rng, (ch, cw), 8)
    tone *= 0.015 * cond.paper_tone
    tone += cond.paper_tone
    grain = rng.standard_normal((ch, cw), dtype=np.float32)  # paper fibre
    tone += grain * np.float32(0.006 * cond.paper_tone)
    # Paper is very slightly warm; sticky notes are coloured.
    chans = [tone * np.float32(k * c) for k, c in zip((0.985, 0.995, 1.0), cond.paper_bgr, strict=True)]

    shift = 4  # cv2 drawing with 1/16 px precision
    marks: list[tuple[np.ndarray, tuple[float, float, float]]] = []
    if cond.ruled:
        lines = np.zeros((ch, cw), np.uint8)
        y = (cond.line_offset % 1.0) * cond.line_spacing
        while y < ch:
            yi = round(y * (1 << shift))
            cv2.line(lines, (0, yi), ((cw - 1) << shift, yi), 255, cond.line_thickness, cv2.LINE_AA, shift)
            y += cond.line_spacing
        marks.append((lines, cond.line_bgr))
    if cond.margin:
        margin = np.zeros((ch, cw), np.uint8)
        xi = round((pad + cond.margin_x * fw) * (1 << shift))
        cv2.line(margin, (xi, 0), (xi, (ch - 1) << shift), 255, cond.line_thickness + 1, cv2.LINE_AA, shift)
        marks.append((margin, (0.68, 0.66, 0.97)))
    for mask8, bgr in marks:  # printed lines multiply the paper's reflectance
        a = mask8.astype(np.float32)
        for chan, k in zip(chans, bgr, strict=True):
            chan *= 1.0 - a * np.float32((1.0 - k) / 255.0)
    if cond.desk_side != "none":
        dw, dh = pad + round(cond.desk_frac * fw), pad + round(cond.desk_frac * fh)
        rows, cols = {
            "left": (slice(None), slice(0, dw)),
            "right": (slice(None), slice(cw - dw, cw)),
            "top": (slice(0, dh), slice(None)),
            "bottom": (slice(ch - dh, ch), slice(None)),
        }[cond.desk_side]
        shape = chans[0][rows, cols].shape
        texture = np.clip(1.0 + 0.25 * _smooth_noise(rng, shape, 12), 0.4, 1.6)
        for chan, k in zip(chans, cond.desk_bgr, strict=True):
            chan[rows, cols] = texture * np.float32(k)
    if small is not None:
        x0, y0, x1, y1 = small
        desk = np.ones((ch, cw), bool)
        desk[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = False
        texture = np.clip(1.0 + 0.25 * _smooth_noise(rng, (ch, cw), 12), 0.4, 1.6)[desk]
        for chan, k in zip(chans, cond.desk_bgr, strict=True):
            chan[desk] = texture * np.float32(k)
    return cv2.merge(chans)


def _lighting(cond: Conditions, frame_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Light reaching each frame pixel times the camera's gains, float32 (H, W, 3) in grey levels,
    and the sensor noise std there, float32 (H, W).

    Noise is read noise plus shot noise (variance grows with the light), so shadowed corners are
    less noisy in grey levels but noisier relative to their brightness, as on a real sensor.
    """
    fw, fh = frame_size
    half_diag = 0.5 * math.hypot(fw, fh)
    x = ((np.arange(fw, dtype=np.float32) - (fw - 1) / 2) / half_diag)[None, :]
    y = ((np.arange(fh, dtype=np.float32) - (fh - 1) / 2) / half_diag)[:, None]
    a = math.radians(cond.shadow_angle)
    ramp = np.clip(0.5 + 0.6 * (x * math.cos(a) + y * math.sin(a)), 0.0, 1.0)
    ramp = ramp * ramp * (3.0 - 2.0 * ramp)  # smoothstep: a soft shadow edge, not a straight ramp
    light = (1.0 - cond.shadow * ramp) * (1.0 - cond.vignette * (x * x + y * y))
    gains = np.asarray(cond.paper_tint, np.float32) * np.float32(255.0 * cond.exposure)
    noise = np.sqrt(0.3 + 0.7 * light / float(light.mean())) * np.float32(cond.effective_noise)
    return cv2.merge([light * g for g in gains]), noise.astype(np.float32)


def _ink_extent(alpha: np.ndarray, rotation: float) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the ink (coverage > 0.5) of a float32 (h, w) alpha rotated by
    `rotation` degrees about its centre, in px from that centre (the pixels' outer edges)."""
    ys, xs = np.nonzero(alpha > 0.5)
    if ys.size == 0:
        ys, xs = np.nonzero(alpha >= alpha.max())
    px = xs + 0.5 - alpha.shape[1] / 2.0
    py = ys + 0.5 - alpha.shape[0] / 2.0
    th = math.radians(rotation)
    rx, ry = math.cos(th) * px - math.sin(th) * py, math.sin(th) * px + math.cos(th) * py
    return float(rx.min()) - 0.5, float(ry.min()) - 0.5, float(rx.max()) + 0.5, float(ry.max()) + 0.5


def _against_edge(
    ink: tuple[float, float, float, float], cond: Conditions, box_rect: tuple[int, int, int, int]
) -> tuple[float, float]:
    """Where the ink's centre goes (frame px) so that its `ink` extent reaches cond.edge_reach past
    the box side cond.edge_side, and stays inside the box along that side (moved by dx, dy)."""
    bx, by, bw, bh = box_rect
    left, top, right, bottom = ink
    centre = []
    for lo, size, near, far, offset in ((bx, bw, left, right, cond.dx), (by, bh, top, bottom, cond.dy)):
        mid = lo + size / 2.0 + offset * size
        low, high = lo + 2.0 - near, lo + size - 2.0 - far  # the centres keeping the ink inside
        centre.append(float(np.clip(mid, low, high)) if low <= high else lo + size / 2.0 - (near + far) / 2.0)
    reach_x, reach_y = cond.edge_reach * bw, cond.edge_reach * bh
    if cond.edge_side == "left":
        centre[0] = bx - reach_x - left
    elif cond.edge_side == "right":
        centre[0] = bx + bw + reach_x - right
    elif cond.edge_side == "top":
        centre[1] = by - reach_y - top
    else:
        centre[1] = by + bh + reach_y - bottom
    return centre[0], centre[1]


def _small_sheet(cond: Conditions, anchor: tuple[float, float], ink_size: tuple[int, int], height: float):
    """The canvas rectangle (x0, y0, x1, y1) of a small sheet around ink of `ink_size` (w, h) centred at
    `anchor` (canvas px); its margins are cond.sheet_margins times the digit `height` (px)."""
    ml, mt, mr, mb = (m * height for m in cond.sheet_margins)
    w, h = ink_size
    ax, ay = anchor
    return round(ax - w / 2 - ml), round(ay - h / 2 - mt), round(ax + w / 2 + mr), round(ay + h / 2 + mb)


def _corners_inside(rect: tuple[int, int, int, int], box_rect: tuple[int, int, int, int], scene: _Scene) -> bool:
    """Whether the whole box (frame) lies on the sheet rectangle `rect` (canvas), the sheet held still."""
    bx, by, bw, bh = box_rect
    th = math.radians(scene.cond.rotation)
    (sx, sy), (fx, fy) = scene.anchor_sheet, scene.anchor_frame
    for x, y in ((bx, by), (bx + bw, by), (bx, by + bh), (bx + bw, by + bh)):
        dx, dy = x - fx, y - fy  # frame -> sheet: rotate back about the anchor
        cx = sx + math.cos(th) * dx + math.sin(th) * dy
        cy = sy - math.sin(th) * dx + math.cos(th) * dy
        if not (rect[0] <= cx <= rect[2] and rect[1] <= cy <= rect[3]):
            return False
    return True


@dataclass(frozen=True)
class Layout:
    """Where a clip's ink landed, measured on its scene (frame px, the sheet held still).

    What the benchmark reports subsets by: how tall the digits came out, how close they are,
    whether the ink reaches the box edge, whether a small sheet's edge shows in the box.
    """

    digit_heights: tuple[int, ...] = ()  # ink height of each digit, px
    gaps: tuple[int, ...] = ()  # next digit's ink minus this one's, narrowest row, px (<= 0: overlapping)
    touching: tuple[bool, ...] = ()  # next digit's ink touches this one's
    box_margins: tuple[float, float, float, float] | None = None  # ink to the box's left, top, right, bottom
    # side, px (< 0: crosses it); None for blank paper
    sheet_in_box: bool = False  # a small sheet's edge (and the desk beyond it) shows inside the box

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["box_margins"] = None if self.box_margins is None else [round(m, 1) for m in self.box_margins]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def _build_scene(
    digits: list[np.ndarray],
    cond: Conditions,
    rng: np.random.Generator,
    frame_size: tuple[int, int],
    box: tuple[int, int],
    keep_blank: bool = False,
) -> tuple[_Scene, Layout]:
    fw, fh = frame_size
    centre = (fw / 2.0, fh / 2.0)
    box_rect = ((fw - box[0]) // 2, (fh - box[1]) // 2, box[0], box[1])
    anchor = (centre[0] + cond.dx * box[0], centre[1] + cond.dy * box[1])
    alpha, placed, ink = None, [], None
    if digits:
        alpha, placed = _digit_group(digits, cond, box, rng)
        ah, aw = alpha.shape
        ink = _ink_extent(alpha, cond.rotation)
        if cond.edge_side != "none":
            anchor = _against_edge(ink, cond, box_rect)
        else:  # clamp the group centre so the (rotated) ink stays inside the box, clear of its border
            th = math.radians(abs(cond.rotation))
            half_w = (aw * math.cos(th) + ah * math.sin(th)) / 2.0
            half_h = (aw * math.sin(th) + ah * math.cos(th)) / 2.0
            edge = 6.0 + 3.0 * cond.shake_px
            lim_x = max(0.0, box[0] / 2.0 - half_w - edge)
            lim_y = max(0.0, box[1] / 2.0 - half_h - edge)
            anchor = (
                centre[0] + float(np.clip(cond.dx * box[0], -lim_x, lim_x)),
                centre[1] + float(np.clip(cond.dy * box[1], -lim_y, lim_y)),
            )
    pad = _canvas_pad(cond, frame_size, anchor)
    small = None
    if cond.sheet_margins:
        height = max((p.alpha.shape[0] for p in placed), default=cond.digit_height * box[1])
        ink_size = (alpha.shape[1], alpha.shape[0]) if alpha is not None else (round(0.7 * height), round(height))
        small = _small_sheet(cond, (anchor[0] + pad, anchor[1] + pad), ink_size, height)
    sheet = _sheet(cond, frame_size, pad, rng, small)
    inked = sheet
    if alpha is not None:
        ah, aw = alpha.shape
        top, left = round(anchor[1] + pad - ah / 2.0), round(anchor[0] + pad - aw / 2.0)
        inked = sheet.copy() if keep_blank else sheet
        region = inked[top : top + ah, left : left + aw]
        a = alpha[:, :, None]
        region[:] = region * (1.0 - a) + np.asarray(cond.ink_bgr, np.float32) * a
    if cond.blur_sigma > 0.05:
        blurred = cv2.GaussianBlur(inked, (0, 0), cond.blur_sigma)
        sheet = cv2.GaussianBlur(sheet, (0, 0), cond.blur_sigma) if sheet is not inked else blurred
        inked = blurred
    scene = _Scene(
        inked,
        sheet if keep_blank else None,
        *_lighting(cond, frame_size),
        (anchor[0] + pad, anchor[1] + pad),
        anchor,
        cond,
    )
    gaps, touching = _neighbours(placed)
    margins = None
    if ink is not None:
        bx, by, bw, bh = box_rect
        left, top, right, bottom = ink
        ax, ay = anchor
        margins = (ax + left - bx, ay + top - by, bx + bw - (ax + right), by + bh - (ay + bottom))
    layout = Layout(
        digit_heights=tuple(p.alpha.shape[0] for p in placed),
        gaps=gaps,
        touching=touching,
        box_margins=margins,
        sheet_in_box=small is not None and not _corners_inside(small, box_rect, scene),
    )
    return scene, layout


class _Camera:
    """Films a scene frame by frame: hand shake, exposure flicker, sensor noise, MJPG."""

    def __init__(self, scene: _Scene, rng: np.random.Generator) -> None:
        self.scene = scene
        self.rng = rng
        self.shake = self._draw_shake(None)

    def _draw_shake(self, prev: np.ndarray | None) -> np.ndarray:
        c = self.scene.cond
        std = np.array([c.shake_px, c.shake_px, c.shake_deg], np.float64)
        fresh = self.rng.standard_normal(3) * std
        if prev is None:
            return fresh
        step = _SHAKE_MEMORY * prev + math.sqrt(1.0 - _SHAKE_MEMORY**2) * fresh
        return np.clip(step, -2.5 * std, 2.5 * std)

    def frame(self, inked: bool = True) -> np.ndarray:
        """One BGR uint8 (H, W, 3) frame of the sheet (with its ink, or blank when inked=False)."""
        s, c, rng = self.scene, self.scene.cond, self.rng
        fh, fw = s.light.shape[:2]
        self.shake = self._draw_shake(self.shake)
        tx, ty, dr = self.shake
        th = math.radians(c.rotation + dr)
        cos, sin = math.cos(th), math.sin(th)
        ax, ay = s.anchor_sheet
        bx, by = s.anchor_frame[0] + tx, s.anchor_frame[1] + ty
        m = np.array([[cos, -sin, bx - cos * ax + sin * ay], [sin, cos, by - sin * ax - cos * ay]], np.float32)
        src = s.inked if inked else s.paper
        if src is None:
            raise ValueError("this scene was built without a blank sheet (keep_blank=False)")
        img = cv2.warpAffine(src, m, (fw, fh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        cv2.multiply(img, s.light, dst=img, scale=1.0 + _FLICKER * float(rng.standard_normal()))
        sigma = np.float32(c.effective_noise)
        if sigma > 0:
            luma = rng.standard_normal((fh, fw), dtype=np.float32)
            luma *= s.noise
            luma += 0.5  # rounding for the uint8 conversion below
            img += luma[:, :, None]
            chroma = rng.standard_normal((fh // 4 + 1, fw // 4 + 1, 3), dtype=np.float32)
            img += cv2.resize(chroma, (fw, fh), interpolation=cv2.INTER_LINEAR) * (0.6 * sigma)
        else:
            img += 0.5
        out = np.clip(img, 0.0, 255.0, out=img).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(c.jpeg_quality)])
        if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
            return out
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)


@dataclass(frozen=True)
class Clip:
    """A rendered clip: BGR uint8 (H, W, 3) frames and where its ink landed."""

    frames: list[np.ndarray]
    layout: Layout


def render_clip(
    digits: list[np.ndarray],
    cond: Conditions,
    n_frames: int,
    rng: np.random.Generator,
    frame_size: tuple[int, int] = (640, 480),
    box: tuple[int, int] = (200, 200),
) -> Clip:
    """Film `n_frames` webcam frames of the digits written on a sheet held in front of the camera.

    digits: MNIST uint8 (28, 28) images (white ink on black); [] films blank paper, two or more
    are written side by side like a number. The group is centred in the `box` (w, h) at the frame
    centre, moved by (cond.dx, cond.dy) and kept inside the box (or pushed against its
    cond.edge_side). Returns the BGR uint8 (H, W, 3) frames, H, W = frame_size[1], frame_size[0],
    and the ink's `Layout`. Deterministic for a given rng state.
    """
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    fw, fh = frame_size
    if fw < 8 or fh < 8 or not (0 < box[0] <= fw and 0 < box[1] <= fh):
        raise ValueError(f"box {box} must fit in the frame {frame_size}")
    scene, layout = _build_scene(list(digits), cond, rng, (int(fw), int(fh)), (int(box[0]), int(box[1])))
    camera = _Camera(scene, rng)
    return Clip([camera.frame() for _ in range(n_frames)], layout)


def render_frames(
    digits: list[np.ndarray],
    cond: Conditions,
    n_frames: int,
    rng: np.random.Generator,
    frame_size: tuple[int, int] = (640, 480),
    box: tuple[int, int] = (200, 200),
) -> list[np.ndarray]:
    """The frames of `render_clip` (BGR uint8 (H, W, 3) each)."""
    return render_clip(digits, cond, n_frames, rng, frame_size, box).frames


def write_clip(path: str | Path, frames: list[np.ndarray], fps: float = 15) -> None:
    """Write BGR uint8 frames as an MJPG .avi, as a webcam recording would be stored.

    The frames already carry their own JPEG artefacts, so the writer uses quality 100 to add as
    little as possible. Raises ValueError for no/mismatched frames, OSError if nothing can write.
    """
    if not frames:
        raise ValueError("write_clip needs at least one frame")
    h, w = frames[0].shape[:2]
    for i, f in enumerate(frames):
        if f.shape != (h, w, 3) or f.dtype != np.uint8:
            raise ValueError(f"frame {i} is {f.dtype} {f.shape}; expected uint8 {(h, w, 3)} like frame 0")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist")
    fourcc = cv2.VideoWriter_fourcc(*"MJPG")
    if path.suffix.lower() == ".avi":  # OpenCV's own MJPG/AVI writer: no FFmpeg needed, quality settable
        writer = cv2.VideoWriter(str(path), cv2.CAP_OPENCV_MJPEG, fourcc, float(fps), (w, h))
        writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 100)
    else:  # another container: let OpenCV pick a backend
        writer = cv2.VideoWriter(str(path), fourcc, float(fps), (w, h))
    if not writer.isOpened():
        raise OSError(f"cannot open an MJPG video writer for {path} (is the folder writable?)")
    try:
        for f in frames:
            writer.write(f)
    finally:
        writer.release()


def demo_frames(
    digits: list[np.ndarray],
    rng: np.random.Generator,
    frame_size: tuple[int, int] = (640, 480),
    box: tuple[int, int] = (200, 200),
    frames_per_digit: int = 45,
    blank_frames: int = 8,
) -> Iterator[np.ndarray]:
    """Endless BGR uint8 (H, W, 3) frames for a live demo without a webcam.

    Cycles through `digits` (MNIST uint8 (28, 28) each), showing each for `frames_per_digit`
    frames under one set of pleasant but realistic conditions, with `blank_frames` of the same
    blank sheet before it (as if the digit were just being held up). The sheet is rendered once
    per digit; each frame only costs the shake, noise and JPEG (~10 ms). No digits: blank paper.
    """
    fw, fh = int(frame_size[0]), int(frame_size[1])
    items = list(digits) or [None]
    while True:
        for digit in items:
            cond = random_conditions(
                rng,
                CLASSIC_RATES,
                exposure=_uniform(rng, 0.65, 1.1),
                shadow=_uniform(rng, 0.0, 0.25),
                vignette=_uniform(rng, 0.05, 0.3),
                blur_sigma=_uniform(rng, 0.3, 0.9),
                noise_sigma=_uniform(rng, 1.0, 2.5),
                shake_px=_uniform(rng, 0.6, 1.8),
                shake_deg=_uniform(rng, 0.1, 0.4),
                pen_px=_uniform(rng, 3.0, 9.0),
                digit_height=_uniform(rng, 0.5, 0.75),
                dx=_uniform(rng, -0.05, 0.05),
                dy=_uniform(rng, -0.05, 0.05),
                rotation=_uniform(rng, -5.0, 5.0),
                jpeg_quality=int(rng.integers(75, 92)),
                desk_side="none",
                desk_frac=0.0,
            )
            if cond.ink == "pencil":
                cond = replace(cond, pen_px=min(cond.pen_px, 5.0))
            scene, _ = _build_scene(
                [] if digit is None else [digit], cond, rng, (fw, fh), (int(box[0]), int(box[1])), keep_blank=True
            )
            camera = _Camera(scene, rng)
            for _ in range(blank_frames if digit is not None else 0):
                yield camera.frame(inked=False)
            for _ in range(frames_per_digit):
                yield camera.frame(inked=digit is not None)

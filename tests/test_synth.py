"""The renderer's wider conditions draw what they claim, seen in the rendered frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from live_digits import synth

FRAME = (320, 240)
BOX = (200, 200)
ONLY = {name: {other: float(other == name) for other in synth.WIDE_RATES} for name in synth.WIDE_RATES}
STILL = {"shake_px": 0.0, "shake_deg": 0.0, "rotation": 0.0, "noise_sigma": 0.5, "blur_sigma": 0.4, "ruled": False}


def box_of(frame: np.ndarray, box: tuple[int, int] = BOX) -> np.ndarray:
    """The gray (h, w) uint8 crop the tool reads."""
    fh, fw = frame.shape[:2]
    x0, y0 = (fw - box[0]) // 2, (fh - box[1]) // 2
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)[y0 : y0 + box[1], x0 : x0 + box[0]]


def ink_mask(gray: np.ndarray, paper: float) -> np.ndarray:
    """bool: pixels much darker than the paper."""
    return gray < 0.55 * paper


def digit(mnist_sample, label: int) -> np.ndarray:
    return mnist_sample["x_test"][int(np.flatnonzero(mnist_sample["y_test"] == label)[0])]


def test_classic_rates_add_nothing_new():
    cond = synth.random_conditions(np.random.default_rng(0), synth.CLASSIC_RATES)
    assert cond.flags() == {**cond.flags(), "fat": False, "edge": False, "sheet": False, "slant": False}
    assert cond.sheet_margins == () and cond.slant == 0.0 and cond.edge_side == "none"


def test_wide_conditions_are_a_minority_each_and_overridable():
    rng = np.random.default_rng(1)
    draws = [synth.random_conditions(rng).flags() for _ in range(400)]
    for name in ("fat", "edge", "sheet", "slant"):
        assert 0.07 < np.mean([f[name] for f in draws]) < 0.25, name
    assert not any(synth.random_conditions(rng, {"sheet": 0.0}).sheet_margins for _ in range(50))
    assert synth.random_conditions(rng, ONLY["fat"], pen_px=5.0).pen_px == 5.0


def test_fat_marker_stroke_is_as_wide_as_drawn(mnist_sample):
    rng = np.random.default_rng(2)
    cond = synth.random_conditions(rng, ONLY["fat"], **STILL)
    assert synth.FAT_PEN_PX <= cond.pen_px <= 0.25 * cond.digit_height * synth.BOX_HEIGHT_PX + 1e-6
    wide = synth.random_conditions(rng, ONLY["fat"], pen_px=40.0, digit_height=0.9, **STILL)
    for c in (cond, wide):
        gray = box_of(synth.render_frames([digit(mnist_sample, 1)], c, 1, rng, FRAME, BOX)[0])
        mask = ink_mask(gray, float(np.percentile(gray, 95))).astype(np.uint8)
        width = 2.0 * cv2.distanceTransform(mask, cv2.DIST_L2, 5).max()
        assert width >= 0.8 * c.pen_px, (width, c.pen_px)
    assert width >= 25.0


@pytest.mark.parametrize("side", ["left", "right", "top", "bottom"])
def test_edge_digit_ink_reaches_the_box_side(mnist_sample, side):
    rng = np.random.default_rng(3)
    cond = synth.random_conditions(rng, ONLY["edge"], edge_side=side, edge_reach=0.0, **STILL)
    clip = synth.render_clip([digit(mnist_sample, 3)], cond, 1, rng, FRAME, BOX)
    gray = box_of(clip.frames[0])
    mask = ink_mask(gray, float(np.percentile(gray, 95)))
    rows, cols = np.nonzero(mask)
    reach = {"left": cols.min(), "top": rows.min(), "right": BOX[0] - 1 - cols.max(), "bottom": BOX[1] - 1 - rows.max()}
    assert reach[side] <= 2, reach
    margins = dict(zip(("left", "top", "right", "bottom"), clip.layout.box_margins, strict=True))
    assert abs(margins[side]) <= 1.0 and min(margins.values()) > -2.0  # against that side, inside the others


def test_small_sheet_edge_and_desk_show_in_the_box(mnist_sample):
    rng = np.random.default_rng(4)
    cond = synth.random_conditions(
        rng,
        ONLY["sheet"],
        sheet_margins=(0.1, 0.3, 2.0, 0.3),
        desk_bgr=(0.1, 0.1, 0.1),
        dx=0.0,
        digit_height=0.6,
        **STILL,
    )
    clip = synth.render_clip([digit(mnist_sample, 0)], cond, 1, rng, FRAME, BOX)
    assert clip.layout.sheet_in_box and cond.flags()["sheet"]
    gray = box_of(clip.frames[0])
    paper = float(np.percentile(gray, 95))
    desk = gray < 0.45 * paper
    left_columns = desk[:, :10].mean()  # the sheet ends 0.1 digit heights left of the ink: desk beyond it
    assert left_columns > 0.5 and desk[:, -10:].mean() < 0.05


def test_flagged_one_has_a_flag_and_no_foot():
    rng = np.random.default_rng(5)
    for _ in range(10):
        img = synth.style_digit("flag-1", rng)
        assert img.shape == (28, 28) and img.dtype == np.uint8
        rows = np.flatnonzero(img.max(1) > 128)
        bottom = img[rows.max() - 2 : rows.max() + 1] > 128
        cols = np.flatnonzero(bottom.any(0))
        assert cols.max() - cols.min() <= 5  # just the stem: no foot
        top_half = img[rows.min() : (rows.min() + rows.max()) // 2] > 128
        assert np.ptp(np.flatnonzero(top_half.any(0))) >= 5  # the flag reaches left of the stem
    assert synth.STYLES == {"flag-1": 1, "crossed-7": 7, "open-4": 4}


def test_styles_render_like_digits():
    rng = np.random.default_rng(6)
    for style in synth.STYLES:
        img = synth.style_digit(style, rng)
        frame = synth.render_frames([img], synth.random_conditions(rng, synth.CLASSIC_RATES, **STILL), 1, rng)[0]
        gray = box_of(frame)
        assert ink_mask(gray, float(np.percentile(gray, 95))).sum() > 100
    with pytest.raises(ValueError):
        synth.style_digit("gothic-9", rng)


def test_slanted_writing_leans(mnist_sample):
    rng = np.random.default_rng(7)
    tops = []
    for slant in (0.0, 0.6):
        cond = synth.random_conditions(rng, synth.CLASSIC_RATES, slant=slant, digit_height=0.8, pen_px=6.0, **STILL)
        gray = box_of(synth.render_frames([digit(mnist_sample, 1)], cond, 1, rng, FRAME, BOX)[0])
        rows, cols = np.nonzero(ink_mask(gray, float(np.percentile(gray, 95))))
        top, bottom = cols[rows < rows.min() + 10].mean(), cols[rows > rows.max() - 10].mean()
        tops.append((top - bottom) / np.ptp(rows))
    assert tops[1] - tops[0] > 0.3  # the top moved right by about slant x height


def test_touching_number_is_one_blob_and_says_so(mnist_sample):
    rng = np.random.default_rng(8)
    zeros = [digit(mnist_sample, 0), digit(mnist_sample, 8)]
    cond = synth.random_number_conditions(
        rng, synth.CLASSIC_RATES, digit_gap=-0.12, pen_px=9.0, digit_height=0.4, digit_sizes=0.0, **STILL
    )
    clip = synth.render_clip(zeros, cond, 1, rng, (440, 240), (400, 200))
    assert clip.layout.touching == (True,) and clip.layout.gaps[0] <= 0
    gray = box_of(clip.frames[0], (400, 200))
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink_mask(gray, float(np.percentile(gray, 95))).astype(np.uint8))
    assert (stats[1:, cv2.CC_STAT_AREA] > 50).sum() == 1


def test_number_layout_measures_heights_and_gaps(mnist_sample):
    rng = np.random.default_rng(9)
    digits = [digit(mnist_sample, d) for d in (9, 0, 4)]
    cond = synth.random_number_conditions(
        rng, synth.CLASSIC_RATES, digit_gap=0.5, digit_height=0.5, digit_sizes=0.6, baseline_drift=0.0, **STILL
    )
    layout = synth.render_clip(digits, cond, 1, rng, (440, 240), (400, 200)).layout
    assert len(layout.digit_heights) == 3 and len(layout.gaps) == 2 and not any(layout.touching)
    assert min(layout.gaps) > 10 and max(layout.digit_heights) <= 0.5 * 200 * 1.08 + 1

"""The normalisation every model input goes through: geometry, rejection, robustness."""

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from live_digits import preprocess
from live_digits.preprocess import INPUT_SIZE, threshold
from live_digits.preprocess.labels import select


def blank(h=200, w=200):
    return np.zeros((h, w), np.uint8)


def draw_seven(mask, x0=60, y0=50, size=100, thickness=9):
    cv2.line(mask, (x0, y0), (x0 + size * 2 // 3, y0), 255, thickness)
    cv2.line(mask, (x0 + size * 2 // 3, y0), (x0 + size // 4, y0 + size), 255, thickness)
    return mask


def centre_of_mass(img):
    m = cv2.moments(img)
    return m["m10"] / m["m00"], m["m01"] / m["m00"]


def test_digit_is_centred_by_mass_and_fits_20x20():
    for x0, y0 in [(30, 30), (90, 70), (50, 85)]:
        out = preprocess.normalise_crop(draw_seven(blank(), x0, y0))
        assert out.shape == (INPUT_SIZE, INPUT_SIZE) and out.dtype == np.float32
        cx, cy = centre_of_mass(out)
        assert abs(cx - 14) <= 0.5 and abs(cy - 14) <= 0.5
        ys, xs = np.nonzero(out > 0.05)
        assert max(np.ptp(ys), np.ptp(xs)) + 1 <= 21
        assert 0.0 <= out.min() and out.max() <= 1.0


def test_aspect_ratio_is_kept():
    mask = blank()
    cv2.rectangle(mask, (90, 40), (104, 160), 255, -1)  # a tall '1': 15 x 121
    cv2.circle(mask, (97, 100), 2, 0, -1)  # not a solid blob
    out = preprocess.normalise_crop(mask)
    ys, xs = np.nonzero(out > 0.5)
    assert np.ptp(ys) + 1 >= 19
    assert np.ptp(xs) + 1 <= 4  # 15/121 of 20 px is ~2.5 px


def test_same_digit_at_any_size_and_place_gives_the_same_input():
    small = preprocess.normalise_crop(draw_seven(blank(), 40, 40, size=60, thickness=5))
    large = preprocess.normalise_crop(draw_seven(blank(), 30, 30, size=130, thickness=11))
    assert np.abs(small - large).mean() < 0.05


def test_empty_and_all_ink_crops_have_no_digit():
    assert preprocess.normalise_crop(blank()) is None
    assert preprocess.normalise_crop(np.full((200, 200), 255, np.uint8)) is None


def test_specks_a_hand_at_the_border_and_a_dash_are_not_digits():
    rng = np.random.default_rng(0)
    specks = ((rng.random((200, 200)) < 0.002) * 255).astype(np.uint8)
    assert preprocess.normalise_crop(specks) is None
    hand = blank()
    cv2.ellipse(hand, (200, 120), (90, 40), 0, 0, 360, 255, -1)  # enters from the right edge
    assert preprocess.normalise_crop(hand) is None
    dash = blank()
    cv2.line(dash, (60, 100), (140, 100), 255, 8)
    assert preprocess.normalise_crop(dash) is None
    blob = blank()
    cv2.circle(blob, (100, 100), 40, 255, -1)  # a fingertip, a blot
    assert preprocess.normalise_crop(blob) is None


@pytest.mark.parametrize("angle", [0.0, 3.0, -4.0])
def test_faint_ruled_lines_broken_into_dashes_are_removed(angle):
    """A fine, pale ruling thresholds into short dashes, none long enough to be a line alone,
    and where it runs through the digit it is part of the digit's piece."""
    clean = draw_seven(blank(), thickness=5)
    ruled = clean.copy()
    slope = np.tan(np.radians(angle))
    for y in range(12, 200, 30):
        for x in range(0, 200, 16):  # dashes 11 px long, 5 px apart
            cv2.line(ruled, (x, round(y + (x - 100) * slope)), (x + 10, round(y + (x - 90) * slope)), 255, 1)
    expected = preprocess.normalise_crop(clean)
    got = preprocess.normalise_crop(ruled)
    assert got is not None
    assert np.abs(got - expected).mean() < 0.03


@pytest.mark.parametrize("angle", [0.0, 4.0, -7.0])
def test_ruled_lines_are_removed(angle):
    clean = draw_seven(blank())
    ruled = clean.copy()
    slope = np.tan(np.radians(angle))
    for y in range(15, 200, 34):
        cv2.line(ruled, (0, int(y - 100 * slope)), (199, int(y + 100 * slope)), 255, 2)
    expected = preprocess.normalise_crop(clean)
    got = preprocess.normalise_crop(ruled)
    assert got is not None
    assert np.abs(got - expected).mean() < 0.03
    lines_only = ruled.copy()
    lines_only[clean > 0] = 0
    assert preprocess.normalise_crop(lines_only) is None


@pytest.mark.parametrize("margin", [False, True])
def test_an_upright_stroke_crossing_ruled_lines_is_kept(margin):
    """A fine-pen 7 whose stem runs down across the ruling: the stem and the ruled lines'
    pixels in its column together span the box like a vertical line, but the stem is ink."""
    clean = blank()
    cv2.line(clean, (58, 17), (104, 17), 255, 2)
    cv2.line(clean, (104, 17), (98, 140), 255, 2)
    ruled = clean.copy()
    for y in range(10, 200, 28):
        cv2.line(ruled, (0, y), (199, y), 255, 2)
    if margin:  # a real vertical line across the ruling is still erased
        cv2.line(ruled, (20, 0), (21, 199), 255, 2)
    got = preprocess.normalise_crop(ruled)
    assert got is not None
    assert np.abs(got - preprocess.normalise_crop(clean)).mean() < 0.03
    lines_only = ruled.copy()
    lines_only[clean > 0] = 0
    assert preprocess.normalise_crop(lines_only) is None


def test_a_tall_one_is_not_mistaken_for_a_line():
    mask = blank()
    cv2.line(mask, (100, 15), (104, 185), 255, 8)
    assert preprocess.normalise_crop(mask) is not None


def test_multi_mode_reads_digits_left_to_right():
    mask = blank(200, 400)
    for i, x in enumerate((40, 160, 280)):
        draw_seven(mask, x, 50 + 10 * i, size=90)
    digits = preprocess.find_digits(mask, multi=True)
    assert len(digits) == 3
    assert [d.rect.x for d in digits] == sorted(d.rect.x for d in digits)


def test_multi_mode_ignores_dots_and_columns_of_debris():
    mask = blank(200, 400)
    for x in (40, 160):
        draw_seven(mask, x, 50, size=90)
    cv2.line(mask, (140, 110), (140, 140), 255, 7)  # a stray tick between the digits, under half their height
    for y in range(20, 190, 28):  # dashes stacked like a pale ruled line's remains, far right
        cv2.line(mask, (300, y), (330, y), 255, 3)
    digits = preprocess.find_digits(mask, multi=True)
    assert [round(d.rect.x, -1) for d in digits] == [40, 160]  # the two sevens, nothing else


def test_a_broken_margin_line_through_a_digit_is_removed(a_number=(40, 160, 280)):
    """A margin line that breaks (a pale stretch) and crosses the first digit: the part
    merged with the digit reaches only one border, yet it is a line, not part of a digit
    cut by the box (which would drop the digit)."""
    mask = blank(200, 400)
    for x in a_number:
        draw_seven(mask, x, 50, size=90)
    cv2.line(mask, (50, 0), (52, 38), 255, 2)
    cv2.line(mask, (53, 52), (60, 199), 255, 2)  # crosses the first seven's bar and reaches the bottom
    digits = preprocess.find_digits(mask, multi=True)
    assert [round(d.rect.x, -1) for d in digits] == list(a_number)


def test_auto_threshold_finds_ink_from_dim_to_bright_and_under_a_shadow():
    ink = draw_seven(blank())
    x = np.linspace(0, 1, 200, dtype=np.float32)[None, :]
    for paper, shadow in [(60, 0.0), (235, 0.0), (200, 0.6)]:
        light = paper * (1 - shadow * x)  # darker towards the right
        gray = np.where(ink > 0, light * 0.35, light) + np.random.default_rng(1).normal(0, 3, ink.shape)
        mask, level = preprocess.threshold_ink(np.clip(gray, 0, 255).astype(np.uint8), 0)
        agree = np.mean((mask > 0) == (ink > 0))
        assert agree > 0.98, (paper, shadow, agree)


def test_number_mode_keeps_faint_ink_that_touches_the_ink():
    """Hysteresis: a stroke that fades below the threshold stays whole in number mode (else
    it splits the digit into columns); a lone faint stroke stays out; digit mode is unchanged."""
    gray = np.full((200, 400), 200, np.uint8)
    for x in (60, 180):
        cv2.line(gray, (x, 40), (x, 95), 30, 6)
    cv2.line(gray, (60, 95), (60, 160), 160, 3)  # the first stroke goes on, faintly
    cv2.line(gray, (300, 40), (300, 160), 160, 3)  # as faint, touching nothing
    plain, _ = preprocess.threshold_ink(gray)
    grown, _ = preprocess.threshold_ink(gray, hysteresis=threshold.NUMBER_HYSTERESIS)
    assert plain[130, 60] == 0 and grown[130, 60] == 255
    assert plain[100, 300] == 0 and grown[100, 300] == 0
    assert (grown[plain > 0] == 255).all()
    frame = np.full((480, 640, 3), 200, np.uint8)
    frame[140:340, 120:520] = gray[..., None]
    assert preprocess.read_box(frame, (400, 200), multi=True)[1][130, 60] == 255
    assert preprocess.read_box(frame, (400, 200), multi=False)[1][130, 60] == 0


def test_auto_threshold_keeps_noisy_blank_paper_blank():
    rng = np.random.default_rng(2)
    for paper, noise in [(50, 6), (230, 3)]:
        gray = np.clip(rng.normal(paper, noise, (200, 200)), 0, 255).astype(np.uint8)
        mask, _ = preprocess.threshold_ink(gray, 0)
        assert preprocess.find_digits(mask) == []


def test_manual_threshold_is_the_classic_binary_inverse():
    gray = np.array([[10, 99, 100, 200]], np.uint8)
    mask, level = preprocess.threshold_ink(gray, 100)
    assert mask.tolist() == [[255, 255, 0, 0]] and level == 100


@pytest.mark.parametrize(
    "frame",
    [
        np.full((480, 640, 3), 200, np.uint8),
        np.full((480, 640, 4), 200, np.uint8),
        np.full((480, 640), 51400, np.uint16),
        np.full((480, 640, 3), 0.784, np.float32),
        np.full((480, 640, 1), 200, np.uint8),
    ],
)
def test_to_gray_handles_what_cameras_and_files_give(frame):
    gray = preprocess.to_gray(frame)
    assert gray.shape == (480, 640) and gray.dtype == np.uint8
    assert abs(int(gray[0, 0]) - 200) <= 1


def test_box_is_centred_and_clamped_to_small_frames():
    assert preprocess.centred_box((480, 640, 3), (200, 200)) == preprocess.Rect(220, 140, 200, 200)
    assert preprocess.centred_box((120, 160), (200, 200)) == preprocess.Rect(0, 0, 160, 120)


dtypes = st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.int32, np.bool_])


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    shape=st.tuples(st.integers(1, 260), st.integers(1, 260)),
    channels=st.sampled_from([None, 1, 3, 4]),
    dtype=dtypes,
)
def test_any_crop_gives_a_valid_input_or_no_digit(data, shape, channels, dtype):
    full = shape if channels is None else (*shape, channels)
    if dtype == np.bool_:
        elements = st.booleans()
    elif np.issubdtype(dtype, np.floating):
        elements = st.floats(-0.5, 1.5, width=32)
    else:
        elements = st.integers(0, int(np.iinfo(dtype).max) if dtype != np.int32 else 70000)
    crop = data.draw(hnp.arrays(dtype, full, elements=elements))
    gray = preprocess.to_gray(crop)
    assert gray.shape == shape and gray.dtype == np.uint8
    for level in (0, 128):
        mask, _ = preprocess.threshold_ink(gray, level)
        assert mask.shape == shape and set(np.unique(mask)) <= {0, 255}
        for digit in preprocess.find_digits(mask, multi=level == 128):
            img = digit.image
            assert img.shape == (INPUT_SIZE, INPUT_SIZE) and img.dtype == np.float32
            assert np.isfinite(img).all() and img.min() >= 0 and img.max() <= 1 and img.sum() > 0


@settings(max_examples=40, deadline=None)
@given(
    x0=st.integers(10, 120),
    y0=st.integers(10, 90),
    size=st.integers(30, 100),
    thickness=st.integers(2, 14),
)
def test_any_drawn_digit_inside_the_box_is_found_and_centred(x0, y0, size, thickness):
    out = preprocess.normalise_crop(draw_seven(blank(), x0, y0, size=size, thickness=thickness))
    assert out is not None
    cx, cy = centre_of_mass(out)
    assert abs(cx - 14) <= 0.5 and abs(cy - 14) <= 0.5


@pytest.mark.parametrize("shape", [(1, 1), (4, 1), (1, 4), (3, 5)])
def test_selecting_one_component_works_on_patches_of_any_size(shape):
    """A piece's patch can be a single pixel; OpenCV once took the label compared against
    for an array there and raised."""
    labels = np.full(shape, 2, np.uint16)
    labels.flat[0] = 1
    picked = select(labels, np.array([2]), 3)
    assert picked.shape == shape and picked.dtype == np.uint8
    assert picked.flat[0] == 0 and (picked.ravel()[1:] == 255).all()  # a 1x1 patch has no others

"""What people really hold up to the camera: fat markers, digits reaching the box edge,
small sheets on a desk and hands, through the real frame -> digits path and the shipped CNN."""

import cv2
import numpy as np
import pytest

from live_digits import preprocess
from live_digits.recognizer import Recognizer

PAPER, INK, DESK = 205, 45, 70
BOX = preprocess.DEFAULT_BOX


def paper_frame(shade: int = PAPER) -> np.ndarray:
    return np.full((480, 640, 3), shade, np.uint8)


def scaled_ink(digit: np.ndarray, scale: int) -> np.ndarray:
    """An MNIST digit (uint8 28x28) `scale` times its size as a bool ink mask."""
    return cv2.resize(digit, (28 * scale, 28 * scale), interpolation=cv2.INTER_CUBIC) > 100


def write_mnist(frame: np.ndarray, digit: np.ndarray, scale: int, x_centre: int, ink_bottom: int) -> np.ndarray:
    """Ink an MNIST digit (uint8 28x28) onto a BGR frame, `scale` times its size, its lowest ink at row `ink_bottom`."""
    ink = scaled_ink(digit, scale)
    rows = np.flatnonzero(ink.any(axis=1))
    ink = ink[rows[0] : rows[-1] + 1]
    y0, x0 = ink_bottom + 1 - len(ink), x_centre - ink.shape[1] // 2
    frame[y0 : y0 + len(ink), x0 : x0 + ink.shape[1]][ink] = INK
    return frame


def read(frame: np.ndarray, cnn) -> list[int]:
    digits = preprocess.read_box(frame, BOX)[3]
    return cnn.predict(np.stack([d.image for d in digits])).argmax(1).tolist() if digits else []


@pytest.mark.parametrize("width", [25, 40, 50])
def test_a_fat_marker_stroke_is_solid_ink_not_its_outline(width, cnn):
    frame = paper_frame()
    cv2.line(frame, (320, 180), (320, 300), (INK,) * 3, width)  # a 1 written with a whiteboard marker
    _, mask, _, digits = preprocess.read_box(frame, BOX)
    core = mask[70:130, 100 - width // 2 + 3 : 100 + width // 2 - 3]  # the stroke, away from its edge
    assert core.min() == 255, f"hollow: {np.mean(core == 0):.0%} of the stroke's inside taken for paper"
    assert read(frame, cnn) == [1]
    frame = paper_frame()
    cv2.ellipse(frame, (320, 240), (50, 70), 0, 0, 360, (INK,) * 3, width)  # a fat 0
    assert read(frame, cnn) == [0]


def test_a_digit_reaching_the_box_edge_is_read(mnist_sample, cnn):
    """Handwritten digits written big and low, their bottom stroke running into the box's edge."""
    x, y = mnist_sample["x_test"], mnist_sample["y_test"]
    read_right = 0
    picks = [int(np.flatnonzero(y == d)[k]) for d in range(10) for k in range(3)]
    for i in picks:
        frame = write_mnist(paper_frame(), x[i], 7, 320, 345)  # ~140 px tall; the box spans rows 140-339
        box = preprocess.centred_box(frame.shape, BOX)
        assert (frame[box.y + box.h - 1, box.x : box.x + box.w] == INK).any()  # it does reach the edge
        read_right += read(frame, cnn) == [int(y[i])]
    assert read_right >= 0.8 * len(picks)


def ink_columns(digit: np.ndarray, scale: int) -> tuple[int, int]:
    """First and last ink column of the MNIST digit as `write_mnist` scales it, from its left."""
    cols = np.flatnonzero(scaled_ink(digit, scale).any(axis=0))
    return int(cols[0]), int(cols[-1])


@pytest.mark.parametrize("past", [0.2, 0.35])
def test_a_digit_crossing_the_box_edge_is_read_whole(mnist_sample, cnn, past):
    """Written to the right, a digit runs a fifth or a third of its width past the box's right
    edge: its whole ink is read from the frame around the box, not the part left inside."""
    x, y = mnist_sample["x_test"], mnist_sample["y_test"]
    box = preprocess.centred_box((480, 640), BOX)
    read_right = 0
    picks = [int(np.flatnonzero(y == d)[k]) for d in range(10) for k in range(2)]
    for i in picks:
        first, last = ink_columns(x[i], 4)
        ink_right = box.x + box.w + round(past * (last - first + 1))  # frame column past the ink
        frame = write_mnist(paper_frame(), x[i], 4, ink_right - last - 1 + 56, 300)
        digits = preprocess.read_box(frame, BOX)[3]
        assert len(digits) == 1 and digits[0].rect.x + digits[0].rect.w >= ink_right - box.x - 1, digits
        read_right += read(frame, cnn) == [int(y[i])]
    assert read_right >= 0.9 * len(picks)


def test_reading_past_the_edge_takes_nothing_from_beyond_the_other_sides(mnist_sample):
    """A big digit cut by the box's left edge, a sheet's edge standing just past its right
    edge: read in the grown box, the two form one group; it is not taken (the digit is read
    as cut), so the bar beyond the right side never joins the digit."""
    x, y = mnist_sample["x_test"], mnist_sample["y_test"]
    box = preprocess.centred_box((480, 640), BOX)
    for d in (3, 5, 2):
        i = int(np.flatnonzero(y == d)[0])
        first, last = ink_columns(x[i], 9)
        ink_left = box.x - round(0.15 * (last - first + 1))
        frame = write_mnist(paper_frame(), x[i], 9, ink_left - first + 126, 330)
        frame[150:330, box.x + box.w + 3 : box.x + box.w + 7] = INK  # past the right edge
        digits = preprocess.read_box(frame, BOX)[3]
        assert len(digits) == 1, digits
        r = digits[0].rect
        assert r.x + r.w <= box.w, (d, r)


def test_a_digit_crossing_the_edge_of_an_hd_camera_s_box_is_read_whole(mnist_sample, cnn):
    """A 1280x960 camera: the grown box is read at the 480-line scale, the frame around it too."""
    x, y = mnist_sample["x_test"], mnist_sample["y_test"]
    box = preprocess.centred_box((480, 640), BOX)
    i = int(np.flatnonzero(y == 3)[0])
    first, last = ink_columns(x[i], 4)
    ink_right = box.x + box.w + round(0.25 * (last - first + 1))
    frame = write_mnist(paper_frame(), x[i], 4, ink_right - last - 1 + 56, 300)
    hd = cv2.resize(frame, (1280, 960), interpolation=cv2.INTER_LINEAR)
    recognizer = Recognizer(cnn)
    for _ in range(5):
        result = recognizer.process(hd)
    r, b = result.digit_rect, result.box
    assert (b.w, b.h) == (400, 400) and r.x + r.w >= 2 * ink_right - 4 > b.x + b.w, (r, b)
    assert result.digit == 3


def test_a_digit_mostly_outside_the_box_is_not_read_from_outside_it(mnist_sample):
    """Two thirds of a digit past the box's edge: what is read of it, if anything, lies mostly inside."""
    x = mnist_sample["x_test"]
    box = preprocess.centred_box((480, 640), BOX)
    for i in range(10):
        first, last = ink_columns(x[i], 4)
        ink_right = box.x + box.w + round(0.67 * (last - first + 1))
        frame = write_mnist(paper_frame(), x[i], 4, ink_right - last - 1 + 56, 300)
        inside = preprocess.Rect(0, 0, box.w, box.h)
        for d in preprocess.read_box(frame, BOX)[3]:
            assert d.rect.overlap(inside) >= 0.5 * d.rect.w * d.rect.h, d.rect


def test_a_sheet_edge_the_desk_and_a_hand_in_the_box_are_not_digits():
    frame = paper_frame(DESK)  # a sticky note on a dark desk, its corner inside the box
    frame[:300, :380] = PAPER
    assert preprocess.read_box(frame, BOX)[3] == []
    frame = paper_frame(DESK)  # the note's edge running down through the box
    frame[:, :300] = PAPER
    assert preprocess.read_box(frame, BOX)[3] == []
    frame = paper_frame(DESK)  # a narrow card whose end lies inside the box
    frame[:280, 270:370] = PAPER
    assert preprocess.read_box(frame, BOX)[3] == []
    frame = paper_frame(DESK)  # a sticky note smaller than the box, all of it inside
    frame[190:290, 270:370] = PAPER
    assert preprocess.read_box(frame, BOX)[3] == []
    frame = paper_frame(DESK)  # a mottled desk beside the note: its light and dark spots are no ink
    rng = np.random.default_rng(0)
    spots = cv2.resize(rng.uniform(-60, 60, (6, 8)).astype(np.float32), (640, 480), interpolation=cv2.INTER_CUBIC)
    frame[:] = np.clip(DESK + 40 + spots, 0, 255).astype(np.uint8)[:, :, None]
    frame[180:480, 330:640] = PAPER
    assert preprocess.read_box(frame, BOX)[3] == []
    frame = paper_frame()  # a hand coming into the box from below
    cv2.ellipse(frame, (330, 400), (80, 120), 10, 0, 360, (110, 140, 190), -1)
    assert preprocess.read_box(frame, BOX)[3] == []


@pytest.mark.parametrize(("desk", "card"), [(30, 150), (25, 130), (20, 110), (28, 140)])
def test_a_thin_pale_stroke_on_a_card_beside_a_dark_desk_is_ink(desk, card):
    """The desk is far "darker than the paper" and would set the ink level above a pale pen line
    (ink 30% darker than the card) in a dim room: the line must still be ink and the digit found."""
    frame = paper_frame(desk)
    frame[120:400, 230:450] = card  # the card's right edge and the desk beyond it lie in the box
    stroke = np.zeros((480, 640), np.uint8)
    cv2.putText(stroke, "5", (270, 330), cv2.FONT_HERSHEY_SIMPLEX, 6, 255, 2, cv2.LINE_AA)
    frame[stroke > 0] = int(0.7 * card)
    frame = cv2.GaussianBlur(frame, (3, 3), 0)
    box, mask, _, digits = preprocess.read_box(frame, BOX)
    assert np.count_nonzero(mask[stroke[box.slices()] > 128]) > 0.5 * np.count_nonzero(stroke[box.slices()] > 128)
    assert len(digits) == 1 and digits[0].rect.h > 100


def test_a_fat_marker_8_whose_loops_are_nearly_closed_is_a_digit_but_a_blot_is_not(cnn):
    """A marker a quarter as wide as the digit is tall leaves an 8 that fills its box like a
    blot, with only small holes where its loops were; a blot or a fingertip has none."""
    frame = paper_frame()
    cv2.ellipse(frame, (320, 200), (32, 30), 0, 0, 360, (INK,) * 3, 40)
    cv2.ellipse(frame, (320, 268), (40, 36), 0, 0, 360, (INK,) * 3, 46)
    digits = preprocess.read_box(frame, BOX)[3]
    assert len(digits) == 1 and digits[0].rect.h > 150
    assert read(frame, cnn) == [8]
    for axes in [(45, 60), (60, 60)]:
        frame = paper_frame()
        cv2.ellipse(frame, (320, 240), axes, 0, 0, 360, (INK,) * 3, -1)
        assert preprocess.read_box(frame, BOX)[3] == []


@pytest.mark.parametrize("desk_rows", [30, 60])
def test_a_thin_digit_reaching_the_edge_beside_the_desk_is_read(desk_rows, cnn):
    """The sheet ends near the top of the box; at a fixed trackbar level the desk beyond it is
    a band of ink many times the digit's. The 7 whose stem runs into the bottom edge is
    still the digit: the band, rejected itself, is no yardstick for it."""
    frame = paper_frame(DESK)
    frame[140 + desk_rows :, :] = PAPER  # the box spans rows 140-339
    cv2.polylines(frame, [np.array([[280, 220], [360, 215], [330, 345]])], False, (INK,) * 3, 3)
    digits = preprocess.read_box(frame, BOX, threshold=128)[3]
    assert len(digits) == 1 and digits[0].rect.y > desk_rows
    assert cnn.predict(digits[0].image[None]).argmax() == 7


def test_a_9_whose_loop_and_stem_both_run_into_the_edge_is_read(cnn):
    """The box's top edge cuts the 9's loop (two contacts) and its stem's tip (a third, a few
    px from the loop's): a stroke meeting its edge, not a hand meeting it broadly."""
    frame = paper_frame()
    pen = (INK,) * 3
    cv2.ellipse(frame, (315, 160), (35, 30), 0, 0, 360, pen, 5)  # the box spans rows 140-339
    cv2.line(frame, (348, 150), (335, 320), pen, 5)
    cv2.line(frame, (348, 150), (356, 132), pen, 5)
    assert read(frame, cnn) == [9]


def test_a_curving_1_from_the_side_to_the_bottom_is_a_digit_but_a_straight_sheet_edge_is_not(cnn):
    """Both meet two sides of the box; the pen's 1 bows (it fills a third of its rotated
    rectangle), the sheet's edge is straight (it fills all of it)."""
    frame = paper_frame()  # the box spans columns 220-419, rows 140-339
    cv2.polylines(frame, [np.array([[425, 150], [406, 200], [398, 262], [406, 345]])], False, (INK,) * 3, 4)
    assert read(frame, cnn) == [1]
    for width in [8, 14]:
        frame = paper_frame()
        cv2.line(frame, (360, 120), (440, 300), (INK,) * 3, width)
        assert preprocess.read_box(frame, BOX)[3] == []


def test_a_fat_0_as_big_as_the_box_running_into_its_edge_is_read(mnist_sample, cnn):
    """A marker 0 written as big as the box covers over 40% of it where it runs into the top
    edge: as much ink as a hand, but meeting the edge narrowly, and with its hole."""
    x, y = mnist_sample["x_test"], mnist_sample["y_test"]
    pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (21, 21))
    for i in np.flatnonzero(y == 0)[1:3]:
        ink = cv2.dilate((cv2.resize(x[i], (224, 224), interpolation=cv2.INTER_CUBIC) > 100).view(np.uint8), pen) > 0
        ink = ink[np.flatnonzero(ink.any(axis=1))[0] :][:220]
        frame = paper_frame()
        frame[130 : 130 + len(ink), 208:432][ink] = INK  # the box spans rows 140-339
        _, mask, _, _ = preprocess.read_box(frame, BOX)
        assert np.count_nonzero(mask) > 0.4 * mask.size
        assert read(frame, cnn) == [0]

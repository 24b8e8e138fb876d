"""Number mode's line reader: the line image, CTC decoding, digit boxes, and the shipped reader on real frames."""

import numpy as np

from live_digits import sequence
from live_digits.preprocess import Rect


def one_hot_steps(classes: list[int]) -> np.ndarray:
    steps = np.full((sequence.STEPS, sequence.CLASSES), 0.01, np.float32)
    steps[np.arange(len(classes)), classes] = 0.9
    steps[len(classes) :, sequence.BLANK] = 0.9
    return steps


def test_decoding_collapses_runs_and_keeps_a_repeat_split_by_a_blank():
    # 3 3 _ 3 _ _ 7 7 7 _  -> "337": a run is one digit, a blank between two runs makes two
    steps = one_hot_steps([4, 4, 0, 4, 0, 0, 8, 8, 8, 0])
    steps[7, 8] = 0.95  # the surest step of the 7's run
    digits = sequence.decode(steps)
    assert [int(np.argmax(p)) for p, _ in digits] == [3, 3, 7]
    assert [t for _, t in digits] == [0, 3, 7]
    assert digits[2][0].shape == (10,) and digits[2][0][7] == np.float32(0.95)


def test_nothing_but_blanks_decodes_to_no_digit():
    assert sequence.decode(one_hot_steps([])) == []


def test_the_line_holds_only_the_pieces_ink_scaled_to_its_height():
    mask = np.zeros((200, 400), np.uint8)
    mask[50:150, 40:90] = 255  # a piece 100 px tall
    mask[60:140, 120:160] = 255  # another
    mask[10:20, 300:390] = 255  # ink the segmenter did not keep (the sheet's edge)
    rects = [Rect(40, 50, 50, 100), Rect(120, 60, 40, 80)]
    image, line = sequence.line_input(mask, rects)
    assert image.shape == (sequence.LINE_HEIGHT, sequence.LINE_WIDTH) and image.dtype == np.float32
    rows, cols = np.flatnonzero(image.max(1) > 0.5), np.flatnonzero(image.max(0) > 0.5)
    assert rows[-1] - rows[0] + 1 == sequence.LINE_HEIGHT - 2 * sequence.LINE_PAD
    assert cols[0] == sequence.LINE_PAD and cols[-1] < 0.3 * sequence.LINE_WIDTH  # 120 px wide at 0.28
    assert (line.x0, line.y0) == (40, 50) and abs(line.scale - 0.28) < 1e-6
    assert sequence.line_input(mask, []) is None


def test_a_line_too_long_for_the_image_is_shrunk_to_fit():
    mask = np.zeros((200, 400), np.uint8)
    mask[90:110, 0:400] = 255
    image, _ = sequence.line_input(mask, [Rect(0, 90, 400, 20)])
    cols = np.flatnonzero(image.max(0) > 0.5)
    assert cols[-1] == sequence.LINE_WIDTH - sequence.LINE_PAD - 1


def test_each_digit_box_bounds_the_ink_between_its_neighbours():
    mask = np.zeros((200, 400), np.uint8)
    mask[50:150, 40:90] = 255
    mask[80:150, 110:140] = 255  # a shorter second digit
    rects = [Rect(40, 50, 100, 100)]  # one piece: the two touch in the segmenter's view
    _, line = sequence.line_input(mask, rects)
    to_step = lambda x: int((sequence.LINE_PAD + (x - line.x0) * line.scale) // sequence.STRIDE)  # noqa: E731
    boxes = sequence.digit_rects(line, [to_step(65), to_step(125)])
    assert boxes == [Rect(40, 50, 50, 100), Rect(110, 80, 30, 70)]


def test_no_digit_read_has_no_box():
    mask = np.zeros((200, 400), np.uint8)
    mask[50:150, 40:90] = 255
    _, line = sequence.line_input(mask, [Rect(40, 50, 50, 100)])
    assert sequence.digit_rects(line, []) == []

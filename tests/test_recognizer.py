"""The per-frame core on real rendered webcam frames with the real shipped model."""

import cv2
import numpy as np
import pytest

from live_digits import preprocess, synth
from live_digits.recognizer import Recognizer, Settings


def read_clip(recognizer, frames):
    return [recognizer.process(f) for f in frames]


def test_core_reads_rendered_webcam_frames(cnn, mnist_sample):
    rng = np.random.default_rng(11)
    x, y = mnist_sample["x_test"], mnist_sample["y_test"]
    right = 0
    for i in range(40):
        frames = synth.render_frames([x[i]], synth.random_conditions(rng, synth.CLASSIC_RATES), 6, rng)
        right += read_clip(Recognizer(cnn, Settings()), frames)[-1].digit == y[i]
    assert right >= 36, f"{right}/40 clips read right"


def test_blank_paper_shows_nothing(cnn):
    rng = np.random.default_rng(12)
    for _ in range(10):
        frames = synth.render_frames([], synth.random_conditions(rng, synth.CLASSIC_RATES), 6, rng)
        assert all(r.digit is None for r in read_clip(Recognizer(cnn, Settings()), frames))


def test_prediction_updates_every_frame_from_a_sliding_window(cnn, mnist_sample):
    x, y = mnist_sample["x_test"], mnist_sample["y_test"]
    a, b = (int(np.flatnonzero(y == d)[0]) for d in (3, 8))
    rng = np.random.default_rng(13)
    cond = synth.random_conditions(rng, synth.CLASSIC_RATES, exposure=1.0, blur_sigma=0.6, ruled=False)
    frames = synth.render_frames([x[a]], cond, 6, rng) + synth.render_frames([x[b]], cond, 6, rng)
    results = read_clip(Recognizer(cnn, Settings(window=5)), frames)
    assert results[1].digit is None and results[2].digit == 3  # once most of the window has seen it
    assert results[5].digit == 3 and results[7].digit == 8 and results[-1].digit == 8  # a swap: within two
    assert [r.frame for r in results] == list(range(12))


def test_result_json_is_the_headless_contract(cnn, mnist_sample):
    rng = np.random.default_rng(14)
    frames = synth.render_frames([mnist_sample["x_test"][0]], synth.random_conditions(rng, synth.CLASSIC_RATES), 5, rng)
    row = read_clip(Recognizer(cnn, Settings(threshold=90)), frames)[-1].to_json()
    assert set(row) >= {"frame", "digit", "confidence", "probs", "threshold"}
    assert row["threshold"] == 90 and len(row["probs"]) == 10 and abs(sum(row["probs"]) - 1) < 1e-3


def test_number_mode_reads_a_number_and_holds_it_through_a_dropout(cnn, mnist_sample):
    x, y = mnist_sample["x_test"], mnist_sample["y_test"]
    picks = [int(np.flatnonzero(y == d)[0]) for d in (4, 0, 7)]
    rng = np.random.default_rng(15)
    cond = synth.random_conditions(
        rng, synth.CLASSIC_RATES, exposure=1.0, blur_sigma=0.6, ruled=False, digit_height=0.5, dx=0, dy=0
    )
    frames = synth.render_frames([x[i] for i in picks], cond, 6, rng, box=(400, 200))
    blank = synth.render_frames([], cond, 1, rng, box=(400, 200))
    settings = Settings(box=(400, 200), multi=True)
    results = read_clip(Recognizer(cnn, settings), frames + blank)
    assert [r.number for r in results[3:6]] == ["407"] * 3 and len(results[5].readings) == 3
    assert results[6].number == "407"  # one frame without ink (a dropout) does not blank the number
    assert results[6].to_json()["number"] == "407"
    assert read_clip(Recognizer(cnn, settings), blank * 6)[-1].number == ""


def test_number_mode_widens_the_box_unless_one_was_chosen(cnn, mnist_sample):
    """Key m on the default settings reads a number in the 400x200 box and a digit in the
    200x200 one again; a box chosen with --box is kept in both modes."""
    x, y = mnist_sample["x_test"], mnist_sample["y_test"]
    picks = [int(np.flatnonzero(y == d)[0]) for d in (4, 0, 7)]
    rng = np.random.default_rng(15)
    cond = synth.random_conditions(
        rng, synth.CLASSIC_RATES, exposure=1.0, blur_sigma=0.6, ruled=False, digit_height=0.5, dx=0, dy=0
    )
    frames = synth.render_frames([x[i] for i in picks], cond, 6, rng, box=(400, 200))
    recognizer = Recognizer(cnn, Settings())
    first = read_clip(recognizer, frames)[-1]
    recognizer.set_multi(True)
    number = read_clip(recognizer, frames)[-1]
    recognizer.set_multi(False)
    again = recognizer.process(frames[0])
    assert (first.box.w, number.box.w, again.box.w) == (200, 400, 200)
    assert number.number == "407" and number.mask.shape == (200, 400)
    chosen = Recognizer(cnn, Settings(box=(300, 200), number_box=(300, 200)))
    chosen.set_multi(True)
    assert chosen.process(frames[0]).box.w == 300


@pytest.mark.parametrize("multi", [False, True])
def test_overlapped_inference_is_the_same_reading_one_frame_later(cnn, mnist_sample, multi):
    x, y = mnist_sample["x_test"], mnist_sample["y_test"]
    picks = [int(np.flatnonzero(y == d)[0]) for d in ((4, 0, 7) if multi else (3,))]
    rng = np.random.default_rng(16)
    cond = synth.random_conditions(
        rng, synth.CLASSIC_RATES, exposure=1.0, ruled=False, digit_height=0.5 if multi else 0.6
    )
    box = (400, 200) if multi else (200, 200)
    frames = synth.render_frames([x[i] for i in picks], cond, 7, rng, box=box)
    frames += synth.render_frames([], cond, 5, rng, box=box)  # then blank paper: the reading must go
    settings = Settings(box=box, multi=multi)
    in_step = read_clip(Recognizer(cnn, settings), frames)
    overlapped = Recognizer(cnn, settings, overlap=True)
    lagged = read_clip(overlapped, frames)
    overlapped.close()
    assert lagged[0].digit is None and not lagged[0].probs.any()  # nothing classified yet
    for now, before in zip(lagged[1:], in_step[:-1], strict=True):
        np.testing.assert_allclose(now.probs, before.probs, atol=1e-6)
        assert (now.digit, now.number) == (before.digit, before.number)
        assert [r.rect for r in now.readings] == [r.rect for r in before.readings]
    shown = [(r.number if multi else r.digit) for r in (in_step[5], lagged[6], lagged[-1])]
    assert shown == (["407", "407", ""] if multi else [3, 3, None])
    np.testing.assert_array_equal(lagged[4].mask, in_step[4].mask)  # the picture itself is not late


@pytest.mark.parametrize(
    "shape, box", [((480, 640, 3), 200), ((240, 320, 3), 200), ((720, 1280, 3), 300), ((150, 150, 3), 150)]
)
def test_any_frame_size(cnn, shape, box):
    frame = np.full(shape, 200, np.uint8)
    result = Recognizer(cnn, Settings()).process(frame)
    assert result.digit is None and (result.box.w, result.box.h) == (box, box)
    assert result.mask.shape == (min(200, shape[0]), min(200, shape[1]))


def camera_hd(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """What a camera with more lines sees of the same scene: the 640x480 frame scaled up to
    `height`, its sides continued to `width` (1280x720, 1920x1080 are wider than 4:3)."""
    scale = height / frame.shape[0]
    big = cv2.resize(frame, (round(frame.shape[1] * scale), height), interpolation=cv2.INTER_CUBIC)
    left = (width - big.shape[1]) // 2
    return cv2.copyMakeBorder(big, 0, 0, left, width - big.shape[1] - left, cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("width, height, box", [(1280, 720, 300), (1920, 1080, 450)])
def test_the_box_grows_with_hd_frames_and_reads_what_it_reads_at_480(cnn, clip, width, height, box):
    """On a 1920x1080 frame a 200x200 box cuts the fixture's 7; the grown box covers the same
    part of the view and reads it as at 480 lines."""
    capture, frames = cv2.VideoCapture(str(clip[0])), []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    capture.release()
    at_480 = read_clip(Recognizer(cnn, Settings()), frames)[-1]
    hd = [camera_hd(f, width, height) for f in frames]
    grown = read_clip(Recognizer(cnn, Settings()), hd)[-1]
    assert (grown.box.w, grown.box.h) == (box, box) and grown.box.x == (width - box) // 2
    assert grown.digit == at_480.digit == clip[1]["label"] and abs(grown.confidence - at_480.confidence) < 0.05
    if height == 1080:
        fixed = read_clip(Recognizer(cnn, Settings(scale_box=False)), hd)[-1].mask
        assert fixed[[0, -1]].any() or fixed[:, [0, -1]].any()  # the ink runs off the small box


def test_number_mode_on_an_hd_frame_reports_digit_boxes_in_frame_pixels(cnn, mnist_sample):
    x, y = mnist_sample["x_test"], mnist_sample["y_test"]
    picks = [int(np.flatnonzero(y == d)[0]) for d in (4, 0, 7)]
    rng = np.random.default_rng(15)
    cond = synth.random_conditions(rng, exposure=1.0, blur_sigma=0.6, ruled=False, digit_height=0.5, dx=0, dy=0)
    frames = synth.render_frames([x[i] for i in picks], cond, 6, rng, box=(400, 200))
    at_480 = read_clip(Recognizer(cnn, Settings(multi=True)), frames)[-1]
    hd = read_clip(Recognizer(cnn, Settings(multi=True)), [camera_hd(f, 1920, 1080) for f in frames])[-1]
    assert hd.number == at_480.number == "407" and (hd.box.w, hd.box.h) == (900, 450)
    offset = (1920 - 640 * 2.25) / 2  # the scaled-up 640x480 frame sits in the middle of the wider one
    for small, big in zip(at_480.readings, hd.readings, strict=True):
        assert abs(big.rect.x - (small.rect.x * 2.25 + offset)) <= 6 and abs(big.rect.y - small.rect.y * 2.25) <= 6
        assert abs(big.rect.w - small.rect.w * 2.25) <= 6 and abs(big.rect.h - small.rect.h * 2.25) <= 6


def test_touching_digits_cut_apart_in_an_hd_frame_are_boxed_in_frame_pixels(cnn, mnist_sample):
    """A pair written so close that it is one piece of ink, read by cutting it (no line reader):
    the parts' boxes, made only when the piece is read unsure whole, are scaled to the frame too."""
    x, y = mnist_sample["x_test"], mnist_sample["y_test"]
    offset = (1920 - 640 * 2.25) / 2
    cut = 0
    for k, pair in enumerate([(4, 8), (2, 7), (3, 5), (5, 3)]):
        rng = np.random.default_rng(15)
        cond = synth.random_conditions(
            rng, exposure=1.0, blur_sigma=0.6, ruled=False, digit_height=0.5, dx=0, dy=0, digit_gap=-0.08
        )
        frames = synth.render_frames([x[np.flatnonzero(y == d)[k]] for d in pair], cond, 6, rng, box=(400, 200))
        if len(preprocess.read_box(frames[-1], (400, 200), multi=True)[3]) != 1:
            continue  # the pen left a gap: two pieces, nothing to cut
        settings = Settings(multi=True, read_lines=False)
        at_480 = read_clip(Recognizer(cnn, settings), frames)[-1]
        hd = read_clip(Recognizer(cnn, settings), [camera_hd(f, 1920, 1080) for f in frames])[-1]
        assert at_480.number == hd.number == "".join(map(str, pair))
        for small, big in zip(at_480.readings, hd.readings, strict=True):
            # within 10 px at the 480 scale: the shrunk HD box thresholds a little differently, so a cut may move
            assert (
                abs(big.rect.x - (small.rect.x * 2.25 + offset)) <= 22 and abs(big.rect.w - small.rect.w * 2.25) <= 22
            )
        cut += 1
    assert cut >= 2, cut

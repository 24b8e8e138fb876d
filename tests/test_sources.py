"""Sources: folders in name order, odd image formats, the demo, the camera released."""

import cv2
import numpy as np
import pytest

from live_digits import sources
from live_digits.errors import UserError


def test_folder_is_read_in_name_order_and_skips_other_files(tmp_path):
    for i, name in enumerate(["b.png", "a.png", "c.jpg"]):
        cv2.imwrite(str(tmp_path / name), np.full((48, 64, 3), 10 * (i + 1), np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    with sources.open_source(str(tmp_path)) as src:
        values = []
        while (frame := src.read()) is not None:
            assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
            values.append(int(frame[0, 0, 0]))
    assert values[:2] == [20, 10] and abs(values[2] - 30) <= 2  # a.png, b.png, c.jpg


def test_16_bit_gray_and_single_image_files(tmp_path):
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), np.full((40, 50), 40000, np.uint16))
    with sources.open_source(str(path)) as src:
        frame = src.read()
        assert frame.shape == (40, 50, 3) and frame.dtype == np.uint8 and abs(int(frame[0, 0, 0]) - 156) <= 1
        assert src.read() is None


def test_video_file_rewinds_for_loop_mode(clip):
    with sources.open_source(str(clip[0])) as src:
        first = src.read()
        while src.read() is not None:
            pass
        assert src.rewind()
        again = src.read()
    assert np.array_equal(first, again)


def test_video_capture_is_released_on_errors(clip):
    with pytest.raises(RuntimeError):
        with sources.open_source(str(clip[0])) as src:
            raise RuntimeError("boom")
    assert src.capture is None


def test_demo_source_shows_every_shipped_digit():
    src = sources.open_source("demo")
    frames = [src.read() for _ in range(5)]
    assert all(f.shape == (480, 640, 3) and f.dtype == np.uint8 for f in frames)
    assert sorted(set(src.labels.tolist())) == list(range(10))


def test_missing_source_is_a_user_error():
    with pytest.raises(UserError, match="source not found"):
        sources.open_source("/no/such/file.avi")

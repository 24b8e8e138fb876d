"""Hints: rendered frames through the real pipeline (and the shipped CNN where a reading matters)."""

import dataclasses

import numpy as np
import pytest

from live_digits import advice, overlay, preprocess, synth
from live_digits.recognizer import Recognizer, Settings

CLEAN = dict(shake_px=0.5, shake_deg=0.1, vignette=0.1, noise_sigma=1.5, jpeg_quality=90)


def digits_of(sample, number: str, k: int = 0) -> list[np.ndarray]:
    x, y = sample["x_test"], sample["y_test"]
    return [x[np.flatnonzero(y == int(c))[k]] for c in number]


def frames_of(sample, number: str, n: int = 3, box=preprocess.NUMBER_BOX, seed: int = 0, **cond) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return synth.render_frames(digits_of(sample, number), synth.Conditions(**CLEAN, **cond), n, rng, box=box)


def diagnosed(frame: np.ndarray, multi: bool = True) -> str | None:
    """What the hint would name in this frame, found as the Recognizer finds it."""
    size = preprocess.NUMBER_BOX if multi else preprocess.DEFAULT_BOX
    box, mask, _, digits = preprocess.read_box(frame, size, 0, multi)
    past = multi and bool(preprocess.past_the_sides(frame, box, 0, digits, mask))
    return advice.diagnose(mask, [d.rect for d in digits], multi, past)


@pytest.mark.parametrize(
    "number, cond, hint",
    [
        ("307", dict(digit_height=0.19, pen_px=2.5), "closer"),  # 38 px tall in a 200 px box
        ("307", dict(digit_height=0.2, pen_px=11.0), "thinner"),  # a marker on 40 px digits
        ("6084", dict(digit_height=0.45, pen_px=5.0, digit_gap=-0.12), "gaps"),  # overlapping digits
        ("4913", dict(digit_height=0.45, pen_px=4.0, edge_side="right", edge_reach=0.08), "inside"),  # the 3 is out
        ("4913", dict(digit_height=0.45, pen_px=4.0, edge_side="left", edge_reach=0.16), "inside"),  # the 4 is out
        ("4913", dict(digit_height=0.45, pen_px=4.0), None),  # nothing wrong with it
    ],
)
def test_what_keeps_a_number_from_being_read_is_named(mnist_sample, number, cond, hint):
    frames = frames_of(mnist_sample, number, **cond)
    assert [diagnosed(f) for f in frames] == [hint] * len(frames)


def test_blank_paper_gets_no_hint_and_a_small_digit_alone_does(mnist_sample):
    blank = synth.render_frames([], synth.Conditions(**CLEAN), 2, np.random.default_rng(0))
    assert [diagnosed(f, multi=False) for f in blank] == [None, None]
    assert [diagnosed(f) for f in blank] == [None, None]
    tiny = frames_of(mnist_sample, "5", n=2, box=preprocess.DEFAULT_BOX, digit_height=0.12, pen_px=2.0)  # 24 px
    assert [diagnosed(f, multi=False) for f in tiny] == ["closer", "closer"]


def test_a_hint_comes_after_a_third_of_a_second_unread_and_goes_when_the_number_is_read(mnist_sample, cnn):
    """A blob of a number stays unread: from its HINT_FRAMES-th frame the window says why, and
    draws it; a readable number then replaces it, and the hint goes as the number shows."""
    blob = frames_of(mnist_sample, "2569", n=advice.HINT_FRAMES + 2, digit_height=0.2, pen_px=14.0)
    good = frames_of(mnist_sample, "4913", n=8, seed=1, digit_height=0.45, pen_px=4.0)
    reader = Recognizer(cnn, Settings(multi=True))
    results = [reader.process(f) for f in blob + good]
    unread, then = results[: len(blob)], results[len(blob) :]
    assert all(r.number == "" for r in unread)
    assert [r.hint for r in unread] == [""] * (advice.HINT_FRAMES - 1) + ["thinner"] * 3
    assert then[-1].number == "4913"
    assert all(r.hint == "" for r in then if r.number)
    assert unread[-1].to_json()["hint"] == "thinner" and then[-1].to_json()["hint"] == ""

    quiet = overlay.Status(show_help=False)
    drawn = overlay.compose(blob[-1], unread[-1], quiet)
    plain = overlay.compose(blob[-1], dataclasses.replace(unread[-1], hint=""), quiet)
    b = unread[-1].box
    changed = np.any(drawn != plain, axis=2)
    assert changed[b.y + b.h :, :].sum() > 300 and not changed[: b.y + b.h, :].any()  # the text, under the box only

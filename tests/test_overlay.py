"""Drawing: labels copied from their cache look exactly like text drawn in place."""

import cv2
import numpy as np
import pytest
from conftest import ROOT

from live_digits import overlay


def drawn_in_place(img, text, org, scale, color, thickness, background):
    """The label as drawn without the cache: a box of `background`, then the text."""
    (w, h), base = cv2.getTextSize(text, overlay.FONT, scale, thickness)
    x, y = org
    cv2.rectangle(img, (x - 3, y - h - 4), (x + w + 3, y + base + 2), (background,) * 3, -1)
    cv2.putText(img, text, org, overlay.FONT, scale, color, thickness, cv2.LINE_AA)


@pytest.mark.parametrize("org", [(100, 60), (2, 12), (-20, 60), (150, 118), (190, 5), (300, 60)])
@pytest.mark.parametrize("text, scale, thickness", [("7", 1.4, 3), ("97%", 0.6, 1), ("thr auto (0.17)", 0.45, 1)])
def test_cached_labels_match_text_drawn_in_place_even_at_the_edges(org, text, scale, thickness):
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)  # a busy picture: every pixel matters
    for background in (0, overlay.DARK_LEVEL):
        expected, got = scene.copy(), scene.copy()
        drawn_in_place(expected, text, org, scale, overlay.GREEN, thickness, background)
        overlay._text(got, text, org, scale, overlay.GREEN, thickness, background=background)
        overlay._text(got, text, org, scale, overlay.GREEN, thickness, background=background)  # from the cache
        np.testing.assert_array_equal(got, expected)


def test_the_explanation_view_sits_beside_the_panel_and_tints_only_the_digit(cnn, mnist_sample):
    from live_digits import explain, synth
    from live_digits.recognizer import Recognizer

    rng = np.random.default_rng(2)
    frames = synth.render_frames([mnist_sample["x_test"][1]], synth.random_conditions(rng), 3, rng)
    recognizer = Recognizer(cnn)
    for frame in frames:
        result = recognizer.process(frame)
    e = explain.explain(explain.ExplainModel(explain.explain_path(ROOT / "models" / "cnn.json")), result.model_input)
    plain = overlay.compose(frames[-1], result, overlay.Status())
    shown = overlay.compose(frames[-1], result, overlay.Status(explain=True), None, e)
    h, w = frames[-1].shape[:2]
    assert plain.shape == (h, w + overlay.PANEL_W, 3) and shown.shape == (h, w + overlay.PANEL_W + overlay.EXPLAIN_W, 3)
    np.testing.assert_array_equal(shown[:, w : w + overlay.PANEL_W], plain[:, w:])  # the panel as before
    changed = np.any(shown[:, :w] != plain[:, :w], axis=2)
    r = result.digit_rect
    assert changed[r.slices()].mean() > 0.2 and not changed.sum() - changed[r.slices()].sum()  # the heat, only there
    view = shown[:, w + overlay.PANEL_W :]
    np.testing.assert_array_equal(view, overlay.draw_explanation(e))
    heat = view[24:108, 10:94].astype(int)  # the shown digit's map: red where it looks
    assert np.sum((heat[..., 2] - heat[..., 0]) > 80) > 100

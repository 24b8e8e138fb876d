"""Drawing only: the camera frame with the box and digit, plus a side panel.

The panel shows what the pipeline sees: the thresholded crop, the 28x28 model input
enlarged, the top-3 probabilities as bars, fps and the threshold mode. With the
explanation view on (key e), a second panel shows inside the network (`draw_explanation`)
and the camera view gets the winner's heat map over the digit. Nothing here changes
state; `compose` returns a new BGR image.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from live_digits.advice import HINTS
from live_digits.explain import Explanation
from live_digits.recognizer import Result

PANEL_W = 220
FONT = cv2.FONT_HERSHEY_SIMPLEX
GREEN, GREY, WHITE, AMBER = (80, 220, 80), (150, 150, 150), (255, 255, 255), (0, 190, 255)
DARK_LEVEL = 40  # the panel's grey background
HELP = "q save+quit  Esc quit  0-9 save sample  m multi  e explain  h help"
EXPLAIN_W = 280  # the explanation view's width
EXPLAIN_H = 480  # ... and height
RED, BLUE = (40, 40, 255), (255, 140, 30)  # heat: evidence for the class, and against it


@dataclass
class Status:
    """Loop state the overlay shows but the recognizer does not know."""

    fps: float = 0.0
    show_help: bool = True
    message: str = ""  # a brief confirmation ("saved sample 7"), empty when none
    sample_counts: dict[int, int] | None = None
    ended: bool = False  # a file source has no more frames; the last one stays
    explain: bool = False  # the explanation view is open (key e, --explain)
    explain_note: str = ""  # why it shows nothing, when it cannot (no explanation model)


def _text(img, text, org, scale=0.5, color=WHITE, thickness=1, background: int | None = None) -> None:
    """Anti-aliased text at baseline-left `org`.

    With a `background` grey level the text is drawn on a box of that level, rendered once
    and then copied (labels repeat frame after frame; rendering them costs ~4x the copy):
    0 is a black box that keeps text readable on the camera view, DARK_LEVEL matches the
    panel. With None the text is drawn over whatever is there (a label on a bar).
    """
    if background is None:
        cv2.putText(img, text, org, FONT, scale, color, thickness, cv2.LINE_AA)
        return
    label, (ox, oy) = _label(text, scale, color, thickness, background)
    x, y = org[0] - ox, org[1] - oy  # the label's top-left corner in img
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + label.shape[1], img.shape[1]), min(y + label.shape[0], img.shape[0])
    if x1 > x0 and y1 > y0:
        img[y0:y1, x0:x1] = label[y0 - y : y1 - y, x0 - x : x1 - x]


@functools.lru_cache(maxsize=512)
def _label(text: str, scale: float, color: tuple, thickness: int, background: int) -> tuple[np.ndarray, tuple]:
    """`text` rendered on a box of grey `background` with a 3-px margin, and its baseline origin."""
    (w, h), base = cv2.getTextSize(text, FONT, scale, thickness)
    label = np.full((h + base + 7, w + 7, 3), background, np.uint8)
    origin = (3, h + 4)
    cv2.putText(label, text, origin, FONT, scale, color, thickness, cv2.LINE_AA)
    label.flags.writeable = False  # shared by every frame that shows this text
    return label, origin


def draw_frame(out: np.ndarray, result: Result, status: Status) -> None:
    """Draw on the camera view in place: box (green when a digit is shown), the digit, confidence,
    and a hint when ink in the box has gone unread for a while."""
    b = result.box
    shown = result.number if result.multi else ("" if result.digit is None else str(result.digit))
    cv2.rectangle(out, (b.x, b.y), (b.x + b.w - 1, b.y + b.h - 1), GREEN if shown else GREY, 2)
    for r in result.readings:
        cv2.rectangle(out, (r.rect.x, r.rect.y), (r.rect.x + r.rect.w, r.rect.y + r.rect.h), AMBER, 1)
        if r.digit is not None:
            _text(out, str(r.digit), (r.rect.x, max(16, r.rect.y - 6)), 0.6, AMBER, 2, background=0)
    if shown:
        _text(out, shown, (b.x + 4, max(40, b.y - 14)), 1.4, GREEN, 3, background=0)
        _text(out, f"{100 * result.confidence:.0f}%", (b.x + b.w - 52, max(20, b.y - 14)), 0.6, GREEN, 1, background=0)
    elif not result.model_ready:
        _text(out, "loading model...", (b.x + 4, max(20, b.y - 14)), 0.6, AMBER, 1, background=0)
    if result.hint:  # under the box, from the view's left edge: the longest hint needs ~420 px
        y = min(b.y + b.h + 26, out.shape[0] - 34)  # above the help line
        _text(out, f"hint: {HINTS[result.hint]}", (8, y), 0.55, AMBER, 1, background=0)
    if status.show_help:
        _text(out, HELP, (8, out.shape[0] - 10), 0.45, background=0)
    if status.message:
        _text(out, status.message, (8, 24), 0.6, AMBER, 2, background=0)


def draw_panel(panel: np.ndarray, result: Result, status: Status) -> None:
    """Draw the side panel into `panel` (H, PANEL_W, 3): crop mask, model input, top-3 bars, fps, threshold."""
    panel[:] = DARK_LEVEL  # a scalar fill is far cheaper than a colour tuple on a strided view
    height = panel.shape[0]
    y = 8
    mask = result.mask
    scale = min(200 / mask.shape[1], 140 / mask.shape[0])
    mh, mw = max(1, int(mask.shape[0] * scale)), max(1, int(mask.shape[1] * scale))
    small = cv2.resize(mask, (mw, mh), interpolation=cv2.INTER_NEAREST)  # binary: nearest is exact enough
    panel[y : y + mh, 10 : 10 + mw] = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
    y += mh + 18
    _text(panel, "model input", (10, y), 0.45, GREY, background=DARK_LEVEL)
    y += 6
    if result.model_input is not None:
        big = cv2.resize((result.model_input * 255).astype(np.uint8), (112, 112), interpolation=cv2.INTER_NEAREST)
        panel[y : y + 112, 10:122] = cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)
    else:
        cv2.rectangle(panel, (10, y), (121, y + 111), GREY, 1)
        _text(panel, "no digit", (30, y + 60), 0.45, GREY, background=DARK_LEVEL)
    y += 112 + 10
    for digit, p in result.top(3) if result.probs.any() else []:
        cv2.rectangle(panel, (30, y), (30 + int(170 * p), y + 14), GREEN if digit == result.digit else GREY, -1)
        _text(panel, str(digit), (12, y + 12), 0.45, background=DARK_LEVEL)
        _text(panel, f"{100 * p:.0f}%", (34, y + 12), 0.4)  # over the bar: drawn, not copied
        y += 20
    y += 8
    thr = f"thr auto ({result.threshold_level:.2f})" if not result.threshold else f"thr manual {result.threshold}"
    lines = [f"{status.fps:4.1f} fps", thr, "mode: number" if result.multi else "mode: digit"]
    if status.ended:
        lines.append("end of source")
    counts = [f"{d}:{n}" for d, n in sorted((status.sample_counts or {}).items()) if n]
    if counts:
        lines.append("samples saved")
        lines += [" ".join(counts[i : i + 5]) for i in range(0, len(counts), 5)]
    for line in lines:
        if y < height - 4:
            _text(panel, line, (10, y + 12), 0.45, background=DARK_LEVEL)
        y += 20


def compose(
    frame: np.ndarray,
    result: Result,
    status: Status,
    out: np.ndarray | None = None,
    explanation: Explanation | None = None,
) -> np.ndarray:
    """Camera view (BGR uint8 (H, W, 3)) and panel side by side: what the window shows.

    Pass the previous frame's canvas as `out` to draw into it again: a fresh 1 MB image
    per frame costs more than the copy itself (new pages from the OS every time). With
    `status.explain`, the explanation view goes on the right (its `view` if already drawn).
    """
    h, w = frame.shape[:2]
    extra = EXPLAIN_W if status.explain else 0
    shape = (max(h, 440, EXPLAIN_H if extra else 0), w + PANEL_W + extra, 3)
    canvas = out if out is not None and out.shape == shape and out.dtype == np.uint8 else np.empty(shape, np.uint8)
    canvas[h:, :w] = DARK_LEVEL
    canvas[:h, :w] = frame
    if status.explain and explanation is not None and result.model_input is not None and result.digit_rect is not None:
        draw_heat_on_digit(canvas[:h, :w], explanation, result.digit_rect)
    draw_frame(canvas[:h, :w], result, status)
    draw_panel(canvas[:, w : w + PANEL_W], result, status)
    if extra:
        view = canvas[:, w + PANEL_W :]
        if explanation is None:
            view[:] = DARK_LEVEL
            note = status.explain_note or ("explaining..." if result.model_input is not None else "no digit to explain")
            _text(view, note, (10, 24), 0.45, GREY, background=DARK_LEVEL)
        else:
            drawn = explanation.view if explanation.view is not None else draw_explanation(explanation)
            view[: drawn.shape[0]] = drawn
            view[drawn.shape[0] :] = DARK_LEVEL
    return canvas


# ----------------------------------------------------------------------------- the explanation view


def heat_colours(x: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """Input float32 (28, 28) and one class's heat (28, 28) -> BGR uint8 (28, 28, 3).

    The input in grey with the heat over it: red where hiding the region lowers the class's
    log-odds (evidence for it), blue where it raises them (evidence against), each as strong
    as the map's largest value.
    """
    scale = float(np.abs(heat).max()) or 1.0
    a = np.clip(heat / scale, -1.0, 1.0)[..., None]
    grey = (50 + 140 * x)[..., None] * np.ones(3)
    out = grey * (1 - np.abs(a)) + np.where(a > 0, np.array(RED), np.array(BLUE)) * np.abs(a)
    return out.astype(np.uint8)


def draw_heat_on_digit(view: np.ndarray, explanation: Explanation, rect) -> None:
    """The winner's heat over the digit in the camera view (in place); `rect` is the digit's box in it.

    The model input's inked part is mapped onto `rect`: the normalisation scaled the digit's
    bounding box into the input, so the two boxes correspond.
    """
    x = explanation.model_input
    ys, xs = np.nonzero(x > 0.05)
    if not len(ys) or rect.w < 2 or rect.h < 2:
        return
    heat = explanation.heat[explanation.ranked[0], ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    a = np.clip(heat / (float(np.abs(heat).max()) or 1.0), -1, 1)
    tint = np.where(a[..., None] > 0, np.float32(RED), np.float32(BLUE))  # at input size: 28x28 at most
    alpha = cv2.resize(0.5 * np.abs(a), (rect.w, rect.h), interpolation=cv2.INTER_LINEAR)
    tint = cv2.resize(tint, (rect.w, rect.h), interpolation=cv2.INTER_LINEAR)
    y0, x0 = max(rect.y, 0), max(rect.x, 0)
    region = view[y0 : rect.y + rect.h, x0 : rect.x + rect.w]
    inside = slice(y0 - rect.y, y0 - rect.y + region.shape[0]), slice(x0 - rect.x, x0 - rect.x + region.shape[1])
    base = region.astype(np.float32)
    region[:] = base + alpha[inside][..., None] * (tint[inside] - base)


def tiles(maps: np.ndarray, cols: int, tile: int, gap: int = 1) -> np.ndarray:
    """Activations (H, W, C) -> one uint8 mosaic of C tiles, `cols` to a row, each `tile` px.

    All tiles share one scale (the layer's 99th percentile: a few hot pixels would leave
    the rest dark), so a filter that barely responds looks dark next to one that fires.
    """
    h, w, c = maps.shape
    rows = -(-c // cols)
    top = float(np.percentile(maps, 99)) or float(maps.max()) or 1.0
    scaled = np.clip(maps / top * 255, 0, 255).astype(np.uint8)
    out = np.full((rows * (tile + gap) - gap, cols * (tile + gap) - gap), 0, np.uint8)
    for k in range(c):
        r, q = divmod(k, cols)
        big = cv2.resize(np.ascontiguousarray(scaled[:, :, k]), (tile, tile), interpolation=cv2.INTER_NEAREST)
        out[r * (tile + gap) : r * (tile + gap) + tile, q * (tile + gap) : q * (tile + gap) + tile] = big
    return out


def draw_explanation(e: Explanation) -> np.ndarray:
    """The explanation view: BGR uint8 (EXPLAIN_H, EXPLAIN_W, 3).

    Top: where the network looks, for the winner and the runner-up (heat maps over the
    input). Then what each convolution layer sees (one tile per filter) and the hidden
    layer's strongest units with the digit each votes for most.
    """
    view = np.full((EXPLAIN_H, EXPLAIN_W, 3), DARK_LEVEL, np.uint8)
    first, second = e.ranked[:2]
    _text(view, "where it looks (red: for, blue: against)", (8, 16), 0.4, GREY, background=DARK_LEVEL)
    for i, c in enumerate((first, second)):
        x0 = 10 + i * 136
        heat = heat_colours(e.model_input, e.heat[c])
        view[24:108, x0 : x0 + 84] = cv2.resize(heat, (84, 84), interpolation=cv2.INTER_NEAREST)
        label = f"{c} {100 * e.probs[c]:.0f}%" if e.probs[c] >= 0.01 else f"{c} <1%"
        _text(view, label, (x0, 124), 0.5, GREEN if i == 0 else AMBER, background=DARK_LEVEL)
        _text(view, "shown" if i == 0 else "runner-up", (x0 + 52, 124), 0.4, GREY, background=DARK_LEVEL)
    y = 146
    for k, maps in enumerate(e.maps):
        h, w, c = maps.shape
        _text(view, f"layer {k + 1}: {c} filters, {w}x{h} each", (8, y), 0.4, GREY, background=DARK_LEVEL)
        cols = 8 if c <= 32 else 16
        mosaic = tiles(maps, cols, min((EXPLAIN_W - 20) // cols - 1, max(w, 15)))
        mh, mw = mosaic.shape
        view[y + 6 : y + 6 + mh, 10 : 10 + mw] = cv2.applyColorMap(mosaic, cv2.COLORMAP_INFERNO)
        y += 6 + mh + 18
    units = e.strongest_units(8 if e.maps else 16)
    _text(view, f"hidden layer: {len(units)} strongest of {len(e.hidden)}", (8, y), 0.4, GREY, background=DARK_LEVEL)
    y += 6
    top = float(e.hidden[units[0]]) or 1.0
    for u in units:
        if y + 14 > EXPLAIN_H:
            break
        vote = int(np.argmax(e.votes[:, u])) if e.votes is not None else None
        color = GREEN if vote == first else GREY
        cv2.rectangle(view, (52, y + 2), (52 + int(150 * e.hidden[u] / top), y + 11), color, -1)
        _text(view, f"#{u}", (8, y + 11), 0.35, background=DARK_LEVEL)
        if vote is not None:
            _text(view, f"for {vote}", (210, y + 11), 0.4, color, background=DARK_LEVEL)
        y += 14
    return view

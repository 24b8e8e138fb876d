"""The loops over the same core: the window (trackbar, keys, saving) and headless mode."""

from __future__ import annotations

import concurrent.futures
import ctypes
import ctypes.util
import json
import logging
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import cv2
import numpy as np

from live_digits import files, overlay
from live_digits.errors import UserError
from live_digits.explain import Explanation, LiveExplainer
from live_digits.recognizer import Recognizer, Result
from live_digits.sources import Source

log = logging.getLogger(__name__)

WINDOW = "live-digits"
TRACKBAR = "threshold (0=auto)"
ESC = 27
MESSAGE_SECONDS = 1.5  # how long a confirmation ("saved sample 7") stays on screen
ENDED_WAIT_MS = 15  # once the source has ended, the loop only redraws and polls keys


@dataclass(frozen=True)
class RunOptions:
    """Loop settings that are not about recognition."""

    save_dir: Path = Path(".")
    samples_dir: Path | None = None
    max_frames: int | None = None
    loop: bool = False  # restart a file or folder source at its end (window only)
    explain: bool = False  # open the explanation view from the start (key e toggles it)


def write_png(folder: Path, stem: str, images: dict[str, np.ndarray]) -> list[Path]:
    """Write images as STEM-NNNN-KEY.png with the first free NNNN; never overwrite.

    All of one save appear together and complete, or none of them (`files.staged`): a full
    disk or a kill leaves no truncated PNG and no crop without its model input, and two
    savers never clobber each other.
    """
    folder.mkdir(parents=True, exist_ok=True)
    existing = [p.name for p in folder.glob(f"{stem}-*.png")]
    numbers = [int(n.split("-")[-2]) for n in existing if n.split("-")[-2].isdigit()]
    n = max(numbers, default=0) + 1
    encoded = {key: cv2.imencode(".png", image)[1].tobytes() for key, image in images.items()}
    while True:
        paths = {key: folder / f"{stem}-{n:04d}-{key}.png" for key in images}
        try:
            with files.staged(list(paths.values())) as temps:
                for key, path in paths.items():
                    temps[path].write_bytes(encoded[key])
            return list(paths.values())
        except FileExistsError:
            n += 1


def crop_images(result: Result) -> dict[str, np.ndarray]:
    """The thresholded crop and (when a digit was found) the 28x28 model input, as uint8."""
    images = {"crop": result.mask}
    if result.model_input is not None:
        images["input"] = (result.model_input * 255 + 0.5).astype(np.uint8)
    return images


def count_samples(samples_dir: Path | None) -> dict[int, int]:
    if samples_dir is None or not samples_dir.is_dir():
        return {d: 0 for d in range(10)}
    return {d: len(list((samples_dir / str(d)).glob("*-input.png"))) for d in range(10)}


def run_headless(source: Source, recognizer: Recognizer, out: IO[str], options: RunOptions) -> int:
    """Every frame through the core, one JSON line each, until the source ends."""
    n = 0
    while options.max_frames is None or n < options.max_frames:
        frame = source.read()
        if frame is None:
            break
        out.write(json.dumps(recognizer.process(frame).to_json()) + "\n")
        n += 1
    out.flush()
    log.info("processed %d frames", n)
    return 0


def check_display(env: Mapping[str, str]) -> None:
    """Fail in one line where OpenCV's Qt would abort the process: no X display, or one that does not answer.

    opencv-python's Qt speaks only X11 (xcb); a stale DISPLAY (an ssh session gone, a
    stopped Xvfb) makes it print four lines and abort, before Python can catch anything.
    """
    if not sys.platform.startswith("linux") or env.get("QT_QPA_PLATFORM", "xcb") != "xcb":
        return
    hint = "run it on a desktop, or use --no-gui for JSON output"
    display = env.get("DISPLAY")
    if not display and cv2.currentUIFramework() == "QT":
        raise UserError("no display to open a window on", hint)
    if display and not _x_display_answers(display):
        raise UserError(f"cannot connect to display {display}", hint)


def _x_display_answers(display: str) -> bool:
    """Connect to the X server as Qt would (libxcb) and hang up; True if it cannot be told."""
    name = ctypes.util.find_library("xcb")
    if name is None:
        return True
    xcb = ctypes.CDLL(name)
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        return xcb.xcb_connection_has_error(connection) == 0
    finally:
        xcb.xcb_disconnect(connection)


def load_in_background(load) -> concurrent.futures.Future:
    """Run `load()` on a daemon thread, so the window shows camera frames while the model loads
    (and quitting meanwhile does not wait for it)."""
    future: concurrent.futures.Future = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(load())
        except BaseException as exc:  # handed to the loop, which reports it in one line
            future.set_exception(exc)

    threading.Thread(target=run, name="live-digits-load", daemon=True).start()
    return future


class FpsMeter:
    """Frames per second, smoothed so the number on screen is readable."""

    def __init__(self):
        self.fps, self._last = 0.0, time.perf_counter()

    def tick(self) -> float:
        now = time.perf_counter()
        rate = 1.0 / max(now - self._last, 1e-6)
        self.fps = rate if not self.fps else 0.9 * self.fps + 0.1 * rate
        self._last = now
        return self.fps


class _Feed:
    """The frames the window shows: the source's, then (at its end) its last frame again."""

    def __init__(self, source: Source, loop: bool):
        self.source, self.loop = source, loop
        self.last: np.ndarray | None = None
        self.ended = False

    def next(self) -> np.ndarray:
        """The next frame; at the end, rewind (--loop) or keep the last frame on screen."""
        frame = None if self.ended else self.source.read()
        if frame is None and not self.ended and self.loop and self.source.rewind():
            frame = self.source.read()
        if frame is None:
            if self.last is None:
                raise UserError(f"{self.source.name} gave no frames", "check the source")
            self.ended = True
            return self.last
        self.last = frame
        return frame


def run_window(
    source: Source,
    recognizer: Recognizer,
    model: concurrent.futures.Future,
    out: IO[str] | None,
    options: RunOptions,
    explainer: LiveExplainer | None = None,
) -> int:
    """The interactive loop: read -> process -> draw -> show -> key. Returns the exit code.

    `model` is the classifier still loading (`load_in_background`); frames are shown and
    thresholded meanwhile. `out` receives one JSON line per frame processed, if given: once
    the source has ended, its last frame is processed again, so the trackbar still acts on it.
    `explainer` (None: the model has no explanation model) feeds the view that key e opens.
    """
    cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)  # no toolbar
    cv2.createTrackbar(TRACKBAR, WINDOW, recognizer.settings.threshold, 255, lambda _: None)
    status = overlay.Status(sample_counts=count_samples(options.samples_dir), explain=options.explain)
    feed, fps = _Feed(source, options.loop), FpsMeter()
    frame_period = 0.0 if source.self_paced else 1.0 / source.fps
    canvas, message_until, n = None, 0.0, 0
    try:
        while options.max_frames is None or n < options.max_frames:
            t_start = time.perf_counter()
            _attach_model(recognizer, model)
            frame = feed.next()
            result = recognizer.process(frame, cv2.getTrackbarPos(TRACKBAR, WINDOW))
            status.ended = feed.ended
            if t_start > message_until:
                status.message = ""
            canvas = overlay.compose(frame, result, status, canvas, _explanation(explainer, result, status))
            cv2.imshow(WINDOW, canvas)
            if out is not None:
                out.write(json.dumps(result.to_json()) + "\n")
                out.flush()
            n += 1
            wait_ms = (
                ENDED_WAIT_MS if feed.ended else max(1, int(1000 * (frame_period - (time.perf_counter() - t_start))))
            )
            key = cv2.waitKeyEx(wait_ms)
            if key in (ord("q"), ord("Q")):
                return _save_and_quit(result, options)
            if key == ESC or _window_closed():
                return 0
            if _handle_key(key, result, recognizer, options, status):
                message_until = time.perf_counter() + MESSAGE_SECONDS
            status.fps = fps.tick()
        return 0
    finally:
        recognizer.close()
        if explainer is not None:
            explainer.close()
        cv2.destroyAllWindows()


def _explanation(explainer: LiveExplainer | None, result: Result, status: overlay.Status) -> Explanation | None:
    """With the view open: hand this frame's input to the explainer and take its newest explanation."""
    if not status.explain:
        return None
    if explainer is None:
        status.explain_note = "this model has no explanation model"
        return None
    explainer.submit(result.model_input)
    status.explain_note = explainer.error
    return explainer.latest()


def _attach_model(recognizer: Recognizer, model: concurrent.futures.Future) -> None:
    """Hand the model to the recognizer once it has loaded; a failed load ends the loop."""
    if recognizer.model is not None or not model.done():
        return
    try:
        recognizer.model = model.result()
    except UserError:
        raise
    except Exception as exc:  # a damaged file can raise anything inside a runtime: one line, no traceback
        raise UserError(f"could not load the model ({exc.__class__.__name__}: {exc})", "retrain or restore it") from exc


def _handle_key(key: int, result: Result, recognizer: Recognizer, options: RunOptions, status: overlay.Status) -> bool:
    """Keys h, m, e and 0-9 (full key codes: an arrow key is not a letter); True if a message was set."""
    if key == ord("h"):
        status.show_help = not status.show_help
    elif key == ord("e"):
        status.explain = not status.explain
    elif key == ord("m"):
        recognizer.set_multi(not recognizer.multi)
    elif ord("0") <= key <= ord("9"):
        status.message = _save_sample(key - ord("0"), result, options, status)
        return True
    return False


def _save_and_quit(result: Result, options: RunOptions) -> int:
    """Key q: save the crop (and the model input, when there is a digit), print the paths."""
    try:
        paths = write_png(options.save_dir, "live-digits", crop_images(result))
    except OSError as exc:
        raise UserError(f"cannot save to {options.save_dir} ({exc.strerror or exc})", "choose --save-dir") from exc
    for path in paths:
        print(f"saved {path}")
    if result.model_input is None:
        print("no digit in the box: saved the crop only")
    return 0


def _window_closed() -> bool:
    """True once the user closed the window (Qt's backend raises instead, once it is gone)."""
    try:
        return cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1
    except cv2.error:
        return True


def _save_sample(digit: int, result: Result, options: RunOptions, status: overlay.Status) -> str:
    """Key 0-9: keep the current crop as a labelled sample; errors are shown, not fatal."""
    if options.samples_dir is None:
        return "no --samples-dir set"
    if result.model_input is None:
        return "no digit in the box: nothing saved"
    try:
        write_png(options.samples_dir / str(digit), "sample", crop_images(result))
    except OSError as exc:
        log.error("cannot save sample to %s: %s", options.samples_dir, exc.strerror or exc)
        return f"cannot save to {options.samples_dir}"
    status.sample_counts[digit] = status.sample_counts.get(digit, 0) + 1
    return f"saved sample {digit} ({status.sample_counts[digit]})"

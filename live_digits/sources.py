"""Frame sources: a camera index, a video file, a folder of images, a stream URL, or the built-in demo.

Every source is a context manager with `read() -> BGR uint8 frame or None at the end`,
so the camera is released however the loop ends (q, an error, Ctrl-C).
"""

from __future__ import annotations

import importlib.resources
import logging
from pathlib import Path

import cv2
import numpy as np

from live_digits.errors import UserError
from live_digits.native import quiet_stderr
from live_digits.preprocess.box import colour_channels, to_gray

log = logging.getLogger(__name__)

STREAM_SCHEMES = ("http://", "https://", "rtsp://", "rtsps://", "rtmp://")
# How long FFmpeg waits for a stream to answer, and then for each frame, before it counts as
# gone: long enough for a phone on Wi-Fi to hiccup, short enough that a dead one is noticed.
STREAM_OPEN_TIMEOUT_MS = 10_000
STREAM_READ_TIMEOUT_MS = 5_000
STREAM_HINT = "check the URL opens in a browser or VLC and the phone app is streaming on this network"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
DEMO_DIGITS = importlib.resources.files("live_digits") / "data" / "demo_digits.npz"
MAX_CAMERA_INDEX = 9999  # OpenCV reads larger numbers as a backend code plus an index


def to_bgr8(frame: np.ndarray) -> np.ndarray:
    """Any image a source can give (gray/BGRA, any channel count; 8/16-bit or float) -> BGR uint8 for display."""
    if frame.ndim == 3:
        frame = colour_channels(frame)
    if frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8:
        return frame
    if frame.ndim in (2, 3) and frame.size == 0:
        return np.zeros((*frame.shape[:2], 3), np.uint8)
    if frame.ndim == 3 and frame.shape[2] == 4 and frame.dtype == np.uint8:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if frame.ndim == 3:  # 16-bit or float colour: scale per channel
        return np.dstack([to_gray(frame[:, :, c]) for c in range(3)])
    return cv2.cvtColor(to_gray(frame), cv2.COLOR_GRAY2BGR)


class Source:
    """Base: `read()` frames until None; `live` sources (camera, demo) never end by themselves.

    `self_paced` sources (a camera) block in `read()` until the next frame exists; the
    window paces the others (files, folders, the demo) to `fps` itself.
    """

    name = "source"
    live = False
    self_paced = False
    fps = 30.0

    def read(self) -> np.ndarray | None:
        """The next frame (BGR uint8 (H, W, 3)), or None at the end."""
        raise NotImplementedError

    def release(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class CaptureSource(Source):
    """cv2.VideoCapture over a camera index or a video file."""

    def __init__(self, capture: cv2.VideoCapture, name: str, live: bool):
        self.capture, self.name, self.live, self.self_paced = capture, name, live, live
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else 30.0
        self._first: np.ndarray | None = None

    def prime(self) -> None:
        """Read the first frame now, so an unreadable source fails before any window opens."""
        ok, frame = self.capture.read()
        if not ok or frame is None:
            self.release()
            if self.live:
                raise UserError(f"camera {self.name} opened but gives no frames", "close other apps using it")
            raise UserError(f"cannot read video frames from {self.name}", "check the file plays; try another format")
        self._first = frame

    def read(self) -> np.ndarray | None:
        if self._first is not None:
            frame, self._first = self._first, None
            return to_bgr8(frame)
        ok, frame = self.capture.read()
        return to_bgr8(frame) if ok and frame is not None else None

    def rewind(self) -> bool:
        return (not self.live) and bool(self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0))

    def release(self) -> None:
        if self.capture is not None:
            self.capture.release()
            self.capture = None


class StreamSource(CaptureSource):
    """A network camera (a phone app's MJPEG over HTTP, RTSP) read by OpenCV's FFmpeg backend.

    Live and self-paced like a camera, but a stream that stops is an error, not an end:
    nothing else would tell the user that the phone went to sleep.
    """

    def __init__(self, capture: cv2.VideoCapture, url: str):
        super().__init__(capture, f"stream {redact(url)}", live=True)

    def prime(self) -> None:
        ok, frame = self.capture.read()
        if not ok or frame is None:
            self.release()
            raise UserError(f"{self.name} opened but gives no frames", STREAM_HINT)
        self._first = frame

    def read(self) -> np.ndarray | None:
        frame = super().read()
        if frame is None and self.capture is not None:
            raise UserError(f"{self.name} stopped sending frames", STREAM_HINT)
        return frame


def redact(url: str) -> str:
    """The URL without its password (rtsp://user:secret@host -> rtsp://user:***@host), for messages."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.partition("@")
    if not at or ":" not in userinfo or "/" in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{host}"


def open_stream(url: str) -> StreamSource:
    """Open a stream URL with FFmpeg's timeouts, so a dead address fails instead of hanging."""
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        STREAM_OPEN_TIMEOUT_MS,
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        STREAM_READ_TIMEOUT_MS,
    ]
    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        capture.release()
        raise UserError(f"cannot open stream {redact(url)}", STREAM_HINT)
    source = StreamSource(capture, url)
    source.prime()
    return source


def open_camera(index: int, size: tuple[int, int] | None = None, fps: int | None = None) -> CaptureSource:
    """Open camera `index`, asking it for `size` (w, h) and `fps`; a camera may pick its nearest mode."""
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        capture.release()
        raise UserError(f"no camera at index {index}", "plug one in, try --source 1, or run --source demo")
    if size is not None:
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
    if fps is not None:
        capture.set(cv2.CAP_PROP_FPS, fps)
    source = CaptureSource(capture, f"camera {index}", live=True)
    source.prime()
    got = source._first.shape[1], source._first.shape[0]
    if size is not None and got != tuple(size):
        log.warning("camera %d gives %dx%d frames, not the %dx%d asked for", index, *got, *size)
    if fps is not None and abs(source.fps - fps) > 0.5:
        log.warning("camera %d runs at %.0f fps, not the %d asked for", index, source.fps, fps)
    return source


class ImagesSource(Source):
    """Still images (a folder's, in name order); unreadable files are skipped with a warning."""

    def __init__(self, paths: list[Path], name: str):
        self.name, self.paths, self._next, self._seen = name, paths, 0, False
        if not paths:
            raise UserError(
                f"no images in folder {name}", f"expected files ending in {', '.join(sorted(IMAGE_SUFFIXES))}"
            )

    @classmethod
    def from_folder(cls, folder: Path) -> ImagesSource:
        try:
            paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        except OSError as exc:
            raise UserError(f"cannot list folder {folder} ({exc.strerror})", "check its permissions") from exc
        return cls(paths, str(folder))

    def read(self) -> np.ndarray | None:
        skipped = []
        while self._next < len(self.paths):
            path = self.paths[self._next]
            self._next += 1
            with quiet_stderr():  # libjpeg/libpng warn about damaged files on stderr
                frame = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if frame is not None:
                self._seen = True
                for bad in skipped:  # worth a warning only when other images do work
                    log.warning("skipping unreadable image %s", bad)
                return to_bgr8(frame)
            skipped.append(path)
        if not self._seen:
            raise UserError(f"none of the images in {self.name} can be read", "check the files are PNG/JPEG images")
        return None

    def rewind(self) -> bool:
        self._next = 0
        return True


class DemoSource(Source):
    """Rendered webcam frames of real handwritten digits shipped with the package."""

    name = "demo"
    live = True

    def __init__(self, box: tuple[int, int] = (200, 200), seed: int = 0):
        from live_digits import synth

        with DEMO_DIGITS.open("rb") as f, np.load(f) as data:
            images, labels = data["images"], data["labels"]
        rank = np.array([np.sum(labels[:i] == lab) for i, lab in enumerate(labels)])
        order = np.lexsort((labels, rank))  # 0..9, then 0..9 again with the next writer's digits
        self.labels = labels[order]
        self._frames = synth.demo_frames(list(images[order]), np.random.default_rng(seed), box=box)

    def read(self) -> np.ndarray | None:
        return next(self._frames)


def camera_index(spec: str) -> int | None:
    """The camera index `spec` names ("0" -> 0), or None; "²" and "٣" are digits to str.isdigit, not to OpenCV."""
    if not (spec.isascii() and spec.isdigit()):
        return None
    index = int(spec)
    if index > MAX_CAMERA_INDEX:
        raise UserError(f"no camera at index {spec}", "cameras are numbered from 0: try --source 0, or --source demo")
    return index


def open_source(
    spec: str, box: tuple[int, int] = (200, 200), size: tuple[int, int] | None = None, fps: int | None = None
) -> Source:
    """`spec` is a camera index ("0"), a stream URL, a video file, an image folder or "demo".

    `size` (w, h) and `fps` are asked of a camera; other sources have their own.
    """
    index = camera_index(spec)
    if (size or fps) and index is None:
        raise UserError(
            f"--size and --fps ask a camera for a mode; {redact(spec)} is not a camera",
            "drop them, or set a stream's resolution in its app",
            exit_code=2,
        )
    if spec == "demo":
        return DemoSource(box)
    if not spec.strip():  # Path("") is the current folder
        raise UserError("--source is empty", "give a camera index, a video file, an image folder or 'demo'")
    if index is not None:
        return open_camera(index, size, fps)
    if spec.lower().startswith(STREAM_SCHEMES):
        return open_stream(spec)
    path = Path(spec)
    if not path.exists():
        raise UserError(
            f"source not found: {spec}", "give a camera index, a video file, an image folder, a stream URL or 'demo'"
        )
    if path.is_dir():
        return ImagesSource.from_folder(path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImagesSource([path], str(path))
    with quiet_stderr():  # FFmpeg's own lines about a damaged file
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            capture.release()
            raise UserError(f"cannot open video file {spec}", "check the file plays; try another format")
        source = CaptureSource(capture, str(path), live=False)
        source.prime()
    return source

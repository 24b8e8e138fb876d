"""`live-digits`: parse arguments into settings, open the source, run the window or headless loop.

Every failure a user can cause ends here as one line, `live-digits: error: ... (hint: ...)`,
and a non-zero exit code; never a traceback. Imports at the top stay light (standard library
only), so a Ctrl-C at startup already lands in `main`'s handlers.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import time
from pathlib import Path

from live_digits import __version__, paths, signals
from live_digits.errors import UserError

T0 = time.perf_counter()
log = logging.getLogger("live_digits")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but bad arguments give one line with a hint (exit 2), not usage text."""

    def error(self, message: str):
        raise UserError(f"{message}", f"see {self.prog} --help", exit_code=2)


def parse_box(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT like 200x200, got {text!r}") from None
    if not (28 <= w <= 4000 and 28 <= h <= 4000):
        raise argparse.ArgumentTypeError(f"box sides must be between 28 and 4000 pixels, got {text!r}")
    return w, h


def parse_size(text: str) -> tuple[int, int]:
    """`1280x720` -> (1280, 720): a camera resolution to ask for."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT like 1280x720, got {text!r}") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"width and height must be between 16 and 8192 pixels, got {text!r}")
    return w, h


def int_range(lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}, got {value}")
        return value

    return parse


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    with signals.deferred():  # its imports bring numpy and OpenCV: see `_main`
        from live_digits.recognizer import Settings

    defaults = Settings()  # every recognition default lives in Settings alone
    p = OneLineParser(
        prog="live-digits",
        description="Read handwritten digits held up to a webcam, live.",
        epilog="Keys: q save the crop and quit, Esc quit, 0-9 save a labelled sample, m number mode, "
        "e explanation view, h help.",
    )
    p.add_argument(
        "--source",
        default="0",
        help="camera index, video file, image folder, stream URL (http://, rtsp://), or 'demo' (default: 0)",
    )
    p.add_argument(
        "--model",
        default="cnn",
        help="'cnn' (default), 'dense', a name from --list-models, or a path to a model's .json/.tflite/.keras",
    )
    p.add_argument("--size", type=parse_size, help="ask the camera for this resolution, e.g. 1280x720")
    p.add_argument("--fps", type=int_range(1, 240), help="ask the camera for this frame rate, e.g. 30")
    p.add_argument(
        "--threshold",
        type=int_range(0, 255),
        default=defaults.threshold,
        help=f"start threshold, 0 = automatic (default {defaults.threshold})",
    )
    p.add_argument(
        "--box",
        type=parse_box,
        default=None,
        help="crop box WxH, centred (default {}x{}, {}x{} in number mode; grown with frames over 480 high)".format(
            *defaults.box, *defaults.number_box
        ),
    )
    p.add_argument("--multi", action="store_true", help="read every digit in the box as a number")
    p.add_argument(
        "--window",
        type=int_range(1, 60),
        default=defaults.window,
        help=f"frames whose predictions are combined (default {defaults.window})",
    )
    p.add_argument(
        "--min-confidence",
        type=fraction,
        default=defaults.min_confidence,
        help=f"combined confidence needed to show a digit (default {defaults.min_confidence})",
    )
    p.add_argument("--no-gui", action="store_true", help="no window: write one JSON line per frame and exit at the end")
    p.add_argument("--output", help="write the per-frame JSON lines to this file ('-' = stdout; default with --no-gui)")
    p.add_argument("--save-dir", type=Path, default=Path("."), help="where q saves the crop (default: current folder)")
    p.add_argument("--samples-dir", type=Path, help="where keys 0-9 save samples (default: per-user data folder)")
    p.add_argument("--max-frames", type=int_range(1, 10**9), help="stop after this many frames")
    p.add_argument("--loop", action="store_true", help="restart a video file or folder at its end (window only)")
    p.add_argument("--explain", action="store_true", help="open the view inside the network (window only; key e)")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    p.add_argument("--list-models", action="store_true", help="list the installed models with their accuracy and exit")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def check_writable_dir(path: Path, what: str, option: str) -> None:
    """Fail before opening the camera, not when the user presses the key."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {what} {path} ({exc.strerror})", f"choose another with {option}") from exc
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"cannot write to {what} {path}", f"choose another with {option}")


@contextlib.contextmanager
def _open_output(spec: str | None, default_stdout: bool):
    """The JSON-lines sink: the --output file, stdout, or None (a window without --output)."""
    from live_digits.files import JsonLines

    if spec is None and not default_stdout:
        yield None
        return
    with JsonLines.stdout() if spec in ("-", None) else JsonLines.open_file(spec) as out:
        yield out


def refuse_output_over_inputs(output: str | None, source: str, model_files: list[Path], image_suffixes) -> None:
    """--output must not name a file this run reads (the source, an image of its folder, the model's files)."""
    if output in (None, "-"):
        return
    out, src = Path(output), Path(source)
    in_image_folder = out.suffix.lower() in image_suffixes and src.is_dir() and _same_file(out.parent, src)
    if in_image_folder or any(_same_file(out, path) for path in (src, *model_files)):
        raise UserError(f"--output {output} is an input of this run", "choose another --output path")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _quiet_native_libraries(env, verbose: bool) -> None:
    """FFmpeg's and TensorFlow's own stderr lines would turn one-line errors into many."""
    if not verbose:
        env.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _use_system_fonts(env) -> None:
    """opencv-python points its bundled Qt at a font folder it does not ship; use the system's."""
    if Path(env.get("QT_QPA_FONTDIR", "/nonexistent")).is_dir():
        return
    for folder in ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype", "/usr/share/fonts"):
        if Path(folder).is_dir():
            env["QT_QPA_FONTDIR"] = folder
            return


def main(argv: list[str] | None = None) -> int:
    try:
        return signals.run_main("live-digits", lambda: _main(argv))
    except BrokenPipeError:  # the reader of stdout stopped reading (| head): not an error
        return 0


def list_models(dirs: paths.UserDirs) -> str:
    """The `--list-models` text: each model `--model NAME` finds, with its measured accuracy."""
    from live_digits import catalog

    found = catalog.installed(dirs.models)
    lines = [f"shipped models: {catalog.shipped_dir()}", f"your models:    {dirs.models}"]
    if not any(m.where == "user" for m in found):
        lines[-1] += " (none yet: live-digits-train writes there)"
    rows = [
        (m.name, "yours" if m.where == "user" else "shipped" + (" (yours replaces it)" if m.hidden else ""), m.accuracy)
        for m in found
    ]
    widths = [max((len(row[i]) for row in rows), default=0) for i in (0, 1)]
    lines += [f"  {name:<{widths[0]}}  {where:<{widths[1]}}  {accuracy}" for name, where, accuracy in rows]
    return "\n".join(lines)


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="live-digits: %(message)s")
    dirs = paths.user_dirs(os.environ)
    if args.list_models:
        print(list_models(dirs))
        return 0
    _quiet_native_libraries(os.environ, args.verbose)
    # A Ctrl-C inside numpy's or OpenCV's native import fails it with an ImportError, is lost
    # (numpy.random's Cython modules), or hangs the exit on a half-made library, instead of
    # interrupting: held until the imports are done.
    with signals.deferred():
        import cv2
        import numpy.random  # noqa: F401  numpy imports it on first use: the demo's first frame, here

        from live_digits import app, catalog, explain, model, sources
        from live_digits.recognizer import Recognizer, Settings

    # Per-frame images are small: OpenCV's thread pool costs more than it saves here and
    # would compete with the model's threads (measured: ~5% of the frame time).
    cv2.setNumThreads(1)
    _use_system_fonts(os.environ)

    if not args.verbose:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    defaults = Settings()
    settings = Settings(  # --box sets both modes' box; else key m switches between the two defaults
        box=args.box or defaults.box,
        number_box=args.box or defaults.number_box,
        threshold=args.threshold,
        window=args.window,
        min_confidence=args.min_confidence,
        multi=args.multi,
        scale_box=args.box is None,
    )
    box = settings.box_for(args.multi)
    samples_dir = args.samples_dir or dirs.samples
    options = app.RunOptions(
        save_dir=args.save_dir,
        samples_dir=samples_dir,
        max_frames=args.max_frames,
        loop=args.loop,
        explain=args.explain,
    )
    model_path = catalog.resolve(args.model, dirs.models)  # a missing, foreign or damaged model fails before any window
    model_files = model.files_of(model_path, model.read_metadata(model_path))
    refuse_output_over_inputs(args.output, args.source, [model_path, *model_files], sources.IMAGE_SUFFIXES)
    if not args.no_gui:
        check_writable_dir(args.save_dir, "save folder", "--save-dir")
        app.check_display(os.environ)
    with (
        _open_output(args.output, default_stdout=args.no_gui) as out,
        sources.open_source(args.source, box, args.size, args.fps) as source,
    ):
        log.info("source %s open after %.2f s", source.name, time.perf_counter() - T0)
        if args.no_gui:
            with signals.deferred():  # a Ctrl-C now would land inside LiteRT's native import
                loaded = model.load(model_path)
            return app.run_headless(source, Recognizer(loaded, settings), out, options)
        recognizer = Recognizer(None, settings, overlap=True)  # the model runs beside the drawing
        loading = app.load_in_background(lambda: model.load(model_path))
        return app.run_window(source, recognizer, loading, out, options, explain.live_explainer(model_path))


if __name__ == "__main__":
    raise SystemExit(main())

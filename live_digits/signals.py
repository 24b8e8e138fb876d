"""Ctrl-C and SIGTERM as exceptions in the main thread, so every exit path cleans up the same way."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator

from live_digits.errors import UserError

TERMINATED_EXIT = 128 + signal.SIGTERM  # what a shell reports for a process ended by SIGTERM


class Terminated(BaseException):
    """SIGTERM (a `kill`, a service manager, a closing terminal session), raised like KeyboardInterrupt."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated


def handle_terminate() -> None:
    """Make SIGTERM raise `Terminated`: sources are released and output flushed, as for Ctrl-C."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def run_main(prog: str, body: Callable[[], int], stopped: str = "") -> int:
    """Run a command's body as every live-digits command ends: SIGTERM raises like Ctrl-C, and
    a UserError, Ctrl-C or SIGTERM ends in one line on stderr ("PROG: error: ...", "PROG:
    interrupted`stopped`") with its exit code (the error's own, 130, 143) instead of a traceback."""
    try:
        handle_terminate()
        return body()
    except UserError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted{stopped}", file=sys.stderr)
        return 130
    except Terminated:
        print(f"{prog}: terminated{stopped}", file=sys.stderr)
        return TERMINATED_EXIT


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then deliver them.

    For imports of native code: cut in half by a KeyboardInterrupt, a pybind11 module
    (LiteRT's) fails with an ImportError instead, which would pass for "not installed".
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            signal.raise_signal(received[0])

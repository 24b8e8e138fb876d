"""Native libraries (LiteRT, TensorFlow, libjpeg, libpng, FFmpeg) write to file descriptor 2
directly, and their imports break when a Ctrl-C cuts them."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from live_digits import signals


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence native libraries' chatter on file descriptor 2 for the duration."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_keras() -> None:
    """Import keras, and TensorFlow under it, with Ctrl-C held until they are in and their
    chatter about oneDNN and CUDA silenced.

    Cut by a Ctrl-C, one of TensorFlow's or numpy's native modules fails with an ImportError:
    printed as a traceback, or caught by an optional import, and the Ctrl-C was lost (a
    training ran to the end). Every later `import keras` finds the module already loaded.
    """
    with signals.deferred(), quiet_stderr():
        import keras  # noqa: F401

"""Writing files so that nothing is lost: whole files or none, whole lines or none.

A full disk, a kill or a second process writing the same folder must never leave a
half-written PNG, model or JSON line behind, nor replace a file the user already had.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from live_digits.errors import UserError

# Filesystems without hard links (FAT, some network shares) answer os.link with these.
NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS}


def temp_name(path: Path) -> Path:
    """A hidden, unique name beside `path`, ending in the same suffix (keras insists on `.keras`)."""
    return path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")


@contextlib.contextmanager
def staged(paths: list[Path], replace: bool = False) -> Iterator[dict[Path, Path]]:
    """Write files under temporary names, then put them in place together, complete.

    Yields {final path: temporary path}; the body writes every temporary file. When it
    returns, each file is synced and linked to its final name in the given order: a name that
    exists raises FileExistsError and none of the files appear (`replace=True` renames over
    existing names instead). On any error no temporary file is left behind.
    """
    temps = {path: temp_name(path) for path in paths}
    try:
        yield temps
        for temp in temps.values():
            _sync(temp)
        if replace:
            for path, temp in temps.items():
                os.replace(temp, path)
        else:
            _link_all(temps)
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)


def _sync(path: Path) -> None:
    """Flush a written file to the disk, so a crash after the rename cannot leave it empty."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_all(temps: dict[Path, Path]) -> None:
    """Give every temporary file its final name without replacing any file; all or none."""
    linked: list[Path] = []
    try:
        for path, temp in temps.items():
            _link_new(temp, path)
            linked.append(path)
    except BaseException:
        for path in linked:
            path.unlink(missing_ok=True)
        raise


def _link_new(temp: Path, path: Path) -> None:
    """Hard-link `temp` to `path` (fails if `path` exists); copy exclusively where links are unsupported."""
    try:
        os.link(temp, path)
        return
    except OSError as exc:
        if exc.errno not in NO_HARD_LINKS:
            raise
    with open(path, "xb") as f:
        try:
            f.write(temp.read_bytes())
            f.flush()
            os.fsync(f.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise


class JsonLines:
    """Lines of JSON (one object per frame), to a file or stdout: every line whole, or not there at all.

    A file is opened without truncating it, and emptied only when the first line is ready:
    a run that fails before it starts leaves an earlier file as it was (and removes a file it
    created). Each line goes out in one `os.write` with no buffer in between, so a kill loses
    nothing already processed; when the disk fills up mid-line, the file is cut back to its
    last whole line and the run ends with one error line.
    """

    def __init__(self, fd: int, name: str, created: bool = False, owned: bool = True):
        self.fd, self.name, self.created, self.owned = fd, name, created, owned
        self.regular = stat.S_ISREG(os.fstat(fd).st_mode)
        self.lines, self.good = 0, 0  # lines written, and the bytes they take

    @classmethod
    def open_file(cls, spec: str) -> JsonLines:
        """Open (create) the --output file for writing; its old lines stay until the first new one."""
        path = Path(spec)
        existed = path.exists()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
        except OSError as exc:
            raise UserError(
                f"cannot write output file {spec} ({exc.strerror})", "choose another --output path"
            ) from exc
        return cls(fd, spec, created=not existed)

    @classmethod
    def stdout(cls) -> JsonLines:
        """Standard output, checked now: a closed one is an error before the run, not in it."""
        try:
            fd = sys.stdout.fileno()
            os.fstat(fd)
        except (AttributeError, ValueError, OSError) as exc:
            raise UserError("standard output is closed", "use --output FILE, or do not close stdout") from exc
        return cls(fd, "standard output", owned=False)

    def write(self, line: str) -> None:
        """Append one whole line (ending in a newline); on an error, cut a regular file back to its last."""
        data = line.encode()
        try:
            if self.lines == 0 and self.regular:
                os.ftruncate(self.fd, 0)
                os.lseek(self.fd, 0, os.SEEK_SET)
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]
        except BaseException as exc:
            self._cut_back()
            if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
                raise UserError(
                    f"cannot write to {self.name} after {self.lines} lines ({exc.strerror or exc})",
                    "free some disk space or choose another --output",
                ) from exc
            raise
        self.lines += 1
        self.good += len(data)

    def _cut_back(self) -> None:
        if self.regular:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, self.good)

    def flush(self) -> None:
        """Nothing to do: every line is written through."""

    def close(self) -> None:
        """Close the file; remove it if this run created it and never wrote to it."""
        if not self.owned:
            return
        os.close(self.fd)
        if self.created and self.lines == 0:
            with contextlib.suppress(OSError):
                os.unlink(self.name)

    def __enter__(self) -> JsonLines:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""Byte-exact source files.

A :class:`SourceFile` is decoded once. ``text`` is the file without its UTF-8 BOM and with *no*
newline translation, so every offset dfix computes is an offset into ``text`` and the original
bytes are ``bom + text.encode()``. Lines are split on ``\\n`` only (as BuildKit's scanner does);
``str.splitlines`` would also split on form feeds and U+2028, which Dockerfiles treat as text.
"""

from __future__ import annotations

import bisect
import os
import stat
from dataclasses import field

from refactor.records import dataclass

BOM = "\ufeff"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class InputError(Exception):
    """A file dfix will not process (unreadable, binary, not UTF-8, too large, ...).

    The message is one line and never contains file content.
    """


def line_starts(text: str) -> tuple[int, ...]:
    """The offset where each line of ``text`` starts: 0, and after every ``\\n``."""
    starts = [0]
    find = text.find
    i = find("\n")
    while i != -1:
        starts.append(i + 1)
        i = find("\n", i + 1)
    return tuple(starts)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str
    text: str
    bom: bool = False
    _line_starts: tuple[int, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_bytes(cls, path: str, data: bytes) -> SourceFile:
        if b"\x00" in data:
            raise InputError("not a text file (contains NUL bytes)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid UTF-8 (byte offset {exc.start})") from None
        bom = text.startswith(BOM)
        if bom:
            text = text[1:]
        return cls.from_text(path, text, bom=bom)

    @classmethod
    def from_text(cls, path: str, text: str, *, bom: bool = False) -> SourceFile:
        return cls(path, text, bom, line_starts(text))

    def to_bytes(self, text: str | None = None) -> bytes:
        body = self.text if text is None else text
        return ((BOM if self.bom else "") + body).encode("utf-8")

    # --- positions -------------------------------------------------------------------------
    @property
    def line_starts(self) -> tuple[int, ...]:
        return self._line_starts

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a text offset; columns count code points."""
        idx = bisect.bisect_right(self._line_starts, offset) - 1
        return idx + 1, offset - self._line_starts[idx] + 1

    def newline_at(self, offset: int) -> str:
        """The line ending of the line holding ``offset`` (``""`` on a last line without one)."""
        end = self.text.find("\n", offset)
        if end == -1:
            return ""
        return "\r\n" if end > 0 and self.text[end - 1] == "\r" else "\n"

    @property
    def default_newline(self) -> str:
        """The file's dominant line ending, used for text inserted where no neighbour decides."""
        crlf = self.text.count("\r\n")
        lf = self.text.count("\n") - crlf
        return "\r\n" if crlf > lf else "\n"


def read_capped(path: str, hint: int, cap: int) -> bytes:
    """The bytes of the file at ``path``, at most ``cap``: a first read of ``hint`` bytes (its size
    when stat-ed, plus one), then to its end (a short read is not taken for the end: a file on
    FUSE may return one mid-file). No file object and no ``cap``-sized buffer per file, which were
    most of the cost of reading thousands of small files."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        return read_fd(fd, hint, cap)
    finally:
        os.close(fd)


def read_fd(fd: int, hint: int, cap: int, data: bytes = b"") -> bytes:
    """:func:`read_capped` from an open descriptor, after the ``data`` already read from it."""
    data += os.read(fd, max(0, min(hint, cap) - len(data)))
    while len(data) < cap:
        more = os.read(fd, min(cap - len(data), 1 << 16))
        if not more:
            break
        data += more
    return data


_NONBLOCKING = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


def read_regular(path: str, cap: int, *, follow: bool = True) -> bytes | None:
    """The bytes of the regular file at ``path``; None when it is not one (a FIFO, a socket, a
    device, a directory; with ``follow=False`` a symlink too) or holds more than ``cap`` bytes.
    Stat-ed first and opened non-blocking, then fstat-ed: a FIFO, never opened, and one swapped
    in since the stat, never waited on (a blocking open of one hung a whole run). Raises OSError as
    ``os.stat`` and ``os.open`` do."""
    st = os.stat(path) if follow else os.lstat(path)
    if not stat.S_ISREG(st.st_mode) or st.st_size > cap:
        return None
    fd = os.open(path, _NONBLOCKING if follow else _NONBLOCKING | getattr(os, "O_NOFOLLOW", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > cap:
            return None
        data = read_fd(fd, st.st_size + 1, cap + 1)
    finally:
        os.close(fd)
    return None if len(data) > cap else data


def read_source(path: str, *, max_bytes: int = DEFAULT_MAX_BYTES, display: str | None = None) -> SourceFile:
    """Read ``path`` as a :class:`SourceFile` or raise :class:`InputError` with a one-line reason."""
    shown = display or path
    try:
        st = os.stat(path)  # follows symlinks: dangling links and loops fail here
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError("dangling symlink") from None
        raise InputError("no such file") from None
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            raise InputError("symlink loop") from None
        raise InputError(f"cannot stat: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        try:
            os.scandir(path).close()
        except OSError as exc:  # (a directory given to scan that cannot be listed)
            raise InputError(f"cannot list directory: {exc.strerror or type(exc).__name__}") from None
        raise InputError("is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise InputError("not a regular file")
    if st.st_size > max_bytes:
        raise InputError(f"larger than the {max_bytes}-byte limit ({st.st_size} bytes)")
    try:
        data = read_capped(path, st.st_size + 1, max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise InputError(f"larger than the {max_bytes}-byte limit")
    return SourceFile.from_bytes(shown, data)

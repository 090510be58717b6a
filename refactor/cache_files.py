"""The cache directory's files (:mod:`refactor.cache`): the entry format (a header line with the
digest of the body, then the JSON body), the atomic writer (one per cache directory and process),
pruning entries not used for ``MAX_AGE_DAYS`` days, the directory's tag files, and reading a
Dockerfile's bytes for its key without blocking.
"""

from __future__ import annotations

import json
import os
import stat
import time
from typing import Any

FORMAT = 1
_MAGIC = b"dfix-cache-v%d " % FORMAT


try:  # hashlib's own BLAKE2b, without loading OpenSSL for sha256: about 4 ms of every cached run's start
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - a Python built without its BLAKE2 module
    from hashlib import blake2b as _blake2b


def digest_hex(data: bytes) -> str:
    """The cache's digest of ``data`` (keys, pack checksums, file contents): BLAKE2b-256, in hex."""
    return _blake2b(data, digest_size=32).hexdigest()


def new_digest() -> Any:
    """An incremental :func:`digest_hex` (``update()``, then ``hexdigest()``)."""
    return _blake2b(digest_size=32)


MAX_AGE_DAYS = 30  # entries not used for this long are deleted
_PRUNE_EVERY = 24 * 3600  # seconds between two prunes of one cache directory
_TOUCH_AFTER = 24 * 3600  # a hit refreshes its entry's mtime when it is older than this


class _Writer:
    """Writes the entries of one cache directory (one per process: the parent and each worker)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.made: set[str] = set()
        self.warning: str | None = None  # set when a write failed: no further write is tried
        self.n = 0

    def write(self, key: str, doc: dict) -> bool:
        """Write an entry atomically: a temporary file in the same directory, then os.replace."""
        if self.warning is not None:
            return False
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        raw = _MAGIC + digest_hex(body).encode() + b"\n" + body
        d = os.path.join(self.root, f"v{FORMAT}", key[:2])
        self.n += 1
        tmp = os.path.join(d, f".tmp-{os.getpid()}-{self.n}-{key[:16]}")
        try:
            if d not in self.made:
                if not os.path.isdir(self.root):
                    _create_root(self.root)
                os.makedirs(d, mode=0o700, exist_ok=True)
                self.made.add(d)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            try:
                os.write(fd, raw)
            finally:
                os.close(fd)
            os.replace(tmp, os.path.join(d, key))
            return True
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            self.warning = f"cache: cannot write to {self.root}: {exc.strerror or exc}; results are not cached"
            return False


_writers: dict[str, _Writer] = {}  # per process (ResultCache clears it at the start of a run)


def _writer(root: str) -> _Writer:
    w = _writers.get(root)
    if w is None:
        w = _writers[root] = _Writer(root)
    return w


def prune(root: str, before: float) -> int:
    """Delete entries (and leftover temp files) last used before ``before``; returns how many."""
    n = 0
    try:
        versions = [v for v in os.listdir(root) if v.startswith("v") and v[1:].isdigit()]
    except OSError:
        return 0
    for v in versions:
        vdir = os.path.join(root, v)
        try:
            subs = os.listdir(vdir)
        except OSError:
            continue
        for s in subs:
            sdir = os.path.join(vdir, s)
            try:
                names = os.listdir(sdir)
            except OSError:
                continue
            for name in names:
                p = os.path.join(sdir, name)
                try:
                    st = os.lstat(p)
                    limit = max(before, time.time() - 3600) if name.startswith(".tmp-") else before
                    if stat.S_ISREG(st.st_mode) and st.st_mtime < limit:
                        os.unlink(p)
                        n += 1
                except OSError:
                    pass
    return n


def _create_root(root: str) -> None:
    os.makedirs(root, mode=0o700, exist_ok=True)
    for name, text in (
        ("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by dfix.\n"),
        (".gitignore", "# created by dfix\n*\n"),
    ):
        p = os.path.join(root, name)
        if not os.path.exists(p):
            try:
                with open(p, "x", encoding="utf-8") as fh:
                    fh.write(text)
            except OSError:
                pass


def _read_regular(path: str, max_bytes: int) -> tuple[bytes, tuple] | None:
    """(bytes, (size, mtime_ns, inode)) of a regular file no larger than ``max_bytes``; None
    otherwise (those are processed, not cached). Never blocks on a FIFO. The key is the bytes read
    here, whatever the file holds a moment later."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return None
        data = os.read(fd, st.st_size + 1)
        while len(data) < st.st_size:  # a short read
            more = os.read(fd, st.st_size + 1 - len(data))
            if not more:
                break
            data += more
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) != st.st_size:
        return None  # changing while read
    return data, (st.st_size, st.st_mtime_ns, st.st_ino)

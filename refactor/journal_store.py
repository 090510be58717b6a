"""A group journal's records and storage, for :mod:`refactor.journal`: the :class:`Journal` and its
entries, the errors, where a group's journal goes (``root_for``) and its lock (``locked``), the keyed
digest of the old bytes, and storing (``begin``), removing (``finish``) and reading back (``load``)
a journal in ``.dfix-journal/``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

from refactor.codecache import regex
from refactor.journal_dirs import DIRNAME as DIRNAME
from refactor.journal_dirs import is_journal_dir as _is_journal_dir
from refactor.records import dataclass

VERSION = 1
MAX_BYTES = 256 * 1024 * 1024  # a journal holds the new text of a few files of at most 10 MiB
_TMP = regex(r"^\.[0-9a-f]{16}\.json\.dfix-tmp-\d+-[0-9a-f]+$")


class JournalError(OSError):
    """A journal that blocks its files: unreadable, or listing a file edited since it was made.
    ``strerror`` is one line, without file content."""

    def __init__(self, message: str):
        super().__init__(0, message)


class JournalConflict(JournalError):
    pass


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the journal's root, '/'-separated
    old: str  # HMAC of the old bytes (see the module docstring)
    new: str  # sha256 of the new bytes
    data: bytes  # the new bytes


@dataclass(frozen=True)
class Journal:
    root: str
    path: str
    salt: bytes
    entries: tuple[Entry, ...]

    def file(self, e: Entry) -> str:
        return os.path.join(self.root, *e.path.split("/"))

    def shown(self) -> str:
        return _shown(self.path)


def canon(path: str) -> str:
    """An absolute path with its directories resolved and its last component kept (a symlinked
    Dockerfile stays the link, which is written through)."""
    a = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(a)), os.path.basename(a))


def root_for(paths: list[str]) -> str:
    """Where a group's journal goes: the nearest ancestor of the files' common directory holding
    ``.git``, else that directory (``refactor.reporoot.work_tree``: the rule callers are found by)."""
    from refactor.reporoot import work_tree

    dirs = [os.path.dirname(canon(p)) for p in paths]
    try:
        common = os.path.commonpath(dirs)
    except ValueError:
        common = dirs[0]
    return work_tree(common) or common


@contextmanager
def locked(root: str) -> Iterator[None]:
    """Exclusive ``flock`` on the root directory (released when the block ends)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: proceed unlocked
        yield
        return
    try:
        fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        yield  # cannot open the directory: storing a journal in it fails and says why
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass  # no flock on this file system: proceed unlocked
        yield
    finally:
        os.close(fd)  # releases the lock


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _old_digest(salt: bytes, st: os.stat_result, data: bytes) -> str:
    key = salt + f"\0{st.st_dev}\0{st.st_ino}\0{st.st_ctime_ns}".encode()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def _shown(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith(".." + os.sep + "..") else rel


def _fsync_dir(d: str) -> None:
    try:
        fd = os.open(d, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _rel(root: str, path: str) -> str:
    rel = os.path.relpath(canon(path), root)
    if rel.startswith(".." + os.sep) or rel == ".." or os.path.isabs(rel):
        raise JournalError(f"{path} lies outside {root}")
    return rel.replace(os.sep, "/")


def name_for(root: str, paths: list[str]) -> str:
    key = "\0".join(sorted(_rel(root, p) for p in paths))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16] + ".json"


def begin(root: str, files: list[tuple[str, bytes, bytes]]) -> Journal:
    """Store the journal of a group about to be written (call it under :func:`locked`):
    ``files`` is (path, old bytes, new bytes) in write order. Raises OSError (nothing written)
    when it cannot be stored, JournalError when an earlier journal of the same group is left."""
    salt = os.urandom(16)
    entries = []
    for path, old, new in files:
        st = os.stat(path)
        entries.append(Entry(_rel(root, path), _old_digest(salt, st, old), _sha(new), new))
    doc = {
        "dfix-journal": VERSION,
        "about": "an interrupted `dfix --write`: the next `dfix --write` completes these files (see docs/hardening.md)",
        "salt": salt.hex(),
        "files": [{"path": e.path, "old": e.old, "new": e.new, "text": e.data.decode("utf-8")} for e in entries],
    }
    data = json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8", "surrogateescape") + b"\n"
    jdir = os.path.join(root, DIRNAME)
    try:
        os.mkdir(jdir, 0o700)
    except FileExistsError:
        pass
    if not _is_journal_dir(jdir):  # a symlink (or a file) a repository planted under that name
        raise JournalError(f"{_shown(jdir)} is not a directory dfix made; remove it")
    name = name_for(root, [p for p, _o, _n in files])
    final = os.path.join(jdir, name)
    tmp = os.path.join(jdir, f".{name}.dfix-tmp-{os.getpid()}-{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, final)  # atomic, and never replaces a journal left by another run
        except FileExistsError:
            raise JournalError(f"an interrupted dfix run left {_shown(final)} for these files: run `dfix --write` on them again") from None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    _fsync_dir(jdir)
    return Journal(root, final, salt, tuple(entries))


def finish(journal: Journal) -> None:
    """Remove a completed journal (and its directory when it is the last one)."""
    try:
        os.unlink(journal.path)
    except FileNotFoundError:
        pass
    jdir = os.path.dirname(journal.path)
    _sweep(jdir)
    try:
        os.rmdir(jdir)
    except OSError:
        _fsync_dir(jdir)
    else:
        _fsync_dir(journal.root)


def _sweep(jdir: str) -> None:
    """Remove journal temp files left by a killed run (under the lock: no run is writing one)."""
    try:
        names = os.listdir(jdir)
    except OSError:
        return
    for n in names:
        if _TMP.match(n):
            try:
                os.unlink(os.path.join(jdir, n))
            except OSError:
                pass


def load(path: str, root: str) -> Journal:
    """Read and validate a journal; JournalError when it is not one dfix wrote for this user."""
    shown = _shown(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise JournalError(f"{shown} cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise JournalError(f"{shown} is not a regular file")
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise JournalError(f"{shown} belongs to another user")
    if st.st_size > MAX_BYTES:
        raise JournalError(f"{shown} is larger than any journal dfix writes")
    try:
        with open(path, "rb") as fh:
            doc = json.loads(fh.read(MAX_BYTES + 1).decode("utf-8", "surrogateescape"))
        if doc.get("dfix-journal") != VERSION:
            raise ValueError("version")
        salt = bytes.fromhex(doc["salt"])
        entries = []
        for f in doc["files"]:
            rel = f["path"]
            parts = rel.split("/")
            if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
                raise ValueError("path")
            data = f["text"].encode("utf-8", "surrogateescape")
            if _sha(data) != f["new"]:
                raise ValueError("digest")
            entries.append(Entry(rel, str(f["old"]), f["new"], data))
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, UnicodeError) as exc:
        raise JournalError(f"{shown} is damaged ({type(exc).__name__}); delete it after checking the files it names") from None
    return Journal(root, path, salt, tuple(entries))

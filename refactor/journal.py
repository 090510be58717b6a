"""Group journals: a write group interrupted half-way is completed by the next ``--write``.

A Dockerfile and the callers whose edits go with it are written one after the other (one
``os.replace`` each); a kill, a full disk or a refused write between two of them would leave the
Dockerfile migrated and the caller still passing ``--build-arg`` (or the reverse). So before the
first file of a group of two or more is written, :func:`begin` stores a journal:

* where: ``.dfix-journal/<16 hex>.json`` in the group's root (the nearest ancestor of the group's
  files holding ``.git``, else their common directory), so ``git status`` shows it as untracked
  while it exists; the directory is removed with its last journal;
* what: for each file, in write order, its path relative to the root, the SHA-256 of the new bytes
  and the new text itself (what dfix writes to the tree anyway), and a *keyed* digest of the old
  bytes: HMAC-SHA256 keyed with a random salt plus the file's ``st_dev``, ``st_ino`` and
  ``st_ctime_ns``, which the journal does not record. The old bytes hold the secrets the run
  removes (ARG defaults, literals): they are never stored, and their digest cannot be checked
  against guesses without the file's inode and change time. The same key binds the journal to
  the files it was written for: a journal planted in a repository (or copied elsewhere) can never
  show a file as pending, so it can never make dfix write anything;
* how: a temp file in ``.dfix-journal/`` (mode 0600), fsynced, linked to its final name (which
  fails if the name exists), the directory fsynced.

The group's files are then replaced atomically, and the journal removed when all are written.
:func:`recover` (the next ``--write``: from ``refactor.write`` before a Dockerfile of the group is
read) looks at each listed file: its current bytes are the new bytes (done), or the old ones with
the same inode and change time (pending: it writes the new bytes, which passed every check when
the journal was made), or anything else (edited since, removed, replaced): it writes nothing,
keeps the journal and raises :class:`JournalConflict` naming the file, so the run fails (exit 2)
until a person finishes the group and deletes the journal.

Concurrency: every journal operation, and a group's whole write, holds ``flock`` on the root
directory, so two dfix runs never write the same group at once and a recovering run never sees a
journal that is being written or completed. (File systems without ``flock`` proceed unlocked.)
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

DIRNAME = ".dfix-journal"
VERSION = 1
MAX_BYTES = 256 * 1024 * 1024  # a journal holds the new text of a few files of at most 10 MiB
_NAME = re.compile(r"^[0-9a-f]{16}\.json$")
_TMP = re.compile(r"^\.[0-9a-f]{16}\.json\.dfix-tmp-\d+-[0-9a-f]+$")


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
    ``.git``, else that directory (the rule of ``refactor.callers.repo_root``)."""
    dirs = [os.path.dirname(canon(p)) for p in paths]
    try:
        common = os.path.commonpath(dirs)
    except ValueError:
        common = dirs[0]
    cur = common
    while True:
        if os.path.lexists(os.path.join(cur, ".git")):
            return cur
        parent = os.path.dirname(cur)
        if parent == cur:
            return common
        cur = parent


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


def _is_journal_dir(jdir: str) -> bool:
    """A real directory (not a symlink) of this user."""
    try:
        st = os.lstat(jdir)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and (not hasattr(os, "geteuid") or st.st_uid == os.geteuid())


def _journal_files(jdir: str) -> list[str]:
    try:
        return sorted(os.path.join(jdir, n) for n in os.listdir(jdir) if _NAME.match(n))
    except OSError:
        return []


def _roots_above(path: str) -> Iterator[str]:
    """The directories whose journal may list ``path``: all its ancestors (a group's root is the
    git work tree holding the group, or the group's common directory, so it may lie above a nested
    repository; a few ``lstat`` calls per file)."""
    d = os.path.dirname(canon(path))
    while True:
        yield d
        parent = os.path.dirname(d)
        if parent == d:
            return
        d = parent


_listing: dict[tuple, frozenset[str] | None] = {}  # (journal, size, mtime_ns, inode) -> its files


def _listed(jpath: str, root: str) -> frozenset[str] | None:
    """The canonical paths a journal lists (None: unreadable), cached by the journal's stat."""
    try:
        st = os.lstat(jpath)
    except OSError:
        return frozenset()
    key = (jpath, st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in _listing:
        try:
            j = load(jpath, root)
            _listing[key] = frozenset(canon(j.file(e)) for e in j.entries)
        except FileNotFoundError:
            return frozenset()
        except JournalError:
            _listing[key] = None
    return _listing[key]


def journals_for(path: str) -> list[tuple[str, str]]:
    """(root, journal path) of every journal listing ``path``, nearest first. A journal that
    cannot be read is returned too (it may list the file: recovering it reports why)."""
    me = canon(path)
    out = []
    for root in _roots_above(path):
        jdir = os.path.join(root, DIRNAME)
        if not _is_journal_dir(jdir):  # none, or not one dfix made (then no group is written there)
            continue
        for jpath in _journal_files(jdir):
            files = _listed(jpath, root)
            if files is None or me in files:
                out.append((root, jpath))
    return out


def recover(jpath: str, root: str) -> list[str]:
    """Complete the group of a journal left by an interrupted run (see the module docstring).
    Returns the files written; raises JournalConflict (journal kept) when a file was edited since,
    OSError when a write fails (journal kept)."""
    from refactor.write import WriteRefused, write_atomic

    with locked(root):
        _sweep(os.path.dirname(jpath))
        try:
            j = load(jpath, root)
        except FileNotFoundError:
            return []  # completed meanwhile by another run
        pending: list[tuple[Entry, bytes]] = []
        names = ", ".join(e.path for e in j.entries)
        for e in j.entries:
            full = j.file(e)
            try:
                st = os.stat(full)
                with open(full, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                why = "it is gone" if exc.errno == errno.ENOENT else f"it cannot be read ({exc.strerror})"
                raise JournalConflict(_conflict(j, e, why, names)) from None
            if _sha(data) == e.new:
                continue  # done
            if hmac.compare_digest(_old_digest(j.salt, st, data), e.old):
                pending.append((e, data))
            else:
                raise JournalConflict(_conflict(j, e, "it was edited since (it holds neither its old nor its new text)", names))
        written = []
        for e, data in pending:
            try:
                write_atomic(j.file(e), e.data, root, expect=data)
            except WriteRefused as exc:
                raise JournalConflict(_conflict(j, e, exc.strerror or "it cannot be written", names)) from None
            written.append(j.file(e))
        finish(j)
        return written


def _conflict(j: Journal, e: Entry, why: str, names: str) -> str:
    return (
        f"an interrupted `dfix --write` left {j.shown()} to finish {names}, and {e.path} blocks it: {why};"
        " finish the migration of those files by hand (the journal holds their new text), then delete the journal"
    )


def recover_for(paths: list[str], *, strict: bool = True) -> list[str]:
    """Recover every journal listing one of ``paths`` (the files a ``--write`` run is about to
    read); returns one line per completed journal. ``strict``: raise JournalError (or OSError) for
    the first one that cannot be completed; otherwise leave it, with its journal, to the file
    that names it (``refactor.write`` then reports it as that file's error)."""
    out: list[str] = []
    seen: set[str] = set()
    for p in paths:
        for root, jpath in journals_for(p):
            if jpath in seen:
                continue
            seen.add(jpath)
            try:
                written = recover(jpath, root)
            except OSError:
                if strict:
                    raise
                continue
            if written:
                out.append(
                    f"completed a Dockerfile/caller group that an interrupted run left half written ({_shown(jpath)}): "
                    + ", ".join(_shown(w) for w in written)
                )
    return out


def pending_for(paths: list[str]) -> list[str]:
    """Report lines for read-only modes: journals left by an interrupted ``--write`` that list one
    of ``paths``."""
    out = []
    seen: set[str] = set()
    for p in paths:
        for _root, jpath in journals_for(p):
            if jpath not in seen:
                seen.add(jpath)
                out.append(
                    f"an interrupted `dfix --write` left {_shown(jpath)}: some files of a Dockerfile/caller group are"
                    " written and some are not; run `dfix --write` to complete it"
                )
    return out

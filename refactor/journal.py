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
import hmac
import os

from refactor.journal_find import journals_for
from refactor.journal_store import (
    DIRNAME,
    MAX_BYTES,
    VERSION,
    Entry,
    Journal,
    JournalConflict,
    JournalError,
    _old_digest,
    _sha,
    _shown,
    _sweep,
    begin,
    canon,
    finish,
    load,
    locked,
    name_for,
    root_for,
)

# The parts: journal_store (the records, storing, removing and reading a journal) and journal_find
# (the journals that list a file); this module completes or reports them, and is the public face
# of them all.
__all__ = [
    "DIRNAME",
    "MAX_BYTES",
    "VERSION",
    "Entry",
    "Journal",
    "JournalConflict",
    "JournalError",
    "_shown",
    "begin",
    "canon",
    "finish",
    "journals_for",
    "load",
    "locked",
    "name_for",
    "pending_for",
    "recover",
    "recover_for",
    "root_for",
]


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
    memo: dict[str, tuple[str, list[str]]] = {}
    for p in paths:
        for _root, jpath in journals_for(p, memo):
            if jpath not in seen:
                seen.add(jpath)
                out.append(
                    f"an interrupted `dfix --write` left {_shown(jpath)}: some files of a Dockerfile/caller group are"
                    " written and some are not; run `dfix --write` to complete it"
                )
    return out

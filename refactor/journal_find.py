"""Finding the journals that list a file, for :mod:`refactor.journal`: the journal directories of
every ancestor of the file, and the files each journal lists (cached by the journal's stat).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from refactor.journal_store import DIRNAME, JournalError, _is_journal_dir, canon, load

_NAME = re.compile(r"^[0-9a-f]{16}\.json$")


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

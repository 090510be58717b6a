"""Finding the journals that list a file, for :mod:`refactor.journal`: the journal directories of
every ancestor of the file, and the files each journal lists (cached by the journal's stat).
"""

from __future__ import annotations

import os

from refactor.codecache import regex
from refactor.journal_dirs import ancestors as _ancestors
from refactor.journal_store import DIRNAME, JournalError, _is_journal_dir, canon, load

_NAME = regex(r"^[0-9a-f]{16}\.json$")


def _journal_files(jdir: str) -> list[str]:
    try:
        return sorted(os.path.join(jdir, n) for n in os.listdir(jdir) if _NAME.match(n))
    except OSError:
        return []


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


def journals_for(path: str, memo: dict[str, tuple[str, list[str]]] | None = None) -> list[tuple[str, str]]:
    """(root, journal path) of every journal listing ``path``, nearest first. A journal that
    cannot be read is returned too (it may list the file: recovering it reports why).

    ``memo`` (one dict for a batch of paths, while no journal is written or removed) keeps each
    directory's resolved path and the ancestors holding a journal directory, so a thousand files
    in one directory cost one ``realpath`` and one look at each ancestor."""
    a = os.path.abspath(path)
    d = os.path.dirname(a)
    known = memo.get(d) if memo is not None else None
    if known is None:
        real = os.path.realpath(d)
        # none, or not one dfix made (then no group is written there)
        known = (real, [r for r in _ancestors(real) if _is_journal_dir(os.path.join(r, DIRNAME))])
        if memo is not None:
            memo[d] = known
    real, roots = known
    if not roots:
        return []
    me = os.path.join(real, os.path.basename(a))  # canon(path)
    out = []
    for root in roots:
        for jpath in _journal_files(os.path.join(root, DIRNAME)):
            files = _listed(jpath, root)
            if files is None or me in files:
                out.append((root, jpath))
    return out

"""Where group journals live (``refactor.journal``), without what reading one needs: a read-only
run asks :func:`any_journal_dir` first, and imports the journal modules (hashing, HMAC, JSON)
only when some directory above its files holds one, which is almost never."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator

DIRNAME = ".dfix-journal"


def ancestors(d: str) -> Iterator[str]:
    """The directories whose journal may list a file in ``d`` (resolved): ``d`` and all its
    ancestors (a group's root is the git work tree holding the group, or the group's common
    directory, so it may lie above a nested repository)."""
    while True:
        yield d
        parent = os.path.dirname(d)
        if parent == d:
            return
        d = parent


def is_journal_dir(jdir: str) -> bool:
    """A real directory (not a symlink) of this user."""
    try:
        st = os.lstat(jdir)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and (not hasattr(os, "geteuid") or st.st_uid == os.geteuid())


def any_journal_dir(paths: Iterable[str]) -> bool:
    """Does a journal directory dfix may have made sit in or above the directory of any of
    ``paths``? (Each directory is looked at once, however many files share it.)"""
    seen: set[str] = set()
    from refactor.walk import absolute  # (the run's working directory: no getcwd per file)

    for d in {os.path.dirname(absolute(p)) for p in paths}:
        for a in ancestors(os.path.realpath(d)):
            if a in seen:
                break  # (its ancestors were looked at too)
            seen.add(a)
            if is_journal_dir(os.path.join(a, DIRNAME)):
                return True
    return False

"""One walk of the tree per run, shared by everything that walks it.

Dockerfile discovery, caller discovery and the DF010 credential-split scan each walk the
repository with their own pruning (``.gitignore``, ``--exclude``, skipped directories), and used
to read every directory from the disk once each. They now list directories through here: a
directory is read once per run, by whichever of them asks first. ``forget()`` drops the listings
(every run starts with it: the tree may have changed since an earlier run in this process).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache

# what the run keeps of each directory: the names NUL-joined (no file name holds one), a few
# hundred bytes a directory less than tuples of strings (a bulk run lists tens of thousands)
_Kept = tuple[str, str, frozenset[str], frozenset[str]]
_NO_LINKS: frozenset[str] = frozenset()


def forget() -> None:
    _listing.cache_clear()
    _cwd.clear()


_cwd: list[str] = []  # the working directory, read once per run (dfix never changes it)


def absolute(path: str) -> str:
    """``os.path.abspath(path)``, without its ``getcwd`` call each time: the working directory is
    read once per run (``forget()`` starts a run). A run asks it about six times per file."""
    if os.path.isabs(path):
        return os.path.normpath(path)
    if not _cwd:
        _cwd.append(os.getcwd())
    return os.path.normpath(os.path.join(_cwd[0], path))


@cache
def _listing(path: str) -> _Kept | None:
    """``(directory names, other names, names of symlinks to directories, other names that were
    not regular files)`` in ``path``, the first two sorted and NUL-joined; None when it cannot be
    listed. (Whether an entry is a directory, a symlink or a regular file comes with the listing:
    no stat per entry.)"""
    dirs: list[str] = []
    files: list[str] = []
    links: list[str] = []
    odd: list[str] = []
    try:
        with os.scandir(path) as it:
            for e in it:
                try:
                    is_dir = e.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    dirs.append(e.name)
                    if e.is_symlink():
                        links.append(e.name)
                else:
                    files.append(e.name)
                    try:
                        regular = e.is_file(follow_symlinks=False)
                    except OSError:
                        regular = False
                    if not regular:
                        odd.append(e.name)
    except OSError:
        return None
    return (
        "\0".join(sorted(dirs)),
        "\0".join(sorted(files)),
        frozenset(links) if links else _NO_LINKS,
        frozenset(odd) if odd else _NO_LINKS,
    )


def walk(top: str) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk(top, followlinks=False)`` from the shared listings, top-down: prune by editing
    the yielded directory names in place. Names are sorted; a symlink to a directory is listed
    but not descended into; a directory that cannot be listed is skipped, as os.walk does."""
    stack = [top]
    while stack:
        path = stack.pop()
        kept = _listing(os.path.abspath(path))
        if kept is None:
            continue
        dirs, files, links, _odd = kept
        dirnames = dirs.split("\0") if dirs else []
        yield path, dirnames, files.split("\0") if files else []
        stack.extend(os.path.join(path, d) for d in reversed(dirnames) if d not in links)


def listing_failed(path: str) -> bool:
    """Whether directory ``path`` cannot be listed (the run's listing of it failed)."""
    return _listing(os.path.abspath(path)) is None


def irregular(path: str) -> frozenset[str]:
    """The names in directory ``path`` that are not directories and were not regular files when it
    was listed (symlinks, FIFOs, sockets, devices), from the run's listing: what a walker must
    stat before it opens a file (a regular file is opened straight away, and ``fstat`` confirms it)."""
    kept = _listing(os.path.abspath(path))
    return kept[3] if kept is not None else _NO_LINKS


def below(full: str, base: str) -> str:
    """``full`` relative to its ancestor directory ``base``, ``/``-separated (os.path.relpath
    without its cost: the walk's paths all start with the root's)."""
    prefix = base.rstrip(os.sep) + os.sep
    rel = full[len(prefix) :] if full.startswith(prefix) else os.path.relpath(full, base)
    return rel.replace(os.sep, "/") if os.sep != "/" else rel

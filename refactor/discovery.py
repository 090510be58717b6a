"""Find Dockerfiles under the given paths.

Directories are walked recursively for ``Dockerfile``, ``Dockerfile.*``, ``Dockerfile-*``,
``*.Dockerfile``, ``*.dockerfile`` and ``Containerfile*``; template and backup suffixes and
``*.dockerignore`` are excluded; ``.gitignore`` files are honoured (pathspec); ``.git``,
``node_modules`` and ``vendor`` are skipped. Explicit file paths are always processed. The output
order is deterministic (sorted).
"""

from __future__ import annotations

import fnmatch
import os
import stat
from typing import TYPE_CHECKING

from refactor.records import dataclass
from refactor.walk import below, listing_failed, walk

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "vendor", "__pycache__", ".tox", ".venv"})
EXCLUDED_SUFFIXES = (
    ".j2",
    ".jinja",
    ".jinja2",
    ".tmpl",
    ".tpl",
    ".template",
    ".orig",
    ".bak",
    ".md",
    ".rej",
    ".swp",
    "~",
    # source and data files named after Dockerfiles (dockerfile.py, Dockerfile.prod.yaml)
    ".py",
    ".go",
    ".js",
    ".ts",
    ".rb",
    ".rs",
    ".java",
    ".json",
    ".yaml",
    ".yml",
    ".toml",
    ".lock",
    ".sum",
    ".mod",
)


def is_dockerfile_name(name: str) -> bool:
    low = name.lower()
    if low.endswith(".dockerignore") or low.endswith(EXCLUDED_SUFFIXES):
        return False
    if low.startswith(".") and ".dfix-tmp-" in low:
        return False
    return (
        low == "dockerfile"
        or low.startswith(("dockerfile.", "dockerfile-", "dockerfile_"))
        or low.endswith((".dockerfile", "-dockerfile", "_dockerfile"))
        or low.startswith("containerfile")
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    path: str  # filesystem path
    display: str  # as given, or relative to cwd when discovered


def _gitignore_spec(directory: str) -> GitIgnoreSpec | None:
    from refactor.ignorespec import in_dir

    return in_dir(directory)


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    rel = rel.replace(os.sep, "/")
    base = rel.rsplit("/", 1)[-1]
    for p in patterns:
        p2 = p.rstrip("/")
        if fnmatch.fnmatch(rel, p2) or fnmatch.fnmatch(base, p2) or fnmatch.fnmatch(rel, p2 + "/*") or rel.startswith(p2 + "/"):
            return True
    return False


def _ignored(full: str, is_dir: bool, active: list[tuple[str, GitIgnoreSpec]], root: str, exclude: tuple[str, ...]) -> bool:
    """``full`` is ignored by a ``.gitignore`` in force there (``active``) or by ``--exclude``."""
    for d, s in active:
        if s.match_file(below(full, d) + ("/" if is_dir else "")):
            return True
    return bool(exclude) and _excluded(below(full, root), exclude)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def discover(
    paths: list[str], exclude: tuple[str, ...] = (), respect_gitignore: bool = True, dirs: list[str] | None = None
) -> list[Candidate]:
    """The Dockerfiles of ``paths``: a file as given, a directory walked. ``dirs`` (a list) receives
    the given paths that were directories, in order."""
    out: dict[str, Candidate] = {}
    given_stats: dict[str, os.stat_result | None] = {}  # (one stat per given path)
    for given in paths:
        if given == "-":
            continue
        st = given_stats[given] = _stat(given) if given not in given_stats else given_stats[given]
        is_dir = st is not None and stat.S_ISDIR(st.st_mode)
        if is_dir and dirs is not None:
            dirs.append(given)
        if not is_dir or is_dockerfile_name(os.path.basename(os.path.normpath(given))):
            # explicit files (or broken things) are always processed; errors surface when read
            out.setdefault(given, Candidate(given, given))
            continue
        if listing_failed(given):
            # a directory that cannot be listed: reported as an error of its own (the read says
            # why), never a run that scanned nothing and passed
            out.setdefault(given, Candidate(given, given))
            continue
        root = given
        specs: list[tuple[str, GitIgnoreSpec]] = []
        for dirpath, dirnames, filenames in walk(root):
            if respect_gitignore:
                spec = _gitignore_spec(dirpath)
                if spec is not None:
                    specs.append((dirpath, spec))
            active = [(d, s) for d, s in specs if dirpath == d or dirpath.startswith(d.rstrip(os.sep) + os.sep)]
            dirnames[:] = sorted(
                d for d in dirnames if d not in SKIP_DIRS and not _ignored(os.path.join(dirpath, d), True, active, root, exclude)
            )
            for fn in sorted(filenames):
                if not is_dockerfile_name(fn) or _ignored(os.path.join(dirpath, fn), False, active, root, exclude):
                    continue
                full = os.path.join(dirpath, fn)
                # (below the working directory, a relative path is its own relpath: no getcwd per file)
                display = full if os.path.isabs(given) else os.path.normpath(full) if not full.startswith("..") else os.path.relpath(full)
                display = full if display == full else display  # one string for both (memory: a bulk run keeps them all)
                out.setdefault(full, Candidate(full, display))
    # a symlink and its target (or two links to one file) are one file: process it once, so a
    # rewrite is planned and written once. Two paths with one real path are one inode, so only
    # files sharing their (device, inode) with another are resolved (realpath: a system call per
    # component); hard links keep their own paths (a rewrite replaces each one's file).
    inodes: dict[tuple[int, int], int] = {}
    files: dict[str, tuple[int, int]] = {}
    for c in out.values():
        st = given_stats[c.path] if c.path in given_stats else _stat(c.path)
        if st is not None and stat.S_ISREG(st.st_mode):
            files[c.path] = ino = (st.st_dev, st.st_ino)
            inodes[ino] = inodes.get(ino, 0) + 1
    seen: dict[str, Candidate] = {}
    for c in sorted(out.values(), key=lambda c: c.display):
        same = files.get(c.path)
        key = os.path.realpath(c.path) if same is not None and inodes[same] > 1 else c.path
        seen.setdefault(key, c)
    return sorted(seen.values(), key=lambda c: c.display)

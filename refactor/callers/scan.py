"""Finding the callers in a tree: the walk, the cheap byte tests before a file is parsed, and the
build-arg mentions no parsed build covers (see :mod:`refactor.callers` for the contract)."""

from __future__ import annotations

import os
import re
import stat

from refactor.codecache import regex
from refactor.discovery import _excluded as _excluded  # (the one --exclude matcher, for Dockerfiles and callers)
from refactor.source import read_fd as _read_fd
from refactor.walk import below as _below
from refactor.walk import irregular, walk

from .kinds import BY_NAME as _KINDS
from .kinds import kind_of
from .model import Invocation

SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", "vendor", "__pycache__", ".tox", ".venv", "venv", ".mypy_cache", ".pytest_cache"}
)
MAX_BYTES = 2 * 1024 * 1024
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


_SHEBANG = regex(rb"^#![^\n]*\b(?:sh|bash|dash|ash|ksh|zsh)\b")


def _gitignore(directory: str):
    from refactor.ignorespec import in_dir

    return in_dir(directory)


# a build arg named in a form discovery may not parse (a variable holding flags, a bash array, an
# argv list, `docker compose build --build-arg`, `bake --set t.args.NAME=`): the name is group 1
_MENTION = regex(
    r"""(?:--build-arg|build[-_]?args?|\.args\.)(?:["'\s=:,\[\({]|\\\n|(?<=[\s,\[\(])[fFrRbBuU]{1,2}(?=["']))*?(?![fFrRbBuU]{1,2}["'])([A-Za-z_][A-Za-z0-9_]*)(?=["'=\s,\]\)}:]|$)"""
)


_IDENT = regex(rb"[A-Za-z_][A-Za-z0-9_]*")
_needles: dict[str, re.Pattern[bytes]] = {}  # a kind's needles as one pattern (one search, not one per needle)


class _Wanted:
    """The build-arg names a file must mention to be read further. A few names: a substring test
    each. Many (a Dockerfile with 10,000 secret ARGs): the file's identifiers are collected once
    and looked up, since 10,000 substring searches per file made discovery quadratic (8 s for one
    Dockerfile beside 3,000 scripts). The two agree: a name inside a longer identifier is not that
    name, and nothing downstream (the finders, ``mentions_in``) takes it for one."""

    FEW = 16

    def __init__(self, names: frozenset[str]) -> None:
        encoded = [n.encode() for n in names]
        self.few = tuple(encoded) if len(encoded) <= self.FEW else None
        self.words = frozenset(n for n in encoded if _IDENT.fullmatch(n))
        self.odd = tuple(n for n in encoded if n not in self.words)  # (not an identifier: a substring test)

    def in_bytes(self, data: bytes) -> bool:
        if self.few is not None:
            return any(n in data for n in self.few)
        return any(n in data for n in self.odd) or not self.words.isdisjoint(_IDENT.findall(data))


def _unchanged(full: str, row: list) -> bool:
    """Whether the file has the stat an earlier run recorded in its ``known`` row (``[kind, size,
    mtime_ns, ctime_ns, inode]``; the kind is the path's under the same code, which keys the
    cache). Such a file is skipped before its kind is asked: most of a warm run's files."""
    try:
        st = os.stat(full)
    except OSError:
        return False  # (the full path decides: a file gone or broken is skipped there)
    return stat.S_ISREG(st.st_mode) and row[1:] == _stat_row(st)


def _stat_row(st: os.stat_result) -> list[int]:
    """The stat a ``known`` row keeps after the kind: what tells that a file is unchanged."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _unopened(full: str, exc: OSError) -> str:
    """Why a possible caller that could not be opened is unreadable: over the size limit when its
    stat says so (what a stat before the open reported), else the open's error."""
    try:
        if os.stat(full).st_size > MAX_BYTES:
            return f"it is over {MAX_BYTES // (1024 * 1024)} MiB"
    except OSError:
        pass
    return f"it cannot be read ({exc.strerror or type(exc).__name__})"


def mentions_in(path: str, text: str) -> list[tuple[str, int, str]]:
    """(path, offset, NAME) of every build-arg-looking mention of a name, outside comment lines."""
    out = []
    for m in _MENTION.finditer(text):
        ls = text.rfind("\n", 0, m.start()) + 1
        if text[ls : m.start()].lstrip().startswith(("#", "//")):
            continue
        out.append((path, m.start(1), m.group(1)))
    return out


def discover(
    root: str,
    *,
    exclude: tuple[str, ...] = (),
    mentions: list | None = None,
    unreadable: list | None = None,
    names: frozenset[str] | None = None,
    known: dict[str, list] | None = None,
) -> list[Invocation]:
    """Every build invocation that passes build args, under ``root`` (sorted by path and offset).

    ``.gitignore`` files are honoured, ``.git``/``node_modules``/``vendor`` and virtualenvs are
    skipped, files over 2 MiB, binary or non-UTF-8 files are skipped, and a file that fails to
    parse is skipped: discovery never raises for bad input. ``mentions`` (a list) receives every
    build-arg-looking mention of a name in the files read (:func:`mentions_in`), parsed or not.
    ``names``: only files whose bytes mention one of them are read further (report mode: the
    callers that matter are those of the migrated names; a file that mentions none cannot pass them).
    ``known`` (the result cache's, :meth:`refactor.cache.ResultCache.callers_lookup`): files an
    earlier run found to hold none of their kind's bytes (or no shell shebang), by path below
    ``root``, with the stat they had (``[kind, size, mtime_ns, ctime_ns, inode]``); such a file
    with the same stat is not read again. Replaced in place by this run's verdicts.
    """
    from refactor.discovery import is_dockerfile_name

    root = os.path.realpath(root)
    out: list[Invocation] = []
    wanted = None if names is None else _Wanted(names)
    specs: list[tuple[str, object]] = []
    before = dict(known) if known is not None else {}
    now: dict[str, list] = {}
    prefix = root.rstrip(os.sep) + os.sep
    for dirpath, dirnames, filenames in walk(root):
        spec = _gitignore(dirpath) if ".gitignore" in filenames else None  # (a listed name: no open per directory)
        if spec is not None:
            specs.append((dirpath, spec))
        active = [(d, s) for d, s in specs if dirpath == d or dirpath.startswith(d.rstrip(os.sep) + os.sep)]
        reldir = _below(dirpath, root) + "/" if dirpath != root else ""
        odd = irregular(dirpath)

        def ignored(name: str, is_dir: bool, dirpath: str = dirpath, active: list = active) -> bool:
            full = os.path.join(dirpath, name)
            for d, s in active:
                if s.match_file(_below(full, d) + ("/" if is_dir else "")):
                    return True
            return _excluded(_below(full, root), exclude)

        screened = bool(active or exclude)  # (else nothing is ignored: no call per file)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not (screened and ignored(d, True)))
        for fn in sorted(filenames):
            rel = reldir + fn
            full = dirpath + os.sep + fn if dirpath != root else prefix + fn
            row = before.get(rel)
            if type(row) is list and _unchanged(full, row):
                now[rel] = row  # nothing to find in it, as an earlier run found (its kind is in the row)
                continue
            kind = kind_of(rel)
            if kind is None and ("." in fn or is_dockerfile_name(fn)):
                continue  # (an extension-less Dockerfile is never a shell script: not even opened)
            if screened and ignored(fn, False):
                continue
            if fn in odd:  # (not a regular file when listed: a symlink is followed, anything else skipped)
                try:
                    if not stat.S_ISREG(os.stat(full).st_mode):  # (a broken symlink raises)
                        continue
                except OSError:
                    continue
            # opened straight away, then fstat-ed: one path lookup a file, not two (most of the cost
            # on some file systems); O_NONBLOCK, so a FIFO swapped in meanwhile cannot hang the run
            try:
                fd = os.open(full, _OPEN_FLAGS)
            except FileNotFoundError:
                continue  # (gone since the listing)
            except OSError as exc:
                if kind is not None and unreadable is not None:
                    unreadable.append((full, _unopened(full, exc)))
                continue
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    continue
                if st.st_size > MAX_BYTES:
                    if kind is not None and unreadable is not None:
                        unreadable.append((full, f"it is over {MAX_BYTES // (1024 * 1024)} MiB"))
                    continue
                stamp = [kind or "-", *_stat_row(st)]
                head = b""
                if kind is None:  # an extension-less file: a shell script only with a shell shebang
                    head = _read_fd(fd, 256, 256)
                    if not _SHEBANG.match(head):
                        now[rel] = stamp
                        continue
                    kind = "shell"
                data = _read_fd(fd, st.st_size + 1, MAX_BYTES + 1, head)
            except OSError as exc:
                if kind is not None and unreadable is not None:
                    unreadable.append((full, f"it cannot be read ({exc.strerror or type(exc).__name__})"))
                continue
            finally:
                os.close(fd)
            needles = _needles.get(kind) or _needles.setdefault(kind, re.compile(b"|".join(map(re.escape, _KINDS[kind].needles))))
            if not needles.search(data) or b"\x00" in data:
                if len(data) == st.st_size:  # (read whole, as stat-ed)
                    now[rel] = stamp
                continue
            if wanted is not None and not wanted.in_bytes(data):
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                # not UTF-8 (one Latin-1 byte in a comment): not parsed, but the names it passes as
                # build args still count, so the fixes that migrate them are blocked, not silent
                if mentions is not None:
                    mentions.extend(mentions_in(full, data.decode("utf-8", "replace")))
                if unreadable is not None:
                    unreadable.append((full, "it is not UTF-8, so dfix cannot migrate it"))
                continue
            if text.startswith("\ufeff"):
                text = text[1:]
            if mentions is not None:
                mentions.extend(mentions_in(full, text))
            try:
                out.extend(f.inv for f in _KINDS[kind].find()(full, text, root))  # imported on first use
            except Exception:  # one bad caller never stops discovery
                if os.environ.get("DFIX_DEBUG"):
                    raise
                continue
    if known is not None:
        known.clear()
        known.update(now)
    return out

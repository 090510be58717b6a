"""Reads of the build context: the only file I/O that analysing a Dockerfile does.

Analysis reads small tool config files (``.npmrc`` and friends: tools expand ``${VAR}`` in them),
lists the directories a COPY names, walks a copied directory for credential files, and reads
``.dockerignore``. Every such read goes through this module, for two reasons:

- a run reads each file once however many secrets and tools ask (the caches below, keyed by
  absolute path; ``forget()`` drops them, and every run starts with it, so a long-lived process
  never sees a stale context);
- the result cache (``refactor.cache``) must know what an analysis depended on besides the
  Dockerfile. Inside ``recording()`` every read, cached or not, is noted as a ``Dep``;
  ``fingerprint(dep)`` gives what that read would see now, so a cached result is used only while
  every dependency still looks the same.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

# Tool config files read from the top of the build context.
CONFIG_FILES = (
    ".npmrc", ".yarnrc", ".yarnrc.yml", "pip.conf", "pip.ini", ".netrc", "settings.xml", "auth.json",
    "nuget.config", "NuGet.Config", ".pypirc", "poetry.toml", "uv.toml", ".condarc", "gradle.properties",
)  # fmt: skip
CONFIG_LIMIT = 256 * 1024  # a tool config file larger than this is not read
TEXT_LIMIT = 1024 * 1024  # a copied file larger than this cannot be read ("too large")

# Directories never descended into when a copied directory is searched for credential files.
WALK_SKIP = frozenset({".git", "node_modules", "vendor", "__pycache__", ".venv"})
WALK_DEPTH = 6


class Dep(NamedTuple):
    """One read of the build context: ``kind`` says what was asked of ``path``."""

    kind: Literal["list", "text", "stat", "walk"]
    path: str
    limit: int = 0  # "text": the size limit of the read


_recorder: ContextVar[set[Dep] | None] = ContextVar("dfix_context_reads", default=None)


@contextlib.contextmanager
def recording() -> Iterator[set[Dep]]:
    """Collect every read of the build context made inside the block."""
    deps: set[Dep] = set()
    token = _recorder.set(deps)
    try:
        yield deps
    finally:
        _recorder.reset(token)


def _note(dep: Dep) -> None:
    deps = _recorder.get()
    if deps is not None:
        deps.add(dep)


def forget() -> None:
    """Drop every cached read (the context may have changed since)."""
    for f in (_listing, _text, _is_dir, _walk, _ignore_spec):
        f.cache_clear()


def inside(ctx: str, src: str) -> str:
    """A COPY source resolved inside the build context, as BuildKit does (``..`` cannot escape)."""
    return os.path.join(ctx, posixpath.normpath("/" + src).lstrip("/"))


# --------------------------------------------------------------------------------------------
# The reads


def listing(directory: str) -> frozenset[str] | None:
    """The entry names of ``directory`` (None when it cannot be listed)."""
    directory = os.path.abspath(directory)
    _note(Dep("list", directory))
    return _listing(directory)


@lru_cache(maxsize=1024)
def _listing(directory: str) -> frozenset[str] | None:
    try:
        return frozenset(os.listdir(directory))
    except OSError:
        return None


def is_dir(path: str) -> bool:
    path = os.path.abspath(path)
    _note(Dep("stat", path))
    return _is_dir(path)


@lru_cache(maxsize=4096)
def _is_dir(path: str) -> bool:
    return os.path.isdir(path)


def text(path: str, limit: int = TEXT_LIMIT) -> tuple[str | None, str | None]:
    """``(text, None)`` of a file, or ``(None, the words saying why it cannot be read)``."""
    path = os.path.abspath(path)
    _note(Dep("text", path, limit))
    return _text(path, limit)


@lru_cache(maxsize=1024)
def _text(path: str, limit: int) -> tuple[str | None, str | None]:
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return None, ", which dfix cannot read"  # a directory, or a FIFO that would block
        if st.st_size > limit:
            return None, " (too large to read)"
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(), None
    except FileNotFoundError:
        return None, ", which is not in the context now (generated before the build?)"
    except OSError:
        return None, ", which dfix cannot read"


def config_files(context_dir: str | None) -> dict[str, str]:
    """The tool config files at the top of the build context, by name."""
    out: dict[str, str] = {}
    if not context_dir:
        return out
    present = listing(context_dir) or frozenset()
    for name in CONFIG_FILES:
        if name not in present:
            continue
        p = os.path.join(context_dir, name)
        if not is_dir(p):
            content, _why = text(p, CONFIG_LIMIT - 1)
            if content is not None:
                out[name] = content
    return out


def walk(root: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(directory, file names)`` under ``root``, skipping ``WALK_SKIP`` and below ``WALK_DEPTH``
    levels; links to directories are not followed."""
    root = os.path.abspath(root)
    _note(Dep("walk", root))
    return _walk(root)


@lru_cache(maxsize=256)
def _walk(root: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    out = []
    base_depth = root.rstrip(os.sep).count(os.sep)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in WALK_SKIP)
        if dirpath.count(os.sep) - base_depth >= WALK_DEPTH:
            dirnames[:] = []  # prune this branch only
        out.append((dirpath, tuple(sorted(filenames))))
    return tuple(out)


def dockerignored(context: str, rel: str) -> bool:
    """Is ``rel`` (relative to the context) excluded by the context's ``.dockerignore``?"""
    context = os.path.abspath(context)
    _note(Dep("text", os.path.join(context, ".dockerignore"), TEXT_LIMIT))
    spec = _ignore_spec(context)
    if spec is None:
        return False
    while rel.startswith("./"):
        rel = rel[2:]
    return spec.match_file(rel)


@lru_cache(maxsize=256)
def _ignore_spec(context: str) -> GitIgnoreSpec | None:
    from refactor.ignorespec import in_dir

    return in_dir(context, ".dockerignore")


# config files whose ${VAR} references tools expand (what the check reads from the context)
_CONFIG_NAMES = frozenset(
    {
        ".npmrc",
        ".yarnrc",
        ".yarnrc.yml",
        "pip.conf",
        "pip.ini",
        ".netrc",
        "settings.xml",
        "auth.json",
        "nuget.config",
        "NuGet.Config",
        ".pypirc",
        "poetry.toml",
        "uv.toml",
        ".condarc",
        "gradle.properties",
        "config.toml",
        "credentials.toml",
        ".gemrc",
        "pyproject.toml",
        "requirements.txt",
    }
)
_WALK_LIMIT = 5000  # directory entries; beyond that the context counts as unknown


def context_configs(context_dir: str | None) -> dict[str, str | None] | None:
    """Config files in the build context (relative path -> text, None when unreadable), or None
    when the context is unknown or too large to list: the check then assumes any ``${VAR}``.

    What the rewrite check (``refactor.fixes.gate``) reads, on its own: a fresh walk, uncached and
    unrecorded, so the check never sees the planner's reads. The result cache fingerprints it."""
    if not context_dir or not os.path.isdir(context_dir):
        return None
    out: dict[str, str | None] = {}
    seen = 0
    for root, dirs, files in os.walk(context_dir):
        dirs[:] = [d for d in dirs if d not in (".git", "node_modules", ".venv", "venv", "vendor", "__pycache__")]
        seen += len(dirs) + len(files)
        if seen > _WALK_LIMIT:
            return None
        for f in files:
            if f not in _CONFIG_NAMES:
                continue
            p = os.path.join(root, f)
            rel = os.path.relpath(p, context_dir).replace(os.sep, "/")
            try:
                out[rel] = _config_text(p, 1024 * 1024)
            except OSError:
                out[rel] = None
    return out


def _config_text(path: str, limit: int) -> str | None:
    """The text of the regular file at ``path`` as ``open(path, encoding="utf-8",
    errors="replace").read()`` gives it, None when it is larger than ``limit`` or not a regular
    file. Stat-ed first and opened non-blocking, then fstat-ed: a FIFO named like a config file
    (an ``.npmrc``) is never waited on (a blocking open of one hung the whole run)."""
    from refactor.source import read_regular

    data = read_regular(path, limit)
    if data is None:
        return None
    return data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")  # (text mode's newlines)


# --------------------------------------------------------------------------------------------
# What a read would see now (for the result cache)


def fingerprint(dep: Dep) -> str:
    """A short text that changes whenever what ``dep`` read would change. Holds hashes, names
    and sizes, never file content."""
    try:
        if dep.kind == "list":
            return _digest("\0".join(sorted(os.listdir(dep.path))))
        if dep.kind == "stat":
            return "dir" if os.path.isdir(dep.path) else "other"
        if dep.kind == "text":
            st = os.stat(dep.path)
            if not stat.S_ISREG(st.st_mode):
                return f"mode:{stat.S_IFMT(st.st_mode)}"
            if st.st_size > dep.limit:
                return "large"
            with open(dep.path, "rb") as fh:
                return _digest(fh.read())
        if dep.kind == "walk":
            return _digest(repr(_walk.__wrapped__(dep.path)))
    except FileNotFoundError:
        return "missing"
    except OSError as e:
        return f"error:{e.errno}"
    raise ValueError(f"unknown dependency kind {dep.kind!r}")


def _digest(data: str | bytes) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    from refactor.cache_files import digest_hex  # (only the result cache fingerprints)

    return digest_hex(data)[:32]

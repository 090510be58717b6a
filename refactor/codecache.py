"""What dfix compiles as it starts, kept from one process to the next as Python keeps ``.pyc`` files.

A cold single-file run compiles about 80 generated methods (:mod:`refactor.records`: ``__init__``
and, when first called, ``__repr__``, ``__eq__``, ``__hash__``) and about 100 module-level regular
expressions: 0.2 ms each, about a fifth of the run. Loading them back takes a few µs each.

- :func:`code` is ``compile(source, "<string>", "exec")``, kept by its source text;
- :func:`regex` is ``re.compile(pattern, flags)``, kept as the program ``re`` compiles the pattern
  to (what ``re._compiler.compile`` hands to ``_sre.compile``), by the pattern and its flags. A
  program is kept only when the pattern it makes equals (``==``: same pattern, flags and program)
  the one ``re.compile`` makes; a stored one that ``_sre`` refuses is compiled again.

The file sits beside this module's ``.pyc`` (``importlib.util.cache_from_source``, so
``sys.pycache_prefix`` is honoured) and is tied to the exact Python that wrote it (its bytecode
magic number and ``sys.version``), with a CRC of the rest: a file from another Python, or a damaged
one, is ignored and rewritten. Keys are the full source texts and patterns, so a changed class or
pattern never finds an old entry. The file is written at exit, only when something was compiled,
never when ``sys.dont_write_bytecode`` is set, through a temporary file and a rename (concurrent
processes each write a whole file, the last one's stays); a directory that cannot be written is left
alone, as Python leaves its ``.pyc`` files. It holds code and patterns from dfix's own source, never
input or output of a run.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]  # (re.compile hands the program it compiles to _sre.compile)
import atexit
import marshal
import os
import re
import sys
import zlib
from types import CodeType
from typing import Any, AnyStr

LIMIT = 4000  # entries; beyond it the file keeps only what the writing process used


class _Store:
    def __init__(self, path: str | None = None) -> None:
        self.where = path  # (None: beside this module's .pyc)
        self.entries: dict[Any, bytes] | None = None  # key -> marshalled value, unmarshalled on use
        self.used: dict[Any, bytes] = {}
        self.changed = False

    def path(self) -> str | None:
        if self.where is not None:
            return self.where
        try:
            from importlib.util import cache_from_source

            return cache_from_source(__file__).removesuffix(".pyc") + ".compiled"
        except (NotImplementedError, ValueError):
            return None

    def _load(self) -> dict[Any, bytes]:
        self.entries = {}
        path = self.path()
        if path is None:
            return self.entries
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError:
            return self.entries
        head = _header()
        body = raw[len(head) + 4 :]
        if not raw.startswith(head) or raw[len(head) : len(head) + 4] != zlib.crc32(body).to_bytes(4, "little"):
            return self.entries
        try:
            loaded = marshal.loads(body)
        except (EOFError, ValueError, TypeError):
            return self.entries
        if isinstance(loaded, dict):
            self.entries = {k: v for k, v in loaded.items() if isinstance(v, bytes)}
        return self.entries

    def get(self, key: Any) -> Any:
        entries = self.entries if self.entries is not None else self._load()
        raw = entries.get(key)
        if raw is None:
            return None
        try:
            value = marshal.loads(raw)
        except (EOFError, ValueError, TypeError):
            return None
        self.used[key] = raw
        return value

    def put(self, key: Any, value: Any) -> None:
        entries = self.entries if self.entries is not None else self._load()
        entries[key] = self.used[key] = marshal.dumps(value)
        if not self.changed:
            self.changed = True
            atexit.register(self.save)

    def save(self) -> None:
        path = self.path()
        if path is None or sys.dont_write_bytecode or self.entries is None:
            return
        keep = self.entries if len(self.entries) <= LIMIT else self.used
        body = marshal.dumps(keep)
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(_header() + zlib.crc32(body).to_bytes(4, "little") + body)
            os.replace(tmp, path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _header() -> bytes:
    from importlib.util import MAGIC_NUMBER

    return b"dfix-compiled 1\n" + MAGIC_NUMBER + sys.version.encode("utf-8", "replace") + b"\n"


_STORE = _Store()


def code(source: str) -> CodeType:
    """``compile(source, "<string>", "exec")``, from the store when an earlier process compiled it."""
    key = ("code", source)
    value = _STORE.get(key)
    if isinstance(value, CodeType):
        return value
    made = compile(source, "<string>", "exec")
    _STORE.put(key, made)
    return made


def regex(pattern: AnyStr, flags: int | re.RegexFlag = 0) -> re.Pattern[AnyStr]:
    """``re.compile(pattern, flags)``, from the program an earlier process compiled it to.

    Only for patterns written in dfix's source (module-level constants): the store is a file, and a
    pattern built from a run's input could hold a secret value. ``tests/test_codecache.py`` holds
    every call at module level."""
    key = ("re", pattern, int(flags))
    value = _STORE.get(key)
    if value is not None:
        try:
            return _sre.compile(pattern, *value)
        except Exception:  # noqa: BLE001 - a program _sre refuses is compiled again below
            pass
    fresh = re.compile(pattern, flags)
    program = _program(pattern, int(flags))
    if program is not None:
        try:
            if _sre.compile(pattern, *program) == fresh:
                _STORE.put(key, program)
        except Exception:  # noqa: BLE001 - not kept: this Python's re works otherwise
            pass
    return fresh


def _program(pattern: str | bytes, flags: int) -> tuple[Any, ...] | None:
    """The arguments ``re._compiler.compile`` passes to ``_sre.compile`` after the pattern, as
    plain values (marshal keeps no int subclass); None when this Python's ``re`` is not built so."""
    try:
        from re import _compiler, _parser  # type: ignore[attr-defined]

        p = _parser.parse(pattern, flags)
        program = [int(op) for op in _compiler._code(p, flags)]
        groupindex = dict(p.state.groupdict)
        indexgroup = [None] * p.state.groups
        for name, index in groupindex.items():
            indexgroup[index] = name
        return (flags | p.state.flags, program, p.state.groups - 1, groupindex, tuple(indexgroup))
    except Exception:  # noqa: BLE001 - another Python's internals: the pattern is simply not kept
        return None

"""Regular expressions compiled on first use.

dfix's detectors hold a few hundred module-level regexes; compiling them all at import was about a
sixth of a one-file run, and most are never needed for a given Dockerfile (a pattern for
``mysql -p`` waits for a ``mysql`` command). ``lazy(pattern, flags)`` stands for
``re.compile(pattern, flags)``: the first use compiles it and stores the bound methods on the
object, so later calls cost what a compiled pattern's do.

It is a stand-in, not a subclass (``re.Pattern`` cannot be subclassed): pass it to nothing that
type-checks for ``re.Pattern`` (``re.sub(pattern, …)``, ``isinstance``); call its methods.
"""

from __future__ import annotations

import re
from typing import Any, cast

from refactor.codecache import regex

_CREATED: list[LazyPattern] = []  # every lazy pattern, for compile_all()
_METHODS = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split")


class LazyPattern:
    __slots__ = ("_args", "_compiled", *_METHODS)
    _compiled: re.Pattern[str]

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._args = (pattern, flags)
        _CREATED.append(self)

    def _compile(self) -> re.Pattern[str]:
        try:
            return self._compiled
        except AttributeError:
            pass
        rx = regex(*self._args)  # (kept from one process to the next: refactor.codecache)
        self._compiled = rx
        for name in _METHODS:
            setattr(self, name, getattr(rx, name))
        return rx

    def __getattr__(self, name: str) -> Any:  # only reached for what the slots do not hold yet
        if name.startswith("__") or name in ("_args", "_compiled"):
            raise AttributeError(name)
        return getattr(self._compile(), name)

    def __repr__(self) -> str:
        return f"lazy({self._args[0]!r}, {self._args[1]!r})"


def lazy(pattern: str, flags: int | re.RegexFlag = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, compiled when first used."""
    return cast("re.Pattern[str]", LazyPattern(pattern, int(flags)))


def compile_all() -> None:
    """Compile every lazy pattern made so far: before forking workers, so that each worker does
    not compile its own copy of the same hundred patterns (a forked worker inherits them)."""
    for p in _CREATED:
        p._compile()

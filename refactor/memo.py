"""Memos sized for one file.

A file's analysis asks the same question about a RUN several times (once per secret, once per
pass), and a generated Dockerfile can hold tens of thousands of distinct RUNs: an ``lru_cache`` of a
few hundred entries then misses on every question (9,500 RUNs asked twice each were parsed four
times). :func:`per_file` keeps every answer until the file is done (:func:`end_file`, called by the
engine after each file), so memory is bounded by the largest file, not by the number of files, and
a cap clears the table when something runs outside the engine (a library caller) for too long.
Callers must not mutate what a memo returns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_CLEARS: list[Callable[[], None]] = []


class MemoInfo(NamedTuple):
    maxsize: int
    currsize: int


def per_file(cap: int = 50_000, size: Callable[..., int] | None = None) -> Callable[[F], F]:
    """Memoize a function of hashable positional arguments for the current file. The table is
    cleared when what it holds would pass ``cap``: entries, or the sum of ``size(*args)`` when the
    results cost memory in proportion to an argument (a tree per text: ``size=len``)."""

    def deco(fn: F) -> F:
        table: dict = {}
        held = [0]

        def clear() -> None:
            table.clear()
            held[0] = 0

        _CLEARS.append(clear)

        @functools.wraps(fn)
        def wrapper(*args: Any) -> Any:
            try:
                return table[args]
            except KeyError:
                pass
            n = 1 if size is None else size(*args)
            if held[0] + n > cap:
                clear()
            got = table[args] = fn(*args)
            held[0] += n
            return got

        wrapper.cache_clear = clear  # type: ignore[attr-defined]
        wrapper.cache_info = lambda: MemoInfo(cap, len(table))  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return deco


def end_file() -> None:
    """Forget every per-file memo (the engine calls it when a file is done)."""
    for clear in _CLEARS:
        clear()

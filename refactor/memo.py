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

_TABLES: list[dict] = []
_CLEARS: list[Callable[[], None]] = []


class MemoInfo(NamedTuple):
    maxsize: int
    currsize: int


def per_file(cap: int = 50_000) -> Callable[[F], F]:
    """Memoize a function of hashable positional arguments for the current file."""

    def deco(fn: F) -> F:
        table: dict = {}
        _TABLES.append(table)

        @functools.wraps(fn)
        def wrapper(*args: Any) -> Any:
            try:
                return table[args]
            except KeyError:
                pass
            if len(table) >= cap:
                table.clear()
            got = table[args] = fn(*args)
            return got

        wrapper.cache_clear = table.clear  # type: ignore[attr-defined]
        wrapper.cache_info = lambda: MemoInfo(cap, len(table))  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return deco


def per_file_sized(budget: int, size: Callable[[Any], int]) -> Callable[[F], F]:
    """Like :func:`per_file` for a function of one argument whose results cost memory in proportion
    to ``size(argument)``: the table is cleared when the sizes it holds would pass ``budget``."""

    def deco(fn: F) -> F:
        table: dict = {}
        held = [0]

        def clear() -> None:
            table.clear()
            held[0] = 0

        _CLEARS.append(clear)

        @functools.wraps(fn)
        def wrapper(arg: Any) -> Any:
            try:
                return table[arg]
            except KeyError:
                pass
            n = size(arg)
            if held[0] + n > budget:
                clear()
            got = table[arg] = fn(arg)
            held[0] += n
            return got

        wrapper.cache_clear = clear  # type: ignore[attr-defined]
        wrapper.cache_info = lambda: MemoInfo(budget, len(table))  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return deco


def end_file() -> None:
    """Forget every per-file memo (the engine calls it when a file is done)."""
    for table in _TABLES:
        table.clear()
    for clear in _CLEARS:
        clear()

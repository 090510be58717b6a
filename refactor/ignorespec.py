"""Ignore files (``.gitignore``, ``.dockerignore``) as :class:`pathspec.GitIgnoreSpec`.

One helper for the three places that read one: Dockerfile discovery and caller discovery (a
``.gitignore`` per walked directory) and the credential-COPY check (a build context's
``.dockerignore``). The compiled spec is cached by the file's *content*, so the same ``.gitignore``
read by both discoveries of one run is compiled once, and an edited file is never served stale.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec


def load(path: str, *, dockerignore: bool = False) -> GitIgnoreSpec | None:
    """The spec of the ignore file at ``path``, or None when it cannot be read (missing, a
    directory, no permission). Undecodable bytes are replaced, never an error.

    ``dockerignore``: each line is stripped and blank and ``#`` lines are dropped first (the
    ``.dockerignore`` reading), else the lines go to pathspec as they are (gitignore rules: trailing
    spaces, ``\\#`` escapes and ``!`` negation are pathspec's)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    return spec_of(text, dockerignore=dockerignore)


def in_dir(directory: str, name: str = ".gitignore") -> GitIgnoreSpec | None:
    """:func:`load` of ``directory/name`` (a ``.dockerignore`` when ``name`` says so)."""
    return load(os.path.join(directory, name), dockerignore=name == ".dockerignore")


@lru_cache(maxsize=512)
def spec_of(text: str, *, dockerignore: bool = False) -> GitIgnoreSpec:
    """The compiled spec of an ignore file's text (cached by content)."""
    import pathspec

    lines = text.splitlines()
    if dockerignore:
        lines = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    return pathspec.GitIgnoreSpec.from_lines(lines)

"""The user's say on which names are secrets (``[tool.dfix] secret-names`` / ``allow-names``).

Its own module so that settings and the CLI (every run, the warm cached one included) do not import
the secret classifier to hold it.
"""

from __future__ import annotations

from refactor.records import dataclass


@dataclass(frozen=True)
class Policy:
    secret_names: tuple[str, ...] = ()  # fnmatch globs, case-insensitive
    allow_names: tuple[str, ...] = ()

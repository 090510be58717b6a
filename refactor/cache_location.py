"""Where the result cache lives (:mod:`refactor.cache`): :func:`default_dir` (the user cache
directory) and :func:`resolve_dir` (``--no-cache``, ``--cache-dir``, ``DFIX_NO_CACHE``,
``DFIX_CACHE_DIR``). It imports ``os`` only: the command line resolves the directory on every
run, ``--no-cache`` runs too, and must not pay for importing the rest of the cache.
"""

from __future__ import annotations

import os

_ENV_OFF = ("", "0", "false", "no", "off")


def default_dir() -> str:
    """The user cache directory for dfix (no dependency on platformdirs)."""
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
        return os.path.join(base, "dfix", "cache")
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dfix")


def resolve_dir(cache_dir: str | None = None, no_cache: bool = False) -> str | None:
    """The cache directory of a run, or None when the cache is off: ``--no-cache``, then
    ``--cache-dir``, then ``DFIX_NO_CACHE``, then ``DFIX_CACHE_DIR``, then :func:`default_dir`."""
    if no_cache:
        return None
    if cache_dir:
        return os.path.abspath(cache_dir)
    if os.environ.get("DFIX_NO_CACHE", "").strip().lower() not in _ENV_OFF:
        return None
    env = os.environ.get("DFIX_CACHE_DIR")
    if env:
        return os.path.abspath(env)
    return default_dir()

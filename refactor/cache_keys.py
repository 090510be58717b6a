"""The key parts of the result cache (:mod:`refactor.cache`): the settings that shape a per-file
result (:func:`settings_key`, ``NOT_IN_KEY``), the code version (:func:`code_version`: dfix's
version, the interpreter, and the stat of the package's and its dependencies' files), the digests,
and the fingerprints of what one analysis read (``_fingerprint``, memoised per run in
``_fp_memo``; the rewrite check's context configs through ``_gate_fingerprint``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from refactor.cache_files import FORMAT, digest_hex, new_digest

if TYPE_CHECKING:
    from refactor.settings import Settings

# Settings fields that do not shape the per-file result, and why (every other field is in the key;
# tests/test_cache.py checks that each field is in one of the two).
NOT_IN_KEY = {
    "callers": "caller linking runs after the per-file step (refactor.run, refactor.link)",
    "failure_threshold": "the exit status only (refactor.report)",
    "debug": "whether an internal error raises; a result with an internal error is never stored",
    "split_events": "the DF010 events hold values: never stored; a hit in a scan run has none",
    "cache_dir": "where the cache is",
}

# The modules of the dependencies whose behaviour results depend on (their files' stat is part of
# the code version, so an upgrade invalidates the cache).
_DEPENDENCIES = (
    "tree_sitter", "tree_sitter_bash", "tree_sitter_hcl", "pathspec", "jinja2", "markupsafe", "libcst",
    "ruamel.yaml", "click", "dockerfile_parse",
)  # fmt: skip


def _canon(v: Any) -> Any:
    """A value with a deterministic repr (sets and dicts sorted); TypeError for a type it does not
    know, so that a new kind of setting cannot be fingerprinted by accident."""
    if v is None or isinstance(v, (str, bool, int, float, bytes)):
        return v
    if isinstance(v, Enum):
        return (type(v).__qualname__, v.value)
    if is_dataclass(v) and not isinstance(v, type):
        return (type(v).__qualname__, tuple((f.name, _canon(getattr(v, f.name))) for f in fields(v)))
    if isinstance(v, dict):
        return ("dict", tuple(sorted((repr(_canon(k)), _canon(x)) for k, x in v.items())))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, tuple(_canon(x) for x in v))
    if isinstance(v, (set, frozenset)):
        return ("set", tuple(sorted(repr(_canon(x)) for x in v)))
    raise TypeError(f"no canonical form for {type(v).__name__}")


def settings_key(settings: Settings) -> str:
    """A digest of every Settings field that shapes a per-file result (all but ``NOT_IN_KEY``)."""
    parts = tuple((f.name, _canon(getattr(settings, f.name))) for f in fields(settings) if f.name not in NOT_IN_KEY)
    return digest_hex(repr(parts).encode("utf-8", "surrogateescape"))


def code_version() -> str:
    """dfix's version, the interpreter, and (path, size, mtime_ns) of the code's files."""
    import importlib.util

    import refactor

    h = new_digest()
    h.update(f"{refactor.__version__}\0{sys.version}\0{sys.implementation.cache_tag}\0{FORMAT}\n".encode())
    roots = [os.path.dirname(os.path.abspath(refactor.__file__))]
    try:
        spec = importlib.util.find_spec("refactor.templates")
        roots += list(spec.submodule_search_locations or []) if spec else []
    except (ImportError, ValueError):
        pass
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for fn in sorted(filenames):
                if fn.endswith((".pyc", ".pyo")):
                    continue
                p = os.path.join(dirpath, fn)
                h.update(_stat_line(p).encode("utf-8", "surrogateescape"))
    for mod in _DEPENDENCIES:
        try:
            spec = importlib.util.find_spec(mod)
        except (ImportError, ValueError):
            spec = None
        origin = getattr(spec, "origin", None) if spec else None
        locs = list(getattr(spec, "submodule_search_locations", None) or []) if spec else []
        h.update(f"{mod}\0".encode())
        for p in ([origin] if origin and os.path.isabs(origin) else []) + locs:
            h.update(_stat_line(p).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _stat_line(p: str) -> str:
    try:
        st = os.stat(p)
        return f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n"
    except OSError:
        return f"{p}\0-\n"


def _gate_fingerprint(context_dir: str) -> str:
    from refactor import buildcontext

    got = buildcontext.context_configs(context_dir)
    if got is None:
        return "none"
    return _digest(repr(sorted(got.items(), key=lambda kv: kv[0])))


def _sha(text: str) -> str:
    return digest_hex(text.encode("utf-8", "surrogateescape"))


def _digest(data: str | bytes) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return digest_hex(data)[:32]


# --------------------------------------------------------------------------------------------
# Dependencies of one analysis (computed where the file was processed: a worker or this process)

_fp_memo: dict[tuple, str] = {}  # per run (begin_run clears it): a dependency's fingerprint


def _fingerprint(kind: str, path: str, limit: int) -> str:
    k = (kind, path, limit)
    fp = _fp_memo.get(k)
    if fp is None:
        if kind == "configs":
            fp = _gate_fingerprint(path)
        else:
            from refactor import buildcontext

            fp = buildcontext.fingerprint(buildcontext.Dep(kind, path, limit))  # type: ignore[arg-type]
        _fp_memo[k] = fp
    return fp

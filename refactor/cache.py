"""The result cache (issue 19): a Dockerfile's result is reused while nothing it was computed from
has changed, as ruff does.

**Key.** An entry's key is the sha256 of:

- the file's bytes, its path as given, its display path, its absolute path and the real path of
  its directory (the build context, which the credential-COPY check resolves through links);
- the settings that shape a per-file result (:func:`settings_key`; ``NOT_IN_KEY`` lists and
  justifies the fields left out);
- the code (:func:`code_version`): dfix's version, the Python version, and the (path, size,
  mtime_ns) of every file of the ``refactor`` package and its templates and of the modules of
  the dependencies, computed once per run. An editable install under development never serves
  a result of older code.

**Dependencies.** Everything else the analysis reads goes through ``refactor.buildcontext``, which
records each read as a ``Dep`` while the file is processed (``recording()``). The entry lists them
with ``buildcontext.fingerprint`` of each (hashes and names, never content), plus one of ours: the
config files the rewrite check reads from the whole context (``buildcontext.context_configs``,
a fresh walk of its own), for a result with a fix. A hit is used
only while every fingerprint is unchanged.

**No secret in clear.** An entry never holds file text: not the original, not the rewrite, not the
diff, not the masks (the secret values themselves), not the DF010 scan events (ENV values, RUN
bodies), not the fixes' edits. So only what can be rebuilt without them is stored (``_storable``):

- a result of a run that keeps no text (report mode, and formats that need no text), or
- a result that changes nothing (its text is the file's, rebuilt from the bytes read for the key;
  ``--diff``/``--write``/``--check``/SARIF/markdown results that change the file are not stored);
- and only when no mask (a value dfix judged secret) occurs in any stored string, and no known
  credential format (``secrets.token_format``) does either. Such a result is recomputed.

A hit gets what a fresh result has (the file's text where the run keeps text, its stat stamp);
the outputs are byte for byte those of a run without the cache, in every format.

**The DF010 scan** (a directory given, DF010 enabled) is repository-level: its findings are stored
per scanned directory, keyed on the code and the directory, with a fingerprint of every file the
scan may read (the same walk; content hashes). When the tree changed, the scan runs again.

**Storage.** ``$DFIX_CACHE_DIR``, else ``$XDG_CACHE_HOME/dfix``, else ``~/.cache/dfix``
(``%LOCALAPPDATA%\\dfix\\cache`` on Windows); ``--cache-dir`` overrides, ``--no-cache`` or
``DFIX_NO_CACHE=1`` turns it off. The entries of the Dockerfiles of one directory, for one code
version and one set of settings, share a file (a *pack*: creating a file costs more than analysing
a small Dockerfile on some file systems), ``v1/ab/<sha256>``: a header line with the sha256 of the
body, then the JSON body. Packs are written at the end of a run, by the parent process, to a
temporary file renamed into place (``os.replace``): concurrent runs never see a partial pack (two
runs writing one pack at once keep the entries of the last; the other's are computed again next
time). A pack that cannot be read or whose checksum, format or key does not match is a miss for
all its entries and is rewritten. A rewrite drops the entries of the same files under older keys
(older contents), so a pack holds about one entry per Dockerfile; packs not used for
``MAX_AGE_DAYS`` days (other code versions, settings, deleted directories) are deleted, checked at
most once a day (a hit refreshes a pack's mtime at most once a day).

The warm path (every file a hit) reads and hashes the files and the packs; it neither parses nor
imports the analysis stack.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import time
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from refactor.results import FileResult
    from refactor.settings import Settings

FORMAT = 1
_MAGIC = b"dfix-cache-v%d " % FORMAT
MAX_AGE_DAYS = 30  # entries not used for this long are deleted
_PRUNE_EVERY = 24 * 3600  # seconds between two prunes of one cache directory
_TOUCH_AFTER = 24 * 3600  # a hit refreshes its entry's mtime when it is older than this

# Settings fields that do not shape the per-file result, and why (every other field is in the key;
# tests/test_cache.py checks that each field is in one of the two).
NOT_IN_KEY = {
    "callers": "caller linking runs after the per-file step (refactor.run, refactor.link)",
    "failure_threshold": "the exit status only (refactor.report)",
    "debug": "whether an internal error raises; a result with an internal error is never stored",
    "split_events": "the DF010 events hold values: never stored; a hit in a scan run has none",
    "cache_dir": "where the cache is",
}

# Errors that depend on the file's bytes only (and the code): stored like results.
_STORED_ERRORS = ("parse error:", "bad dfix comment:", "not a text file", "not valid UTF-8")

# The modules of the dependencies whose behaviour results depend on (their files' stat is part of
# the code version, so an upgrade invalidates the cache).
_DEPENDENCIES = (
    "tree_sitter", "tree_sitter_bash", "tree_sitter_hcl", "pathspec", "jinja2", "markupsafe", "libcst",
    "ruamel.yaml", "click", "dockerfile_parse",
)  # fmt: skip

_ENV_OFF = ("", "0", "false", "no", "off")


# --------------------------------------------------------------------------------------------
# Where


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


# --------------------------------------------------------------------------------------------
# Key parts


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
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogateescape")).hexdigest()


def code_version() -> str:
    """dfix's version, the interpreter, and (path, size, mtime_ns) of the code's files."""
    import importlib.util

    import refactor

    h = hashlib.sha256()
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


# --------------------------------------------------------------------------------------------
# What the DF010 scan reads (refactor.supply.split._Scanner.files, mirrored: importing that module
# costs more than a warm run). tests/test_cache.py checks these against the scanner's.

_SCAN_SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "vendor", "__pycache__", ".tox", ".venv", "venv", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", "site-packages",
})  # fmt: skip
_SCAN_MAX_BYTES = 1 << 20
_SCAN_CONFIG_NAMES = frozenset(
    {".npmrc", ".yarnrc", ".yarnrc.yml", "settings.xml", "pip.conf", "pip.ini", ".pypirc", "poetry.toml", "uv.toml"}
)
_SCAN_SCRIPT_NAMES = frozenset({"makefile", "gnumakefile", "jenkinsfile", "justfile"})
_SCAN_SUFFIXES = (".yml", ".yaml", ".sh", ".bash", ".mk", ".ps1", ".groovy", ".gradle", ".gradle.kts", ".jenkinsfile")


def _scan_relevant(name: str) -> bool:
    from refactor.discovery import is_dockerfile_name

    low = name.lower()
    return (
        low in _SCAN_CONFIG_NAMES or low in _SCAN_SCRIPT_NAMES or low.endswith(_SCAN_SUFFIXES) or "." not in low or is_dockerfile_name(name)
    )


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


def process_recorded(path: str, display: str, settings: Settings, pending: _Pending | None = None) -> tuple[FileResult, dict | None]:
    """``engine.process_file``, recording what it read. Returns (result, its entry: the stored
    form of the result with the fingerprints of what it read), the entry None when the result is
    not to be stored. A top-level function, so that a process pool runs it: workers fingerprint
    the dependencies of their own files; the parent writes."""
    from refactor import buildcontext
    from refactor.engine import process_file

    with buildcontext.recording() as deps:
        result = process_file(path, display, settings)
    if pending is None:
        return result, None
    try:
        if result.stamp is not None and pending.stamp is not None and result.stamp != pending.stamp:
            return result, None  # the file changed while it was processed
        data = _storable(result, settings)
        if data is None:
            return result, None
        rows: list[tuple[str, str, int]] = sorted((d.kind, d.path, d.limit) for d in deps)
        if result.changed or any(f.fix is not None for f in result.findings):
            # the rewrite check ran (or may have): it read the context's config files itself
            rows.append(("configs", os.path.abspath(os.path.dirname(path) or "."), 0))
        return result, {"id": [path, display], "deps": [[k, p, lim, _fingerprint(k, p, lim)] for k, p, lim in rows], "result": data}
    except Exception:  # noqa: BLE001 - the cache never fails a run
        return result, None


# --------------------------------------------------------------------------------------------
# (De)serialisation: explicit, so that a new field must be placed (tests check every field is in
# one of the lists).

RESULT_FIELDS = (
    "path", "kind", "status", "error", "changed", "findings", "build", "emitted", "command", "notes", "runtime_env",
    "migrated", "bom", "declared_args", "declared_after",
)  # fmt: skip
RESULT_NOT_STORED = {
    "original": "file text: rebuilt from the bytes read for the key (stored results change nothing)",
    "new_text": "file text: as original",
    "masks": "secret values: a result is stored only when no mask occurs in what is stored",
    "split_events": "ENV values and RUN bodies: never stored",
    "written": "stored results were not written (False)",
    "fs_path": "the path processed (set on a hit when the fresh result had it)",
    "stamp": "the stat taken when the file is read for the key",
    "write_root": "set by refactor.run after processing",
    "linked": "set by refactor.link after processing",
}
FINDING_FIELDS = ("code", "name", "variable", "secret", "severity", "message", "line", "column", "end_line", "end_column", "fix")
FIX_FIELDS = ("title", "applicability", "applied", "reasons", "included")
FIX_NOT_STORED = {"edits": "text of the rewrite: used only with the file's text (SARIF of a changed file), never stored"}


def _dump_result(r: FileResult) -> dict:
    """The stored form: fresh containers only (the run goes on to amend the result itself: callers'
    notes, DF010 findings, fixes lowered by caller linking; none of that may reach the entry)."""
    out: dict[str, Any] = {}
    for name in RESULT_FIELDS:
        v = getattr(r, name)
        if name == "findings":
            v = [_dump_finding(f) for f in v]
        elif name == "build":
            v = None if v is None else _dump_build(v)
        elif isinstance(v, (list, tuple)):
            v = list(v)
        elif isinstance(v, dict):
            v = dict(v)
        out[name] = v
    out["has_fs_path"] = r.fs_path is not None
    return out


def _dump_finding(f) -> list:
    row = [getattr(f, n) for n in FINDING_FIELDS]
    if f.fix is not None:
        row[-1] = [list(v) if isinstance(v, (list, tuple)) else v for v in (getattr(f.fix, n) for n in FIX_FIELDS)]
    return row


def _dump_build(b) -> dict:
    out = {}
    for fl in fields(b):
        v = getattr(b, fl.name)
        if fl.name == "secrets":
            v = [[getattr(s, g.name) for g in fields(s)] for s in v]
        elif isinstance(v, (list, tuple)):
            v = list(v)
        out[fl.name] = v
    return out


def _load_result(d: dict) -> FileResult:
    from refactor.buildspec import BuildSpec, SecretSpec
    from refactor.results import FileResult, FindingOut, FixOut

    kw = {n: d[n] for n in RESULT_FIELDS}
    kw["findings"] = [
        FindingOut(*row[:-1], fix=None if row[-1] is None else FixOut(*row[-1]))  # type: ignore[misc]
        for row in d["findings"]
    ]
    if d["build"] is not None:
        b = dict(d["build"])
        b["secrets"] = tuple(SecretSpec(*s) for s in b["secrets"])
        for fl in fields(BuildSpec):
            if isinstance(b.get(fl.name), list):
                b[fl.name] = tuple(b[fl.name])
        kw["build"] = BuildSpec(**b)
    return FileResult(**kw)


def _strings(v: Any):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield from _strings(k)
            yield from _strings(x)
    elif isinstance(v, (list, tuple)):
        for x in v:
            yield from _strings(x)


def _storable(r: FileResult, settings: Settings) -> dict | None:
    """The stored form of a result, or None when it must not (or need not) be stored."""
    if r.written:
        return None
    if r.status == "error":
        if not (r.error or "").startswith(_STORED_ERRORS):
            return None
    elif r.status != "ok" or (settings.keep_text and r.changed):
        return None  # the text of the rewrite would be needed
    masks = [m for m in r.masks if m]
    if any(any(c.isspace() for c in m) for m in masks):
        return None  # could straddle two strings joined by an output: not proven absent
    data = _dump_result(r)
    texts = list(_strings(data))
    if masks and any(m in s for s in texts for m in masks):
        return None
    if _holds_token(texts):
        return None  # a credential format in a message: dfix masks what it knows; store none
    return data


# --------------------------------------------------------------------------------------------
# The cache of one run


class _Pending(NamedTuple):
    """What a lookup learnt, for storing the result computed after a miss."""

    key: str  # the entry's key
    stamp: tuple | None  # (size, mtime_ns, inode) of the file when read for the key
    pack: str  # the name of the pack the entry goes to


class Stats:
    """What the cache did in one run."""

    def __init__(self) -> None:
        self.hits = self.misses = self.stored = 0
        self.not_stored = 0  # results not storable (text needed, a secret in a message, changed while read…)
        self.uncacheable = 0  # files not looked up (not a regular file, too large, --pin-digests)
        self.scan_hits = self.scan_misses = 0

    def __repr__(self) -> str:
        return "Stats(" + ", ".join(f"{k}={v}" for k, v in vars(self).items()) + ")"


class ResultCache:
    """The cache as one run uses it; ``root`` is the cache directory."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.stats = Stats()
        self.warnings: list[str] = []
        self._dir = os.path.join(self.root, f"v{FORMAT}")
        _fp_memo.clear()  # a new run: dependencies are fingerprinted afresh
        _writers.clear()
        self._code = code_version()
        self._settings: dict[int, tuple[Settings, str | None]] = {}
        self._realdirs: dict[str, str] = {}
        self._digests: dict[str, str] = {}  # absolute path -> sha256 of the bytes read for the key
        self._packs: dict[str, dict] = {}  # pack name -> its entries as read (empty: absent or unreadable)
        self._pack_names: dict[tuple[str, str], str] = {}
        self._new: dict[str, dict] = {}  # pack name -> {key: entry} computed in this run
        self._wrote = False
        self._now = time.time()

    # -- keys ---------------------------------------------------------------------------------
    def _settings_key(self, settings: Settings) -> str | None:
        got = self._settings.get(id(settings))
        if got is None or got[0] is not settings:
            try:
                sk: str | None = settings_key(settings)
            except TypeError:
                sk = None  # a setting with no canonical form: no cache for it
            got = (settings, sk)
            self._settings[id(settings)] = got
        return got[1]

    def _realdir(self, apath: str) -> str:
        d = os.path.dirname(apath)
        r = self._realdirs.get(d)
        if r is None:
            r = self._realdirs[d] = os.path.realpath(d)
        return r

    def _entry_path(self, key: str) -> str:
        return os.path.join(self._dir, key[:2], key)

    def _pack(self, name: str) -> dict:
        """The entries of a pack (read once per run)."""
        got = self._packs.get(name)
        if got is None:
            doc = self._read_entry(self._entry_path(name), name)
            got = doc.get("entries") if doc is not None else None
            if not isinstance(got, dict):
                got = {}
            self._packs[name] = got
        return got

    # -- per file -----------------------------------------------------------------------------
    def lookup(self, path: str, display: str, settings: Settings) -> tuple[FileResult | None, _Pending | None]:
        """(the cached result, None) on a hit; (None, what storing needs) on a miss; (None, None)
        when this file is not cached."""
        sk = self._settings_key(settings)
        if sk is None or settings.pin_digests:  # pins depend on a registry, not on the files
            self.stats.uncacheable += 1
            return None, None
        read = _read_regular(path, settings.max_bytes)
        if read is None:
            self.stats.uncacheable += 1
            return None, None
        data, stamp = read
        apath = os.path.abspath(path)
        digest = self._digests[apath] = hashlib.sha256(data).hexdigest()
        adir = os.path.dirname(apath)
        pack = self._pack_names.get((sk, adir))
        if pack is None:
            pack = self._pack_names[(sk, adir)] = _sha(f"{self._code}\0{sk}\0{adir}")
        # the code and settings (through the pack's name), where the file is and what it holds
        key = _sha(f"{pack}\0{path}\0{display}\0{apath}\0{self._realdir(apath)}\0{digest}")
        pending = _Pending(key, stamp, pack)
        body = self._pack(pack).get(key)
        if body is None:
            self.stats.misses += 1
            return None, pending
        try:
            for kind, dpath, limit, fp in body["deps"]:
                if _fingerprint(kind, dpath, limit) != fp:
                    self.stats.misses += 1
                    return None, pending
            result = _load_result(body["result"])
            if body["result"]["has_fs_path"]:
                result.fs_path = path
                result.stamp = stamp
            if result.status == "ok" and settings.keep_text:
                text = data.decode("utf-8")
                result.original = result.new_text = text[1:] if text.startswith("\ufeff") else text
        except Exception:  # noqa: BLE001 - a malformed entry is a miss (and is rewritten)
            self.stats.misses += 1
            return None, pending
        if settings.mode == "write":
            from refactor.write import _cleanup_tmp

            _cleanup_tmp(path)  # as processing the file does
        self.stats.hits += 1
        return result, None

    def add(self, pending: _Pending | None, entry: dict | None) -> None:
        """Keep the entry ``process_recorded`` computed after a miss; written by ``finish``."""
        if pending is None:
            return
        if entry is None:
            self.stats.not_stored += 1
            return
        self._new.setdefault(pending.pack, {})[pending.key] = entry
        self.stats.stored += 1

    def _flush(self) -> None:
        """Write each pack that got entries: what is on disk now (another run may have added to it
        since it was read), less the entries of the same files under other keys (older contents,
        other settings of a config file…), plus this run's."""
        w = _writer(self.root)
        for name, new in self._new.items():
            doc = self._read_entry(self._entry_path(name), name)
            old = doc.get("entries") if doc is not None else None
            ids = {tuple(e["id"]) for e in new.values()}
            kept = {}
            if isinstance(old, dict):
                kept = {k: e for k, e in old.items() if k not in new and isinstance(e, dict) and tuple(e.get("id") or ()) not in ids}
            kept.update(new)
            if w.write(name, {"key": name, "entries": kept}):
                self._wrote = True
            elif w.warning:
                if w.warning not in self.warnings:
                    self.warnings.append(w.warning)
                break
        self._new = {}

    # -- the DF010 scan -----------------------------------------------------------------------
    def scan_lookup(self, directory: str) -> tuple[list[list] | None, tuple[str, str] | None]:
        """(rows, None) on a hit: [read-site path, line, variable, message] per split; else (None,
        what storing needs)."""
        root = os.path.abspath(directory)
        key = hashlib.sha256(f"{self._code}\0df010\0{root}".encode("utf-8", "surrogateescape")).hexdigest()
        try:
            tree = self._tree_fingerprint(root)
        except OSError:
            return None, None
        body = self._read_entry(self._entry_path(key), key)
        rows = body.get("splits") if body is not None and body.get("tree") == tree else None
        if isinstance(rows, list) and all(
            isinstance(r, list) and len(r) == 4 and isinstance(r[0], str) and isinstance(r[1], int) and isinstance(r[2], str)
            and isinstance(r[3], str)
            for r in rows
        ):  # fmt: skip
            self.stats.scan_hits += 1
            return rows, None
        self.stats.scan_misses += 1
        return None, (key, tree)

    def scan_store(self, pending: tuple[str, str] | None, rows: list[list]) -> None:
        if pending is None:
            return
        key, tree = pending
        if _holds_token([str(r[3]) for r in rows]):
            return
        w = _writer(self.root)
        if w.write(key, {"key": key, "tree": tree, "splits": rows}):
            self._wrote = True
        elif w.warning and w.warning not in self.warnings:
            self.warnings.append(w.warning)

    def _tree_fingerprint(self, root: str) -> str:
        """Every file the scan of ``root`` may read: its path and content hash (taken before the
        scan runs, so that a change during the scan shows next time)."""
        try:
            from refactor.walk import walk  # the listings discovery made in this run, as the scan uses them
        except ImportError:  # pragma: no cover - the shared walk is newer than this module
            walk = os.walk
        h = hashlib.sha256()
        for dirpath, dirnames, filenames in walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in _SCAN_SKIP_DIRS and not d.endswith(".egg-info"))
            rel = os.path.relpath(dirpath, root)
            for fn in sorted(filenames):
                if not _scan_relevant(fn):
                    continue
                full = os.path.join(dirpath, fn)
                h.update(f"{rel}\0{fn}\0{self._file_sig(full)}\n".encode("utf-8", "surrogateescape"))
        return h.hexdigest()

    def _file_sig(self, full: str) -> str:
        try:
            st = os.lstat(full)
        except OSError as e:
            return f"error:{e.errno}"
        if stat.S_ISLNK(st.st_mode):
            return "link"
        if not stat.S_ISREG(st.st_mode):
            return f"mode:{stat.S_IFMT(st.st_mode)}"
        if st.st_size > _SCAN_MAX_BYTES:
            return "large"
        known = self._digests.get(full)
        if known is not None:
            return known
        try:
            with open(full, "rb") as fh:
                return hashlib.sha256(fh.read()).hexdigest()
        except OSError as e:
            return f"error:{e.errno}"

    # -- entries ------------------------------------------------------------------------------
    def _read_entry(self, path: str, key: str) -> dict | None:
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
                mtime = os.fstat(fh.fileno()).st_mtime
        except OSError:
            return None
        head, nl, body = raw.partition(b"\n")
        if not nl or not head.startswith(_MAGIC) or head[len(_MAGIC) :] != hashlib.sha256(body).hexdigest().encode():
            return None
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        if not isinstance(doc, dict) or doc.get("key") != key:
            return None
        if self._now - mtime > _TOUCH_AFTER:
            try:
                os.utime(path)  # in use: not pruned
            except OSError:
                pass
        return doc

    # -- the end of a run ---------------------------------------------------------------------
    def finish(self) -> None:
        """Write this run's entries; delete entries not used for MAX_AGE_DAYS days (at most once a
        day)."""
        self._flush()
        if not self._wrote:
            return  # this run wrote nothing: leave a read-only or absent cache alone
        marker = os.path.join(self.root, ".last-prune")
        try:
            if self._now - os.stat(marker).st_mtime < _PRUNE_EVERY:
                return
        except OSError:
            pass
        try:
            with open(marker, "w"):
                pass
        except OSError:
            return
        prune(self.root, self._now - MAX_AGE_DAYS * 86400)


class _Writer:
    """Writes the entries of one cache directory (one per process: the parent and each worker)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.made: set[str] = set()
        self.warning: str | None = None  # set when a write failed: no further write is tried
        self.n = 0

    def write(self, key: str, doc: dict) -> bool:
        """Write an entry atomically: a temporary file in the same directory, then os.replace."""
        if self.warning is not None:
            return False
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        raw = _MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body
        d = os.path.join(self.root, f"v{FORMAT}", key[:2])
        self.n += 1
        tmp = os.path.join(d, f".tmp-{os.getpid()}-{self.n}-{key[:16]}")
        try:
            if d not in self.made:
                if not os.path.isdir(self.root):
                    _create_root(self.root)
                os.makedirs(d, mode=0o700, exist_ok=True)
                self.made.add(d)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            try:
                os.write(fd, raw)
            finally:
                os.close(fd)
            os.replace(tmp, os.path.join(d, key))
            return True
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            self.warning = f"cache: cannot write to {self.root}: {exc.strerror or exc}; results are not cached"
            return False


_writers: dict[str, _Writer] = {}  # per process (ResultCache clears it at the start of a run)


def _writer(root: str) -> _Writer:
    w = _writers.get(root)
    if w is None:
        w = _writers[root] = _Writer(root)
    return w


def prune(root: str, before: float) -> int:
    """Delete entries (and leftover temp files) last used before ``before``; returns how many."""
    n = 0
    try:
        versions = [v for v in os.listdir(root) if v.startswith("v") and v[1:].isdigit()]
    except OSError:
        return 0
    for v in versions:
        vdir = os.path.join(root, v)
        try:
            subs = os.listdir(vdir)
        except OSError:
            continue
        for s in subs:
            sdir = os.path.join(vdir, s)
            try:
                names = os.listdir(sdir)
            except OSError:
                continue
            for name in names:
                p = os.path.join(sdir, name)
                try:
                    st = os.lstat(p)
                    limit = max(before, time.time() - 3600) if name.startswith(".tmp-") else before
                    if stat.S_ISREG(st.st_mode) and st.st_mtime < limit:
                        os.unlink(p)
                        n += 1
                except OSError:
                    pass
    return n


def _create_root(root: str) -> None:
    os.makedirs(root, mode=0o700, exist_ok=True)
    for name, text in (
        ("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by dfix.\n"),
        (".gitignore", "# created by dfix\n*\n"),
    ):
        p = os.path.join(root, name)
        if not os.path.exists(p):
            try:
                with open(p, "x", encoding="utf-8") as fh:
                    fh.write(text)
            except OSError:
                pass


def _read_regular(path: str, max_bytes: int) -> tuple[bytes, tuple] | None:
    """(bytes, (size, mtime_ns, inode)) of a regular file no larger than ``max_bytes``; None
    otherwise (those are processed, not cached). Never blocks on a FIFO. The key is the bytes read
    here, whatever the file holds a moment later."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return None
        data = os.read(fd, st.st_size + 1)
        while len(data) < st.st_size:  # a short read
            more = os.read(fd, st.st_size + 1 - len(data))
            if not more:
                break
            data += more
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) != st.st_size:
        return None  # changing while read
    return data, (st.st_size, st.st_mtime_ns, st.st_ino)


def _holds_token(texts: list[str]) -> bool:
    """Does a known credential format (a GitHub token, an AWS key id, a private key…) occur in
    ``texts``? Positional patterns (``--password X``) are not used: messages name such options."""
    from refactor.analysis import secrets

    prefilter = getattr(secrets, "_ANY_KEY", None)  # the substrings every keyed format needs (a fast test)
    for t in texts:
        if (prefilter is None or prefilter.search(t)) and secrets.token_format(t):
            return True
        # the formats without a key are whole values ("Bearer …")
        if t[:6].lower().startswith(("basic", "bearer", "token")) and secrets.token_format(t):
            return True
    return False


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _digest(data: str | bytes) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return hashlib.sha256(data).hexdigest()[:32]

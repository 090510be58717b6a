"""The result cache (issue 19): a Dockerfile's result is reused while nothing it was computed from
has changed, as ruff does.

**Key.** An entry's key is the digest (BLAKE2b-256, ``cache_files.digest_hex``) of:

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
- A result's masks themselves are stored as their offsets in the file's text (``mask_spans``),
  and only when each occurs there verbatim: a hit reads them back from the bytes read for its
  key. A run masks each file's known values in every file's output (``render.masking.share``),
  so a hit must know them as a fresh result does (a hit that knew none printed another file's
  value in clear where the run without the cache masked it).

A hit gets what a fresh result has (the file's text where the run keeps text, its stat stamp);
the outputs are byte for byte those of a run without the cache, in every format.

**The DF010 scan** (a directory given, DF010 enabled) is repository-level: its findings are stored
per scanned directory, keyed on the code and the directory, with a fingerprint of every file the
scan may read (the same walk; content hashes). When the tree changed, the scan runs again.

**Storage.** ``$DFIX_CACHE_DIR``, else ``$XDG_CACHE_HOME/dfix``, else ``~/.cache/dfix``
(``%LOCALAPPDATA%\\dfix\\cache`` on Windows); ``--cache-dir`` overrides, ``--no-cache`` or
``DFIX_NO_CACHE=1`` turns it off. The entries of the Dockerfiles of one directory, for one code
version and one set of settings, share a file (a *pack*: creating a file costs more than analysing
a small Dockerfile on some file systems), ``v1/ab/<digest>``: a header line with the digest of the
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

**Layout.** This module is the face: :func:`process_recorded` and the names the rest of dfix and
the tests use, re-exported from the parts: :mod:`refactor.cache_location` (where the cache is;
``os`` only, so that the command line can resolve it cheaply), :mod:`refactor.cache_keys` (the key
parts, the code version and the dependency fingerprints), :mod:`refactor.cache_scan` (what the
DF010 scan reads), :mod:`refactor.cache_entries` (the stored form of a result),
:mod:`refactor.cache_files` (the entry files: format, writer, pruning) and
:mod:`refactor.cache_run` (:class:`ResultCache`, the cache of one run).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from refactor.cache_entries import FINDING_FIELDS as FINDING_FIELDS
from refactor.cache_entries import FIX_FIELDS as FIX_FIELDS
from refactor.cache_entries import FIX_NOT_STORED as FIX_NOT_STORED
from refactor.cache_entries import RESULT_FIELDS as RESULT_FIELDS
from refactor.cache_entries import RESULT_NOT_STORED as RESULT_NOT_STORED
from refactor.cache_entries import _storable as _storable
from refactor.cache_files import _MAGIC as _MAGIC
from refactor.cache_files import FORMAT as FORMAT
from refactor.cache_files import MAX_AGE_DAYS as MAX_AGE_DAYS
from refactor.cache_files import prune as prune
from refactor.cache_keys import NOT_IN_KEY as NOT_IN_KEY
from refactor.cache_keys import _fingerprint as _fingerprint
from refactor.cache_keys import code_version as code_version
from refactor.cache_keys import settings_key as settings_key
from refactor.cache_location import default_dir as default_dir
from refactor.cache_location import resolve_dir as resolve_dir
from refactor.cache_run import ResultCache as ResultCache
from refactor.cache_run import Stats as Stats
from refactor.cache_run import _Pending as _Pending
from refactor.cache_scan import _SCAN_CONFIG_NAMES as _SCAN_CONFIG_NAMES
from refactor.cache_scan import _SCAN_MAX_BYTES as _SCAN_MAX_BYTES
from refactor.cache_scan import _SCAN_SCRIPT_NAMES as _SCAN_SCRIPT_NAMES
from refactor.cache_scan import _SCAN_SKIP_DIRS as _SCAN_SKIP_DIRS
from refactor.cache_scan import _SCAN_SUFFIXES as _SCAN_SUFFIXES
from refactor.cache_scan import _scan_relevant as _scan_relevant

if TYPE_CHECKING:
    from refactor.results import FileResult
    from refactor.settings import Settings

__all__ = [
    "FINDING_FIELDS",
    "FIX_FIELDS",
    "FIX_NOT_STORED",
    "FORMAT",
    "MAX_AGE_DAYS",
    "NOT_IN_KEY",
    "RESULT_FIELDS",
    "RESULT_NOT_STORED",
    "_MAGIC",
    "_SCAN_CONFIG_NAMES",
    "_SCAN_MAX_BYTES",
    "_SCAN_SCRIPT_NAMES",
    "_SCAN_SKIP_DIRS",
    "_SCAN_SUFFIXES",
    "ResultCache",
    "Stats",
    "_scan_relevant",
    "_storable",
    "code_version",
    "default_dir",
    "process_recorded",
    "prune",
    "resolve_dir",
    "settings_key",
]


def _text_of(path: str, settings: Settings, pending: _Pending) -> str | None:
    """The file's text (``file_text``) if it holds the very bytes read for the key (same digest:
    a stat stamp can miss a same-size rewrite within one mtime tick), else None: where a stored
    result's mask offsets are taken."""
    from refactor.cache_entries import file_text
    from refactor.cache_files import _read_regular, digest_hex

    read = _read_regular(path, settings.max_bytes)
    if read is None or not pending.digest or digest_hex(read[0]) != pending.digest:
        return None
    try:
        return file_text(read[0])
    except UnicodeDecodeError:
        return None


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
        data = _storable(result, settings, lambda: _text_of(path, settings, pending))  # (read only if it would be stored)
        if data is None:
            return result, None
        rows: list[tuple[str, str, int]] = sorted((d.kind, d.path, d.limit) for d in deps)
        if result.changed or any(f.fix is not None for f in result.findings):
            # the rewrite check ran (or may have): it read the context's config files itself
            rows.append(("configs", os.path.abspath(os.path.dirname(path) or "."), 0))
        return result, {"id": [path, display], "deps": [[k, p, lim, _fingerprint(k, p, lim)] for k, p, lim in rows], "result": data}
    except Exception:  # noqa: BLE001 - the cache never fails a run
        return result, None

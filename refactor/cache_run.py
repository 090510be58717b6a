"""The cache of one run (:mod:`refactor.cache`): :class:`ResultCache` looks each Dockerfile up
(its key, its pack, the fingerprints of what it read), keeps the entries computed after misses
and writes them at the end, looks up and stores the DF010 scan of a directory, and prunes;
:class:`Stats` counts what it did.
"""

from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

from refactor.cache_entries import _holds_token, _load_result, file_text, masks_from
from refactor.cache_files import (
    _MAGIC,
    _PRUNE_EVERY,
    _TOUCH_AFTER,
    FORMAT,
    MAX_AGE_DAYS,
    _read_regular,
    _writer,
    _writers,
    digest_hex,
    new_digest,
    prune,
)
from refactor.cache_keys import _fingerprint, _fp_memo, _sha, code_version, settings_key
from refactor.cache_scan import _SCAN_MAX_BYTES, _SCAN_SKIP_DIRS, _scan_relevant
from refactor.walk import absolute

if TYPE_CHECKING:
    from refactor.results import FileResult
    from refactor.settings import Settings


class _Pending(NamedTuple):
    """What a lookup learnt, for storing the result computed after a miss."""

    key: str  # the entry's key
    stamp: tuple | None  # (size, mtime_ns, inode) of the file when read for the key
    pack: str  # the name of the pack the entry goes to
    digest: str = ""  # the digest of the bytes read for the key (a stored result's mask offsets are taken in them)


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
        self._digests: dict[str, str] = {}  # absolute path -> digest of the bytes read for the key
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
        apath = absolute(path)
        digest = self._digests[apath] = digest_hex(data)
        adir = os.path.dirname(apath)
        pack = self._pack_names.get((sk, adir))
        if pack is None:
            pack = self._pack_names[(sk, adir)] = _sha(f"{self._code}\0{sk}\0{adir}")
        # the code and settings (through the pack's name), where the file is and what it holds
        key = _sha(f"{pack}\0{path}\0{display}\0{apath}\0{self._realdir(apath)}\0{digest}")
        pending = _Pending(key, stamp, pack, digest)
        body = self._pack(pack).get(key)
        if body is None:
            self.stats.misses += 1
            return None, pending
        try:
            for kind, dpath, limit, fp in body["deps"]:
                if _fingerprint(kind, dpath, limit) != fp:
                    self.stats.misses += 1
                    return None, pending
            given: dict = {"fs_path": path, "stamp": stamp} if body["result"]["has_fs_path"] else {}
            spans = body["result"].get("mask_spans")
            if spans is not None:  # the secret values it knew, read back from the bytes of the key
                given["masks"] = masks_from(file_text(data), spans)
            result = _load_result(body["result"], **given)
            if result.status == "ok" and settings.keep_text:
                text = file_text(data)
                result = replace(result, original=text, new_text=text)
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
        key = digest_hex(f"{self._code}\0df010\0{root}".encode("utf-8", "surrogateescape"))
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

    def callers_lookup(self, root: str) -> tuple[str, dict[str, list]]:
        """The caller files under ``root`` an earlier run found nothing to read in, with their stat
        (``refactor.callers.discover``'s ``known``); an empty dict on a miss or a bad entry."""
        key = digest_hex(f"{self._code}\0callers\0{os.path.abspath(root)}".encode("utf-8", "surrogateescape"))
        body = self._read_entry(self._entry_path(key), key)
        files = body.get("callers_index") if body is not None else None
        # (a malformed row is harmless: discover skips a file only when its row equals the stat it
        # has now, so a bad row is a file read again; checking every row cost more than that)
        return key, files if isinstance(files, dict) else {}

    def callers_store(self, key: str, before: dict[str, list], files: dict[str, list]) -> None:
        """Store the verdicts of this run's caller discovery (paths and stats only: no content)."""
        if files == before:
            return
        w = _writer(self.root)
        if w.write(key, {"key": key, "callers_index": files}):
            self._wrote = True
        elif w.warning and w.warning not in self.warnings:
            self.warnings.append(w.warning)

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
        h = new_digest()
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
                return digest_hex(fh.read())
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
        if not nl or not head.startswith(_MAGIC) or head[len(_MAGIC) :] != digest_hex(body).encode():
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

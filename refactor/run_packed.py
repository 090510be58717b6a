"""Bulk report runs keep each file's result packed (issue #19: memory flat in the number of files).

A report over ten thousand Dockerfiles held every result (findings, build specs, notes, DF010 scan
events) until the end: about 2.3 KB per file in the parent. Above ``refactor.run.PACK_ABOVE``
files, in report mode with no file text kept, each result is packed as it arrives (pickled and
zlib-compressed), by the worker that computed it where there is one, and the parent keeps only
what the rest of the run needs of it:

- its path, status and migrated names in the clear (every file's are read);
- packed with the result: a :class:`Header` (what caller linking reads of a result, and what output
  masking shares across files: the result's masks and variable names) and its DF010 scan events,
  decoded where they are used, one file at a time.

``RunResult.files`` is then a :class:`PackedResults`: a sequence that unpacks one result at a time,
in output order, applying what the run decided after the workers (the blocks of caller linking, the
DF010 findings, the run's shared masks), so a renderer that streams (text, json, github) holds one
result at a time. The output is byte for byte that of an unpacked run (tests/test_run_packed.py).

The packed bytes of a result that knows no secret value (no masks, and no known credential format
in any of its strings) are then moved to the run's spool, an unnamed temporary file
(:mod:`refactor.run_spool`); every other result stays in memory. Where the temporary directory is
a tmpfs, the spool is still memory, only not the process's.
"""

from __future__ import annotations

import os
import pickle
import sys
import zlib
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING, Any

from refactor.buildspec import BuildSpec
from refactor.codecache import regex
from refactor.records import dataclass
from refactor.results import FileResult
from refactor.run_spool import Spool
from refactor.settings import Settings
from refactor.walk import absolute

if TYPE_CHECKING:
    from refactor.run import RunResult
    from refactor.supply.split_scanner import PackedEvents


def pack(obj: Any) -> bytes:
    return _compressed(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def _compressed(raw: bytes) -> bytes:
    co = _codecs()[0].copy()
    return co.compress(raw) + co.flush()


# a credential format without a key word: a whole value ("Bearer …"), as the cache's _holds_token
_WHOLE_VALUE = regex(r"(?i)\b(?:basic|bearer|token)\s[\x20-\x7e]*")  # (to the end of the pickled string)


def _may_hold_token(raw: bytes) -> bool:
    """Whether a pickled result may hold a known credential format (the cache refuses to store such
    a result even when no mask names the value): a cheap, conservative test over all its strings
    at once, so that such a result is never spooled to disk."""
    from refactor.analysis import secrets

    text = raw.decode("latin-1")  # (the pickle's strings are UTF-8: an ASCII key reads the same)
    if secrets._ANY_KEY.search(text) and secrets.token_format(text):
        return True
    return any(secrets.token_format(m.group(0)) for m in _WHOLE_VALUE.finditer(text))


def unpack(data: bytes) -> Any:
    do = _codecs()[1].copy()
    raw = do.decompress(data) + do.flush()
    if not do.eof or do.unused_data:
        raise zlib.error("a packed result is truncated or has bytes after its end")
    return pickle.loads(raw)


@cache
def _codecs() -> tuple[Any, Any]:
    """A compressor and a decompressor primed with :func:`_zdict`, copied for each result: a 4 KiB
    window (``wbits`` 12: a packed result is a few KiB) and a small hash (``memLevel`` 5) make the copy a
    few microseconds, where setting up zlib's default 32 KiB window for each result took 70."""
    zdict = _zdict()
    return zlib.compressobj(1, zlib.DEFLATED, 12, 5, zlib.Z_DEFAULT_STRATEGY, zdict), zlib.decompressobj(12, zdict=zdict)


@cache
def _zdict() -> bytes:
    """zlib's preset dictionary for packed results: the pickle of a made-up one, with the class
    paths, field names and strings every result repeats. A result of a few hundred bytes is too
    short for zlib to find them in itself: this takes a clean file's from about 550 bytes to 250,
    one with findings from 1,200 to 600 (bench/_gen.py's monorepo). Built from constants, so the
    workers and the parent build the same bytes (nothing packed outlives the run)."""
    from refactor.buildspec import SecretSpec
    from refactor.emit import env_guard
    from refactor.fixes.edit import Edit
    from refactor.results import FindingOut, FixOut, Outcome
    from refactor.rules import RULES

    path, context, var, sid = "services/app/Dockerfile", "services/app", "NPM_TOKEN", "npm_token"
    spec = BuildSpec(path, context, (SecretSpec(sid, "env", var),), (), ("VERSION",), ("runtime: ~/.npmrc (written with",))
    title = f"Mount {var} as a BuildKit secret (id={sid}) and stop passing it as a build arg"
    fix = FixOut(title, "safe", False, (), True, (Edit(10, 20, f"RUN --mount=type=secret,id={sid},env={var}"),))
    message = f"ARG {var} is a secret (known credential name {var}); value <unset>; build-arg values are recorded in the image history of every later RUN"
    findings = tuple(FindingOut(r.code, r.name, var, r.secret, r.severity, message, 3, 1, 3, 9, fix) for r in RULES)
    docker = f"docker build --secret id={sid},env={var} {context}"
    r = FileResult(
        path, outcome=Outcome.FIXED, changed=True, findings=findings, build=spec, emitted={"docker": f"{env_guard(var)}\n{docker}\n"}
    )
    r = replace(r, command=docker, fs_path=path, migrated=(var,), declared_args=(var,), notes=spec.notes)
    h = Header(path, path, "dockerfile", "ok", (var,), (var,), (), spec, ("x",), frozenset({var}))
    clean = FileResult(
        path, build=BuildSpec(path, context), emitted={"docker": f"docker build {context}\n"}, command=f"docker build {context}"
    )
    events = [("from",), ("run", 3, "npm ci\n")]
    return pickle.dumps(((h, r, events), (h, clean, events)), protocol=pickle.HIGHEST_PROTOCOL)


@dataclass(frozen=True, slots=True)
class Header:
    """What the run needs of a packed result before it is rendered (the attributes caller linking
    reads of a result: see ``refactor.link_plan``)."""

    path: str
    fs_path: str | None
    kind: str
    status: str
    migrated: tuple[str, ...]
    declared_args: tuple[str, ...]
    declared_after: tuple[str, ...]
    build: BuildSpec | None  # only when something is migrated (linking reads its secrets)
    masks: tuple[str, ...]  # after masking.learn: what sharing the run's masks starts from
    names: frozenset[str]  # variable names, never masks
    env_mounts: bool = False


class Packed:
    """One packed result: its path, status and migrated names (read for every file) in the clear,
    everything else (the Header's other fields, the result, the DF010 events) in one compressed
    pickle, decoded on use: about 480 bytes a file with this object (bench/_gen.py's 20,000-file
    monorepo) where the result's objects took 2.3 KB. The parent then moves the pickle of a
    result that knows no secret value to the run's :class:`Spool` (about 100 bytes left a file)."""

    __slots__ = ("_data", "_spool", "has_events", "migrated", "path", "secret", "seq", "status")

    def __init__(self, path: str, status: str, migrated: tuple[str, ...], data: bytes, has_events: bool, secret: bool = True) -> None:
        self.path = path
        self.status = sys.intern(status)  # (unpickled in the parent: one string for all, not one each)
        self.migrated = migrated
        self._data: bytes | int = data  # or, once spooled, where it is in the spool
        self._spool: Spool | None = None
        self.has_events = has_events
        self.secret = secret  # the result knows a secret value (masks): never spooled
        self.seq = -1  # its place among the run's candidates, set by the parent (PackedResults)

    def spool_into(self, spool: Spool) -> None:
        """Move the pickle to ``spool`` unless the result knows a secret value (then, or when the
        spool cannot take it, it stays in memory)."""
        if not self.secret and isinstance(self._data, bytes):
            at = spool.put(self._data)
            if at is not None:
                self._data, self._spool = at, spool

    def _bytes(self) -> bytes:
        data = self._data
        if isinstance(data, bytes):
            return data
        assert self._spool is not None
        return self._spool.get(data)

    def _decoded(self) -> tuple[Header, FileResult, list[tuple] | None]:
        return unpack(self._bytes())

    @property
    def header(self) -> Header:
        return self._decoded()[0]

    def result(self) -> FileResult:
        return self._decoded()[1]

    def events(self) -> list[tuple]:
        return self._decoded()[2] or []

    def __reduce__(self):  # pickled by the worker that made it
        return (Packed, (self.path, self.status, self.migrated, self._bytes(), self.has_events, self.secret))


def pack_result(r: FileResult) -> Packed:
    from refactor.render.masking import _names, learn

    events = r.split_events
    r = learn(replace(r, split_events=None))
    h = Header(
        r.path,
        r.fs_path,
        r.kind,
        r.status,
        tuple(r.migrated),
        tuple(r.declared_args),
        tuple(r.declared_after),
        r.build if r.migrated else None,
        tuple(r.masks),
        frozenset(_names(r)),
        r.env_mounts,
    )
    raw = pickle.dumps((h, r, events), protocol=pickle.HIGHEST_PROTOCOL)
    return Packed(r.path, r.status, tuple(r.migrated), _compressed(raw), events is not None, bool(h.masks) or _may_hold_token(raw))


def process_file_packed(path: str, display: str, settings: Settings) -> Packed:
    """``engine.process_file``, packed in the worker (so the parent only stores bytes)."""
    from refactor.engine import process_file

    return pack_result(process_file(path, display, settings))


class PackedResults:
    """The files of a packed run in output order; iterating unpacks one result at a time."""

    shares_masks = True  # refactor.render.masking.share: done here, as each result is unpacked

    def __init__(
        self,
        entries: list[Packed | FileResult],
        candidates: list,
        per_file: list[Settings],
        blocks: dict | None,
        splits: dict[str, list],
        stdin: FileResult | None,
    ) -> None:
        self._entries = entries
        self._candidates = candidates
        self._per_file = per_file
        self._blocks = blocks or {}
        self._splits = splits
        self._stdin = stdin
        self._shared: tuple[set[str], list[str]] | None = None

    def bind(self, order: list[Packed]) -> None:
        """The packed results in candidate order (aligned with ``candidates``/``per_file``)."""
        for i, p in enumerate(order):
            p.seq = i

    def __len__(self) -> int:
        return len(self._entries) + (self._stdin is not None)

    def __getitem__(self, i: int) -> FileResult:
        return list(self)[i]

    def _sharing(self) -> tuple[set[str], list[str]]:
        """The run's variable names and its masks in output order (refactor.render.masking.share)."""
        if self._shared is None:
            from refactor.render.masking import _names, learn

            names: set[str] = set()
            sources: list[tuple[str, ...] | list[str]] = []
            for e in self._all():
                if isinstance(e, Packed):
                    h = e.header
                    names |= h.names
                    sources.append(h.masks)
                else:
                    learned = learn(e)
                    names |= _names(learned)
                    sources.append(learned.masks)
            union: list[str] = []
            seen: set[str] = set()
            for masks in sources:
                for m in masks:
                    if m and m not in seen and m not in names:
                        seen.add(m)
                        union.append(m)
            self._shared = (names, union)
        return self._shared

    def _all(self) -> Iterator[Packed | FileResult]:
        yield from self._entries
        if self._stdin is not None:
            yield self._stdin

    def __iter__(self) -> Iterator[FileResult]:
        from refactor.link_blocks import _blocked
        from refactor.render.masking import _drop, _with_masks, learn
        from refactor.run_splits import with_split_findings

        names, union = self._sharing()
        for e in self._all():
            if isinstance(e, Packed):
                r = e.result()
                c, st = self._candidates[e.seq], self._per_file[e.seq]
                if self._blocks:
                    b = self._blocks.get(os.path.realpath(c.path))
                    if b is not None:
                        r = _blocked(r, b, st)
                fs = self._splits.get(absolute(r.fs_path or r.path))
                if fs and r.kind == "dockerfile":
                    r = with_split_findings(r, fs)
            else:
                r = e
            r = learn(r)
            masks = _drop(r.masks, names)
            have = set(masks)
            yield _with_masks(r, masks + tuple(m for m in union if m not in have))


def finish(paths, settings, candidates, per_file, excludes, progress, cache, dirs, scan, start, stdin_result, stream) -> RunResult:
    """``refactor.run._finish_run`` for a bulk report run whose results are kept packed: the same
    steps, reading each result's header instead of the result."""
    import heapq

    from refactor.run import RunResult
    from refactor.run_splits import _split_extras, _split_findings

    spool = Spool()
    order: list[Packed] = []
    for item in progress(stream, len(candidates)) if progress is not None else stream:
        p = item if isinstance(item, Packed) else pack_result(item)
        p.spool_into(spool)
        order.append(p)
    for p, c in zip(order, candidates):
        if p.path == c.display:
            p.path = c.display  # the candidate's string, not a second copy from the worker
    known: dict[str, list[tuple] | PackedEvents] = {_absolute(c.path): p for c, p in zip(candidates, order) if p.has_events}
    splits = _split_findings(dirs, settings, known, cache) if scan else {}
    del known
    headers = [_HeaderView(p) for p in order]
    entries: list = list(order)
    blocks = None
    if candidates and any(p.migrated for p in order):
        from refactor.link import link_callers

        given = {os.path.realpath(p) for p in paths if p != "-" and os.path.isfile(p)} if settings.callers == "given" else None
        names = frozenset(n for p in order for n in p.migrated)
        linked = link_callers(
            list(paths), candidates, headers, per_file, excludes, settings=settings, given=given, only_names=names, cache=cache
        )
        blocks = linked.blocks
        entries = sorted([*order, *linked.callers], key=_entry_path)
    entries = list(heapq.merge(entries, _split_extras([c.path for c in candidates], splits), key=_entry_path))
    if splits:
        from refactor.link import suppress_caller_findings

        fresh = iter(suppress_caller_findings([e for e in entries if isinstance(e, FileResult)], settings))
        entries = [next(fresh) if isinstance(e, FileResult) else e for e in entries]
    notices: list[str] = list(start)
    if cache is not None:
        cache.finish()
        notices += cache.warnings
    files = PackedResults(entries, candidates, per_file, blocks, splits, stdin_result)
    files.bind(order)
    return RunResult(files, stdin_result, notices)


def _absolute(path: str) -> str:
    """``os.path.abspath(path)``, as ``path`` itself when that is already it: a second string per
    file (20,000 files: about 2 MiB) would be alive at the run's peak, the DF010 scan."""
    a = absolute(path)
    return path if a == path else a


def _entry_path(e) -> str:
    return e.path


class _HeaderView:
    """A packed result as caller linking reads it (``refactor.link_plan.Linkable``): status and
    migrated names at hand, the rest decoded when asked (linking asks for few files)."""

    __slots__ = ("_p",)

    def __init__(self, p) -> None:
        self._p = p

    @property
    def status(self) -> str:
        return self._p.status

    @property
    def migrated(self) -> tuple[str, ...]:
        return self._p.migrated

    @property
    def declared_args(self) -> tuple[str, ...]:
        return self._p.header.declared_args

    @property
    def declared_after(self) -> tuple[str, ...]:
        return self._p.header.declared_after

    @property
    def build(self):
        return self._p.header.build

    @property
    def env_mounts(self) -> bool:
        return self._p.header.env_mounts

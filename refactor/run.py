"""One dfix run over paths, end to end: discover → process each file (in workers for large runs)
→ plan the callers with their Dockerfiles → write (all-or-nothing per group) → attach the
repository-level DF010 findings → add ignore comments (``--add-ignore``).

``run`` returns a :class:`RunResult`; it prints nothing. ``refactor.cli`` turns flags and config
into :class:`~refactor.settings.Settings`, calls it, and renders the result.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from refactor.results import FileResult
from refactor.settings import Mode, Settings

if TYPE_CHECKING:
    from refactor.run_packed import PackedResults
    from refactor.supply.split_scanner import PackedEvents


# files: above this many, a report run without file text keeps its results packed (refactor.run_packed)
PACK_ABOVE = 2000


@dataclass
class RunResult:
    """The files of one run in output order (stdin last) and what the run has to say besides
    (a bulk report run's files are packed: ``refactor.run_packed.PackedResults``)."""

    files: list[FileResult] | PackedResults
    stdin: FileResult | None = None
    notices: list[str] = field(default_factory=list)  # one line each, for stderr


@dataclass(frozen=True)
class Stdin:
    """``-`` among the paths: the bytes read, the name to show, the directory of --stdin-filename."""

    display: str
    data: bytes
    context_dir: str | None = None


def run(
    paths: list[str],
    settings: Settings,
    *,
    settings_for: Callable[[str], Settings] | None = None,
    excludes: tuple[str, ...] = (),
    respect_gitignore: bool = True,
    jobs: int = 0,
    add_ignore: bool = False,
    stdin: Stdin | None = None,
    progress: Callable[[Iterator[FileResult], int], Iterable[FileResult]] | None = None,
    debug: bool = False,
) -> RunResult:
    """Run dfix over ``paths`` ('-' for ``stdin``). ``settings_for`` gives a file's settings (the
    nearest config); it may raise ConfigError, which propagates. Never raises for a bad file."""
    from refactor import buildcontext, walk
    from refactor.discovery import discover

    buildcontext.forget()  # the build contexts may have changed since an earlier run in this process
    walk.forget()  # so may the tree: each directory is listed once per run, for every walk
    cache = _open_cache(settings)
    settings_for = settings_for or (lambda _p: settings)
    stdin_result = _link_stdin(stdin, _process_stdin(stdin, settings, debug), settings, excludes) if stdin is not None else None
    candidates = discover([p for p in paths if p != "-"], excludes, respect_gitignore)
    from refactor import journal

    # a group an interrupted --write left half written: completed first (write), else reported
    files = [c.path for c in candidates]
    start = journal.recover_for(files, strict=False) if settings.mode is Mode.WRITE else journal.pending_for(files)
    per_file = [settings_for(c.path) for c in candidates]
    dirs = [p for p in paths if p != "-" and os.path.isdir(p)]
    scan = bool(dirs) and settings.selection.enabled("DF010")
    for st in per_file:
        st.defer_write = True  # written below, together with the callers that go with each file
        st.split_events = scan  # the DF010 scan reuses each worker's parse
    return _finish_run(paths, settings, candidates, per_file, excludes, jobs, add_ignore, progress, cache, dirs, scan, start, stdin_result)


def _finish_run(
    paths, settings, candidates, per_file, excludes, jobs, add_ignore, progress, cache, dirs, scan, start, stdin_result
) -> RunResult:
    packed = settings.mode is Mode.REPORT and not settings.keep_text and not add_ignore and len(candidates) > PACK_ABOVE
    stream = _run_files(candidates, per_file, jobs, cache, packed=packed)
    if packed:
        from refactor import run_packed

        return run_packed.finish(paths, settings, candidates, per_file, excludes, progress, cache, dirs, scan, start, stdin_result, stream)
    results = list(progress(stream, len(candidates)) if progress is not None else stream)
    known = {os.path.abspath(c.path): r.split_events for c, r in zip(candidates, results) if r.split_events is not None}
    for r in results:
        r.split_events = None
    splits = _split_findings(dirs, settings, known, cache) if scan else {}
    # callers change with the Dockerfile: searched when something may be written or gated, and in
    # report mode when a secret is migrated (the report then names the callers and says whether
    # --write can fix them, as --write would)
    if candidates and (settings.mode is not Mode.REPORT or any(r.migrated for r in results)):
        from refactor.link import link_callers

        given = {os.path.realpath(p) for p in paths if p != "-" and os.path.isfile(p)} if settings.callers == "given" else None
        # report mode shows the callers of the migrated names only: files that mention none are not parsed
        # (--add-ignore writes a baseline for every caller finding: it reads them all)
        names = frozenset(n for r in results for n in r.migrated) if settings.mode is Mode.REPORT and not add_ignore else None
        linked = link_callers(list(paths), candidates, results, per_file, excludes, settings=settings, given=given, only_names=names)
        results = linked.apply(candidates, results, per_file)
        callers = linked.callers
        if settings.mode is Mode.WRITE:
            from refactor.write import write_planned

            planned = results + callers
            top = top_root(paths)
            write_planned(planned, {id(r): _write_root(r.fs_path, paths, top if r.kind == "caller" else None) for r in planned})
        results.extend(callers)
        results.sort(key=lambda r: r.path)
    results = list(_with_splits(results, [c.path for c in candidates], splits))
    if splits:
        from refactor.link import suppress_caller_findings

        suppress_caller_findings([r for r in results if r.kind == "caller"], settings)
    notices: list[str] = list(start)
    if add_ignore:
        notices += _add_ignores(paths, candidates, results)
    if stdin_result is not None:
        results.append(stdin_result)
    if cache is not None:
        cache.finish()
        notices += cache.warnings
    return RunResult(results, stdin_result, notices)


def _open_cache(settings: Settings):
    """The result cache of this run (``refactor.cache``), or None when it is off."""
    if not settings.cache_dir:
        return None
    from refactor.cache import ResultCache

    return ResultCache(settings.cache_dir)


def _process_stdin(stdin: Stdin, settings: Settings, debug: bool) -> FileResult:
    from refactor.engine import process_source
    from refactor.source import InputError, SourceFile
    from refactor.syntax.dockerfile import ParseError
    from refactor.syntax.pragmas import PragmaError

    try:
        src = SourceFile.from_bytes(stdin.display, stdin.data)
        return process_source(src, stdin.display, settings, stdin.context_dir)
    except InputError as exc:
        return FileResult(stdin.display, status="error", error=str(exc))
    except ParseError as exc:
        return FileResult(stdin.display, status="error", error=f"parse error: {exc.shown()}")
    except PragmaError as exc:
        return FileResult(stdin.display, status="error", error=f"bad dfix comment: {exc}")
    except Exception as exc:
        if debug:
            raise
        return FileResult(stdin.display, status="error", error=f"internal error: {type(exc).__name__}")


def _link_stdin(stdin: Stdin, r: FileResult, settings: Settings, excludes: tuple[str, ...]) -> FileResult:
    """A Dockerfile read from stdin is printed, never written with its callers: a caller that
    passes one of its migrated names as a build arg cannot follow, so it blocks the fix (as
    ``--callers=given`` does for a caller not given). Only with ``--stdin-filename``, which says
    where the file lives and so which callers build it."""
    if stdin.context_dir is None or r.status != "ok" or not r.migrated:
        return r
    from refactor.discovery import Candidate
    from refactor.link import link_callers

    c = Candidate(stdin.display, stdin.display)
    linked = link_callers(
        [stdin.display],
        [c],
        [r],
        [settings],
        excludes,
        settings=settings,
        given={os.path.realpath(stdin.display)},
        only_names=frozenset(r.migrated),
    )
    return linked.apply([c], [r], [settings])[0]


def _add_ignores(paths: list[str], candidates, results: list[FileResult]) -> list[str]:
    """``--add-ignore``: a baseline of ``dfix: ignore[...]`` comments for the remaining findings,
    in each file's own comment syntax. Returns the lines to print."""
    from refactor.link import add_caller_ignores
    from refactor.write import WriteRefused, add_ignores

    notices = []
    by_path = {r.fs_path: r for r in results if r.kind != "caller" and r.fs_path}
    todo = [(c.path, by_path.get(c.path), add_ignores) for c in candidates]
    todo += [(r.fs_path, r, add_caller_ignores) for r in results if r.kind == "caller" and r.fs_path]
    for path, r, add in todo:
        if r is None or r.status != "ok" or not r.findings:
            continue
        try:
            n = add(path, r.findings, _write_root(path, paths, top_root(paths) if r.kind == "caller" else None))
        except WriteRefused as exc:
            r.status, r.error = "error", f"not written: {exc.strerror}"
            continue
        except OSError as exc:
            r.status, r.error = "error", f"cannot write: {exc.strerror}"
            continue
        if n:
            notices.append(f"added {n} ignore comment(s) to {r.path}")
            r.findings = []
    return notices


def _split_findings(dirs: list[str], settings, known: dict[str, list[tuple] | PackedEvents] | None = None, cache=None) -> dict[str, list]:
    """DF010 findings by absolute file path: a secret that feeds builds and also publishes,
    reported on the file where the read happens. ``known``: the Dockerfiles the workers parsed
    (absolute path -> their scan events), which the scan does not read again. ``cache``: the
    run's result cache, which holds each directory's scan while the files it reads are unchanged."""
    out: dict[str, list] = {}
    if not dirs or not settings.selection.enabled("DF010"):
        return out
    from refactor.results import FindingOut
    from refactor.rules import BY_CODE

    rule = BY_CODE["DF010"]
    seen = set()
    for d in dirs:
        rows, pending = cache.scan_lookup(d) if cache is not None else (None, None)
        if rows is None:
            try:
                from refactor.supply.split import find_credential_splits

                splits = find_credential_splits(d, known)
            except Exception:  # noqa: BLE001 - a repository-level advisory must never fail the run
                continue
            rows = [[sp.read_site.path, sp.read_site.line, sp.variable, sp.message] for sp in splits]
            if cache is not None:
                cache.scan_store(pending, rows)
        for path, line, variable, message in rows:
            full = os.path.abspath(path if os.path.isabs(path) else os.path.join(d, path))
            key = (full, line, variable)
            if key in seen:
                continue
            seen.add(key)
            out.setdefault(full, []).append(
                FindingOut("DF010", rule.name, variable, rule.secret, rule.severity, message, line, 1, line, 1, None)
            )
    return out


def _write_root(fs_path: str | None, given: list[str], fallback: str | None = None) -> str | None:
    """The scanned directory a file was found under, which a write through a symlink must not
    leave; None for a file named on the command line (its link is written through, as asked).
    Callers are searched from the repository root: ``fallback``."""
    if not fs_path:
        return None
    a = os.path.abspath(fs_path)
    if any(os.path.abspath(g) == a for g in given if g != "-"):
        return None
    for g in given:
        if g != "-" and os.path.isdir(g) and a.startswith(os.path.abspath(g).rstrip(os.sep) + os.sep):
            return g
    return fallback


def _with_splits(results, candidates_paths, splits: dict[str, list]):
    """Attach DF010 findings to streamed results; files not processed become caller entries,
    merged into the path order."""
    import heapq

    extra = _split_extras(candidates_paths, splits)

    def attach():
        for r in results:
            fs = splits.get(os.path.abspath(r.fs_path or r.path))
            if fs and r.kind == "dockerfile":
                r.findings.extend(fs)
                r.findings.sort(key=lambda f: (f.line, f.column, f.code))
            yield r

    return heapq.merge(attach(), extra, key=lambda r: r.path)


def _split_extras(candidates_paths, splits: dict[str, list]) -> list[FileResult]:
    """DF010 findings on files the run did not process: caller entries of their own, by path."""
    from refactor.results import FileResult

    extra = []
    done = {os.path.abspath(p) for p in candidates_paths}
    for full, fs in splits.items():
        if full not in done:
            r = FileResult(os.path.relpath(full), kind="caller")
            r.findings.extend(fs)
            extra.append(r)
    extra.sort(key=lambda r: r.path)
    return extra


def _run_files(candidates, per_file, jobs: int, cache=None, packed: bool = False):
    if cache is not None:
        yield from _run_cached(candidates, per_file, jobs, cache)
        return
    from refactor.engine import process_file

    n = len(candidates)
    if jobs <= 0:
        jobs = (os.cpu_count() or 1) if n >= 64 else 1
    if jobs == 1 or n <= 1:
        for c, st in zip(candidates, per_file):
            yield process_file(c.path, c.display, st)
        return
    from concurrent.futures import ProcessPoolExecutor

    # warm the analysis stack once: forked workers inherit it instead of importing it each
    import refactor.analyze  # noqa: F401
    from refactor.analysis.shell import _parser

    _parser()
    with ProcessPoolExecutor(max_workers=jobs, initializer=_die_with_parent) as pool:
        chunk = max(1, min(64, n // (jobs * 4) or 1))
        if packed:  # each worker packs its results: the parent only stores bytes (refactor.run_packed)
            from refactor.run_packed import process_file_packed

            yield from pool.map(
                process_file_packed, [c.path for c in candidates], [c.display for c in candidates], per_file, chunksize=chunk
            )
            return
        yield from pool.map(process_file, [c.path for c in candidates], [c.display for c in candidates], per_file, chunksize=chunk)


def _run_cached(candidates, per_file, jobs: int, cache):
    """``_run_files`` with the result cache: every file is looked up here first; the misses are
    processed (in workers when there are many) and merged back in candidate order, their entries
    kept for the cache to write at the end of the run. When every file hits, nothing of the
    analysis stack is imported."""
    from refactor.cache import process_recorded

    looked = [cache.lookup(c.path, c.display, st) for c, st in zip(candidates, per_file)]
    todo = [(c, st, pending) for c, st, (hit, pending) in zip(candidates, per_file, looked) if hit is None]
    n = len(todo)
    if jobs <= 0:
        jobs = (os.cpu_count() or 1) if n >= 64 else 1
    if jobs == 1 or n <= 1:
        computed: Iterator = (process_recorded(c.path, c.display, st, p) for c, st, p in todo)
        yield from _merge_cached(looked, computed, cache)
        return
    from concurrent.futures import ProcessPoolExecutor

    # warm the analysis stack once: forked workers inherit it instead of importing it each
    import refactor.analyze  # noqa: F401
    from refactor.analysis.shell import _parser

    _parser()
    with ProcessPoolExecutor(max_workers=jobs, initializer=_die_with_parent) as pool:
        chunk = max(1, min(64, n // (jobs * 4) or 1))
        computed = pool.map(
            process_recorded,
            [c.path for c, _, _ in todo],
            [c.display for c, _, _ in todo],
            [st for _, st, _ in todo],
            [p for _, _, p in todo],
            chunksize=chunk,
        )
        yield from _merge_cached(looked, computed, cache)


def _merge_cached(looked, computed, cache):
    for hit, pending in looked:
        if hit is not None:
            yield hit
            continue
        result, entry = next(computed)
        cache.add(pending, entry)
        yield result


def _die_with_parent() -> None:
    """Pool workers exit when the parent dies (SIGKILL, OOM) instead of blocking forever."""
    import signal

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:
        os._exit(1)  # the parent is already gone


def top_root(paths) -> str | None:
    from refactor.reporoot import repo_root

    return repo_root(list(paths))

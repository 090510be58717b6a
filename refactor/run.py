"""One dfix run over paths, end to end: discover → process each file (in workers for large runs)
→ plan the callers with their Dockerfiles → write (all-or-nothing per group) → attach the
repository-level DF010 findings → add ignore comments (``--add-ignore``).

``run`` returns a :class:`RunResult`; it prints nothing. ``refactor.cli`` turns flags and config
into :class:`~refactor.settings.Settings`, calls it, and renders the result.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import field, replace
from typing import TYPE_CHECKING

from refactor.records import dataclass
from refactor.results import FileResult
from refactor.settings import Mode, Settings
from refactor.walk import absolute

if TYPE_CHECKING:
    from refactor.run_packed import PackedResults


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
    dirs: list[str] = []
    candidates = discover([p for p in paths if p != "-"], excludes, respect_gitignore, dirs)
    from refactor.journal_dirs import any_journal_dir

    # a group an interrupted --write left half written: completed first (write), else reported
    files = [c.path for c in candidates]
    start: list[str] = []
    if settings.mode is Mode.WRITE or any_journal_dir(files):
        from refactor import journal

        start = journal.recover_for(files, strict=False) if settings.mode is Mode.WRITE else journal.pending_for(files)
    per_file = [settings_for(c.path) for c in candidates]
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
    known = {absolute(c.path): r.split_events for c, r in zip(candidates, results) if r.split_events is not None}
    results = [replace(r, split_events=None) if r.split_events is not None else r for r in results]
    from refactor.run_splits import _split_findings, _with_splits

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
        linked = link_callers(
            list(paths), candidates, results, per_file, excludes, settings=settings, given=given, only_names=names, cache=cache
        )
        results = linked.apply(candidates, results, per_file)
        callers = linked.callers
        if settings.mode is Mode.WRITE:
            from refactor.write import write_planned

            top = top_root(paths)
            root_of = _WriteRoots(paths)
            planned = write_planned(results + callers, [root_of(r.fs_path, top if r.kind == "caller" else None) for r in results + callers])
            results, callers = planned[: len(results)], planned[len(results) :]
        results = sorted(results + callers, key=lambda r: r.path)
    results = list(_with_splits(results, [c.path for c in candidates], splits))
    if splits:
        from refactor.link import suppress_caller_findings

        results = suppress_caller_findings(results, settings)
    notices: list[str] = list(start)
    if add_ignore:
        results, added = _add_ignores(paths, candidates, results)
        notices += added
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
        return FileResult.failure(stdin.display, str(exc))
    except ParseError as exc:
        return FileResult.failure(stdin.display, f"parse error: {exc.shown()}")
    except PragmaError as exc:
        return FileResult.failure(stdin.display, f"bad dfix comment: {exc}")
    except Exception as exc:
        if debug:
            raise
        return FileResult.failure(stdin.display, f"internal error: {type(exc).__name__}")


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


def _add_ignores(paths: list[str], candidates, results: list[FileResult]) -> tuple[list[FileResult], list[str]]:
    """``--add-ignore``: a baseline of ``dfix: ignore[...]`` comments for the remaining findings,
    in each file's own comment syntax. Returns the results after it (no findings left where the
    comments went in, an error where they could not) and the lines to print."""
    from refactor.link import add_caller_ignores
    from refactor.write import WriteRefused, add_ignores

    notices = []
    out = list(results)
    index = {id(r): i for i, r in enumerate(results)}
    by_path = {r.fs_path: r for r in results if r.kind != "caller" and r.fs_path}
    todo = [(c.path, by_path.get(c.path), add_ignores) for c in candidates]
    todo += [(r.fs_path, r, add_caller_ignores) for r in results if r.kind == "caller" and r.fs_path]
    root_of = _WriteRoots(paths)
    for path, r, add in todo:
        if r is None or r.status != "ok" or not r.findings:
            continue
        i = index[id(r)]
        try:
            n = add(path, r.findings, root_of(path, top_root(paths) if r.kind == "caller" else None))
        except WriteRefused as exc:
            out[i] = r.failed(f"not written: {exc.strerror}")
            continue
        except OSError as exc:
            out[i] = r.failed(f"cannot write: {exc.strerror}")
            continue
        if n:
            notices.append(f"added {n} ignore comment(s) to {r.path}")
            out[i] = r.with_findings(())
    return out, notices


class _WriteRoots:
    """The scanned directory a file was found under, which a write through a symlink must not
    leave; None for a file named on the command line (its link is written through, as asked).
    Callers are searched from the repository root: ``fallback``. The given paths are resolved once
    (each file used to resolve and stat every given path: quadratic in a run naming 1,000 files)."""

    def __init__(self, given: list[str]) -> None:
        self.named: set[str] = set()
        self.dirs: list[tuple[str, str]] = []  # (absolute directory + separator, as given)
        for g in given:
            if g == "-":
                continue
            a = absolute(g)
            self.named.add(a)
            if os.path.isdir(g):
                self.dirs.append((a.rstrip(os.sep) + os.sep, g))

    def __call__(self, fs_path: str | None, fallback: str | None = None) -> str | None:
        if not fs_path:
            return None
        a = absolute(fs_path)
        if a in self.named:
            return None
        for prefix, g in self.dirs:
            if a.startswith(prefix):
                return g
        return fallback


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

    _warm_workers(per_file)
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

    _warm_workers(per_file)
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


def _warm_workers(per_file) -> None:
    """Import, compile and load in the parent what every worker needs (the analysis stack, its
    lazily compiled patterns, the templates of the emit targets): forked workers inherit it
    instead of each doing it again. Only a head start: whatever fails here fails again, and is
    reported, where a worker needs it."""
    try:
        import refactor.engine  # noqa: F401
        from refactor import lazyre
        from refactor.analysis import literals  # noqa: F401
        from refactor.analysis.shell import _parser
        from refactor.emit import TARGETS, environment
        from refactor.supply import steps  # noqa: F401
        from refactor.syntax import buildkit  # noqa: F401

        _parser()
        for target in {t for st in per_file[:1] for t in st.emit if t in TARGETS} - {"docker"}:
            environment().get_template(f"{target}.j2")  # (docker's recipe needs no template)
        lazyre.compile_all()
    except Exception:  # noqa: BLE001 - see the docstring
        pass


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

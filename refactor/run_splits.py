"""DF010 in a run: the credential-split scan over the scanned directories, its findings attached
to the results of the files where the read happens, and entries of their own for files the run
did not process (for :mod:`refactor.run` and :mod:`refactor.run_packed`)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from refactor.results import FileResult

if TYPE_CHECKING:
    from refactor.supply.split_scanner import PackedEvents


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


def _with_splits(results, candidates_paths, splits: dict[str, list]):
    """Attach DF010 findings to streamed results; files not processed become caller entries,
    merged into the path order."""
    import heapq

    extra = _split_extras(candidates_paths, splits)

    from refactor.walk import absolute

    def attach():
        for r in results:
            fs = splits.get(absolute(r.fs_path or r.path)) if splits else None
            if fs and r.kind == "dockerfile":
                r = with_split_findings(r, fs)
            yield r

    return heapq.merge(attach(), extra, key=lambda r: r.path)


def with_split_findings(r: FileResult, fs: list) -> FileResult:
    """``r`` with its DF010 findings, in position order."""
    return r.with_findings(sorted([*r.findings, *fs], key=lambda f: (f.line, f.column, f.code)))


def _split_extras(candidates_paths, splits: dict[str, list]) -> list[FileResult]:
    """DF010 findings on files the run did not process: caller entries of their own, by path."""
    extra = []
    # (only the candidates that may be one of them: a set of every candidate's absolute path was
    # the peak of a 20,000-file run)
    names = {os.path.basename(full) for full in splits}
    done = {os.path.abspath(p) for p in candidates_paths if os.path.basename(p) in names} if names else set()
    for full, fs in splits.items():
        if full not in done:
            extra.append(FileResult(os.path.relpath(full), kind="caller", findings=tuple(fs)))
    extra.sort(key=lambda r: r.path)
    return extra

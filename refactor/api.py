"""Programmatic entry points (used by ``dfix verify``, the e2e tests and the benchmarks).

``plan_file(path)`` analyses one Dockerfile and returns its original text, the fixed text that
``--write`` would produce, and the :class:`~refactor.buildspec.BuildSpec` of the emitted command.
"""

from __future__ import annotations

from refactor.buildspec import BuildSpec
from refactor.records import dataclass


@dataclass(frozen=True)
class Planned:
    path: str
    original: str  # decoded text (BOM excluded)
    fixed: str  # what --write would write (== original when nothing changes)
    build: BuildSpec | None  # how to build ``fixed`` (None: the file says ``# dfix: skip-file``)
    secret_args: tuple[str, ...]  # build-arg names dfix judged secret (the original build passed these)
    findings: tuple  # refactor.findings.Finding objects


def plan_file(path: str, *, mount_style: str = "auto", unsafe_fixes: bool = False, context: str | None = None) -> Planned:
    """Analyse and plan one Dockerfile without writing anything.

    Raises :class:`refactor.source.InputError` or :class:`refactor.syntax.dockerfile.ParseError`
    for files dfix cannot process.
    """
    import os

    from refactor.analyze import analyze
    from refactor.engine import process_source
    from refactor.fixes.plan import Options
    from refactor.settings import Mode, Settings
    from refactor.source import read_source

    source = read_source(path)
    ctx = context or os.path.dirname(path) or "."
    settings = Settings(mode=Mode.DIFF, unsafe_fixes=unsafe_fixes, mount_style=mount_style)
    result = process_source(source, path, settings, ctx)
    if result.status == "error":
        raise RuntimeError(result.error)
    analysis = analyze(source, Options(mount_style=mount_style, context_dir=ctx))
    secret_args = tuple(p.name for p in analysis.plans)
    return Planned(path, source.text, result.new_text or source.text, result.build, secret_args, tuple(result.findings))

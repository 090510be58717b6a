"""Programmatic entry points (used by ``dfix verify``, the e2e tests and the benchmarks).

``plan_file(path)`` analyses one Dockerfile and returns its original text, the fixed text that
``--write`` would produce, and the :class:`~refactor.build.BuildSpec` of the emitted command.
"""

from __future__ import annotations

from dataclasses import dataclass

from refactor.build import BuildSpec


@dataclass(frozen=True)
class Planned:
    path: str
    original: str  # decoded text (BOM excluded)
    fixed: str  # what --write would write (== original when nothing changes)
    build: BuildSpec  # how to build ``fixed``
    secret_args: tuple[str, ...]  # build-arg names dfix judged secret (the original build passed these)
    findings: tuple  # refactor.findings.Finding objects


def plan_file(path: str, *, mount_style: str = "env", unsafe_fixes: bool = False) -> Planned:
    """Analyse and plan one Dockerfile without writing anything."""
    raise NotImplementedError("implemented with the rewrite engine")

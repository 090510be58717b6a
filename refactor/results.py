"""What dfix reports per file: findings, their fixes, the rewrite, the build it needs.

Plain, picklable data (a process pool produces them). ``FileResult.outcome`` tags a result as
``fixed``, ``unchanged``, ``skipped`` or ``failed``; renderers and the report read results, and
only the engine, the caller linking and the writer produce or amend them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from refactor.buildspec import BuildSpec
from refactor.fixes.edit import Edit


class Outcome(StrEnum):
    FIXED = "fixed"  # the file changes (after --write: it was rewritten)
    UNCHANGED = "unchanged"  # processed; nothing to change
    SKIPPED = "skipped"  # left alone on purpose (# dfix: skip-file)
    FAILED = "failed"  # could not be read, parsed or written


@dataclass
class FixOut:
    title: str
    applicability: str
    applied: bool
    reasons: list[str]
    included: bool = False  # part of this run's rewrite (so SARIF may attach it)
    # this fix's own edits against the original text, in application order (SARIF attaches only
    # these to a finding); None when not known as such (digest pins apply to the rewritten text,
    # callers are planned per file): SARIF then falls back to a diff of the lines it touches
    edits: tuple[Edit, ...] | None = field(default=None, repr=False)


@dataclass
class FindingOut:
    code: str
    name: str
    variable: str | None
    secret: bool
    severity: str
    message: str
    line: int
    column: int
    end_line: int
    end_column: int
    fix: FixOut | None

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "variable": self.variable,
            "secret": self.secret,
            "severity": self.severity,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "fix": None
            if self.fix is None
            else {
                "title": self.fix.title,
                "applicability": self.fix.applicability,
                "applied": self.fix.applied,
                "reasons": list(self.fix.reasons),
            },
        }


@dataclass
class FileResult:
    path: str  # display path
    kind: str = "dockerfile"
    status: str = "ok"
    error: str | None = None
    changed: bool = False
    written: bool = False
    findings: list[FindingOut] = field(default_factory=list)
    build: BuildSpec | None = None
    emitted: dict[str, str] = field(default_factory=dict)
    command: str | None = None
    original: str | None = None
    new_text: str | None = None
    masks: list[str] = field(default_factory=list, repr=False)  # literal secrets to mask in diffs
    notes: list[str] = field(default_factory=list)
    runtime_env: list[str] = field(default_factory=list)
    migrated: list[str] = field(default_factory=list)
    bom: bool = False
    fs_path: str | None = None  # where to write (None: stdin)
    declared_args: list[str] = field(default_factory=list)  # ARG names of the original file
    declared_after: list[str] = field(default_factory=list)  # ARG names still declared after the fix
    stamp: tuple | None = field(default=None, repr=False)  # (size, mtime_ns, inode) when read
    write_root: str | None = None  # found under this scanned directory: writes must stay inside it
    linked: list[str] = field(default_factory=list)  # caller: real paths of the Dockerfiles its edits go with
    env_mounts: bool = False  # the rewrite mounts a secret with env=, which podman and buildah cannot (known without the text)
    split_events: list[tuple] | None = field(default=None, repr=False)  # for the DF010 scan (refactor.supply.split)

    @property
    def outcome(self) -> Outcome:
        if self.status == "error":
            return Outcome.FAILED
        if self.changed:
            return Outcome.FIXED
        if any(n.startswith("skipped by") for n in self.notes):
            return Outcome.SKIPPED
        return Outcome.UNCHANGED

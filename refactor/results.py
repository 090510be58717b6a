"""What dfix reports per file: findings, their fixes, the rewrite, the build it needs.

Frozen, picklable data (a process pool produces them). ``FileResult.outcome`` tags a result as
``fixed``, ``unchanged``, ``skipped`` or ``failed``. A result is never changed once made: the
engine makes it, and the later steps of a run (caller linking, DF010, mask sharing, the writer,
``--add-ignore``) make new ones with :func:`dataclasses.replace` (``refused`` for a write that is
not done); renderers and the report only read them.
"""

from __future__ import annotations

from dataclasses import field, replace
from enum import StrEnum

from refactor.buildspec import BuildSpec
from refactor.fixes.edit import Edit
from refactor.records import dataclass


class Outcome(StrEnum):
    FIXED = "fixed"  # the file changes (after --write: it was rewritten)
    UNCHANGED = "unchanged"  # processed; nothing to change
    SKIPPED = "skipped"  # left alone on purpose (# dfix: skip-file)
    FAILED = "failed"  # could not be read, parsed or written


@dataclass(frozen=True)
class FixOut:
    title: str
    applicability: str
    applied: bool
    reasons: tuple[str, ...]
    included: bool = False  # part of this run's rewrite (so SARIF may attach it)
    # this fix's own edits against the original text, in application order (SARIF attaches only
    # these to a finding); None when not known as such (digest pins apply to the rewritten text,
    # callers are planned per file): SARIF then falls back to a diff of the lines it touches
    edits: tuple[Edit, ...] | None = field(default=None, repr=False)


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class FileResult:
    path: str  # display path
    kind: str = "dockerfile"
    outcome: Outcome = Outcome.UNCHANGED  # FIXED exactly when changed, unless FAILED
    error: str | None = None
    changed: bool = False  # the rewrite differs from the file (a FAILED write may have one)
    written: bool = False
    findings: tuple[FindingOut, ...] = ()
    build: BuildSpec | None = None
    emitted: dict[str, str] = field(default_factory=dict)  # (never changed once made)
    command: str | None = None
    original: str | None = None
    new_text: str | None = None
    masks: tuple[str, ...] = field(default=(), repr=False)  # literal secrets to mask in diffs
    notes: tuple[str, ...] = ()
    runtime_env: tuple[str, ...] = ()
    migrated: tuple[str, ...] = ()
    bom: bool = False
    fs_path: str | None = None  # where to write (None: stdin)
    declared_args: tuple[str, ...] = ()  # ARG names of the original file
    declared_after: tuple[str, ...] = ()  # ARG names still declared after the fix
    stamp: tuple | None = field(default=None, repr=False)  # (size, mtime_ns, inode) when read
    write_root: str | None = None  # found under this scanned directory: writes must stay inside it
    linked: tuple[str, ...] = ()  # caller: real paths of the Dockerfiles its edits go with
    env_mounts: bool = False  # the rewrite mounts a secret with env=, which podman and buildah cannot (known without the text)
    split_events: list[tuple] | None = field(default=None, repr=False)  # for the DF010 scan (refactor.supply.split)

    def __post_init__(self) -> None:
        for name in _SEQUENCES:  # (a list given is kept as a tuple: nothing can change it later)
            v = getattr(self, name)
            if type(v) is not tuple:
                object.__setattr__(self, name, tuple(v))
        if self.outcome is not Outcome.FAILED and (self.outcome is Outcome.FIXED) != self.changed:
            raise ValueError(f"a {self.outcome} result must {'not ' if not self.changed else ''}change the file")

    @property
    def status(self) -> str:
        """``error`` for a failed result, else ``ok`` (the JSON field)."""
        return "error" if self.outcome is Outcome.FAILED else "ok"

    @classmethod
    def failure(cls, path: str, error: str, **kw) -> FileResult:
        return cls(path, outcome=Outcome.FAILED, error=error, **kw)

    def failed(self, error: str) -> FileResult:
        """This result, failed with ``error`` (what it found is kept)."""
        return replace(self, outcome=Outcome.FAILED, error=error)

    def with_findings(self, findings) -> FileResult:
        return replace(self, findings=tuple(findings))


_SEQUENCES = ("findings", "masks", "notes", "runtime_env", "migrated", "declared_args", "declared_after", "linked")


def outcome_of(changed: bool, skipped: bool = False) -> Outcome:
    if skipped:
        return Outcome.SKIPPED
    return Outcome.FIXED if changed else Outcome.UNCHANGED

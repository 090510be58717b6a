"""The caller model: invocations found in a repository and the plan that migrates one caller file.

Offsets are into the caller file's decoded text (UTF-8 without BOM, no newline translation), the
same convention as :class:`refactor.source.SourceFile`. No value found in a caller is ever stored
here: ``BuildArgUse.source`` names the *variable* a value comes from, never a literal.
"""

from __future__ import annotations

from dataclasses import field

from refactor.buildspec import SecretSpec
from refactor.fixes.edit import Edit
from refactor.records import dataclass

VALUE_KINDS = ("passthrough", "env", "local", "ci-secret", "literal", "unknown")


@dataclass(frozen=True)
class BuildArgUse:
    name: str  # build arg name (NPM_TOKEN); "" when it is computed at run time (--build-arg "$ARGS")
    value_kind: str  # one of VALUE_KINDS
    source: str | None  # the variable the value comes from, or None; never the literal value
    start: int  # span of the whole occurrence to replace (the flag included)
    end: int


@dataclass(frozen=True)
class Invocation:
    path: str  # caller file (absolute)
    kind: str  # a caller kind (refactor.callers.kinds)
    dockerfile: str | None  # realpath of the Dockerfile it builds, None when it cannot be resolved
    context: str | None  # realpath of the build context directory, None when unknown
    build_args: tuple[BuildArgUse, ...]
    start: int  # span of the whole invocation (command / service / target / step)
    end: int
    migratable: bool = True
    reason: str | None = None
    tool: str = "docker"  # the builder: docker | podman | buildah | nerdctl | kaniko (secret-mount support differs)


@dataclass
class CallerPlan:
    path: str
    edits: list[Edit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rotate: list[str] = field(default_factory=list)
    unmigratable: list[str] = field(default_factory=list)

    def add_note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def add_rotate(self, name: str) -> None:
        if name not in self.rotate:
            self.rotate.append(name)

    def add_unmigratable(self, reason: str) -> None:
        if reason not in self.unmigratable:
            self.unmigratable.append(reason)

    def merge(self, other: CallerPlan) -> None:
        for e in other.edits:
            if e not in self.edits:
                self.edits.append(e)
        for n in other.notes:
            self.add_note(n)
        for r in other.rotate:
            self.add_rotate(r)
        for u in other.unmigratable:
            self.add_unmigratable(u)


@dataclass(frozen=True)
class Target:
    """One invocation and what the Dockerfile rewrite did to the Dockerfile it builds.

    ``migrated`` maps each build-arg name the rewrite removed to its :class:`SecretSpec`, or to
    ``None`` when the ARG is gone and nothing reads it (the caller just stops passing it).
    ``declared`` (optional) is the set of ARG names that Dockerfile still declares after the rewrite;
    it matters only where one step builds several Dockerfiles (a matrix): a name migrated for one
    entry but still declared by another cannot be migrated in the shared step.
    """

    invocation: Invocation
    migrated: dict[str, SecretSpec | None]
    declared: frozenset[str] | None = None

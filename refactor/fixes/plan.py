"""The plan model: findings, one secret's migration plan, a file's analysis, the build contract."""

from __future__ import annotations

import re
from dataclasses import field

from refactor.analysis.facts import PLATFORM_ARGS, PROXY_ARGS, Facts, VarItem
from refactor.analysis.secrets import Policy, Verdict
from refactor.analysis.shell import FileWrite
from refactor.buildspec import BuildSpec, SecretSpec
from refactor.fixes.edit import Edit, Fix
from refactor.records import dataclass
from refactor.rules import BY_CODE
from refactor.source import SourceFile
from refactor.syntax.dockerfile import Dockerfile


@dataclass
class Options:
    mount_style: str = "auto"  # auto | env | file
    policy: Policy = field(default_factory=Policy)
    context_dir: str | None = None  # build context, for reading config files
    require_secrets: bool = False
    emit: tuple[str, ...] = ("docker",)
    display_path: str | None = None


@dataclass
class Finding:
    code: str
    variable: str | None
    message: str
    start: int
    end: int
    fix: Fix | None = None
    severity: str | None = None

    @property
    def rule(self):
        return BY_CODE[self.code]

    @property
    def secret(self) -> bool:
        return self.rule.secret


@dataclass
class Removal:
    instr: int
    item: VarItem


@dataclass
class SecretPlan:
    name: str  # the build arg
    id: str
    verdict: Verdict
    fix: Fix
    removals: list[Removal] = field(default_factory=list)
    mounts: dict[int, list[tuple[str, str, str]]] = field(default_factory=dict)  # run -> [(id, env, why)]
    exports: dict[int, list[str]] = field(default_factory=dict)  # run -> ["X=\"...\""]
    runtime_env: list[str] = field(default_factory=list)
    undecided: dict[int, str] = field(default_factory=dict)  # run -> the program that could read anything
    notes: list[str] = field(default_factory=list)
    folds: list[Fold] = field(default_factory=list)
    specs: list[SecretSpec] = field(default_factory=list)  # extra secrets (file mounts) this plan needs
    file_mounts: dict[int, list[str]] = field(default_factory=dict)  # run -> ["--mount=type=secret,id=x,target=/p"]
    ssh_mounts: set[int] = field(default_factory=set)  # runs that get --mount=type=ssh
    extra_edits: list[Edit] = field(default_factory=list)
    # the ``export V="…" && `` prefixes among the fix's edits: applied with other plans, each goes
    # ahead of any other text inserted at its point (a folded write), so the RUN's exports stay
    # leading (what the rewrite check, and a later run's planner, read as the RUN's environment)
    leading: list[Edit] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)  # image paths the fix removes (a runtime change)

    @property
    def read_by_build(self) -> bool:
        """Some build step reads the secret (a mount, a folded or exported file, an extra edit);
        otherwise the fix only drops declarations (an unused ARG, an ENV copy)."""
        return bool(self.mounts or self.file_mounts or self.ssh_mounts or self.folds or self.exports or self.extra_edits)


@dataclass
class Fold:
    """A persistent credential-file write moved into each RUN that needs the file."""

    write_run: int
    write: FileWrite
    consumers: list[int]
    whole: bool  # the write is the write RUN's entire script: the RUN goes
    drop_runs: list[int] = field(default_factory=list)  # later RUNs that only removed the file


@dataclass
class FileAnalysis:
    source: SourceFile
    df: Dockerfile
    facts: Facts
    findings: list[Finding]
    plans: list[SecretPlan]
    mount_style: str
    notes: list[str]
    existing_secrets: list[SecretSpec]

    @property
    def fixes(self) -> list[Fix]:
        seen: list[Fix] = []
        for f in self.findings:
            if f.fix is not None and all(f.fix is not s for s in seen):
                seen.append(f.fix)
        return seen


def build_spec(analysis: FileAnalysis, applied_plans: list[SecretPlan], dockerfile: str, context: str) -> BuildSpec:
    """The build command's contract after the accepted fixes."""
    secrets: dict[str, SecretSpec] = {s.id: s for s in analysis.existing_secrets}
    for p in applied_plans:
        if p.mounts:
            secrets[p.id] = SecretSpec(p.id, "env", p.name, None)
        if p.file_mounts:
            for spec in p.specs:
                secrets[spec.id] = spec
    removed = {p.name for p in applied_plans}
    args: dict[str, None] = {}  # (ordered, and a set: 8,000 ARGs were a quadratic list scan)
    defaulted_globals = {g.name for g in analysis.facts.global_args if g.raw is not None}
    for it in analysis.facts.items:
        if it.kind != "ARG" or it.raw is not None or it.name in removed:
            continue
        if it.name in PROXY_ARGS or it.name in PLATFORM_ARGS or it.name in args:
            continue
        # a stage ARG without default that re-declares a global ARG with a default needs nothing
        if it.stage >= 0 and it.name in defaulted_globals:
            continue
        args[it.name] = None
    notes = []
    for p in applied_plans:
        notes.extend(p.notes)
    ssh = ("default",) if any(p.ssh_mounts for p in applied_plans) else ()
    secret_names = {p.name for p in analysis.plans}
    return BuildSpec(
        dockerfile,
        context,
        tuple(sorted(secrets.values(), key=lambda s: s.id)),
        ssh,
        tuple(args),
        tuple(notes),
        tuple(a for a in args if a in secret_names),
    )


def secret_id(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_.-]", "_", name.lower()) or "secret"
    sid = base
    n = 2
    while sid in taken:
        sid = f"{base}_{n}"
        n += 1
    taken.add(sid)
    return sid


def mount_opts(value: str) -> dict[str, str]:
    opts = {}
    for part in value.split(","):
        k, _, v = part.partition("=")
        opts[k.strip().lower()] = v.strip()
    return opts


def verdict_why(v: Verdict) -> str:
    reasons = [e.reason for e in v.evidence if e.weight > 0]
    return "; ".join(reasons[:3]) or "configured as secret"

"""Analyse one Dockerfile: detect secrets, plan their migration to secret mounts.

The pipeline is parse → facts → verdicts → findings with fixes → build spec. Nothing here does
I/O except reading small files from the build context (``.npmrc`` and other config files that
tools expand ``${VAR}`` in), which is optional.
"""

from __future__ import annotations

import bisect
import json
import operator
import os
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from functools import lru_cache

from refactor.analysis import implicit
from refactor.analysis.facts import PLATFORM_ARGS, PROXY_ARGS, Facts, VarItem, build_facts
from refactor.analysis.secrets import Evidence, Policy, Verdict, describe_value, holds_credential, judge, public_bundle_prefix
from refactor.analysis.shell import analyze_shell, auth_uses
from refactor.build import BuildSpec, SecretSpec
from refactor.fixes.edit import Applicability, Edit, Fix
from refactor.rules import BY_CODE
from refactor.source import SourceFile
from refactor.syntax.dockerfile import Command, Dockerfile, Instruction, parse

CONTEXT_FILES = (
    ".npmrc", ".yarnrc", ".yarnrc.yml", "pip.conf", "pip.ini", ".netrc", "settings.xml", "auth.json",
    "nuget.config", "NuGet.Config", ".pypirc", "poetry.toml", "uv.toml", ".condarc", "gradle.properties",
)
_SYNTAX_OK = re.compile(r"^(?:docker\.io/)?docker/dockerfile:1(?:\.(\d+)(?:\.\d+)?)?$")


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
    folds: list["Fold"] = field(default_factory=list)
    specs: list[SecretSpec] = field(default_factory=list)  # extra secrets (file mounts) this plan needs
    file_mounts: dict[int, list[str]] = field(default_factory=dict)  # run -> ["--mount=type=secret,id=x,target=/p"]
    ssh_mounts: set[int] = field(default_factory=set)  # runs that get --mount=type=ssh
    extra_edits: list[Edit] = field(default_factory=list)
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
    write: object  # refactor.analysis.shell.FileWrite
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


# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _context_listing(context_dir: str) -> frozenset[str]:
    try:
        return frozenset(os.listdir(context_dir))
    except OSError:
        return frozenset()


def _read_context_files(context_dir: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if not context_dir:
        return out
    present = _context_listing(context_dir)
    for name in CONTEXT_FILES:
        if name not in present:
            continue
        p = os.path.join(context_dir, name)
        try:
            if os.path.isfile(p) and os.path.getsize(p) < 256 * 1024:
                with open(p, encoding="utf-8", errors="replace") as fh:
                    out[name] = fh.read()
        except OSError:
            continue
    return out


def choose_mount_style(df: Dockerfile, requested: str, emit: tuple[str, ...]) -> tuple[str, str | None]:
    """Return (style, reason when the file form was forced)."""
    if requested in ("env", "file"):
        return requested, None
    if "podman" in emit:
        return "file", "podman/buildah accept env= in --mount only from buildah 1.44"
    syn = df.directive("syntax")
    if syn is not None:
        value = syn.value.split()[0] if syn.value else ""
        m = _SYNTAX_OK.match(value)
        if not m or (m.group(1) is not None and int(m.group(1)) < 10):
            return "file", f"'# syntax={value}' pins a Dockerfile frontend without secret env= support (needs >= 1.10)"
    return "env", None


def _secret_id(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_.-]", "_", name.lower()) or "secret"
    sid = base
    n = 2
    while sid in taken:
        sid = f"{base}_{n}"
        n += 1
    taken.add(sid)
    return sid


def _existing_secret_mounts(df: Dockerfile) -> list[SecretSpec]:
    out: dict[str, SecretSpec] = {}
    for ins in df.instructions:
        for fl in ins.effective.flags:
            if fl.name != "mount" or not fl.value:
                continue
            opts = _mount_opts(fl.value)
            if opts.get("type") != "secret":
                continue
            sid = opts.get("id") or os.path.basename(opts.get("target", opts.get("dst", "")))
            if not sid:
                continue
            env = opts.get("env")
            target = opts.get("target") or opts.get("dst") or opts.get("destination")
            if not env and target:
                # a file-target mount: the host file is most likely the context file of that name
                out.setdefault(sid, SecretSpec(sid, "file", None, os.path.basename(target)))
            else:
                out.setdefault(sid, SecretSpec(sid, "env", env or sid.upper(), None))
    return sorted(out.values(), key=lambda s: s.id)


def _mount_opts(value: str) -> dict[str, str]:
    opts = {}
    for part in value.split(","):
        k, _, v = part.partition("=")
        opts[k.strip().lower()] = v.strip()
    return opts


def _collect_uses(facts: Facts, name: str, ctx_files: dict[str, str]) -> list[Evidence]:
    uses: list[Evidence] = []
    seen: set[str] = set()

    def add(reason: str, weight: float, where: str) -> None:
        key = reason
        if key in seen:
            return
        seen.add(key)
        uses.append(Evidence("use", weight, f"{reason} ({where})"))

    for idx in facts.runs_mentioning(name):  # a RUN without the word cannot use $name
        for reason, weight in auth_uses(facts.runs[idx].script, name):
            add(reason, weight, f"line {facts.df.instructions[idx].start_line}")
    for it in facts.items_referencing(name):
        if it.kind in ("ENV", "ARG") and it.raw:
            for reason, weight in auth_uses(it.raw, name):
                add(reason, weight, f"{it.kind} {it.name}")
            if it.name != name and holds_credential(it.name):
                add("is copied into a credential-named variable", 2.0, f"{it.kind} {it.name}")
    for fname, content in ctx_files.items():
        for reason, weight in auth_uses(content, name):
            add(reason, weight, fname)
    return uses


def analyze(source: SourceFile, options: Options | None = None) -> FileAnalysis:
    options = options or Options()
    df = parse(source)
    facts = build_facts(df)
    ctx_files = _read_context_files(options.context_dir)
    style, style_reason = choose_mount_style(df, options.mount_style, options.emit)
    findings: list[Finding] = []
    notes: list[str] = []
    if style_reason:
        notes.append(f"file-form secret mounts: {style_reason}")

    # ---- verdicts for build args --------------------------------------------------------
    arg_order = list(dict.fromkeys(it.name for it in facts.items if it.kind == "ARG"))
    verdicts: dict[str, Verdict] = {}
    for name in arg_order:
        if name in PLATFORM_ARGS:
            continue
        items = facts.items_named(name, "ARG")
        default = next((i.value for i in items if i.value is not None), None)
        v = judge(name, default, _collect_uses(facts, name, ctx_files), options.policy)
        if public_bundle_prefix(name):
            prefix = public_bundle_prefix(name)
            if judge(name[len(prefix) :], None, (), options.policy).secret:
                for i in items[:1]:
                    findings.append(
                        Finding("DF005", name, f"{name} looks like a credential but {prefix}* variables are compiled into the client bundle; it can never be secret", i.start, i.end)
                    )
            continue
        if v.secret:
            verdicts[name] = v

    taken_ids: set[str] = {s.id for s in _existing_secret_mounts(df)}
    plans: list[SecretPlan] = []
    for name in arg_order:
        if name in verdicts:
            plans.append(_plan_secret(facts, name, verdicts[name], style, options, ctx_files, taken_ids, findings))

    plans.extend(_plan_credential_copies(facts, options, taken_ids, findings))

    # ---- ENV keys that are secrets on their own (runtime slots, committed values) -------------
    carried = {r.item.name for p in plans for r in p.removals if r.item.kind == "ENV"}
    for it in facts.items:
        if it.kind != "ENV" or it.name in carried:
            continue
        if it.refs and it.is_reference:
            _runtime_slot_note(facts, it, notes, options.policy)
            continue  # a copy of a (non-secret) variable
        if public_bundle_prefix(it.name):
            prefix = public_bundle_prefix(it.name)
            if judge(it.name[len(prefix) :], None, (), options.policy).secret:
                findings.append(
                    Finding("DF005", it.name, f"{it.name} looks like a credential but {prefix}* variables are compiled into the client bundle; it can never be secret", it.start, it.end)
                )
            continue
        v = judge(it.name, it.value, _collect_uses(facts, it.name, ctx_files), options.policy)
        if not v.secret:
            continue
        fix = Fix(f"Remove ENV {it.name}; pass it at run time with `docker run -e {it.name}`", [], Applicability.DISPLAY_ONLY)
        fix.reasons.append("the application may read it at run time; supply it with `docker run -e` or an orchestrator secret")
        findings.append(
            Finding(
                "DF002",
                it.name,
                f"ENV {it.name} stores a credential in the image config ({_why(v)}); value {describe_value(it.value)}",
                it.start,
                it.end,
                fix,
            )
        )
        if v.literal:
            findings.append(
                Finding("DF003", it.name, f"ENV {it.name} holds a committed credential ({describe_value(it.value)}); it stays in version control history and must be rotated", it.start, it.end)
            )

    _committed_literals(facts, findings)

    findings.sort(key=lambda f: (f.start, f.code))
    return FileAnalysis(source, df, facts, findings, plans, style, notes, _existing_secret_mounts(df))


def _runtime_slot_note(facts: Facts, it: VarItem, notes: list[str], policy: Policy) -> None:
    """``ENV X=$X`` where nothing declares X before it: BuildKit expands it to the empty string, so
    the image stores an empty value and nothing leaks (not a finding). When X names a credential
    the application presumably reads it at run time: say where it must come from."""
    ref = it.refs[0]
    if it.onbuild or it.stage < 0 or ref in facts.visible_at(it.instr):
        return
    if not judge(it.name, None, (), policy).secret:
        return
    line = facts.df.instructions[it.instr].start_line
    notes.append(
        f"ENV {it.name} (line {line}) copies ${ref}, which no ARG or earlier ENV declares: the image stores an empty value"
        f" (nothing leaks); supply {it.name} at run time (`docker run -e {it.name}` or an orchestrator secret)"
    )


def _committed_literals(facts: Facts, findings: list[Finding]) -> None:
    """DF003 for credentials committed outside ARG defaults and ENV values (those are judged with
    their variable): in a RUN, a LABEL, a heredoc, a CMD, a comment. The fix is display-only: the
    credential must be rotated and the new one passed with a secret mount by hand."""
    from refactor.analysis.literals import in_dockerfile

    hits = in_dockerfile(facts.df)
    if not hits:
        return
    item_spans = [(it.start, it.end) for it in facts.items if it.kind in ("ARG", "ENV")]
    for lit, idx, in_comment in hits:
        if not in_comment and any(s <= lit.start < e for s, e in item_spans):
            continue
        where = "a comment" if in_comment or idx is None else facts.df.instructions[idx].keyword.upper()
        n = sum(e - s for s, e in lit.pieces) if lit.pieces else lit.end - lit.start
        fix = Fix("Rotate the credential, then pass the new one with a secret mount (by hand)", [], Applicability.DISPLAY_ONLY)
        fix.reasons.append(
            "a literal cannot be moved out of a command safely: revoke it, define the new one as a build secret"
            " (`docker build --secret id=…,env=…`) and read it in the RUN with `--mount=type=secret,id=…,env=…`"
        )
        findings.append(
            Finding(
                "DF003",
                None,
                f"{where} holds a committed credential ({lit.kind}, <redacted: {n} chars>); it stays in version"
                " control history and in every image built from it: rotate it",
                lit.start,
                lit.end,
                fix,
            )
        )


def _why(v: Verdict) -> str:
    reasons = [e.reason for e in v.evidence if e.weight > 0]
    return "; ".join(reasons[:3]) or "configured as secret"


# --------------------------------------------------------------------------------------------
# Planning one secret's migration


def _plan_secret(
    facts: Facts,
    name: str,
    verdict: Verdict,
    style: str,
    options: Options,
    ctx_files: dict[str, str],
    taken_ids: set[str],
    findings: list[Finding],
) -> SecretPlan:
    df = facts.df
    sid = _secret_id(name, taken_ids)
    arg_items = facts.items_named(name, "ARG")
    fix = Fix(f"Mount {name} as a BuildKit secret (id={sid}) and stop passing it as a build arg", [])
    plan = SecretPlan(name, sid, verdict, fix)
    for it in arg_items:
        plan.removals.append(Removal(it.instr, it))

    # carriers: the items holding the value (its ARGs, ENV aliases and composites), each ENV
    # judged where it is defined, so one stage's ENV never stands for another's
    carriers = _Carriers(name, facts)
    for it in facts.items:
        if it.kind != "ENV" or not carriers.defines(it):
            continue
        carriers.items.append(it)
        plan.removals.append(Removal(it.instr, it))
        if it.name != name and it.name not in plan.runtime_env:
            plan.runtime_env.append(it.name)
        msg = (
            f"ENV {it.name} copies secret build arg {name} into the image config"
            if it.is_reference
            else f"ENV {it.name} embeds secret build arg {name} in the image config"
        )
        msg += f"; after the fix, pass it at run time with `docker run -e {it.name}` if the container needs it"
        findings.append(Finding("DF002", it.name, msg, it.start, it.end, fix))
    # an ENV of the final image is part of what the image is: the container may read it. Removing
    # it is the fix, but a safe fix must not change the image's behaviour, so unless the name
    # configures a package tool (NPM_TOKEN, PIP_INDEX_URL: build-time installers) it is unsafe
    final_chain = set(facts.stage_chain(len(facts.stages) - 1)) if facts.stages else set()
    for it in carriers.items:
        if it.stage in final_chain and not it.onbuild and not _build_tool_variable(it.name):
            fix.lower(
                Applicability.UNSAFE,
                f"the image no longer sets ENV {it.name}: if the application reads it at run time, pass it with "
                f"`docker run -e {it.name}` (or an orchestrator secret) before applying this fix",
            )
    for it in facts.items:
        if it.kind == "LABEL" and carriers.defines(it):
            plan.removals.append(Removal(it.instr, it))
            findings.append(Finding("DF006", name, f"LABEL {it.name} stores secret build arg {name} in image metadata", it.start, it.end, fix))

    # build-time uses -> display-only
    for idx, var, where in facts.build_time_refs():
        if var in carriers.names and facts.stage_of[idx] >= -1:
            ins = df.instructions[idx]
            if ins.cmd in ("arg", "env", "label"):
                continue
            vis = facts.visible_at(idx)
            if ins.cmd == "from" and var == name and any(g.name == name for g in facts.global_args):
                pass
            elif var not in vis and ins.cmd != "from":
                continue
            findings.append(
                Finding("DF004", var, f"secret {name} is expanded at build time in {where}; a secret mount cannot feed it", ins.command.kw_start, ins.logical_end)
            )
            fix.lower(Applicability.DISPLAY_ONLY, f"{name} is expanded at build time in {where} (line {ins.start_line}); consume it inside a RUN instead")
    if facts.windows:
        fix.lower(
            Applicability.DISPLAY_ONLY,
            "Windows-container Dockerfile: BuildKit's Windows secret mounts are very new and need an explicit target; migrate by hand",
        )

    # mounts on RUNs that could read a carrier
    for idx, run in sorted(facts.runs.items()):
        vis = facts.visible_at(idx)
        readable = carriers.live(vis)
        if not readable:
            continue
        ins = df.instructions[idx]
        if run.shell_ok:
            info = analyze_shell(run.script)
            refs, commands, opaque = info.refs, info.commands, info.opaque
            opaque_what = ", ".join(info.opaque_commands[:3])
        else:
            argv0 = run.exec_argv[0].rsplit("/", 1)[-1] if run.exec_argv else ""
            refs, commands = frozenset(), (argv0,)
            from refactor.analysis.shell import KNOWN_TOOLS, TRANSPARENT, project_code

            opaque = (argv0 not in KNOWN_TOOLS and argv0 not in TRANSPARENT) or project_code(run.exec_argv or ()) is not None
            opaque_what = project_code(run.exec_argv or ()) or argv0
        needs: list[tuple[str, str]] = []
        for n in readable:
            why = None
            if n in refs:
                why = "references it"
            else:
                tool = next((c for c in commands if implicit.reads_env(c, n)), None)
                if tool:
                    why = f"{tool} reads {n} from the environment"
                else:
                    for c in commands:
                        cfs = list(implicit.config_files(c))
                        if c in ("pip", "pip3", "uv", "pipenv", "pip-sync"):
                            for req in _requirement_files(run.script if run.shell_ok else ""):
                                if "://" in req or "$" in req:
                                    why = f"{c} may expand ${{{n}}} in the requirements file {req}, which dfix cannot read"
                                    break
                                cfs.append(req.rsplit("/", 1)[-1])
                        for cf in cfs if why is None else ():
                            why = _config_reads(facts, idx, c, cf, n, ctx_files, options.context_dir)
                            if why:
                                break
                        if why:
                            break
                if why is None and opaque:
                    why = f"undecided: the RUN runs {opaque_what or 'a program'}, which could read any variable"
                    plan.undecided[idx] = opaque_what or "a program"
            if why:
                needs.append((n, why))
        for n, why in needs:
            carriers.need(plan, idx, n, why, vis)
        if ins.sub is not None and idx in plan.mounts:
            fix.lower(Applicability.UNSAFE, "ONBUILD trigger: every downstream build must pass --secret")
        if idx in plan.mounts and (plan.exports.get(idx) or style == "file"):
            if run.exec_argv is not None and ins.heredocs:
                fix.lower(Applicability.DISPLAY_ONLY, "exec-form RUN with heredoc: rewrite by hand")

    if _is_ssh_key(name, next((i.value for i in arg_items if i.value), None)) and _plan_ssh(facts, plan, carriers):
        plan.notes.append(
            f"{name}: build with `--ssh default` and load the key into your ssh-agent (`ssh-add`), or pass `--ssh default=<path to the key>`"
        )
    else:
        _plan_layer_files(facts, plan, carriers, findings)

    if any(it.value not in (None, "") and verdict.literal for it in arg_items):
        first = next(it for it in arg_items if it.value not in (None, ""))
        findings.append(
            Finding(
                "DF003",
                name,
                f"ARG {name} has a committed credential as its default ({describe_value(first.value)}); the fix removes it, but it stays in version control history and must be rotated",
                first.start,
                first.end,
                fix,
            )
        )
        fix.lower(Applicability.UNSAFE, "the default value is removed: the build command must now supply it")
    elif any(it.value not in (None, "") and "$" not in (it.raw or "") for it in arg_items):
        # any literal default (a placeholder too): builds that relied on it get no value after the fix
        fix.lower(Applicability.UNSAFE, "the default value is removed: the build command must now supply it")

    # findings for the declarations
    for it in arg_items:
        scope = "global ARG" if it.stage == -1 else ("ONBUILD ARG" if it.onbuild else "ARG")
        findings.append(
            Finding(
                "DF001",
                name,
                f"{scope} {name} is a secret ({_why(verdict)}); value {describe_value(it.value)}; build-arg values are recorded in the image history of every later RUN",
                it.start,
                it.end,
                fix,
            )
        )
    if plan.undecided:
        lines = "; ".join(
            f"line {df.instructions[i].start_line}: {what}" for i, what in sorted(plan.undecided.items())
        )
        plan.notes.append(f"{name}: mounted on every RUN in scope whose use could not be decided ({lines})")
    if any(df.instructions[i].sub is not None for i in plan.mounts):
        plan.notes.append(f"{name}: ONBUILD RUN mounts need every downstream build to pass --secret id={sid},env={name}")
    _scrub_clones(facts, plan, carriers.names)
    _render_plan_edits(facts, plan, style, options)
    if not plan.read_by_build:
        # nothing in the build reads it: there is nothing to mount, only declarations to drop
        fix.title = f"Stop passing {name} as a build arg (no build step reads it)"
        if plan.runtime_env:
            fix.title += "; pass it at run time if the container needs it"
    return plan


_PACKAGE_TOOLS = ("npm", "yarn", "pnpm", "pip", "pipx", "pipenv", "uv", "poetry", "twine", "conda", "composer", "bundle", "gem",
                  "dotnet", "nuget", "cargo", "go")


def _build_tool_variable(name: str) -> bool:
    """A variable that configures a package tool (read by installers at build time)."""
    return any(implicit.reads_env(t, name) for t in _PACKAGE_TOOLS)


class _Carriers:
    """The items that hold secret ``name``'s value: its ARG declarations, and the ENV keys that
    copy (alias) or embed (composite) it, each judged at its own definition. Items, not names:
    the same key defined in two stages is two carriers, and a key redefined without the secret
    is none."""

    def __init__(self, name: str, facts: Facts):
        self.name = name
        self.facts = facts
        self.items: list[VarItem] = []

    @property
    def names(self) -> set[str]:
        return {self.name} | {i.name for i in self.items}

    def carries(self, item: VarItem) -> bool:
        if item.kind == "ARG":
            return item.name == self.name
        return any(item is c for c in self.items)

    def defines(self, item: VarItem) -> bool:
        """An ENV/LABEL item whose value references a carrier visible where it is defined."""
        if not item.refs:
            return False
        if item.onbuild or item.stage < 0:
            return any(r in self.names for r in item.refs)
        vis = self.facts.visible_at(item.instr)
        return any(r in vis and self.carries(vis[r]) for r in item.refs)

    def live(self, vis: dict[str, VarItem]) -> list[str]:
        """The names in ``vis`` whose item carries the secret, in ``vis`` order. Looked up by the
        carriers' names (a carrier is named ``self.name`` or one of ``self.items``), not by walking
        every visible variable for every secret and RUN."""
        names = self.names
        hits = [n for n in names if n in vis and self.carries(vis[n])]
        if len(hits) > 1:
            found = set(hits)
            hits = [n for n in vis if n in found]
        return hits

    def need(self, plan: "SecretPlan", idx: int, n: str, why: str, vis: dict[str, VarItem]) -> None:
        """Give the RUN at ``idx`` variable ``n`` with the value it had: a mount for the ARG or an
        alias, an export (after those of its own carriers, transitively) for a composite."""
        item = vis.get(n)
        if item is None or not self.carries(item):
            return
        if item.kind == "ARG" or self._alias(item):
            self._mount(plan, idx, n, why)
            return
        self._export(plan, idx, item, why, vis, set())

    def _alias(self, item: VarItem) -> bool:
        if not item.is_reference:
            return False
        ref = item.refs[0]
        if item.onbuild or item.stage < 0:
            return ref in self.names
        at_def = self.facts.visible_at(item.instr).get(ref)
        return at_def is not None and (
            (at_def.kind == "ARG" and at_def.name == self.name) or (self.carries(at_def) and self._alias(at_def))
        )

    def _mount(self, plan: "SecretPlan", idx: int, env: str, why: str) -> None:
        if not any(e == env for _s, e, _w in plan.mounts.get(idx, [])):
            plan.mounts.setdefault(idx, []).append((plan.id, env, why))

    def _export(self, plan: "SecretPlan", idx: int, item: VarItem, why: str, vis: dict, seen: set) -> None:
        if id(item) in seen:
            return
        seen.add(id(item))
        at_def = self.facts.visible_at(item.instr) if item.stage >= 0 and not item.onbuild else vis
        ins = self.facts.df.instructions[idx]
        for r in dict.fromkeys(item.refs):
            dep = at_def.get(r)
            here = vis.get(r)
            if dep is not None and self.carries(dep):
                if dep.kind == "ARG" or self._alias(dep):
                    if here is not None and here is not dep and not self.carries(here):
                        plan.fix.lower(
                            Applicability.DISPLAY_ONLY,
                            f"line {ins.start_line}: {item.name} embeds {r}, which holds another value in this RUN",
                        )
                    self._mount(plan, idx, r if dep.kind != "ARG" else self.name, why)
                else:
                    self._export(plan, idx, dep, why, vis, seen)
            elif here is not dep:
                # a non-secret part of the value that this RUN would expand differently
                plan.fix.lower(
                    Applicability.DISPLAY_ONLY,
                    f"line {ins.start_line}: {item.name} embeds {r}, which this RUN does not see with the same value",
                )
        line = f'{item.name}="{_dq(item.value or "")}"'
        exports = plan.exports.setdefault(idx, [])
        if line not in exports:
            exports.append(line)
        if not plan.mounts.get(idx):  # a composite of no visible carrier (ONBUILD): the ARG's name
            self._mount(plan, idx, self.name, why)


def _config_reads(facts: Facts, idx: int, tool: str, cf: str, n: str, ctx_files: dict[str, str], context_dir: str | None) -> str | None:
    """Why ``tool`` at RUN ``idx`` may expand ``${n}`` from its config file ``cf``, or None when it
    cannot: no such file reaches the stage, or every copy of it is known and does not name ``n``.
    A file that is copied but missing, unreadable or matched by a glob at analysis time is
    unknown (CI often generates it right before the build): unknown means it may."""
    import fnmatch

    content = ctx_files.get(cf)
    if content and implicit.file_references(content, n):
        return f"{tool} expands ${{{n}}} in {cf}"
    cf_glob = any(ch in cf for ch in "*?[")
    for src in _stage_copy_sources(facts, idx):
        base = src.rstrip("/").rsplit("/", 1)[-1]
        glob = any(ch in base for ch in "*?[")
        named = fnmatch.fnmatchcase(base, cf)
        whole = src in (".", "./", "/") or src.endswith("/")
        if context_dir is not None and not whole and not glob and not named:
            whole = os.path.isdir(_in_context(context_dir, src))
        if not named and not whole and not glob:
            continue
        if context_dir is None:
            return f"{tool} may expand ${{{n}}} in the copied {cf} (the build context is not known)"
        if glob:
            return f"{tool} may expand ${{{n}}} in a {cf} the COPY pattern {src} picks up"
        rels = [src]
        if whole:
            if cf_glob:
                try:
                    rels = [posixpath.join(src, e) for e in sorted(os.listdir(_in_context(context_dir, src))) if fnmatch.fnmatchcase(e, cf)]
                except OSError:
                    return f"{tool} may expand ${{{n}}} in a {cf} copied with {src}, which dfix cannot list"
            else:
                rels = [posixpath.join(src, cf)]
        for rel in rels:
            why = _context_file_reads(context_dir, rel, tool, n)
            if why:
                return why
    # a config file an earlier RUN of the stage writes with the reference in it (single-quoted)
    for j, script in _stage_scripts(facts, idx):
        if not cf_glob and cf in script and implicit.file_references(script, n):
            return f"{tool} may expand ${{{n}}} in the {cf} line {facts.df.instructions[j].start_line} writes"
    return None


@lru_cache(maxsize=256)
def _context_text(context_dir: str, rel: str) -> tuple[str | None, str | None]:
    """(text, None) of a copied context file, or (None, the words saying why it cannot be read); read once per run
    however many secrets and tools ask."""
    path = _in_context(context_dir, rel)
    try:
        if os.path.getsize(path) > 1024 * 1024:
            return None, " (too large to read)"
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(), None
    except FileNotFoundError:
        return None, ", which is not in the context now (generated before the build?)"
    except OSError:
        return None, ", which dfix cannot read"


def _context_file_reads(context_dir: str, rel: str, tool: str, n: str) -> str | None:
    """Why the copied context file ``rel`` may make ``tool`` expand ``${n}`` (None: it cannot)."""
    if _dockerignored(context_dir, rel):
        return None
    text, unreadable = _context_text(context_dir, rel)
    if text is None:
        return f"{tool} may expand ${{{n}}} in the copied {rel}{unreadable}"
    if implicit.file_references(text, n):
        return f"{tool} expands ${{{n}}} in the copied {rel}"
    return None


_REQ_ARG = re.compile(r"(?:^|\s)(?:-r|--requirement|-c|--constraint)(?:\s+|=)([\"']?)([^\s\"';&|]+)\1")


def _requirement_files(script: str) -> list[str]:
    """Requirement/constraint files a pip-like command names (pip expands ${VAR} in them)."""
    if "-r" not in script and "--requirement" not in script and "-c" not in script and "--constraint" not in script:
        return []
    return [m.group(2) for m in _REQ_ARG.finditer(script)]


def _stage_scripts(facts: Facts, idx: int) -> list[tuple[int, str]]:
    """(instruction index, script) of the RUNs before ``idx`` in its stage chain."""
    per = facts.runs_by_stage
    return [(r.instr, r.script) for s in facts.stage_chain(facts.stage_of[idx]) for r in per.get(s, ()) if r.instr < idx]


def _stage_copy_sources(facts: Facts, idx: int) -> list[str]:
    """COPY/ADD sources from the context before ``idx`` in its stage chain."""
    per = facts.context_copies_by_stage
    return [w for s in facts.stage_chain(facts.stage_of[idx]) for j, w in per.get(s, ()) if j < idx]


def _dq(value: str) -> str:
    """Text for inside double quotes in sh: keep $ expansions, escape quotes and backquotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")


# --------------------------------------------------------------------------------------------
# Secrets written into files that outlive their RUN (DF007)

FILE_TOOLS = {
    ".npmrc": {"npm", "npx", "yarn", "pnpm", "corepack"},
    ".netrc": {"curl", "wget", "git", "pip", "pip3", "go", "uv", "poetry", "pipenv"},
    "pip.conf": {"pip", "pip3", "pipenv", "uv"},
    ".gitconfig": {"git", "go", "npm", "yarn", "pnpm", "cargo", "pip", "pip3", "poetry", "bundle", "composer"},
    "gitconfig": {"git", "go", "npm", "yarn", "pnpm", "cargo", "pip", "pip3", "poetry", "bundle", "composer"},
    ".git-credentials": {"git", "go"},
    ".pypirc": {"twine"},
    "settings.xml": {"mvn"},
    "config.json": {"docker", "helm"},
    "credentials": {"aws"},
    "auth.json": {"composer"},
    "auth.toml": {"poetry"},
    "token": {"huggingface-cli"},
    ".yarnrc.yml": {"yarn"},
}


# credential files that build tools read (and nothing else should): a write of the secret into one
# may be folded into the RUNs that need it; any other file is data the image keeps
_TOOL_CREDENTIAL_FILES = frozenset(FILE_TOOLS) | {"pip.ini", "pip.conf", "credentials", "config.json", "auth.toml", "token"}


def _needs_file(run, path: str) -> bool:
    if not run.shell_ok:
        argv0 = run.exec_argv[0].rsplit("/", 1)[-1] if run.exec_argv else ""
        return argv0 in FILE_TOOLS.get(path.rstrip("/").rsplit("/", 1)[-1], set())
    info = analyze_shell(run.script)
    readers = FILE_TOOLS.get(path.rstrip("/").rsplit("/", 1)[-1], set())
    return bool(set(info.commands) & readers) or info.opaque


def _plan_layer_files(facts: Facts, plan: SecretPlan, carriers: _Carriers, findings: list[Finding]) -> None:
    from refactor.analysis.shell import FileWrite, file_writes, undone_after

    df = facts.df
    run_ids = sorted(facts.runs)
    # which RUNs of each stage undo / need a file, computed once per file (not once per write: a
    # file of 4,000 RUNs writing the same file asked 16 million questions)
    undo_by: dict[tuple, dict[int, list[int]]] = {}
    needs_by: dict[str, dict[int, list[int]]] = {}

    def per_stage(pred) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for j in run_ids:
            if pred(j):
                out.setdefault(facts.stage_of[j], []).append(j)
        return out

    def after(lst: list[int], idx: int, stop: int | None = None) -> list[int]:
        lo = bisect.bisect_right(lst, idx)
        hi = len(lst) if stop is None else bisect.bisect_right(lst, stop)
        return lst[lo:hi]

    for idx in run_ids:
        run = facts.runs[idx]
        if not run.shell_ok:
            continue
        vis = facts.visible_at(idx)
        live = set(carriers.live(vis))
        if not live:
            continue
        ins = df.instructions[idx]
        for w in file_writes(run.script):
            used = set(live) if "*" in w.refs else w.refs & live
            if not used or undone_after(run.script, w):
                continue
            stage = facts.stage_of[idx]
            key = (w.path, w.cleanup, w.kind)
            if key not in undo_by:
                probe = FileWrite(0, 0, w.path, frozenset(), w.cleanup, w.kind)
                undo_by[key] = per_stage(lambda j, probe=probe: facts.runs[j].shell_ok and undone_after(facts.runs[j].script, probe))
            removal = after(undo_by[key].get(stage, []), idx)
            stop = removal[0] if removal else None
            if w.path not in needs_by:
                needs_by[w.path] = per_stage(lambda j, path=w.path: _needs_file(facts.runs[j], path))
            consumers = after(needs_by[w.path].get(stage, []), idx, stop)
            msg = f"RUN writes secret {plan.name} into {w.path}, which stays in the image layer"
            if removal:
                msg += f"; the removal on line {df.instructions[removal[0]].start_line} is ineffective: the earlier layer keeps the file"
            findings.append(Finding("DF007", plan.name, msg, ins.command.kw_start, ins.logical_end, plan.fix))
            reasons = []
            base = w.path.rstrip("/").rsplit("/", 1)[-1]
            if w.kind in ("inplace", "derived") or base not in _TOOL_CREDENTIAL_FILES:
                reasons.append(
                    f"the secret{' (hashed)' if w.kind == 'derived' else ''} is written into {w.path}, which the image keeps and "
                    "the application may read at run time: a secret mount cannot fix that, and removing the file would change "
                    "the image; render it at container start from a runtime secret instead"
                )
            elif w.cleanup is None:
                reasons.append(f"dfix knows no command that undoes this write to {w.path}")
            if w.kind == "append":
                reasons.append(f"{w.path} is appended to and may have existed before: removing it could change the build")
            if ins.heredocs:
                reasons.append("the write is inside a heredoc RUN")
            if not w.path.startswith(("/", "~", "$HOME")) and consumers:
                between = range(idx + 1, max(consumers))
                if any(df.instructions[k].cmd == "workdir" for k in between):
                    reasons.append(f"{w.path} is relative and a WORKDIR change sits between the write and its use")
            for j in consumers:
                if facts.runs[j].exec_argv is not None or df.instructions[j].heredocs:
                    reasons.append(f"line {df.instructions[j].start_line} is an exec-form or heredoc RUN")
            if reasons:
                for r in reasons:
                    plan.fix.lower(Applicability.DISPLAY_ONLY, r)
                continue
            # a later RUN that removes the file would now fail on a missing file unless it uses -f
            drop_runs: list[int] = []
            for j in removal:
                script = facts.runs[j].script
                only = re.fullmatch(r"\s*rm\s+(?:-[a-zA-Z]+\s+)*" + re.escape(w.path) + r"\s*;?\s*", script)
                if only and j not in consumers:
                    drop_runs.append(j)
                elif not re.search(r"\brm\s+(?:-[a-zA-Z]*f[a-zA-Z]*\s+)", script) and j not in consumers:
                    plan.fix.lower(
                        Applicability.DISPLAY_ONLY,
                        f"line {df.instructions[j].start_line} removes {w.path} without -f; after the fix the file no longer exists",
                    )
            if plan.fix.applicability == Applicability.DISPLAY_ONLY:
                continue
            whole = run.script.strip().rstrip(";").strip() == w.text.strip()
            plan.folds.append(Fold(idx, w, consumers, whole, drop_runs))
            plan.removed_files.append(w.path)
            plan.notes.append(
                f"runtime: {w.path} (written with {plan.name} on line {ins.start_line}) is no longer in the image; "
                "it held the credential, and each RUN that needs it now writes and removes it"
            )
            for j in consumers:
                vis_j = facts.visible_at(j)
                for n in sorted(used):
                    if n in vis_j:
                        carriers.need(plan, j, n, f"needs {w.path}, folded from line {ins.start_line}", vis_j)
            if whole:
                plan.mounts.pop(idx, None)
                plan.exports.pop(idx, None)


# --------------------------------------------------------------------------------------------
# SSH private keys passed as build args: RUN --mount=type=ssh

SSH_CLIENTS = {"git", "ssh", "scp", "sftp", "rsync", "go", "npm", "yarn", "pnpm", "pip", "pip3", "cargo", "bundle", "composer", "poetry"}


def _is_ssh_key(name: str, value: str | None) -> bool:
    up = name.upper()
    if value and "PRIVATE KEY-----" in value:
        return True
    return "SSH" in up and any(t in up for t in ("KEY", "PRIVATE", "ID_RSA", "ID_ED25519", "ID_ECDSA"))


def _plan_ssh(facts: Facts, plan: SecretPlan, carriers: _Carriers) -> bool:
    """Replace writes of the key with an ssh mount; False when the RUNs do anything else with it."""
    from refactor.analysis.shell import statements

    df = facts.df
    edits_before = len(plan.extra_edits)
    key_files: set[str] = set()
    drops: dict[int, tuple] = {}
    live_runs: list[int] = []
    for idx, run in sorted(facts.runs.items()):
        vis = facts.visible_at(idx)
        live = set(carriers.live(vis))
        if not live:
            continue
        if not run.shell_ok or df.instructions[idx].heredocs or run.exec_argv is not None:
            if not run.shell_ok or live & analyze_shell(run.script).refs:
                return False
            continue
        sts, simple = statements(run.script)
        if not any(st.refs & live for st in sts):
            continue
        if not simple:
            return False
        drop = []
        for i, st in enumerate(sts):
            if st.refs & live:
                if st.writes and all("/.ssh/" in w or w.startswith("~/.ssh") for w in st.writes):
                    key_files.update(st.writes)
                    drop.append(i)
                elif st.argv[:1] == ("ssh-add",) or "ssh-add" in st.text:
                    drop.append(i)
                else:
                    return False
        drops[idx] = (sts, drop)
        live_runs.append(idx)
    if not live_runs:
        return False
    first = live_runs[0]
    stage_ids = {facts.stage_of[i] for i in live_runs}
    for idx, run in sorted(facts.runs.items()):
        if idx < first or facts.stage_of[idx] not in stage_ids or not run.shell_ok or df.instructions[idx].heredocs:
            continue
        sts, drop = drops.get(idx) or (statements(run.script)[0], [])
        drop = list(drop)
        for i, st in enumerate(sts):
            if i in drop or not st.argv:
                continue
            if st.argv[0] in ("chmod", "chown", "rm", "shred") and any(a in key_files for a in st.argv[1:]):
                drop.append(i)
            elif st.argv[0] in ("eval", "ssh-agent") and "ssh-agent" in st.text:
                drop.append(i)
        if drop:
            drops[idx] = (sts, sorted(set(drop)))
    for idx, (sts, drop) in drops.items():
        ins = df.instructions[idx]
        cmd = ins.effective
        if len(drop) == len(sts):
            plan.extra_edits.append(Edit(ins.start, ins.end, ""))
            continue
        base = cmd.args_lstart
        k = 0
        while k < len(sts):
            if k not in drop:
                k += 1
                continue
            j = k
            while j + 1 < len(sts) and (j + 1) in drop:
                j += 1
            if j + 1 < len(sts):
                lo = ins.logical.to_source(base + sts[k].start)
                hi = ins.logical.to_source(base + sts[j + 1].start)
            else:
                lo = ins.logical.to_source_end(base + sts[k - 1].end)
                hi = ins.logical.to_source_end(base + sts[j].end)
            plan.extra_edits.append(Edit(lo, hi, ""))
            k = j + 1
        keep = [st for i, st in enumerate(sts) if i not in drop]
        if any(st.argv and st.argv[0] in SSH_CLIENTS for st in keep) or any(
            st.argv and st.argv[0] not in SSH_CLIENTS and analyze_shell(st.text).opaque for st in keep
        ):
            plan.ssh_mounts.add(idx)
    for idx, run in sorted(facts.runs.items()):
        if idx > first and facts.stage_of[idx] in stage_ids and idx not in drops and run.shell_ok:
            info = analyze_shell(run.script)
            if set(info.commands) & SSH_CLIENTS:
                plan.ssh_mounts.add(idx)
    if not plan.ssh_mounts:
        # no build step uses the key: it is written for the container (an image with SSH access),
        # and dropping the write would change the image; the layer-file rules explain that
        del plan.extra_edits[edits_before:]
        return False
    plan.mounts.clear()
    plan.exports.clear()
    return True


# --------------------------------------------------------------------------------------------
# git clone keeps credentials in the clone's .git/config

_GIT_CLONE_VALUE_OPTS = {"-b", "--branch", "--depth", "-o", "--origin", "-c", "--config", "--filter", "--reference",
                         "-j", "--jobs", "--template", "--separate-git-dir", "-u", "--upload-pack", "--shallow-since",
                         "--shallow-exclude", "--reference-if-able", "--server-option", "--bundle-uri"}
_VAR_NAME = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


_URL_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/@]*)@(.*)$")


def _clone_configs(rest: list[str]) -> list[str]:
    """The ``key=value`` settings of ``git clone -c``/``--config`` (they persist in the clone)."""
    out = []
    for k, a in enumerate(rest):
        if a in ("-c", "--config") and k + 1 < len(rest):
            out.append(rest[k + 1])
        elif a.startswith("--config="):
            out.append(a.split("=", 1)[1])
    return out


def clone_carries(rest: list[str], url: str, carries) -> bool:
    """Does this clone put something ``carries`` (a text predicate) into the clone's config?"""
    m = _URL_USERINFO.match(url)
    return bool(m and carries(m.group(2))) or any(carries(kv) for kv in _clone_configs(rest))


def clone_cleanup_steps(rest: list[str], url: str, dest: str, carries) -> tuple[list[str], str | None]:
    """git commands that take what ``carries`` flags out of DEST/.git/config: the remote URL
    without its user-info, and the clone's -c settings unset. (steps, problem)."""
    q = shlex.quote
    steps: list[str] = []
    m = _URL_USERINFO.match(url)
    if m and carries(m.group(2)):
        clean = m.group(1) + m.group(3)
        if "$" in clean:
            return [], "a clone stores the credential in its .git/config, and its clean URL uses variables"
        steps.append(f"git -C {q(dest)} remote set-url origin {q(clean)}")
    steps += [f"git -C {q(dest)} config --unset-all {q(kv.split('=', 1)[0])}" for kv in _clone_configs(rest) if carries(kv)]
    return steps, None


def clone_scrubs(script: str, workdir: str | None, names: set[str]) -> tuple[list[str], str | None]:
    """Commands that remove the credentials ``git clone`` stores in the new repository's
    ``.git/config``: the URL exactly as given (user-info included) and the clone's ``-c``
    settings. Only clones using one of ``names`` count. Returns (commands, problem): a problem
    when such a clone's directory cannot be located."""
    cmds: list[str] = []
    cd_seen = False
    for argv in analyze_shell(script).argv:
        if not argv:
            continue
        tool = posixpath.basename(argv[0])
        if tool == "cd":
            cd_seen = True
            continue
        if tool in ("pip", "pip3", "python", "python3", "uv"):
            # an editable VCS install clones into src/<name> and keeps the URL in its .git/config
            words = list(argv[1:])
            for k, a in enumerate(words):
                url = words[k + 1] if a in ("-e", "--editable") and k + 1 < len(words) else a.split("=", 1)[1] if a.startswith("--editable=") else None
                um = re.match(r"^git\+[A-Za-z][A-Za-z0-9+.-]*://([^/@]*)@", url or "")
                if um and names & set(_VAR_NAME.findall(um.group(1))):
                    return cmds, "an editable install (pip -e git+URL) clones with the credential and keeps it in the clone's .git/config"
            continue
        if tool != "git":
            continue
        args, i, cwd = list(argv[1:]), 0, None
        while i < len(args) and args[i].startswith("-"):
            if args[i] in ("-c", "-C") and i + 1 < len(args):
                if args[i] == "-C":
                    cwd = args[i + 1]
                i += 2
                continue
            i += 1
        if i >= len(args) or args[i] != "clone":
            continue
        rest = args[i + 1 :]
        pos = [a for k, a in enumerate(rest) if not a.startswith("-") and not (k and rest[k - 1] in _GIT_CLONE_VALUE_OPTS)]
        if not pos:
            continue
        url = pos[0]
        carries = lambda t: bool(names & set(_VAR_NAME.findall(t)))  # noqa: E731
        if not clone_carries(rest, url, carries):
            continue
        dest = pos[1] if len(pos) > 1 else url.rstrip("/").rsplit("/", 1)[-1].split(":")[-1].removesuffix(".git")
        if not dest.startswith("/"):
            base = cwd if cwd and cwd.startswith("/") else posixpath.join(workdir or "", cwd) if cwd else workdir
            if cd_seen or workdir is None or base is None:
                return cmds, "a clone stores the credential in its .git/config, and its directory cannot be located (cd or a variable WORKDIR)"
            dest = posixpath.join(base, dest)
        dest = posixpath.normpath(dest)
        if "$" in dest:
            return cmds, "a clone stores the credential in its .git/config, and its directory uses variables"
        steps, problem = clone_cleanup_steps(rest, url, dest, carries)
        if problem:
            return cmds, problem
        # the guard: a RUN that clones, builds and deletes the clone has nothing left to clean
        q = shlex.quote
        body = steps[0] if len(steps) == 1 else "{ " + " && ".join(steps) + "; }"
        cmds.append(f"{{ [ ! -d {q(dest + '/.git')} ] || {body}; }}")
    return cmds, None


def _scrub_clones(facts: Facts, plan: "SecretPlan", names: set[str]) -> None:
    """Append the clone clean-up to every mounted RUN whose ``git clone`` uses the secret (or an
    alias or composite of it, ``names``): the mount ends with the RUN, but the clone's
    .git/config stays in the layer."""
    for idx in sorted(plan.mounts):
        run = facts.runs.get(idx)
        ins = facts.df.instructions[idx]
        if run is None or not run.shell_ok:
            continue
        if "clone" not in run.script and "git+" not in run.script:
            continue
        cmds, problem = clone_scrubs(run.script, _workdir_at(facts, idx), names)
        if problem or (cmds and ins.heredocs):
            plan.fix.lower(Applicability.UNSAFE, f"line {ins.start_line}: {problem or 'a heredoc RUN clones with the credential'}")
            continue
        if cmds:
            blocker = _append_blocker(facts, idx)
            if blocker:
                plan.fix.lower(Applicability.DISPLAY_ONLY, f"line {ins.start_line}: {blocker} (the clone clean-up)")
                continue
            end = ins.logical_end
            plan.extra_edits.append(Edit(end, end, " && " + " && ".join(cmds)))
            plan.notes.append(
                f"{plan.name}: line {ins.start_line} clones with it, and git keeps it in the clone's .git/config;"
                " the RUN now removes it from there before its layer is committed"
            )


# --------------------------------------------------------------------------------------------
# Credential files copied from the build context (DF008)

CRED_FILES = {
    ".npmrc": "npmrc", ".netrc": "netrc", ".git-credentials": "git_credentials", ".pypirc": "pypirc",
    "pip.conf": "pip_conf", "pip.ini": "pip_conf", "settings.xml": "maven_settings", "auth.json": "composer_auth",
    ".yarnrc.yml": "yarnrc", ".dockercfg": "dockercfg", ".env": "dotenv",
}
SSH_KEYS = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")
_LITERAL_CRED = {
    # (only searched for: ^\s* crossed blank lines, so every blank line of a run restarted the scan)
    ".npmrc": re.compile(r"(?im)^[^#;\n]*_(?:authToken|auth|password)\s*=\s*(?!\$\{)[^\s$]{6,}"),
    ".yarnrc.yml": re.compile(r"(?im)npmAuth(?:Token|Ident)\s*:\s*[\"']?(?!\$\{)[^\s$\"']{6,}"),
    "settings.xml": re.compile(r"(?i)<password>\s*(?!\$\{)[^<\s$]{3,}"),
    "pip.conf": re.compile(r"://[^\s/@:]+:(?!\$\{)[^\s/@$]{3,}@"),
    "pip.ini": re.compile(r"://[^\s/@:]+:(?!\$\{)[^\s/@$]{3,}@"),
    ".pypirc": re.compile(r"(?im)^[^\S\n]*password\s*[:=]\s*(?!\$\{)\S{3,}"),
    "auth.json": re.compile(r"\"(?:password|token|bearer)\"\s*:\s*\"(?!\$\{)[^\"$]{6,}\""),
}


# Kinds whose file name is evidence enough when the file cannot be read (not in the context at
# analysis time): they are almost never templates. The package-tool configs (.npmrc, settings.xml,
# pip.conf, ...) usually are, and need their content.
NAMED_CRED_KINDS = frozenset({"dotenv", "password_file", "service_account", "kubeconfig", "pgpass", "mycnf", "pkcs12"})
_TEMPLATE_SUFFIXES = ("example", "sample", "template", "tmpl", "tpl", "dist", "default", "defaults", "schema", "skel",
                      "stub", "in", "j2", "jinja", "orig", "bak")
_SA_JSON = re.compile(r"(?i)^(?:.*[._-])?(?:credentials?|client[_-]?secrets?|service[_-]?accounts?|sa[_-]?key|gcp[_-]?key|"
                      r"gcloud[_-]?key|keyfile|key[_-]?file|firebase[_-]?adminsdk)(?:[._-].*)?\.json$")


def _cred_kind(rel: str) -> str | None:
    rel = rel.replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    base = rel.rsplit("/", 1)[-1]
    low = base.lower()
    if base in SSH_KEYS or (base.startswith("id_") and base.endswith(("_rsa", "_ed25519")) and not base.endswith(".pub")):
        return "ssh"
    if base == "credentials" and rel.endswith(".aws/credentials"):
        return "aws_credentials"
    if base == "config.json" and rel.endswith(".docker/config.json"):
        return "docker_config"
    if base in CRED_FILES:
        return CRED_FILES[base]
    if low.rsplit(".", 1)[-1] in _TEMPLATE_SUFFIXES or any(w in low for w in ("example", "sample", "template")):
        return None
    if low.startswith(".env.") or (low.endswith(".env") and len(low) > 4):
        return "dotenv"
    if low == ".pgpass":
        return "pgpass"
    if low in (".my.cnf", "my.cnf.secret", ".mylogin.cnf"):
        return "mycnf"
    if low in ("kubeconfig", "kube.config", "kubeconfig.yaml", "kubeconfig.yml") or low.endswith(".kubeconfig") or rel.endswith(".kube/config"):
        return "kubeconfig"
    if low.endswith((".pfx", ".p12")):
        return "pkcs12"
    if low.endswith(".json") and _SA_JSON.match(low):
        return "service_account"
    if low != "passwd" and (low.endswith((".password", ".passwd", ".pwd")) or (
            ("password" in low or "passwd" in low) and (low.endswith(".txt") or "." not in low))):
        return "password_file"
    return None


def _private_key_file(rel: str) -> bool:
    """``*.key``/``*.pem``: a private key or a certificate; only the content can tell."""
    low = rel.rsplit("/", 1)[-1].lower()
    return low.endswith((".key", ".pem")) and not any(w in low for w in ("cert", "chain", "ca.", "ca-", "pub", "crt"))


_REF_ONLY = re.compile(r"\$\{[^}\n]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\{\{[^}\n]*\}\}|%[A-Z_][A-Z0-9_]*%")
_REF_START = re.compile(r"\$\{|\$[A-Za-z_]|\{\{|%[A-Z_]")
_REF_NAME = re.compile(r"[A-Za-z0-9_]*")
_REF_UPPER = re.compile(r"[A-Z0-9_]*")
_REF_STOP = re.compile(r"[}\n]")


def _strip_refs(text: str) -> str:
    """``_REF_ONLY.sub("", text)`` in one pass. The regex scanned from every ``${`` / ``{{`` to the
    next ``}`` or line end, so a line of ``${${${…`` was quadratic; here that scan is shared by
    every opener before the stop it found."""
    out: list[str] = []
    last = 0
    pos = 0
    stop_from, stop_at = -1, -1  # the next } or newline at or after stop_from is at stop_at
    n = len(text)

    def next_stop(i: int) -> int:
        nonlocal stop_from, stop_at
        if not (stop_from <= i <= stop_at):
            m = _REF_STOP.search(text, i)
            stop_from, stop_at = i, (m.start() if m else n)
        return stop_at

    while True:
        m = _REF_START.search(text, pos)
        if m is None:
            break
        i = m.start()
        c, d = text[i], text[i + 1]
        end = None
        if c == "$" and d == "{":
            j = next_stop(i + 2)
            if j < n and text[j] == "}":
                end = j + 1
        if end is None and c == "$" and d != "{":
            end = _REF_NAME.match(text, i + 2).end()
        if c == "{":
            j = next_stop(i + 2)
            if j + 1 < n and text[j] == "}" and text[j + 1] == "}":
                end = j + 2
        if c == "%":
            e = _REF_UPPER.match(text, i + 2).end()
            if e < n and text[e] == "%":
                end = e + 1
        if end is None:
            pos = i + 1
            continue
        out.append(text[last:i])
        last = pos = end
    out.append(text[last:])
    return "".join(out)
_CONTENT_CRED = {
    "service_account": re.compile(r"\"(?:private_key|client_secret|refresh_token|password|token|secret|api_key)\"\s*:\s*\"(?![\s$\"{<])[^\"]{8,}\""),
    "kubeconfig": re.compile(r"(?m)^[^\S\n]*(?:client-key-data|token|password|client-secret)\s*:\s*[\"']?(?![\s$\"'{<])\S{6,}"),
    "mycnf": re.compile(r"(?im)^[^\S\n]*password\s*=\s*[\"']?(?![\s$\"'{<])\S{3,}"),
    "pgpass": re.compile(r"(?m)^[^#\n:]*:[^:\n]*:[^:\n]*:[^:\n]*:(?![\s$*{<])\S+"),
}


def _is_credential_file(path: str, base: str) -> bool | None:
    """True/False from the content; None when the file cannot be read."""
    try:
        if os.path.getsize(path) > 512 * 1024:
            return None
        with open(path, encoding="utf-8", errors="replace") as fh:
            content = fh.read()
    except OSError:
        return None
    if "PRIVATE KEY-----" in content:
        return True
    pat = _LITERAL_CRED.get(base)
    if pat is not None:
        return bool(pat.search(content))
    kind = _cred_kind(path.replace(os.sep, "/")) or ("key_file" if _private_key_file(base) else None)
    if kind == "key_file":
        return False  # no private key block: a certificate or a public key
    if kind in _CONTENT_CRED:
        return bool(_CONTENT_CRED[kind].search(content))
    if base == ".env" or kind == "dotenv":
        for line in content.splitlines():
            k, eq, v = line.partition("=")
            k = k.strip().removeprefix("export ").strip()
            v = v.strip().strip("'\"")
            if eq and v and not v.startswith("$") and judge(k, v).secret:
                return True
        return False
    if kind == "password_file":
        return bool(_strip_refs(content).strip())  # a template holds references only
    return bool(content.strip())


def _in_context(ctx: str, src: str) -> str:
    """A COPY source resolved inside the build context, as BuildKit does (``..`` cannot escape)."""
    return os.path.join(ctx, posixpath.normpath("/" + src).lstrip("/"))


@lru_cache(maxsize=256)
def _dockerignore_spec(context: str):
    from refactor.ignorespec import in_dir

    return in_dir(context, ".dockerignore")


def _dockerignored(context: str, rel: str) -> bool:
    spec = _dockerignore_spec(context)
    if spec is None:
        return False
    while rel.startswith("./"):
        rel = rel[2:]
    return spec.match_file(rel)


def _workdir_at(facts: Facts, idx: int) -> str | None:
    """The absolute WORKDIR in effect at instruction ``idx`` (None if it uses variables)."""
    stage = facts.stage_of[idx]
    wd = "/"
    for s_ in facts.stage_chain(stage):
        st = facts.stages[s_]
        stop = idx if s_ == stage else st.end
        for j in range(st.start, stop):
            ins = facts.df.instructions[j]
            if ins.cmd == "workdir":
                arg = ins.args.strip().strip("\"'")
                if "$" in arg:
                    return None
                wd = os.path.normpath(os.path.join(wd, arg))
    return wd


def _plan_credential_copies(facts: Facts, options: Options, taken_ids: set[str], findings: list[Finding]) -> list[SecretPlan]:
    from refactor.analysis.secrets import Verdict

    df = facts.df
    ctx = options.context_dir
    plans: list[SecretPlan] = []
    for idx, ins in enumerate(df.instructions):
        cmd = ins.effective
        if cmd.cmd not in ("copy", "add") or ins.heredocs or any(f.name == "from" for f in cmd.flags):
            continue
        from refactor.syntax.words import parse_words, unquote

        if cmd.args.startswith("["):
            continue
        words = parse_words(cmd.args, df.escape)
        if len(words) < 2:
            continue
        srcs, dest = words[:-1], unquote(words[-1].raw, df.escape)
        for w in srcs:
            src = unquote(w.raw, df.escape)
            if "://" in src:
                continue
            if "$" in src:
                m = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", src)
                if m and re.search(r"(?i)(?:^|_)(?:PRIVATE_?KEY|SSH_?KEY|ID_RSA|ID_ED25519)(?:_|$)", m.group(1)):
                    fix = Fix(f"Mount the key instead of copying ${m.group(1)}", [], Applicability.DISPLAY_ONLY)
                    fix.reasons.append(f"the file ${m.group(1)} names is a private key: mount it where a RUN needs it (--mount=type=secret,id=…,target=…) or provide it at run time")
                    findings.append(Finding("DF008", src, f"{cmd.keyword.upper()} copies the private key named by ${m.group(1)} into the image", ins.command.kw_start, ins.logical_end, fix))
                continue
            src_base = src.rstrip("/").rsplit("/", 1)[-1]
            public = src_base.endswith(".pub") or src_base in ("known_hosts", "authorized_keys", "authorized_keys2", "config")
            if src_base == ".ssh" or (posixpath.normpath(dest).endswith("/.ssh") and not public):
                found = ctx and _context_credentials(os.path.realpath(ctx), posixpath.normpath("/" + src).lstrip("/"))
                if not found:  # the context cannot be read (or holds no key yet): the name is the evidence
                    fix = Fix(f"Use RUN --mount=type=ssh instead of copying {src}", [], Applicability.DISPLAY_ONLY)
                    fix.reasons.append("an .ssh directory holds private keys: use `RUN --mount=type=ssh` and build with `--ssh default`; keep known_hosts with ssh-keyscan")
                    findings.append(Finding("DF008", src, f"{cmd.keyword.upper()} copies the SSH directory {src} into {dest}", ins.command.kw_start, ins.logical_end, fix))
                    continue
            if src in (".", "./") or src.endswith("/") or (ctx and os.path.isdir(_in_context(ctx, src))):
                _check_directory_copy(facts, ins, idx, src, ctx, findings)
                continue
            kind = _cred_kind(src) or ("key_file" if _private_key_file(src) else None)
            if kind is None:
                continue
            base = src.rstrip("/").rsplit("/", 1)[-1]
            verdict_known = _is_credential_file(_in_context(ctx, src), base) if ctx else None
            if verdict_known is False:
                continue
            if verdict_known is None and kind in ("npmrc", "yarnrc", "maven_settings", "pip_conf", "composer_auth", "docker_config", "key_file"):
                continue  # cannot tell a template from a credential without the file
            if ctx and _dockerignored(ctx, src):
                continue
            start, end = ins.command.kw_start, ins.logical_end
            if kind in NAMED_CRED_KINDS - {"dotenv"} or kind == "key_file":
                what = {"password_file": "a password file", "service_account": "a service-account or OAuth client key",
                        "kubeconfig": "a kubeconfig with cluster credentials", "pgpass": "a PostgreSQL password file",
                        "mycnf": "a MySQL client config with a password", "pkcs12": "a PKCS#12 bundle (private key and certificate)",
                        "key_file": "a private key"}[kind]
                unread = " (not readable in the context now: its name is the evidence)" if verdict_known is None else ""
                fix = Fix(f"Mount {src} where it is needed instead of copying it", [], Applicability.DISPLAY_ONLY)
                fix.reasons.append(
                    f"{src} is {what}: remove the {cmd.keyword.upper()}, add it to .dockerignore, mount it in the RUNs that need it"
                    " (`--mount=type=secret,id=…,target=…`) and give it to the container at run time (a volume or an orchestrator secret)"
                )
                findings.append(Finding("DF008", src, f"{cmd.keyword.upper()} copies {src}, {what}{unread}, into the image", start, end, fix))
                continue
            if kind == "dotenv":
                if verdict_known is None:
                    notes_unread = " (not readable in the context now: its name is the evidence)"
                else:
                    notes_unread = ""
                fix = Fix(f"Pass the values in {src} at run time instead of copying the file", [], Applicability.DISPLAY_ONLY)
                fix.reasons.append(
                    f"{src} is usually read by the application at run time: remove the COPY, add {src} to .dockerignore and use `docker run --env-file {src}` (or your orchestrator's secrets)"
                )
                findings.append(Finding("DF008", src, f"{cmd.keyword.upper()} copies {src}, which holds credentials{notes_unread}, into the image", ins.command.kw_start, ins.logical_end, fix))
                continue
            if kind == "ssh":
                fix = Fix(f"Use RUN --mount=type=ssh instead of copying {src}", [], Applicability.DISPLAY_ONLY)
                fix.reasons.append(
                    "replace the key copy with `RUN --mount=type=ssh <git/ssh command>` (keep your ssh-keyscan/known_hosts step) and build with `docker build --ssh default`"
                )
                findings.append(Finding("DF008", src, f"{cmd.keyword.upper()} copies the SSH private key {src} into the image", start, end, fix))
                continue
            sid = _secret_id(kind, taken_ids)
            fix = Fix(f"Mount {src} as a secret file (id={sid}) instead of copying it", [])
            plan = SecretPlan(src, sid, Verdict(True, 4.0, (), False), fix)
            findings.append(
                Finding(
                    "DF008",
                    src,
                    f"{cmd.keyword.upper()} copies the credential file {src} into the image layer; add it to .dockerignore",
                    start,
                    end,
                    fix,
                )
            )
            wd = _workdir_at(facts, idx)
            if "$" in dest or wd is None:
                fix.lower(Applicability.DISPLAY_ONLY, f"the destination of {src} uses variables")
            elif dest.endswith("/") or dest in (".", "./") or len(srcs) > 1:
                target = os.path.normpath(os.path.join(wd, dest, base))
            elif dest.rstrip("/").rsplit("/", 1)[-1] == base:
                target = os.path.normpath(os.path.join(wd, dest))
            else:
                target = None
                fix.lower(Applicability.DISPLAY_ONLY, f"cannot tell whether {dest} is a directory")
            if any(f.name in ("chown", "chmod") for f in cmd.flags) or _user_set(facts, idx):
                fix.lower(Applicability.DISPLAY_ONLY, "the file is copied with --chown/--chmod or read by a non-root USER: set uid/gid/mode on the mount by hand")
            if fix.applicability == Applicability.DISPLAY_ONLY:
                plans.append(plan)
                continue
            stage = facts.stage_of[idx]
            consumers = [j for j in sorted(facts.runs) if j > idx and facts.stage_of[j] == stage and _needs_file(facts.runs[j], base)]
            for j in consumers:
                plan.file_mounts.setdefault(j, []).append(f"--mount=type=secret,id={sid},target={target}")
            host_src = os.path.normpath(os.path.join(ctx or ".", src)) if ctx else src
            plan.specs.append(SecretSpec(sid, "file", None, host_src))
            plan.notes.append(f"add {src} to .dockerignore so `COPY . .` can never pick it up")
            # remove the source, or the whole instruction when every source goes (one shared edit)
            removable = [x for x in srcs if _removable_cred(ctx, unquote(x.raw, df.escape), df.escape)]
            if len(srcs) == 1 or len(removable) == len(srcs):
                plan.extra_edits.append(Edit(ins.start, ins.end, ""))
            else:
                k = srcs.index(w)
                lo = ins.logical.to_source(cmd.args_lstart + w.start)
                nxt = words[k + 1]
                hi = ins.logical.to_source(cmd.args_lstart + nxt.start)
                plan.extra_edits.append(Edit(lo, hi, ""))
            plans.append(plan)
    for p in plans:
        _render_plan_edits(facts, p, "env", options)
    return plans


def _removable_cred(ctx: str | None, src: str, escape: str) -> bool:
    """Will this COPY source be turned into a secret mount (so it leaves the COPY)?"""
    kind = _cred_kind(src)
    if kind is None or kind in ("ssh",) or kind in NAMED_CRED_KINDS or "$" in src:
        return False  # these are reported, not turned into mounts
    base = src.rstrip("/").rsplit("/", 1)[-1]
    known = _is_credential_file(_in_context(ctx, src), base) if ctx else None
    if known is False or (known is None and kind in ("npmrc", "yarnrc", "maven_settings", "pip_conf", "composer_auth", "docker_config")):
        return False
    return not (ctx and _dockerignored(ctx, src))


def _user_set(facts: Facts, idx: int) -> bool:
    stage = facts.stage_of[idx]
    for s_ in facts.stage_chain(stage):
        st = facts.stages[s_]
        for j in range(st.start, st.end):
            ins = facts.df.instructions[j]
            if ins.cmd == "user" and ins.args.strip() not in ("root", "0", "0:0", "root:root"):
                return True
    return False


@lru_cache(maxsize=256)
def _context_credentials(ctx: str, sub: str) -> tuple[str, ...]:
    """Credential files under ``ctx/sub`` (a source resolved *inside* the context, as BuildKit
    does), not excluded by .dockerignore; cached per context for monorepo runs."""
    root = os.path.join(ctx, sub) if sub else ctx
    found: list[str] = []
    base_depth = root.rstrip(os.sep).count(os.sep)
    cut = len(ctx.rstrip(os.sep)) + 1
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in (".git", "node_modules", "vendor", "__pycache__", ".venv")]
        if dirpath.count(os.sep) - base_depth >= 6:
            dirnames[:] = []  # prune this branch only
        for fn in filenames:
            if (fn not in CRED_FILES and fn not in SSH_KEYS and fn not in ("credentials", "config.json") and not fn.startswith("id_")
                    and not (".env" in fn or fn.endswith((".json", ".pfx", ".p12", ".pgpass", ".cnf", ".key", ".pem"))
                             or "pass" in fn.lower() or "kubeconfig" in fn.lower() or fn == "config")):
                continue
            full = os.path.join(dirpath, fn)
            rel = full[cut:].replace(os.sep, "/")
            if (_cred_kind(rel) is None and not _private_key_file(rel)) or _dockerignored(ctx, rel):
                continue
            if _is_credential_file(full, fn):
                found.append(rel)
        if len(found) >= 20:
            break
    return tuple(found)


def _check_directory_copy(facts: Facts, ins: Instruction, idx: int, src: str, ctx: str | None, findings: list[Finding]) -> None:
    if not ctx:
        return
    found = [rel for rel in _context_credentials(os.path.realpath(ctx), posixpath.normpath("/" + src).lstrip("/"))]
    for rel in sorted(found):
        fix = Fix(f"Add {rel} to .dockerignore", [], Applicability.DISPLAY_ONLY)
        fix.reasons.append(f"`{ins.keyword} {src} …` copies {rel}; add it to .dockerignore and mount it where needed with --mount=type=secret")
        findings.append(
            Finding("DF008", rel, f"{ins.keyword.upper()} {src} copies the credential file {rel} from the build context into the image", ins.command.kw_start, ins.logical_end, fix)
        )


# --------------------------------------------------------------------------------------------
# Turning a plan into text edits


def _render_plan_edits(facts: Facts, plan: SecretPlan, style: str, options: Options) -> None:
    """Mount/export insertions. Removals are rendered later, together for all accepted fixes."""
    df = facts.df
    edits: list[Edit] = []
    for idx in sorted(plan.mounts):
        ins = df.instructions[idx]
        cmd = ins.effective
        existing = {(_mount_opts(f.value or "").get("id")) for f in cmd.flags if f.name == "mount" and f.value and _mount_opts(f.value).get("type") == "secret"}
        mounts = []
        exports = list(plan.exports.get(idx, []))
        seen = set()
        for sid, env, _why in plan.mounts[idx]:
            key = (sid, env if style == "env" else "")
            if key in seen or (sid in existing):
                continue
            seen.add(key)
            req = ",required=true" if options.require_secrets else ""
            if style == "env":
                mounts.append(f"--mount=type=secret,id={sid},env={env}{req}")
            else:
                mounts.append(f"--mount=type=secret,id={sid}{req}")
                # the file form reads the value into the variable the RUN expects, for this RUN only
                exports.insert(0, f'{env}="$(cat /run/secrets/{sid})"')
        if not mounts:
            continue
        # de-duplicate exports while keeping order (the file form may add the same read twice)
        ex: list[str] = []
        for e in exports:
            if e not in ex:
                ex.append(e)
        # the composite exports refer to the build-arg name: in the env form the mount provides it
        point = cmd.flags[-1].end if cmd.flags else cmd.kw_end
        edits.append(Edit(point, point, " " + " ".join(mounts)))
        if ex:
            prefix_edits = _export_edits(df, ins, cmd, ex)
            if prefix_edits is None:
                plan.fix.lower(Applicability.DISPLAY_ONLY, f"line {ins.start_line}: cannot place the variable export in this RUN form")
            else:
                edits.extend(prefix_edits)
    for idx in sorted(plan.ssh_mounts):
        cmd = df.instructions[idx].effective
        if any(f.name == "mount" and "type=ssh" in (f.value or "") for f in cmd.flags):
            continue
        point = cmd.flags[-1].end if cmd.flags else cmd.kw_end
        edits.append(Edit(point, point, " --mount=type=ssh"))
    for idx in sorted(plan.file_mounts):
        cmd = df.instructions[idx].effective
        point = cmd.flags[-1].end if cmd.flags else cmd.kw_end
        edits.append(Edit(point, point, " " + " ".join(plan.file_mounts[idx])))
    edits.extend(plan.extra_edits)
    for fold in plan.folds:
        w = fold.write
        ins = df.instructions[fold.write_run]
        for j in ([] if fold.whole else [fold.write_run]) + list(fold.consumers):
            blocker = _append_blocker(facts, j)
            if blocker:
                plan.fix.lower(Applicability.DISPLAY_ONLY, f"line {df.instructions[j].start_line}: {blocker} (the clean-up of {w.path})")
        if fold.whole:
            edits.append(Edit(ins.start, ins.end, ""))
        else:
            end = ins.logical_end
            edits.append(Edit(end, end, f" && {w.cleanup}"))
        for j in fold.drop_runs:
            d = df.instructions[j]
            edits.append(Edit(d.start, d.end, ""))
        for j in fold.consumers:
            c = df.instructions[j]
            cmd = c.effective
            edits.append(Edit(cmd.args_start, cmd.args_start, f"{w.text} && "))
            end = c.logical_end
            edits.append(Edit(end, end, f" && {w.cleanup}"))
    plan.fix.edits = edits


def _append_blocker(facts: Facts, idx: int) -> str | None:
    """Why ``&& CMD`` cannot be appended to the RUN at ``idx`` (exec form, heredoc, a trailing
    comment, ``;``/``&`` or ``exit``), else None."""
    from refactor.analysis.shell import append_blocker

    ins = facts.df.instructions[idx]
    if ins.effective.args.lstrip().startswith("["):
        return "an exec-form RUN cannot take an appended shell command"
    if ins.heredocs:
        return "a heredoc RUN cannot take an appended command on its instruction line"
    return append_blocker(ins.effective.args)


def _export_edits(df: Dockerfile, ins: Instruction, cmd: Command, exports: list[str]) -> list[Edit] | None:
    stmt = " && ".join(f"export {e}" for e in exports)
    args = cmd.args
    if args.startswith("["):
        try:
            argv = json.loads(args)
        except ValueError:
            argv = None
        if isinstance(argv, list) and all(isinstance(a, str) for a in argv):
            # exec form has no shell: turn it into a shell-form RUN. The conversion is its own
            # edit, identical for every secret that needs it, so plans for two secrets combine.
            end = ins.logical_end
            return [Edit(cmd.args_start, cmd.args_start, f"{stmt} && "), Edit(cmd.args_start, end, shlex.join(argv))]
    if args.startswith("<<") and ins.heredocs:
        h = ins.heredocs[0]
        body = df.text[h.body_start : h.body_end]
        nl = df.source.newline_at(h.body_start) or "\n"
        at = h.body_start
        if body.startswith("#!"):
            first = body.split("\n", 1)[0]
            if not re.search(r"\b(sh|bash|dash|ash)\b", first):
                return None
            at = h.body_start + len(first) + 1
        lines = "".join(f"export {e}{nl}" for e in exports)
        return [Edit(at, at, lines)]
    if not args:
        return None
    return [Edit(cmd.args_start, cmd.args_start, stmt + " && ")]


def removal_edits(df: Dockerfile, removals: list[Removal]) -> list[Edit]:
    """Render item removals: whole instructions when every item goes, else the items alone.

    Linear in the removals and the items of the instructions they touch: the engine calls it once
    per plan with every removal so far, so a file of 1,000 secret ARGs made a million calls of
    what used to be a quadratic scan plus a re-parse of each instruction's items (5.9 s; 10,000
    took minutes). Each instruction's item spans are parsed, and each (instruction, removed items)
    rendered, once per Dockerfile (cached on it)."""
    by_instr: dict[int, dict[int, VarItem]] = {}
    for r in removals:
        by_instr.setdefault(r.instr, {}).setdefault(id(r.item), r.item)  # the same item once
    cache: dict[int, list[tuple[int, int]]] = df._extra.setdefault("removal_item_spans", {})
    rendered: dict[tuple, list[Edit]] = df._extra.setdefault("removal_edits", {})
    edits: list[Edit] = []
    for idx, items in by_instr.items():
        remove_spans = frozenset((i.start, i.end) for i in items.values())
        done = rendered.get((idx, remove_spans))
        if done is None:
            done = rendered[(idx, remove_spans)] = _instr_removal(df, idx, remove_spans, cache)
        edits.extend(done)
    return _merge(edits)


def _instr_removal(df: Dockerfile, idx: int, remove_spans: frozenset, cache: dict) -> list[Edit]:
    """The edits removing ``remove_spans`` (item spans) from instruction ``idx``."""
    edits: list[Edit] = []
    ins = df.instructions[idx]
    spans = cache.get(idx)
    if spans is None:
        spans = cache[idx] = sorted(_instr_items(df, ins))
    if all(sp in remove_spans for sp in spans):
        # Deleting the first instruction would make the comment lines after it the file's
        # head, where '# escape=…' / '# check=…' comments become parser directives. A blank
        # line ends the directive header, so keep one in that case.
        if idx == 0 and _comment_follows(df, ins.end):
            nl = df.source.newline_at(ins.start) or df.source.default_newline
            edits.append(Edit(ins.start, ins.end, nl))
        else:
            edits.append(Edit(ins.start, ins.end, ""))
        return edits
    # remove each run of adjacent items with the whitespace that separates it from the kept
    # neighbour: a run at the end goes with the gap before it, any other run with the gap after
    k = 0
    while k < len(spans):
        if spans[k] not in remove_spans:
            k += 1
            continue
        j = k
        while j + 1 < len(spans) and spans[j + 1] in remove_spans:
            j += 1
        if j + 1 < len(spans):
            edits.append(Edit(spans[k][0], spans[j + 1][0], ""))
        else:
            edits.append(Edit(spans[k - 1][1], spans[j][1], ""))
        k = j + 1
    return edits


def _comment_follows(df: Dockerfile, offset: int) -> bool:
    text = df.text
    end = text.find("\n", offset)
    first = text[offset : len(text) if end < 0 else end].lstrip(" \t")
    return first.startswith("#")


_EDIT_ORDER = operator.attrgetter("start", "end", "content")


def _merge(edits: list[Edit]) -> list[Edit]:
    """Merge touching/overlapping deletions (adjacent removed items)."""
    out: list[Edit] = []
    for e in sorted(edits, key=_EDIT_ORDER):  # Edit's own order, compared in C
        if out and out[-1].content == "" and e.content == "" and e.start <= out[-1].end:
            last = out.pop()
            out.append(Edit(last.start, max(last.end, e.end), ""))
        else:
            out.append(e)
    return out


def _instr_items(df: Dockerfile, ins: Instruction) -> list[tuple[int, int]]:
    from refactor.syntax.words import name_values

    eff = ins.effective
    base_l = eff.args_lstart
    out = []
    for nv in name_values(eff.args, df.escape, legacy_env=eff.cmd != "arg"):
        out.append((ins.logical.to_source(base_l + nv.start), ins.logical.to_source_end(base_l + nv.end)))
    return out


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
    args = []
    for it in analysis.facts.items:
        if it.kind != "ARG" or it.raw is not None or it.name in removed:
            continue
        if it.name in PROXY_ARGS or it.name in PLATFORM_ARGS or it.name in args:
            continue
        # a stage ARG without default that re-declares a global ARG with a default needs nothing
        if it.stage >= 0 and any(g.name == it.name and g.raw is not None for g in analysis.facts.global_args):
            continue
        args.append(it.name)
    notes = []
    for p in applied_plans:
        notes.extend(p.notes)
    ssh = ("default",) if any(p.ssh_mounts for p in applied_plans) else ()
    secret_names = {p.name for p in analysis.plans}
    return BuildSpec(dockerfile, context, tuple(sorted(secrets.values(), key=lambda s: s.id)), ssh, tuple(args), tuple(notes),
                     tuple(a for a in args if a in secret_names))

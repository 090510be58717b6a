"""Analyse one Dockerfile: detect secrets, plan their migration to secret mounts.

The pipeline is parse → facts → verdicts → findings with fixes → build spec. Nothing here does
I/O except reading small files from the build context (``.npmrc`` and other config files that
tools expand ``${VAR}`` in), which is optional.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field

from refactor.analysis import implicit
from refactor.analysis.facts import PLATFORM_ARGS, PROXY_ARGS, Facts, VarItem, build_facts
from refactor.analysis.secrets import Evidence, Policy, Verdict, describe_value, judge, public_bundle_prefix
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
    undecided: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


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


def _read_context_files(context_dir: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if not context_dir:
        return out
    for name in CONTEXT_FILES:
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

    for idx, run in facts.runs.items():
        for reason, weight in auth_uses(run.script, name):
            add(reason, weight, f"line {facts.df.instructions[idx].start_line}")
    for it in facts.items:
        if it.kind in ("ENV", "ARG") and name in it.refs and it.raw:
            for reason, weight in auth_uses(it.raw, name):
                add(reason, weight, f"{it.kind} {it.name}")
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
    arg_order: list[str] = []
    for it in facts.items:
        if it.kind == "ARG" and it.name not in arg_order:
            arg_order.append(it.name)
    verdicts: dict[str, Verdict] = {}
    for name in arg_order:
        if name in PLATFORM_ARGS:
            continue
        items = [i for i in facts.items if i.kind == "ARG" and i.name == name]
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

    # ---- ENV keys that are secrets on their own (runtime slots, committed values) -------------
    carried = {r.item.name for p in plans for r in p.removals if r.item.kind == "ENV"}
    for it in facts.items:
        if it.kind != "ENV" or it.name in carried:
            continue
        if it.refs and it.is_reference:
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

    findings.sort(key=lambda f: (f.start, f.code))
    return FileAnalysis(source, df, facts, findings, plans, style, notes, _existing_secret_mounts(df))


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
    arg_items = [i for i in facts.items if i.kind == "ARG" and i.name == name]
    fix = Fix(f"Mount {name} as a BuildKit secret (id={sid}) and stop passing it as a build arg", [])
    plan = SecretPlan(name, sid, verdict, fix)
    for it in arg_items:
        plan.removals.append(Removal(it.instr, it))

    # carriers: ENV keys holding the value (alias or composite), per instruction order
    carriers: dict[str, VarItem | None] = {name: None}  # name -> ENV item (None: the ARG itself)
    composite: dict[str, VarItem] = {}
    for it in facts.items:
        if it.kind != "ENV" or not any(r in carriers for r in it.refs):
            continue
        # only when the referenced carrier is visible where the ENV is
        vis = facts.visible_at(it.instr) if it.stage >= 0 else {}
        if not any(r in vis and (r == name or r in carriers) for r in it.refs) and not it.onbuild:
            continue
        carriers[it.name] = it
        if not it.is_reference:
            composite[it.name] = it
        plan.removals.append(Removal(it.instr, it))
        if it.name != name:
            plan.runtime_env.append(it.name)
        msg = (
            f"ENV {it.name} copies secret build arg {name} into the image config"
            if it.is_reference
            else f"ENV {it.name} embeds secret build arg {name} in the image config"
        )
        msg += f"; after the fix, pass it at run time with `docker run -e {it.name}` if the container needs it"
        findings.append(Finding("DF002", it.name, msg, it.start, it.end, fix))
    for it in facts.items:
        if it.kind == "LABEL" and any(r in carriers for r in it.refs):
            plan.removals.append(Removal(it.instr, it))
            findings.append(Finding("DF006", name, f"LABEL {it.name} stores secret build arg {name} in image metadata", it.start, it.end, fix))

    # build-time uses -> display-only
    for idx, var, where in facts.build_time_refs():
        if var in carriers and facts.stage_of[idx] >= -1:
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
        readable = [n for n in carriers if n in vis and _carries(vis[n], name, carriers)]
        if not readable:
            continue
        ins = df.instructions[idx]
        if run.shell_ok:
            info = analyze_shell(run.script)
            refs, commands, opaque = info.refs, info.commands, info.opaque
        else:
            argv0 = run.exec_argv[0].rsplit("/", 1)[-1] if run.exec_argv else ""
            refs, commands = frozenset(), (argv0,)
            from refactor.analysis.shell import KNOWN_TOOLS, TRANSPARENT

            opaque = argv0 not in KNOWN_TOOLS and argv0 not in TRANSPARENT
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
                        for cf in implicit.config_files(c):
                            content = ctx_files.get(cf)
                            if content and implicit.file_references(content, n):
                                why = f"{c} expands ${{{n}}} in {cf}"
                                break
                            if (
                                content is None
                                and options.context_dir is None
                                and cf in (".npmrc", ".yarnrc.yml")
                                and _stage_copies(facts, idx, cf)
                                and n == name
                            ):
                                why = f"{c} may expand ${{{n}}} in the copied {cf}"
                                break
                        if why:
                            break
                if why is None and opaque:
                    why = "undecided: the RUN runs a script or program that could read any variable"
                    plan.undecided.append(idx)
            if why:
                needs.append((n, why))
        for n, why in needs:
            if n in composite:
                item = composite[n]
                plan.mounts.setdefault(idx, []).append((sid, name, why))
                plan.exports.setdefault(idx, []).append(f'{n}="{_dq(item.value or "")}"')
            else:
                plan.mounts.setdefault(idx, []).append((sid, n, why))
        if ins.sub is not None and idx in plan.mounts:
            fix.lower(Applicability.UNSAFE, "ONBUILD trigger: every downstream build must pass --secret")
        if idx in plan.mounts and (plan.exports.get(idx) or style == "file"):
            if run.exec_argv is not None and ins.heredocs:
                fix.lower(Applicability.DISPLAY_ONLY, "exec-form RUN with heredoc: rewrite by hand")

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
        lines = ", ".join(str(df.instructions[i].start_line) for i in sorted(set(plan.undecided)))
        plan.notes.append(f"{name}: mounted on every RUN in scope whose use could not be decided (lines {lines})")
    if any(df.instructions[i].sub is not None for i in plan.mounts):
        plan.notes.append(f"{name}: ONBUILD RUN mounts need every downstream build to pass --secret id={sid},env={name}")
    _render_plan_edits(facts, plan, style, options)
    return plan


def _carries(item: VarItem, name: str, carriers: dict[str, VarItem | None]) -> bool:
    if item.kind == "ARG":
        return item.name == name
    return carriers.get(item.name) is item


def _stage_copies(facts: Facts, idx: int, fname: str) -> bool:
    stage = facts.stage_of[idx]
    for s in facts.stage_chain(stage):
        st = facts.stages[s]
        for j in range(st.start, min(st.end, idx)):
            ins = facts.df.instructions[j]
            if ins.effective.cmd in ("copy", "add") and not any(f.name == "from" for f in ins.effective.flags):
                srcs = ins.effective.args.split()[:-1]
                for src in srcs:
                    b = src.rstrip("/").rsplit("/", 1)[-1]
                    if b == fname or src in (".", "./", "*") or "*" in b:
                        return True
    return False


def _dq(value: str) -> str:
    """Text for inside double quotes in sh: keep $ expansions, escape quotes and backquotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")


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
    plan.fix.edits = edits


def _export_edits(df: Dockerfile, ins: Instruction, cmd: Command, exports: list[str]) -> list[Edit] | None:
    stmt = " && ".join(f"export {e}" for e in exports)
    args = cmd.args
    if args.startswith("["):
        try:
            argv = json.loads(args)
        except ValueError:
            argv = None
        if isinstance(argv, list) and all(isinstance(a, str) for a in argv):
            # exec form has no shell: turn it into a shell-form RUN
            end = ins.logical_end
            return [Edit(cmd.args_start, end, f"{stmt} && {shlex.join(argv)}")]
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
    """Render item removals: whole instructions when every item goes, else the items alone."""
    by_instr: dict[int, list[VarItem]] = {}
    for r in removals:
        lst = by_instr.setdefault(r.instr, [])
        if all(x is not r.item for x in lst):
            lst.append(r.item)
    edits: list[Edit] = []
    for idx, items in by_instr.items():
        ins = df.instructions[idx]
        all_items = _instr_items(df, ins)
        remove_spans = {(i.start, i.end) for i in items}
        remaining = [sp for sp in all_items if sp not in remove_spans]
        if not remaining:
            edits.append(Edit(ins.start, ins.end, ""))
            continue
        # remove each run of adjacent items with the whitespace that separates it from the kept
        # neighbour: a run at the end goes with the gap before it, any other run with the gap after
        spans = sorted(all_items)
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
    return _merge(edits)


def _merge(edits: list[Edit]) -> list[Edit]:
    """Merge touching/overlapping deletions (adjacent removed items)."""
    out: list[Edit] = []
    for e in sorted(edits):
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
    return BuildSpec(dockerfile, context, tuple(sorted(secrets.values(), key=lambda s: s.id)), (), tuple(args), tuple(notes))

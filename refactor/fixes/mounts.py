"""Planning one secret's migration: remove its declarations, mount it on the RUNs that read it."""

from __future__ import annotations

import posixpath
import re

from refactor import buildcontext
from refactor.analysis import implicit
from refactor.analysis.facts import Facts, VarItem
from refactor.analysis.secrets import Verdict, describe_value
from refactor.analysis.shell import analyze_shell
from refactor.fixes.clones import scrub_clones
from refactor.fixes.edit import Applicability, Fix
from refactor.fixes.edits import render_plan_edits
from refactor.fixes.layer_files import plan_layer_files
from refactor.fixes.plan import (
    Finding,
    Options,
    Removal,
    SecretPlan,
    secret_id,
    verdict_why,
)
from refactor.fixes.ssh import is_ssh_key, plan_ssh

# --------------------------------------------------------------------------------------------
# Planning one secret's migration


def plan_secret(
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
    sid = secret_id(name, taken_ids)
    arg_items = facts.items_named(name, "ARG")
    fix = Fix(f"Mount {name} as a BuildKit secret (id={sid}) and stop passing it as a build arg", [])
    plan = SecretPlan(name, sid, verdict, fix)
    for it in arg_items:
        plan.removals.append(Removal(it.instr, it))

    # carriers: the items holding the value (its ARGs, ENV aliases and composites), each ENV
    # judged where it is defined, so one stage's ENV never stands for another's
    carriers = Carriers(name, facts)
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
            findings.append(
                Finding("DF006", name, f"LABEL {it.name} stores secret build arg {name} in image metadata", it.start, it.end, fix)
            )

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
                Finding(
                    "DF004",
                    var,
                    f"secret {name} is expanded at build time in {where}; a secret mount cannot feed it",
                    ins.command.kw_start,
                    ins.logical_end,
                )
            )
            fix.lower(
                Applicability.DISPLAY_ONLY,
                f"{name} is expanded at build time in {where} (line {ins.start_line}); consume it inside a RUN instead",
            )
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
        if idx in plan.mounts and (plan.exports.get(idx) or style == "file") and run.exec_argv is not None and ins.heredocs:
            fix.lower(Applicability.DISPLAY_ONLY, "exec-form RUN with heredoc: rewrite by hand")

    if is_ssh_key(name, next((i.value for i in arg_items if i.value), None)) and plan_ssh(facts, plan, carriers):
        plan.notes.append(
            f"{name}: build with `--ssh default` and load the key into your ssh-agent (`ssh-add`), or pass `--ssh default=<path to the key>`"
        )
    else:
        plan_layer_files(facts, plan, carriers, findings)

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
                f"{scope} {name} is a secret ({verdict_why(verdict)}); value {describe_value(it.value)}; build-arg values are recorded in the image history of every later RUN",
                it.start,
                it.end,
                fix,
            )
        )
    if plan.undecided:
        lines = "; ".join(f"line {df.instructions[i].start_line}: {what}" for i, what in sorted(plan.undecided.items()))
        plan.notes.append(f"{name}: mounted on every RUN in scope whose use could not be decided ({lines})")
    if any(df.instructions[i].sub is not None for i in plan.mounts):
        plan.notes.append(f"{name}: ONBUILD RUN mounts need every downstream build to pass --secret id={sid},env={name}")
    scrub_clones(facts, plan, carriers.names)
    render_plan_edits(facts, plan, style, options)
    if not plan.read_by_build:
        # nothing in the build reads it: there is nothing to mount, only declarations to drop
        fix.title = f"Stop passing {name} as a build arg (no build step reads it)"
        if plan.runtime_env:
            fix.title += "; pass it at run time if the container needs it"
    return plan


_PACKAGE_TOOLS = (
    "npm",
    "yarn",
    "pnpm",
    "pip",
    "pipx",
    "pipenv",
    "uv",
    "poetry",
    "twine",
    "conda",
    "composer",
    "bundle",
    "gem",
    "dotnet",
    "nuget",
    "cargo",
    "go",
)


def _build_tool_variable(name: str) -> bool:
    """A variable that configures a package tool (read by installers at build time)."""
    return any(implicit.reads_env(t, name) for t in _PACKAGE_TOOLS)


class Carriers:
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

    def need(self, plan: SecretPlan, idx: int, n: str, why: str, vis: dict[str, VarItem]) -> None:
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

    def _mount(self, plan: SecretPlan, idx: int, env: str, why: str) -> None:
        if not any(e == env for _s, e, _w in plan.mounts.get(idx, [])):
            plan.mounts.setdefault(idx, []).append((plan.id, env, why))

    def _export(self, plan: SecretPlan, idx: int, item: VarItem, why: str, vis: dict, seen: set) -> None:
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
            whole = buildcontext.is_dir(buildcontext.inside(context_dir, src))
        if not named and not whole and not glob:
            continue
        if context_dir is None:
            return f"{tool} may expand ${{{n}}} in the copied {cf} (the build context is not known)"
        if glob:
            return f"{tool} may expand ${{{n}}} in a {cf} the COPY pattern {src} picks up"
        rels = [src]
        if whole:
            if cf_glob:
                entries = buildcontext.listing(buildcontext.inside(context_dir, src))
                if entries is None:
                    return f"{tool} may expand ${{{n}}} in a {cf} copied with {src}, which dfix cannot list"
                rels = [posixpath.join(src, e) for e in sorted(entries) if fnmatch.fnmatchcase(e, cf)]
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


def _context_file_reads(context_dir: str, rel: str, tool: str, n: str) -> str | None:
    """Why the copied context file ``rel`` may make ``tool`` expand ``${n}`` (None: it cannot)."""
    if buildcontext.dockerignored(context_dir, rel):
        return None
    text, unreadable = buildcontext.text(buildcontext.inside(context_dir, rel))
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

"""Planning one secret's migration: remove its declarations, mount it on the RUNs that read it."""

from __future__ import annotations

import heapq
import re

from refactor.analysis import implicit
from refactor.analysis.facts import Facts, VarItem
from refactor.analysis.secrets import Verdict, describe_value
from refactor.analysis.shell import analyze_shell
from refactor.fixes.clones import scrub_clones
from refactor.fixes.edit import Applicability, Fix
from refactor.fixes.edits import render_plan_edits
from refactor.fixes.layer_files import plan_layer_files
from refactor.fixes.mounts_carriers import Carriers
from refactor.fixes.mounts_reads import _config_reads, _requirement_files
from refactor.fixes.plan import (
    Finding,
    Options,
    Removal,
    SecretPlan,
    secret_id,
    verdict_why,
)
from refactor.fixes.ssh import is_ssh_key, plan_ssh

# The parts: mounts_carriers (the items that hold the secret's value, and how a RUN gets it back)
# and mounts_reads (config and requirement files that make a tool read it); this module plans the
# migration and is the public face of them all.
__all__ = ["Carriers", "plan_secret"]


# --------------------------------------------------------------------------------------------
# Planning one secret's migration

_LISTED = 10  # undecided RUNs named in the note


def _carrier_candidates(facts: Facts, name: str, kind: str, carriers: Carriers):
    """The ``kind`` items that may carry secret ``name``, in file order: those referencing ``name``
    or a carrier (only such an item can be one: ``Carriers.defines``). Walking every item of the
    file for every secret was quadratic (10,000 secret ARGs: 7.5 s). A carrier the caller finds
    while iterating adds the items that reference it after it (the heap keeps file order, so each
    item is judged with the carriers before it, as the walk did)."""
    heap: list[tuple[int, int, VarItem]] = []  # (start, order pushed, item): no two compare equal
    pushed: set[int] = set()
    done: set[str] = set()

    def push_referencing(n: str, after: int) -> None:
        done.add(n)
        for it in facts.items_referencing(n):
            if it.kind == kind and it.start > after and id(it) not in pushed:
                pushed.add(id(it))
                heapq.heappush(heap, (it.start, len(pushed), it))

    push_referencing(name, -1)
    for c in carriers.items:  # (the LABEL pass: every carrier is known, each LABEL is judged by where it is)
        if c.name not in done:
            push_referencing(c.name, -1)
    seen_carriers = len(carriers.items)
    while heap:
        _s, _e, it = heapq.heappop(heap)
        yield it
        for c in carriers.items[seen_carriers:]:  # carriers the caller added since: their readers next
            if c.name not in done:
                push_referencing(c.name, c.start)
        seen_carriers = len(carriers.items)


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
    for it in _carrier_candidates(facts, name, "ENV", carriers):
        if not carriers.defines(it):
            continue
        carriers.add(it)
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
    # configures a package tool (NPM_TOKEN, PIP_INDEX_URL: build-time installers) that the image's
    # own command does not run and no config file of the context names, it is unsafe
    final_chain = set(facts.stage_chain(len(facts.stages) - 1)) if facts.stages else set()
    for it in carriers.items:
        if (
            it.stage in final_chain
            and not it.onbuild
            and not (_build_tool_variable(it.name) and not _used_at_run_time(facts, final_chain, it.name, ctx_files))
        ):
            fix.lower(
                Applicability.UNSAFE,
                f"the image no longer sets ENV {it.name}: if the application reads it at run time, pass it with "
                f"`docker run -e {it.name}` (or an orchestrator secret) before applying this fix",
            )
    for it in _carrier_candidates(facts, name, "LABEL", carriers):
        if carriers.defines(it):
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

    # mounts on RUNs that could read a carrier: those naming one, or running a program that may
    # read a variable it is not given by name (the others need nothing: not asked)
    by_name, others = facts.run_readers
    special = set(others)
    asked = special | set(plan.mounts)
    for n in carriers.names:
        asked.update(by_name.get(n, ()))
    for idx in sorted(asked):
        run = facts.runs[idx]
        vis = facts.visible_at(idx)
        # a RUN that reads only what it names needs only the carriers it names
        readable = carriers.live(vis) if idx in special or idx in plan.mounts else carriers.live(vis, analyze_shell(run.script).refs)
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
                        # (config file, the path the command line names: a file the RUN cannot do without)
                        cfs: list[tuple[str, str | None]] = [(cf, None) for cf in implicit.config_files(c)]
                        if c in implicit.REQUIREMENT_READERS:
                            for req in _requirement_files(run.script if run.shell_ok else ""):
                                if "://" in req or "$" in req:
                                    why = f"{c} may expand ${{{n}}} in the requirements file {req}, which dfix cannot read"
                                    break
                                cfs.append((req.rsplit("/", 1)[-1], req))
                        for cf, named in cfs if why is None else ():
                            why = _config_reads(facts, idx, c, cf, n, ctx_files, options.context_dir, named=named)
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
    elif any(it.value not in (None, "") for it in arg_items):
        # any default (a placeholder too, or ${OTHER}): builds that relied on it get no value after the fix
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
        undecided = sorted(plan.undecided.items())
        lines = "; ".join(f"line {df.instructions[i].start_line}: {what}" for i, what in undecided[:_LISTED])
        if len(undecided) > _LISTED:  # (a generated file can have thousands: the note stays one readable line)
            lines += f"; and {len(undecided) - _LISTED:,} more RUNs"
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


def _used_at_run_time(facts: Facts, chain: set[int], name: str, ctx_files: dict[str, str]) -> bool:
    """The final image's CMD/ENTRYPOINT (in the stages of ``chain``) runs a tool that reads ``name``
    or a config file (``CMD ["yarn", "dev"]``: the container's npm config may expand it), or a
    config file of the build context names it (``COPY .npmrc`` holding ``${NODE_AUTH_TOKEN}``: npm
    fails without it)."""
    for idx, ins in enumerate(facts.df.instructions):
        if ins.cmd in ("cmd", "entrypoint") and facts.stage_of[idx] in chain:
            for word in re.split(r"[\s\[\]\",;&|()']+", ins.command.args):
                tool = word.rsplit("/", 1)[-1]
                if tool and (implicit.reads_env(tool, name) or implicit.config_files(tool)):
                    return True
    ref = re.compile(r"\$\{?" + re.escape(name) + r"(?![A-Za-z0-9_])")
    return any(text and ref.search(text) for text in ctx_files.values())


def _build_tool_variable(name: str) -> bool:
    """A variable that configures a package tool (read by installers at build time)."""
    return any(implicit.reads_env(t, name) for t in _PACKAGE_TOOLS)

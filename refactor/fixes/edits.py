"""Turning a plan into text edits: mounts and exports per plan; removals for all accepted plans together."""

from __future__ import annotations

import json
import operator
import re
import shlex

from refactor.analysis.facts import Facts, VarItem
from refactor.fixes.edit import Applicability, Edit
from refactor.fixes.plan import Options, Removal, SecretPlan, mount_opts
from refactor.syntax.dockerfile import Command, Dockerfile, Instruction

# --------------------------------------------------------------------------------------------
# Turning a plan into text edits


def render_plan_edits(facts: Facts, plan: SecretPlan, style: str, options: Options) -> None:
    """Mount/export insertions. Removals are rendered later, together for all accepted fixes."""
    df = facts.df
    edits: list[Edit] = []
    leading: list[Edit] = []
    for idx in sorted(plan.mounts):
        ins = df.instructions[idx]
        cmd = ins.effective
        existing = {
            (mount_opts(f.value or "").get("id"))
            for f in cmd.flags
            if f.name == "mount" and f.value and mount_opts(f.value).get("type") == "secret"
        }
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
                leading.extend(e for e in prefix_edits if e.start == e.end)
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
            blocker = append_blocker(facts, j)
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
    plan.leading = leading


def append_blocker(facts: Facts, idx: int) -> str | None:
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

"""``--strategy multistage``: move secret-consuming steps into a builder stage.

A stage that consumes a secret is split into three:

1. **base** — the original ``FROM`` and the setup before the first secret-consuming RUN (the
   stage's secret ARG/ENV declarations move out of it);
2. **builder** — ``FROM base``: the secret declarations and the secret-consuming RUNs;
3. **runtime** — ``FROM base`` (keeping the original stage name): ``COPY --from=builder`` of the
   builder's results, the image config the builder part declared, then the rest of the stage.

Results are known per ecosystem: npm/yarn/pnpm → ``node_modules``; pip → a virtualenv
(``/opt/venv``) built in the builder; go → the ``-o`` binary or the module cache; maven/gradle →
``target``/``build/libs``; ``git clone`` → the cloned directory; ``curl -o``/``wget -O`` → the
downloaded file (and ``tar -C``/``unzip -d`` directories). Anything else makes the split
display-only: a ``COPY --from=builder / /`` fallback would drop the base image's config and copy
any secret file the builder wrote.

The split alone is weaker than secret mounts: build args still reach the builder's history and
BuildKit's build record, max-mode provenance records them (docker/build-push-action defaults to
``mode=max`` on public repositories), and ``--cache-to … mode=max`` exports the builder's layers.
Running plain ``dfix --write`` afterwards turns the builder's ARGs into secret mounts as well.

Layout: this module is the public face (:func:`plan_split`, :class:`StageSplit`, the warnings and
the stage checks); the parts are ``multistage_context`` (:class:`SplitError`, :class:`RunContext`),
``multistage_outputs`` (the RUN simulation) and ``multistage_tools`` (what it knows of each tool).
"""

from __future__ import annotations

import re
from dataclasses import field

from refactor.analysis.shell import analyze_shell, file_writes
from refactor.codecache import regex
from refactor.fixes.edit import Applicability, Edit, Fix
from refactor.multistage_context import RunContext, SplitError
from refactor.multistage_outputs import _outputs_for_run
from refactor.multistage_tools import SIDE_EFFECT_FREE as SIDE_EFFECT_FREE
from refactor.multistage_tools import _classify_write
from refactor.records import dataclass

WARNINGS = (
    "build args still reach the builder stage's history and BuildKit's build record",
    "max-mode provenance records build args (docker/build-push-action uses mode=max on public repositories)",
    "`--cache-to … mode=max` exports the builder's layers, secrets included",
)
CONFIG_CMDS = ("env", "workdir", "user", "expose", "cmd", "entrypoint", "label", "healthcheck", "stopsignal", "volume", "shell")


@dataclass
class StageSplit:
    stage: int
    base_alias: str
    builder_alias: str
    outputs: list[str]
    venv: bool = False
    notes: list[str] = field(default_factory=list)


def plan_split(analysis, plans, keyword_case_upper: bool, other_secrets: frozenset[str] = frozenset()) -> tuple[Fix, list[StageSplit]]:
    """Build one fix splitting every stage that consumes a migrated secret. ``other_secrets``:
    names of secrets fixed otherwise (removed declarations): never re-declared either."""
    facts = analysis.facts
    df = analysis.df
    text = df.text
    nl = df.source.default_newline
    kw = (lambda s: s.upper()) if keyword_case_upper else (lambda s: s.lower())
    fix = Fix("Split secret-consuming steps into a builder stage (multistage strategy)", [])
    fix.reasons.extend(WARNINGS)
    splits: list[StageSplit] = []
    by_stage: dict[int, list[int]] = {}
    decl_by_stage: dict[int, set[int]] = {}
    for p in plans:
        # every RUN that reads the secret: mounted ones, and those writing or using a credential
        # file (the mount plan folds a separate write into its users)
        touched = set(p.mounts) | set(p.file_mounts) | set(p.ssh_mounts) | set(p.exports)
        for fold in p.folds:
            touched |= {fold.write_run, *fold.consumers, *fold.drop_runs}
        for idx in touched:
            by_stage.setdefault(facts.stage_of[idx], []).append(idx)
        for r in p.removals:
            if r.item.stage >= 0:
                decl_by_stage.setdefault(r.item.stage, set()).add(r.instr)
    if not by_stage:
        fix.lower(Applicability.DISPLAY_ONLY, "no RUN consumes the secret: nothing to move into a builder")
        return fix, splits
    if facts.windows:
        fix.lower(Applicability.DISPLAY_ONLY, "Windows-container Dockerfile")
        return fix, splits
    taken = {s.name.lower() for s in facts.stages if s.name}
    secret_names_all = {p.name for p in plans} | {r.item.name for p in plans for r in p.removals} | set(other_secrets)
    for s_idx, runs in sorted(by_stage.items()):
        stage = facts.stages[s_idx]
        runs = sorted(set(runs))
        first, last = runs[0], runs[-1]
        if _already_builder(facts, s_idx, last):
            fix.lower(
                Applicability.DISPLAY_ONLY,
                f"stage {stage.name or s_idx} is already a builder stage; run dfix with the mount strategy to stop passing the build arg too",
            )
            continue
        decls = sorted(i for i in decl_by_stage.get(s_idx, ()) if i < first or i <= last)
        scrubs: list[str] = []
        replay: list[str] = []  # base files the builder removed: the runtime removes them too
        owners: dict[str, str] = {}  # output -> the non-root USER the builder wrote it as
        try:
            outputs: list[str] = []
            venv = False
            from refactor.analysis.workdir import workdir_at

            if any(
                p.specs and any(sp.type == "file" for sp in p.specs) and any(facts.stage_of[j] == s_idx for j in p.file_mounts)
                for p in plans
            ):
                raise SplitError(
                    "a credential file copied from the build context would stay in the base stage; use the mount strategy for it"
                )
            _check_stage(facts, s_idx, decls, first, last, secret_names_all)
            parents = set(facts.stage_chain(s_idx)) - {s_idx}
            inherited = sorted({facts.stages[st].name or str(st) for st in decl_by_stage if st in parents})
            if inherited:
                raise SplitError(
                    f"the secret is declared in the parent stage {', '.join(inherited)}, which the runtime stage would inherit it from"
                )
            for j in range(first, last + 1):
                ins = df.instructions[j]
                if j in decls:
                    continue
                if ins.cmd == "run":
                    run = facts.runs[j]
                    if not run.shell_ok or ins.heredocs:
                        raise SplitError(f"line {ins.start_line}: exec-form or heredoc RUN")
                    wd = workdir_at(facts, j)
                    if wd is None:
                        raise SplitError("WORKDIR uses variables")
                    info = analyze_shell(run.script)
                    if info.uncertain:
                        raise SplitError(f"line {ins.start_line}: the shell text could not be fully analysed")
                    writes = tuple(_classify_write(w, secret_names_all) for w in file_writes(run.script))
                    rctx = _context(facts, j, wd)
                    before = set(outputs)
                    outputs, v = _outputs_for_run(info.argv, rctx, writes, scrubs, prior=outputs, replay=replay)
                    if rctx.user and rctx.user.split(":")[0] not in ("root", "0"):
                        for o in outputs:
                            if o not in before:
                                owners[o] = rctx.user  # written as that user: COPY keeps it so
                    venv |= v
                elif ins.cmd == "arg" or ins.cmd in CONFIG_CMDS:  # re-declared in the runtime stage
                    continue
                else:
                    raise SplitError(f"line {ins.start_line}: {ins.keyword.upper()} between secret-consuming RUNs")
            if not outputs and not venv:
                raise SplitError("the builder would produce nothing the runtime stage needs")
        except SplitError as exc:
            fix.lower(Applicability.DISPLAY_ONLY, f"stage {stage.name or s_idx}: {exc}")
            continue
        base_alias = _alias(f"{stage.name or 'dfix'}-base", taken)
        builder_alias = _alias(f"{stage.name or 'dfix'}-builder", taken)
        outputs = sorted(set(outputs))
        split = StageSplit(s_idx, base_alias, builder_alias, outputs, venv)
        splits.append(split)
        # --- edits -------------------------------------------------------------------------
        from_ins = df.instructions[stage.start]
        # base: rename the original FROM's stage (or name it)
        words = from_ins.args.split()
        if len(words) >= 3 and words[1].lower() == "as":
            m = re.search(r"(?i)\bas\s+(\S+)\s*$", text[from_ins.command.args_start : from_ins.logical_end])
            assert m is not None  # FROM image AS name: the parser accepts no words after the name
            a0 = from_ins.command.args_start + m.start(1)
            fix.edits.append(Edit(a0, a0 + len(m.group(1)), base_alias))
        else:
            end = from_ins.logical_end
            fix.edits.append(Edit(end, end, f" {kw('as')} {base_alias}"))
        # move secret declarations from before the first RUN into the builder
        moved = [i for i in decls if i < first]
        builder_lines = [f"{kw('from')} {base_alias} {kw('as')} {builder_alias}{nl}"]
        # non-secret ARGs of the base part: BuildKit passes them to stages built FROM it, the
        # classic builder and kaniko (the builders this strategy is for) do not
        base_args = [
            _with_nl(text[df.instructions[j].command.kw_start : df.instructions[j].end], nl)
            for j in range(stage.start + 1, first)
            if df.instructions[j].cmd == "arg"
            and j not in decls
            and not any(it.name in secret_names_all for it in facts.items if it.instr == j)
        ]
        builder_lines += base_args
        if venv:
            builder_lines.append(f"{kw('env')} VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH{nl}")
            builder_lines.append(f"{kw('run')} python3 -m venv /opt/venv{nl}")
        for i in moved:
            ins = df.instructions[i]
            fix.edits.append(Edit(ins.start, ins.end, ""))
            builder_lines.append(_with_nl(text[ins.start : ins.end], nl))
        # the builder starts right before the first secret-consuming RUN
        first_ins = df.instructions[first]
        insert_at = first_ins.start
        # preceding comment lines belong to that RUN
        for c in reversed(first_ins.comments):
            if c.end == insert_at:
                insert_at = c.start
        blank = "" if text[:insert_at].endswith(nl + nl) or insert_at == 0 else nl
        fix.edits.append(Edit(insert_at, insert_at, blank + "".join(builder_lines)))
        # runtime: after the last secret-consuming RUN
        last_ins = df.instructions[last]
        rt = [f"{kw('run')} {cmd}{nl}" for cmd in dict.fromkeys(scrubs)]
        rt += [nl, f"{kw('from')} {base_alias}" + (f" {kw('as')} {stage.name}" if stage.name else "") + nl]
        rt += base_args
        if venv:
            rt.append(f"{kw('env')} VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH{nl}")
            rt.append(f"{kw('copy')} --from={builder_alias} /opt/venv /opt/venv{nl}")
        for o in outputs:
            # COPY --from keeps the files' owners but creates a missing destination directory as
            # root; --chown gives it (and the files, already theirs) to the user that wrote them
            chown = f" --chown={owners[o]}" if o in owners and re.fullmatch(r"[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)?", owners[o]) else ""
            rt.append(f"{kw('copy')} --from={builder_alias}{chown} {o} {o}{nl}")
        if replay:
            import shlex

            rt.append(f"{kw('run')} rm -f {' '.join(shlex.quote(x) for x in dict.fromkeys(replay))}{nl}")
        # image config (and non-secret ARGs, which later instructions may reference) declared
        # inside the builder part is re-declared for the runtime stage
        secret_names = {p.name for p in plans} | {r.item.name for p in plans for r in p.removals} | set(other_secrets)
        for j in range(first, last + 1):
            ins = df.instructions[j]
            if (ins.cmd in CONFIG_CMDS or ins.cmd == "arg") and j not in decls:
                if ins.cmd in ("env", "arg") and any(it.name in secret_names for it in facts.items if it.instr == j):
                    continue
                rt.append(_with_nl(text[ins.command.kw_start : ins.end], nl))
        end = last_ins.end
        if not text[:end].endswith(("\n",)):
            rt.insert(0, nl)
        fix.edits.append(Edit(end, end, "".join(rt)))
        split.notes.append(
            f"stage {stage.name or s_idx}: builder '{builder_alias}' copies {', '.join(outputs) or '/opt/venv'} into the runtime stage"
        )
    return fix, splits


_FROM_IN_MOUNT = regex(r"(?:^|,)from=(\d+)(?:,|$)")


def _check_stage(facts, s_idx: int, decls: list[int], first: int, last: int, secret_names: set[str]) -> None:
    """Refuse splits that would change the meaning of other instructions."""
    df = facts.df
    stage = facts.stages[s_idx]
    for j in range(stage.start, stage.end):
        if df.instructions[j].cmd == "onbuild":
            raise SplitError(f"line {df.instructions[j].start_line}: ONBUILD triggers would fire in the builder and the runtime stage")
    for ins in df.instructions:
        for f in ins.effective.flags:
            refs = [f.value] if f.name == "from" and f.value else _FROM_IN_MOUNT.findall(f.value or "") if f.name == "mount" else []
            if any(r.isdigit() and int(r) >= s_idx for r in refs):
                raise SplitError(f"line {ins.start_line}: a stage referenced by number ({f.word}) would change after the split")
    for j in set(decls) | set(range(first, last + 1)):
        ins = df.instructions[j]
        if ins.cmd not in ("env", "arg"):
            continue
        names = [it.name for it in facts.items if it.instr == j]
        if any(n in secret_names for n in names) and not all(n in secret_names for n in names):
            raise SplitError(f"line {ins.start_line}: {ins.cmd.upper()} declares secret and non-secret variables together")


def _context(facts, j: int, workdir: str) -> RunContext:
    """The RunContext of instruction ``j``: literal ENV values, the chain's base image, USER."""
    env = {name: it.value for name, it in facts.visible_at(j).items() if it.kind == "ENV" and it.value is not None and "$" not in it.value}
    chain = facts.stage_chain(facts.stage_of[j])
    user = None
    for s_ in chain:
        st = facts.stages[s_]
        for k in range(st.start, min(st.end, j)):
            ins = facts.df.instructions[k]
            if ins.cmd == "user":
                user = ins.args.strip()
    return RunContext(workdir, env, facts.stages[chain[0]].base if chain else "", user)


def _already_builder(facts, s_idx: int, last: int) -> bool:
    """The stage ends with its last secret-consuming RUN and a later stage copies from it."""
    stage = facts.stages[s_idx]
    if s_idx == len(facts.stages) - 1 or not stage.name:
        return False
    tail = [facts.df.instructions[j] for j in range(last + 1, stage.end)]
    if any(i.cmd not in ("arg", "label", "run", "env", "workdir") for i in tail):
        return False  # image config after the secret steps: the stage is an image, not only a builder
    for ins in facts.df.instructions[stage.end :]:
        if any(f.name == "from" and (f.value or "").lower() == stage.name.lower() for f in ins.effective.flags):
            return True
        if ins.cmd == "from" and ins.args.split()[0].lower() == stage.name.lower():
            return False  # FROM <builder>: it is a base, not a builder
    return False


def _with_nl(chunk: str, nl: str) -> str:
    return chunk if chunk.endswith("\n") else chunk + nl


def _alias(base: str, taken: set[str]) -> str:
    name = re.sub(r"[^a-z0-9_.-]", "-", base.lower())
    cand, n = name, 2
    while cand in taken:
        cand = f"{name}{n}"
        n += 1
    taken.add(cand)
    return cand

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
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from refactor.analysis.shell import TRANSPARENT, analyze_shell
from refactor.fixes.edit import Applicability, Edit, Fix

WARNINGS = (
    "build args still reach the builder stage's history and BuildKit's build record",
    "max-mode provenance records build args (docker/build-push-action uses mode=max on public repositories)",
    "`--cache-to … mode=max` exports the builder's layers, secrets included",
)
CONFIG_CMDS = ("env", "workdir", "user", "expose", "cmd", "entrypoint", "label", "healthcheck", "stopsignal", "volume", "shell")
PRODUCERS = {"npm", "yarn", "pnpm", "pip", "pip3", "go", "mvn", "gradle", "gradlew", "git", "curl", "wget", "tar", "unzip", "python", "python3"}
HARMLESS = TRANSPARENT - {"tar", "unzip", "cd"}


class SplitError(Exception):
    """The stage cannot be split safely; the message says why."""


@dataclass
class Split:
    stage: int
    base_alias: str
    builder_alias: str
    outputs: list[str]
    venv: bool = False
    notes: list[str] = field(default_factory=list)


def _outputs_for_run(argvs, workdir: str) -> tuple[list[str], bool]:
    """Paths a RUN produces, from its simple commands; (paths, needs_venv)."""
    out: list[str] = []
    venv = False
    for argv in argvs:
        if not argv:
            continue
        tool, args = argv[0], list(argv[1:])
        if tool == "cd":
            raise SplitError("the RUN changes directory with cd; its outputs cannot be located")
        if tool in ("npm", "yarn", "pnpm"):
            sub = args[0] if args else "install"
            if tool == "yarn" and (not args or args[0].startswith("-")):
                sub = "install"
            if sub in ("ci", "install", "i", "add"):
                if "-g" in args or "--global" in args:
                    raise SplitError(f"{tool} installs globally; copy its prefix by hand")
                out.append(posixpath.join(workdir, "node_modules"))
            elif sub in ("run", "build", "exec", "test"):
                raise SplitError(f"`{tool} {sub}` runs project scripts whose outputs are unknown")
        elif tool in ("pip", "pip3") or (tool in ("python", "python3") and args[:2] == ["-m", "pip"]):
            if tool.startswith("python"):
                args = args[2:]
            if args and args[0] in ("install",):
                if "--target" in args or "-t" in args:
                    k = args.index("--target") if "--target" in args else args.index("-t")
                    out.append(posixpath.join(workdir, args[k + 1]))
                elif "--user" in args:
                    out.append("/root/.local")
                else:
                    venv = True
            elif args and args[0] in ("download", "wheel"):
                d = next((args[i + 1] for i, a in enumerate(args) if a in ("-d", "--dest", "-w", "--wheel-dir") and i + 1 < len(args)), None)
                if d is None:
                    raise SplitError("pip download/wheel without -d")
                out.append(posixpath.join(workdir, d))
        elif tool == "go":
            if args[:1] == ["build"] and "-o" in args:
                out.append(posixpath.join(workdir, args[args.index("-o") + 1]))
            elif args[:2] == ["mod", "download"]:
                out.append("/go/pkg/mod")
            else:
                raise SplitError("go without `build -o` or `mod download`")
        elif tool == "mvn":
            out.append(posixpath.join(workdir, "target"))
        elif tool in ("gradle", "gradlew"):
            out.append(posixpath.join(workdir, "build", "libs"))
        elif tool == "git":
            if args[:1] != ["clone"]:
                if args[:1] == ["config"]:
                    continue
                raise SplitError(f"git {args[:1]} has unknown outputs")
            pos = [a for a in args[1:] if not a.startswith("-")]
            if not pos:
                raise SplitError("git clone without a URL")
            dest = pos[1] if len(pos) > 1 else pos[0].rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
            out.append(posixpath.join(workdir, dest))
        elif tool == "curl":
            if "-o" in args or "--output" in args:
                k = args.index("-o") if "-o" in args else args.index("--output")
                out.append(posixpath.join(workdir, args[k + 1]))
            elif "-O" in args or "--remote-name" in args:
                url = next((a for a in args if "://" in a), "")
                out.append(posixpath.join(workdir, url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]))
            else:
                raise SplitError("curl without -o/-O writes to stdout")
        elif tool == "wget":
            if "-O" in args:
                out.append(posixpath.join(workdir, args[args.index("-O") + 1]))
            else:
                url = next((a for a in args if "://" in a), "")
                out.append(posixpath.join(workdir, url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]))
        elif tool == "tar":
            if "-C" in args:
                out.append(posixpath.join(workdir, args[args.index("-C") + 1]))
            elif any(a.startswith("-") and "x" in a for a in args) or any(a.startswith("x") for a in args[:1]):
                raise SplitError("tar extracts into the working directory; outputs unknown")
        elif tool == "unzip":
            if "-d" in args:
                out.append(posixpath.join(workdir, args[args.index("-d") + 1]))
            else:
                raise SplitError("unzip without -d")
        elif tool in HARMLESS:
            continue
        else:
            raise SplitError(f"`{tool}` has unknown outputs")
    return [posixpath.normpath(p) for p in out if "$" not in p], venv


def plan_split(analysis, plans, keyword_case_upper: bool) -> tuple[Fix, list[Split]]:
    """Build one fix splitting every stage that consumes a migrated secret."""
    facts = analysis.facts
    df = analysis.df
    text = df.text
    nl = df.source.default_newline
    kw = (lambda s: s.upper()) if keyword_case_upper else (lambda s: s.lower())
    fix = Fix("Split secret-consuming steps into a builder stage (multistage strategy)", [])
    fix.reasons.extend(WARNINGS)
    splits: list[Split] = []
    by_stage: dict[int, list[int]] = {}
    decl_by_stage: dict[int, set[int]] = {}
    for p in plans:
        for idx in p.mounts:
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
        try:
            outputs: list[str] = []
            venv = False
            from refactor.analyze import _workdir_at

            for j in range(first, last + 1):
                ins = df.instructions[j]
                if j in decls:
                    continue
                if ins.cmd == "run":
                    run = facts.runs[j]
                    if not run.shell_ok or ins.heredocs:
                        raise SplitError(f"line {ins.start_line}: exec-form or heredoc RUN")
                    wd = _workdir_at(facts, j)
                    if wd is None:
                        raise SplitError("WORKDIR uses variables")
                    info = analyze_shell(run.script)
                    if info.uncertain:
                        raise SplitError(f"line {ins.start_line}: the shell text could not be fully analysed")
                    o, v = _outputs_for_run(info.argv, wd)
                    outputs += o
                    venv |= v
                elif ins.cmd in ("env", "workdir", "arg", "label"):
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
        split = Split(s_idx, base_alias, builder_alias, outputs, venv)
        splits.append(split)
        # --- edits -------------------------------------------------------------------------
        from_ins = df.instructions[stage.start]
        # base: rename the original FROM's stage (or name it)
        words = from_ins.args.split()
        if len(words) >= 3 and words[1].lower() == "as":
            m = re.search(r"(?i)\bas\s+(\S+)\s*$", text[from_ins.command.args_start : from_ins.logical_end])
            a0 = from_ins.command.args_start + m.start(1)
            fix.edits.append(Edit(a0, a0 + len(m.group(1)), base_alias))
        else:
            end = from_ins.logical_end
            fix.edits.append(Edit(end, end, f" {kw('as')} {base_alias}"))
        # move secret declarations from before the first RUN into the builder
        moved = [i for i in decls if i < first]
        builder_lines = [f"{kw('from')} {base_alias} {kw('as')} {builder_alias}{nl}"]
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
        rt = [nl, f"{kw('from')} {base_alias}" + (f" {kw('as')} {stage.name}" if stage.name else "") + nl]
        if venv:
            rt.append(f"{kw('env')} VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH{nl}")
            rt.append(f"{kw('copy')} --from={builder_alias} /opt/venv /opt/venv{nl}")
        for o in outputs:
            rt.append(f"{kw('copy')} --from={builder_alias} {o} {o}{nl}")
        # image config declared inside the builder part is re-declared for the runtime stage
        secret_env = {r.item.name for p in plans for r in p.removals if r.item.kind == "ENV"}
        for j in range(first, last + 1):
            ins = df.instructions[j]
            if ins.cmd in CONFIG_CMDS and j not in decls:
                if ins.cmd == "env" and any(it.name in secret_env for it in facts.items if it.instr == j):
                    continue
                rt.append(_with_nl(text[ins.command.kw_start : ins.end], nl))
        end = last_ins.end
        if not text[:end].endswith(("\n",)):
            rt.insert(0, nl)
        fix.edits.append(Edit(end, end, "".join(rt)))
        split.notes.append(f"stage {stage.name or s_idx}: builder '{builder_alias}' copies {', '.join(outputs) or '/opt/venv'} into the runtime stage")
    return fix, splits


def _already_builder(facts, s_idx: int, last: int) -> bool:
    """The stage ends with its last secret-consuming RUN and a later stage copies from it."""
    stage = facts.stages[s_idx]
    if s_idx == len(facts.stages) - 1 or not stage.name:
        return False
    tail = [facts.df.instructions[j] for j in range(last + 1, stage.end)]
    if any(i.cmd not in ("arg", "label") for i in tail):
        return False
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


def image_config(analysis) -> list[str]:
    """``--change`` instructions that re-apply the final stage's config after docker import."""
    facts = analysis.facts
    df = analysis.df
    if not facts.stages:
        return []
    final = len(facts.stages) - 1
    secret_names = {f.variable for f in analysis.findings if f.secret and f.variable}
    out: list[str] = []
    for s in facts.stage_chain(final):
        st = facts.stages[s]
        for j in range(st.start, st.end):
            ins = df.instructions[j]
            if ins.cmd in ("env", "workdir", "user", "expose", "cmd", "entrypoint", "label", "stopsignal", "volume", "healthcheck", "onbuild", "shell"):
                if ins.cmd == "env" and any(it.name in secret_names for it in facts.items if it.instr == j):
                    continue
                out.append(f"{ins.cmd.upper()} {ins.args}")
    return out

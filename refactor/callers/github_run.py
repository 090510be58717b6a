"""``run:`` steps of a GitHub Actions workflow: build commands in their shell text, and the step ``env:``.

:func:`_find_run` lexes the script (``gh`` flavour) and resolves each build's paths per matrix
entry, or by pattern for a dynamic matrix; in planning, :func:`_env_adder` collects the
``${{ … }}`` values that move into the step's ``env:`` and :func:`_add_step_env` writes them.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import field

from refactor.fixes.edit import Edit
from refactor.records import dataclass

from . import yamlutil as Y
from .common import Found, cd_bases, cli_found, cli_founds
from .github_workflow import _MATRIX_REF, Step, _shell_of, _subst_matrix, _workdir
from .model import CallerPlan, Invocation
from .shell import Host, Lexer, build_commands, commands, scope_of


def _find_run(path, text, root, doc, job, st: Step, run, combos, where) -> list[Found]:
    view = Y.scalar_view(text, run)
    if view is None:
        return []
    cmds = commands(Lexer(view, "gh"))
    bcs = [b for b in build_commands(cmds) if b.args]
    if not bcs:
        return []
    shell = _shell_of(st.node, job, doc) or "bash"
    posix = not re.search(r"pwsh|powershell|cmd", shell)
    host = Host(
        "github",
        "gh",
        scope_of(cmds),
        allow_prefix=posix,
        where=where,
        literal_note=lambda n: (
            f"create the repository secret {n} (Settings › Secrets and variables › Actions); the step reads it through env:"
        ),
    )
    wd = _workdir(st.node, job, doc)
    out = []
    for bc in bcs:
        if root is None:
            out.append(cli_found(path, "github", view, bc, host, None, extra={"step": st}))
            continue
        if combos is None:
            out.extend(_run_by_pattern(path, view, bc, host, st, root, wd))
            continue
        entries = combos
        seen = set()
        for combo in entries:
            base = root if not wd else os.path.join(root, _subst_matrix(wd, combo or {}) or wd)
            subst = {"${{github.workspace}}": root, "$GITHUB_WORKSPACE": root, "${GITHUB_WORKSPACE}": root}
            for k, v in (combo or {}).items():
                subst[f"${{{{matrix.{k}}}}}"] = v
            for f in cli_founds(path, "github", view, bc, host, cd_bases(cmds, bc, [base]), subst, extra={"step": st}):
                key = (f.inv.dockerfile, f.inv.context)
                if key in seen:
                    continue
                seen.add(key)
                out.append(f)
    return out


def _run_by_pattern(path, view, bc, host, st: Step, root: str, wd: str | None) -> list[Found]:
    """A dynamic matrix: every ``${{ matrix.… }}`` in the paths becomes ``*``; one invocation per
    existing Dockerfile the pattern matches (or one unresolved invocation)."""
    base = root if not wd else os.path.join(root, wd)
    words = [w for w in (bc.file, bc.context) if w is not None]
    keys = {re.sub(r"\s+", "", s.text) for w in words for s in w.segs if s.kind == "exp" and _MATRIX_REF.fullmatch(s.text.strip())}
    subst = {"${{github.workspace}}": root, "$GITHUB_WORKSPACE": root, "${GITHUB_WORKSPACE}": root}
    found = cli_found(path, "github", view, bc, host, [base], subst, extra={"step": st})
    if not keys:
        return [found]
    subst.update({k: "*" for k in keys})
    probe = cli_found(path, "github", view, bc, host, [base], subst, extra={"step": st})
    out = []
    pattern = probe.inv.dockerfile
    if pattern and "*" in pattern:
        for f in sorted(glob.glob(pattern)):
            if os.path.isfile(f):
                inv = probe.inv
                ctx = inv.context
                if ctx and "*" in ctx:
                    ctx = next(
                        (os.path.realpath(c) for c in glob.glob(ctx) if os.path.realpath(f).startswith(os.path.realpath(c) + os.sep)), None
                    )
                out.append(Found(Invocation(inv.path, inv.kind, os.path.realpath(f), ctx, inv.build_args, inv.start, inv.end), probe.data))
    return out or [found]


@dataclass
class _StepEnv:
    step: Step
    want: dict[str, str] = field(default_factory=dict)


def _env_adder(text: str, se: _StepEnv):
    env = Y.get(se.step.node, "env")

    def add(name: str, value: str) -> bool:
        norm = re.sub(r"\s+", "", value)
        if env is not None:
            if not Y.is_map(env) or text[Y.start(env)] == "{":
                return False
            cur = Y.get(env, name)
            if cur is not None:
                return Y.is_scalar(cur) and re.sub(r"\s+", "", str(cur.value)) == norm
        else:
            # the job's or the workflow's env: may define it already, with this very value
            for outer in se.step.outer_env:
                cur = Y.get(outer, name) if Y.is_map(outer) else None
                if cur is not None:
                    if Y.is_scalar(cur) and re.sub(r"\s+", "", str(cur.value)) == norm:
                        return True
                    break
        if name in se.want:
            return re.sub(r"\s+", "", se.want[name]) == norm
        se.want[name] = value
        return True

    return add


def _add_step_env(text: str, se: _StepEnv, nl: str, unit: int, result: CallerPlan) -> None:
    step = se.step.node
    env = Y.get(step, "env")
    lines = {k: v for k, v in se.want.items()}
    if env is not None and Y.is_map(env) and env.value:
        col = Y.column(text, Y.start(env.value[0][0]))
        at = Y.next_line(text, Y.content_end(text, env))
        block = "".join(f"{' ' * col}{k}: {v}{nl}" for k, v in lines.items())
        if at >= len(text) and not text.endswith("\n"):
            block = nl + block
        result.edits.append(Edit(at, at, block))
        return
    if env is not None:
        result.add_unmigratable("the step's env: is not a block mapping; add " + ", ".join(lines) + " by hand")
        return
    # a new env: key, placed before the step's run: key at the column of the step's keys
    run_pair = Y.get_pair(step, "run")
    anchor = run_pair[0] if run_pair is not None else step.value[0][0]
    col = Y.column(text, Y.start(anchor))
    at = Y.start(anchor)
    block = f"env:{nl}" + "".join(f"{' ' * (col + unit)}{k}: {v}{nl}" for k, v in lines.items()) + " " * col
    result.edits.append(Edit(at, at, block))

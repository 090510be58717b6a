"""GitHub Actions workflows: docker/build-push-action steps and ``run:`` steps.

build-push-action (``with:``)::

    build-args: |                          secrets: |
      NPM_TOKEN=${{ secrets.NPM_TOKEN }}      npm_token=${{ secrets.NPM_TOKEN }}
      APP_VERSION=1.2                       build-args: |
                                              APP_VERSION=1.2

* ``${{ secrets.X }}`` and any other expression (``vars.X``, ``steps.….outputs.…``) → ``secrets:``
  as ``<id>=<expression>``.
* ``${{ env.X }}`` and a bare ``NAME`` (the action passes ``--build-arg NAME`` from its
  environment) → ``secret-envs:`` as ``<id>=X`` (build-push-action ≥ 5.1: ``@v5``, ``@v6``, or a
  pinned version ≥ 5.1, or a SHA pin with a ``# v5.1+`` comment). For older or unknown versions
  ``secrets:`` with ``<id>=${{ env.X }}`` is used instead, which every version accepts.
* A literal is removed (rotate it) and replaced by ``<id>=${{ secrets.NAME }}``: create the
  repository secret ``NAME``.
* ``$X`` in ``with:`` is not expanded by Actions (it was passed literally): reported, not migrated.

``run:`` steps are shell text (see :mod:`refactor.callers.shell`). ``${{ … }}`` values are moved
into the step's ``env:`` (``NAME: ${{ secrets.X }}``), so the secret is no longer pasted into the
script; ``$X`` from ``env:`` (workflow, job or step) or ``$GITHUB_ENV`` is exported. ``pwsh``/
``powershell``/``cmd`` steps (and Windows runners without a ``shell:``) take no ``VAR=value``
prefix: such a step is migrated only when no prefix is needed.

Matrix builds: ``${{ matrix.x }}`` in ``file``/``context``/``run`` paths is resolved for each
entry of a static matrix (``include``/``exclude`` applied), giving one invocation per entry with
the same span (plan them together with :func:`refactor.callers.plan_file`). A dynamic matrix
(``fromJSON(…)``) is linked by pattern: each ``${{ matrix.… }}`` becomes ``*`` and every existing
Dockerfile the pattern matches gets an invocation.
"""

from __future__ import annotations

import glob
import itertools
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from refactor.build import SecretSpec
from refactor.fixes.edit import Edit

from . import yamlutil as Y
from .common import CliUnit, Found, cd_bases, cli_found, cli_founds, rel
from .model import BuildArgUse, CallerPlan, Invocation
from .shell import Host, Lexer, build_commands, commands, scope_of

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

_MATRIX_REF = re.compile(r"\$\{\{\s*matrix\.([A-Za-z0-9_.-]+)\s*\}\}")
_WS_REF = re.compile(r"\$\{\{\s*github\.workspace\s*\}\}")
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}$", re.S)
_CTX = re.compile(r"(secrets|env|vars)\.([A-Za-z_][A-Za-z0-9_-]*)$")


@dataclass
class Step:
    job: str
    index: int
    node: Node
    key: str  # a stable key for the step (its start offset)
    outer_env: tuple[Node | None, ...] = ()  # the job's and the workflow's env: mappings


@dataclass
class ActionArg:
    name: str
    kind: str
    source: str | None
    expr: str | None  # the ${{ }} text of the value
    start: int  # the whole line (content start .. line end)
    end: int
    line_start: int
    line_end: int  # after the line break


@dataclass
class ActionUnit:
    step: Step
    with_node: Node | None
    args_pair: tuple[Node, Node]  # the build-args key and value
    entries: list[ActionArg]
    version: tuple[int, int] | None
    where: str


def _combos(strategy: Node | None) -> list[dict[str, str]] | None:
    """Static matrix entries, None for a dynamic matrix, [{}] without a matrix."""
    matrix = Y.get(strategy, "matrix") if Y.is_map(strategy) else None
    if matrix is None:
        return [{}]
    if Y.is_scalar(matrix):
        return None
    if not Y.is_map(matrix):
        return None
    dims: list[tuple[str, list[str]]] = []
    include = exclude = None
    for k, v in Y.items(matrix):
        key = k.value
        if key == "include":
            include = v
            continue
        if key == "exclude":
            exclude = v
            continue
        if not Y.is_seq(v):
            return None
        vals = [it.value for it in v.value if Y.is_scalar(it)]
        if len(vals) != len(v.value):
            vals = [it.value for it in v.value if Y.is_scalar(it)]
            if not vals:
                continue
        dims.append((key, [str(x) for x in vals]))
    combos = [dict(zip([d[0] for d in dims], vals)) for vals in itertools.product(*[d[1] for d in dims])] if dims else []
    if exclude is not None and Y.is_seq(exclude):
        for ex in exclude.value:
            exd = {k.value: str(v.value) for k, v in Y.items(ex) if Y.is_scalar(v)}
            combos = [c for c in combos if not all(c.get(k) == v for k, v in exd.items())]
    if include is not None:
        if not Y.is_seq(include):
            return None
        orig = {d[0] for d in dims}
        product = list(combos)  # include entries extend these; those that fit none become new jobs
        for inc in include.value:
            ind = {k.value: str(v.value) for k, v in Y.items(inc) if Y.is_scalar(v)}
            matched = False
            for c in product:
                if all(c.get(k) == v for k, v in ind.items() if k in orig) and not any(k in orig and c.get(k) != v for k, v in ind.items()):
                    c.update({k: v for k, v in ind.items() if k not in orig})
                    matched = True
            if not matched:
                combos.append(dict(ind))
    return combos or [{}]


def _subst_matrix(s: str, combo: dict[str, str] | None) -> str | None:
    if combo is None:
        return None

    def sub(m: re.Match) -> str:
        if m.group(1) not in combo:
            raise KeyError(m.group(1))
        return combo[m.group(1)]

    try:
        return _MATRIX_REF.sub(sub, s)
    except KeyError:
        return None


def _version(uses: str, line_comment: str) -> tuple[int, int] | None:
    ref = uses.partition("@")[2]
    m = re.fullmatch(r"v?(\d+)(?:\.(\d+))?(?:\.\d+)?", ref)
    if m:
        major = int(m.group(1))
        minor = int(m.group(2)) if m.group(2) is not None else 99  # a floating major tag: its newest minor
        return major, minor
    m = re.search(r"#\s*v?(\d+)(?:\.(\d+))?", line_comment)
    if m:
        return int(m.group(1)), int(m.group(2) or 0)
    return None


def _value(value: str | None) -> tuple[str, str | None, str | None]:
    if value is None:
        return "passthrough", None, None
    m = _EXPR.match(value.strip())
    if m:
        c = _CTX.match(m.group(1))
        if c and c.group(1) == "secrets":
            return "ci-secret", c.group(2), value.strip()
        if c and c.group(1) == "env":
            return "env", c.group(2), value.strip()
        return "unknown", None, value.strip()
    if "${{" in value or ("$" in value and re.search(r"\$\{?[A-Za-z_]", value)):
        return "unknown", None, None
    return "literal", None, None


def _action_entries(text: str, node: Node) -> list[ActionArg]:
    view = Y.scalar_view(text, node)
    if view is None:
        return []
    out = []
    pos = 0
    s = view.text
    for line in s.split("\n"):
        a, b = pos, pos + len(line)
        pos = b + 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lead = len(line) - len(line.lstrip())
        trail = len(line.rstrip("\r \t"))
        ds, de = a + lead, a + trail
        name, eq, value = stripped.partition("=")
        kind, src, expr = _value(value if eq else None)
        ss, se = view.src(ds), view.src(de)
        ls = Y.line_start(text, ss)
        le = Y.next_line(text, se)
        out.append(ActionArg(name.strip(), kind, src, expr, ss, se, ls, le))
    return out


def _shell_of(step: Node, job: Node, root: Node) -> str | None:
    sh = Y.sval(Y.get(step, "shell"))
    if sh:
        return sh
    for holder in (job, root):
        d = Y.get(Y.get(holder, "defaults"), "run")
        sh = Y.sval(Y.get(d, "shell"))
        if sh:
            return sh
    runs_on = Y.get(job, "runs-on")
    label = Y.sval(runs_on) or ""
    if Y.is_seq(runs_on):
        label = " ".join(str(it.value) for it in runs_on.value if Y.is_scalar(it))
    if "windows" in label.lower():
        return "pwsh"
    return None


def _workdir(step: Node, job: Node, root: Node) -> str | None:
    wd = Y.sval(Y.get(step, "working-directory"))
    if wd:
        return wd
    for holder in (job, root):
        d = Y.get(Y.get(holder, "defaults"), "run")
        wd = Y.sval(Y.get(d, "working-directory"))
        if wd:
            return wd
    return None


def _env_names(*holders: Node | None) -> set[str]:
    out = set()
    for h in holders:
        env = Y.get(h, "env")
        for k, _v in Y.items(env):
            if Y.is_scalar(k):
                out.add(str(k.value))
    return out


def find(path: str, text: str, root: str | None) -> list[Found]:
    doc = Y.compose(text)
    shown = rel(path, root)
    if doc is None and (why := Y.refusal(text)) is not None:
        return [Y.refused(path, "github", text, shown, why)]  # too deep, an alias bomb
    if not Y.is_map(doc):
        return []
    found: list[Found] = []
    jobs = Y.get(doc, "jobs")
    for jk, job in Y.items(jobs):
        steps = Y.get(job, "steps")
        if not Y.is_seq(steps):
            continue
        combos = _combos(Y.get(job, "strategy"))
        for idx, step in enumerate(steps.value):
            if not Y.is_map(step):
                continue
            st = Step(str(jk.value), idx, step, str(Y.start(step)), (Y.get(job, "env"), Y.get(doc, "env")))
            name = Y.sval(Y.get(step, "name")) or Y.sval(Y.get(step, "id")) or f"#{idx + 1}"
            where = f"{shown} job {jk.value} step {name}"
            uses = Y.sval(Y.get(step, "uses")) or ""
            if uses.startswith("docker/build-push-action"):
                found.extend(_find_action(path, text, root, doc, job, st, uses, combos, where))
            run = Y.get(step, "run")
            if Y.is_scalar(run) and "build-arg" in (run.value or ""):
                found.extend(_find_run(path, text, root, doc, job, st, run, combos, where))
    return found


def _find_action(path, text, root, doc, job, st: Step, uses: str, combos, where) -> list[Found]:
    w = Y.get(st.node, "with")
    pair = Y.get_pair(w, "build-args")
    if pair is None:
        return []
    entries = _action_entries(text, pair[1])
    if not entries:
        return []
    uses_node = Y.get(st.node, "uses")  # present: find() read the action's name from it
    comment = "" if uses_node is None else text[Y.end(uses_node) : Y.line_end(text, Y.end(uses_node))]
    unit = ActionUnit(st, w, pair, entries, _version(uses, comment), where)
    ctx_raw = Y.sval(Y.get(w, "context"))
    file_raw = Y.sval(Y.get(w, "file"))
    uses_t = tuple(BuildArgUse(e.name, e.kind, e.source, e.line_start, e.line_end) for e in entries)
    span = (Y.start(st.node), Y.content_end(text, st.node))
    out = []
    for df, ctx in _action_paths(root, ctx_raw, file_raw, combos):
        out.append(Found(Invocation(path, "github", df, ctx, uses_t, span[0], span[1]), unit))
    return out


def _action_paths(root, ctx_raw, file_raw, combos) -> list[tuple[str | None, str | None]]:
    if root is None:
        return [(None, None)]
    ctx_raw = ctx_raw or "."
    if ctx_raw.startswith("{{defaultContext}}"):
        ctx_raw = ctx_raw[len("{{defaultContext}}") :].lstrip(":") or "."
    if re.match(r"^[a-z][a-z0-9+.-]*://|^git@", ctx_raw):
        return [(None, None)]
    raws = [ctx_raw, file_raw or ""]
    if combos is None:
        if not any(_MATRIX_REF.search(r) for r in raws):
            combos = [{}]
        else:
            return _by_pattern(root, ctx_raw, file_raw)
    out: list[tuple[str | None, str | None]] = []
    seen = set()
    for combo in combos:
        c = _subst_matrix(_WS_REF.sub(".", ctx_raw), combo)
        f = _subst_matrix(_WS_REF.sub(".", file_raw), combo) if file_raw else None
        if c is None or (file_raw and f is None) or "${{" in (c + (f or "")):
            continue
        context = os.path.realpath(os.path.join(root, c))
        df = os.path.realpath(os.path.join(root, f)) if f else os.path.join(context, "Dockerfile")
        if (df, context) not in seen:
            seen.add((df, context))
            out.append((df, context))
    return out or [(None, None)]


def _by_pattern(root: str, ctx_raw: str, file_raw: str | None) -> list[tuple[str | None, str | None]]:
    pat_c = _MATRIX_REF.sub("*", ctx_raw)
    pat_f = _MATRIX_REF.sub("*", file_raw) if file_raw else os.path.join(pat_c, "Dockerfile")
    out: list[tuple[str | None, str | None]] = []
    for f in sorted(glob.glob(os.path.join(root, pat_f))):
        if os.path.isfile(f):
            ctxs = glob.glob(os.path.join(root, pat_c))
            ctx = next((c for c in ctxs if os.path.realpath(f).startswith(os.path.realpath(c) + os.sep)), None)
            out.append((os.path.realpath(f), os.path.realpath(ctx) if ctx else None))
    return out or [(None, None)]


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


# ------------------------------------------------------------------------------------------
# planning


@dataclass
class _StepEnv:
    step: Step
    want: dict[str, str] = field(default_factory=dict)


def plan(path: str, text: str, groups: list, result: CallerPlan) -> None:
    nl = Y.newline(text)
    unit = Y.indent_unit(text)
    step_envs: dict[str, _StepEnv] = {}
    for found, migrated in groups:
        data = found.data
        if isinstance(data, ActionUnit):
            _plan_action(text, data, migrated, nl, unit, result)
            continue
        cu: CliUnit = data
        st: Step = cu.extra["step"]
        se = step_envs.setdefault(st.key, _StepEnv(st))
        cu.host.add_env = _env_adder(text, se)
        from .shell import plan_build

        plan_build(cu.view, text, cu.bc, migrated, cu.host, result)
    for se in step_envs.values():
        if se.want:
            _add_step_env(text, se, nl, unit, result)


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


def _plan_action(text: str, u: ActionUnit, migrated: dict[str, SecretSpec], nl: str, unit: int, result: CallerPlan) -> None:
    secrets: list[str] = []
    secret_envs: list[str] = []
    removed: list[ActionArg] = []
    modern = u.version is not None and u.version >= (5, 1)
    existing_ids = _existing_ids(text, u.with_node)
    for e in u.entries:
        if e.name not in migrated:
            continue
        spec = migrated[e.name]
        if spec is None:  # the ARG is gone and nothing reads it: the line just goes
            if e.kind == "literal":
                result.add_rotate(e.name)
                result.add_note(f"{u.where}: the committed value of {e.name} was removed (it must be rotated)")
            removed.append(e)
            continue
        if spec.type != "env":
            result.add_unmigratable(f"{u.where}: {e.name} needs a file secret ({spec.cli()}); add it by hand")
            continue
        if e.kind == "unknown" and e.expr is None:
            result.add_unmigratable(
                f"{u.where}: the value of {e.name} is not an expression Actions expands; pass it from ${{{{ secrets.… }}}} or env"
            )
            continue
        removed.append(e)
        if spec.id in existing_ids:
            continue
        existing_ids.add(spec.id)
        if e.kind == "literal":
            result.add_rotate(e.name)
            result.add_note(
                f"{u.where}: the committed value of {e.name} was removed (it must be rotated); create the repository secret {e.name}"
            )
            secrets.append(f"{spec.id}=${{{{ secrets.{e.name} }}}}")
        elif e.kind in ("ci-secret", "unknown"):
            secrets.append(f"{spec.id}={e.expr}")
        else:
            var = e.source if e.kind == "env" and e.source else e.name
            if modern:
                secret_envs.append(f"{spec.id}={var}")
            else:
                secrets.append(f"{spec.id}=${{{{ env.{var} }}}}")
    if not removed:
        return
    key, node = u.args_pair
    all_gone = len(removed) == len(u.entries)
    block_scalar = Y.style(node) in ("|", ">")
    if all_gone:
        s = Y.line_start(text, Y.start(key))
        end = Y.next_line(text, Y.content_end(text, node)) if block_scalar else Y.next_line(text, Y.end(node))
        result.edits.append(Edit(s, end, ""))
    elif block_scalar:
        for r in removed:
            result.edits.append(Edit(r.line_start, r.line_end, ""))
    else:
        result.add_unmigratable(f"{u.where}: build-args is not a block scalar (|); move {', '.join(r.name for r in removed)} by hand")
        return
    key_col = Y.column(text, Y.start(key))
    item_ind = _item_indent(text, node, key_col, unit)
    if all_gone:
        at = Y.line_start(text, Y.start(key))
    else:
        at = Y.next_line(text, Y.content_end(text, node))
    for input_name, lines in (("secrets", secrets), ("secret-envs", secret_envs)):
        if not lines:
            continue
        pair = Y.get_pair(u.with_node, input_name)
        if pair is None:
            block = f"{' ' * key_col}{input_name}: |{nl}" + "".join(f"{item_ind}{ln}{nl}" for ln in lines)
            if at >= len(text) and not text.endswith("\n"):
                block = nl + block
            result.edits.append(Edit(at, at, block))
            continue
        v2 = pair[1]
        if Y.style(v2) == "|" and (view := Y.scalar_view(text, v2)) is not None:  # a literal block scalar: never None
            first = view.text.split("\n", 1)[0]
            ind = first[: len(first) - len(first.lstrip())] or item_ind
            at2 = Y.next_line(text, Y.content_end(text, v2))
            block = "".join(f"{ind}{ln}{nl}" for ln in lines)
            if at2 >= len(text) and not text.endswith("\n"):
                block = nl + block
            result.edits.append(Edit(at2, at2, block))
        elif Y.is_scalar(v2) and Y.style(v2) is None and "\n" not in text[Y.start(v2) : Y.end(v2)]:
            old = text[Y.start(v2) : Y.end(v2)]
            block = f"|{nl}{item_ind}{old}" + "".join(f"{nl}{item_ind}{ln}" for ln in lines)
            result.edits.append(Edit(Y.start(v2), Y.end(v2), block))
        else:
            result.add_unmigratable(f"{u.where}: {input_name}: has a form dfix does not extend; add {', '.join(lines)} by hand")


def _item_indent(text: str, node: Node, key_col: int, unit: int) -> str:
    if Y.style(node) in ("|", ">") and (view := Y.scalar_view(text, node)) is not None:  # a block scalar: never None
        for line in view.text.split("\n"):
            if line.strip():
                return line[: len(line) - len(line.lstrip())]
    return " " * (key_col + unit)


def _existing_ids(text: str, w: Node | None) -> set[str]:
    ids = set()
    for name in ("secrets", "secret-envs", "secret-files"):
        v = Y.get(w, name)
        view = Y.scalar_view(text, v) if v is not None else None
        if view is None:
            continue
        for line in view.text.split("\n"):
            k, eq, _ = line.strip().partition("=")
            if eq:
                ids.add(k.strip().strip('"'))
    return ids

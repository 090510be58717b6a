"""docker/build-push-action steps: their ``build-args`` found, and moved to ``secrets``/``secret-envs``.

:func:`_find_action` reads the ``with:`` inputs (one invocation per static matrix entry, or per
Dockerfile a dynamic matrix's pattern matches); :func:`_plan_action` removes migrated lines from
``build-args`` and adds ``secrets:`` (or ``secret-envs:`` for build-push-action ≥ 5.1) entries.
"""

from __future__ import annotations

import glob
import os
import re
from typing import TYPE_CHECKING

from refactor.buildspec import SecretSpec
from refactor.codecache import regex
from refactor.fixes.edit import Edit
from refactor.records import dataclass

from . import yamlutil as Y
from .common import Found
from .github_workflow import _MATRIX_REF, _WS_REF, Step, _subst_matrix
from .model import BuildArgUse, CallerPlan, Invocation

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node


_EXPR = regex(r"\$\{\{\s*(.*?)\s*\}\}$", re.S)
_CTX = regex(r"(secrets|env|vars)\.([A-Za-z_][A-Za-z0-9_-]*)$")


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

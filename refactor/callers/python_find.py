"""Finding build calls in a parsed Python script: argv lists, command strings and the docker SDK.

:func:`_find` walks the calls a :class:`refactor.callers.python_cst._Collector` recorded: list
argvs become :class:`PyCall` with their ``--build-arg`` elements, command strings are lexed as
shell text, ``images.build(buildargs=…)`` is reported as not migratable, and an argv dfix cannot
resolve statically blocks the fixes it may concern.
"""

from __future__ import annotations

import os
import re

from .common import Found, rel
from .model import BuildArgUse, Invocation
from .python_cst import (
    _STR_START,
    _SUBPROCESS_FUNCS,
    El,
    PyArg,
    PyCall,
    _analyse_value,
    _Collector,
    _dotted,
    _first_arg,
    _kw,
    _static,
    _value_kind,
)
from .shell import BUILD_TOOLS, Host, Lexer, View, build_commands, classify, commands, resolve_paths, scope_of
from .shell import BUILD_VALUE_FLAGS as _VALUE_FLAGS


def _elements(c: _Collector, node, scope: int) -> tuple[list[El], list] | None:
    cst = c.cst
    if isinstance(node, (cst.List, cst.Tuple)):
        lists = [node]
    elif isinstance(node, cst.Name):
        vals = c.assigns.get((scope, node.value)) or c.assigns.get((id(c.module), node.value))
        if not vals or vals[0][0] != "=" or sum(1 for op, _ in vals if op == "=") != 1:
            return None
        lists = [v for _op, v in vals]
        if not all(isinstance(v, (cst.List, cst.Tuple)) for v in lists):
            return None
    else:
        return None
    values = []
    for lst in lists:
        for e in lst.elements:
            if not isinstance(e, cst.Element):
                return None
            values.append(e.value)
    if not _is_build([_static(v) for v in values[:6]]) or not any("build-arg" in (c.module.code_for_node(v)) for v in values):
        return None
    els: list[El] = []
    for v in values:  # positions only now: resolving them is the expensive part
        s, t = c.span(v)
        els.append(El(v, s, t, _static(v), c.module.code_for_node(v)))
    return els, lists


def _unresolved_build(c: _Collector, node, scope: int, depth: int = 0) -> bool:
    """An argv that starts like a docker build but holds parts dfix cannot resolve statically."""
    cst = c.cst
    if depth > 8:
        return False
    if isinstance(node, cst.Name):
        vals = c.assigns.get((scope, node.value)) or c.assigns.get((id(c.module), node.value))
        if not vals:
            return False
        return any(_unresolved_build(c, v, scope, depth + 1) for _op, v in vals) or (
            len(vals) > 1 and any(_unresolved_build_prefix(c, v) for _op, v in vals)
        )
    if isinstance(node, cst.BinaryOperation):
        return _unresolved_build_prefix(c, node.left) or _unresolved_build(c, node.left, scope, depth + 1)
    if isinstance(node, (cst.List, cst.Tuple)):
        if not _unresolved_build_prefix(c, node):
            return False
        return any(not isinstance(e, cst.Element) or _static(e.value) is None for e in node.elements)
    return False


def _unresolved_build_prefix(c: _Collector, node) -> bool:
    cst = c.cst
    while isinstance(node, cst.BinaryOperation):
        node = node.left
    if not isinstance(node, (cst.List, cst.Tuple)):
        return False
    statics = [_static(e.value) if isinstance(e, cst.Element) else None for e in node.elements[:6]]
    return _is_build(statics) or (
        bool(statics)
        and statics[0] is not None
        and statics[0].rsplit("/", 1)[-1] in BUILD_TOOLS
        and len(statics) >= 2
        and statics[1] in ("build", "buildx", "bud")
    )


def _is_build(statics: list[str | None]) -> bool:
    if not statics or statics[0] is None:
        return False
    tool = statics[0].rsplit("/", 1)[-1]
    if tool not in BUILD_TOOLS:
        return False
    rest = [s for s in statics[1:6] if s is not None and not s.startswith("-")]
    if not rest:
        return False
    if tool == "buildah":
        return rest[0] in ("bud", "build", "build-using-dockerfile")
    return rest[0] == "build" or (rest[0] in ("buildx", "image", "builder") and len(rest) > 1 and rest[1] in ("build", "b"))


def _string_shell(c: _Collector, node) -> tuple[View, str] | None:
    """A view over a (f-)string literal's body, when it has no backslash escapes."""
    cst = c.cst
    if not isinstance(node, (cst.SimpleString, cst.FormattedString)):
        return None
    s, e = c.span(node)
    code = c.text[s:e]
    m = _STR_START.match(code)
    if not m or "b" in m.group(1).lower():
        return None
    q = m.group(2)
    body_s, body_e = s + m.end(), e - len(q)
    body = c.text[body_s:body_e]
    if "\\" in body:
        return None
    f = "f" in m.group(1).lower()
    enc = ("pyf-" if f else "py-") + ("sq" if q[0] == "'" else "dq")
    return View(body, base=body_s, enc=enc), "pyf" if f else "sh"


def _find(c: _Collector, path: str, root: str | None) -> list[Found]:
    cst = c.cst
    shown = rel(path, root)
    out: list[Found] = []
    for call in c.calls:
        fname = _dotted(call.func)
        base, _, attr = fname.rpartition(".")
        kind = None
        if base in c.subprocess_names and attr in _SUBPROCESS_FUNCS:
            kind = attr
        elif not base and fname in c.func_names:
            kind = c.func_names[fname]
        elif fname in ("os.system",):
            kind = "system"
        elif attr == "build" and _kw(call, "buildargs") is not None:
            out.extend(_find_sdk(c, path, root, call))
            continue
        if kind is None:
            continue
        first = _first_arg(call)
        if first is None:
            continue
        val = first.value
        if isinstance(val, cst.Call) and _dotted(val.func) in ("shlex.split", "split") and val.args:
            val = val.args[0].value
        res = _elements(c, val, c.scope.get(id(call), id(c.module)))
        if res is None and _unresolved_build(c, val, c.scope.get(id(call), id(c.module))):
            # a docker build whose argv holds a *splat, a variable or a computed list: it may pass
            # any build arg to any Dockerfile, so it blocks every fix that migrates one
            s, e = c.span(call)
            line = c.pos[call].start.line
            reason = (
                f"{shown}:{line} runs a docker build whose arguments dfix cannot resolve (a *splat, a variable or a"
                " computed list); it may pass this build arg: migrate it by hand, or make the argv a literal list"
            )
            out.append(
                Found(
                    Invocation(
                        path, "python", None, None, (BuildArgUse("*", "unknown", None, s, e),), s, e, migratable=False, reason=reason
                    ),
                    None,
                )
            )
            continue
        if res is None and not (isinstance(val, (cst.SimpleString, cst.FormattedString)) and "build-arg" in c.module.code_for_node(val)):
            continue
        s, e = c.span(call)
        pc = PyCall(call, kind, s, e, env_ok=kind != "system")
        where = f"{shown} {fname}() line {c.pos[call].start.line}"
        if res is not None:
            els, lists = res
            if not _is_build([el.static for el in els]):
                continue
            pc.lists = lists
            _collect_list_args(c, els, pc)
            if not pc.args:
                continue
            uses = tuple(BuildArgUse(a.name, a.kind, a.source, a.elements[0].start, a.elements[-1].end) for a in pc.args)
            df, ctx = _list_paths(c, els, call, path, root)
            tool = (els[0].static or "docker").rsplit("/", 1)[-1] if els else "docker"
            out.append(Found(Invocation(path, "python", df, ctx, uses, s, e, tool=tool), (pc, where, c)))
            continue
        sv = _string_shell(c, val)
        if sv is None:
            continue
        view, flavor = sv
        cmds = commands(Lexer(view, flavor))
        host = Host(
            "python",
            flavor,
            scope_of(cmds),
            where=where,
            literal_note=lambda n: f"set {n} in the environment that runs {os.path.basename(path)} (or define it as a CI secret)",
        )
        for bc in build_commands(cmds):
            if not bc.args:
                continue
            pc2 = PyCall(call, kind, s, e, env_ok=kind != "system")
            pc2.shell_units.append((view, bc, host))
            uses = tuple(
                BuildArgUse(a.name, (v := classify(a.value, host)).kind, v.source, view.src(a.start), view.src(a.end)) for a in bc.args
            )
            df = ctx = None
            if root is not None:
                df, ctx = resolve_paths(bc, _bases(c, call, path, root))
            out.append(Found(Invocation(path, "python", df, ctx, uses, s, e, tool=bc.tool), (pc2, where, c)))
    return out


def _bases(c: _Collector, call, path: str, root: str) -> list[str]:
    d = os.path.dirname(path)
    cwd = _kw(call, "cwd")
    if cwd is not None:
        v = _static(cwd.value)
        if v is not None:
            return [os.path.join(root, v), os.path.join(d, v)]
    return [root, d]


def _collect_list_args(c: _Collector, els: list[El], pc: PyCall) -> None:
    i = 0
    while i < len(els):
        el = els[i]
        st = el.static
        if st == "--build-arg" and i + 1 < len(els):
            nxt = els[i + 1]
            name, kind, src, expr = _analyse_value(c.module, nxt)
            pc.args.append(PyArg(name, kind, src, expr, [el, nxt], False))
            i += 2
            continue
        if (st is not None and st.startswith("--build-arg=")) or (st is None and re.match(r"""^[fF]?(['"])--build-arg=""", el.code)):
            name, kind, src, expr = _analyse_value(c.module, el, "--build-arg=")
            pc.args.append(PyArg(name, kind, src, expr, [el], True))
        i += 1


def _list_paths(c: _Collector, els: list[El], call, path: str, root: str | None) -> tuple[str | None, str | None]:
    if root is None:
        return None, None
    statics = [el.static for el in els]
    fil = ctx = None
    positional: list[str | None] = []
    k = 1
    while k < len(statics):
        s = statics[k]
        if s is None:
            positional.append(None)
            k += 1
            continue
        if s in ("-f", "--file") and k + 1 < len(statics):
            fil = statics[k + 1] or "\0"
            k += 2
            continue
        if s.startswith("--file="):
            fil = s[len("--file=") :]
        elif s.startswith("-") and "=" not in s and s in _VALUE_FLAGS:
            k += 2
            continue
        elif not s.startswith("-"):
            positional.append(s)
        k += 1
    positional = [p for p in positional if p not in ("build", "buildx", "image", "bud", "b", "builder")]
    if positional:
        ctx = positional[-1]
    if ctx is None or fil == "\0":
        return None, None
    for b in _bases(c, call, path, root):
        f = os.path.join(b, fil) if fil else os.path.join(b, ctx, "Dockerfile")
        if os.path.isfile(f):
            return os.path.realpath(f), os.path.realpath(os.path.join(b, ctx))
    b = _bases(c, call, path, root)[0]
    return os.path.realpath(os.path.join(b, fil) if fil else os.path.join(b, ctx, "Dockerfile")), os.path.realpath(os.path.join(b, ctx))


def _find_sdk(c: _Collector, path: str, root: str | None, call) -> list[Found]:
    cst = c.cst
    ba = _kw(call, "buildargs")
    s, e = c.span(call)
    uses = []
    if isinstance(ba.value, cst.Dict):
        for el in ba.value.elements:
            if not isinstance(el, cst.DictElement):
                continue
            key = _static(el.key)
            if key is None:
                continue
            vcode = c.module.code_for_node(el.value)
            if _static(el.value) is not None:
                kind, src = "literal", None
            else:
                kind, src = _value_kind(vcode, el.value)
            ks, _ = c.span(el.key)
            _, ve = c.span(el.value)
            uses.append(BuildArgUse(key, kind, src, ks, ve))
    if not uses:
        return []
    pth = _kw(call, "path")
    dfk = _kw(call, "dockerfile")
    p = _static(pth.value) if pth is not None else None
    d = _static(dfk.value) if dfk is not None else "Dockerfile"
    df = ctx = None
    if root is not None and p is not None and d is not None:
        for b in (root, os.path.dirname(path)):
            cand = os.path.join(b, p, d)
            if os.path.isfile(cand):
                df, ctx = os.path.realpath(cand), os.path.realpath(os.path.join(b, p))
                break
        else:
            df, ctx = os.path.realpath(os.path.join(root, p, d)), os.path.realpath(os.path.join(root, p))
    pc = PyCall(call, "sdk", s, e, env_ok=False, sdk=True, sdk_path=p, sdk_dockerfile=d if dfk is not None else None)
    reason = (
        "the docker SDK's build(buildargs=…) uses the classic builder API, which cannot pass BuildKit secrets; "
        "use python-on-whales: docker.buildx.build("
        + (repr(p) if p else "context")
        + (f", file={d!r}" if dfk is not None else "")
        + ', secrets=["id=<id>,env=<NAME>"]) with NAME exported'
    )
    where = f"{rel(path, root)} line {c.pos[call].start.line}"
    return [Found(Invocation(path, "python", df, ctx, tuple(uses), s, e, migratable=False, reason=reason), (pc, where, c))]

"""Planning the rewrite of Python build calls: ``--secret`` flags, ``env=`` entries, ``import os``.

List argvs get ``--secret`` elements and their values move into the call's ``env=`` (merged,
wrapped or added as ``{**os.environ, …}``); command strings are planned as shell text; the docker
SDK is reported with its python-on-whales equivalent.
"""

from __future__ import annotations

from refactor.buildspec import SecretSpec
from refactor.fixes.edit import Edit

from .common import delete_list_item
from .model import CallerPlan
from .python_cst import _STR_START, El, PyCall, _Collector, _dotted, _kw
from .shell import plan_build

# ------------------------------------------------------------------------------------------
# planning


def plan(path: str, text: str, groups: list, result: CallerPlan) -> None:
    c = groups[0][0].data[2] if groups else _Collector(text)
    need_os = False
    nl = "\r\n" if "\r\n" in text else "\n"
    for found, migrated in groups:
        pc, where, _c = found.data
        if pc.sdk:
            ids = ", ".join(f'"{migrated[a.name].cli()}"' for a in found.inv.build_args if migrated.get(a.name) is not None)
            if not ids:
                continue  # only build args nothing reads any more: harmless
            p = repr(pc.sdk_path) if pc.sdk_path else "context"
            f = f", file={pc.sdk_dockerfile!r}" if pc.sdk_dockerfile else ""
            result.add_unmigratable(
                f"{where}: the docker SDK's build(buildargs=…) cannot pass BuildKit secrets; use python-on-whales "
                f"docker.buildx.build({p}{f}, secrets=[{ids}]) with the variables exported"
            )
            continue
        env_entries: dict[str, str] = {}
        if pc.shell_units:
            for view, bc, host in pc.shell_units:
                host.add_env = _adder(env_entries) if pc.env_ok else None
                plan_build(view, text, bc, migrated, host, result)
        else:
            _plan_list(c, pc, migrated, env_entries, result, where)
        if env_entries and _add_env(c, pc.call, env_entries, nl, result, where):
            need_os = True
    if need_os and not c.os_imported:
        _import_os(c, nl, result)


def _adder(entries: dict[str, str]):
    def add(name: str, expr: str) -> bool:
        if name in entries and entries[name] != expr:
            return False
        entries[name] = expr
        return True

    return add


def _quote_of(el: El) -> str:
    m = _STR_START.match(el.code)
    return m.group(2)[0] if m and m.group(2) in ("'", '"') else '"'


def _plan_list(c: _Collector, pc: PyCall, migrated: dict[str, SecretSpec], env: dict[str, str], result: CallerPlan, where: str) -> None:
    done: set[str] = set()
    for a in pc.args:
        if a.name == "":
            if migrated:
                result.add_note(f"{where}: a build arg is computed at run time; check that it does not pass {', '.join(sorted(migrated))}")
            continue
        if a.name not in migrated:
            continue
        spec = migrated[a.name]
        if spec is None:  # the ARG is gone and nothing reads it: the build arg just goes
            if a.kind == "literal":
                result.add_rotate(a.name)
                result.add_note(f"{where}: the committed value of {a.name} was removed (it must be rotated)")
            result.edits.append(_delete_elements(c.text, a.elements))
            continue
        env_name = a.name
        if a.kind == "passthrough":
            pass
        elif a.kind == "literal":
            result.add_rotate(a.name)
            result.add_note(
                f"{where}: the committed value of {a.name} was removed (it must be rotated); set {a.name} in the environment that runs the script"
            )
        elif a.kind == "env" and a.source:
            env_name = a.source
        elif a.expr is not None and pc.env_ok:
            if a.name in env and env[a.name] != a.expr:
                result.add_unmigratable(f"{where}: {a.name} is passed twice with different values")
                continue
            env[a.name] = a.expr
        else:
            result.add_unmigratable(f"{where}: the value of {a.name} cannot be moved into the environment; migrate it by hand")
            continue
        secret = f"id={spec.id},env={env_name}" if spec.type == "env" else spec.cli()
        if spec.id in done:
            result.edits.append(_delete_elements(c.text, a.elements))
            continue
        done.add(spec.id)
        q = _quote_of(a.elements[0])
        if a.single:
            el = a.elements[0]
            result.edits.append(Edit(el.start, el.end, f"{q}--secret={secret}{q}"))
        else:
            flag, value = a.elements
            result.edits.append(Edit(flag.start, flag.end, f"{q}--secret{q}"))
            result.edits.append(Edit(value.start, value.end, f"{q}{secret}{q}"))


def _delete_elements(text: str, els: list[El]) -> Edit:
    s, e = els[0].start, els[-1].end
    return delete_list_item(text, s, e, after_ws=" \t\r\n", before_ws=" \t\r\n")


def _add_env(c: _Collector, call, entries: dict[str, str], nl: str, result: CallerPlan, where: str) -> bool:
    """Merge ``entries`` into the call's ``env=``; True when ``os.environ`` is referenced."""
    cst = c.cst
    items = ", ".join(f'"{k}": {v}' for k, v in entries.items())
    kw = _kw(call, "env")
    if kw is not None:
        v = kw.value
        if isinstance(v, cst.Dict):
            if v.elements:
                _, last_end = c.span(v.elements[-1].value)
                result.edits.append(Edit(last_end, last_end, ", " + items))
            else:
                s, e = c.span(v)
                result.edits.append(Edit(s + 1, s + 1, items))
            return False
        s, e = c.span(v)
        if isinstance(v, cst.Name) and v.value == "None":
            result.edits.append(Edit(s, e, "{**os.environ, " + items + "}"))
            return True
        code = c.text[s:e]
        if not isinstance(v, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
            code = f"({code})"
        result.edits.append(Edit(s, e, "{**" + code + ", " + items + "}"))
        return False
    new = "env={**os.environ, " + items + "}"
    args = [a for a in call.args]
    if not args:
        return False
    last = args[-1]
    _, last_end = c.span(last.value)
    close = c.span(call)[1] - 1  # the ')'
    between = c.text[last_end:close]
    if "\n" in between:
        first_of_last = c.span(last.keyword)[0] if last.keyword is not None else c.span(last.value)[0]
        ls = c.text.rfind("\n", 0, first_of_last) + 1
        ind = c.text[ls:first_of_last]
        if ind.strip() != "":
            ind = " " * (len(ind) - len(ind.lstrip()))
        comma_at = between.find(",")
        if comma_at >= 0:
            at = last_end + comma_at + 1
            result.edits.append(Edit(at, at, f"{nl}{ind}{new},"))
        else:
            result.edits.append(Edit(last_end, last_end, f",{nl}{ind}{new}"))
    else:
        comma_at = between.find(",")
        if comma_at >= 0:
            at = last_end + comma_at + 1
            result.edits.append(Edit(at, at, f" {new}"))
        else:
            result.edits.append(Edit(last_end, last_end, f", {new}"))
    return True


def _import_os(c: _Collector, nl: str, result: CallerPlan) -> None:
    cst = c.cst
    body = c.module.body
    anchor = None
    after_future = None
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine) and stmt.body and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom)):
            first = stmt.body[0]
            if isinstance(first, cst.ImportFrom) and first.module is not None and _dotted(first.module) == "__future__":
                after_future = stmt
                continue
            anchor = stmt
            break
    if anchor is not None:
        s, _ = c.span(anchor)
        ls = c.text.rfind("\n", 0, s) + 1
        result.edits.append(Edit(ls, ls, f"import os{nl}"))
        return
    prev = after_future
    if (
        prev is None
        and body
        and isinstance(body[0], cst.SimpleStatementLine)
        and body[0].body
        and isinstance(body[0].body[0], cst.Expr)
        and isinstance(body[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    ):
        prev = body[0]
    if prev is not None:
        _, e = c.span(prev)
        at = c.text.find("\n", e)
        at = len(c.text) if at < 0 else at + 1
        result.edits.append(Edit(at, at, f"import os{nl}" if at < len(c.text) or c.text.endswith("\n") else f"{nl}import os{nl}"))
        return
    if body:
        s, _ = c.span(body[0])
        ls = c.text.rfind("\n", 0, s) + 1
        result.edits.append(Edit(ls, ls, f"import os{nl}"))

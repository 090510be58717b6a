"""Writing compose secrets: ``build.secrets`` items, top-level ``environment:`` secrets, ``.env`` names.

:func:`_add_build_secrets` extends or adds a service's ``build.secrets`` list and
:func:`_add_top_level` the file's top-level ``secrets:`` mapping, in the file's own indentation
and layout; :func:`_dotenv_names` lists what the project's ``.env`` sets (Compose >= 2.39.3 no
longer reads it for build secrets).
"""

from __future__ import annotations

import os
import re

from refactor.codecache import regex
from refactor.fixes.edit import Edit

from . import yamlutil as Y
from .compose_services import Service, _is_null
from .model import CallerPlan


def _unit(text: str, root) -> int:
    services = Y.get(root, "services")
    if Y.is_map(services) and services.value and not Y.flow(services):
        col = Y.column(text, Y.start(services.value[0][0]))
        if 1 < col <= 8:
            return col
    return Y.indent_unit(text)


def _item(ref: tuple[str, str], prefix: str, nl: str) -> str:
    """One build.secrets item: short form, or long form when the names differ."""
    name, sid = ref
    if name == sid:
        return f"{prefix}{sid}{nl}"
    pad = " " * len(prefix)
    return f"{prefix}source: {name}{nl}{pad}target: {sid}{nl}"


def _add_build_secrets(
    text, svc: Service, refs: list[tuple[str, str]], args_gone: bool, args_pair, unit: int, nl: str, result: CallerPlan, where: str
) -> None:
    existing = Y.get(svc.build, "secrets")
    if existing is not None:
        if not Y.is_seq(existing):
            result.add_unmigratable(f"{where}: build.secrets is not a list; add {', '.join(r[1] for r in refs)} by hand")
            return
        have = set()
        for it in existing.value:
            if Y.is_scalar(it):
                have.add(it.value)
            elif Y.is_map(it):
                have.add(Y.sval(Y.get(it, "target")) or Y.sval(Y.get(it, "source")))
        refs = [r for r in refs if r[1] not in have]
        if not refs:
            return
        if text[Y.start(existing)] == "[":
            if any(n != i for n, i in refs):
                result.add_unmigratable(f"{where}: build.secrets is a flow list; add {', '.join(r[1] for r in refs)} by hand")
                return
            close = Y.end(existing) - 1
            k = close
            while k > Y.start(existing) + 1 and text[k - 1] in " \t\r\n":
                k -= 1
            sep = ", " if existing.value else ""
            result.edits.append(Edit(k, k, sep + ", ".join(r[1] for r in refs)))
            return
        if not existing.value:
            result.add_unmigratable(f"{where}: build.secrets is empty in an unusual form; add {', '.join(r[1] for r in refs)} by hand")
            return
        first = existing.value[0]
        dash = Y.line_start(text, Y.start(first))
        prefix = text[dash : Y.start(first)]  # "    - "
        if prefix.strip() != "-":
            result.add_unmigratable(f"{where}: build.secrets has an unusual layout; add {', '.join(r[1] for r in refs)} by hand")
            return
        at = Y.next_line(text, Y.content_end(text, existing))
        block = "".join(_item(r, prefix, nl) for r in refs)
        if at >= len(text) and not text.endswith("\n"):
            block = nl + block
        result.edits.append(Edit(at, at, block))
        return
    # a new build.secrets key, at the column of the build's keys
    key_col = Y.column(text, Y.start(svc.build.value[0][0])) if svc.build.value else 0
    ind = " " * key_col
    block = f"{ind}secrets:{nl}" + "".join(_item(r, f"{ind}{' ' * unit}- ", nl) for r in refs)
    if args_gone and args_pair is not None:
        at = Y.line_start(text, Y.start(args_pair[0]))
    else:
        at = Y.next_line(text, Y.content_end(text, svc.args))
    if at >= len(text) and not text.endswith("\n"):
        block = nl + block
    result.edits.append(Edit(at, at, block))


def _add_top_level(text: str, root, want: dict[str, str], unit: int, nl: str, result: CallerPlan, shown: str) -> None:
    pair = Y.get_pair(root, "secrets")
    if pair is not None:
        node = pair[1]
        if Y.is_map(node) and node.value and text[Y.start(node)] != "{":
            col = Y.column(text, Y.start(node.value[0][0]))
            ind = " " * col
            at = Y.next_line(text, Y.content_end(text, node))
            block = "".join(f"{ind}{sid}:{nl}{ind}{' ' * unit}environment: {env}{_WHERE}{nl}" for sid, env in want.items())
            if at >= len(text) and not text.endswith("\n"):
                block = nl + block
            result.edits.append(Edit(at, at, block))
            return
        if _is_null(node):
            at = Y.line_end(text, Y.end(pair[0]))
            if text[at - 1 : at] == "\r":
                at -= 1
            block = "".join(f"{nl}{' ' * unit}{sid}:{nl}{' ' * unit * 2}environment: {env}{_WHERE}" for sid, env in want.items())
            result.edits.append(Edit(at, at, block))
            return
        result.add_unmigratable(f"{shown}: the top-level secrets: is not a block mapping; add {', '.join(want)} by hand")
        return
    block = f"secrets:{nl}" + "".join(f"{' ' * unit}{sid}:{nl}{' ' * unit * 2}environment: {env}{_WHERE}{nl}" for sid, env in want.items())
    end = len(text)
    if (text and not text.endswith("\n")) or (text.strip() and _needs_blank(text, root)):
        block = nl + block
    result.edits.append(Edit(end, end, block))


_WHERE = "  # read from the environment of `docker compose build`; Compose >= 2.39.3 ignores .env here"
_DOTENV = regex(r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=", re.M)


def _dotenv_names(project_dir: str) -> dict[str, str]:
    """Names the project's ``.env`` sets (name -> path of the .env file); {} when there is none."""
    p = os.path.join(project_dir, ".env")
    try:
        with open(p, encoding="utf-8", errors="replace") as fh:
            text = fh.read(1 << 20)
    except OSError:
        return {}
    return {m.group(1): p for m in _DOTENV.finditer(text)}


def _needs_blank(text: str, root) -> bool:
    """Keep the file's habit: a blank line between top-level keys when it has one."""
    keys = [k for k, _ in root.value]
    for k in keys[1:]:
        ls = Y.line_start(text, Y.start(k))
        prev = text[:ls].rstrip(" \t")
        if prev.endswith("\n\n") or prev.endswith("\r\n\r\n"):
            return True
    return False

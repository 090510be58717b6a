"""The services of a compose file that pass build args, with each arg's entry and value kind.

:func:`_services` finds every service whose ``build.args`` (a mapping or a list) holds entries,
noting args shared through an anchor or merge key; :func:`classify` tells what an arg value is
(``${X}``, ``$X``, a literal, or something compose cannot hand over as one variable);
:func:`_paths` resolves the Dockerfile and context.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from refactor.codecache import regex
from refactor.records import dataclass

from . import yamlutil as Y

if TYPE_CHECKING:
    from ruamel.yaml.nodes import MappingNode, Node


_REF = regex(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?\}$|\$([A-Za-z_][A-Za-z0-9_]*)$", re.S)


@dataclass
class ArgEntry:
    name: str
    kind: str
    source: str | None
    start: int  # the entry's text (key through value, or the sequence item)
    end: int
    has_default: bool = False


@dataclass
class Service:
    name: str
    node: Node  # the service mapping
    build: MappingNode  # build mapping
    args: Node  # args node (mapping or sequence)
    entries: list[ArgEntry]
    shared: bool  # args come from outside the service (anchor / merge key)


def classify(value: str | None) -> tuple[str, str | None, bool]:
    """(kind, source variable, has a non-empty default) of a compose arg value."""
    if value is None:
        return "passthrough", None, False
    m = _REF.match(value)
    if m:
        if m.group(4):
            return "env", m.group(4), False
        op, rest = m.group(2), m.group(3)
        return "env", m.group(1), bool(op and "-" in op and rest)
    if "$" not in value.replace("$$", ""):
        return "literal", None, False
    return "unknown", None, False


def _is_null(node) -> bool:
    return Y.is_scalar(node) and (
        str(node.tag).endswith(":null") or (Y.style(node) is None and node.value in ("", "~", "null", "Null", "NULL"))
    )


def _entries(text: str, args) -> list[ArgEntry]:
    out = []
    if Y.is_map(args):
        for k, v in args.value:
            if not Y.is_scalar(k):
                continue
            value = None if _is_null(v) else (v.value if Y.is_scalar(v) else None)
            kind, src, dflt = classify(value) if Y.is_scalar(v) or v is None else ("unknown", None, False)
            e = Y.end(v) if v is not None and not _is_null(v) else Y.end(k) + (1 if text[Y.end(k) : Y.end(k) + 1] == ":" else 0)
            if _is_null(v) and text[Y.end(k) : Y.end(k) + 1] == ":":
                e = Y.end(k) + 1
            out.append(ArgEntry(str(k.value), kind, src, Y.start(k), e, dflt))
    elif Y.is_seq(args):
        for item in args.value:
            if not Y.is_scalar(item):
                continue
            name, eq, value = str(item.value).partition("=")
            kind, src, dflt = classify(value if eq else None)
            out.append(ArgEntry(name.strip(), kind, src, Y.start(item), Y.end(item), dflt))
    return out


def _services(text: str, root) -> list[Service]:
    out = []
    services = Y.get(root, "services")
    for k, svc in Y.items(services):
        build = Y.get(svc, "build")
        if not Y.is_map(build):
            continue
        args = Y.get(build, "args")
        if args is None or not (Y.is_map(args) or Y.is_seq(args)):
            continue
        entries = _entries(text, args)
        if not entries:
            continue
        shared = not (Y.start(svc) <= Y.start(args) < Y.end(svc))
        out.append(Service(str(k.value), svc, build, args, entries, shared))
    return out


def _paths(path: str, build) -> tuple[str | None, str | None]:
    base = os.path.dirname(path)
    ctx = Y.sval(Y.get(build, "context")) or "."
    if "$" in ctx or re.match(r"^[a-z][a-z0-9+.-]*://|^git@", ctx):
        return None, None
    context = os.path.realpath(os.path.join(base, ctx))
    if Y.get(build, "dockerfile_inline") is not None:
        return None, context
    df = Y.sval(Y.get(build, "dockerfile")) or "Dockerfile"
    if "$" in df:
        return None, context
    return os.path.realpath(os.path.join(context, df)), context

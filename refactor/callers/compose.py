"""Compose files: ``build.args`` → ``build.secrets`` plus a top-level ``secrets:`` entry.

::

    services:                               services:
      app:                                    app:
        build:                                  build:
          context: .                              context: .
          args:                                   secrets:
            NPM_TOKEN: ${NPM_TOKEN}                 - npm_token
                                            secrets:
                                              npm_token:
                                                environment: NPM_TOKEN

``environment:`` secrets need Compose ≥ 2.6. The top-level secret reads the variable the arg was
interpolated from (``${X}`` → ``environment: X``); ``NAME`` alone or an empty value (compose passes
the host's ``NAME``) → ``environment: NAME``; a literal is removed and reported for rotation, and
the secret reads ``NAME`` (export it). A value compose cannot hand over as one variable
(``prefix-${X}``) is not migrated.

Where the value comes from: an ``environment:`` build secret reads the environment of the process
that runs ``docker compose build``; Compose ≥ 2.39.3 no longer fills it from ``.env`` (docker/compose
#13235), although ``args:`` interpolation still reads ``.env``. Each new ``environment:`` line says
so in a comment, and a variable that the project's ``.env`` sets blocks the migration (it would
build with an empty secret) until it is exported instead.

ruamel.yaml only locates nodes; the edits are text splices (whole lines for block entries), so
comments, quoting, indentation and key order stay as they were.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from refactor.build import SecretSpec
from refactor.fixes.edit import Edit

from . import yamlutil as Y
from .common import Found, delete_list_item, rel
from .model import BuildArgUse, CallerPlan, Invocation

if TYPE_CHECKING:
    from ruamel.yaml.nodes import MappingNode, Node

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?\}$|\$([A-Za-z_][A-Za-z0-9_]*)$", re.S)


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


def find(path: str, text: str, root: str | None) -> list[Found]:
    node = Y.compose(text)
    docs = [node] if Y.is_map(node) else [d for d in Y.compose_all(text) if Y.is_map(d)]
    if not docs:
        why = Y.refusal(text)  # too deep, an alias bomb: reported, since it may pass any build arg
        return [Y.refused(path, "compose", text, rel(path, root), why)] if why is not None else []
    multi = len(docs) > 1 or node is None  # compose merges the documents of a multi-document file
    found = []
    for svc in (s for d in docs for s in _services(text, d)):
        dockerfile, context = _paths(path, svc.build) if root is not None else (None, None)
        uses = tuple(BuildArgUse(e.name, e.kind, e.source, e.start, e.end) for e in svc.entries)
        inv = Invocation(
            path,
            "compose",
            dockerfile,
            context,
            uses,
            Y.start(svc.node),
            Y.content_end(text, svc.node),
            migratable=not svc.shared and not multi,
            reason="a multi-document compose file (its documents are merged); migrate it by hand"
            if multi
            else "build args come from a YAML anchor or merge key shared with other services; migrate it by hand"
            if svc.shared
            else None,
        )
        found.append(Found(inv, svc))
    return found


# ------------------------------------------------------------------------------------------


def _whole_lines(text: str, s: int, e: int) -> tuple[int, int]:
    """Extend a block entry span to whole lines (with the line break)."""
    return Y.line_start(text, s), Y.next_line(text, e if e > s else s)


def _flow_item_delete(text: str, s: int, e: int) -> Edit:
    """Delete one item of a flow collection with one neighbouring comma."""
    return delete_list_item(text, s, e, after_ws=" \t", before_ws=" \t\r\n")


def _existing_top(root) -> dict[str, str | None]:
    """Top-level secrets: name -> environment variable (None when it has another source)."""
    out: dict[str, str | None] = {}
    for k, v in Y.items(Y.get(root, "secrets")):
        if Y.is_scalar(k):
            out[str(k.value)] = Y.sval(Y.get(v, "environment"))
    return out


def plan(path: str, text: str, groups: list[tuple[Found, dict[str, SecretSpec]]], result: CallerPlan) -> None:
    root = Y.compose(text)
    if not Y.is_map(root):
        if any(Y.is_map(d) for d in Y.compose_all(text)):
            result.add_unmigratable(
                f"{os.path.basename(path)}: a multi-document compose file (its documents are merged); migrate it by hand"
            )
        else:
            result.add_unmigratable(f"{os.path.basename(path)}: not readable as YAML")
        return
    shown = os.path.basename(path)
    nl = Y.newline(text)
    unit = _unit(text, root)
    existing = _existing_top(root)
    dotenv = _dotenv_names(os.path.dirname(path))
    top: dict[str, str] = {}  # new top-level secret name -> environment variable
    for found, migrated in groups:
        svc = cast(Service, found.data)  # what find() put there
        where = f"{shown} service {svc.name}"
        if svc.shared:
            if any(e.name in migrated for e in svc.entries):
                result.add_unmigratable(f"{where}: {found.inv.reason}")
            continue
        removed: list[ArgEntry] = []
        refs: list[tuple[str, str]] = []  # (top-level name, secret id in the Dockerfile)
        for e in svc.entries:
            if e.name not in migrated:
                continue
            spec = migrated[e.name]
            if spec is None:  # the ARG is gone and nothing reads it: the arg just goes
                if e.kind == "literal":
                    result.add_rotate(e.name)
                    result.add_note(f"{where}: the committed value of {e.name} was removed (it must be rotated)")
                removed.append(e)
                continue
            if e.kind == "unknown":
                result.add_unmigratable(f"{where}: the value of {e.name} is not one variable; compose cannot pass it as a secret")
                continue
            env = e.source if e.kind == "env" and e.source else e.name
            if env in dotenv:
                result.add_unmigratable(
                    f"{where}: {env} is set in {os.path.relpath(dotenv[env])}, which Compose >= 2.39.3 does not read for build"
                    f" secrets (the build would get an empty {env}); export {env} in the shell that runs docker compose build"
                    " and remove it from .env, then migrate"
                )
                continue
            if spec.type != "env":
                result.add_unmigratable(f"{where}: {e.name} needs a file secret ({spec.cli()}); add it by hand")
                continue
            if e.kind == "literal":
                result.add_rotate(e.name)
                result.add_note(
                    f"{where}: the committed value of {e.name} was removed (it must be rotated); export {e.name} in the"
                    " shell that runs docker compose build (Compose >= 2.39.3 does not read build secrets from .env)"
                )
            if e.has_default:
                result.add_note(f"{where}: the default in the value of {e.name} is dropped: the secret reads ${env} only")
            # the top-level name: the secret id, unless that name already reads another variable
            name = spec.id
            if existing.get(name, env) != env or top.get(name, env) != env:
                name = f"{spec.id}_{env.lower()}"
            if existing.get(name, env) != env:
                result.add_unmigratable(f"{where}: top-level secret {name} already exists with another source")
                continue
            if name not in existing:
                top[name] = env
            removed.append(e)
            if (name, spec.id) not in refs:
                refs.append((name, spec.id))
        if not removed:
            continue
        if text[Y.start(svc.build)] == "{":
            result.add_unmigratable(f"{where}: build is a flow mapping ({{...}}); move the args to secrets by hand")
            continue
        args = svc.args
        args_pair = Y.get_pair(svc.build, "args")
        all_gone = len(removed) == len(svc.entries)
        flow = text[Y.start(args)] in "[{"
        if all_gone and args_pair is not None:
            s, end = _whole_lines(text, Y.start(args_pair[0]), Y.content_end(text, args))
            keep = ""
            if not refs and len(svc.build.value) == 1:  # build: would be left empty
                keep = text[s : Y.start(args_pair[0])] + "context: ." + nl
            result.edits.append(Edit(s, end, keep))
        else:
            for ent in removed:
                if flow:
                    result.edits.append(_flow_item_delete(text, ent.start, ent.end))
                else:
                    s, end = _whole_lines(text, ent.start, ent.end)
                    result.edits.append(Edit(s, end, ""))
        if refs:
            _add_build_secrets(text, svc, refs, all_gone, args_pair, unit, nl, result, where)
    if top:
        _add_top_level(text, root, top, unit, nl, result, shown)
    if top:
        result.add_note(f"{shown}: build secrets from environment variables need Docker Compose >= 2.6")
    if result.edits and not result.unmigratable:
        _verify(text, result, shown)


def _verify(text: str, result: CallerPlan, shown: str) -> None:
    """The edits may only move build args to build secrets: every service keeps its build (and
    everything in it but args and secrets) and everything else in the file is unchanged."""
    from refactor.fixes.edit import ConflictError, apply_edits

    try:
        new = apply_edits(text, list(result.edits))
    except ConflictError:
        result.add_unmigratable(f"{shown}: conflicting edits; migrate by hand")
        return
    before, after = Y.plain(text), Y.plain(new)
    if not isinstance(before, dict) or not isinstance(after, dict):
        result.add_unmigratable(f"{shown}: the edited file does not read back as YAML; migrate by hand")
        return

    def strip(doc: dict) -> dict:
        doc = dict(doc)
        doc.pop("secrets", None)
        services = {}
        for name, svc in (doc.get("services") or {}).items():
            svc = dict(svc) if isinstance(svc, dict) else svc
            if isinstance(svc, dict) and isinstance(svc.get("build"), dict):
                build = dict(svc["build"])
                build.pop("args", None)
                build.pop("secrets", None)
                if build == {"context": "."} and "context" not in (before_build(name) or {}):
                    build = {}
                svc["build"] = build
            services[name] = svc
        doc["services"] = services
        return doc

    def before_build(name: str):
        svc = (before.get("services") or {}).get(name)
        return svc.get("build") if isinstance(svc, dict) and isinstance(svc.get("build"), dict) else None

    if strip(before) != strip(after):
        result.add_unmigratable(f"{shown}: the edit would change more than the build args (a dfix bug); migrate by hand")


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
_DOTENV = re.compile(r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=", re.M)


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

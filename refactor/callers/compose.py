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
from typing import cast

from refactor.buildspec import SecretSpec
from refactor.fixes.edit import Edit

from . import yamlutil as Y
from .common import Found, delete_list_item, rel
from .compose_secrets import _add_build_secrets, _add_top_level, _dotenv_names, _unit
from .compose_services import ArgEntry, Service, _paths, _services, classify
from .model import BuildArgUse, CallerPlan, Invocation

# The parts live in compose_services (reading services' build args) and compose_secrets (writing
# secrets); this module finds, plans and checks the result. plan() calls _add_build_secrets
# through this module's namespace (a test patches it here).
__all__ = ["ArgEntry", "Service", "classify", "find", "plan"]


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

"""What HCL and JSON bake files share: a target's args, its Dockerfile, and the migration of each arg.

:class:`BakeTarget` is one ``target`` with its ``args`` entries and ``secret`` list, whichever
syntax it was read from; :func:`_resolve` follows ``inherits`` to the Dockerfile and context;
:func:`_migrate_entries` decides, per migrated arg, what the ``secret`` entry reads (and what is
reported for rotation or left by hand).
"""

from __future__ import annotations

import os
import re

from refactor.buildspec import SecretSpec
from refactor.records import dataclass

from .model import CallerPlan


@dataclass
class BakeTarget:
    name: str
    block: object  # Block (HCL) or JNode (JSON)
    args: object  # args Node / JNode
    args_attr: object  # Attr (HCL) / member (JSON)
    entries: list  # [(name, kind, source, start, end, entry)]
    secret: object  # list node of the existing secret attribute, or None


def _resolve(path: str, chain: list, get) -> tuple[str | None, str | None]:
    base = os.path.dirname(path)
    ctx = get(chain, "context")
    df = get(chain, "dockerfile")
    if ctx is False or df is False:
        return None, None
    ctx = ctx or "."
    if re.match(r"^[a-z][a-z0-9+.-]*://|^git@|^cwd://", ctx):
        if ctx.startswith("cwd://"):
            ctx = ctx[len("cwd://") :]
        else:
            return None, None
    context = os.path.realpath(os.path.join(base, ctx))
    if get(chain, "dockerfile-inline"):
        return None, context
    df = df or "Dockerfile"
    if df.startswith("cwd://"):
        return os.path.realpath(os.path.join(base, df[len("cwd://") :])), context
    return os.path.realpath(os.path.join(context, df)), context


def _nl(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _migrate_entries(bt: BakeTarget, migrated: dict[str, SecretSpec], variables: dict, where: str, result: CallerPlan) -> list:
    have = _existing_ids(bt)
    out: list[tuple[tuple, str | None]] = []  # (entry, its --secret value or None)
    for en in bt.entries:
        name, kind, src = en[0], en[1], en[2]
        if name not in migrated:
            continue
        spec = migrated[name]
        if spec is None:  # the ARG is gone and nothing reads it
            if kind == "literal":
                result.add_rotate(name)
                result.add_note(f"{where}: the committed value of {name} was removed (it must be rotated)")
            out.append((en, None))
            continue
        if kind == "unknown":
            result.add_unmigratable(f"{where}: the value of {name} is not one variable; bake cannot pass it as a secret")
            continue
        if spec.type != "env":
            result.add_unmigratable(f"{where}: {name} needs a file secret ({spec.cli()}); add it by hand")
            continue
        env = src if kind == "env" and src else name
        if kind == "literal":
            result.add_rotate(name)
            result.add_note(f"{where}: the committed value of {name} was removed (it must be rotated); export {name} before running bake")
        if kind == "env" and src in variables and variables[src]:
            result.add_rotate(name)
            result.add_note(
                f"{where}: variable {src} has a committed default that env= does not read; remove the default (it must be rotated) and export {src}"
            )
        if spec.id in have:
            out.append((en, None))  # the secret is there already: only the arg goes
            continue
        have.add(spec.id)
        out.append((en, f"id={spec.id},env={env}"))
    return out


def _existing_ids(bt: BakeTarget) -> set[str]:
    ids: set[str] = set()
    lst = bt.secret
    if lst is None:
        return ids
    items = lst.entries if hasattr(lst, "entries") else []
    for it in items:
        txt = getattr(it, "text", "")
        m = re.search(r"(?:^|[\",])id=([^,\"]+)", txt)
        if m:
            ids.add(m.group(1))
    return ids

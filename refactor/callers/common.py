"""Shared pieces of the caller kinds: found invocations and CLI-host planning."""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import field
from itertools import pairwise

from refactor.buildspec import SecretSpec
from refactor.fixes.edit import Edit
from refactor.records import dataclass

from .model import CallerPlan, Invocation
from .shell import NO_SECRETS, BuildCmd, Host, View, arg_uses, plan_build, resolve_paths, resolve_pattern


@dataclass
class Found:
    """An invocation and what its kind needs to plan it again."""

    inv: Invocation
    data: object = None


@dataclass
class CliUnit:
    """A build command on a shell command line inside a host file."""

    view: View
    bc: BuildCmd
    host: Host
    extra: dict = field(default_factory=dict)


def cli_found(
    path: str,
    kind: str,
    view: View,
    bc: BuildCmd,
    host: Host,
    bases: list[str] | None,
    subst: dict[str, str] | None = None,
    extra: dict | None = None,
    migratable: bool = True,
    reason: str | None = None,
) -> Found:
    dockerfile = context = None
    if bases:
        dockerfile, context = resolve_paths(bc, bases, subst)
    inv = Invocation(
        path=path,
        kind=kind,
        dockerfile=dockerfile,
        context=context,
        build_args=arg_uses(view, bc, host),
        start=view.src(bc.cmd.start),
        end=view.src(bc.cmd.end),
        migratable=migratable and bc.tool not in NO_SECRETS,
        reason=NO_SECRETS.get(bc.tool, reason),
        tool=bc.tool,
    )
    return Found(inv, CliUnit(view, bc, host, extra or {}))


def _is_cd(c) -> bool:
    return bool(c.argv) and c.argv[0].static and c.argv[0].cooked == "cd"


def cd_index(cmds) -> tuple[list[int], list] | None:
    """The ``cd`` commands of ``cmds`` and their starts, for :func:`cd_bases` (a script of 4,000
    builds rescanned every earlier command for each: quadratic); None when ``cmds`` is not in
    text order (then each build scans, as it did)."""
    starts = [c.start for c in cmds]
    if any(a > b for a, b in pairwise(starts)):
        return None
    cds = [c for c in cmds if _is_cd(c)]
    return [c.start for c in cds], cds


def cd_bases(cmds, bc: BuildCmd, bases: list[str] | None, earlier=(), index=None) -> list[str] | None:
    """Bases for a build preceded by ``cd DIR`` in the same script: DIR under each base is tried
    first, then the bases themselves (a ``cd`` inside an earlier subshell does not apply). A ``cd``
    to a computed directory leaves the build unresolved (None): dfix cannot tell where it runs.
    ``earlier``: commands known to run before (earlier lines of a CI script list). ``index``:
    :func:`cd_index` of ``cmds``, when one script asks for many builds."""
    if not bases or not (cmds or earlier):
        return bases
    cd = None
    for c in earlier:  # commands of earlier script lines (CI script lists run in one shell)
        if _is_cd(c):
            cd = c
    if index is not None:  # the last cd starting before the build (commands in text order)
        k = bisect.bisect_left(index[0], bc.cmd.start)
        cd = index[1][k - 1] if k else cd
    else:
        for c in cmds or ():
            if c.start >= bc.cmd.start:
                break
            if _is_cd(c):
                cd = c
    if cd is None:
        return bases
    arg = next((w for w in cd.argv[1:] if not (w.static and w.cooked.startswith("-"))), None)
    if arg is None or not arg.static:
        return None if arg is not None and "dirname" not in arg.cooked else bases
    target = arg.cooked
    if target in ("-", "~") or target.startswith("~"):
        return None
    return [os.path.join(b, target) for b in bases] + list(bases)


def loop_values(cmds) -> dict[str, list[str]]:
    """``for NAME in W1 W2 …`` loops over literal words: NAME -> [W1, W2, …]."""
    out: dict[str, list[str]] = {}
    for c in cmds:
        w = c.argv
        if len(w) >= 4 and w[0].static and w[0].cooked == "for" and w[2].static and w[2].cooked == "in":
            vals = []
            for x in w[3:]:
                if not x.static or x.cooked in ("do", ";"):
                    break
                vals.append(x.cooked)
            if vals and all(x.static for x in w[3 : 3 + len(vals)]):
                out[w[1].cooked] = vals
    return out


def cli_founds(
    path: str,
    kind: str,
    view: View,
    bc: BuildCmd,
    host: Host,
    bases: list[str] | None,
    subst: dict[str, str] | None = None,
    loops: dict[str, list[str]] | None = None,
    **kw,
) -> list[Found]:
    """Like :func:`cli_found`; a build whose Dockerfile path holds an unknown expansion is linked
    to each Dockerfile it can build, one invocation per Dockerfile with the same span (planned
    together): the values of a ``for`` loop over literal words when the expansion is that loop's
    variable, else (``-f services/$svc/Dockerfile`` from elsewhere) every Dockerfile the pattern
    matches."""
    first = cli_found(path, kind, view, bc, host, bases, subst, **kw)
    if first.inv.dockerfile is not None or not bases:
        return [first]
    used = {re.sub(r"[${}\s\"]", "", sg.text) for w in (bc.file, bc.context) if w is not None for sg in w.segs if sg.kind == "exp"}
    if loops and used and used <= set(loops):
        import itertools

        names = sorted(used)
        out: list[Found] = []
        seen: set = set()
        for combo in itertools.product(*(loops[n] for n in names)):
            sub = dict(subst or {})
            for n, v in zip(names, combo):
                sub.update({f"${n}": v, f"${{{n}}}": v})
            f = cli_found(path, kind, view, bc, host, bases, sub, **kw)
            if f.inv.dockerfile not in seen:
                seen.add(f.inv.dockerfile)
                out.append(f)
        return out
    matches = resolve_pattern(bc, bases, subst)
    if not matches:
        return [first]
    inv = first.inv
    return [
        Found(Invocation(inv.path, inv.kind, df, ctx, inv.build_args, inv.start, inv.end, inv.migratable, inv.reason, inv.tool), first.data)
        for df, ctx in matches
    ]


def plan_cli(text: str, unit: CliUnit, migrated: dict[str, SecretSpec], plan: CallerPlan) -> None:
    plan_build(unit.view, text, unit.bc, migrated, unit.host, plan)


def rel(path: str, root: str | None) -> str:
    if not root:
        return os.path.basename(path)
    try:
        return os.path.relpath(path, root)
    except ValueError:
        return path


def delete_list_item(text: str, s: int, e: int, *, after_ws: str = " \t", before_ws: str = " \t") -> Edit:
    """Delete ``text[s:e]``, one element of a comma-separated list, with one neighbouring comma:
    the comma after it (and the whitespace ``after_ws`` that follows) when there is one, else the
    comma before it (skipping ``before_ws``)."""

    j = e
    while j < len(text) and text[j] in " \t":
        j += 1
    if j < len(text) and text[j] == ",":
        j += 1
        while j < len(text) and text[j] in after_ws:
            j += 1
        return Edit(s, j, "")
    k = s
    while k > 0 and text[k - 1] in before_ws:
        k -= 1
    if k > 0 and text[k - 1] == ",":
        return Edit(k - 1, e, "")
    return Edit(s, e, "")

"""Planning the callers with their Dockerfiles, for :mod:`refactor.link`: ``link_callers`` finds
the callers, decides (to a fixed point) which Dockerfile fixes they block, then plans and renders
every caller's edits and its DF011/DF012 findings; ``_migrated`` gives a result's migrated secrets.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from refactor.buildspec import BuildSpec, SecretSpec
from refactor.fixes.edit import apply_edits
from refactor.link_blocks import Block, Linked
from refactor.link_findings import _committed_values, _finding, _position, caller_ignored, spans_hold, spans_index, suppress_caller_findings
from refactor.results import FileResult, FindingOut, FixOut, outcome_of
from refactor.settings import Settings

if TYPE_CHECKING:
    from refactor.callers import Invocation
    from refactor.source import SourceFile


class Linkable(Protocol):
    """What linking reads of a Dockerfile's result: a FileResult, or the Header of a packed one
    (refactor.run_packed)."""

    @property
    def status(self) -> str: ...
    @property
    def migrated(self) -> Sequence[str]: ...
    @property
    def declared_args(self) -> Sequence[str]: ...
    @property
    def declared_after(self) -> Sequence[str]: ...
    @property
    def build(self) -> BuildSpec | None: ...
    @property
    def env_mounts(self) -> bool: ...


def _migrated(r: Linkable) -> dict[str, SecretSpec | None]:
    specs: dict[str, SecretSpec | None] = {
        s.env: s for s in (r.build.secrets if r.build else ()) if s.env is not None and s.env in r.migrated
    }
    for name in r.migrated:
        specs.setdefault(name, None)
    return specs


def link_callers(
    paths: list[str],
    candidates,
    results: Sequence[Linkable],
    per_file: list[Settings],
    excludes: tuple[str, ...],
    settings: Settings | None = None,
    given: set[str] | None = None,
    only_names: frozenset[str] | None = None,
    buffer: tuple[str, SourceFile, list[Invocation]] | None = None,
    cache=None,
) -> Linked:
    """Plan caller edits, and decide which Dockerfile fixes their callers block.

    A caller that must not change blocks the Dockerfiles it builds, as one that cannot: its DF011 is
    ignored (``# dfix: ignore[DF011]`` in its own comment syntax, ``# dfix: skip-file``,
    ``per-file-ignores``, ``--ignore``), or ``given`` (``--callers=given``: the real paths named on
    the command line) does not hold it. Returns the caller results (kind "caller") and the blocks;
    ``Linked.apply`` gives the Dockerfile results with them. Nothing is mutated or written here.

    ``buffer`` (the editor: ``refactor.server``): one caller's real path, its unsaved text and its
    invocations, linked instead of discovering the repository's callers; that file is read from
    the buffer, never from the disk. ``cache``: the run's result cache, which keeps the caller
    files with nothing to read from one run to the next (by their stat).
    """
    settings = settings or (per_file[0] if per_file else Settings())
    from refactor.callers import Target, discover, mentions_in, plan_file, repo_root, stale_args
    from refactor.source import InputError, read_source

    root = repo_root(paths)
    mentions: list[tuple[str, int, str]] = []
    unreadable: list[tuple[str, str]] = []  # caller files dfix could not read: (path, why)
    if buffer is not None:
        invocations = list(buffer[2])
        mentions.extend(mentions_in(buffer[0], buffer[1].text))
    else:
        key, known = cache.callers_lookup(root) if cache is not None else ("", None)
        before = dict(known) if known is not None else {}
        try:
            invocations = discover(root, exclude=excludes, mentions=mentions, unreadable=unreadable, names=only_names, known=known)
        except Exception:  # noqa: BLE001 - discovery of callers never fails the Dockerfile run
            return Linked([], {})
        if cache is not None and known is not None:
            cache.callers_store(key, before, known)
    # mentions no parsed build covers: a form dfix cannot follow (flags in a variable, an argv list…)
    spans: dict[str, list[tuple[int, int]]] = {}
    for inv in invocations:
        spans.setdefault(inv.path, []).extend((u.start, u.end) for u in inv.build_args)
    held = {path: spans_index(lst) for path, lst in spans.items()}
    loose = [(path, off, name) for path, off, name in mentions if path not in held or not spans_hold(held[path], off)]
    if not invocations and not loose and not unreadable:
        return Linked([], {})
    by_df: dict[str, tuple] = {}
    for c, r, st in zip(candidates, results, per_file):
        by_df[os.path.realpath(c.path)] = (c, r, st)

    def targets_for(exclude_dfs: set[str]) -> dict[str, list]:
        out: dict[str, list] = {}
        for inv in invocations:
            entry = by_df.get(inv.dockerfile or "")
            if entry is None or inv.dockerfile in exclude_dfs:
                continue
            _c, r, _st = entry
            if r.status != "ok" or not r.migrated:
                continue
            out.setdefault(inv.path, []).append(Target(inv, _migrated(r), frozenset(r.declared_after)))
        return out

    texts: dict[str, object] = {buffer[0]: buffer[1]} if buffer is not None else {}

    def source_of(path: str):
        if path not in texts:
            try:
                texts[path] = read_source(path)
            except InputError:
                texts[path] = None
        return texts[path]

    marks: dict[str, object] = {}

    def pragmas_of(path: str):
        """The caller's dfix comments; a malformed one makes it a caller dfix cannot read."""
        from refactor.syntax.pragmas import PragmaError, caller_pragmas

        if path not in marks:
            src = source_of(path)
            try:
                marks[path] = caller_pragmas(src.text) if src is not None else None
            except PragmaError as exc:
                marks[path] = None
                unreadable.append((path, f"bad dfix comment: {exc}"))
        return marks[path]

    for path in sorted({inv.path for inv in invocations}):
        pragmas_of(path)

    # pass 1, to a fixed point: which Dockerfiles must stay as they are because a caller cannot
    # follow them. Reverting one Dockerfile can block another (a shared matrix step), so the
    # rules run again until nothing new is blocked.
    blocked: dict[str, list[str]] = {}
    reverted: set[str] = set()
    hard: set[str] = set()  # blocked by the user's choice (not given, ignored): --unsafe-fixes does not override

    def block(d: str, reason: str, must: bool = False) -> None:
        if must:
            hard.add(d)
        blocked.setdefault(d, [])
        if reason not in blocked[d]:
            blocked[d].append(reason)

    def migrates(d: str | None, name: str) -> bool:
        entry = by_df.get(d or "")
        return entry is not None and d not in reverted and entry[1].status == "ok" and name in entry[1].migrated

    sites: dict[tuple[str, int, int, str], set] = {}
    for inv in invocations:
        for use in inv.build_args:
            sites.setdefault((inv.path, use.start, use.end, use.name), set()).add(inv.dockerfile)
    # uses dfix cannot attribute to a Dockerfile: a caller whose Dockerfile it cannot locate (a cd
    # to a computed directory, a path in a variable, a matrix it cannot expand), and build-arg
    # mentions no parsed build covers (flags in a variable, an argv list…). Either may build a
    # Dockerfile that migrates the name: migrating it silently would leave that build without it.
    unattributed: list[tuple[str, str]] = []  # (name, reason)
    for inv in invocations:
        if inv.dockerfile is None or (inv.dockerfile not in by_df and not os.path.isfile(inv.dockerfile)):
            unattributed += [
                (
                    f"*:{inv.path}" if use.name == "*" else use.name,
                    inv.reason
                    if use.name == "*" and inv.reason
                    else f"{os.path.relpath(inv.path)} passes {use.name} to a Dockerfile dfix cannot locate"
                    " (it may be this one); migrate that caller by hand",
                )
                for use in inv.build_args
            ]
    for path, off, name in loose:
        src = source_of(path)
        where = f"{os.path.relpath(path)}:{src.text.count(chr(10), 0, off) + 1}" if src is not None else os.path.relpath(path)
        unattributed.append(
            (name, f"{where} passes {name} as a build arg in a form dfix cannot follow (it may build this Dockerfile); migrate it by hand")
        )
    # a caller dfix cannot read (not UTF-8, no permission, too large) may build any Dockerfile with
    # any build arg: it blocks every migration, and the run ends with exit 2 and its reason
    for path, why in unreadable:
        unattributed.append(("**", f"{os.path.relpath(path)}: {why}; it may build this Dockerfile with the build arg"))
    while True:
        before = {d: len(r) for d, r in blocked.items()}
        # a caller that must stay as it is: ignored, skipped, or not given (--callers=given)
        for path, targets in targets_for(reverted).items():
            src = source_of(path)
            if src is None:
                continue
            shown = os.path.relpath(path)
            if given is not None and os.path.realpath(path) not in given:
                for t in targets:
                    names = ", ".join(sorted({u.name for u in t.invocation.build_args if u.name in t.migrated}))
                    block(
                        t.invocation.dockerfile,
                        f"{shown} passes {names} as a build arg and was not given on the command"
                        " line (--callers=given); pass it too, or run `dfix --write` on the repository",
                        must=True,
                    )
                continue
            for t in targets:
                for use in t.invocation.build_args:
                    if use.name in t.migrated and caller_ignored(
                        settings, shown, pragmas_of(path), "DF011", _position(src.text, use.start)[0]
                    ):
                        block(
                            t.invocation.dockerfile,
                            f"{shown}:{_position(src.text, use.start)[0]}: DF011 is ignored there,"
                            f" so dfix leaves the caller as it is and it still passes {use.name} as a build arg",
                            must=True,
                        )
        # a caller that cannot be migrated blocks the Dockerfiles of its own builds only
        for path, targets in targets_for(reverted).items():
            src = source_of(path)
            if src is None:
                continue
            whole = plan_file(path, src.text, targets).unmigratable
            if whole:
                for t in targets:
                    for reason in plan_file(path, src.text, [t]).unmigratable or whole:
                        block(t.invocation.dockerfile, reason)
        # podman and buildah do not support `env=` on secret mounts (and podman's env-sourced
        # --secret has produced empty files): a Dockerfile they build needs the file form
        for inv in invocations:
            entry = by_df.get(inv.dockerfile or "")
            if entry is None or inv.dockerfile is None or inv.tool not in ("podman", "buildah") or inv.dockerfile in reverted:
                continue
            r = entry[1]
            if r.status == "ok" and r.migrated and r.env_mounts:
                block(
                    inv.dockerfile,
                    f"{os.path.relpath(inv.path)} builds it with {inv.tool}, which does not support env= on"
                    " secret mounts: run dfix with --mount-style file for this Dockerfile",
                )
        # one build-arg site that reaches several Dockerfiles (a matrix, a shell loop): migrating
        # it for some of them breaks the builds of those that still declare the arg
        for (path, _s, _e, name), dfs in sites.items():
            if len(dfs) < 2:
                continue
            done = {d for d in dfs if migrates(d, name)}
            need = {
                d for d in dfs - done if d not in by_df or by_df[d][1].status != "ok" or d in reverted or name in by_df[d][1].declared_after
            }
            if done and need:
                rest = sorted(os.path.relpath(d) if d else "an unresolved Dockerfile" for d in need)
                for d in done:
                    block(d, f"{os.path.relpath(path)} passes {name} to {', '.join(rest)} too, whose fix is not applied")
        if unattributed:
            migrating: dict[str, list[str]] = {}
            for d, (_c, r, _st) in by_df.items():
                for n in r.migrated if d not in reverted and r.status == "ok" else ():
                    migrating.setdefault(n, []).append(d)
            for name, reason in unattributed:
                if name == "**":
                    for d in sorted({x for v in migrating.values() for x in v}):
                        block(d, reason)
                    continue
                if name.startswith("*:"):
                    # a build whose argv dfix cannot resolve: it may pass any name its file mentions
                    src = source_of(name[2:])
                    text = src.text if src is not None else ""
                    for n, ds in migrating.items():
                        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", text):
                            for d in ds:
                                block(d, reason)
                    continue
                for d in migrating.get(name, ()):
                    block(d, reason)
        newly = {d for d in blocked if d in hard or not by_df[d][2].unsafe_fixes} - reverted
        if not newly and before == {d: len(r) for d, r in blocked.items()}:
            break
        reverted |= newly
    blocks = {d: Block(tuple(reasons), hard=d in hard, reverted=d in reverted) for d, reasons in blocked.items()}
    blocks.update({d: Block((), hard=d in hard, reverted=True) for d in reverted - set(blocked)})

    # pass 2: plan and render every caller
    callers: list[FileResult] = []
    if unreadable and blocked:
        for path, why in unreadable:
            callers.append(
                FileResult.failure(
                    os.path.relpath(path), f"{why}; the Dockerfile fixes it may concern are not applied", kind="caller", fs_path=path
                )
            )
    for path, targets in sorted(targets_for(reverted).items()):
        src = source_of(path)
        if src is None:
            continue
        callers.append(_caller_result(path, src, plan_file(path, src.text, targets), targets, per_file))

    # stale build args: callers that pass an ARG the Dockerfile does not declare
    stale_findings: dict[int, list[FindingOut]] = {}
    for inv in invocations:
        entry = by_df.get(inv.dockerfile or "")
        if entry is None:
            continue
        _c, r, _st = entry
        if r.status != "ok":
            continue
        stale = stale_args(inv, set(r.declared_args))
        if not stale:
            continue
        owner = next((x for x in callers if x.fs_path == inv.path), None)
        if owner is None:
            src = source_of(inv.path)
            if src is None:
                continue
            owner = FileResult(
                os.path.relpath(inv.path), kind="caller", original=src.text, new_text=src.text, bom=src.bom, fs_path=inv.path
            )
            callers.append(owner)
        text = owner.original or ""
        for use in inv.build_args:
            if use.name in stale:
                line, col = _position(text, use.start)
                eline, ecol = _position(text, use.end)
                message = f"passes build arg {use.name}, which {os.path.relpath(inv.dockerfile or '?')} does not declare"
                stale_findings.setdefault(id(owner), []).append(_finding("DF012", use.name, message, line, col, eline, ecol))
    callers = [
        res.with_findings(sorted([*res.findings, *stale_findings.get(id(res), ())], key=lambda f: (f.line, f.column, f.code)))
        for res in callers
    ]
    callers = suppress_caller_findings(callers, settings, marks)
    return Linked(callers, blocks)


def _caller_result(path: str, src, plan, targets, per_file: list[Settings]) -> FileResult:
    """One caller's result: its planned edits, a DF011 finding per secret build arg it passes."""
    from refactor.analysis.secrets import literal_tokens

    display = os.path.relpath(path)
    linked = tuple(sorted({os.path.realpath(t.invocation.dockerfile) for t in targets if t.invocation.dockerfile}))
    masks = list(literal_tokens(src.text))
    try:
        new = apply_edits(src.text, plan.edits) if plan.edits else src.text
    except Exception:  # noqa: BLE001
        return FileResult.failure(
            display,
            "internal: conflicting caller edits; left unchanged",
            kind="caller",
            original=src.text,
            bom=src.bom,
            fs_path=path,
            linked=linked,
            masks=tuple(masks),
        )
    changed = new != src.text
    applied = changed and bool(per_file) and per_file[0].mode == "write"
    findings = []
    for t in targets:
        for use in t.invocation.build_args:
            if use.name not in t.migrated:
                continue
            line, col = _position(src.text, use.start)
            eline, ecol = _position(src.text, use.end)
            if use.value_kind == "literal":
                masks.append(src.text[use.start : use.end])
            fix = FixOut(f"Pass {use.name} with --secret", "safe", applied, (), changed)
            msg = f"passes secret {use.name} to `{os.path.relpath(t.invocation.dockerfile or '?')}` as a build arg"
            if use.value_kind == "literal":
                msg += "; the literal value is committed: remove it here and rotate it"
            elif use.source and t.invocation.kind in ("shell", "make", "just", "github", "gitlab", "bake-hcl", "jenkins", "python"):
                committed = _committed_values(src.text, use.source, t.invocation.kind)
                if committed:
                    masks.extend(committed)
                    msg += f"; {use.source} is assigned a committed literal in this file: remove it and rotate it"
            findings.append(_finding("DF011", use.name, msg, line, col, eline, ecol, fix))
    notes = [
        *plan.notes,
        *(f"{name}: a literal value was committed in {display}; rotate it and define it as a CI secret" for name in plan.rotate),
    ]
    return FileResult(
        display,
        kind="caller",
        outcome=outcome_of(changed),
        changed=changed,
        findings=tuple(findings),
        original=src.text,
        new_text=new,
        masks=tuple(masks),
        notes=tuple(notes),
        bom=src.bom,
        fs_path=path,
        linked=linked,
    )

"""Cross-file planning: a Dockerfile's rewrite and the callers that build it change together.

The callers (shell scripts, Makefiles, compose, bake, CI workflows, Jenkinsfiles, Python build
scripts) are searched from the repository root (the git work tree, else the common parent of the
PATHs), whatever PATHs were given. For every Dockerfile whose secret ARGs the rewrite removes, each
caller that passes them as ``--build-arg`` is planned too. If any caller of a Dockerfile cannot be
migrated, that Dockerfile's fix is lowered to unsafe and, without ``--unsafe-fixes``, neither the
Dockerfile nor its callers change. Writes happen after all planning, per file atomically.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from refactor.buildspec import ENV_MOUNT as _ENV_MOUNT
from refactor.buildspec import SecretSpec
from refactor.fixes.edit import apply_edits
from refactor.results import FileResult, FindingOut, FixOut
from refactor.rules import BY_CODE
from refactor.settings import Settings


def _finding(code: str, variable: str | None, message: str, line: int, col: int, end_line: int, end_col: int, fix=None) -> FindingOut:
    rule = BY_CODE[code]
    return FindingOut(code, rule.name, variable, rule.secret, rule.severity, message, line, col, end_line, end_col, fix)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _migrated(r: FileResult) -> dict[str, SecretSpec | None]:
    specs: dict[str, SecretSpec | None] = {s.env: s for s in (r.build.secrets if r.build else ()) if s.env in r.migrated}
    for name in r.migrated:
        specs.setdefault(name, None)
    return specs


def _committed_values(text: str, var: str, kind: str = "shell") -> list[str]:
    """Literal values assigned to ``var`` in a caller: shell/Make (``var=…``, ``export var=…``,
    ``var ?= …``), CI YAML (``var: …`` under variables:/env:), bake (``variable "var" { default =
    … }``). The secret is committed there; outputs mask them."""
    name = re.escape(var.strip("$(){} ").removeprefix("env.").removeprefix("secrets."))
    if not name:
        return []
    value = r"""(["']?)([^"'\s$#`{}]{6,})\1[ \t]*(?:#.*)?$"""
    if kind in ("github", "gitlab"):
        pat = re.compile(rf"(?m)^[ \t]+{name}[ \t]*:[ \t]*{value}")
    elif kind == "bake-hcl":
        pat = re.compile(rf"""variable[ \t]+"{name}"[ \t]*\{{[^}}]*?default[ \t]*=[ \t]*("?)([^"\s$}}]{{6,}})\1""")
    else:
        pat = re.compile(
            rf"""(?m)^[ \t]*(?:export[ \t]+|local[ \t]+|readonly[ \t]+|declare[ \t]+(?:-\w+[ \t]+)*)?{name}[ \t]*(?:\?|:|::|\+)?=[ \t]*{value}"""
        )
    from refactor.analysis.secrets import is_placeholder

    return [m.group(2) for m in pat.finditer(text) if not is_placeholder(m.group(2)) and m.group(2) != var]


@dataclass(frozen=True)
class Block:
    """Why a Dockerfile's fix must wait for its callers, and what that does to it."""

    reasons: tuple[str, ...]
    hard: bool  # the user's choice (a caller not given, or its DF011 ignored): --unsafe-fixes does not override
    reverted: bool  # the Dockerfile stays as it is


@dataclass(frozen=True)
class Linked:
    """What linking the callers decided: their results, and the blocks on Dockerfiles (by real path)."""

    callers: list[FileResult]
    blocks: dict[str, Block]

    def apply(self, candidates, results: list[FileResult], per_file: list[Settings]) -> list[FileResult]:
        """The Dockerfile results with the blocks applied (new objects; the given ones are not changed)."""
        if not self.blocks:
            return list(results)
        out = []
        for c, r, st in zip(candidates, results, per_file):
            b = self.blocks.get(os.path.realpath(c.path))
            out.append(r if b is None else _blocked(r, b, st))
        return out


_BLOCKABLE = ("DF001", "DF002", "DF003", "DF006", "DF007")


def _blocked(r: FileResult, b: Block, st: Settings) -> FileResult:
    findings = list(r.findings)
    notes = list(r.notes)
    if b.reasons:
        why = "; ".join(b.reasons)
        keep = st.unsafe_fixes and not b.hard
        for i, f in enumerate(findings):
            if f.fix is not None and f.code in _BLOCKABLE:
                fix = replace(
                    f.fix,
                    applicability="unsafe" if f.fix.applicability == "safe" else f.fix.applicability,
                    reasons=[*f.fix.reasons, f"a caller cannot be migrated: {why}"],
                )
                if not keep:
                    fix = replace(fix, applied=False, included=False)
                findings[i] = replace(f, fix=fix)
        notes.append(f"a caller cannot be migrated, so the fix is unsafe: {why}")
    if not b.reverted:
        return replace(r, findings=findings, notes=notes)
    return replace(r, findings=findings, notes=notes, new_text=r.original, changed=False, migrated=[], declared_after=list(r.declared_args))


def link_callers(
    paths: list[str],
    candidates,
    results: list[FileResult],
    per_file: list[Settings],
    excludes: tuple[str, ...],
    settings: Settings | None = None,
    given: set[str] | None = None,
    only_names: frozenset[str] | None = None,
    prefilter=None,
) -> Linked:
    """Plan caller edits, and decide which Dockerfile fixes their callers block.

    A caller that must not change blocks the Dockerfiles it builds, as one that cannot: its DF011 is
    ignored (``# dfix: ignore[DF011]`` in its own comment syntax, ``# dfix: skip-file``,
    ``per-file-ignores``, ``--ignore``), or ``given`` (``--callers=given``: the real paths named on
    the command line) does not hold it. Returns the caller results (kind "caller") and the blocks;
    ``Linked.apply`` gives the Dockerfile results with them. Nothing is mutated or written here.
    """
    settings = settings or (per_file[0] if per_file else Settings())
    from refactor.callers import Target, discover, plan_file, repo_root, stale_args
    from refactor.source import InputError, read_source

    root = repo_root(paths)
    mentions: list[tuple[str, int, str]] = []
    unreadable: list[tuple[str, str]] = []  # caller files dfix could not read: (path, why)
    try:
        invocations = discover(root, exclude=excludes, mentions=mentions, unreadable=unreadable, names=only_names, prefilter=prefilter)
    except Exception:  # noqa: BLE001 - discovery of callers never fails the Dockerfile run
        return Linked([], {})
    # mentions no parsed build covers: a form dfix cannot follow (flags in a variable, an argv list…)
    spans: dict[str, list[tuple[int, int]]] = {}
    for inv in invocations:
        spans.setdefault(inv.path, []).extend((u.start, u.end) for u in inv.build_args)
    loose = [(path, off, name) for path, off, name in mentions if not any(a <= off < b for a, b in spans.get(path, ()))]
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

    texts: dict[str, object] = {}

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
            if r.status == "ok" and r.migrated and _ENV_MOUNT.search(r.new_text or ""):
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
                FileResult(
                    os.path.relpath(path),
                    kind="caller",
                    status="error",
                    fs_path=path,
                    error=f"{why}; the Dockerfile fixes it may concern are not applied",
                )
            )
    for path, targets in sorted(targets_for(reverted).items()):
        src = source_of(path)
        if src is None:
            continue
        plan = plan_file(path, src.text, targets)
        display = os.path.relpath(path)
        res = FileResult(display, kind="caller", original=src.text, bom=src.bom, fs_path=path)
        res.linked = sorted({os.path.realpath(t.invocation.dockerfile) for t in targets if t.invocation.dockerfile})
        from refactor.analysis.secrets import literal_tokens

        res.masks.extend(literal_tokens(src.text))
        try:
            new = apply_edits(src.text, plan.edits) if plan.edits else src.text
        except Exception:  # noqa: BLE001
            res.status, res.error = "error", "internal: conflicting caller edits; left unchanged"
            callers.append(res)
            continue
        res.new_text = new
        res.changed = new != src.text
        applied = res.changed and bool(per_file) and per_file[0].mode == "write"
        for t in targets:
            for use in t.invocation.build_args:
                if use.name not in t.migrated:
                    continue
                line, col = _position(src.text, use.start)
                eline, ecol = _position(src.text, use.end)
                if use.value_kind == "literal":
                    res.masks.append(src.text[use.start : use.end])
                fix = FixOut(f"Pass {use.name} with --secret", "safe", applied, [], res.changed)
                msg = f"passes secret {use.name} to `{os.path.relpath(t.invocation.dockerfile or '?')}` as a build arg"
                if use.value_kind == "literal":
                    msg += "; the literal value is committed: remove it here and rotate it"
                elif use.source and t.invocation.kind in ("shell", "make", "just", "github", "gitlab", "bake-hcl"):
                    committed = _committed_values(src.text, use.source, t.invocation.kind)
                    if committed:
                        res.masks.extend(committed)
                        msg += f"; {use.source} is assigned a committed literal in this file: remove it and rotate it"
                res.findings.append(_finding("DF011", use.name, msg, line, col, eline, ecol, fix))
        res.notes.extend(plan.notes)
        for name in plan.rotate:
            res.notes.append(f"{name}: a literal value was committed in {display}; rotate it and define it as a CI secret")
        callers.append(res)

    # stale build args: callers that pass an ARG the Dockerfile does not declare
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
                owner.findings.append(
                    _finding(
                        "DF012",
                        use.name,
                        f"passes build arg {use.name}, which {os.path.relpath(inv.dockerfile or '?')} does not declare",
                        line,
                        col,
                        eline,
                        ecol,
                    )
                )
    for res in callers:
        res.findings.sort(key=lambda f: (f.line, f.column, f.code))
    suppress_caller_findings(callers, settings, marks)
    return Linked(callers, blocks)


def caller_ignored(settings: Settings, shown: str, marks, code: str, line: int) -> bool:
    """Whether a caller finding is turned off: rule selection, per-file-ignores, or the caller's
    own ``dfix:`` comments (``marks``, a CallerPragmas)."""
    from refactor.engine import per_file_codes
    from refactor.syntax.pragmas import suppressed

    if not settings.selection.enabled(code) or suppressed(code, per_file_codes(settings, shown)):
        return True
    return marks is not None and marks.covers(code, line)


def suppress_caller_findings(callers: list[FileResult], settings: Settings, marks: dict | None = None) -> None:
    """Drop the caller findings their config or comments turn off (DF010, DF011, DF012)."""
    from refactor.source import InputError, read_source
    from refactor.syntax.pragmas import PragmaError, caller_pragmas

    marks = {} if marks is None else marks
    for res in callers:
        if not res.findings or res.status != "ok":
            continue
        path = res.fs_path or res.path
        if path not in marks:
            try:
                text = res.original if res.original is not None else read_source(path).text
                marks[path] = caller_pragmas(text)
            except (InputError, OSError):
                marks[path] = None
            except PragmaError as exc:
                marks[path] = None
                res.status, res.error = "error", f"bad dfix comment: {exc}"
                continue
        res.findings = [f for f in res.findings if not caller_ignored(settings, res.path, marks[path], f.code, f.line)]


def add_caller_ignores(path: str, findings: list[FindingOut], root: str | None = None) -> int:
    """``--add-ignore`` for a caller: ``# dfix: ignore[CODES]`` (``//`` in a Jenkinsfile) above the
    command line holding each finding, with its indentation (column 0 in a Makefile, where make
    ignores comment lines between recipe lines). In Python and Jenkinsfiles a finding may sit inside
    a multi-line string, where a comment would change the program: there it is one
    ``file-ignore`` line at the top. Returns how many comments were added."""
    from refactor.callers import repo_root
    from refactor.callers.kinds import BY_NAME, kind_of
    from refactor.fixes.edit import Edit
    from refactor.source import read_source
    from refactor.write import write_atomic

    source = read_source(path)
    text = source.text
    kind = BY_NAME[kind_of(os.path.relpath(path, repo_root([path])).replace(os.sep, "/")) or "shell"]
    marker = kind.comment
    if marker is None:  # JSON: no comments; per-file-ignores or --ignore silence it
        return 0
    nl = source.default_newline
    lines = text.splitlines(keepends=True)
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln))
    edits: list[Edit] = []
    if kind.file_pragmas:
        file_codes = sorted({f.code for f in findings})
        at = 0
        while at < len(lines) and at < 2 and (lines[at].startswith("#!") or ("coding" in lines[at][:40] and lines[at].startswith("#"))):
            at += 1
        edits.append(Edit(starts[at], starts[at], f"{marker} dfix: file-ignore[{','.join(file_codes)}]{nl}"))
    else:
        by_line: dict[int, set[str]] = {}
        for f in findings:
            n = f.line - 1
            while n > 0 and lines[n - 1].rstrip("\r\n").endswith("\\"):
                n -= 1  # the start of the continued command
            by_line.setdefault(n, set()).add(f.code)
        for n, codes in sorted(by_line.items()):
            first = lines[n] if n < len(lines) else ""
            indent = "" if kind.name == "make" else first[: len(first) - len(first.lstrip(" \t"))]
            edits.append(Edit(starts[n], starts[n], f"{indent}{marker} dfix: ignore[{','.join(sorted(codes))}]{nl}"))
    write_atomic(path, source.to_bytes(apply_edits(text, edits)), root)
    return len(edits)

"""The editor-independent half of ``dfix server``: one document's text in, LSP data out.

``analyse`` runs the engine (``refactor.engine.process_source``, the same per-file processing as
``dfix PATH`` and ``dfix --write``, rewrite check included) on the text the editor holds, with the
settings the CLI would use for that file (``refactor.config`` discovery; the editor may only turn
``unsafe-fixes`` on or off). Everything else turns a :class:`~refactor.results.FileResult` into LSP
values: diagnostics, quick fixes, the fix-all source action, the ignore pragma, hover text and the
build-command lens. Nothing here touches the network (``pin-digests`` and signing are forced off)
or writes a file: edits are returned as ``WorkspaceEdit`` values for the editor to apply.

Messages are the engine's, which never hold a secret value (findings describe values; committed
literals are masked); errors are reduced to their one-line reason or an exception's type name.
"""

from __future__ import annotations

from lsprotocol import types

from refactor.codecache import regex
from refactor.results import FileResult, FindingOut
from refactor.server.core_analysis import (
    SOURCE,
    Analysis,
    EditorOptions,
    analyse,
    diagnostics_of,
    display_for,
    ensure_unsafe,
    finding_range,
    rule_docs_href,
    run_engine,
    settings_for,
    settings_from_values,
)
from refactor.server.core_callers import SHELL_MAYBE, analyse_caller, caller_code_actions, caller_ignore_edit, caller_kind_of
from refactor.server.core_callers import forget as forget_callers
from refactor.server.core_edits import (
    BUILDKIT_CODES,
    BUILDKIT_SECRET_CHECK,
    _parsed,
    _text_edits,
    buildkit_skip_edit,
    diff_edits,
    engine_reads_buildkit_skip,
    fix_all_edits,
    ignore_edit,
    workspace_edit,
)

FIX_ALL_KIND = "source.fixAll.dfix"
CMD_BUILD = "dfix.showBuildCommand"

# The parts: core_analysis (options, settings, the engine run, diagnostics) and core_edits (text and
# workspace edits, fix-all, the ignore pragma, the BuildKit directive); this module answers the
# editor's requests (code actions, hover, the build-command lens) and is the public face of them all.
__all__ = [
    "BUILDKIT_CODES",
    "BUILDKIT_SECRET_CHECK",
    "CMD_BUILD",
    "FIX_ALL_KIND",
    "SHELL_MAYBE",
    "SOURCE",
    "Analysis",
    "EditorOptions",
    "analyse",
    "analyse_caller",
    "build_command",
    "buildkit_skip_edit",
    "caller_code_actions",
    "caller_ignore_edit",
    "caller_kind_of",
    "code_actions",
    "code_lenses",
    "diagnostics_of",
    "diff_edits",
    "display_for",
    "engine_reads_buildkit_skip",
    "ensure_unsafe",
    "finding_range",
    "fix_all_edits",
    "fix_allowed",
    "fix_alone_ok",
    "forget_callers",
    "hover",
    "ignore_edit",
    "rule_docs_href",
    "run_engine",
    "settings_for",
    "settings_from_values",
    "workspace_edit",
]


# --------------------------------------------------------------------------------------------
# code actions


def _kind_wanted(kind: str, only: list[str] | None) -> bool:
    if not only:
        return True
    return any(kind == o or kind.startswith(o + ".") for o in only)


def _overlaps(r1: types.Range, r2: types.Range) -> bool:
    """Whether the lines of two ranges meet: a finding's actions are offered anywhere on its lines
    (editors ask with the cursor's position, Helix with the start of the selected line), not only
    with the cursor on the flagged word."""
    return not (r1.end.line < r2.start.line or r2.end.line < r1.start.line)


def _same_finding(f: FindingOut, g: FindingOut) -> bool:
    return (f.code, f.line, f.column, f.variable) == (g.code, g.line, g.column, g.variable)


def fix_allowed(fix, unsafe_enabled: bool) -> bool:
    """A fix gets an action only when the engine kept it in its rewrite (so it passed the rewrite
    check) with its own edits known, and it is safe (or unsafe with unsafe fixes on)."""
    if fix is None or not fix.included or fix.edits is None:
        return False
    return fix.applicability == "safe" or (unsafe_enabled and fix.applicability == "unsafe")


_SECRET_ID = regex(r"[,=]id=([^,\s]+)")


def fix_alone_ok(a: Analysis, r: FileResult, fix) -> bool:
    """Whether this fix's own edits, applied without the file's other fixes, pass the rewrite
    check. The engine checked the fixes it keeps together (and one by one only when the whole
    failed), so a quick fix applied alone gets the same independent check here; a refusal only
    withholds the action (fix-all, which is the engine's checked rewrite, is unaffected)."""
    from refactor.buildcontext import context_configs
    from refactor.fixes.edit import ConflictError, apply_edits
    from refactor.fixes.gate import safe_check

    key = ("alone", id(r), fix.title, fix.edits)
    cache = a._alone
    if key in cache:
        return cache[key]
    original = r.original or ""
    ok = False
    try:
        alone = apply_edits(original, list(fix.edits))
        others = {(f.fix.title, f.fix.edits) for f in r.findings if f.fix is not None and f.fix.included and f.fix.edits is not None}
        if r.new_text is not None and alone == r.new_text and len(others) <= 1:
            ok = True  # the fix is the whole checked rewrite
        elif r.build is not None:
            ids = set(_SECRET_ID.findall("".join(e.content for e in fix.edits)))
            env = {s.id: s.env for s in r.build.secrets if s.id in ids and s.type == "env" and s.env}
            files = {s.id: s.src for s in r.build.secrets if s.id in ids and s.type == "file" and s.src}
            strategy = "multistage" if a.settings is not None and a.settings.strategy == "multistage" else "mount"
            res = safe_check(
                original, alone, env, file_secrets=files, context_files=context_configs(a.context_dir), strategy=strategy, path=a.display
            )
            ok = res.ok
    except (ConflictError, ValueError):
        ok = False
    cache[key] = ok
    return ok


def code_actions(a: Analysis, rng: types.Range, only: list[str] | None, versioned: bool) -> list[types.CodeAction]:
    if a.kind == "caller":
        return caller_code_actions(a, rng, only, versioned, _overlaps, _kind_wanted)
    out: list[types.CodeAction] = []
    r = a.result
    if r is None or r.status != "ok":
        return out
    unsafe_r = ensure_unsafe(a) if a.unsafe_enabled else None
    seen: set = set()
    if _kind_wanted(types.CodeActionKind.QuickFix, only):
        for i, f in enumerate(r.findings):
            diag = a.diagnostics[i] if i < len(a.diagnostics) else None
            frange = finding_range(a.index, f)
            if not _overlaps(frange, rng):
                continue
            fix = f.fix
            # unsafe fixes come from the run that applied them (their edits were checked there)
            if unsafe_r is not None and not fix_allowed(fix, False):
                fix = next((g.fix for g in unsafe_r.findings if _same_finding(f, g)), None)
            src = r if fix is f.fix else unsafe_r
            if fix is not None and fix.edits is not None and fix_allowed(fix, a.unsafe_enabled) and fix_alone_ok(a, src or r, fix):
                key = (fix.title, fix.edits)
                if key not in seen:
                    seen.add(key)
                    title = fix.title if fix.applicability == "safe" else f"{fix.title} (unsafe fix)"
                    out.append(
                        types.CodeAction(
                            title=title,
                            kind=types.CodeActionKind.QuickFix,
                            diagnostics=[diag] if diag is not None else None,
                            is_preferred=fix.applicability == "safe",
                            edit=workspace_edit(a, _text_edits(a, fix.edits), versioned),
                        )
                    )
            e = ignore_edit(a, f)
            if e is not None and ("ignore", f.code, e) not in seen:
                seen.add(("ignore", f.code, e))
                out.append(
                    types.CodeAction(
                        title=f"Ignore {f.code} for this instruction",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diag] if diag is not None else None,
                        edit=workspace_edit(a, _text_edits(a, [e]), versioned),
                    )
                )
            if f.code in BUILDKIT_CODES and ("buildkit",) not in seen and engine_reads_buildkit_skip():
                bk = buildkit_skip_edit(a)
                if bk is not None:
                    seen.add(("buildkit",))
                    out.append(
                        types.CodeAction(
                            title=f"Ignore {'/'.join(BUILDKIT_CODES)} and BuildKit's {BUILDKIT_SECRET_CHECK} in this file",
                            kind=types.CodeActionKind.QuickFix,
                            diagnostics=[diag] if diag is not None else None,
                            edit=workspace_edit(a, _text_edits(a, [bk]), versioned),
                        )
                    )
    if _kind_wanted(FIX_ALL_KIND, only) and (only or r.findings):
        edits = fix_all_edits(a)
        if edits:
            label = "Fix all dfix findings (safe and unsafe fixes)" if a.unsafe_enabled else "Fix all safe dfix findings"
            out.append(types.CodeAction(title=label, kind=FIX_ALL_KIND, edit=workspace_edit(a, _text_edits(a, edits), versioned)))
    return out


# --------------------------------------------------------------------------------------------
# hover and the build command


def hover(a: Analysis, pos: types.Position) -> types.Hover | None:
    from refactor.rules import BY_CODE

    r = a.result
    if r is None:
        return None
    key = (pos.line, pos.character)
    parts = []
    for f in r.findings:
        rng = finding_range(a.index, f)
        if (rng.start.line, rng.start.character) <= key <= (rng.end.line, rng.end.character):
            rule = BY_CODE.get(f.code)
            head = f"**{f.code}** `{f.name}` ({f.severity})\n\n{f.message}"
            if f.fix is not None:
                head += f"\n\n*Fix ({f.fix.applicability}):* {f.fix.title}"
                for reason in f.fix.reasons[:5]:
                    head += f"\n- {reason}"
            href = rule_docs_href(a.rule_docs_url, f.code)
            if href:
                head += f"\n\n[{f.code} documentation]({href})"
            if rule is not None:
                head += "\n\n---\n\n" + rule.doc
            parts.append(head)
    if not parts:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)))


def build_command(a: Analysis) -> tuple[str, str] | None:
    """(one-line command, full recipe) the document needs once the fixes the editor would apply
    (fix-all) are in; None when the build does not change (no secret to pass)."""
    if a.kind == "caller":
        return None
    r = ensure_unsafe(a) if a.unsafe_enabled else a.result
    if r is None or r.status != "ok" or not r.command:
        return None
    if not (r.changed or (r.build is not None and (r.build.secrets or r.build.ssh))):
        return None
    recipe = "\n\n".join(v for v in r.emitted.values() if v) or r.command
    return r.command, recipe


def code_lenses(a: Analysis) -> list[types.CodeLens]:
    cmd = build_command(a)
    if cmd is None:
        return []
    line = 0
    df = _parsed(a)
    if df is not None and df.instructions:
        line = a.index.engine_position(df.instructions[0].start).line
    short = cmd[0] if len(cmd[0]) <= 120 else cmd[0][:117] + "…"
    label = "after the fixes, build with: " if a.result is not None and a.result.changed else "build with: "
    return [
        types.CodeLens(
            range=types.Range(start=types.Position(line=line, character=0), end=types.Position(line=line, character=0)),
            command=types.Command(title=label + short, command=CMD_BUILD, arguments=[a.uri]),
        )
    ]

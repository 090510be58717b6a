"""The edits the server hands to the editor, for :mod:`refactor.server.core`: engine edits as LSP
text edits and workspace edits, the fix-all edits (the engine's rewrite as minimal splices), the
``# dfix: ignore[CODE]`` pragma, and the BuildKit ``# check=skip=SecretsUsedInArgOrEnv`` directive
(which the engine reads as a file-wide ignore of DF001/DF002: ``refactor.syntax.pragmas``; the
action is offered only while a probe confirms it does).
"""

from __future__ import annotations

import bisect
import difflib

from lsprotocol import types

from refactor.codecache import regex
from refactor.results import FindingOut
from refactor.server.core_analysis import Analysis, ensure_unsafe, run_engine

_IGNORE = regex(r"(dfix:[ \t]*ignore\[)([^\]\n]*)(\])")
# BuildKit's check that one `# check=skip=…` directive shares with dfix (refactor.syntax.pragmas)
BUILDKIT_SECRET_CHECK = "SecretsUsedInArgOrEnv"
BUILDKIT_CODES = ("DF001", "DF002")


# --------------------------------------------------------------------------------------------
# edits


def _text_edits(a: Analysis, edits) -> list[types.TextEdit]:
    """Engine edits (offsets into the BOM-less text, applied in the engine's stable (start, end)
    order) as LSP text edits of the editor's document."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    return [types.TextEdit(range=a.index.engine_range(e.start, e.end), new_text=e.content) for e in ordered]


def diff_edits(original: str, new: str):
    """Minimal splices turning ``original`` into ``new``: changed line runs, trimmed to the
    characters that differ (the engine's rewrite, expressed as edits)."""
    from refactor.fixes.edit import Edit

    a_lines = original.splitlines(keepends=True)
    b_lines = new.splitlines(keepends=True)
    a_starts = [0]
    for ln in a_lines:
        a_starts.append(a_starts[-1] + len(ln))
    out = []
    sm = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        old = "".join(a_lines[i1:i2])
        rep = "".join(b_lines[j1:j2])
        start = a_starts[i1]
        p = 0
        lim = min(len(old), len(rep))
        while p < lim and old[p] == rep[p]:
            p += 1
        s = 0
        while s < lim - p and old[len(old) - 1 - s] == rep[len(rep) - 1 - s]:
            s += 1
        out.append(Edit(start + p, start + len(old) - s, rep[p : len(rep) - s]))
    return out


def workspace_edit(a: Analysis, text_edits: list[types.TextEdit], versioned: bool) -> types.WorkspaceEdit:
    if versioned:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=a.uri, version=a.version), edits=text_edits
                )
            ]
        )
    return types.WorkspaceEdit(changes={a.uri: text_edits})


def fix_all_edits(a: Analysis) -> list | None:
    """The edits of ``dfix --write`` on this document (safe fixes, or unsafe ones too when enabled),
    or None when nothing changes."""
    r = ensure_unsafe(a) if a.unsafe_enabled else a.result
    if r is None or r.status != "ok" or not r.changed or r.new_text is None or r.original is None:
        return None
    from refactor.fixes.edit import apply_edits

    edits = diff_edits(r.original, r.new_text)
    if apply_edits(r.original, edits) != r.new_text:  # cannot happen; never hand out a wrong edit
        return None
    return edits


def _parsed(a: Analysis):
    if a._df is None:
        from refactor.source import SourceFile
        from refactor.syntax.dockerfile import parse

        try:
            a._df = parse(SourceFile.from_text(a.display, a.text[a.index.bom :]))
        except Exception:  # noqa: BLE001 - no parse, no pragma action
            a._df = False
    return a._df or None


def ignore_edit(a: Analysis, f: FindingOut):
    """The edit writing ``# dfix: ignore[CODE]`` above the instruction holding the finding (or
    adding CODE to the pragma already there); None when there is no instruction to attach it to."""
    from refactor.fixes.edit import Edit
    from refactor.syntax import pragmas

    df = _parsed(a)
    if df is None or not df.instructions:
        return None
    off = a.index.engine_offset_of(f.line, f.column)
    starts = [ins.start for ins in df.instructions]
    i = bisect.bisect_right(starts, off) - 1
    if i < 0 or off >= df.instructions[i].end:
        return None
    ins = df.instructions[i]
    body = a.text[a.index.bom :]
    for c in reversed(ins.comments):
        line = body[c.start : c.end]
        m = _IGNORE.search(line)
        if m is None:
            continue
        codes = [x.strip() for x in m.group(2).split(",") if x.strip()]
        if pragmas.suppressed(f.code, {x.upper() for x in codes}):
            return None
        at = c.start + m.end(2)
        return Edit(at, at, ("," if codes else "") + f.code)
    nl_at = body.find("\n", ins.start)
    if nl_at == -1:  # the last line: follow the file's line endings
        src_nl = "\r\n" if body.count("\r\n") * 2 > body.count("\n") else "\n"
    else:
        src_nl = "\r\n" if nl_at > 0 and body[nl_at - 1] == "\r" else "\n"
    line_start = body.rfind("\n", 0, ins.start) + 1
    indent = body[line_start : ins.start]
    if indent.strip(" \t"):  # not at a line start (cannot happen): put the comment on its own line
        at, indent = ins.start, src_nl
    else:
        at = line_start
    return Edit(at, at, f"{indent}# dfix: ignore[{f.code}]{src_nl}")


_BUILDKIT_PROBE: bool | None = None


def engine_reads_buildkit_skip() -> bool:
    """Whether the engine treats BuildKit's ``# check=skip=SecretsUsedInArgOrEnv`` directive as
    ignoring DF001/DF002 (probed once). Until it does, the combined action is not offered: a
    comment dfix would not honour must not look like a dfix suppression."""
    global _BUILDKIT_PROBE
    if _BUILDKIT_PROBE is None:
        from refactor.settings import Settings

        probe = f"# check=skip={BUILDKIT_SECRET_CHECK}\nFROM alpine:3.20\nARG NPM_TOKEN\nRUN npm ci\n"
        r = run_engine(probe, "Dockerfile", Settings(render_always=False), None)
        _BUILDKIT_PROBE = r.status == "ok" and not any(f.code in BUILDKIT_CODES for f in r.findings)
    return _BUILDKIT_PROBE


def buildkit_skip_edit(a: Analysis):
    """The edit adding ``SecretsUsedInArgOrEnv`` to the file's ``# check=`` parser directive (or
    writing one after the other directives). BuildKit's form is file-wide, so this silences
    BuildKit's check and dfix's DF001/DF002 for the whole file. None when already there."""
    from refactor.fixes.edit import Edit

    df = _parsed(a)
    if df is None:
        return None
    body = a.text[a.index.bom :]
    d = df.directive("check")
    if d is None:
        at = df.directives_end
        nl_at = body.find("\n")
        nl = "\r\n" if nl_at > 0 and body[nl_at - 1] == "\r" else "\n"
        return Edit(at, at, f"# check=skip={BUILDKIT_SECRET_CHECK}{nl}")
    parts = [p for p in d.value.split(";")]
    for i, part in enumerate(parts):
        key, eq, val = part.partition("=")
        if key.strip().lower() == "skip" and eq:
            names = [x.strip() for x in val.split(",") if x.strip()]
            if any(x.lower() in ("all", BUILDKIT_SECRET_CHECK.lower()) for x in names):
                return None
            parts[i] = f"{key}={','.join(names + [BUILDKIT_SECRET_CHECK])}"
            break
    else:
        parts.insert(0, f"skip={BUILDKIT_SECRET_CHECK}")
    line = body[d.start : d.end]
    vstart = line.find(d.value)
    if vstart < 0:
        return None
    return Edit(d.start + vstart, d.start + vstart + len(d.value), ";".join(parts))

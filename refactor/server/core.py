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

import bisect
import difflib
import os
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from lsprotocol import types

from refactor.results import FileResult, FindingOut
from refactor.server.positions import LineIndex

if TYPE_CHECKING:
    from refactor.settings import Settings

SOURCE = "dfix"
FIX_ALL_KIND = "source.fixAll.dfix"
CMD_BUILD = "dfix.showBuildCommand"
_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}
_IGNORE = re.compile(r"(dfix:[ \t]*ignore\[)([^\]\n]*)(\])")
# BuildKit's check that one `# check=skip=…` directive can share with dfix (see the report: the
# engine must learn to read it; until it does, the action is not offered)
BUILDKIT_SECRET_CHECK = "SecretsUsedInArgOrEnv"
BUILDKIT_CODES = ("DF001", "DF002")


@dataclass
class EditorOptions:
    """What the editor may set (initializationOptions / workspace settings ``dfix.*``)."""

    unsafe_fixes: bool | None = None  # None: the project's config decides (`unsafe-fixes`)
    debounce_ms: int = 10

    @classmethod
    def parse(cls, raw, base: EditorOptions | None = None) -> EditorOptions:
        out = replace(base) if base is not None else cls()
        if not isinstance(raw, dict):
            return out
        if isinstance(raw.get("dfix"), dict):  # {"dfix": {...}} as workspace settings nest it
            raw = raw["dfix"]
        v = raw.get("unsafeFixes", raw.get("unsafe-fixes"))
        if (isinstance(v, bool) or v is None) and ("unsafeFixes" in raw or "unsafe-fixes" in raw):
            out.unsafe_fixes = v
        d = raw.get("debounceMs")
        if isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 5000:
            out.debounce_ms = d
        return out


# --------------------------------------------------------------------------------------------
# settings, as the CLI builds them from a config (refactor.cli: make_settings)


def settings_for(path: str | None, options: EditorOptions):
    """(Settings with safe fixes only, whether unsafe fixes are wanted, config error or None) for
    the file at ``path`` (None: no file on disk; the defaults). Raises nothing: a bad config is
    returned as its message. Diagnostics and safe actions come from the safe-only run, exactly as
    ``dfix --write``; the unsafe run is made on demand (``ensure_unsafe``)."""
    from refactor import config as config_mod

    try:
        cfg = config_mod.find_config(os.path.dirname(path)) if path else config_mod.Config(None, {})
        wanted = options.unsafe_fixes if options.unsafe_fixes is not None else bool(cfg.values.get("unsafe-fixes", False))
        return settings_from_values(cfg.values, options, unsafe=False), bool(wanted), None
    except (config_mod.ConfigError, ValueError) as exc:
        return None, False, str(exc)


def settings_from_values(values: dict, options: EditorOptions, *, unsafe: bool | None = None):
    """A mirror of the CLI's ``make_settings`` with no flags given, minus what an editor must not
    do: no digest pinning (network), no signing recipes, no writes, no result cache."""
    from refactor.analysis.secrets import Policy
    from refactor.config import ConfigError
    from refactor.rules import Selection, check_codes
    from refactor.settings import Mode, Settings

    if unsafe is None:
        unsafe = options.unsafe_fixes if options.unsafe_fixes is not None else bool(values.get("unsafe-fixes", False))
    st = Settings(
        mode=Mode.REPORT,
        unsafe_fixes=bool(unsafe),
        mount_style=values.get("mount-style", "auto"),
        require_secrets=bool(values.get("require-secrets", False)),
        emit=tuple(values.get("emit", ())) or ("docker",),
        policy=Policy(tuple(values.get("secret-names", ())), tuple(values.get("allow-names", ()))),
        max_bytes=values.get("max-file-size", 10 * 1024 * 1024),
        selection=Selection(
            select=tuple(check_codes(values.get("select", ()))) or ("ALL",),
            ignore=tuple(check_codes(values.get("ignore", ()))),
            extend_select=tuple(check_codes(values.get("extend-select", ()))),
        ),
        per_file_ignores={k: check_codes(v) for k, v in values.get("per-file-ignores", {}).items()},
        strategy=values.get("strategy", "auto"),
        render_always=False,
        keep_text=True,
        pin_digests=False,
        failure_threshold=values.get("failure-threshold", "info"),
    )
    if st.mount_style not in ("auto", "env", "file"):
        raise ConfigError("mount-style must be auto, env or file")
    if st.strategy not in ("auto", "mount", "multistage"):
        raise ConfigError("strategy must be auto, mount or multistage")
    if values.get("callers", "all") not in ("all", "given"):
        raise ConfigError("callers must be all or given")
    if values.get("sign") not in (None, "notation", "cosign"):
        raise ConfigError("sign must be notation or cosign")
    if st.failure_threshold not in ("error", "warning", "info", "none"):
        raise ConfigError("failure-threshold must be error, warning, info or none")
    bad = [e for e in st.emit if e not in ("docker", "bake", "compose", "github", "gitlab", "podman", "flatten")]
    if bad:
        raise ConfigError(f"unknown emit target '{bad[0]}'")
    return st


# --------------------------------------------------------------------------------------------
# one document


@dataclass
class Analysis:
    uri: str
    version: int | None
    text: str  # the editor's text (a BOM, if the editor kept it, included)
    index: LineIndex
    path: str | None  # the file on disk (None: untitled)
    display: str
    context_dir: str | None
    result: FileResult | None = None  # None: config error or the file could not be processed
    error: str | None = None  # the one-line reason when result is None or failed
    config_error: str | None = None
    diagnostics: list[types.Diagnostic] = field(default_factory=list)
    settings: Settings | None = None
    unsafe_result: FileResult | None = None  # with unsafe fixes on, computed on demand
    _df: object | None = None
    _alone: dict = field(default_factory=dict)  # fix_alone_ok verdicts

    unsafe_wanted: bool = False  # the editor's `unsafeFixes`, else the config's `unsafe-fixes`

    @property
    def unsafe_enabled(self) -> bool:
        return self.settings is not None and self.unsafe_wanted


def display_for(path: str | None) -> tuple[str, str | None]:
    """(display path, context directory) as ``dfix PATH`` run from the current directory (the
    workspace root) would show them; an untitled document is ``Dockerfile`` with no context."""
    if not path:
        return "Dockerfile", None
    cwd = os.getcwd()
    try:
        rel = os.path.relpath(path, cwd)
    except ValueError:
        rel = path
    display = path if rel.startswith("..") else rel
    return display, os.path.dirname(display) or "."


def run_engine(text: str, display: str, settings, context_dir: str | None) -> FileResult:
    """``process_source`` with the same error handling as ``refactor.engine.process_file``."""
    from refactor.engine import process_source
    from refactor.source import InputError, SourceFile
    from refactor.syntax import pragmas
    from refactor.syntax.dockerfile import ParseError

    try:
        if len(text) > settings.max_bytes or len(text.encode("utf-8", "surrogatepass")) > settings.max_bytes:
            raise InputError(f"larger than the {settings.max_bytes}-byte limit")
        source = SourceFile.from_bytes(display, text.encode("utf-8", "surrogatepass"))
        return process_source(source, display, settings, context_dir)
    except InputError as exc:
        return FileResult(display, status="error", error=str(exc))
    except ParseError as exc:
        return FileResult(display, status="error", error=f"parse error: {exc.shown()}")
    except pragmas.PragmaError as exc:
        return FileResult(display, status="error", error=f"bad dfix comment: {exc}")
    except RecursionError:
        return FileResult(display, status="error", error="input too deeply nested")
    except Exception as exc:
        if os.environ.get("DFIX_DEBUG"):
            raise
        return FileResult(display, status="error", error=f"internal error: {type(exc).__name__}")


def analyse(uri: str, version: int | None, text: str, path: str | None, options: EditorOptions, encoding: str = "utf-16") -> Analysis:
    index = LineIndex(text, encoding)
    display, ctx = display_for(path)
    a = Analysis(uri, version, text, index, path, display, ctx)
    settings, a.unsafe_wanted, cfg_error = settings_for(path, options)
    if cfg_error is not None:
        a.config_error = cfg_error
        a.diagnostics = [_plain_diagnostic(index, 0, f"dfix config error: {cfg_error}", "config")]
        return a
    a.settings = settings
    body = text[index.bom :]
    result = run_engine(body, display, settings, ctx)
    a.result = result
    if result.status == "error":
        a.error = result.error
    a.diagnostics = diagnostics_of(a)
    return a


def ensure_unsafe(a: Analysis) -> FileResult | None:
    """The engine's result with unsafe fixes applied too (what ``--unsafe-fixes`` writes)."""
    if not a.unsafe_enabled or a.result is None or a.settings is None:
        return None
    if a.unsafe_result is None:
        a.unsafe_result = run_engine(a.text[a.index.bom :], a.display, replace(a.settings, unsafe_fixes=True), a.context_dir)
    return a.unsafe_result


# --------------------------------------------------------------------------------------------
# diagnostics


def _parse_error_line(error: str) -> int:
    m = re.search(r"\bline (\d+)\b", error or "")
    return int(m.group(1)) if m else 1


def _plain_diagnostic(index: LineIndex, line0: int, message: str, code: str) -> types.Diagnostic:
    line0 = max(0, min(line0, len(index.starts) - 1))
    start = types.Position(line=line0, character=0)
    end = index.position(index.ends[line0])
    return types.Diagnostic(
        range=types.Range(start=start, end=end), message=message, severity=types.DiagnosticSeverity.Error, source=SOURCE, code=code
    )


def finding_range(index: LineIndex, f: FindingOut) -> types.Range:
    s = index.engine_offset_of(f.line, f.column)
    e = index.engine_offset_of(f.end_line, f.end_column)
    return index.engine_range(s, max(s, e))


def diagnostics_of(a: Analysis) -> list[types.Diagnostic]:
    from refactor.rules import BY_CODE

    r = a.result
    out: list[types.Diagnostic] = []
    if r is None:
        return out
    if r.status == "error" and r.error:
        # the engine's one-line reason (never file content); the line it names, else the first
        line = _parse_error_line(r.error) - 1 if r.error.startswith(("parse error", "bad dfix comment")) else 0
        # an engine line counts "\n" only; map through the engine offset
        off = a.index.engine_offset_of(line + 1, 1)
        out.append(_plain_diagnostic(a.index, a.index.engine_position(off).line, f"dfix: {r.error}", "DF900"))
    for i, f in enumerate(r.findings):
        rule = BY_CODE.get(f.code)
        msg = f.message
        if f.fix is not None:
            msg += f"\nfix ({f.fix.applicability}): {f.fix.title}"
            if f.fix.applicability == "display-only" and f.fix.reasons:
                msg += "\n" + "\n".join(f"  {x}" for x in f.fix.reasons[:3])
        d = types.Diagnostic(
            range=finding_range(a.index, f),
            message=msg,
            severity=_SEVERITY.get(f.severity, types.DiagnosticSeverity.Warning),
            code=f.code,
            source=SOURCE,
            data={"index": i, "version": a.version},
        )
        url = getattr(rule, "url", None) if rule is not None else None
        if url:
            d.code_description = types.CodeDescription(href=url)
        out.append(d)
    return out


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


# --------------------------------------------------------------------------------------------
# code actions


def _kind_wanted(kind: str, only: list[str] | None) -> bool:
    if not only:
        return True
    return any(kind == o or kind.startswith(o + ".") for o in only)


def _overlaps(r1: types.Range, r2: types.Range) -> bool:
    def key(p: types.Position):
        return (p.line, p.character)

    return not (key(r1.end) < key(r2.start) or key(r2.end) < key(r1.start))


def _same_finding(f: FindingOut, g: FindingOut) -> bool:
    return (f.code, f.line, f.column, f.variable) == (g.code, g.line, g.column, g.variable)


def fix_allowed(fix, unsafe_enabled: bool) -> bool:
    """A fix gets an action only when the engine kept it in its rewrite (so it passed the rewrite
    check) with its own edits known, and it is safe (or unsafe with unsafe fixes on)."""
    if fix is None or not fix.included or fix.edits is None:
        return False
    return fix.applicability == "safe" or (unsafe_enabled and fix.applicability == "unsafe")


_SECRET_ID = re.compile(r"[,=]id=([^,\s]+)")


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
            if rule is not None:
                head += "\n\n---\n\n" + rule.doc
            parts.append(head)
    if not parts:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)))


def build_command(a: Analysis) -> tuple[str, str] | None:
    """(one-line command, full recipe) the document needs once the fixes the editor would apply
    (fix-all) are in; None when the build does not change (no secret to pass)."""
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

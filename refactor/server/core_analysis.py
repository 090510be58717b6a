"""One document analysed, for :mod:`refactor.server.core`: the editor's options, the settings the
CLI would use for the file (minus what an editor must not do), the engine run on the editor's text
(the :class:`Analysis`, with its unsafe-fixes run made on demand) and the diagnostics it yields.
"""

from __future__ import annotations

import os
import re
from dataclasses import field, replace
from typing import TYPE_CHECKING

from lsprotocol import types

from refactor.records import dataclass
from refactor.results import FileResult, FindingOut
from refactor.server.positions import LineIndex

if TYPE_CHECKING:
    from refactor.settings import Settings

SOURCE = "dfix"
_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}


@dataclass
class EditorOptions:
    """What the editor may set (initializationOptions / workspace settings ``dfix.*``)."""

    unsafe_fixes: bool | None = None  # None: the project's config decides (`unsafe-fixes`)
    debounce_ms: int = 10
    rule_docs_url: str | None = None  # `ruleDocsUrl`: a template ({code}, {name}) for codeDescription.href

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
        if "ruleDocsUrl" in raw:
            u = raw["ruleDocsUrl"]
            if u is None or u == "":
                out.rule_docs_url = None
            elif (
                isinstance(u, str)
                and len(u) <= 500
                and u.startswith(("https://", "http://", "file://"))
                and not any(c.isspace() for c in u)
            ):
                out.rule_docs_url = u
        return out


def rule_docs_href(template: str | None, code: str) -> str | None:
    """The rule's documentation URL from the ``ruleDocsUrl`` template (``{code}``: DF001,
    ``{name}``: secret-build-arg); None without a template or for a code no rule has."""
    from refactor.rules import BY_CODE

    rule = BY_CODE.get(code)
    if not template or rule is None:
        return None
    return template.replace("{code}", code).replace("{name}", rule.name)


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
    from refactor.analysis.policy import Policy
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
    kind: str = "dockerfile"  # or "caller" (refactor.server.core_callers)
    caller_kind: str | None = None  # a caller's kind (refactor.callers.kinds), once read as one
    builds: tuple[str, ...] = ()  # a caller: the real paths of the Dockerfiles it builds
    rule_docs_url: str | None = None  # EditorOptions.rule_docs_url

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
        return FileResult.failure(display, str(exc))
    except ParseError as exc:
        return FileResult.failure(display, f"parse error: {exc.shown()}")
    except pragmas.PragmaError as exc:
        return FileResult.failure(display, f"bad dfix comment: {exc}")
    except RecursionError:
        return FileResult.failure(display, "input too deeply nested")
    except Exception as exc:
        if os.environ.get("DFIX_DEBUG"):
            raise
        return FileResult.failure(display, f"internal error: {type(exc).__name__}")


def analyse(uri: str, version: int | None, text: str, path: str | None, options: EditorOptions, encoding: str = "utf-16") -> Analysis:
    index = LineIndex(text, encoding)
    display, ctx = display_for(path)
    a = Analysis(uri, version, text, index, path, display, ctx, rule_docs_url=options.rule_docs_url)
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
    r = a.result
    out: list[types.Diagnostic] = []
    if r is None:
        return out
    if r.status == "error" and r.error:
        # the engine's one-line reason (never file content); the line it names, else the first
        line = _parse_error_line(r.error) - 1 if r.error.startswith(("parse error", "bad dfix comment")) else 0
        # an engine line counts "\n" only; map through the engine offset
        off = a.index.engine_offset_of(line + 1, 1)
        d900 = _plain_diagnostic(a.index, a.index.engine_position(off).line, f"dfix: {r.error}", "DF900")
        href = rule_docs_href(a.rule_docs_url, "DF900")
        if href:
            d900.code_description = types.CodeDescription(href=href)
        out.append(d900)
    for i, f in enumerate(r.findings):
        msg = f.message
        if f.fix is not None and a.kind == "caller":
            # a caller changes with its Dockerfile (`dfix --write`), never alone from the editor
            msg += f"\nfix ({f.fix.applicability}, with the Dockerfile's fix by `dfix --write`): {f.fix.title}"
        elif f.fix is not None:
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
        href = rule_docs_href(a.rule_docs_url, f.code)
        if href:
            d.code_description = types.CodeDescription(href=href)
        out.append(d)
    return out

"""Caller findings, for :mod:`refactor.link`: making one (``_finding``, ``_position``), the
committed literals a caller assigns to a build arg's source (masked in outputs), which findings a
caller's config or ``dfix:`` comments turn off (``caller_ignored``, ``suppress_caller_findings``),
and ``--add-ignore`` for a caller (``add_caller_ignores``).
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Sequence
from functools import lru_cache

from refactor.fixes.edit import apply_edits
from refactor.results import FileResult, FindingOut
from refactor.rules import BY_CODE
from refactor.settings import Settings
from refactor.source import line_starts


def _finding(code: str, variable: str | None, message: str, line: int, col: int, end_line: int, end_col: int, fix=None) -> FindingOut:
    rule = BY_CODE[code]
    return FindingOut(code, rule.name, variable, rule.secret, rule.severity, message, line, col, end_line, end_col, fix)


def _position(text: str, offset: int) -> tuple[int, int]:
    starts = _line_starts(text)  # (a caller with 4,000 builds asked for 16,000 positions: counting was quadratic)
    k = bisect.bisect_right(starts, offset) - 1
    return k + 1, offset - starts[k] + 1


_line_starts = lru_cache(maxsize=8)(line_starts)  # (per caller text: its uses ask many times)


def spans_index(spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """``(start, end)`` spans (which may nest or overlap) sorted by start, with the running maximum
    of their ends: whether one holds an offset is then one search (:func:`spans_hold`; a script of
    4,000 builds asked each of its 4,000 build-arg mentions about every span)."""
    pairs = sorted(spans)
    ends, top = [], -1
    for _a, b in pairs:
        top = max(top, b)
        ends.append(top)
    return [a for a, _b in pairs], ends


def spans_hold(index: tuple[list[int], list[int]], off: int) -> bool:
    """Does a span of :func:`spans_index` hold ``off`` (``start <= off < end``)?"""
    starts, ends = index
    k = bisect.bisect_right(starts, off)  # the spans starting at or before off: [0, k)
    return k > 0 and ends[k - 1] > off


# a quoted literal of a Groovy or Python assignment: no expansion, interpolation or escape in it
_QUOTED = r"""(?P<q>["'])(?P<v>[^"'\s$#`{}\\]{6,})(?P=q)"""


def _committed_patterns(name: str, kind: str) -> list[re.Pattern[str]]:
    """The assignments of a literal to ``name`` in a caller of ``kind``: each pattern's ``v`` group
    is the value. Every pattern starts at a line start or a quote and reads one class per run."""
    value = r"""(?P<q>["']?)(?P<v>[^"'\s$#`{}]{6,})(?P=q)[ \t]*(?:#.*)?$"""
    if kind in ("github", "gitlab"):
        return [re.compile(rf"(?m)^[ \t]+{name}[ \t]*:[ \t]*{value}")]
    if kind == "bake-hcl":
        return [re.compile(rf"""variable[ \t]+"{name}"[ \t]*\{{[^}}]*?default[ \t]*=[ \t]*(?P<q>"?)(?P<v>[^"\s$}}]{{6,}})(?P=q)""")]
    if kind == "jenkins":
        return [
            # def tok = '…', String tok = "…", environment { TOKEN = '…' }, env.TOKEN = '…'
            re.compile(
                rf"(?m)^[ \t]*(?:(?:def|final|static|private|String|CharSequence|Object)[ \t]+)*(?:env\.)?{name}[ \t]*=[ \t]*"
                rf"{_QUOTED}[ \t]*;?[ \t]*(?://.*)?$"
            ),
            # withEnv(["TOKEN=…"])
            re.compile(rf"""(?P<q>["']){name}=(?P<v>[^"'\s$#`{{}}\\]{{6,}})(?P=q)"""),
        ]
    if kind == "python":
        return [
            # TOK = '…', TOK: str = '…' (module level or in a function)
            re.compile(rf"(?m)^[ \t]*{name}[ \t]*(?::[^=\n]*)?=[ \t]*[rRuU]?{_QUOTED}[ \t]*;?[ \t]*(?:#.*)?$"),
            # os.environ["TOK"] = '…', {"TOK": '…'}, os.environ.setdefault / os.putenv / os.getenv("TOK", '…')
            re.compile(rf"""["']{name}["'][ \t]*(?:\][ \t]*=|:|,)[ \t]*[rRuU]?{_QUOTED}"""),
        ]
    return [
        re.compile(
            rf"""(?m)^[ \t]*(?:export[ \t]+|local[ \t]+|readonly[ \t]+|declare[ \t]+(?:-\w+[ \t]+)*)?{name}[ \t]*(?:\?|:|::|\+)?=[ \t]*{value}"""
        )
    ]


def _committed_values(text: str, var: str, kind: str = "shell") -> list[str]:
    return list(_committed_values_of(text, var, kind))


@lru_cache(maxsize=64)  # (asked once per build-arg use: a caller with 4,000 builds scanned its text 4,000 times)
def _committed_values_of(text: str, var: str, kind: str) -> tuple[str, ...]:
    """Literal values assigned to ``var`` in a caller: shell/Make (``var=…``, ``export var=…``,
    ``var ?= …``), CI YAML (``var: …`` under variables:/env:), bake (``variable "var" { default =
    … }``), Jenkins (``def var = '…'``, ``environment { var = '…' }``, ``env.var = '…'``,
    ``withEnv(["var=…"])``), Python (``var = '…'``, ``os.environ["var"] = '…'``). The secret is
    committed there; outputs mask them."""
    name = re.escape(var.strip("$(){} ").removeprefix("env.").removeprefix("secrets."))
    if not name:
        return ()
    from refactor.analysis.secrets import is_placeholder

    out: list[str] = []
    for pat in _committed_patterns(name, kind):
        for m in pat.finditer(text):
            v = m.group("v")
            if v not in out and not is_placeholder(v) and v != var:
                out.append(v)
    return tuple(out)


def caller_ignored(settings: Settings, shown: str, marks, code: str, line: int) -> bool:
    """Whether a caller finding is turned off: rule selection, per-file-ignores, or the caller's
    own ``dfix:`` comments (``marks``, a CallerPragmas)."""
    from refactor.engine import per_file_codes
    from refactor.syntax.pragmas import suppressed

    if not settings.selection.enabled(code) or suppressed(code, per_file_codes(settings, shown)):
        return True
    return marks is not None and marks.covers(code, line)


def suppress_caller_findings(results: list[FileResult], settings: Settings, marks: dict | None = None) -> list[FileResult]:
    """The results, each caller without the findings its config or comments turn off (DF010,
    DF011, DF012); a caller with a bad ``dfix:`` comment fails."""
    from refactor.source import InputError, read_source
    from refactor.syntax.pragmas import PragmaError, caller_pragmas

    marks = {} if marks is None else marks
    out = []
    for res in results:
        if res.kind != "caller" or not res.findings or res.status != "ok":
            out.append(res)
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
                out.append(res.failed(f"bad dfix comment: {exc}"))
                continue
        kept = tuple(f for f in res.findings if not caller_ignored(settings, res.path, marks[path], f.code, f.line))
        out.append(res if len(kept) == len(res.findings) else res.with_findings(kept))
    return out


def add_caller_ignores(path: str, findings: Sequence[FindingOut], root: str | None = None) -> int:
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

"""Render results: text, json, github, sarif, markdown, gitlab, checkstyle, junit, and unified diffs.

Machine formats are built from data (``json.dumps``); only human text uses templates. Secret
values are never printed: findings carry descriptions, and every printed string (diff lines,
messages, fix titles, build commands and recipes) goes through the run's masks
(``refactor.render.masking``: a document format shares them over the whole run first). A diff
hunk holding a masked line says so on a line of its own, which no patch tool applies.

The formats live in parts: :mod:`~refactor.render.output_diff` (unified diffs),
:mod:`~refactor.render.output_json` (the JSON report), :mod:`~refactor.render.output_sarif` (SARIF
and its fixes), :mod:`~refactor.render.output_xml` (Checkstyle, JUnit) and
:mod:`~refactor.render.output_findings` (severities, tags and fingerprints every report shares);
this module keeps the GitHub annotations, the GitLab and markdown reports and ``DOCUMENTS``.
"""

from __future__ import annotations

import json

from refactor.render.masking import share
from refactor.render.output_diff import HUNK_NOTE as HUNK_NOTE
from refactor.render.output_diff import unified_diff
from refactor.render.output_findings import (
    ERROR_CODE,
    _mask,
    _report_path,
    _sorted_findings,
    error_fingerprint,
    fingerprints,
    gitlab_severity,
)
from refactor.render.output_json import JsonStream as JsonStream
from refactor.render.output_json import summary
from refactor.render.output_json import to_json as to_json
from refactor.render.output_sarif import to_sarif
from refactor.render.output_xml import _xml_safe as _xml_safe
from refactor.render.output_xml import to_checkstyle, to_junit
from refactor.results import FileResult
from refactor.rules import BY_CODE


def _gh_escape(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s


def to_github(results: list[FileResult]) -> str:
    results = share(results)
    out = []
    for r in results:
        if r.status == "error":
            out.append(f"::error file={_gh_escape(r.path, True)},title=dfix::{_gh_escape(_mask(r.error or '', r.masks))}")
        for f in r.findings:
            level = {"error": "error", "warning": "warning"}.get(f.severity, "notice")
            props = f"file={_gh_escape(r.path, True)},line={f.line},col={f.column},endLine={f.end_line},endColumn={f.end_column},title={_gh_escape(f'dfix ({f.code})', True)}"
            out.append(f"::{level} {props}::{_gh_escape(_mask(f.message, r.masks))}")
    return "\n".join(out) + ("\n" if out else "")


def to_gitlab(results: list[FileResult]) -> str:
    """GitLab Code Quality report (``artifacts:reports:codequality``): a JSON array of issues."""
    results = share(results)
    out = []
    for r in results:
        path = _report_path(r.path)
        fps = fingerprints(r)
        for f in _sorted_findings(r):
            out.append(
                {
                    "description": _mask(f"{f.code} {f.name}: {f.message}", r.masks),
                    "check_name": f.code,
                    "fingerprint": fps[id(f)],
                    "severity": gitlab_severity(f.secret, f.severity),
                    "location": {"path": path, "lines": {"begin": f.line}},
                }
            )
        if r.status == "error":
            rule = BY_CODE[ERROR_CODE]
            out.append(
                {
                    "description": _mask(f"{ERROR_CODE} {rule.name}: {r.error or 'error'}", r.masks),
                    "check_name": ERROR_CODE,
                    "fingerprint": error_fingerprint(r),
                    "severity": gitlab_severity(rule.secret, rule.severity),
                    "location": {"path": path, "lines": {"begin": 1}},
                }
            )
    return json.dumps(out, indent=2) + "\n"


def to_markdown(results: list[FileResult]) -> str:
    from refactor.emit import environment

    results = share(results)
    files = []
    for r in results:
        diff, masked = unified_diff(r)
        files.append({"r": r, "diff": diff, "masked": masked, "masks": r.masks})
    return environment().get_template("report.md.j2").render(files=files, summary=summary(results))


# Whole-document formats: the results are rendered at once (``--format NAME``).
DOCUMENTS = {"sarif": to_sarif, "markdown": to_markdown, "gitlab": to_gitlab, "checkstyle": to_checkstyle, "junit": to_junit}

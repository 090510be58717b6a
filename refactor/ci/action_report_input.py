"""Reading the action's one ``dfix --format json`` report (schema_version 1): :func:`load_report`
(:class:`ReportError` when it is missing or not a dfix report), :func:`is_secret` (a finding about a
secret value still there), the counts (:func:`tally`) and the files a report lists
(:func:`reported_files`). Standard library only (see ``action_report.py``).
"""

from __future__ import annotations

import json


class ReportError(Exception):
    pass


def load_report(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise ReportError("dfix wrote no JSON report") from None
    except (OSError, ValueError) as exc:
        raise ReportError(f"dfix's JSON report is not readable ({type(exc).__name__}: {exc})") from None
    if not isinstance(doc, dict) or doc.get("schema_version") != 1 or not isinstance(doc.get("files"), list):
        raise ReportError("unexpected JSON report (this action reads schema_version 1)")
    return doc


def is_secret(finding: dict) -> bool:
    """A finding about a secret value that is still there (report/check/diff never apply fixes;
    after --write an applied fix no longer counts)."""
    fix = finding.get("fix") or {}
    return bool(finding.get("secret")) and not fix.get("applied")


def tally(doc: dict) -> dict:
    files = doc["files"]
    findings = [x for f in files for x in f.get("findings") or []]
    by_rule: dict[str, int] = {}
    for x in findings:
        by_rule[x["code"]] = by_rule.get(x["code"], 0) + 1
    return {
        "files": len(files),
        "findings": len(findings),
        "secret_findings": sum(1 for x in findings if is_secret(x)),
        "files_with_findings": sum(1 for f in files if f.get("findings")),
        "errors": sum(1 for f in files if f.get("status") == "error"),
        "changed": sum(1 for f in files if f.get("changed")),
        "by_rule": dict(sorted(by_rule.items())),
    }


def reported_files(doc: dict) -> list[dict]:
    """Files the report lists (findings or an error), those with a secret or an error first."""
    shown = [f for f in doc["files"] if f.get("findings") or f.get("status") == "error"]
    return sorted(shown, key=lambda f: not (f.get("status") == "error" or any(is_secret(x) for x in f.get("findings") or [])))

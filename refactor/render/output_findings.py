"""What every report says the same way about a finding: GitHub's security-severity and GitLab's
severity by rule, the rules' tags and ``--explain`` texts, a report path, a masked message, and the
fingerprint that identifies a finding across runs (SHA-256 of code, path, variable and masked
message, never a position or a value).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from refactor.codecache import regex
from refactor.render.masking import mask
from refactor.results import FileResult, FindingOut

# GitHub's security-severity (a CVSS-like score: 9.0+ critical, 7.0-8.9 high, 4.0-6.9 medium,
# 0.1-3.9 low) and GitLab's Code Quality severity, from (rule is about a secret, severity)
_SECURITY_SEVERITY = {
    (True, "error"): "8.5",
    (True, "warning"): "6.0",
    (True, "info"): "4.0",
    (False, "error"): "5.0",
    (False, "warning"): "3.0",
    (False, "info"): "1.0",
}


_GITLAB_SEVERITY = {
    (True, "error"): "critical",
    (True, "warning"): "major",
    (True, "info"): "minor",
    (False, "error"): "major",
    (False, "warning"): "minor",
    (False, "info"): "info",
}


# extra tags beside "security" (GitHub shows them as filters; external/cwe/* links the CWE)
_RULE_TAGS = {
    "DF001": ("secrets", "dockerfile", "external/cwe/cwe-538"),
    "DF002": ("secrets", "dockerfile", "external/cwe/cwe-538"),
    "DF003": ("secrets", "dockerfile", "external/cwe/cwe-798"),
    "DF004": ("secrets", "dockerfile", "external/cwe/cwe-538"),
    "DF005": ("secrets", "frontend", "external/cwe/cwe-200"),
    "DF006": ("secrets", "dockerfile", "external/cwe/cwe-538"),
    "DF007": ("secrets", "dockerfile", "external/cwe/cwe-538"),
    "DF008": ("secrets", "dockerfile", "external/cwe/cwe-538"),
    "DF009": ("supply-chain", "dockerfile", "external/cwe/cwe-829"),
    "DF010": ("secrets", "supply-chain", "ci", "external/cwe/cwe-272"),
    "DF011": ("secrets", "ci", "external/cwe/cwe-214"),
    "DF012": ("ci", "maintainability"),
    "DF900": ("reliability",),
}


ERROR_CODE = "DF900"  # a file that could not be read or parsed, in every format


FINGERPRINT_KEY = "dfix/v1"  # SARIF partialFingerprints key (versioned: a new scheme gets v2)


_LINE_REF = regex(r"\blines? \d+(?:\s*(?:-|–|,|and)\s*\d+)*")


def security_severity(secret: bool, severity: str) -> str:
    return _SECURITY_SEVERITY.get((secret, severity), "5.0")


def gitlab_severity(secret: bool, severity: str) -> str:
    return _GITLAB_SEVERITY.get((secret, severity), "major")


def _mask(text: str, masks: Sequence[str]) -> str:
    """``text`` with every masked value replaced, as the diff output does."""
    return mask(text, masks)


def _report_path(path: str) -> str:
    path = path.replace(os.sep, "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def _digest(*parts: str) -> str:
    data = "\0".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


def _sorted_findings(r: FileResult) -> list[FindingOut]:
    return sorted(r.findings, key=lambda f: (f.line, f.column, f.code))


def fingerprints(r: FileResult) -> dict[int, str]:
    """{id(finding): fingerprint}: a SHA-256 of the rule code, the path, the variable and the
    message (masked, with line references blanked), and the finding's rank among those with the
    same key in the file. No position goes in, so inserting lines above a finding keeps its
    fingerprint; no secret goes in (messages never hold one, and masked values are replaced
    before hashing). The same for every format and mode (file text is not kept in all of them)."""
    seen: dict[str, int] = {}
    out: dict[int, str] = {}
    path = _report_path(r.path)
    for f in _sorted_findings(r):
        message = " ".join(_LINE_REF.sub("line #", _mask(f.message, r.masks)).split())
        key = _digest(FINGERPRINT_KEY, f.code, path, f.variable or "", message)
        n = seen.get(key, 0)
        seen[key] = n + 1
        out[id(f)] = _digest(key, str(n))
    return out


def error_fingerprint(r: FileResult) -> str:
    return _digest(_digest(FINGERPRINT_KEY, ERROR_CODE, _report_path(r.path), "", ""), "0")


def explain_text(rule) -> str:
    """What ``dfix --explain CODE`` prints."""
    return f"# {rule.code} {rule.name}\n\n{rule.summary}.\n\n{rule.doc}"


def _what_it_does(rule) -> str:
    doc = rule.doc
    if "## What it does\n" not in doc:
        return rule.summary
    return doc.split("## What it does\n", 1)[1].split("\n## ", 1)[0].strip()

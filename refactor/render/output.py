"""Render results: text, json, github, sarif, markdown, gitlab, checkstyle, junit, and unified diffs.

Machine formats are built from data (``json.dumps``); only human text uses templates. Secret
values are never printed: findings carry descriptions, and every printed string (diff lines,
messages, fix titles, build commands and recipes) goes through the run's masks
(``refactor.render.masking``: a document format shares them over the whole run first). A diff
hunk holding a masked line says so on a line of its own, which no patch tool applies.
"""

from __future__ import annotations

import bisect
import difflib
import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from urllib.parse import quote

from refactor import __version__
from refactor.render.masking import learn, mask, mask_text, share, spans
from refactor.results import FileResult, FindingOut
from refactor.rules import BY_CODE, RULES


def _lines(text: str) -> list[str]:
    """Lines as git and patch see them: split after each \\n only (str.splitlines would also split
    at \\v, \\f, U+2028 and the like, and the patch would not apply)."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _masked_note(n: int) -> str:
    lines = "1 line of this hunk holds a secret value and is" if n == 1 else f"{n} lines of this hunk hold a secret value and are"
    return f"{HUNK_NOTE} {lines} masked; this hunk cannot be applied: apply the change with `dfix --write`\n"


# starts the line a masked hunk opens with. Not diff syntax on purpose: `git apply` ("corrupt
# patch") and GNU patch ("malformed patch") stop at it. (patch skips a line starting with "#".)
HUNK_NOTE = "dfix:"


def unified_diff(r: FileResult) -> tuple[str, bool]:
    """(diff text, whether lines were masked).

    A hunk with a masked line opens, right under its ``@@`` header, with a line saying how many of
    its lines are masked (``dfix: 1 line of this hunk holds a secret value and is masked; …``).
    That line is not diff syntax: ``git apply`` and ``patch`` refuse the patch instead of writing
    ``<redacted>`` into the file or failing on a context line for no stated reason."""
    if not r.changed or r.original is None or r.new_text is None:
        return "", False
    learn(r)
    bom = "\ufeff" if r.bom else ""  # the file's first bytes, so that `git apply` matches them
    a = _lines(bom + r.original)
    b = _lines(bom + r.new_text)
    lines = list(difflib.unified_diff(a, b, _git_path("a/", r.path), _git_path("b/", r.path)))
    masked = False
    out: list[str] = []
    hunk_at, hunk_masked = -1, 0

    def close_hunk() -> None:
        if hunk_masked:
            out.insert(hunk_at + 1, _masked_note(hunk_masked))

    for k, ln in enumerate(lines):
        if k >= 2 and ln.startswith("@@"):
            close_hunk()
            hunk_at, hunk_masked = len(out), 0
        elif k >= 2 and r.masks:  # the ---/+++ headers name the file: never masked
            ln, hit = mask_text(ln, r.masks)
            masked |= hit
            hunk_masked += hit
        if not ln.endswith("\n"):
            ln += "\n\\ No newline at end of file\n"
        out.append(ln)
    close_hunk()
    return "".join(out), masked


def summary(results: list[FileResult]) -> dict:
    return {
        "files": len(results),
        "changed": sum(1 for r in results if r.changed),
        "findings": sum(len(r.findings) for r in results),
        "errors": sum(1 for r in results if r.status == "error"),
    }


def _finding_json(f: FindingOut, masks: list[str]) -> dict:
    doc = f.to_json()
    if masks:
        doc["message"] = mask(doc["message"], masks)
        if doc["fix"] is not None:
            doc["fix"]["title"] = mask(doc["fix"]["title"], masks)
            doc["fix"]["reasons"] = [mask(x, masks) for x in doc["fix"]["reasons"]]
    return doc


def file_json(r: FileResult) -> dict:
    learn(r)
    m = r.masks
    if r.build is not None:
        build = {
            "secrets": [s.to_json() for s in r.build.secrets],
            "ssh": list(r.build.ssh),
            "build_args": list(r.build.build_args),
            "command": mask(r.command, m),
            "emitted": {k: mask(v, m) for k, v in r.emitted.items()},
        }
    else:
        build = {"secrets": [], "ssh": [], "build_args": [], "command": None, "emitted": {}}
    return {
        "path": r.path,
        "kind": r.kind,
        "status": r.status,
        "error": mask(r.error, m),
        "changed": r.changed,
        "findings": [_finding_json(f, m) for f in sorted(r.findings, key=lambda f: (f.line, f.column, f.code))],
        "diff": unified_diff(r)[0] or None,
        "build": build,
    }


def to_json(results: list[FileResult]) -> str:
    share(results)
    files = [file_json(r) for r in results]
    return json.dumps({"schema_version": 1, "files": files, "summary": summary(results)}, indent=2) + "\n"


class JsonStream:
    """Writes the same document as :func:`to_json`, one file at a time (flat memory in bulk runs)."""

    def __init__(self, out) -> None:
        self.out = out
        self.n = 0
        self.counts = {"files": 0, "changed": 0, "findings": 0, "errors": 0}

    def add(self, r: FileResult) -> None:
        body = json.dumps(file_json(r), indent=2)
        body = "\n".join("    " + ln for ln in body.split("\n"))
        self.out.write(('{\n  "schema_version": 1,\n  "files": [\n' if self.n == 0 else ",\n") + body)
        self.n += 1
        self.counts["files"] += 1
        self.counts["changed"] += int(r.changed)
        self.counts["findings"] += len(r.findings)
        self.counts["errors"] += int(r.status == "error")

    def close(self) -> None:
        summary_text = json.dumps(self.counts, indent=2).replace("\n", "\n  ")
        if self.n == 0:
            self.out.write('{\n  "schema_version": 1,\n  "files": [],\n  "summary": ' + summary_text + "\n}\n")
        else:
            self.out.write('\n  ],\n  "summary": ' + summary_text + "\n}\n")


def _gh_escape(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s


def to_github(results: list[FileResult]) -> str:
    share(results)
    out = []
    for r in results:
        if r.status == "error":
            out.append(f"::error file={_gh_escape(r.path, True)},title=dfix::{_gh_escape(_mask(r.error or '', r.masks))}")
        for f in r.findings:
            level = {"error": "error", "warning": "warning"}.get(f.severity, "notice")
            props = f"file={_gh_escape(r.path, True)},line={f.line},col={f.column},endLine={f.end_line},endColumn={f.end_column},title={_gh_escape(f'dfix ({f.code})', True)}"
            out.append(f"::{level} {props}::{_gh_escape(_mask(f.message, r.masks))}")
    return "\n".join(out) + ("\n" if out else "")


def _uri(path: str) -> str:
    """An RFC 3986 uri-reference for a path (spaces, %, # percent-encoded; a name that is not
    UTF-8 keeps its bytes, percent-encoded)."""
    return quote(path.replace(os.sep, "/"), safe="/:@!$&'()*+,;=-._~", errors="surrogateescape")


# --------------------------------------------------------------------------- shared by the reports

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
_LINE_REF = re.compile(r"\blines? \d+(?:\s*(?:-|–|,|and)\s*\d+)*")


def security_severity(secret: bool, severity: str) -> str:
    return _SECURITY_SEVERITY.get((secret, severity), "5.0")


def gitlab_severity(secret: bool, severity: str) -> str:
    return _GITLAB_SEVERITY.get((secret, severity), "major")


def _mask(text: str, masks: list[str]) -> str:
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


# ---------------------------------------------------------------------------------- sarif fixes


def _line_starts(text: str) -> list[int]:
    starts = [0]
    i = text.find("\n")
    while i != -1:
        starts.append(i + 1)
        i = text.find("\n", i + 1)
    return starts


def _shows_secret(text: str, start: int, end: int, content: str, masks: list[str]) -> bool:
    """Whether inserting ``content`` over text[start:end] shows any part of a value the diff
    would mask there: the value inside the inserted text, or across its edges with the text kept
    around it. The lines the edit touches are judged as the diff judges them (``spans`` on the
    whole lines, which decide whether a word-like value stands as a value)."""
    if not content or not masks:
        return False
    ls = text.rfind("\n", 0, start) + 1
    le = text.find("\n", end)
    le = len(text) if le == -1 else le
    before = text[ls:start]
    ctx = before + content + text[end:le]
    lo, hi = len(before), len(before) + len(content)
    return any(s < hi and e > lo for s, e in spans(ctx, masks))


def _diff_pieces(a: str, b: str) -> list[tuple[int, int, str]]:
    """Minimal replacements (start, end, new text) turning ``a`` into ``b``: changed line blocks,
    narrowed to the changed characters when the block is small."""
    la, lb = _lines(a), _lines(b)
    sa, sb = [0], [0]
    for ln in la:
        sa.append(sa[-1] + len(ln))
    for ln in lb:
        sb.append(sb[-1] + len(ln))
    out: list[tuple[int, int, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, la, lb, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        a0, a1, b0, b1 = sa[i1], sa[i2], sb[j1], sb[j2]
        if (a1 - a0) + (b1 - b0) > 8000:
            out.append((a0, a1, b[b0:b1]))
            continue
        pieces: list[list[int]] = []
        sm = difflib.SequenceMatcher(None, a[a0:a1], b[b0:b1], autojunk=False)
        for t, x1, x2, y1, y2 in sm.get_opcodes():
            if t == "equal":
                continue
            x1, x2, y1, y2 = a0 + x1, a0 + x2, b0 + y1, b0 + y2
            # a short kept run inside one line joins its neighbours (readable, still minimal)
            if pieces and x1 - pieces[-1][1] < 4 and "\n" not in a[pieces[-1][1] : x1]:
                pieces[-1][1], pieces[-1][3] = x2, y2
            else:
                pieces.append([x1, x2, y1, y2])
        out.extend((x1, x2, b[y1:y2]) for x1, x2, y1, y2 in pieces)
    return out


class _FileFixes:
    """The per-finding fix edits of one file (against its original text), computed on demand."""

    def __init__(self, r: FileResult) -> None:
        self.r = r
        self.text = r.original or ""
        self.starts = _line_starts(self.text)
        self._fallback: dict[int, list[tuple[int, int, str]]] | None = None

    def pos(self, offset: int) -> tuple[int, int]:
        idx = bisect.bisect_right(self.starts, offset) - 1
        return idx + 1, offset - self.starts[idx] + 1

    def _line_span(self, start: int, end: int) -> tuple[int, int]:
        return self.pos(start)[0], self.pos(max(start, end - 1))[0]

    def edits(self, f: FindingOut) -> list[tuple[int, int, str]]:
        if f.fix is not None and f.fix.edits is not None:
            return [(e.start, e.end, e.content) for e in f.fix.edits]
        if self._fallback is None:
            self._fallback = self._attribute()
        return self._fallback.get(id(f), [])

    def _attribute(self) -> dict[int, list[tuple[int, int, str]]]:
        """The fallback for fixes whose own edits are unknown: the pieces of the file's diff on the
        finding's lines (never a piece another fix's known edits cover); in a caller, pieces on no
        such finding's lines (a compose file's top-level ``secrets:``) go with each of them."""
        r = self.r
        unknown = [f for f in r.findings if f.fix is not None and f.fix.included and f.fix.edits is None]
        if not unknown or r.new_text is None:
            return {}
        known = [(e.start, e.end) for f in r.findings if f.fix is not None and f.fix.included and f.fix.edits for e in f.fix.edits]
        pieces = [p for p in _diff_pieces(self.text, r.new_text) if not any(p[0] <= ke and ks <= p[1] for ks, ke in known)]
        out: dict[int, list[tuple[int, int, str]]] = {}
        claimed: set[int] = set()
        for f in unknown:
            mine = []
            for i, p in enumerate(pieces):
                lo, hi = self._line_span(p[0], p[1])
                if lo <= f.end_line and f.line <= hi:
                    mine.append(p)
                    claimed.add(i)
            out[id(f)] = mine
        if r.kind == "caller":
            rest = [p for i, p in enumerate(pieces) if i not in claimed]
            for f in unknown:
                out[id(f)] = sorted(out[id(f)] + rest, key=lambda p: (p[0], p[1]))
        return out

    def sarif_fix(self, f: FindingOut) -> tuple[dict | None, str | None]:
        """(the SARIF fix carrying only this finding's edits, or why there is none)."""
        edits = self.edits(f)
        if not edits or f.fix is None:  # (a finding without a fix has no edits)
            return None, "its edits could not be told apart from the rest of the rewrite (see --diff)"
        if any(_shows_secret(self.text, s, e, c, self.r.masks) for s, e, c in edits):
            return None, "it would show a secret value, which every output masks (see --diff)"
        replacements = []
        for s, e, content in sorted(edits, key=lambda x: (x[0], x[1])):
            sl, sc = self.pos(s)
            el, ec = self.pos(e)
            rep: dict = {"deletedRegion": {"startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec}}
            if content:
                rep["insertedContent"] = {"text": content}
            replacements.append(rep)
        return {
            "description": {"text": _mask(f.fix.title, self.r.masks)},
            "artifactChanges": [{"artifactLocation": {"uri": _uri(self.r.path)}, "replacements": replacements}],
        }, None


def _sarif_rule(r) -> dict:
    level = {"error": "error", "warning": "warning"}.get(r.severity, "note")
    text = explain_text(r)
    what = _what_it_does(r)
    tags = ["security"] + [t for t in _RULE_TAGS.get(r.code, ("secrets",) if r.secret else ()) if t != "security"]
    return {
        "id": r.code,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": " ".join(what.split()), "markdown": what},
        "help": {"text": text, "markdown": text},
        "defaultConfiguration": {"level": level},
        "properties": {
            "tags": tags,
            "security-severity": security_severity(r.secret, r.severity),
            "secret": r.secret,
            "fixable": r.fixable,
        },
    }


def to_sarif(results: list[FileResult]) -> str:
    share(results)
    rules = [_sarif_rule(r) for r in RULES]
    index = {r.code: i for i, r in enumerate(RULES)}
    res = []
    for r in results:
        fps = fingerprints(r)
        fixes = _FileFixes(r) if r.changed and r.original is not None and r.new_text is not None else None
        for f in r.findings:
            item = {
                "ruleId": f.code,
                "ruleIndex": index[f.code],
                "level": {"error": "error", "warning": "warning"}.get(f.severity, "note"),
                "message": {"text": _mask(f.message, r.masks)},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(r.path)},
                            "region": {
                                "startLine": f.line,
                                "startColumn": f.column,
                                "endLine": f.end_line,
                                "endColumn": f.end_column,
                            },
                        }
                    }
                ],
                "partialFingerprints": {FINGERPRINT_KEY: fps[id(f)]},
            }
            if fixes is not None and f.fix is not None and f.fix.included:
                fix, why = fixes.sarif_fix(f)
                if fix is not None:
                    item["fixes"] = [fix]
                else:
                    item["properties"] = {"fixOmitted": why}
            res.append(item)
        if r.status == "error":
            res.append(
                {
                    "ruleId": ERROR_CODE,
                    "ruleIndex": index[ERROR_CODE],
                    "level": "error",
                    "message": {"text": _mask(r.error or "error", r.masks)},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(r.path)}}}],
                    "partialFingerprints": {FINGERPRINT_KEY: error_fingerprint(r)},
                }
            )
    doc = {
        "$schema": "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "dfix", "version": __version__, "rules": rules}},
                "columnKind": "unicodeCodePoints",  # columns count code points (SourceFile.position)
                "results": res,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


# ------------------------------------------------------------------------- gitlab code quality


def to_gitlab(results: list[FileResult]) -> str:
    """GitLab Code Quality report (``artifacts:reports:codequality``): a JSON array of issues."""
    share(results)
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


# ------------------------------------------------------------------------------ xml: checkstyle, junit


def _xml_safe(s: str, newlines: bool = False) -> str:
    """Text XML 1.0 can carry, free of control characters: every character Python does not call
    printable (controls, newlines unless ``newlines``, tabs, bidi and other format characters, line
    separators, lone surrogates, non-characters) becomes a visible escape (``\\n``, ``\\x01``,
    ``\\u202e``; a byte of a non-UTF-8 name, kept as a surrogate, is shown as ``\\xff``). Markup
    characters are the serializer's job."""
    if s.isprintable():
        return s
    if newlines:
        return "\n".join(_xml_safe(part) for part in s.split("\n"))
    out = []
    for c in s:
        o = ord(c)
        if c.isprintable():
            out.append(c)
        elif c in _C_ESCAPES:
            out.append(_C_ESCAPES[c])
        elif 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif o < 0x100:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    return "".join(out)


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


_CHECKSTYLE_SEVERITY = {"error": "error", "warning": "warning"}


def to_checkstyle(results: list[FileResult]) -> str:
    """Checkstyle XML: a ``<file>`` per file checked, an ``<error>`` per finding (and one for a file
    that could not be processed, source ``dfix.DF900``)."""
    share(results)
    root = ET.Element("checkstyle", version="4.3")
    for r in results:
        el = ET.SubElement(root, "file", name=_xml_safe(r.path))
        if r.status == "error":
            ET.SubElement(
                el,
                "error",
                line="1",
                column="1",
                severity="error",
                message=_xml_safe(_mask(r.error or "error", r.masks)),
                source=f"dfix.{ERROR_CODE}",
            )
        for f in _sorted_findings(r):
            ET.SubElement(
                el,
                "error",
                line=str(f.line),
                column=str(f.column),
                severity=_CHECKSTYLE_SEVERITY.get(f.severity, "info"),
                message=_xml_safe(_mask(f"{f.message} ({f.code} {f.name})", r.masks)),
                source=f"dfix.{f.code}",
            )
    return _xml(root)


def to_junit(results: list[FileResult]) -> str:
    """JUnit XML: one ``<testsuite>``, a ``<testcase>`` per file checked, a ``<failure>`` per finding
    and an ``<error>`` for a file that could not be processed. ``failures``/``errors`` count test
    cases (files), as JUnit does."""
    share(results)
    errors = sum(1 for r in results if r.status == "error")
    failures = sum(1 for r in results if r.status != "error" and r.findings)
    counts = {"tests": str(len(results)), "failures": str(failures), "errors": str(errors)}
    root = ET.Element("testsuites", {"name": "dfix", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": "dfix", "skipped": "0", **counts})
    for r in results:
        path = _xml_safe(r.path)
        case = ET.SubElement(suite, "testcase", name=path, classname="dfix", file=path)
        if r.status == "error":
            msg = _mask(r.error or "error", r.masks)
            el = ET.SubElement(case, "error", message=_xml_safe(msg), type=ERROR_CODE)
            el.text = _xml_safe(f"{r.path}: {ERROR_CODE} {BY_CODE[ERROR_CODE].name}: {msg}", newlines=True)
        for f in _sorted_findings(r):
            el = ET.SubElement(case, "failure", message=_xml_safe(_mask(f"{f.code} {f.message}", r.masks)), type=f.code)
            body = [f"{r.path}:{f.line}:{f.column}: {f.code} {f.name} ({f.severity}): {f.message}"]
            if f.fix is not None:
                body.append(f"fix ({f.fix.applicability}): {f.fix.title}")
            el.text = _xml_safe(_mask("\n".join(body), r.masks), newlines=True)
    return _xml(root)


def to_markdown(results: list[FileResult]) -> str:
    from refactor.emit import environment

    share(results)
    files = []
    for r in results:
        diff, masked = unified_diff(r)
        files.append({"r": r, "diff": diff, "masked": masked, "masks": r.masks})
    return environment().get_template("report.md.j2").render(files=files, summary=summary(results))


_C_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", '"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}


def _git_path(prefix: str, path: str) -> str:
    """A diff header name as git writes it: C-quoted when it holds a control character, a quote
    or a backslash (so a newline in a file name cannot start a line of the patch)."""
    name = prefix + path
    if name.isprintable() and '"' not in name and "\\" not in name:
        return name
    out = []
    for c in name:
        if c in _C_ESCAPES:
            out.append(_C_ESCAPES[c])
        elif not c.isprintable():
            out.append("".join(f"\\{b:03o}" for b in c.encode("utf-8", "surrogateescape")))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


# Whole-document formats: the results are rendered at once (``--format NAME``).
DOCUMENTS = {"sarif": to_sarif, "markdown": to_markdown, "gitlab": to_gitlab, "checkstyle": to_checkstyle, "junit": to_junit}

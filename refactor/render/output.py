"""Render results: text, json, github, sarif, markdown, and unified diffs.

Machine formats are built from data (``json.dumps``); only human text uses templates. Secret
values never reach here: findings carry descriptions, and diff lines holding a committed literal
are masked.
"""

from __future__ import annotations

import difflib
import json
import os
from urllib.parse import quote

from refactor import __version__
from refactor.engine import FileResult
from refactor.rules import RULES

MASK = "<redacted>"


def _lines(text: str) -> list[str]:
    """Lines as git and patch see them: split after each \\n only (str.splitlines would also split
    at \\v, \\f, U+2028 and the like, and the patch would not apply)."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def unified_diff(r: FileResult) -> tuple[str, bool]:
    """(diff text, whether lines were masked)."""
    if not r.changed or r.original is None or r.new_text is None:
        return "", False
    bom = "\ufeff" if r.bom else ""  # the file's first bytes, so that `git apply` matches them
    a = _lines(bom + r.original)
    b = _lines(bom + r.new_text)
    lines = list(difflib.unified_diff(a, b, _git_path("a/", r.path), _git_path("b/", r.path)))
    masked = False
    out = []
    for ln in lines:
        for m in r.masks:
            if m and m in ln:
                ln = ln.replace(m, MASK)
                masked = True
        if not ln.endswith("\n"):
            ln += "\n\\ No newline at end of file\n"
        out.append(ln)
    return "".join(out), masked


def summary(results: list[FileResult]) -> dict:
    return {
        "files": len(results),
        "changed": sum(1 for r in results if r.changed),
        "findings": sum(len(r.findings) for r in results),
        "errors": sum(1 for r in results if r.status == "error"),
    }


def file_json(r: FileResult) -> dict:
    if r.build is not None:
        build = {
            "secrets": [s.to_json() for s in r.build.secrets],
            "ssh": list(r.build.ssh),
            "build_args": list(r.build.build_args),
            "command": r.command,
            "emitted": dict(r.emitted),
        }
    else:
        build = {"secrets": [], "ssh": [], "build_args": [], "command": None, "emitted": {}}
    return {
        "path": r.path,
        "kind": r.kind,
        "status": r.status,
        "error": r.error,
        "changed": r.changed,
        "findings": [f.to_json() for f in sorted(r.findings, key=lambda f: (f.line, f.column, f.code))],
        "build": build,
    }


def to_json(results: list[FileResult]) -> str:
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
    out = []
    for r in results:
        if r.status == "error":
            out.append(f"::error file={_gh_escape(r.path, True)},title=dfix::{_gh_escape(r.error or '')}")
        for f in r.findings:
            level = {"error": "error", "warning": "warning"}.get(f.severity, "notice")
            props = f"file={_gh_escape(r.path, True)},line={f.line},col={f.column},endLine={f.end_line},endColumn={f.end_column},title={_gh_escape(f'dfix ({f.code})', True)}"
            out.append(f"::{level} {props}::{_gh_escape(f.message)}")
    return "\n".join(out) + ("\n" if out else "")


def _uri(path: str) -> str:
    """An RFC 3986 uri-reference for a path (spaces, %, # percent-encoded)."""
    return quote(path.replace(os.sep, "/"), safe="/:@!$&'()*+,;=-._~")


def to_sarif(results: list[FileResult]) -> str:
    rules = [
        {
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.summary},
            "help": {"text": r.doc, "markdown": r.doc},
            "defaultConfiguration": {"level": {"error": "error", "warning": "warning"}.get(r.severity, "note")},
            "properties": {"secret": r.secret},
        }
        for r in RULES
    ]
    index = {r.code: i for i, r in enumerate(RULES)}
    res = []
    for r in results:
        for f in r.findings:
            item = {
                "ruleId": f.code,
                "ruleIndex": index[f.code],
                "level": {"error": "error", "warning": "warning"}.get(f.severity, "note"),
                "message": {"text": f.message},
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
            }
            if f.fix is not None and f.fix.included and r.changed and r.original is not None:
                # the fix carries the whole new file: none of it may hold a masked value
                masked = any(m and (m in (r.new_text or "") or m in r.original) for m in r.masks)
                if not masked and r.new_text is not None:
                    item["fixes"] = [
                        {
                            "description": {"text": f.fix.title},
                            "artifactChanges": [
                                {
                                    "artifactLocation": {"uri": _uri(r.path)},
                                    "replacements": [
                                        {
                                            "deletedRegion": {"charOffset": 0, "charLength": len(r.original)},
                                            "insertedContent": {"text": r.new_text},
                                        }
                                    ],
                                }
                            ],
                        }
                    ]
            res.append(item)
        if r.status == "error":
            res.append(
                {
                    "ruleId": "DF900",
                    "level": "error",
                    "message": {"text": r.error or "error"},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(r.path)}}}],
                }
            )
    doc = {
        "$schema": "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "dfix", "version": __version__, "informationUri": "https://example.invalid/dfix", "rules": rules}},
                "results": res,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def to_markdown(results: list[FileResult]) -> str:
    from refactor.emit import environment

    files = []
    for r in results:
        diff, masked = unified_diff(r)
        files.append({"r": r, "diff": diff, "masked": masked})
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
DOCUMENTS = {"sarif": to_sarif, "markdown": to_markdown}

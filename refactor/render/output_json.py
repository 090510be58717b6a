"""The JSON report (``--format json``, ``schema_version`` 1): a file's document (:func:`file_json`: its
findings, masked messages and fix texts, diff and build command), the counts (:func:`summary`), the
whole document at once (:func:`to_json`) or streamed one file at a time (:class:`JsonStream`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from refactor.render.masking import learn, mask, share
from refactor.render.output_diff import unified_diff
from refactor.results import FileResult, FindingOut


def summary(results: list[FileResult]) -> dict:
    return {
        "files": len(results),
        "changed": sum(1 for r in results if r.changed),
        "findings": sum(len(r.findings) for r in results),
        "errors": sum(1 for r in results if r.status == "error"),
    }


def _finding_json(f: FindingOut, masks: Sequence[str]) -> dict:
    doc = f.to_json()
    if masks:
        doc["message"] = mask(doc["message"], masks)
        if doc["fix"] is not None:
            doc["fix"]["title"] = mask(doc["fix"]["title"], masks)
            doc["fix"]["reasons"] = [mask(x, masks) for x in doc["fix"]["reasons"]]
    return doc


def file_json(r: FileResult) -> dict:
    r = learn(r)
    m = r.masks
    if r.build is not None:
        build = {  # (a pasted token can sit where a name goes: `--mount=type=secret,env=ghp_…`)
            "secrets": [{k: mask(v, m) for k, v in s.to_json().items()} for s in r.build.secrets],
            "ssh": [mask(x, m) for x in r.build.ssh],
            "build_args": [mask(x, m) for x in r.build.build_args],
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
    results = share(results)
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

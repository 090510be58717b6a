"""The SARIF 2.1.0 report (:func:`to_sarif`): rule metadata, results with regions and fingerprints,
and each finding's own fix (:class:`_FileFixes`: its edits, or the pieces of the file's diff on its
lines; none when a replacement would show a masked value).
"""

from __future__ import annotations

import bisect
import difflib
import json
import os
from collections.abc import Sequence
from urllib.parse import quote

from refactor import __version__
from refactor.render.masking import share, spans
from refactor.render.output_diff import _lines
from refactor.render.output_findings import (
    _RULE_TAGS,
    ERROR_CODE,
    FINGERPRINT_KEY,
    _mask,
    _what_it_does,
    error_fingerprint,
    explain_text,
    fingerprints,
    security_severity,
)
from refactor.results import FileResult, FindingOut
from refactor.rules import RULES


def _uri(path: str) -> str:
    """An RFC 3986 uri-reference for a path (spaces, %, # percent-encoded; a name that is not
    UTF-8 keeps its bytes, percent-encoded)."""
    return quote(path.replace(os.sep, "/"), safe="/:@!$&'()*+,;=-._~", errors="surrogateescape")


def _line_starts(text: str) -> list[int]:
    starts = [0]
    i = text.find("\n")
    while i != -1:
        starts.append(i + 1)
        i = text.find("\n", i + 1)
    return starts


def _shows_secret(text: str, start: int, end: int, content: str, masks: Sequence[str]) -> bool:
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
    results = share(results)
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

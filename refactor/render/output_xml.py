"""The XML reports: Checkstyle (:func:`to_checkstyle`) and JUnit (:func:`to_junit`), with every text
made safe for XML 1.0 (:func:`_xml_safe`: control and format characters shown as visible escapes).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from refactor.render.masking import share
from refactor.render.output_diff import _C_ESCAPES
from refactor.render.output_findings import ERROR_CODE, _mask, _sorted_findings
from refactor.results import FileResult
from refactor.rules import BY_CODE


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
    results = share(results)
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
    results = share(results)
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

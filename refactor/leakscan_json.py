"""Secret values in JSON documents (``docker image inspect`` output, saved config and manifest
blobs): :func:`_scan_json` walks keys and strings, routes each hit to its channel (history, env,
labels or config) and records a masked location; :func:`_snippet` cuts a masked line around its
first mask.
"""

from __future__ import annotations

from refactor.leakscan_match import Matcher
from refactor.leakscan_report import ScanReport


def _route(path: list[str]) -> str:
    lowered = [p.lower() for p in path]
    if "history" in lowered:
        return "history"
    if "env" in lowered:
        return "env"
    if "labels" in lowered or "annotations" in lowered:
        return "labels"
    return "config"


def _fmt_path(path: list[str]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "(document)"


def _scan_json(doc, matcher: Matcher, report: ScanReport, where: str, default: str | None = None) -> None:
    def walk(node, path: list[str]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                for name, enc in matcher.find_text(str(k)):
                    report.add(name, default or _route(path + [str(k)]), f"{where} {matcher.mask(_fmt_path(path + [str(k)]))} (key)", enc)
                walk(v, path + [str(k)])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + [str(i)])
        elif isinstance(node, str):
            for name, enc in matcher.find_text(node):
                channel = default or _route(path)
                loc = _fmt_path(path)
                if channel == "env" and "=" in node:
                    loc += " " + matcher.mask(node.split("=", 1)[0])
                if channel == "history":
                    loc += ": " + _snippet(matcher.mask(node))
                report.add(name, channel, f"{where} {loc}", enc)

    walk(doc, [])


def _snippet(masked: str, width: int = 110) -> str:
    masked = " ".join(masked.split())
    i = masked.find("<")
    if len(masked) <= width:
        return masked
    start = max(0, min(i - 30, len(masked) - width)) if i >= 0 else 0
    return ("…" if start else "") + masked[start : start + width] + ("…" if start + width < len(masked) else "")

"""The markdown report (:func:`render`): header and totals, a table of the files with findings or
errors, a section per file (findings, diff, build command) and how to fix; cut at a file boundary
under a byte limit (the PR comment, the job summary), with the comment's hidden marker line
(:func:`marker_for`). Standard library only (see ``action_report.py`` for the two ways of importing
the parts).
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING or __package__:
    from refactor.ci.action_report_escape import fence_for, md_code, md_text, nbytes
    from refactor.ci.action_report_input import is_secret, reported_files, tally
else:  # run by path (action_report.py put this directory on sys.path)
    from action_report_escape import fence_for, md_code, md_text, nbytes
    from action_report_input import is_secret, reported_files, tally


MARKER = "<!-- dfix-report -->"


MAX_FINDINGS_COMPACT = 20  # findings listed for a file when its full section does not fit


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def header(doc: dict, mode: str) -> str:
    t = tally(doc)
    lines = ["## dfix report", ""]
    if t["secret_findings"]:
        lines.append(
            f"**{_plural(t['secret_findings'], 'secret finding')} remain{'s' if t['secret_findings'] == 1 else ''}** in "
            f"{_plural(sum(1 for f in doc['files'] if any(is_secret(x) for x in f.get('findings') or [])), 'file')}: "
            "credentials reach the build where the image or its history can keep them."
        )
    elif t["findings"]:
        lines.append(f"**{_plural(t['findings'], 'finding')}** (none about a secret value) in {_plural(t['files_with_findings'], 'file')}.")
    elif not t["files"]:
        lines.append("**No Dockerfile to scan.**")
    elif not t["errors"]:
        lines.append(f"**No findings** in {_plural(t['files'], 'scanned file')}.")
    if t["errors"]:
        if len(lines) > 2:
            lines.append("")
        lines.append(f"**{_plural(t['errors'], 'file')} could not be read or parsed.**")
    rules = ", ".join(f"{c} {n}" for c, n in t["by_rule"].items())
    would = "changed" if mode == "write" else "would change"
    totals = (
        f"{_plural(t['findings'], 'finding')}{f' ({rules})' if rules else ''} in {_plural(t['files'], 'scanned file')}; "
        f"{t['changed']} {would}; {_plural(t['errors'], 'error')}."
    )
    lines += ["", totals, ""]
    return "\n".join(lines) + "\n"


def table(files: list[dict]) -> tuple[str, list[str]]:
    head = "| file | findings | secret | fix changes it |\n|---|---|---|---|\n"
    rows = []
    for f in files:
        fs = f.get("findings") or []
        cell = str(len(fs))
        if f.get("status") == "error":
            cell += " (error: " + md_text(f.get("error") or "").replace("|", "\\|") + ")"
        rows.append(
            f"| {md_code(f['path'], cell=True)} | {cell} | {sum(1 for x in fs if is_secret(x))} | {'yes' if f.get('changed') else 'no'} |\n"
        )
    return head, rows


def section(f: dict, compact: bool = False) -> str:
    out = [f"### {md_code(f['path'])}", ""]
    if f.get("status") == "error":
        out += [f"- **error**: {md_text(f.get('error') or 'error')}", ""]
    findings = f.get("findings") or []
    shown = findings[:MAX_FINDINGS_COMPACT] if compact else findings
    for x in shown:
        kind = f"{x.get('name') or ''}{', secret' if is_secret(x) else ''}"
        line = f"- **{md_text(x['code'])}** ({md_text(kind)}) line {x['line']}: {md_text(x['message'])}"
        fix = x.get("fix")
        if fix:
            line += f" — fix: {md_text(fix['title'])} ({md_text(fix['applicability'])}{', applied' if fix.get('applied') else ''})"
        out += [line, ""]
    if len(shown) < len(findings):
        out += [f"- … {_plural(len(findings) - len(shown), 'more finding')} in this file (see the full report)", ""]
    if compact:
        return "\n".join(out) + "\n"
    diff = f.get("diff")  # not in schema_version 1 yet: rendered when a dfix provides it
    if isinstance(diff, str) and diff:
        fence = fence_for(diff)
        out += [
            f"<details><summary>Diff for <code>{md_text(f['path'])}</code></summary>",
            "",
            f"{fence}diff",
            diff.rstrip("\n"),
            fence,
            "",
            "</details>",
            "",
        ]
    build = f.get("build") or {}
    if build.get("secrets") or build.get("ssh"):
        cmd = (build.get("emitted") or {}).get("docker") or build.get("command")
        if cmd:
            fence = fence_for(cmd)
            out += ["Build it with:", "", f"{fence}sh", cmd.rstrip("\n"), fence, ""]
    return "\n".join(out) + "\n"


def how_to_fix(files: list[dict]) -> str:
    paths = [f["path"] for f in files if f.get("kind", "dockerfile") == "dockerfile" and f.get("findings")]
    if not paths:
        return ""
    if len(paths) > 10 or not all(p.isprintable() and not p.startswith("-") for p in paths):
        args = "."
    else:
        args = " ".join(shlex.quote(p) for p in paths)
    return (
        f"---\n\nPreview the fix with {md_code('dfix --diff ' + args)} and apply it with "
        f"{md_code('dfix --write ' + args)} (safe fixes; `--unsafe-fixes` for the rest). "
        "Rotate every secret that was already used in a pushed image: removing it from the Dockerfile "
        "does not remove it from existing images or build caches.\n"
    )


def render(doc: dict, mode: str, limit: int | None = None, marker: str = "", where: str = "") -> tuple[str, int, int]:
    """The markdown report, ``marker`` line first. With ``limit`` (UTF-8 bytes), whole files are
    left out from the end (a file whose full section does not fit may appear compact: its first
    findings, no diff or build command) so that the result fits; ``where`` tells where the full
    report is. Returns (text, files shown, files left out)."""
    files = reported_files(doc)
    head = (marker + "\n" if marker else "") + header(doc, mode)
    thead, rows = table(files)
    sections = [section(f) for f in files]
    foot = how_to_fix(files)
    if not files:
        return head + foot, 0, 0
    full = head + thead + "".join(rows) + "\n" + "".join(sections) + foot
    if limit is None or nbytes(full) <= limit:
        return full, len(files), 0

    def note(left: list[dict]) -> str:
        n = sum(len(f.get("findings") or []) for f in left)
        s = sum(1 for f in left for x in f.get("findings") or [] if is_secret(x))
        return (
            f"> **{_plural(len(left), 'more file')} not shown** ({_plural(n, 'finding')}, {s} about a secret): "
            f"this report is capped at {limit:,} bytes. {where}\n\n"
        )

    # worst-case note size (all files left out) so that any k fits with its own note
    fixed = nbytes(head) + nbytes(thead) + 1 + nbytes(foot) + nbytes(note(files)) + 16
    used, parts_rows, parts_secs = fixed, [], []
    for i, f in enumerate(files):
        row = nbytes(rows[i])
        for sec in (sections[i], section(f, compact=True)):
            if used + row + nbytes(sec) <= limit:
                used += row + nbytes(sec)
                parts_rows.append(rows[i])
                parts_secs.append(sec)
                break
        else:
            break
    k = len(parts_rows)
    left = files[k:]
    body = head + ((thead + "".join(parts_rows) + "\n") if k else "") + "".join(parts_secs) + note(left) + foot
    if nbytes(body) > limit:  # only when even the header does not fit: a tiny limit
        body = head.encode("utf-8")[: max(0, limit - 4)].decode("utf-8", "ignore") + "\n…\n"
    return body, k, len(left)


def marker_for(category: str) -> str:
    cat = re.sub(r"[^A-Za-z0-9._/-]", "-", category or "dfix")
    return MARKER if cat == "dfix" else f"<!-- dfix-report:{cat} -->"

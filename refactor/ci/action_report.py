"""Render everything the GitHub Action publishes from ONE ``dfix --format json`` report.

Run by the action (``python "$GITHUB_ACTION_PATH/refactor/ci/action_report.py" …``) right after its
single dfix run. Standard library only, and nothing imported from dfix: it works with whichever dfix
the action installed, as long as it writes schema_version 1.

From the report it writes, into ``--out-dir``:

- ``dfix.sarif``: SARIF 2.1.0 for code scanning (findings with regions; rule metadata from the
  findings themselves);
- ``dfix-report.md``: the full markdown report (files with findings or errors only);
- ``dfix-comment.md``: the PR comment body: a hidden marker line first (the comment upsert finds its
  comment by it), then the report cut at a file boundary so that it stays under
  ``--comment-limit`` UTF-8 bytes (GitHub's cap is 65,536 characters; a byte count is never
  smaller, and the default leaves room for the links the upsert script appends);

and it prints workflow annotations (``::error file=…``) on stdout, appends the report to the job
summary (``--step-summary``, cut under ``--summary-limit`` bytes: GitHub refuses a step summary over
1 MiB) and writes the step outputs (``--github-output``). The pass/fail decision is the action's last
step; this script exits 2 only when the report cannot be read.

A report never holds a secret value (dfix's findings describe values, never contain them), and no
output here adds one. Paths and messages are escaped for each target: workflow-command escaping for
annotations, HTML/markdown escaping (and no live @-mentions) for the markdown.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shlex
import sys
from urllib.parse import quote

COMMENT_LIMIT = 65_536 - 2_048  # GitHub's comment cap minus room for the upsert script's footer
SUMMARY_LIMIT = 1_000_000  # GitHub's step-summary cap is 1 MiB (1,048,576 bytes)
MARKER = "<!-- dfix-report -->"
SARIF_SCHEMA = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
MAX_FINDINGS_COMPACT = 20  # findings listed for a file when its full section does not fit


class ReportError(Exception):
    pass


# ------------------------------------------------------------------------------------------ input


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


# ------------------------------------------------------------------------------------- escaping


def printable(s: str) -> str:
    """Control characters escaped (a newline in a file name must not start a line)."""
    s = str(s)
    return s if s.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def md_text(s: str) -> str:
    """Inline markdown text: HTML escaped, no @-mention (a zero-width space after @)."""
    return html.escape(printable(s), quote=False).replace("@", "@\u200b")


def md_code(s: str, cell: bool = False) -> str:
    """An inline code span that holds ``s`` verbatim (fence longer than any backtick run)."""
    s = printable(s)
    fence = "`" * (max((len(m) for m in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s.startswith(("`", " ")) or s.endswith(("`", " ")) else ""
    out = f"{fence}{pad}{s}{pad}{fence}"
    return out.replace("|", "\\|") if cell else out  # GFM tables split cells at | even in code


def fence_for(text: str) -> str:
    return "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)


def gh_escape(s: str, prop: bool = False) -> str:
    """Workflow-command escaping (as ``dfix --format github``)."""
    s = str(s).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s


def nbytes(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))


# ------------------------------------------------------------------------------------ annotations


def annotation_lines(doc: dict) -> str:
    out = []
    for f in doc["files"]:
        path = gh_escape(f["path"], True)
        if f.get("status") == "error":
            out.append(f"::error file={path},title=dfix::{gh_escape(f.get('error') or 'error')}")
        for x in f.get("findings") or []:
            level = {"error": "error", "warning": "warning"}.get(x.get("severity"), "notice")
            props = (
                f"file={path},line={x['line']},col={x['column']},endLine={x['end_line']},"
                f"endColumn={x['end_column']},title={gh_escape('dfix (' + x['code'] + ')', True)}"
            )
            out.append(f"::{level} {props}::{gh_escape(x['message'])}")
    return "".join(ln + "\n" for ln in out)


# ------------------------------------------------------------------------------------------ SARIF


def _uri(path: str) -> str:
    return quote(path.replace(os.sep, "/"), safe="/:@!$&'()*+,;=-._~")


def _level(severity: str | None) -> str:
    return {"error": "error", "warning": "warning"}.get(severity or "", "note")


def sarif(doc: dict, version: str | None = None) -> str:
    rules: dict[str, dict] = {}
    results = []

    def rule(code: str, name: str, severity: str | None, secret: bool) -> int:
        if code not in rules:
            rules[code] = {
                "id": code,
                "name": name,
                "shortDescription": {"text": name.replace("-", " ").capitalize()},
                "help": {
                    "text": f"Run `dfix --explain {code}` for this rule's documentation.",
                    "markdown": f"Run `dfix --explain {code}` for this rule's documentation.",
                },
                "defaultConfiguration": {"level": _level(severity)},
                "properties": {"secret": bool(secret)},
            }
        return list(rules).index(code)

    for f in doc["files"]:
        loc = {"artifactLocation": {"uri": _uri(f["path"])}}
        for x in f.get("findings") or []:
            results.append(
                {
                    "ruleId": x["code"],
                    "ruleIndex": rule(x["code"], x.get("name") or x["code"], x.get("severity"), bool(x.get("secret"))),
                    "level": _level(x.get("severity")),
                    "message": {"text": x["message"]},
                    "locations": [
                        {
                            "physicalLocation": dict(
                                loc,
                                region={
                                    "startLine": x["line"],
                                    "startColumn": x["column"],
                                    "endLine": x["end_line"],
                                    "endColumn": x["end_column"],
                                },
                            )
                        }
                    ],
                }
            )
        if f.get("status") == "error":
            results.append(
                {
                    "ruleId": "DF900",
                    "ruleIndex": rule("DF900", "unprocessable-file", "error", False),
                    "level": "error",
                    "message": {"text": f.get("error") or "error"},
                    "locations": [{"physicalLocation": loc}],
                }
            )
    driver: dict = {"name": "dfix", "rules": list(rules.values())}
    if version:
        driver["version"] = version
    return (
        json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{"tool": {"driver": driver}, "results": results}]}, indent=2)
        + "\n"
    )


# --------------------------------------------------------------------------------------- markdown


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


# ------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--report", required=True, help="dfix --format json output")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--mode", default="report", choices=("report", "check", "diff", "write"))
    ap.add_argument("--category", default="dfix")
    ap.add_argument("--artifact", default="", help="name of the workflow artifact holding the full report")
    ap.add_argument("--dfix-version", default="")
    ap.add_argument("--comment-limit", type=int, default=COMMENT_LIMIT)
    ap.add_argument("--summary-limit", type=int, default=SUMMARY_LIMIT)
    ap.add_argument("--github-output", default="")
    ap.add_argument("--step-summary", default="")
    ap.add_argument("--no-annotations", action="store_true")
    a = ap.parse_args(argv)

    outputs: dict[str, str] = {}

    def flush_outputs() -> None:
        if a.github_output:
            with open(a.github_output, "a", encoding="utf-8") as fh:
                fh.writelines(f"{k}={v}\n" for k, v in outputs.items())

    try:
        doc = load_report(a.report)
    except ReportError as exc:
        print(f"::error title=dfix::{gh_escape(str(exc))}")
        outputs.update({"report-valid": "false", "errors": "1"})
        flush_outputs()
        return 2

    os.makedirs(a.out_dir, exist_ok=True)
    t = tally(doc)
    version = (a.dfix_version.split() or [""])[-1]
    sarif_path = os.path.join(a.out_dir, "dfix.sarif")
    md_path = os.path.join(a.out_dir, "dfix-report.md")
    comment_path = os.path.join(a.out_dir, "dfix-comment.md")
    if not os.path.exists(sarif_path):  # dfix writes its own (--report sarif=…) when it ran
        with open(sarif_path, "w", encoding="utf-8") as fh:
            fh.write(sarif(doc, version or None))
    full, _, _ = render(doc, a.mode)
    with open(md_path, "w", encoding="utf-8") as fh:
        fh.write(full)
    art = f" (`{md_text(a.artifact)}`: dfix-report.md, dfix.json, dfix.sarif)" if a.artifact else ""
    comment, shown, left = render(
        doc,
        a.mode,
        a.comment_limit,
        marker_for(a.category),
        f"The full report is in this run's job summary and its workflow artifact{art}.",
    )
    with open(comment_path, "w", encoding="utf-8") as fh:
        fh.write(comment)
    if a.step_summary:
        summary, _, _ = render(
            doc,
            a.mode,
            a.summary_limit,
            "",
            f"The full report is in this run's workflow artifact{art}." if a.artifact else "Run dfix locally for the full report.",
        )
        with open(a.step_summary, "a", encoding="utf-8") as fh:
            fh.write(summary + "\n")
    if not a.no_annotations:
        sys.stdout.write(annotation_lines(doc))
    outputs.update(
        {
            "report-valid": "true",
            "files-scanned": str(t["files"]),
            "findings": str(t["findings"]),
            "secret-findings": str(t["secret_findings"]),
            "files-with-findings": str(t["files_with_findings"]),
            "errors": str(t["errors"]),
            "changed": str(t["changed"]),
            "has-report": "true" if t["findings"] or t["errors"] else "false",
            "comment-truncated": "true" if left else "false",
            "comment-files": str(shown),
            "marker": marker_for(a.category),
            "sarif-file": sarif_path,
            "markdown-file": md_path,
            "comment-file": comment_path,
        }
    )
    flush_outputs()
    print(
        f"dfix: {_plural(t['findings'], 'finding')} ({t['secret_findings']} about a secret) in "
        f"{_plural(t['files_with_findings'], 'file')} of {t['files']}; {_plural(t['errors'], 'error')}"
        + (f"; the PR comment shows {shown} of {shown + left} file(s)" if left else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

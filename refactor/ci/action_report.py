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

Its parts sit next to it: ``action_report_input.py`` (reading the report),
``action_report_escape.py`` (escaping), ``action_report_sarif.py`` (SARIF) and
``action_report_markdown.py`` (the markdown report, comment and summary). Run by path, it puts its
own directory first on ``sys.path`` and imports them as top-level modules (never the installed
dfix's copies); imported as ``refactor.ci.action_report``, it imports them from the package.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING or __package__:
    from refactor.ci.action_report_escape import gh_escape, md_text
    from refactor.ci.action_report_input import ReportError, load_report, tally
    from refactor.ci.action_report_markdown import _plural, marker_for, render
    from refactor.ci.action_report_sarif import sarif
else:  # run by path: the parts are the files next to this one, whichever dfix is installed
    _HERE = os.path.dirname(os.path.abspath(__file__))
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    from action_report_escape import gh_escape, md_text
    from action_report_input import ReportError, load_report, tally
    from action_report_markdown import _plural, marker_for, render
    from action_report_sarif import sarif


COMMENT_LIMIT = 65_536 - 2_048  # GitHub's comment cap minus room for the upsert script's footer


SUMMARY_LIMIT = 1_000_000  # GitHub's step-summary cap is 1 MiB (1,048,576 bytes)


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

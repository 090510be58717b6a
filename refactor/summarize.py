"""``dfix summarize``: merge many ``dfix --format json`` reports into one campaign table.

Input: files (or ``-`` for stdin), each holding one or more dfix JSON reports, possibly
concatenated and interleaved with text, as ``multi-gitter print`` produces them. Each report
belongs to a *repo*, taken from (first match wins):

1. a label just before the report: the last non-blank text line before it, e.g. ``org/repo:``
   printed by a wrapper script (``printf '%s:\\n' "$REPOSITORY"``), or ``org/repo: {…}`` on one
   line; surrounding whitespace, ``#``, ``=``, ``*``, ``[``, ``]``, ``-`` and a trailing ``:``
   are trimmed;
2. a multi-gitter log line before it (``… msg="…" repo=org/repo`` in text logs, or a JSON log
   object with a ``"repo"`` key, when ``--log-file -`` sends logs to the same stream);
3. otherwise the input's file name without its extension (when it holds one report), or
   ``<name>#<n>`` (the n-th report of that input; ``stdin`` for ``-``).

Lines dfix itself writes to stderr (``dfix: …``) are ignored, so ``2>&1`` output works. Reports
with the same repo name are added up. Output: a text table (default), ``--format json`` or
``--format markdown``, with per repo: reports, files, findings by rule, findings, files changed,
secrets migrated (fixes applied by ``--write``), secrets fixable (safe fixes not applied yet),
errors; and totals. Secret values never appear in a dfix report, so none can appear here.

Exit status: 0, or 2 when an input could not be read or held no report / a malformed report (the
other inputs are still summarized).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import field

import click

from refactor.codecache import regex
from refactor.records import dataclass

SUPPORTED_SCHEMA = 1
_LOGRUS_REPO = regex(r'(?:^|\s)repo=(?:"((?:[^"\\]|\\.)*)"|(\S+))')
_LOGRUS_LINE = regex(r'^(?:time="[^"]*"\s+)?level=\w+\b')
_TRIM = " \t#=*[]-"


class InputError(Exception):
    pass


@dataclass
class Report:
    repo: str
    doc: dict
    source: str


@dataclass
class RepoStats:
    repo: str
    reports: int = 0
    files: int = 0
    findings: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    changed: int = 0
    migrated: int = 0
    fixable: int = 0
    errors: int = 0
    error_files: list[str] = field(default_factory=list)

    def add(self, doc: dict) -> None:
        self.reports += 1
        files = doc.get("files", [])
        summary = doc.get("summary") or {}
        self.files += int(summary.get("files", len(files)))
        self.changed += int(summary.get("changed", sum(1 for f in files if f.get("changed"))))
        self.errors += int(summary.get("errors", sum(1 for f in files if f.get("status") == "error")))
        for f in files:
            if f.get("status") == "error":
                self.error_files.append(f.get("path", "?"))
            migrated: set[str] = set()
            fixable: set[str] = set()
            for x in f.get("findings", []):
                code = x.get("code", "?")
                self.by_rule[code] = self.by_rule.get(code, 0) + 1
                self.findings += 1
                fix = x.get("fix")
                if code != "DF001" or not fix:
                    continue
                var = x.get("variable") or f"line {x.get('line')}"
                if fix.get("applied"):
                    migrated.add(var)
                elif fix.get("applicability") == "safe":
                    fixable.add(var)
            self.migrated += len(migrated)
            self.fixable += len(fixable - migrated)

    def merge(self, other: RepoStats) -> None:
        for k in ("reports", "files", "findings", "changed", "migrated", "fixable", "errors"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        for code, n in other.by_rule.items():
            self.by_rule[code] = self.by_rule.get(code, 0) + n
        self.error_files.extend(other.error_files)

    def to_json(self, codes: list[str]) -> dict:
        return {
            "repo": self.repo,
            "reports": self.reports,
            "files": self.files,
            "findings": self.findings,
            "findings_by_rule": {c: self.by_rule.get(c, 0) for c in codes},
            "changed": self.changed,
            "secrets_migrated": self.migrated,
            "secrets_fixable": self.fixable,
            "errors": self.errors,
            "error_files": list(self.error_files),
        }


def _label(text: str) -> str | None:
    """The repo name announced by the text between two reports (None if there is none)."""
    label = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("dfix:") or line.startswith("dfix "):
            continue
        if raw[:1].isspace() or line[0] in '{}[]"' or line.endswith((",", "{", "[")):
            continue  # debris of a truncated JSON document, not a label
        m = _LOGRUS_REPO.search(line)
        if m:
            label = m.group(1) if m.group(1) is not None else m.group(2)
            continue
        if _LOGRUS_LINE.match(line):
            continue  # a multi-gitter log line without a repo
        cleaned = line.strip(_TRIM)
        if cleaned.endswith(":"):
            cleaned = cleaned[:-1].strip(_TRIM)
        if cleaned:
            label = cleaned
    return label


def _is_report(obj) -> bool:
    return isinstance(obj, dict) and "schema_version" in obj and "files" in obj


_LABEL_PREFIX = regex(r"^\S.*:\s*$")


def _candidates(text: str):
    """Offsets where a top-level JSON document may start: the first '{' of a line when nothing but a
    label ('org/repo: ') precedes it on that line. dfix indents nested objects, so they never qualify."""
    pos = 0
    for line in text.splitlines(keepends=True):
        k = line.find("{")
        if k >= 0 and (k == 0 or _LABEL_PREFIX.match(line[:k])):
            yield pos + k, pos + len(line)
        pos += len(line)


def parse_stream(text: str, source: str) -> tuple[list[Report], list[str]]:
    """Split one input into reports. Returns (reports, problems)."""
    dec = json.JSONDecoder()
    reports: list[tuple[str | None, dict]] = []
    problems: list[str] = []
    pending_label: str | None = None
    i = 0  # end of the last consumed document
    for j, line_end in _candidates(text):
        if j < i:
            continue  # inside a document already consumed
        text_label = _label(text[i:j])
        if text_label:
            pending_label = text_label  # text after a log line is more recent than it
        try:
            obj, end = dec.raw_decode(text, j)
        except json.JSONDecodeError as exc:
            line_no = text.count("\n", 0, j) + 1
            problems.append(f"{source}:{line_no}: invalid or truncated JSON ({exc.msg}); is the output interleaved (multi-gitter -C > 1)?")
            i, pending_label = line_end, None
            continue
        i = end
        if _is_report(obj):
            label, pending_label = pending_label, None
            version = obj.get("schema_version")
            if version != SUPPORTED_SCHEMA:
                problems.append(f"{source}: report #{len(reports) + 1} has schema_version {version!r} (supported: {SUPPORTED_SCHEMA})")
            elif not isinstance(obj.get("files"), list):
                problems.append(f"{source}: report #{len(reports) + 1} is malformed ('files' is not a list)")
            else:
                reports.append((label, obj))
        elif isinstance(obj, dict) and isinstance(obj.get("repo"), str):
            pending_label = obj["repo"]  # a multi-gitter JSON log line (--log-format json --log-file -)
    if not reports and not problems:
        problems.append(f"{source}: no dfix JSON report found")
    base = "stdin" if source == "-" else os.path.splitext(os.path.basename(source))[0] or source
    out = []
    for k, (label, doc) in enumerate(reports, 1):
        name = label or (base if len(reports) == 1 else f"{base}#{k}")
        out.append(Report(name, doc, source))
    return out, problems


def summarize(reports: list[Report]) -> tuple[list[RepoStats], RepoStats, list[str]]:
    """(per-repo rows in first-seen order, totals, rule codes for the columns)."""
    rows: dict[str, RepoStats] = {}
    for r in reports:
        one = RepoStats(r.repo)
        one.add(r.doc)
        if r.repo in rows:
            rows[r.repo].merge(one)
        else:
            rows[r.repo] = one
    total = RepoStats("TOTAL")
    for row in rows.values():
        total.merge(row)
    codes = _rule_codes(total.by_rule)
    return list(rows.values()), total, codes


def _rule_codes(seen: dict[str, int]) -> list[str]:
    try:
        from refactor.rules import RULES

        known = [r.code for r in RULES]
    except Exception:  # noqa: BLE001 - summarize works on reports alone
        known = []
    return known + sorted(c for c in seen if c not in known)


def _cells(row: RepoStats, codes: list[str]) -> list[str]:
    return [
        row.repo,
        str(row.reports),
        str(row.files),
        *(str(row.by_rule.get(c, 0)) for c in codes),
        str(row.findings),
        str(row.changed),
        str(row.migrated),
        str(row.fixable),
        str(row.errors),
    ]


def _header(codes: list[str]) -> list[str]:
    return ["repo", "reports", "files", *codes, "findings", "changed", "migrated", "fixable", "errors"]


def render_text(rows: list[RepoStats], total: RepoStats, codes: list[str]) -> str:
    table = [_header(codes)] + [_cells(r, codes) for r in rows] + [_cells(total, codes)]
    widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.ljust(widths[0]) if k == 0 else c.rjust(widths[k]) for k, c in enumerate(cells)).rstrip()

    lines = [fmt(table[0]), fmt(["-" * w for w in widths])]
    lines += [fmt(t) for t in table[1:-1]]
    lines += [fmt(["-" * w for w in widths]), fmt(table[-1])]
    lines.append("")
    lines.append(
        f"{len(rows)} repo(s), {total.files} file(s): {total.findings} finding(s), {total.changed} file(s) changed, "
        f"{total.migrated} secret(s) migrated, {total.fixable} more fixable with `dfix --write`, {total.errors} error(s)."
    )
    errs = [(r.repo, p) for r in rows for p in r.error_files]
    if errs:
        lines.append("")
        lines.append("Files with errors:")
        lines += [f"  {repo}: {p}" for repo, p in errs]
    return "\n".join(lines) + "\n"


def _md_cell(s: str) -> str:
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def render_markdown(rows: list[RepoStats], total: RepoStats, codes: list[str]) -> str:
    head = _header(codes)
    out = ["## dfix campaign summary", "", "| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for r in rows:
        cells = _cells(r, codes)
        out.append("| " + " | ".join([f"`{_md_cell(cells[0])}`"] + cells[1:]) + " |")
    cells = _cells(total, codes)
    out.append("| " + " | ".join(["**total**"] + [f"**{c}**" for c in cells[1:]]) + " |")
    out.append("")
    out.append(f"{len(rows)} repo(s); *migrated*: secrets moved to secret mounts by `dfix --write`; *fixable*: safe fixes not applied yet.")
    errs = [(r.repo, p) for r in rows for p in r.error_files]
    if errs:
        out += ["", "<details><summary>Files with errors</summary>", ""]
        out += [f"- `{_md_cell(repo)}`: `{_md_cell(p)}`" for repo, p in errs]
        out += ["", "</details>"]
    return "\n".join(out) + "\n"


def render_json(rows: list[RepoStats], total: RepoStats, codes: list[str], problems: list[str]) -> str:
    t = total.to_json(codes)
    t.pop("repo")
    doc = {"schema_version": 1, "rules": codes, "repos": [r.to_json(codes) for r in rows], "totals": t, "input_errors": problems}
    return json.dumps(doc, indent=2) + "\n"


def _read(source: str) -> str:
    if source == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    else:
        try:
            with open(source, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise InputError(f"{source}: cannot read: {exc.strerror}") from None
    return data.decode("utf-8", errors="replace")


@click.command(
    "summarize",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="\b\nExamples:\n  multi-gitter print ./dfix-json.sh -O my-org > campaign.txt\n"
    "  dfix summarize campaign.txt\n  dfix summarize --format markdown reports/*.json",
)
@click.argument("inputs", nargs=-1, type=str)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True, help="Output format.")
def summarize_cmd(inputs: tuple[str, ...], fmt: str) -> None:
    """Merge dfix JSON reports (FILES, '-' for stdin) into one campaign table, one row per repo.

    A report's repo is the label printed before it ('org/repo:'), a multi-gitter log line
    (repo=org/repo), or else the file's name. See docs/integrations.md.
    """
    reports: list[Report] = []
    problems: list[str] = []
    for src in inputs or ("-",):
        try:
            got, probs = parse_stream(_read(src), src)
        except InputError as exc:
            problems.append(str(exc))
            continue
        reports.extend(got)
        problems.extend(probs)
    rows, total, codes = summarize(reports)
    if fmt == "json":
        click.echo(render_json(rows, total, codes, problems), nl=False)
    elif fmt == "markdown":
        click.echo(render_markdown(rows, total, codes), nl=False)
    else:
        click.echo(render_text(rows, total, codes), nl=False)
    for p in problems:
        click.echo(f"dfix summarize: error: {p}", err=True)
    sys.exit(2 if problems else 0)


def main(argv: list[str] | None = None) -> int:
    try:
        summarize_cmd.main(args=argv, prog_name="dfix summarize", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 2
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

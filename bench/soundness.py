#!/usr/bin/env python3
"""Soundness: how dfix labels its fixes (safe / unsafe / display-only) over the shared corpora.

Runs ``python -m refactor --format json --diff -q -j N FILES…`` once per corpus (``secrets`` and
``real`` under ``$DFIX_CORPUS`` or ``../shared/corpus``; every file except SOURCES.tsv and
LABELS.tsv is passed explicitly), from an empty directory with this checkout first on
``PYTHONPATH``. ``--diff`` writes nothing; the files are hashed before and after anyway.

Each distinct fix is counted once per file: several findings share one fix, so fixes are deduped
by ``(file, fix title)``. A fix with a reason starting with ``rewrite check:`` counts as *refused
by the check*, whatever its applicability; the other fixes count under their applicability, so the
four columns add up to the number of distinct fixes. Reasons are normalized (line numbers,
variable names, paths, stage names and quoted text become N, VAR, PATH, STAGE, …) so that
identical reasons group, then counted per fix.

This is a report, not a test: it exits 0 unless dfix could not run (1) or the input is bad (2).
Nothing prints ARG/ENV values: the output holds counts, paths, fix titles (variable names only)
and normalized reasons; error messages are redacted.

    python bench/soundness.py [--corpus secrets|real|all] [--json] [--top 15] [--list safe,unsafe] [-j 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CORPORA = ("secrets", "real")
APPLICABILITY = ("safe", "unsafe", "display-only")
CHECK_PREFIX = "rewrite check:"
SKIP_NAMES = {"SOURCES.tsv", "LABELS.tsv"}
NO_REASON = "(no reason given)"

_QUOTED_RE = re.compile(r'"[^"\n]*"|\'[^\'\n]*\'')
_TOKENISH_RE = re.compile(r"[A-Za-z0-9_+/=.\-]{20,}")


def corpus_base() -> Path:
    env = os.environ.get("DFIX_CORPUS")
    return Path(env) if env else ROOT.parent / "shared" / "corpus"


def corpus_files(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.is_file() and p.name not in SKIP_NAMES)


# --------------------------------------------------------------------------------------------
# Redaction and normalization


def _maybe_token(m: re.Match) -> str:
    """Long runs with letters *and* digits look like credentials; paths and dotted names do not."""
    s = m.group(0)
    if "/" in s or not (any(c.isdigit() for c in s) and any(c.isalpha() for c in s)):
        return s
    return "[redacted]"


def redact(msg: str, limit: int = 200) -> str:
    """Make a message from dfix safe to print: quoted source text and token-shaped runs go."""
    msg = " ".join(str(msg).split())
    msg = _QUOTED_RE.sub(lambda m: m.group(0)[0] + "…" + m.group(0)[0], msg)
    msg = _TOKENISH_RE.sub(_maybe_token, msg)
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"


_NORMALIZERS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"`[^`\n]*\$[^`\n]*`"), "`…`"),  # inline code that expands a variable
    (re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*"), "$VAR"),
    (re.compile(r"(?<![\w/.])(?:\.{1,2})?/[^\s:,;()`]*[^\s:,;()`.]"), "PATH"),  # /abs, ./rel, ../rel
    (re.compile(r"\b(stage|target) (?!STAGE)[^\s:,;()]+"), r"\1 STAGE"),
    (re.compile(r"\blines? \d+(?:\s*(?:-|–|,|and)\s*\d+)*"), "line N"),
    (re.compile(r"\b\d+\b"), "N"),
]
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VARNAME_RE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b[A-Z]{2,}[0-9]*\b(?= (?:is|was|are|has)\b)")


def normalize_reason(reason: str, names: set[str]) -> str:
    """Group identical reasons: strip line numbers, variable names, paths, stages and quoted text."""
    s = " ".join(str(reason).split())
    s = _QUOTED_RE.sub(lambda m: m.group(0)[0] + "…" + m.group(0)[0], s)
    for name in sorted(names, key=len, reverse=True):  # the file's variables, as dfix named them
        if _IDENT_RE.fullmatch(name):
            s = re.sub(rf"(?<![\w$]){re.escape(name)}(?!\w)", "VAR", s)
    s = _VARNAME_RE.sub("VAR", s)
    for rx, rep in _NORMALIZERS:
        s = rx.sub(rep, s)
    return redact(s, 160)


def normalize_title(title: str, names: set[str]) -> str:
    s = " ".join(str(title).split())
    for name in sorted(names, key=len, reverse=True):
        if _IDENT_RE.fullmatch(name):
            s = re.sub(rf"(?<![\w$]){re.escape(name)}(?!\w)", "VAR", s)
            s = re.sub(rf"\bid={re.escape(name.lower())}\b", "id=var", s)
    s = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "$VAR", s)
    return redact(s, 160)


# --------------------------------------------------------------------------------------------
# Running dfix


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_dfix(files: list[str], jobs: int, dfix_cmd: list[str]) -> tuple[dict | None, str | None, float, int]:
    """(JSON document, error, wall seconds, exit code) of one dfix --diff run over ``files``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env["DFIX_NO_CACHE"] = "1"  # the time shown is analysis time; nothing goes to the user's cache
    cmd = [*dfix_cmd, "--format", "json", "--diff", "-q", "-j", str(jobs), *files]
    before = {p: _sha256(p) for p in files}
    with tempfile.TemporaryDirectory(prefix="dfix-bench-sound-") as tmp:  # no project config applies
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"cannot run {shlex.join(dfix_cmd)}: {redact(str(exc))}", 0.0, -1
        wall = time.perf_counter() - t0
    touched = [p for p in files if _sha256(p) != before[p]]
    if touched:
        return None, f"dfix MODIFIED {len(touched)} corpus file(s) (e.g. {touched[0]}); restore the corpus", wall, proc.returncode
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = " | ".join(proc.stderr.strip().splitlines()[-2:])
        return None, f"dfix printed no JSON (exit {proc.returncode}): {redact(tail, 300)}", wall, proc.returncode
    if not isinstance(doc, dict) or doc.get("schema_version") != 1 or not isinstance(doc.get("files"), list):
        return None, "dfix JSON does not follow the contract (schema_version 1, files[])", wall, proc.returncode
    return doc, None, wall, proc.returncode


# --------------------------------------------------------------------------------------------
# Counting


def _empty() -> dict:
    return {
        "files": 0, "files_with_findings": 0, "files_with_fix": 0, "files_changed": 0,
        "parse_errors": 0, "other_errors": 0, "findings": 0,
        "fixes": 0, "safe": 0, "unsafe": 0, "display-only": 0, "refused_by_check": 0,
        "refused_by_applicability": {}, "caller_entries": 0, "caller_fixes": 0,
        "reasons": {}, "check_reasons": {}, "titles": {},
        "safe_in_unchanged_files": 0, "changed_without_safe_fix": 0,
    }


def tally(doc: dict, root: Path) -> tuple[dict, list[dict], dict[str, str]]:
    """(counts, one row per distinct fix, {file: redacted error}) for one corpus run."""
    c = _empty()
    reasons: Counter = Counter()  # (label, normalized reason) -> fixes
    check_reasons: Counter = Counter()
    titles: Counter = Counter()  # (label, normalized title) -> fixes
    refused_app: Counter = Counter()
    fixes: list[dict] = []
    errors: dict[str, str] = {}
    for entry in doc["files"]:
        path = str(entry.get("path"))
        try:
            rel = str(Path(path).resolve().relative_to(root.resolve()))
        except ValueError:
            rel = path
        findings = entry.get("findings") or []
        is_caller = entry.get("kind") not in (None, "dockerfile")
        if is_caller:
            c["caller_entries"] += 1
        else:
            c["files"] += 1
            c["findings"] += len(findings)
            c["files_with_findings"] += bool(findings)
            c["files_changed"] += bool(entry.get("changed"))
            if entry.get("status") != "ok":
                err = str(entry.get("error") or entry.get("status"))
                c["parse_errors" if err.startswith("parse error") else "other_errors"] += 1
                errors[rel] = redact(err, 120)
        names = {f["variable"] for f in findings if isinstance(f.get("variable"), str)}
        seen: dict[str, dict] = {}
        for f in findings:
            fx = f.get("fix")
            if not isinstance(fx, dict) or fx.get("title") in seen:
                continue
            seen[fx["title"]] = fx
        if is_caller:
            c["caller_fixes"] += len(seen)
            continue
        c["files_with_fix"] += bool(seen)
        has_safe = False
        for title, fx in seen.items():
            rs = [str(r) for r in fx.get("reasons") or []]
            refused = any(r.startswith(CHECK_PREFIX) for r in rs)
            app = str(fx.get("applicability"))
            label = "refused by check" if refused else app
            c["fixes"] += 1
            if refused:
                c["refused_by_check"] += 1
                refused_app[app] += 1
            elif app in APPLICABILITY:
                c[app] += 1
            else:
                c.setdefault(f"other:{app}", 0)
                c[f"other:{app}"] += 1
            has_safe |= label == "safe"
            if label == "safe" and not entry.get("changed"):
                c["safe_in_unchanged_files"] += 1
            norm = []
            for r in rs:
                if r.startswith(CHECK_PREFIX):
                    n = CHECK_PREFIX + " " + normalize_reason(r[len(CHECK_PREFIX):], names)
                    check_reasons[n] += 1
                else:
                    n = normalize_reason(r, names)
                reasons[(label, n)] += 1
                norm.append(n)
            if not rs and label != "safe":
                reasons[(label, NO_REASON)] += 1
            ntitle = normalize_title(title, names)
            titles[(label, ntitle)] += 1
            fixes.append({"file": rel, "title": redact(title, 160), "title_normalized": ntitle,
                          "applicability": app, "label": label, "applied": bool(fx.get("applied")),
                          "reasons": norm, "file_changed": bool(entry.get("changed"))})
        if entry.get("changed") and not has_safe and not is_caller:
            c["changed_without_safe_fix"] += 1
    c["reasons"] = _ranked(reasons)
    c["check_reasons"] = dict(check_reasons.most_common())
    c["titles"] = _ranked(titles)
    c["refused_by_applicability"] = dict(refused_app)
    return c, fixes, errors


def _ranked(counter: Counter) -> list[dict]:
    return [{"label": k[0], "text": k[1], "fixes": v}
            for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


def merge(parts: list[dict]) -> dict:
    total = _empty()
    reasons: Counter = Counter()
    titles: Counter = Counter()
    check: Counter = Counter()
    refused: Counter = Counter()
    for p in parts:
        for k, v in p.items():
            if isinstance(v, int):
                total[k] = total.get(k, 0) + v
        reasons.update({(r["label"], r["text"]): r["fixes"] for r in p["reasons"]})
        titles.update({(r["label"], r["text"]): r["fixes"] for r in p["titles"]})
        check.update(p["check_reasons"])
        refused.update(p["refused_by_applicability"])
    total["reasons"], total["titles"] = _ranked(reasons), _ranked(titles)
    total["check_reasons"], total["refused_by_applicability"] = dict(check.most_common()), dict(refused)
    return total


# --------------------------------------------------------------------------------------------
# Output


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("<", "&lt;")


def print_report(report: dict, top: int, listing: set[str]) -> None:
    w = print
    runs = report["corpora"]
    names = list(runs) + (["total"] if len(runs) > 1 else [])
    rows = {n: (runs[n]["counts"] if n in runs else report["total"]) for n in names}
    w(f"# dfix fix applicability ({report['meta']['dfix_cmd']}; -j {report['meta']['jobs']}; "
      f"corpus base {report['meta']['corpus_base']})")
    w("")
    w("| corpus | files | files with a fix | safe | unsafe | display-only | refused by check |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for n in names:
        c = rows[n]
        label = f"**{n}**" if n == "total" else n
        w(f"| {label} | {c['files']} | {c['files_with_fix']} | {c['safe']} | {c['unsafe']} | {c['display-only']} | "
          f"{c['refused_by_check']} |")
    w("")
    w("Fixes are distinct per file (deduped by file and title); the four fix columns add up to all distinct fixes. "
      "*display-only* excludes fixes refused by the rewrite check.")
    w("")
    w("| corpus | files scanned | with findings | findings | would change | parse errors | other errors | distinct fixes | dfix time |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in names:
        c = rows[n]
        secs = f"{runs[n]['seconds']:.2f} s" if n in runs else f"{sum(r['seconds'] for r in runs.values()):.2f} s"
        label = f"**{n}**" if n == "total" else n
        w(f"| {label} | {c['files']} | {c['files_with_findings']} | {c['findings']} | {c['files_changed']} | "
          f"{c['parse_errors']} | {c['other_errors']} | {c['fixes']} | {secs} |")
    for n in runs:
        c = rows[n]
        w("")
        w(f"Top {top} reasons, {n} (each counted once per distinct fix; a fix may give several):")
        w("")
        if not c["reasons"]:
            w("_none: every fix is safe and gives no reason_")
            continue
        w("| fixes | fix is | reason (normalized) |")
        w("|---:|---|---|")
        for r in c["reasons"][:top]:
            w(f"| {r['fixes']} | {r['label']} | {_md(r['text'])} |")
        if len(c["reasons"]) > top:
            rest = c["reasons"][top:]
            w(f"| {sum(r['fixes'] for r in rest)} | … | {len(rest)} more distinct reason(s) |")
    t = report["total"]
    w("")
    w(f"Refused by the rewrite check: {t['refused_by_check']} fix(es)"
      + (f" (their applicability: {', '.join(f'{k} {v}' for k, v in sorted(t['refused_by_applicability'].items()))})"
         if t["refused_by_check"] else "") + ".")
    for reason, k in list(t["check_reasons"].items())[:top]:
        w(f"  {k:>4}  {reason}")
    notes = []
    for n, run in runs.items():
        c = run["counts"]
        if run["errors"]:
            notes.append(f"{n}: {len(run['errors'])} file(s) not processed: "
                         + "; ".join(f"{f}: {e}" for f, e in sorted(run["errors"].items())[:5])
                         + (" …" if len(run["errors"]) > 5 else ""))
        if c["safe_in_unchanged_files"]:
            notes.append(f"{n}: {c['safe_in_unchanged_files']} safe fix(es) in files that --diff leaves unchanged")
        if c["changed_without_safe_fix"]:
            notes.append(f"{n}: {c['changed_without_safe_fix']} changed file(s) with no safe fix")
        if c["caller_entries"]:
            notes.append(f"{n}: {c['caller_entries']} caller file(s) reported, {c['caller_fixes']} fix(es) there (not counted above)")
        others = {k: v for k, v in c.items() if k.startswith("other:")}
        if others:
            notes.append(f"{n}: fixes with an unknown applicability: {others}")
    if notes:
        w("")
        w("Notes:")
        for x in notes:
            w(f"  {x}")
    for label in sorted(listing):
        w("")
        w(f"Fixes labelled {label}:")
        for n, run in runs.items():
            for fx in run["fixes"]:
                if fx["label"] == label:
                    w(f"  {n}/{fx['file']}: {fx['title']}" + (f"  [{'; '.join(fx['reasons'])}]" if fx["reasons"] else ""))


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", choices=(*CORPORA, "all"), default="all", help="which corpus to run (default all)")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the tables")
    ap.add_argument("--top", type=int, default=15, help="reasons shown per corpus (default 15)")
    ap.add_argument("--list", default="", help="comma-separated labels whose fixes to list with file and title "
                    "(safe, unsafe, display-only, 'refused by check')")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="dfix worker processes (default 2)")
    ap.add_argument("--dfix-cmd", help="command that runs dfix (default: python -m refactor from this checkout)")
    args = ap.parse_args(argv)

    base = corpus_base()
    wanted = CORPORA if args.corpus == "all" else (args.corpus,)
    dfix_cmd = shlex.split(args.dfix_cmd) if args.dfix_cmd else [sys.executable, "-m", "refactor"]
    listing = {x.strip() for x in args.list.split(",") if x.strip()}
    bad = listing - {*APPLICABILITY, "refused by check"}
    if bad:
        ap.error(f"unknown label(s) for --list: {', '.join(sorted(bad))}")

    t_start = time.perf_counter()
    report: dict = {"meta": {"corpus_base": str(base), "jobs": args.jobs,
                             "dfix_cmd": "dfix" if args.dfix_cmd else "python -m refactor",
                             "check_prefix": CHECK_PREFIX},
                    "corpora": {}}
    failed = False
    for name in wanted:
        root = base / name
        if not root.is_dir():
            print(f"corpus not found: {root} (set DFIX_CORPUS)", file=sys.stderr)
            return 2
        files = corpus_files(root)
        if not args.json:
            print(f"running dfix over {name} ({len(files)} files) …", file=sys.stderr, flush=True)
        doc, err, secs, code = run_dfix(files, args.jobs, dfix_cmd)
        if doc is None:
            print(f"dfix failed on {name}: {err}", file=sys.stderr)
            failed = True
            continue
        counts, fixes, errors = tally(doc, root)
        missing = len(files) - counts["files"]
        report["corpora"][name] = {"root": str(root), "seconds": secs, "exit_code": code, "counts": counts,
                                   "errors": errors, "fixes": fixes, "files_absent_from_json": missing}
    if not report["corpora"]:
        return 1
    report["total"] = merge([r["counts"] for r in report["corpora"].values()])
    report["meta"]["seconds"] = time.perf_counter() - t_start

    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_report(report, args.top, listing)
        print(f"\n# total wall time {report['meta']['seconds']:.1f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Score secret detectors against ../shared/corpus/secrets/LABELS.tsv (issue 3, "Measure").

Runs, on the same labelled files and in the same invocation:
  dfix      python -m refactor --format json FILES...   (a finding with "secret": true names a variable)
  hadolint  hadolint -f json --no-fail FILES...         (rule DL3064, mapped to names; see _anchors.py)
  buildkit  docker build --call=check,format=json       (rule SecretsUsedInArgOrEnv, one check per file)

A labelled ARG/ENV row counts as flagged by a tool when the tool reports that variable name for
that file. Default scoring uses the listed rows only; --strict also counts every flagged name that
the labels do not list for its file as a false positive. Both are always printed. Rows of kind
`other` are informative (caught = a secret finding on one of the row's lines).

Two more sections follow (issue 16; dfix only, in process):
  synthetic  per-class suites (committed literals, glued names, credential sinks, credential files,
             not-secrets, ENV X=$X runtime slots) generated from templates x values with a fixed
             seed (bench/_synthetic.py): precision and recall per class;
  real       every DF003 over ../shared/corpus/real (820 files nobody tuned to), one line per hit
             with file, line, kind and length (the value masked), and whether it is a stand-in
             (placeholder, default, template): a stand-in hit is a false positive.

This is a benchmark, not a test: it exits non-zero only when a tool could not run (an anchor
missing, unless --allow-missing-anchors; dfix failing). Values of ARG/ENV are never printed.

    python bench/detection.py [--verbose] [--strict] [--json] [--no-cache] [--tools dfix,hadolint,buildkit]
                              [--no-synthetic] [--no-real] [--seed N]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [p for p in (str(BENCH), str(ROOT)) if p not in sys.path]

import _anchors  # noqa: E402
from _anchors import Corpus, ToolResult, load_corpus  # noqa: E402

TOOLS = ("dfix", "hadolint", "buildkit")
ANCHORS = ("hadolint", "buildkit")
TARGET_RECALL, TARGET_PRECISION = 0.98, 0.95


def default_corpus_root() -> Path:
    env = os.environ.get("DFIX_CORPUS")
    return (Path(env) if env else ROOT.parent / "shared" / "corpus") / "secrets"


# --------------------------------------------------------------------------------------------
# Labels


@dataclass(frozen=True)
class Row:
    file: str
    kind: str  # ARG | ENV | other
    name: str
    is_secret: bool
    lines: tuple[int, ...]
    role: str

    def label(self) -> str:
        where = ",".join(map(str, self.lines)) or "?"
        return f"{self.file}:{where} {self.kind} {self.name}"


def load_labels(path: Path) -> list[Row]:
    rows: list[Row] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            kind = (rec.get("kind") or "").strip()
            kind = kind.upper() if kind.upper() in ("ARG", "ENV") else kind
            lines = tuple(int(x) for x in (rec.get("line") or "").replace(" ", "").split(",") if x.isdigit())
            secret = (rec.get("is_secret") or "").strip().lower()
            if secret not in ("yes", "no"):
                raise SystemExit(f"{path}: bad is_secret {secret!r} for {rec.get('file')} {rec.get('name')}")
            rows.append(Row(rec["file"].strip(), kind, (rec.get("name") or "").strip(), secret == "yes", lines,
                            (rec.get("file_role") or "").strip()))
    return rows


# --------------------------------------------------------------------------------------------
# dfix


def run_dfix(corpus: Corpus, cmd: list[str]) -> ToolResult:
    """One dfix process over all files (absolute paths), from an empty directory so no project
    config applies; the checkout is put first on PYTHONPATH so `python -m refactor` is this tree."""
    res = ToolResult("dfix")
    paths = [corpus.abspath(f) for f in corpus.files]
    back = {p: f for p, f in zip(paths, corpus.files)}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["DFIX_NO_CACHE"] = "1"  # the time shown is analysis time; nothing goes to the user's cache
    before = {p: _sha256(p) for p in paths}
    with tempfile.TemporaryDirectory(prefix="dfix-bench-run-") as tmp:
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([*cmd, "--format", "json", *paths], cwd=tmp, env=env,
                                  capture_output=True, text=True, timeout=1800)
        except (OSError, subprocess.SubprocessError) as exc:
            res.available, res.error = False, f"cannot run {shlex.join(cmd)}: {exc}"
            return res
        res.seconds = time.perf_counter() - t0
    res.timing = f"one process, {len(paths)} files (exit {proc.returncode})"
    touched = [back[p] for p in paths if _sha256(p) != before[p]]
    if touched:
        res.available = False
        res.error = f"dfix MODIFIED {len(touched)} labelled file(s) in place (e.g. {touched[0]}); restore the corpus"
        return res
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = " | ".join(proc.stderr.strip().splitlines()[-2:])
        res.available = False
        res.error = f"{shlex.join(cmd)} printed no JSON (exit {proc.returncode}): {corpus.redactor(tail, 300)}"
        return res
    if not isinstance(doc, dict) or doc.get("schema_version") != 1 or not isinstance(doc.get("files"), list):
        res.available, res.error = False, "dfix JSON does not follow the contract (schema_version 1, files[])"
        return res
    seen: set[str] = set()
    for entry in doc["files"]:
        p = str(entry.get("path"))
        rel = back.get(p) or back.get(os.path.abspath(p))
        if rel is None:
            res.notes.append(f"dfix reported an unknown path {p!r}")
            continue
        seen.add(rel)
        if entry.get("status") != "ok":
            res.failed_files[rel] = corpus.redactor(str(entry.get("error") or entry.get("message") or entry.get("status")))
        for f in entry.get("findings") or []:
            if f.get("secret") is True and isinstance(f.get("variable"), str) and f["variable"]:
                res.add(rel, f["variable"], f.get("line"))
            elif f.get("secret") is True and isinstance(f.get("line"), int):
                res.lines.setdefault(rel, set()).add(f["line"])  # e.g. a literal in RUN: `other` rows
    missing = [f for f in corpus.files if f not in seen]
    if missing:
        res.notes.append(f"{len(missing)} file(s) absent from dfix's JSON (scored as no findings): "
                         + ", ".join(missing[:5]) + (" …" if len(missing) > 5 else ""))
    if proc.stderr.strip():
        res.notes.append(f"dfix wrote {len(proc.stderr.splitlines())} line(s) to stderr")
    return res


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def dfix_command(arg: str | None) -> list[str]:
    if arg:
        return shlex.split(arg)
    return [sys.executable, "-m", "refactor"]


# --------------------------------------------------------------------------------------------
# Scoring


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def score(rows: list[Row], res: ToolResult, strict: bool) -> dict:
    tp = fp = fn = tn = 0
    fn_rows, fp_rows = [], []
    for r in rows:
        hit = r.name in res.flagged.get(r.file, ())
        if r.is_secret and hit:
            tp += 1
        elif r.is_secret:
            fn += 1
            fn_rows.append(r.label())
        elif hit:
            fp += 1
            fp_rows.append(r.label())
        else:
            tn += 1
    extra = []
    if strict:
        listed: dict[str, set[str]] = {}
        for r in LISTED_ROWS:  # every labelled name of the file, `other` rows included
            listed.setdefault(r.file, set()).add(r.name)
        for f in sorted(res.flagged):
            for name in sorted(res.flagged[f] - listed.get(f, set())):
                extra.append(f"{f} {name} (unlisted)")
        fp += len(extra)
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = 2 * p * r / (p + r) if p is not None and r is not None and (p + r) else None
    return {"precision": p, "recall": r, "f1": f1, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "fn_rows": fn_rows, "fp_rows": fp_rows + extra, "unlisted_fp": len(extra)}


LISTED_ROWS: list[Row] = []


def other_summary(rows: list[Row], res: ToolResult) -> dict:
    out = {"secret": [0, 0], "not_secret": [0, 0], "caught": [], "missed": []}
    for r in rows:
        hit = bool(set(r.lines) & res.lines.get(r.file, set()))
        key = "secret" if r.is_secret else "not_secret"
        out[key][1] += 1
        if hit:
            out[key][0] += 1
            out["caught"].append(r.label())
        elif r.is_secret:
            out["missed"].append(r.label())
    return out


# --------------------------------------------------------------------------------------------
# Output


def fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "  n/a"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def print_report(report: dict, verbose: bool, headline: str) -> None:
    w = print
    m = report["meta"]
    w(f"Secret detection benchmark - {m['files']} files, {m['rows']} ARG/ENV rows "
      f"({m['secret_rows']} secret, {m['rows'] - m['secret_rows']} not), {m['other_rows']} `other` rows")
    w(f"labels: {m['labels']}")
    w("")
    hdr = f"{'tool':<9} {'precision':>9} {'recall':>7} {'F1':>6} {'TP':>4} {'FP':>4} {'FN':>4} {'TN':>4}"
    for mode, title in (("default", "listed rows only (default)"),
                        ("strict", "--strict: flagged names the labels do not list count as FP")):
        w(f"Scoring: {title}")
        w(hdr + ("  time" if mode == "default" else "  (unlisted FP)"))
        for tool, t in report["tools"].items():
            if not t["available"]:
                w(f"{tool:<9} {'-- did not run: ' + t['error']}")
                continue
            s = t[mode]
            line = (f"{tool:<9} {fmt(s['precision']):>9} {fmt(s['recall']):>7} {fmt(s['f1']):>6} "
                    f"{s['tp']:>4} {s['fp']:>4} {s['fn']:>4} {s['tn']:>4}")
            if mode == "default":
                line += f"  {t['seconds']:.2f} s" if t["seconds"] is not None else ("  cached" if t["cached"] else "  -")
            else:
                line += f"  ({s['unlisted_fp']})"
            w(line)
        w("")
    w("Timing:")
    for tool, t in report["tools"].items():
        if t["available"]:
            secs = f"{t['seconds']:.2f} s" if t["seconds"] is not None else ("cached" if t["cached"] else "-")
            w(f"  {tool:<9} {secs:>9}  {t['timing']}" + (f"  [{t['version']}]" if t["version"] else ""))
    w("")
    deltas = report.get("versus_anchors") or {}
    if deltas:
        w(f"dfix versus anchors ({headline} scoring; positive = dfix better):")
        for anchor, d in deltas.items():
            w(f"  dfix - {anchor:<9} precision {fmt(d['precision'], True)}  recall {fmt(d['recall'], True)}  "
              f"F1 {fmt(d['f1'], True)}")
        tg = report.get("targets")
        if tg:
            w(f"  issue-3 targets: recall >= {TARGET_RECALL}: {_yn(tg['recall'])}; precision >= {TARGET_PRECISION}: "
              f"{_yn(tg['precision'])}; strictly better than every anchor on precision and recall: "
              f"{_yn(tg['beats_anchors'])}")
        w("")
    w("`other` rows (informative; caught = a secret finding on one of the row's lines):")
    for tool, t in report["tools"].items():
        if t["available"]:
            o = t["other"]
            w(f"  {tool:<9} secret {o['secret'][0]}/{o['secret'][1]} caught; "
              f"not-secret {o['not_secret'][0]}/{o['not_secret'][1]} hit")
    w("")
    for tool, t in report["tools"].items():
        notes = list(t["notes"])
        if t["failed_files"]:
            notes.append(f"{len(t['failed_files'])} file(s) ended in an error (findings reported before the "
                         "error are kept, otherwise the file counts as no findings):")
            notes.extend(f"    {f}: {why}" for f, why in sorted(t["failed_files"].items()))
        if notes:
            w(f"Notes, {tool}:")
            for n in notes:
                w(f"  {n}")
    if report["meta"]["parse_errors"]:
        w("Files the dfix parser rejects (hadolint hits there are mapped from the raw line):")
        for f, why in report["meta"]["parse_errors"].items():
            w(f"  {f}: {why}")
    if verbose:
        for tool, t in report["tools"].items():
            if not t["available"]:
                continue
            s = t[headline]
            w("")
            w(f"{tool}: false negatives ({len(s['fn_rows'])})")
            for x in s["fn_rows"]:
                w(f"  FN {x}")
            w(f"{tool}: false positives ({len(s['fp_rows'])})")
            for x in s["fp_rows"]:
                w(f"  FP {x}")
            if t["other"]["caught"]:
                w(f"{tool}: `other` rows hit: " + "; ".join(t["other"]["caught"]))
    syn = report.get("synthetic")
    if syn:
        w("")
        w("Synthetic suites, per class (dfix in process; bench/_synthetic.py):")
        w(f"{'class':<32} {'cases':>5} {'pos':>4} {'neg':>4} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7}")
        for title, r in syn.items():
            w(f"{title:<32} {r['cases']:>5} {r['positive']:>4} {r['negative']:>4} {r['tp']:>4} {r['fp']:>4} {r['fn']:>4} "
              f"{fmt(r['precision']):>9} {fmt(r['recall']):>7}")
            if verbose or r["fp"] or r["fn"]:
                for x in r["wrong"]:
                    w(f"    {x}")
    real = report.get("real_literals")
    if real is not None:
        w("")
        stand = sum(h["stand_in"] for h in real["hits"])
        w(f"DF003 over the real corpus: {len(real['hits'])} hit(s) in {real['files']} files "
          f"({real['unparsed']} unparsed); stand-ins among them: {stand}")
        for h in real["hits"]:
            var = f" {h['variable']}" if h["variable"] else ""
            w(f"  {h['file']}:{h['line']}{var} {h['kind']} <redacted: {h['length']} chars>"
              + ("  STAND-IN (false positive)" if h["stand_in"] else ""))
    for line in report["missing"]:
        w("")
        w(f"!!! COMPARISON INCOMPLETE: {line}")


def _yn(v: bool) -> str:
    return "MET" if v else "not met"


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", type=Path, help="LABELS.tsv (default: $DFIX_CORPUS or ../shared/corpus, /secrets)")
    ap.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of dfix,hadolint,buildkit")
    ap.add_argument("--strict", action="store_true", help="use strict scoring for the deltas, targets and --verbose lists")
    ap.add_argument("--verbose", "-v", action="store_true", help="list FN/FP rows per tool (names only)")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    ap.add_argument("--no-cache", action="store_true", help="re-run every BuildKit check instead of reading the cache (results are still written)")
    ap.add_argument("--cache-file", type=Path, default=Path(tempfile.gettempdir()) / "dfix-bench-cache" / "buildkit-check.json")
    ap.add_argument("--allow-missing-anchors", action="store_true", help="exit 0 even when hadolint or BuildKit cannot run")
    ap.add_argument("--workers", type=int, default=4, help="parallel BuildKit checks (default 4)")
    ap.add_argument("--engine-script", type=Path, default=ROOT.parent / "shared" / "tools" / "start-engine.sh")
    ap.add_argument("--engine-state", default="/tmp/dfix-engine")
    ap.add_argument("--keep-tags", action="store_true", help="leave the base-image tags in the engine afterwards")
    ap.add_argument("--dfix-cmd", help="command that runs dfix (default: python -m refactor from this checkout)")
    ap.add_argument("--no-synthetic", action="store_true", help="skip the per-class synthetic suites")
    ap.add_argument("--no-real", action="store_true", help="skip the DF003 scan of ../shared/corpus/real")
    ap.add_argument("--seed", type=int, default=16, help="seed of the synthetic suites (default 16)")
    args = ap.parse_args(argv)

    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    bad = [t for t in tools if t not in TOOLS]
    if bad:
        ap.error(f"unknown tool(s): {', '.join(bad)}")
    labels = args.labels or default_corpus_root() / "LABELS.tsv"
    if not labels.exists():
        print(f"labels not found: {labels} (set DFIX_CORPUS or --labels)", file=sys.stderr)
        return 2
    rows_all = load_labels(labels)
    LISTED_ROWS[:] = rows_all
    rows = [r for r in rows_all if r.kind in ("ARG", "ENV")]
    others = [r for r in rows_all if r.kind not in ("ARG", "ENV")]
    files = sorted({r.file for r in rows_all})
    corpus = load_corpus(labels.parent, files)
    missing_files = [f for f in files if not Path(corpus.abspath(f)).exists()]
    if missing_files:
        print(f"labelled files missing under {labels.parent}: {', '.join(missing_files[:5])}", file=sys.stderr)
        return 2

    results: dict[str, ToolResult] = {}
    for tool in TOOLS:
        if tool not in tools:
            continue
        if not args.json:
            print(f"running {tool} …", file=sys.stderr, flush=True)
        if tool == "dfix":
            results[tool] = run_dfix(corpus, dfix_command(args.dfix_cmd))
        elif tool == "hadolint":
            results[tool] = _anchors.run_hadolint(corpus)
        else:
            results[tool] = _anchors.run_buildkit(
                corpus, script=args.engine_script, state_dir=args.engine_state, cache_file=args.cache_file,
                use_cache=not args.no_cache, workers=max(1, args.workers), keep_tags=args.keep_tags)

    headline = "strict" if args.strict else "default"
    report: dict = {
        "meta": {"labels": str(labels), "files": len(files), "rows": len(rows),
                 "secret_rows": sum(r.is_secret for r in rows), "other_rows": len(others),
                 "headline_scoring": headline, "parse_errors": corpus.parse_errors},
        "tools": {}, "missing": [],
    }
    for tool, res in results.items():
        entry = {"available": res.available, "error": res.error, "version": res.version,
                 "seconds": res.seconds, "cached": res.cached, "timing": res.timing, "notes": res.notes,
                 "failed_files": res.failed_files}
        if res.available:
            entry["default"] = score(rows, res, strict=False)
            entry["strict"] = score(rows, res, strict=True)
            entry["other"] = other_summary(others, res)
        report["tools"][tool] = entry

    for anchor in ANCHORS:
        if anchor not in results:
            report["missing"].append(f"anchor {anchor} not run (--tools)")
        elif not results[anchor].available:
            report["missing"].append(f"anchor {anchor} unavailable: {results[anchor].error}")
    dfix_failed = "dfix" in results and not results["dfix"].available
    if dfix_failed:
        report["missing"].append(f"dfix did not run: {results['dfix'].error}")

    if "dfix" in results and results["dfix"].available:
        d = report["tools"]["dfix"][headline]
        vs, beats = {}, True
        for anchor in ANCHORS:
            a = report["tools"].get(anchor)
            if not a or not a["available"]:
                beats = False
                continue
            a = a[headline]
            vs[anchor] = {k: (d[k] - a[k]) if d[k] is not None and a[k] is not None else None
                          for k in ("precision", "recall", "f1")}
            beats &= all(v is not None and v > 0 for k, v in vs[anchor].items() if k != "f1")
        report["versus_anchors"] = vs
        report["targets"] = {"recall": (d["recall"] or 0) >= TARGET_RECALL,
                             "precision": (d["precision"] or 0) >= TARGET_PRECISION,
                             "beats_anchors": beats}

    if not args.no_synthetic:
        import _synthetic

        report["synthetic"] = _synthetic.run_suites(args.seed)
    real_root = labels.parent.parent / "real"
    if not args.no_real:
        import _synthetic

        if real_root.is_dir():
            report["real_literals"] = _synthetic.real_corpus_literals(real_root)
        else:
            report["missing"].append(f"real corpus not found at {real_root}: no DF003 scan")

    if args.json:
        json.dump(report, sys.stdout, indent=2, default=sorted)
        sys.stdout.write("\n")
        for line in report["missing"]:
            print(f"!!! COMPARISON INCOMPLETE: {line}", file=sys.stderr)
    else:
        print_report(report, args.verbose, headline)

    anchors_missing = any(a not in results or not results[a].available for a in ANCHORS)
    if dfix_failed or (anchors_missing and not args.allow_missing_anchors):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

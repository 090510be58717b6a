"""``dfix summarize`` (refactor/summarize.py) and the multi-gitter recipes of docs/integrations.md.

multi-gitter itself is not run (it needs a forge and a token). Its ``print`` behaviour is simulated
exactly as documented there: each repository is a git clone in a temp dir, the script runs in it
with ``REPOSITORY`` set, and the stdout of the runs is concatenated in order (``-C 1``), optionally
with multi-gitter's log lines (``--log-file -``) or dfix's stderr (``2>&1``) mixed in.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from refactor.summarize import main as summarize_main
from refactor.summarize import parse_stream, summarize, summarize_cmd

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "integrations.md"

SECRET = b"FROM node:20\nARG NPM_TOKEN\nCOPY package.json ./\nRUN npm ci\n"
CLEAN = b"FROM alpine:3.20\nARG VERSION=1\nRUN echo $VERSION\n"
# a safe fix (GH_TOKEN) and an unsafe one that --write leaves (ONBUILD trigger)
MIXED = (b"FROM node:20\nARG GH_TOKEN\nRUN git clone https://$GH_TOKEN@github.com/x/y /src\n"
         b"ONBUILD ARG NPM_TOKEN\nONBUILD RUN npm ci\n")
LABELLED = (b"FROM alpine:3.20\nARG CI_JOB_TOKEN\nLABEL build.token=$CI_JOB_TOKEN maintainer=team@example.com\n"
            b'RUN curl -fsS -H "JOB-TOKEN: $CI_JOB_TOKEN" -o /tmp/p https://gitlab.example.com/api/v4/p\n')
FAKE_LITERAL = "not-a-real-pw-7Qx9Lm2Vb"
LITERAL = f'FROM alpine:3.20\nARG DB_PASSWORD={FAKE_LITERAL}\nRUN psql "postgres://app:$DB_PASSWORD@db/app"\n'.encode()

REPOS = {
    "org/api": {"Dockerfile": SECRET, "worker/Dockerfile": MIXED},
    "org/web": {"Dockerfile": CLEAN},
    "org/ci": {"Dockerfile": LABELLED, "db/Dockerfile": LITERAL, "bad/Dockerfile": b"FROM a\x00"},
}


def _env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.invalid", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return env


@pytest.fixture
def bindir(tmp_path: Path) -> Path:
    """`dfix` on PATH, as multi-gitter would find it: this checkout."""
    d = tmp_path / "bin"
    d.mkdir()
    (d / "dfix").write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m refactor "$@"\n')
    (d / "dfix").chmod(0o755)
    return d


def _clone(tmp_path: Path, name: str) -> Path:
    """What multi-gitter's clone gives the script: a git work tree of the repository."""
    d = tmp_path / "clones" / name.replace("/", "__")
    for rel, data in REPOS[name].items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=d, check=True, env=_env())
    subprocess.run(["git", "add", "-A"], cwd=d, check=True, env=_env())
    subprocess.run(["git", "commit", "-q", "-m", "init"], cwd=d, check=True, env=_env())
    return d


def _multigitter_print(tmp_path: Path, bindir: Path, script: list[str], *, logs: str | None = None,
                       stderr_too: bool = False) -> tuple[str, dict[str, int]]:
    """Simulate `multi-gitter print SCRIPT` (-C 1): concatenated stdout of each run, in order."""
    out, codes = [], {}
    for name in REPOS:
        d = _clone(tmp_path, name)
        if logs == "text":
            out.append(f'time="2024-05-01T10:00:00Z" level=info msg="Cloning and running script" repo={name}\n')
        elif logs == "json":
            out.append(json.dumps({"level": "info", "msg": "Cloning and running script", "repo": name,
                                   "time": "2024-05-01T10:00:00Z"}) + "\n")
        env = dict(_env(), REPOSITORY=name, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")
        p = subprocess.run(script, cwd=d, env=env, capture_output=True, text=True, timeout=120)
        out.append(p.stdout + (p.stderr if stderr_too else ""))
        codes[name] = p.returncode
    return "".join(out), codes


def _doc_script(name: str) -> str:
    """A script block of docs/integrations.md, verbatim ('# file: NAME' on its second line)."""
    text = DOCS.read_text("utf-8")
    m = re.search(r"```sh\n(#!/bin/sh\n# file: " + re.escape(name) + r"\b.*?)```", text, re.S)
    assert m, f"{name} not found in {DOCS}"
    return m.group(1)


def _write_script(tmp_path: Path, name: str) -> Path:
    p = tmp_path / name
    p.write_text(_doc_script(name))
    p.chmod(0o755)
    return p


def _summ(args: list[str], stdin: str | None = None):
    res = CliRunner().invoke(summarize_cmd, args, input=stdin)
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res


def _row(doc: dict, repo: str) -> dict:
    return next(r for r in doc["repos"] if r["repo"] == repo)


# ------------------------------------------------------------------------------ multi-gitter print

def test_print_recipe_with_the_documented_wrapper(tmp_path, bindir) -> None:
    script = _write_script(tmp_path, "dfix-json.sh")
    stream, codes = _multigitter_print(tmp_path, bindir, [str(script)])
    assert codes == {"org/api": 0, "org/web": 0, "org/ci": 2}  # exit 2 only for errors (bad/Dockerfile)
    (tmp_path / "campaign.txt").write_text(stream)
    res = _summ(["--format", "json", str(tmp_path / "campaign.txt")])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert [r["repo"] for r in doc["repos"]] == ["org/api", "org/web", "org/ci"]
    api, web, ci = (_row(doc, n) for n in ("org/api", "org/web", "org/ci"))
    assert api["files"] == 2 and api["findings_by_rule"]["DF001"] == 3 and api["changed"] == 2
    assert api["secrets_fixable"] == 2 and api["secrets_migrated"] == 0  # NPM_TOKEN, GH_TOKEN (ONBUILD is unsafe)
    assert web == {**web, "files": 1, "findings": 0, "changed": 0, "errors": 0}
    assert ci["errors"] == 1 and ci["error_files"] == ["bad/Dockerfile"]
    assert ci["findings_by_rule"]["DF006"] == 1
    t = doc["totals"]
    assert t["files"] == 6 and t["errors"] == 1
    assert t["findings"] == sum(r["findings"] for r in doc["repos"])
    assert FAKE_LITERAL not in res.stdout


def test_print_recipe_plain_command_is_numbered(tmp_path, bindir) -> None:
    """`multi-gitter print "dfix --format json ."`: unlabelled, concatenated documents."""
    stream, codes = _multigitter_print(tmp_path, bindir, ["dfix", "--format", "json", "."])
    assert codes["org/api"] == 1  # findings: multi-gitter counts the repo as failed, but prints it
    (tmp_path / "campaign.txt").write_text(stream)
    res = _summ([str(tmp_path / "campaign.txt")])
    assert res.exit_code == 0, res.stderr
    rows = [ln.split()[0] for ln in res.stdout.splitlines()[2:5]]
    assert rows == ["campaign#1", "campaign#2", "campaign#3"]
    assert re.search(r"^TOTAL\s+3\s+6\s", res.stdout, re.M), res.stdout


@pytest.mark.parametrize("logs", ["text", "json"])
def test_print_with_multigitter_logs_on_stdout(tmp_path, bindir, logs) -> None:
    """`--log-file -`: multi-gitter's log lines name the repository before each report."""
    stream, _ = _multigitter_print(tmp_path, bindir, ["dfix", "--format", "json", "."], logs=logs, stderr_too=True)
    assert "dfix: " in stream  # dfix's own stderr summary is mixed in (2>&1) and ignored
    res = _summ(["--format", "json", "-"], stdin=stream)
    assert res.exit_code == 0, res.stderr
    assert [r["repo"] for r in json.loads(res.stdout)["repos"]] == list(REPOS)


def test_run_recipe(tmp_path, bindir) -> None:
    """`multi-gitter run "dfix --write ."` and the documented wrapper, as multi-gitter runs them."""
    env_path = f"{bindir}{os.pathsep}{os.environ['PATH']}"
    wrapper = _write_script(tmp_path, "dfix-write.sh")
    results = {}
    for name in ("org/api", "org/web"):
        for how, cmd in (("plain", ["dfix", "--write", "."]), ("wrapper", [str(wrapper)])):
            d = _clone(tmp_path / how, name)
            p = subprocess.run(cmd, cwd=d, env=dict(_env(), REPOSITORY=name, PATH=env_path), capture_output=True,
                               text=True, timeout=120)
            changed = subprocess.run(["git", "status", "--porcelain"], cwd=d, capture_output=True, text=True,
                                     env=_env()).stdout.split("\n")
            results[(name, how)] = (p.returncode, sorted(ln[3:] for ln in changed if ln))
    # org/api: both files rewritten; the ONBUILD finding remains, so plain `dfix --write .` exits 1 and
    # multi-gitter would open no PR; the wrapper exits 0 and the PR carries the rewrite
    assert results[("org/api", "plain")] == (1, ["Dockerfile", "worker/Dockerfile"])
    assert results[("org/api", "wrapper")] == (0, ["Dockerfile", "worker/Dockerfile"])
    # org/web: nothing to do, no change, exit 0 (multi-gitter opens no PR without changes)
    assert results[("org/web", "plain")] == (0, [])
    assert results[("org/web", "wrapper")] == (0, [])


def test_summary_after_a_write_campaign_counts_migrated(tmp_path, bindir) -> None:
    stream, _ = _multigitter_print(tmp_path, bindir, ["sh", "-c", 'printf "%s:\\n" "$REPOSITORY"; dfix --write --format json -q .'])
    res = _summ(["--format", "json", "-"], stdin=stream)
    api = _row(json.loads(res.stdout), "org/api")
    assert api["secrets_migrated"] == 2 and api["secrets_fixable"] == 0 and api["changed"] == 2


# --------------------------------------------------------------------------------------- parsing

def _report(files=1, findings=(), changed=0, errors=0, version=1) -> dict:
    fs = [{"path": f"f{i}/Dockerfile", "kind": "dockerfile", "status": "ok", "error": None, "changed": False,
           "findings": [], "build": {"secrets": [], "ssh": [], "build_args": [], "command": None, "emitted": {}}}
          for i in range(files)]
    for code, var, applicability, applied in findings:
        fs[0]["findings"].append({"code": code, "name": "x", "variable": var, "secret": True, "severity": "error",
                                  "message": "m", "line": 1, "column": 1, "end_line": 1, "end_column": 2,
                                  "fix": None if applicability is None else
                                  {"title": "t", "applicability": applicability, "applied": applied}})
    return {"schema_version": version, "files": fs,
            "summary": {"files": files, "changed": changed, "findings": len(findings), "errors": errors}}


def test_labels_in_every_documented_form() -> None:
    r = json.dumps(_report())
    rc = json.dumps(_report(), indent=2)
    stream = (f"org/a:\n{rc}\n"
              f"org/b\n{rc}\n"
              f"== org/c ==\n{rc}\n"
              f"org/d: {r}\n"
              f"### org/e ###\n\n{rc}\n"
              f"{rc}\n")
    reports, problems = parse_stream(stream, "campaign.txt")
    assert problems == []
    assert [x.repo for x in reports] == ["org/a", "org/b", "org/c", "org/d", "org/e", "campaign#6"]


def test_single_unlabelled_report_is_named_after_its_file(tmp_path) -> None:
    (tmp_path / "org__svc.json").write_text(json.dumps(_report(2)))
    (tmp_path / "org__web.json").write_text(json.dumps(_report(1)))
    res = _summ(["--format", "json", str(tmp_path / "org__svc.json"), str(tmp_path / "org__web.json")])
    doc = json.loads(res.stdout)
    assert [(r["repo"], r["files"]) for r in doc["repos"]] == [("org__svc", 2), ("org__web", 1)]
    assert doc["totals"]["files"] == 3


def test_same_repo_twice_is_added_up() -> None:
    rep = json.dumps(_report(1, [("DF001", "A", "safe", False)]))
    res = _summ(["--format", "json", "-"], stdin=f"org/a:\n{rep}\norg/a:\n{rep}\n")
    doc = json.loads(res.stdout)
    assert len(doc["repos"]) == 1
    a = doc["repos"][0]
    assert a["reports"] == 2 and a["files"] == 2 and a["findings_by_rule"]["DF001"] == 2 and a["secrets_fixable"] == 2


def test_migrated_and_fixable_count_distinct_secrets_per_file() -> None:
    rep = _report(1, [("DF001", "NPM_TOKEN", "safe", True), ("DF001", "NPM_TOKEN", "safe", True),  # two stages
                      ("DF001", "PIP_TOKEN", "safe", False), ("DF001", "OLD", "unsafe", False),
                      ("DF004", "X", "display-only", False), ("DF002", "NPM_TOKEN", "safe", True)])
    rows, total, codes = summarize(parse_stream(json.dumps(rep), "x")[0])
    assert (rows[0].migrated, rows[0].fixable, rows[0].findings) == (1, 1, 6)
    from refactor.rules import RULES

    assert codes == [r.code for r in RULES]


def test_truncated_or_interleaved_output_is_an_error_but_the_rest_is_summarized() -> None:
    good = json.dumps(_report(1), indent=2)
    broken = good[: len(good) // 2]
    stream = f"org/a:\n{good}\norg/b:\n{broken}\norg/c:\n{good}\n"
    res = _summ(["--format", "json", "-"], stdin=stream)
    assert res.exit_code == 2
    assert "stdin" not in res.stdout
    doc = json.loads(res.stdout)
    assert [r["repo"] for r in doc["repos"]] == ["org/a", "org/c"]
    line = stream[: stream.index("org/b:\n")].count("\n") + 2  # the broken report's first line
    assert f"-:{line}: invalid or truncated JSON" in res.stderr


def test_unsupported_schema_version_and_garbage() -> None:
    res = _summ(["-"], stdin=json.dumps(_report(version=2)))
    assert res.exit_code == 2 and "schema_version 2" in res.stderr
    res = _summ(["-"], stdin="hello\nworld\n")
    assert res.exit_code == 2 and "no dfix JSON report" in res.stderr
    res = _summ(["/nonexistent/report.json"])
    assert res.exit_code == 2 and "cannot read" in res.stderr


def test_nested_objects_are_not_documents() -> None:
    """Indented objects inside a report never start a new document (dfix indents its JSON)."""
    reports, problems = parse_stream(json.dumps(_report(3, [("DF001", "A", "safe", False)]), indent=2), "r.json")
    assert problems == [] and len(reports) == 1 and reports[0].repo == "r"


# --------------------------------------------------------------------------------------- outputs

def _campaign() -> str:
    return (f"org/a:\n{json.dumps(_report(2, [('DF001', 'A', 'safe', True), ('DF005', 'V', None, False)], changed=1), indent=2)}\n"
            f"org/b|c:\n{json.dumps(_report(1, errors=1), indent=2)}\n")


def test_text_table() -> None:
    res = _summ(["-"], stdin=_campaign())
    lines = res.stdout.splitlines()
    from refactor.rules import RULES

    codes = [r.code for r in RULES]
    rules = {c: "0" for c in codes}
    assert lines[0].split() == ["repo", "reports", "files", *codes, "findings", "changed", "migrated", "fixable", "errors"]
    assert lines[2].split() == ["org/a", "1", "2", *{**rules, "DF001": "1", "DF005": "1"}.values(), "2", "1", "1", "0", "0"]
    assert lines[3].split() == ["org/b|c", "1", "1", *rules.values(), "0", "0", "0", "0", "1"]
    assert lines[5].split() == ["TOTAL", "2", "3", *{**rules, "DF001": "1", "DF005": "1"}.values(), "2", "1", "1", "0", "1"]
    assert "2 repo(s), 3 file(s): 2 finding(s), 1 file(s) changed, 1 secret(s) migrated" in res.stdout
    assert len({len(ln) for ln in lines[:6] if not ln.startswith("-")}) >= 1


def test_markdown_table_is_well_formed() -> None:
    res = _summ(["--format", "markdown", "-"], stdin=_campaign())
    rows = [ln for ln in res.stdout.splitlines() if ln.startswith("|")]
    ncols = {len(re.split(r"(?<!\\)\|", ln)) for ln in rows}
    assert len(ncols) == 1, rows  # '|' in a repo name is escaped
    assert "`org/b\\|c`" in res.stdout
    assert rows[-1].startswith("| **total** | **2** | **3** |")


def test_json_output_shape() -> None:
    res = _summ(["--format", "json", "-"], stdin=_campaign())
    doc = json.loads(res.stdout)
    assert set(doc) == {"schema_version", "rules", "repos", "totals", "input_errors"}
    assert set(doc["repos"][0]) == {"repo", "reports", "files", "findings", "findings_by_rule", "changed",
                                    "secrets_migrated", "secrets_fixable", "errors", "error_files"}
    assert doc["totals"]["findings_by_rule"]["DF001"] == 1 and doc["input_errors"] == []


def test_main_entry_point(tmp_path, capsys) -> None:
    (tmp_path / "r.json").write_text(json.dumps(_report(1)))
    assert summarize_main([str(tmp_path / "r.json")]) == 0
    assert "TOTAL" in capsys.readouterr().out
    assert summarize_main(["--format", "nope"]) == 2


def test_summarize_reads_real_dfix_reports(tmp_path) -> None:
    """End to end on the project's golden inputs: one report per golden case."""
    from helpers import run

    inputs = []
    for case in sorted((ROOT / "golden").iterdir())[:8]:
        if (case / "Dockerfile").is_file():
            _, out, _ = run(["--format", "json", "-q", str(case / "Dockerfile")])
            p = tmp_path / f"{case.name}.json"
            p.write_text(out)
            inputs.append(str(p))
    res = _summ(["--format", "json", *inputs])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert [r["repo"] for r in doc["repos"]] == [Path(i).stem for i in inputs]
    assert doc["totals"]["files"] == sum(json.loads(Path(i).read_text())["summary"]["files"] for i in inputs)

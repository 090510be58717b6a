"""``--format json`` validates against ``refactor/schema/report.schema.json`` in every mode.

Every combination of mode (report, --diff, --check, --write), emit targets, unsafe fixes, error
files and stdin is run over a tree built from all golden inputs plus bad files, and:
- stdout holds exactly one JSON document (nothing before or after it);
- the document validates against the committed schema;
- the invariants the schema cannot express hold (summary counts, sort orders, applied only
  after --write, no secret value anywhere).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from helpers import run

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "refactor" / "schema" / "report.schema.json"
GOLDEN = ROOT / "golden"
TARGETS = ["docker", "bake", "compose", "github", "gitlab", "podman"]

# deliberately fake literal (not a real token format); must never appear in any output
FAKE_LITERAL = "not-a-real-pw-7Qx9Lm2Vb"


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text("utf-8"))


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def one_document(out: str) -> dict:
    """Exactly one JSON document on stdout: no leading/trailing output, no second document."""
    dec = json.JSONDecoder()
    stripped = out.lstrip()
    assert stripped == out, "output before the JSON document"
    doc, end = dec.raw_decode(out)
    assert out[end:].strip() == "", f"trailing output after the JSON document: {out[end:end + 80]!r}"
    assert out.endswith("\n")
    return doc


def check(doc: dict, validator: Draft202012Validator, mode: str) -> None:
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    files = doc["files"]
    s = doc["summary"]
    assert s["files"] == len(files)
    assert s["changed"] == sum(f["changed"] for f in files)
    assert s["findings"] == sum(len(f["findings"]) for f in files)
    assert s["errors"] == sum(f["status"] == "error" for f in files)
    for f in files:
        keys = [(x["line"], x["column"], x["code"]) for x in f["findings"]]
        assert keys == sorted(keys), f["path"]
        for x in f["findings"]:
            assert (x["end_line"], x["end_column"]) >= (x["line"], x["column"]), (f["path"], x)
            if x["fix"] is not None and x["fix"]["applied"]:
                assert mode == "write", "a fix can only be applied by --write"
                assert f["changed"]
        if f["status"] == "ok" and f["build"]["secrets"]:
            assert f["build"]["command"], f["path"]
    assert FAKE_LITERAL not in json.dumps(doc)


def _tree(root: Path, with_errors: bool) -> Path:
    """All golden inputs (one directory each) plus a few cases of our own."""
    for case in sorted(GOLDEN.iterdir()):
        if not (case / "case.toml").is_file():
            continue
        if "errors = " in (case / "case.toml").read_text():
            continue  # a case that is an error on purpose (DF900): the bad files below cover errors
        for p in case.rglob("*"):
            rel = p.relative_to(case)
            if rel.parts[0] in ("expected", "case.toml") or not p.is_file():
                continue
            dst = root / case.name / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dst)
    (root / "own").mkdir()
    (root / "own" / "Dockerfile").write_text(
        f"FROM alpine:3.20\nARG DB_PASSWORD={FAKE_LITERAL}\nRUN psql -c 'select 1' \"postgres://app:$DB_PASSWORD@db/app\"\n"
    )
    (root / "own" / "clean.Dockerfile").write_text("FROM alpine:3.20\nARG VERSION=1\nRUN echo $VERSION\n")
    if with_errors:
        (root / "bad").mkdir()
        (root / "bad" / "Dockerfile").write_bytes(b"FROM a\x00\x01\x02")
        (root / "bad" / "Dockerfile.utf8").write_bytes(b"FROM a\nRUN echo \xff\xfe\n")
        (root / "bad" / "Dockerfile.heredoc").write_bytes(b"FROM a\nRUN <<EOF\necho hi\n")
    return root


MODES = {"report": [], "diff": ["--diff"], "check": ["--check"], "write": ["--write"]}
EMITS = {"default": [], "all": [a for t in TARGETS for a in ("--emit", t)], "bake+podman": ["--emit", "bake", "--emit", "podman"]}


@pytest.mark.parametrize("errors", [False, True], ids=["ok-files", "with-errors"])
@pytest.mark.parametrize("emit", list(EMITS))
@pytest.mark.parametrize("mode", list(MODES))
def test_every_mode_validates(tmp_path, validator, mode, emit, errors) -> None:
    root = _tree(tmp_path / "repo", errors)
    extra = ["--unsafe-fixes"] if emit == "all" else []
    code, out, err = run(MODES[mode] + EMITS[emit] + extra + ["--format", "json", "-q", "."], cwd=root)
    doc = one_document(out)
    check(doc, validator, mode)
    assert code == (2 if errors else 1), err
    if errors:
        bad = [f for f in doc["files"] if f["status"] == "error"]
        assert {f["path"] for f in bad} == {"bad/Dockerfile", "bad/Dockerfile.utf8", "bad/Dockerfile.heredoc"}
    want = set(TARGETS) if emit == "all" else {"bake", "podman"} if emit == "bake+podman" else {"docker"}
    for f in doc["files"]:
        if f["status"] == "ok" and f["build"]["command"] is not None:
            assert set(f["build"]["emitted"]) == want, f["path"]


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("name", [None, "svc/Dockerfile"])
def test_stdin_validates(tmp_path, validator, mode, name) -> None:
    args = MODES[mode] + ["--format", "json", "-"] + (["--stdin-filename", name] if name else [])
    # (in a directory of its own: the callers beside a --stdin-filename weigh on the fix)
    code, out, _ = run(args, cwd=tmp_path, stdin=b"FROM alpine:3.20\nARG NPM_TOKEN\nRUN npm ci\n")
    doc = one_document(out)
    check(doc, validator, mode)
    assert [f["path"] for f in doc["files"]] == [name or "-"]
    assert code == (0 if mode == "write" else 1)


def test_stdin_with_files_and_errors(tmp_path, validator) -> None:
    root = _tree(tmp_path / "repo", True)
    code, out, _ = run(["--format", "json", "own", "bad", "missing/Dockerfile", "-", "--stdin-filename", "x/Dockerfile"],
                       cwd=root, stdin=b"FROM a\x00")
    doc = one_document(out)
    check(doc, validator, "report")
    assert code == 2
    paths = [f["path"] for f in doc["files"]]
    assert paths[-1] == "x/Dockerfile" and doc["files"][-1]["status"] == "error"
    assert "missing/Dockerfile" in paths


def test_real_process_prints_one_document(tmp_path, validator) -> None:
    """Through a real process: nothing else is written to stdout (stderr carries the summary)."""
    root = _tree(tmp_path / "repo", True)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for mode in MODES.values():
        p = subprocess.run([sys.executable, "-m", "refactor", *mode, "--format", "json", "."], cwd=root, env=env,
                           capture_output=True, text=True, timeout=120)
        doc = one_document(p.stdout)
        check(doc, validator, "write" if mode == ["--write"] else "report")
        assert p.returncode == 2
        assert p.stderr.strip(), "summary/errors go to stderr"


@pytest.mark.corpus
def test_real_corpus_validates(validator) -> None:
    from conftest import require_corpus

    real = require_corpus("real")
    files = sorted(str(p) for p in real.rglob("*") if p.is_file() and p.name != "SOURCES.tsv")
    code, out, _ = run(["--format", "json", "-q", *files])
    doc = one_document(out)
    check(doc, validator, "report")
    assert doc["summary"]["files"] == len(files)


def test_schema_is_shipped_as_package_data() -> None:
    """pyproject ships refactor/schema/*.json; the README names this path."""
    import tomllib

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert "schema/*.json" in cfg["tool"]["setuptools"]["package-data"]["refactor"]
    assert "refactor/schema/report.schema.json" in (ROOT / "README.md").read_text("utf-8")


def test_schema_rejects_unknown_keys(validator) -> None:
    doc = {"schema_version": 1, "files": [], "summary": {"files": 0, "changed": 0, "findings": 0, "errors": 0}}
    assert validator.is_valid(doc)
    for bad in (dict(doc, extra=1), dict(doc, schema_version=2), dict(doc, summary=dict(doc["summary"], x=1))):
        assert not validator.is_valid(bad)


def test_modes_are_exhaustive() -> None:
    # keep the matrix honest if a mode is added to the CLI
    from refactor.cli import _mode

    for w, d, c in itertools.product([False, True], repeat=3):
        if w + d + c <= 1:
            assert _mode(w, d, c) in MODES

"""Over every corpus file, passed explicitly (most names don't match the discovery patterns):
no crash, report and --diff leave every file byte-identical, and --write on a copy is
idempotent and re-parses."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from conftest import require_corpus
from helpers import run
from refactor.source import SourceFile
from refactor.syntax.dockerfile import parse


def _files():
    root = require_corpus()
    out = []
    for sub in ("real", "secrets"):
        out += sorted(p for p in (root / sub).rglob("*") if p.is_file() and p.suffix not in (".tsv", ".md"))
    return out


def _digest(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_report_and_diff_leave_corpus_byte_identical() -> None:
    files = _files()
    assert len(files) > 900
    before = _digest(files)
    for mode in ([], ["--diff"], ["--check"]):
        code, out, err = run(mode + ["--format", "json", "-j", "2"] + [str(p) for p in files])
        doc = json.loads(out)
        assert code in (1, 2)
        assert doc["summary"]["files"] == len(files)
        errors = [f for f in doc["files"] if f["status"] == "error"]
        # only files BuildKit itself rejects may be errors, and never an internal error
        assert all(not f["error"].startswith("internal") for f in errors), [f["error"] for f in errors]
        assert len(errors) <= 2
    assert _digest(files) == before


def test_write_is_idempotent_over_the_corpus(tmp_path) -> None:
    files = _files()
    copies = []
    for i, p in enumerate(files):
        dst = tmp_path / f"{i:04d}" / p.name
        dst.parent.mkdir()
        shutil.copy2(p, dst)
        copies.append(dst)
    args = ["--format", "json", "-j", "2"] + [str(c) for c in copies]
    code, out, _ = run(["--write", "--unsafe-fixes"] + args)
    first = json.loads(out)
    changed = [f["path"] for f in first["files"] if f["changed"]]
    assert changed, "the corpus has secrets: some files must change"
    for path in changed:
        data = open(path, "rb").read()
        parse(SourceFile.from_bytes(path, data))
    after_first = _digest(copies)
    code, out, _ = run(["--write", "--unsafe-fixes"] + args)
    second = json.loads(out)
    assert not [f["path"] for f in second["files"] if f["changed"]]
    assert _digest(copies) == after_first

"""Golden cases: ``golden/<case>/`` holds input files, ``case.toml`` and ``expected/``.

For each case:
1. the inputs are copied to a temp dir and dfix runs there with the case's ``args``
   (``--write --format json`` by default);
2. every file in ``expected/`` must match byte for byte (``expected/build.<target>`` is compared
   with the emitted command for that target); every other input file must be unchanged;
3. a second ``--write`` over the output changes nothing (idempotency);
4. unless ``crlf = false``, the case runs again with LF turned into CRLF in inputs and expectations.

``DFIX_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` rewrites the expectations; review the diff.
"""

from __future__ import annotations

import io
import json
import os
import tomllib
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from refactor.cli import main

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
CASES = sorted(p for p in GOLDEN.iterdir() if (p / "case.toml").is_file()) if GOLDEN.is_dir() else []
UPDATE = os.environ.get("DFIX_UPDATE_GOLDEN") == "1"


def load_case(case: Path) -> dict:
    with open(case / "case.toml", "rb") as fh:
        return tomllib.load(fh)


def input_files(case: Path) -> list[Path]:
    out = []
    for p in sorted(case.rglob("*")):
        rel = p.relative_to(case)
        if p.is_file() and rel.parts[0] != "expected" and rel.name != "case.toml":
            out.append(rel)
    return out


def run_cli(args: list[str], cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(args)
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _check_case(case: Path, tmp: Path, crlf: bool) -> None:
    meta = load_case(case)
    if meta.get("skip_harness"):
        pytest.skip(f"{case.name}: checked by its own test ({meta.get('checked_by', 'see case.toml')})")
    targets = meta.get("emit", ["docker"])
    target_file = meta.get("target", "Dockerfile")
    args = list(meta.get("args", ["--write"])) + ["--format", "json"] + [f"--emit={t}" for t in targets] + [target_file]
    for rel in input_files(case):
        dst = tmp / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        data = (case / rel).read_bytes()
        dst.write_bytes(_crlf(data) if crlf else data)
    originals = {rel: (tmp / rel).read_bytes() for rel in input_files(case)}
    code, out, err = run_cli(args, tmp)
    doc = json.loads(out)
    assert doc["summary"]["errors"] == meta.get("errors", 0), err
    if "exit" in meta:
        assert code == meta["exit"], (code, err)
    file_doc = next(f for f in doc["files"] if f["kind"] == "dockerfile")
    expected_dir = case / "expected"
    if UPDATE and not crlf:
        expected_dir.mkdir(exist_ok=True)
        for rel in input_files(case):
            if (tmp / rel).read_bytes() != originals[rel] or (expected_dir / rel).exists():
                (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                (expected_dir / rel).write_bytes((tmp / rel).read_bytes())
        for t in targets:
            (expected_dir / f"build.{t}").write_text(file_doc["build"]["emitted"].get(t, ""), encoding="utf-8")
        (expected_dir / "findings.json").write_text(
            json.dumps([{k: f[k] for k in ("code", "variable", "secret", "line")} | {"fix": (f["fix"] or {}).get("applicability")} for f in file_doc["findings"]], indent=1) + "\n",
            encoding="utf-8",
        )
    expected_files = {p.relative_to(expected_dir) for p in expected_dir.rglob("*") if p.is_file()}
    for rel in input_files(case):
        got = (tmp / rel).read_bytes()
        if rel in expected_files:
            want = (expected_dir / rel).read_bytes()
            want = _crlf(want) if crlf else want
            assert got == want, f"{case.name}: {rel} differs from expected"
        else:
            assert got == originals[rel], f"{case.name}: {rel} changed but has no expectation"
    for t in targets:
        want = (expected_dir / f"build.{t}").read_text(encoding="utf-8")
        assert file_doc["build"]["emitted"].get(t, "") == want, f"{case.name}: emitted {t} command differs"
    if (expected_dir / "findings.json").exists():
        want = json.loads((expected_dir / "findings.json").read_text(encoding="utf-8"))
        got = [{k: f[k] for k in ("code", "variable", "secret", "line")} | {"fix": (f["fix"] or {}).get("applicability")} for f in file_doc["findings"]]
        assert got == want, f"{case.name}: findings differ"
    # idempotency: a second run over the output changes nothing
    after = {rel: (tmp / rel).read_bytes() for rel in input_files(case)}
    code2, out2, err2 = run_cli(list(meta.get("args", ["--write"])) + ["--format", "json", target_file], tmp)
    doc2 = json.loads(out2)
    again = [f["path"] for f in doc2["files"] if f["changed"]]
    assert not again, f"{case.name}: second run changed {again}"
    for rel in input_files(case):
        assert (tmp / rel).read_bytes() == after[rel]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Path, tmp_path: Path) -> None:
    _check_case(case, tmp_path, crlf=False)


@pytest.mark.parametrize("case", [c for c in CASES if load_case(c).get("crlf", True)], ids=[c.name for c in CASES if load_case(c).get("crlf", True)])
def test_golden_crlf(case: Path, tmp_path: Path) -> None:
    if UPDATE:
        pytest.skip("updating")
    _check_case(case, tmp_path, crlf=True)


def test_enough_golden_cases() -> None:
    assert len(CASES) >= 30
    assert sum(1 for c in CASES if load_case(c).get("buildable")) >= 15

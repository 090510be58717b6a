"""Helpers for the per-rule tests (``tests/rules/test_df0NN.py``), after django-upgrade's
``tests/fixers/tools.py``: a case is a small project (a Dockerfile's text, or ``{path: text}`` for
several files) written below ``tmp_path``; dfix runs on it in process (``helpers.run``) over ``.``.

- ``check_fixed``: the rule reports the input, ``--write`` turns it into the expected files (files
  not named there stay as they were), and a second ``--write`` changes nothing.
- ``check_findings``: the rule reports exactly these (path, line) places.
- ``check_noop``: the rule reports nothing (other rules may).

Values are fakes built at run time (``fake()``); a failure message never holds more than these.
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run, snapshot

Files = str | dict[str, str | bytes]


def fake(prefix: str = "", n: int = 36, alphabet: str = "aB3dE5gH7jK9mN1pQ2") -> str:
    """A fake credential: ``prefix`` then ``n`` characters cycled from ``alphabet``."""
    return prefix + (alphabet * (n // len(alphabet) + 1))[:n]


def _files(files: Files) -> dict[str, str | bytes]:
    return {"Dockerfile": files} if isinstance(files, str) else files


def write_project(root: Path, files: Files) -> None:
    for rel, text in _files(files).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))


def report(root: Path, *args: str) -> tuple[int, dict]:
    code, out, err = run(["--format", "json", *args, "."], cwd=root)
    assert code in (0, 1, 2), err
    return code, json.loads(out)


def findings(root: Path, *args: str) -> list[tuple[str, str, int | None]]:
    """``(code, path, line)`` for every finding; a file dfix could not process is
    ``("DF900", path, None)``."""
    _, doc = report(root, *args)
    out = []
    for f in doc["files"]:
        if f["status"] == "error":
            out.append(("DF900", f["path"], None))
        out += [(x["code"], f["path"], x["line"]) for x in f["findings"]]
    return sorted(out, key=lambda t: (t[0], t[1], t[2] or 0))


def errors(root: Path, *args: str) -> list[tuple[str, str]]:
    """``(path, message)`` for every file dfix could not process (DF900)."""
    _, doc = report(root, *args)
    return [(f["path"], f["error"]) for f in doc["files"] if f["status"] == "error"]


def check_findings(tmp_path: Path, code: str, files: Files, expected: list[tuple[str, int]], *args: str) -> None:
    write_project(tmp_path, files)
    got = [(path, line) for c, path, line in findings(tmp_path, *args) if c == code]
    assert got == expected


def check_noop(tmp_path: Path, code: str, files: Files, *args: str) -> None:
    write_project(tmp_path, files)
    assert [f for f in findings(tmp_path, *args) if f[0] == code] == []


def check_fixed(tmp_path: Path, code: str, files: Files, expected: Files, *args: str) -> None:
    write_project(tmp_path, files)
    assert code in {c for c, _, _ in findings(tmp_path, *args)}, f"{code} does not report the input"
    before = snapshot(tmp_path)
    run(["--write", "--format", "json", *args, "."], cwd=tmp_path)
    after = snapshot(tmp_path)
    want = _files(expected)
    for rel, data in before.items():
        if rel in want:
            assert after[rel].decode("utf-8") == want[rel], f"{rel} after --write"
        else:
            assert after[rel] == data, f"{rel} changed but the case expects it unchanged"
    run(["--write", "--format", "json", *args, "."], cwd=tmp_path)
    assert snapshot(tmp_path) == after, "a second --write changed the output"

"""refactor.codecache: what dfix compiles at start-up, kept between processes, is what compiling
gives, and a damaged, foreign or stale store is never trusted."""

from __future__ import annotations

import ast
import pathlib
import re
import subprocess
import sys

import pytest

from refactor import codecache

ROOT = pathlib.Path(__file__).resolve().parent.parent

PATTERNS: list[tuple[str | bytes, int]] = [
    (r"(?P<name>[A-Z_]+)=(?P<q>[\"']?)(.*?)(?P=q)$", re.M),
    (r"(?i)(?<![\w-])password\s+(\S+)", 0),
    (r"\b(?:npm|pnpm)\s+publish\b", re.I | re.S),
    (rb"#![^\n]*\b(?:sh|bash)\b", 0),
    (r"a{2,5}+(?:b|c)*?\Z", 0),
]


@pytest.fixture
def store(tmp_path, monkeypatch):
    s = codecache._Store(str(tmp_path / "store.compiled"))
    monkeypatch.setattr(codecache, "_STORE", s)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # (whatever PYTHONDONTWRITEBYTECODE says)
    return s


def _reopen(store: codecache._Store, monkeypatch) -> codecache._Store:
    """Save ``store`` and stand a fresh one on its file: what the next process finds."""
    store.save()
    fresh = codecache._Store(store.where)
    monkeypatch.setattr(codecache, "_STORE", fresh)
    return fresh


@pytest.mark.parametrize(("pattern", "flags"), PATTERNS)
def test_a_kept_pattern_is_the_pattern_re_compiles(store, monkeypatch, pattern, flags) -> None:
    first = codecache.regex(pattern, flags)
    assert first == re.compile(pattern, flags)
    fresh = _reopen(store, monkeypatch)
    again = codecache.regex(pattern, flags)
    assert ("re", pattern, int(flags)) in fresh.used and not fresh.changed  # (served from the file)
    assert again == re.compile(pattern, flags)  # same pattern, flags and program
    assert (again.groups, again.groupindex, again.flags) == (first.groups, first.groupindex, first.flags)
    sample = "x NAME='v' password hunter2 npm publish aaab" if isinstance(pattern, str) else b"#!/bin/sh\n"
    assert [m.span() for m in again.finditer(sample)] == [m.span() for m in re.compile(pattern, flags).finditer(sample)]


def test_a_kept_method_is_the_code_compile_gives(store, monkeypatch) -> None:
    source = "def f(a, b=2):\n    return (a, b, __name__)\n"
    ns: dict = {"__name__": "here"}
    exec(codecache.code(source), ns)
    _reopen(store, monkeypatch)
    code = codecache.code(source)
    assert code == compile(source, "<string>", "exec")
    ns2: dict = {"__name__": "there"}
    exec(code, ns2)
    assert ns2["f"](1) == (1, 2, "there")


@pytest.mark.parametrize("damage", ["flip", "truncate", "header", "empty"])
def test_a_damaged_or_foreign_store_is_ignored_and_rewritten(store, monkeypatch, damage) -> None:
    codecache.regex(r"kept-(\d+)")
    store.save()
    path = pathlib.Path(store.where or "")
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[-5] ^= 0xFF
    elif damage == "truncate":
        del raw[len(raw) // 2 :]
    elif damage == "header":
        raw[: len(b"dfix-compiled 1")] = b"dfix-compiled 9"
    else:
        raw.clear()
    path.write_bytes(bytes(raw))
    fresh = codecache._Store(store.where)
    monkeypatch.setattr(codecache, "_STORE", fresh)
    assert codecache.regex(r"kept-(\d+)") == re.compile(r"kept-(\d+)")
    assert fresh.changed  # compiled again, not read
    fresh.save()
    again = codecache._Store(store.where)
    assert again.get(("re", r"kept-(\d+)", 0)) is not None  # rewritten whole


def test_a_program_re_refuses_is_compiled_again(store, monkeypatch) -> None:
    key = ("re", r"(a)(b)", 0)
    store.put(key, (0, [1, 2, 3], 1, {}, (None, None, None)))  # not a program _sre accepts
    assert codecache.regex(r"(a)(b)") == re.compile(r"(a)(b)")


def test_nothing_is_written_when_bytecode_is_not(store, monkeypatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    codecache.regex(r"unwritten")
    store.save()
    assert not pathlib.Path(store.where or "").exists()


def test_the_store_sits_beside_the_pyc_and_honours_the_prefix(tmp_path) -> None:
    code = "import refactor.codecache as c; print(c._STORE.path())"
    out = subprocess.run(
        [sys.executable, "-X", f"pycache_prefix={tmp_path}", "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    assert out.startswith(str(tmp_path)) and out.endswith(".compiled")


def test_a_new_process_reads_what_an_earlier_one_wrote(tmp_path) -> None:
    """End to end, through the real store of a separate interpreter (its own pycache prefix)."""
    code = (
        "import re, refactor.codecache as c; p = c.regex(r'(?P<k>\\w+)=(\\d+)', re.I); "
        "print(c._STORE.changed, p == re.compile(r'(?P<k>\\w+)=(\\d+)', re.I))"
    )
    run = [sys.executable, "-X", f"pycache_prefix={tmp_path}", "-c", code]
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    first = subprocess.run(run, capture_output=True, text=True, check=True, cwd=ROOT, env=env).stdout.split()
    second = subprocess.run(run, capture_output=True, text=True, check=True, cwd=ROOT, env=env).stdout.split()
    assert first == ["True", "True"]  # compiled, and written at exit
    assert second == ["False", "True"]  # read back: nothing compiled


def test_only_patterns_from_dfix_source_are_kept() -> None:
    """The store is a file: a pattern built from a run's input (a secret value escaped into a mask)
    must never reach it. ``regex`` and ``lazy`` are called at module level only, on constants."""
    inside = []
    for path in sorted((ROOT / "refactor").rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("regex", "lazy"):
                    inside.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert inside == ["refactor/lazyre.py:37"]  # (LazyPattern compiling its own module-level pattern)

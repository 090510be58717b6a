"""Callers: Makefile recipes and justfiles."""

from __future__ import annotations

import pytest

from refactor.buildspec import SecretSpec
from refactor.callers import Target, find_in_text, plan_file
from refactor.fixes.edit import apply_edits


def migrate(text: str, kind: str, names=("NPM_TOKEN",)):
    path = "/repo/Makefile" if kind == "make" else "/repo/justfile"
    invs = find_in_text(path, text, kind)
    specs = {n: SecretSpec(n.lower(), "env", n) for n in names}
    plan = plan_file(path, text, [Target(i, specs) for i in invs])
    return apply_edits(text, plan.edits), plan, invs


MAKE_NOOPS = [
    "build:\n\tdocker build -t app .\n",
    "NPM_TOKEN ?=\nbuild:\n\t@echo --build-arg NPM_TOKEN=$(NPM_TOKEN)\n",
    "# docker build --build-arg NPM_TOKEN=$(NPM_TOKEN)\nall:\n\ttrue\n",
    "define RECIPE\n\tdocker build --build-arg NPM_TOKEN=$(NPM_TOKEN) .\nendef\n",
    "X = docker build --build-arg NPM_TOKEN=$(NPM_TOKEN) \\\n\t.\n",
    "build:\n\tdocker build --build-arg APP=$(APP) .\n",
]


@pytest.mark.parametrize("text", MAKE_NOOPS)
def test_make_noop(text: str) -> None:
    out, plan, _ = migrate(text, "make")
    assert out == text and plan.unmigratable == []


MAKE_CASES = [
    # a make variable is not exported to the recipe: prefix, after the recipe's @
    ("build:\n\t@docker build --build-arg NPM_TOKEN=$(NPM_TOKEN) -t app .\n",
     'export NPM_TOKEN\nbuild:\n\t@docker build --secret id=npm_token,env=NPM_TOKEN -t app .\n'),
    ("build:\n\t-docker build --build-arg NPM_TOKEN=${TOKEN} .\n",
     'export TOKEN\nbuild:\n\t-docker build --secret id=npm_token,env=TOKEN .\n'),
    # $$X is a shell variable of the recipe's shell: inherited, exported
    ("build:\n\tdocker build --build-arg NPM_TOKEN=$$NPM_TOKEN .\n",
     "build:\n\tdocker build --secret id=npm_token,env=NPM_TOKEN .\n"),
    ("build:\n\tdocker build --build-arg NPM_TOKEN .\n",
     "build:\n\tdocker build --secret id=npm_token,env=NPM_TOKEN .\n"),
    # continuation lines keep their layout
    ("IMAGE = app\nbuild:\n\tdocker build \\\n\t\t--build-arg NPM_TOKEN=$(NPM_TOKEN) \\\n\t\t-t $(IMAGE) .\n",
     'export NPM_TOKEN\nIMAGE = app\nbuild:\n\tdocker build \\\n\t\t--secret id=npm_token,env=NPM_TOKEN \\\n\t\t-t $(IMAGE) .\n'),
    # defined in the file: the export goes right after the definition (with its continuation lines)
    ("# tokens\nNPM_TOKEN ?= $(shell \\\n  cat .tok)\nbuild:\n\tdocker build --build-arg NPM_TOKEN=$(NPM_TOKEN) .\n",
     '# tokens\nNPM_TOKEN ?= $(shell \\\n  cat .tok)\nexport NPM_TOKEN\nbuild:\n\tdocker build --secret id=npm_token,env=NPM_TOKEN .\n'),
    ("build:\n\tcd app && docker build --build-arg NPM_TOKEN=$(shell cat .tok) .\n",
     'build:\n\tcd app && NPM_TOKEN="$(shell cat .tok)" docker build --secret id=npm_token,env=NPM_TOKEN .\n'),
]


@pytest.mark.parametrize("before,after", MAKE_CASES)
def test_make_rewrite(before: str, after: str) -> None:
    out, plan, _ = migrate(before, "make")
    assert out == after
    assert plan.unmigratable == []


def test_make_value_kinds() -> None:
    text = "b:\n\tdocker build --build-arg NPM_TOKEN=$(T) --build-arg X=$$Y --build-arg Z .\n"
    (inv,) = find_in_text("/repo/Makefile", text, "make")
    assert [(a.name, a.value_kind, a.source) for a in inv.build_args] == [
        ("NPM_TOKEN", "local", "T"), ("X", "env", "Y"), ("Z", "passthrough", None)]


def test_make_resolves_against_its_directory(tmp_path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("FROM scratch\n")
    mk = tmp_path / "svc" / "Makefile"
    text = "b:\n\tdocker build --build-arg NPM_TOKEN -f $(CURDIR)/Dockerfile .\n"
    mk.write_text(text)
    (inv,) = find_in_text(str(mk), text, "make", str(tmp_path))
    assert inv.dockerfile == str((tmp_path / "svc" / "Dockerfile").resolve())


JUST_NOOPS = [
    "build:\n    docker build -t app .\n",
    "x := \"docker build --build-arg NPM_TOKEN=1\"\nbuild:\n    echo {{x}}\n",
    "build:\n    docker build --build-arg APP={{v}} .\n",
]


@pytest.mark.parametrize("text", JUST_NOOPS)
def test_just_noop(text: str) -> None:
    out, plan, _ = migrate(text, "just")
    assert out == text and plan.unmigratable == []


JUST_CASES = [
    ("build:\n    docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n",
     "build:\n    docker build --secret id=npm_token,env=NPM_TOKEN .\n"),
    ("build token:\n    @docker build --build-arg NPM_TOKEN={{token}} .\n",
     'build token:\n    @NPM_TOKEN="{{token}}" docker build --secret id=npm_token,env=NPM_TOKEN .\n'),
    ("build:\n    docker build --build-arg NPM_TOKEN={{env_var('CI_NPM')}} .\n",
     "build:\n    docker build --secret id=npm_token,env=CI_NPM .\n"),
    ("# comment\nset dotenv-load\n\nbuild:\n    docker build \\\n      --build-arg NPM_TOKEN={{tok}} .\n\ntest:\n    true\n",
     '# comment\nset dotenv-load\n\nbuild:\n    NPM_TOKEN="{{tok}}" docker build \\\n      --secret id=npm_token,env=NPM_TOKEN .\n\ntest:\n    true\n'),
    ("build:\n    #!/usr/bin/env bash\n    set -e\n    t=$(cat f)\n    docker build --build-arg NPM_TOKEN=$t .\n",
     'build:\n    #!/usr/bin/env bash\n    set -e\n    t=$(cat f)\n    NPM_TOKEN="$t" docker build --secret id=npm_token,env=NPM_TOKEN .\n'),
]


@pytest.mark.parametrize("before,after", JUST_CASES)
def test_just_rewrite(before: str, after: str) -> None:
    out, plan, _ = migrate(before, "just")
    assert out == after
    assert plan.unmigratable == []


def test_just_powershell_cannot_take_a_prefix() -> None:
    text = 'set shell := ["pwsh", "-c"]\nbuild:\n    docker build --build-arg NPM_TOKEN={{tok}} .\n'
    out, plan, _ = migrate(text, "just")
    assert out == text
    assert plan.unmigratable


# --------------------------------------------------------------------------------------------
# Hardening #20: the recipe-header regex was cubic in a run of blanks (``a`` + 50 KB of spaces).

_JUST_HEADER_OLD = r"^@?[A-Za-z_][A-Za-z0-9_-]*(?:\s+[^:=]*?)?\s*:(?!=)"  # the original, verbatim

JUST_HEADER_LINES = [
    "build:",
    "build :",
    "@quiet:",
    "build target='x' *args:",
    "build +FLAGS: test",
    "test $ENV='dev': build",
    "a-b_c9:",
    "b(x):",
    "x := 'y'",
    "x:=1",
    "export X := 'y'",
    "set shell := ['bash', '-c']",
    "build name=\"a:b\":",
    "    docker build .",
    "# build:",
    "[private]",
    "alias b := build",
    "9build:",
    "build",
    "",
]


def _just_header_inputs(n: int, seed: int):
    import random

    rng = random.Random(seed)
    vocab = ["a", "Z", "_", "9", "-", "@", " ", "  ", "\t", "\f", "\x0b", ":", "=", ":=", "'", '"', "*", "+", "$", "x y", "é", "("]
    vocab += ["#", "\n"]
    yield from JUST_HEADER_LINES
    for _ in range(n):
        yield "".join(rng.choice(vocab) for _ in range(rng.randint(0, 12)))


def test_just_header_matches_what_the_original_regex_matched() -> None:
    import re

    from refactor.callers.scripts import _JUST_HEADER

    old = re.compile(_JUST_HEADER_OLD)
    for t in _just_header_inputs(40000, 20):
        want = old.match(t)
        got = _JUST_HEADER.match(t)
        assert (got.span() if got else None) == (want.span() if want else None), repr(t)
    assert "*+" in _JUST_HEADER.pattern and "++" in _JUST_HEADER.pattern  # possessive: each character read once


def test_a_hostile_justfile_line_finishes(tmp_path) -> None:
    """50 KB lines that made the old header regex backtrack cubically (the blanks split three ways,
    with no ``:`` to end them), above a real recipe that must still be migrated. The run is a
    subprocess whose timeout is only a hang guard (the old regex took days), never a timing budget."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    hostile = ["a" + " " * 50_000, "@b " + "c " * 25_000 + "=", "d" + "\t " * 25_000 + ":="]
    (tmp_path / ".git").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n")
    justfile = "\n".join(hostile) + "\nbuild:\n    docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n"
    (tmp_path / "justfile").write_text(justfile)
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("DFIX_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "refactor", "--diff", "."], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    assert "+    docker build --secret id=npm_token,env=NPM_TOKEN ." in proc.stdout, proc.stdout[-2000:]
    assert (tmp_path / "justfile").read_text() == justfile  # --diff writes nothing

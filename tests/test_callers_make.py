"""Callers: Makefile recipes and justfiles."""

from __future__ import annotations

import pytest

from refactor.build import SecretSpec
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

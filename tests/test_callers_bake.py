"""Callers: docker buildx bake files, HCL and JSON."""

from __future__ import annotations

import json
import textwrap

import pytest

from refactor.buildspec import SecretSpec
from refactor.callers import Target, find_in_text, plan_file
from refactor.callers.bake import parse_hcl
from refactor.fixes.edit import apply_edits

LIT = "lit-Bk29sLqPzv8aValue"


def migrate(text: str, kind: str, names=("NPM_TOKEN",)):
    path = "/repo/docker-bake.hcl" if kind == "bake-hcl" else "/repo/docker-bake.json"
    invs = find_in_text(path, text, kind)
    specs = {n: SecretSpec(n.lower(), "env", n) for n in names}
    plan = plan_file(path, text, [Target(i, specs) for i in invs])
    out = apply_edits(text, plan.edits)
    if plan.edits:
        if kind == "bake-hcl":
            assert parse_hcl(out) is not None
        else:
            json.loads(out)
    return out, plan, invs


def d(s: str) -> str:
    return textwrap.dedent(s).lstrip("\n")


HCL_NOOPS = [
    'target "app" {\n  context = "."\n}\n',
    'target "app" {\n  args = {\n    APP = "1"\n  }\n}\n',
    'variable "NPM_TOKEN" {}\n',
    'target "app" {\n  args = \n',  # broken: skipped
    '# args = { NPM_TOKEN = NPM_TOKEN }\n',
    'target "app" {\n  labels = { NPM_TOKEN = "x" }\n}\n',
]


@pytest.mark.parametrize("text", HCL_NOOPS)
def test_hcl_noop(text: str) -> None:
    out, plan, _ = migrate(text, "bake-hcl")
    assert out == text and plan.unmigratable == []


def test_hcl_entry_moves_to_new_secret_attribute() -> None:
    before = d("""
        variable "NPM_TOKEN" {}
        target "app" {
          context = "."
          args = {
            NPM_TOKEN = NPM_TOKEN  # from env
            APP       = "1"
          }
          tags = ["app"]
        }
        """)
    after = d("""
        variable "NPM_TOKEN" {}
        target "app" {
          context = "."
          args = {
            APP       = "1"
          }
          secret = ["id=npm_token,env=NPM_TOKEN"]
          tags = ["app"]
        }
        """)
    out, plan, invs = migrate(before, "bake-hcl")
    assert out == after
    assert [(a.name, a.value_kind, a.source) for a in invs[0].build_args] == [("NPM_TOKEN", "env", "NPM_TOKEN"), ("APP", "literal", None)]


def test_hcl_args_replaced_when_empty_and_template_value() -> None:
    before = 'target "app" {\n  args = {\n    NPM_TOKEN = "${CI_NPM}"\n  }\n}\n'
    after = 'target "app" {\n  secret = ["id=npm_token,env=CI_NPM"]\n}\n'
    assert migrate(before, "bake-hcl")[0] == after


def test_hcl_single_line_object_and_existing_lists() -> None:
    before = d("""
        target "a" {
          args = { NPM_TOKEN = NPM_TOKEN, X = "1" }
          secret = ["id=other,env=OTHER"]
        }
        target "b" {
          args = { NPM_TOKEN = NPM_TOKEN }
          secret = [
            "id=other,env=OTHER"
          ]
        }
        """)
    after = d("""
        target "a" {
          args = { X = "1" }
          secret = ["id=other,env=OTHER", "id=npm_token,env=NPM_TOKEN"]
        }
        target "b" {
          secret = [
            "id=other,env=OTHER",
            "id=npm_token,env=NPM_TOKEN"
          ]
        }
        """)
    assert migrate(before, "bake-hcl")[0] == after


def test_hcl_default_and_literal_are_reported() -> None:
    before = f'variable "TOK" {{\n  default = "{LIT}"\n}}\ntarget "a" {{\n  args = {{\n    NPM_TOKEN = TOK\n    PIP_TOKEN = "{LIT}"\n  }}\n}}\n'
    out, plan, invs = migrate(before, "bake-hcl", names=("NPM_TOKEN", "PIP_TOKEN"))
    assert 'secret = ["id=npm_token,env=TOK", "id=pip_token,env=PIP_TOKEN"]' in out
    assert sorted(plan.rotate) == ["NPM_TOKEN", "PIP_TOKEN"]
    assert any("default" in n for n in plan.notes)
    leaked = any(LIT in t for t in (*plan.notes, repr(invs), out.split("target")[1]))
    assert not leaked, "the committed value leaked"


def test_hcl_mixed_value_not_migrated() -> None:
    text = 'target "a" {\n  args = {\n    NPM_TOKEN = "${A}-${B}"\n  }\n}\n'
    out, plan, _ = migrate(text, "bake-hcl")
    assert out == text and plan.unmigratable


def test_hcl_inherits_and_paths(tmp_path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "app.Dockerfile").write_text("FROM scratch\n")
    text = 'variable "DIR" { default = "svc" }\ntarget "base" {\n  context = "${DIR}"\n  dockerfile = "app.Dockerfile"\n}\ntarget "app" {\n  inherits = ["base"]\n  args = { NPM_TOKEN = NPM_TOKEN }\n}\n'
    p = tmp_path / "docker-bake.hcl"
    (inv,) = find_in_text(str(p), text, "bake-hcl", str(tmp_path))
    assert inv.dockerfile == str((tmp_path / "svc" / "app.Dockerfile").resolve())


JSON_NOOPS = [
    '{"target": {"app": {"context": "."}}}\n',
    '{"target": {"app": {"args": {"X": "1"}}}}\n',
    "[1, 2]\n",
    '{"target": \n',
]


@pytest.mark.parametrize("text", JSON_NOOPS)
def test_json_noop(text: str) -> None:
    out, plan, _ = migrate(text, "bake-json")
    assert out == text and plan.unmigratable == []


def test_json_member_removed_and_secret_added() -> None:
    before = d("""
        {
          "target": {
            "app": {
              "args": {
                "NPM_TOKEN": "${NPM_TOKEN}",
                "X": "1"
              },
              "tags": ["app"]
            }
          }
        }
        """)
    after = d("""
        {
          "target": {
            "app": {
              "args": {
                "X": "1"
              },
              "secret": ["id=npm_token,env=NPM_TOKEN"],
              "tags": ["app"]
            }
          }
        }
        """)
    assert migrate(before, "bake-json")[0] == after


def test_json_last_member_and_existing_secret() -> None:
    before = '{"target": {"app": {"args": {"X": "1", "NPM_TOKEN": "${T}"}, "secret": ["id=o,env=O"]}}}\n'
    after = '{"target": {"app": {"args": {"X": "1"}, "secret": ["id=o,env=O", "id=npm_token,env=T"]}}}\n'
    assert migrate(before, "bake-json")[0] == after


def test_json_args_only_secret_replaced() -> None:
    before = '{"target": {"app": {"context": ".", "args": {"NPM_TOKEN": "${NPM_TOKEN}"}}}}\n'
    after = '{"target": {"app": {"context": ".", "secret": ["id=npm_token,env=NPM_TOKEN"]}}}\n'
    assert migrate(before, "bake-json")[0] == after

"""Callers: compose files (ruamel.yaml locates, text splices edit)."""

from __future__ import annotations

import textwrap

import pytest

from refactor.buildspec import SecretSpec
from refactor.callers import Target, find_in_text, plan_file
from refactor.callers.yamlutil import compose as parse_yaml
from refactor.fixes.edit import apply_edits

PATH = "/repo/compose.yaml"
LIT = "lit-8HqzV0cwPp2valueX"


def migrate(text: str, names=("NPM_TOKEN",), path: str = PATH):
    invs = find_in_text(path, text, "compose")
    specs = {n: SecretSpec(n.lower(), "env", n) for n in names}
    plan = plan_file(path, text, [Target(i, specs) for i in invs])
    out = apply_edits(text, plan.edits)
    assert not plan.edits or parse_yaml(out) is not None
    return out, plan, invs


def d(s: str) -> str:
    return textwrap.dedent(s).lstrip("\n")


NOOPS = [
    "services:\n  app:\n    image: nginx\n",
    "services:\n  app:\n    build: .\n",
    "services:\n  app:\n    build:\n      context: .\n      args:\n        APP: '1'\n",
    "services:\n  app:\n    environment:\n      NPM_TOKEN: ${NPM_TOKEN}\n",
    "not: [valid\n",
    "- a\n- b\n",
    "",
]


@pytest.mark.parametrize("text", NOOPS)
def test_noop(text: str) -> None:
    out, plan, _ = migrate(text)
    assert out == text and plan.unmigratable == []


def test_map_form_keeps_comments_and_quoting() -> None:
    before = d("""
        # stack
        services:
          app:
            build:
              context: .
              args:
                # npm auth
                NPM_TOKEN: "${NPM_TOKEN}"   # from the shell
                APP_ENV: 'dev'  # kept
            ports:
              - "80:80"
        """)
    after = d("""
        # stack
        services:
          app:
            build:
              context: .
              args:
                # npm auth
                APP_ENV: 'dev'  # kept
              secrets:
                - npm_token
            ports:
              - "80:80"
        secrets:
          npm_token:
            environment: NPM_TOKEN  # read from the environment of `docker compose build`; Compose >= 2.39.3 ignores .env here
        """)
    out, plan, _ = migrate(before)
    assert out == after
    assert any("2.6" in n for n in plan.notes)


def test_list_form_and_args_removed_when_empty() -> None:
    before = d("""
        services:
          app:
            build:
              context: ./app
              args:
                - NPM_TOKEN=${CI_NPM_TOKEN}
            image: app
        """)
    after = d("""
        services:
          app:
            build:
              context: ./app
              secrets:
                - npm_token
            image: app
        secrets:
          npm_token:
            environment: CI_NPM_TOKEN  # read from the environment of `docker compose build`; Compose >= 2.39.3 ignores .env here
        """)
    assert migrate(before)[0] == after


def test_passthrough_forms() -> None:
    before = "services:\n  a:\n    build:\n      args:\n        - NPM_TOKEN\n  b:\n    build:\n      args:\n        NPM_TOKEN:\n"
    after = ("services:\n  a:\n    build:\n      secrets:\n        - npm_token\n  b:\n    build:\n      secrets:\n        - npm_token\n"
             "secrets:\n  npm_token:\n    environment: NPM_TOKEN  # read from the environment of `docker compose build`; Compose >= 2.39.3 ignores .env here\n")
    out, _, invs = migrate(before)
    assert [inv.build_args[0].value_kind for inv in invs] == ["passthrough", "passthrough"]
    assert out == after


def test_flow_mapping_args() -> None:
    before = "services:\n  app:\n    build:\n      args: {NPM_TOKEN: $NPM_TOKEN, X: \"1\"}\n"
    after = ("services:\n  app:\n    build:\n      args: {X: \"1\"}\n      secrets:\n        - npm_token\n"
             "secrets:\n  npm_token:\n    environment: NPM_TOKEN  # read from the environment of `docker compose build`; Compose >= 2.39.3 ignores .env here\n")
    assert migrate(before)[0] == after


@pytest.mark.parametrize("text", [
    "services:\n  app:\n    build: {context: svc, args: {NPM_TOKEN: \"${NPM_TOKEN}\"}}\n",
    "services:\n  app:\n    build: {context: svc, args: {NPM_TOKEN: \"${NPM_TOKEN}\"}}\n    image: app\n",
])
def test_flow_mapping_build_is_left_to_the_user(text: str) -> None:
    """A one-line build mapping cannot take a block-style secrets key: the caller is
    unmigratable (so the Dockerfile fix becomes unsafe), never rewritten into something else."""
    out, plan, _ = migrate(text)
    assert plan.unmigratable and "flow mapping" in plan.unmigratable[0]


def test_an_edit_that_changes_more_than_the_args_is_refused(monkeypatch) -> None:
    """Whatever the edit planner does, the result is compared with the original as data: only
    build args and secrets may differ."""
    import refactor.callers.compose as compose_mod
    from refactor.fixes.edit import Edit

    real = compose_mod._add_build_secrets

    def broken(text, svc, refs, *a, **kw):
        real(text, svc, refs, *a, **kw)
        result = a[-2]
        result.edits.append(Edit(0, len("services:"), "servicez:"))

    monkeypatch.setattr(compose_mod, "_add_build_secrets", broken)
    out, plan, _ = migrate("services:\n  app:\n    build:\n      context: .\n      args:\n        NPM_TOKEN: ${NPM_TOKEN}\n")
    assert any("more than the build args" in u for u in plan.unmigratable)


def test_existing_build_secrets_and_top_level_secrets_are_extended() -> None:
    before = d("""
        services:
          app:
            build:
              args:
                NPM_TOKEN: ${NPM_TOKEN}
              secrets:
                - other
        secrets:
          other:
            file: ./other.txt
        """)
    after = d("""
        services:
          app:
            build:
              secrets:
                - other
                - npm_token
        secrets:
          other:
            file: ./other.txt
          npm_token:
            environment: NPM_TOKEN  # read from the environment of `docker compose build`; Compose >= 2.39.3 ignores .env here
        """)
    assert migrate(before)[0] == after


def test_same_id_from_two_variables_uses_long_syntax() -> None:
    before = d("""
        services:
          a:
            build:
              args:
                NPM_TOKEN: ${NPM_TOKEN}
          b:
            build:
              args:
                NPM_TOKEN: ${OTHER_TOKEN}
        """)
    after = d("""
        services:
          a:
            build:
              secrets:
                - npm_token
          b:
            build:
              secrets:
                - source: npm_token_other_token
                  target: npm_token
        secrets:
          npm_token:
            environment: NPM_TOKEN  # read from the environment of `docker compose build`; Compose >= 2.39.3 ignores .env here
          npm_token_other_token:
            environment: OTHER_TOKEN  # read from the environment of `docker compose build`; Compose >= 2.39.3 ignores .env here
        """)
    assert migrate(before)[0] == after


def test_literal_removed_and_reported() -> None:
    before = f"services:\n  app:\n    build:\n      args:\n        NPM_TOKEN: {LIT}\n"
    out, plan, invs = migrate(before)
    assert out == "services:\n  app:\n    build:\n      secrets:\n        - npm_token\nsecrets:\n  npm_token:\n    environment: NPM_TOKEN  # read from the environment of `docker compose build`; Compose >= 2.39.3 ignores .env here\n"
    assert plan.rotate == ["NPM_TOKEN"]
    leaked = any(LIT in t for t in (out, *plan.notes, repr(invs)))
    assert not leaked, "the committed value leaked"


def test_mixed_value_is_not_migrated() -> None:
    text = "services:\n  app:\n    build:\n      args:\n        NPM_TOKEN: pre-${NPM_TOKEN}\n"
    out, plan, _ = migrate(text)
    assert out == text
    assert plan.unmigratable


def test_shared_anchor_is_not_migrated() -> None:
    text = d("""
        x-build: &b
          args:
            NPM_TOKEN: ${NPM_TOKEN}
        services:
          app:
            build:
              <<: *b
              context: .
        """)
    out, plan, invs = migrate(text)
    assert out == text
    assert invs and invs[0].migratable is False
    assert plan.unmigratable


def test_crlf_and_four_space_indent() -> None:
    before = "services:\r\n    app:\r\n        build:\r\n            args:\r\n                NPM_TOKEN: ${NPM_TOKEN}\r\n"
    after = ("services:\r\n    app:\r\n        build:\r\n            secrets:\r\n                - npm_token\r\n"
             "secrets:\r\n    npm_token:\r\n        environment: NPM_TOKEN  # read from the environment of `docker compose build`; Compose >= 2.39.3 ignores .env here\r\n")
    assert migrate(before)[0] == after


def test_paths_resolve_from_context(tmp_path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile.dev").write_text("FROM scratch\n")
    text = "services:\n  a:\n    build:\n      context: svc\n      dockerfile: Dockerfile.dev\n      args: [NPM_TOKEN]\n"
    p = tmp_path / "docker-compose.yml"
    p.write_text(text)
    (inv,) = find_in_text(str(p), text, "compose", str(tmp_path))
    assert inv.dockerfile == str((tmp_path / "svc" / "Dockerfile.dev").resolve())
    assert inv.context == str((tmp_path / "svc").resolve())


def test_multi_document_compose_blocks_instead_of_being_skipped() -> None:
    """Compose merges the documents of a multi-document file; dfix does not edit such a file but
    finds its builds, so the Dockerfile fix becomes unsafe instead of leaving the caller behind."""
    text = "services:\n  app:\n    build:\n      context: .\n---\nservices:\n  app:\n    build:\n      args:\n        NPM_TOKEN: ${NPM_TOKEN}\n"
    out, plan, invs = migrate(text)
    assert invs and out == text
    assert any("multi-document" in u for u in plan.unmigratable)


def _alias_bomb_compose() -> str:
    """A compose file whose build args sit next to a "billion laughs" (nine aliases of nine aliases
    of … nine levels deep): ruamel reads it, dfix refuses it (expanded, it would hang the run)."""
    lines = ["x-l0: &l0 [lol]"]
    lines += [f"x-l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\nservices:\n  app:\n    build:\n      context: .\n      args:\n        NPM_TOKEN: ${NPM_TOKEN}\n"


def test_a_refused_compose_file_is_an_unresolved_caller_not_nothing() -> None:
    """Hardening #20: a compose file whose YAML dfix refuses (an alias bomb, too deep) was skipped
    silently; it may pass any build arg, so it is now an unmigratable invocation with the reason."""
    from refactor.callers import yamlutil as Y

    text = _alias_bomb_compose()
    assert Y.compose(text) is None and "alias bomb" in (Y.refusal(text) or "")
    (inv,) = find_in_text(PATH, text, "compose", "/repo")
    assert not inv.migratable and inv.dockerfile is None
    assert [u.name for u in inv.build_args] == ["*"]
    assert inv.reason is not None
    assert inv.reason.startswith("compose.yaml: dfix does not read this YAML file (") and "alias bomb" in inv.reason
    # plain syntax errors are still just not compose files
    assert find_in_text(PATH, "not: [valid\n", "compose") == []


def test_a_refused_compose_file_blocks_the_fix_with_its_reason(tmp_path) -> None:
    """End to end, like the CI YAML case in test_hardening_redos: the Dockerfile fix that would
    migrate NPM_TOKEN is blocked, nothing is written, and the output says why."""
    from helpers import run

    dockerfile = "FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n"
    body = _alias_bomb_compose()
    (tmp_path / ".git").mkdir()
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "docker-compose.yml").write_text(body)
    code, out, err = run(["--write", "."], cwd=tmp_path)
    assert code in (0, 1), err
    assert "docker-compose.yml: dfix does not read this YAML file" in out
    assert "alias bomb" in out
    assert (tmp_path / "Dockerfile").read_text() == dockerfile
    assert (tmp_path / "docker-compose.yml").read_text() == body

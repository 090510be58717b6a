"""Callers: GitHub Actions workflows (build-push-action and run: steps, matrix builds)."""

from __future__ import annotations

import textwrap

import pytest

from refactor.buildspec import SecretSpec
from refactor.callers import Target, find_in_text, plan_file
from refactor.callers.yamlutil import compose as parse_yaml
from refactor.fixes.edit import apply_edits

PATH = "/repo/.github/workflows/ci.yml"
LIT = "lit-Yc7Rw2mNq4xValue"


def migrate(text: str, names=("NPM_TOKEN",), root=None, specs=None, declared=None):
    invs = find_in_text(PATH, text, "github", root)
    specs = specs or {n: SecretSpec(n.lower(), "env", n) for n in names}
    plan = plan_file(PATH, text, [Target(i, specs, declared) for i in invs])
    out = apply_edits(text, plan.edits)
    assert not plan.edits or parse_yaml(out) is not None
    return out, plan, invs


def wf(steps: str, extra: str = "") -> str:
    return "name: ci\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n" + extra + "    steps:\n" + textwrap.indent(textwrap.dedent(steps).lstrip("\n"), "      ")


NOOPS = [
    wf("- uses: actions/checkout@v4\n"),
    wf("- uses: docker/build-push-action@v6\n  with:\n    push: true\n"),
    wf("- uses: docker/build-push-action@v6\n  with:\n    build-args: |\n      APP=1\n"),
    wf("- run: docker build -t app .\n"),
    wf("- run: echo --build-arg NPM_TOKEN\n"),
    wf("- uses: other/build-action@v1\n  with:\n    build-args: NPM_TOKEN=x\n"),
    "on: [push\n",
]


@pytest.mark.parametrize("text", NOOPS)
def test_noop(text: str) -> None:
    out, plan, _ = migrate(text)
    assert out == text and plan.unmigratable == []


def test_action_ci_secret_moves_to_secrets_input() -> None:
    before = wf("""
        - name: Build
          uses: docker/build-push-action@v6
          with:
            context: .
            # build args
            build-args: |
              NPM_TOKEN=${{ secrets.NPM_TOKEN }}
              APP=1
            push: false
        """)
    after = wf("""
        - name: Build
          uses: docker/build-push-action@v6
          with:
            context: .
            # build args
            build-args: |
              APP=1
            secrets: |
              npm_token=${{ secrets.NPM_TOKEN }}
            push: false
        """)
    out, plan, invs = migrate(before)
    assert out == after
    assert invs[0].build_args[0].value_kind == "ci-secret" and invs[0].build_args[0].source == "NPM_TOKEN"


def test_action_env_value_uses_secret_envs_on_v5_1() -> None:
    before = wf("""
        - uses: docker/build-push-action@v5.1.0
          with:
            build-args: |
              NPM_TOKEN=${{ env.NPM }}
            secrets: |
              other=${{ secrets.O }}
        """)
    after = wf("""
        - uses: docker/build-push-action@v5.1.0
          with:
            secret-envs: |
              npm_token=NPM
            secrets: |
              other=${{ secrets.O }}
        """)
    assert migrate(before)[0] == after


@pytest.mark.parametrize("ref,expect", [
    ("v4", "secrets: |\n            npm_token=${{ env.NPM_TOKEN }}"),
    ("v5.0.0", "secrets: |\n            npm_token=${{ env.NPM_TOKEN }}"),
    ("v5", "secret-envs: |\n            npm_token=NPM_TOKEN"),
    ("0123456789abcdef0123456789abcdef01234567 # v6.2.0", "secret-envs: |\n            npm_token=NPM_TOKEN"),
    ("0123456789abcdef0123456789abcdef01234567", "secrets: |\n            npm_token=${{ env.NPM_TOKEN }}"),
])
def test_action_passthrough_by_version(ref: str, expect: str) -> None:
    before = wf(f"""
        - uses: docker/build-push-action@{ref}
          with:
            build-args: |
              NPM_TOKEN
        """)
    out = migrate(before)[0]
    assert expect in out
    assert "build-args" not in out


def test_action_literal_becomes_a_repository_secret_reference() -> None:
    before = wf(f"""
        - uses: docker/build-push-action@v6
          with:
            build-args: |
              NPM_TOKEN={LIT}
        """)
    out, plan, invs = migrate(before)
    assert "npm_token=${{ secrets.NPM_TOKEN }}" in out
    assert plan.rotate == ["NPM_TOKEN"]
    leaked = any(LIT in t for t in (out, *plan.notes, repr(invs)))
    assert not leaked, "the committed value leaked"


def test_action_shell_variable_is_not_expanded_in_with() -> None:
    text = wf("""
        - uses: docker/build-push-action@v6
          with:
            build-args: |
              NPM_TOKEN=$NPM_TOKEN
        """)
    out, plan, _ = migrate(text)
    assert out == text and plan.unmigratable


def test_run_step_secret_moves_to_step_env() -> None:
    before = wf("""
        - name: Build
          run: |
            docker build \\
              --build-arg NPM_TOKEN=${{ secrets.NPM_TOKEN }} \\
              -t app .
        """)
    after = wf("""
        - name: Build
          env:
            NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
          run: |
            docker build \\
              --secret id=npm_token,env=NPM_TOKEN \\
              -t app .
        """)
    assert migrate(before)[0] == after


def test_run_step_existing_env_extended_and_exported_var() -> None:
    before = wf("""
        - env:
            FOO: bar
          run: docker build --build-arg "NPM_TOKEN=${{ secrets.T }}" --build-arg PIP_TOKEN=$PIP .
        """)
    after = wf("""
        - env:
            FOO: bar
            NPM_TOKEN: ${{ secrets.T }}
          run: docker build --secret id=npm_token,env=NPM_TOKEN --secret id=pip_token,env=PIP .
        """)
    assert migrate(before, names=("NPM_TOKEN", "PIP_TOKEN"))[0] == after


def test_run_step_job_env_with_same_value_adds_nothing() -> None:
    before = wf("- run: docker build --build-arg NPM_TOKEN=${{ secrets.NPM }} .\n", extra="    env:\n      NPM_TOKEN: ${{ secrets.NPM }}\n")
    after = wf("- run: docker build --secret id=npm_token,env=NPM_TOKEN .\n", extra="    env:\n      NPM_TOKEN: ${{ secrets.NPM }}\n")
    assert migrate(before)[0] == after


def test_run_step_local_gets_a_prefix() -> None:
    before = wf("- run: |\n    TOKEN=$(cat t)\n    docker build --build-arg NPM_TOKEN=$TOKEN .\n")
    after = wf('- run: |\n    TOKEN=$(cat t)\n    NPM_TOKEN="$TOKEN" docker build --secret id=npm_token,env=NPM_TOKEN .\n')
    assert migrate(before)[0] == after


def test_run_step_pwsh_cannot_take_a_prefix() -> None:
    text = wf("- shell: pwsh\n  run: |\n    $t = Get-Content t\n    docker build --build-arg NPM_TOKEN=$(cat t) .\n")
    out, plan, _ = migrate(text)
    assert out == text and plan.unmigratable


def test_static_matrix_resolves_each_entry(tmp_path) -> None:
    for svc in ("api", "web", "extra"):
        (tmp_path / svc).mkdir()
        (tmp_path / svc / "Dockerfile").write_text("FROM scratch\n")
    text = wf("""
        - uses: docker/build-push-action@v6
          with:
            context: ${{ matrix.svc }}
            file: ${{ matrix.svc }}/Dockerfile
            build-args: |
              NPM_TOKEN=${{ secrets.NPM_TOKEN }}
        """, extra="    strategy:\n      matrix:\n        svc: [api, web]\n        include:\n          - svc: extra\n")
    out, plan, invs = migrate(text, root=str(tmp_path))
    assert sorted(i.dockerfile for i in invs) == sorted(str((tmp_path / s / "Dockerfile").resolve()) for s in ("api", "extra", "web"))
    assert len({(i.start, i.end) for i in invs}) == 1
    assert out.count("npm_token=${{ secrets.NPM_TOKEN }}") == 1


def test_dynamic_matrix_links_by_pattern(tmp_path) -> None:
    for svc in ("a", "b"):
        (tmp_path / "services" / svc).mkdir(parents=True)
        (tmp_path / "services" / svc / "Dockerfile").write_text("FROM scratch\n")
    text = wf("""
        - run: docker build --build-arg NPM_TOKEN -f services/${{ matrix.s }}/Dockerfile .
        - uses: docker/build-push-action@v6
          with:
            context: services/${{ matrix.s }}
            build-args: NPM_TOKEN
        """, extra="    strategy:\n      matrix: ${{ fromJSON(needs.plan.outputs.m) }}\n")
    invs = find_in_text(PATH, text, "github", str(tmp_path))
    want = [str((tmp_path / "services" / s / "Dockerfile").resolve()) for s in ("a", "b")]
    action = [i for i in invs if i.build_args[0].start > text.index("uses: docker")]
    run = [i for i in invs if i not in action]
    assert sorted(i.dockerfile for i in action) == want
    assert sorted(i.dockerfile for i in run) == want


def test_matrix_entry_that_still_declares_the_arg_blocks_the_shared_step() -> None:
    text = wf("""
        - uses: docker/build-push-action@v6
          with:
            file: ${{ matrix.f }}
            build-args: |
              NPM_TOKEN=${{ secrets.NPM_TOKEN }}
        """, extra="    strategy:\n      matrix:\n        f: [a/Dockerfile, b/Dockerfile]\n")
    invs = find_in_text(PATH, text, "github", "/nonexistent-root")
    assert len(invs) == 2
    spec = {"NPM_TOKEN": SecretSpec("npm_token", "env", "NPM_TOKEN")}
    targets = [Target(invs[0], spec, frozenset()), Target(invs[1], {}, frozenset({"NPM_TOKEN"}))]
    plan = plan_file(PATH, text, targets)
    assert plan.edits == [] and plan.unmigratable

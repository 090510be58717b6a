"""Callers: Python build scripts (libcst positions, text splices)."""

from __future__ import annotations

import textwrap

import libcst
import pytest

from refactor.buildspec import SecretSpec
from refactor.callers import Target, find_in_text, plan_file
from refactor.fixes.edit import apply_edits

PATH = "/repo/build.py"
LIT = "lit-Py5wQ8nRt3kValueZ"


def migrate(text: str, names=("NPM_TOKEN",)):
    invs = find_in_text(PATH, text, "python")
    specs = {n: SecretSpec(n.lower(), "env", n) for n in names}
    plan = plan_file(PATH, text, [Target(i, specs) for i in invs])
    out = apply_edits(text, plan.edits)
    if plan.edits:
        libcst.parse_module(out)
    return out, plan, invs


def d(s: str) -> str:
    return textwrap.dedent(s).lstrip("\n")


NOOPS = [
    "import subprocess\nsubprocess.run(['docker', 'build', '.'])\n",
    "import subprocess\nsubprocess.run(['docker', 'run', '--build-arg', 'NPM_TOKEN', 'x'])\n",
    "import subprocess\nsubprocess.run(['echo', '--build-arg', 'NPM_TOKEN'])\n",
    "x = ['docker', 'build', '--build-arg', 'NPM_TOKEN=1']  # never run\n",
    "def f(:\n    pass\n",  # not Python: skipped
    "import subprocess\nsubprocess.run(['docker', 'build', '--build-arg', 'APP=1', '.'])\n",
    "import subprocess\nsubprocess.run(cmd_from_elsewhere)\n",
]


@pytest.mark.parametrize("text", NOOPS)
def test_noop(text: str) -> None:
    out, plan, _ = migrate(text)
    assert out == text and plan.unmigratable == []


def test_list_fstring_value_goes_through_env_and_import_os_is_added() -> None:
    before = d('''
        """Build."""
        import subprocess

        def build(token):
            subprocess.run(["docker", "build", "--build-arg", f"NPM_TOKEN={token}", "."], check=True)
        ''')
    after = d('''
        """Build."""
        import os
        import subprocess

        def build(token):
            subprocess.run(["docker", "build", "--secret", "id=npm_token,env=NPM_TOKEN", "."], check=True, env={**os.environ, "NPM_TOKEN": token})
        ''')
    out, _, invs = migrate(before)
    assert out == after
    assert (invs[0].build_args[0].value_kind, invs[0].build_args[0].source) == ("local", "token")


def test_multiline_call_existing_env_expression_and_concatenation() -> None:
    before = d('''
        import os
        from subprocess import check_call as cc

        def build(token, base_env):
            cc(
                ["docker", "build",
                 "--build-arg", "NPM_TOKEN=" + token,
                 "."],
                env=base_env,
            )
        ''')
    after = d('''
        import os
        from subprocess import check_call as cc

        def build(token, base_env):
            cc(
                ["docker", "build",
                 "--secret", "id=npm_token,env=NPM_TOKEN",
                 "."],
                env={**base_env, "NPM_TOKEN": token},
            )
        ''')
    assert migrate(before)[0] == after


def test_existing_env_dict_is_merged_and_new_keyword_on_own_line() -> None:
    before = d('''
        import os
        import subprocess as sp

        def build(tok):
            sp.run(["docker", "build", "--build-arg", f"NPM_TOKEN={tok}", "."], env={**os.environ, "A": "1"})
            sp.check_output(
                ["docker", "build", "--build-arg=NPM_TOKEN={}".format(tok), "."],
                text=True,
            )
        ''')
    after = d('''
        import os
        import subprocess as sp

        def build(tok):
            sp.run(["docker", "build", "--secret", "id=npm_token,env=NPM_TOKEN", "."], env={**os.environ, "A": "1", "NPM_TOKEN": tok})
            sp.check_output(
                ["docker", "build", "--secret=id=npm_token,env=NPM_TOKEN", "."],
                text=True,
                env={**os.environ, "NPM_TOKEN": "{}".format(tok)},
            )
        ''')
    out, plan, invs = migrate(before)
    assert out == after
    assert (invs[-1].build_args[0].name, invs[-1].build_args[0].value_kind) == ("NPM_TOKEN", "unknown")


def test_named_list_with_augmented_assignment() -> None:
    before = d('''
        import os
        import subprocess

        def build(token):
            cmd = ["docker", "buildx", "build", "-t", "app"]
            cmd += ["--build-arg", f"NPM_TOKEN={token}"]
            cmd.append(".")
            subprocess.run(cmd, check=True)
        ''')
    after = d('''
        import os
        import subprocess

        def build(token):
            cmd = ["docker", "buildx", "build", "-t", "app"]
            cmd += ["--secret", "id=npm_token,env=NPM_TOKEN"]
            cmd.append(".")
            subprocess.run(cmd, check=True, env={**os.environ, "NPM_TOKEN": token})
        ''')
    assert migrate(before)[0] == after


def test_environment_values_and_passthrough_need_no_env() -> None:
    before = d('''
        import os, subprocess
        subprocess.run(["docker", "build", "--build-arg", "NPM_TOKEN=" + os.environ["CI_NPM"], "."])
        subprocess.run(['docker', 'build', '--build-arg', 'NPM_TOKEN', '.'])
        ''')
    after = d('''
        import os, subprocess
        subprocess.run(["docker", "build", "--secret", "id=npm_token,env=CI_NPM", "."])
        subprocess.run(['docker', 'build', '--secret', 'id=npm_token,env=NPM_TOKEN', '.'])
        ''')
    assert migrate(before)[0] == after


def test_shell_strings() -> None:
    before = d('''
        import os
        import subprocess

        def build(token):
            subprocess.run(f"docker build --build-arg NPM_TOKEN={token} .", shell=True)
            subprocess.run("docker build --build-arg NPM_TOKEN=$NPM_TOKEN .", shell=True)
            os.system("t=$(cat f); docker build --build-arg NPM_TOKEN=$t .")
        ''')
    after = d('''
        import os
        import subprocess

        def build(token):
            subprocess.run(f"docker build --secret id=npm_token,env=NPM_TOKEN .", shell=True, env={**os.environ, "NPM_TOKEN": token})
            subprocess.run("docker build --secret id=npm_token,env=NPM_TOKEN .", shell=True)
            os.system("t=$(cat f); NPM_TOKEN=\\"$t\\" docker build --secret id=npm_token,env=NPM_TOKEN .")
        ''')
    assert migrate(before)[0] == after


def test_literal_removed_and_reported() -> None:
    before = f'import subprocess\nsubprocess.run(["docker", "build", "--build-arg", "NPM_TOKEN={LIT}", "."])\n'
    out, plan, invs = migrate(before)
    assert out == 'import subprocess\nsubprocess.run(["docker", "build", "--secret", "id=npm_token,env=NPM_TOKEN", "."])\n'
    assert plan.rotate == ["NPM_TOKEN"]
    leaked = any(LIT in t for t in (out, *plan.notes, repr(invs)))
    assert not leaked, "the committed value leaked"


def test_docker_sdk_cannot_be_migrated() -> None:
    text = d('''
        import docker
        client = docker.from_env()
        client.images.build(path="svc", dockerfile="Dockerfile.prod", buildargs={"NPM_TOKEN": token, "X": "1"})
        ''')
    out, plan, invs = migrate(text)
    assert out == text
    assert invs[0].migratable is False and "python-on-whales" in (invs[0].reason or "")
    assert len(plan.unmigratable) == 1
    reason = plan.unmigratable[0]
    assert "docker.buildx.build('svc', file='Dockerfile.prod', secrets=[\"id=npm_token,env=NPM_TOKEN\"])" in reason


def test_non_ascii_columns_are_code_points() -> None:
    before = 'import os, subprocess\nx = "é😀"; subprocess.run(["docker", "build", "--build-arg", f"NPM_TOKEN={t}", "."])\n'
    after = 'import os, subprocess\nx = "é😀"; subprocess.run(["docker", "build", "--secret", "id=npm_token,env=NPM_TOKEN", "."], env={**os.environ, "NPM_TOKEN": t})\n'
    assert migrate(before)[0] == after


def test_crlf() -> None:
    before = 'import subprocess\r\n\r\nsubprocess.run(\r\n    ["docker", "build", "--build-arg", f"NPM_TOKEN={t}", "."],\r\n    check=True,\r\n)\r\n'
    after = 'import os\r\nimport subprocess\r\n\r\nsubprocess.run(\r\n    ["docker", "build", "--secret", "id=npm_token,env=NPM_TOKEN", "."],\r\n    check=True,\r\n    env={**os.environ, "NPM_TOKEN": t},\r\n)\r\n'
    assert migrate(before)[0] == after

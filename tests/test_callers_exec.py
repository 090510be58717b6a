"""Migrated callers really hand the value to docker through the environment.

The migrated script runs for real (sh, bash, make, python) against a stub ``docker`` on PATH that
records its argv and, for each ``--secret id=…,env=VAR``, whether ``VAR`` holds the expected
value. The value must reach the secret's variable and never appear in docker's argv. Values are
compared inside the stub; nothing here prints one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from refactor.buildspec import SecretSpec
from refactor.callers import Target, find_in_text, plan_file
from refactor.fixes.edit import apply_edits

VALUE = "canary-Lw4RzT9qXk2value"

STUB = r'''#!/usr/bin/env python3
import json, os, sys
want = os.environ["DFIX_STUB_WANT"]
args = sys.argv[1:]
secrets = {}
for i, a in enumerate(args):
    if a == "--secret" and i + 1 < len(args):
        spec = args[i + 1]
    elif a.startswith("--secret="):
        spec = a[len("--secret="):]
    else:
        continue
    opts = dict(kv.split("=", 1) for kv in spec.split(","))
    secrets[opts["id"]] = os.environ.get(opts.get("env", ""), "") == want
with open(os.environ["DFIX_STUB_OUT"], "a") as fh:
    fh.write(json.dumps({"secrets": secrets, "value_in_argv": any(want in a for a in args),
                         "build_args": [args[i + 1].split("=")[0] for i, a in enumerate(args) if a == "--build-arg"]}) + "\n")
'''


@pytest.fixture
def stub(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(STUB.replace("/usr/bin/env python3", sys.executable))
    docker.chmod(0o755)
    out = tmp_path / "calls.jsonl"
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["DFIX_STUB_WANT"] = VALUE
    env["DFIX_STUB_OUT"] = str(out)
    env.pop("NPM_TOKEN", None)

    def calls() -> list[dict]:
        return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []

    return env, calls


def migrate(path: Path, kind: str) -> str:
    text = path.read_text()
    invs = find_in_text(str(path), text, kind)
    spec = {"NPM_TOKEN": SecretSpec("npm_token", "env", "NPM_TOKEN")}
    plan = plan_file(str(path), text, [Target(i, spec) for i in invs])
    assert plan.unmigratable == []
    new = apply_edits(text, plan.edits)
    path.write_text(new)
    return new


def check(calls: list[dict], n: int) -> None:
    assert len(calls) == n
    for c in calls:
        assert c["secrets"] == {"npm_token": True}, "the secret variable does not hold the value"
        assert c["value_in_argv"] is False, "the value is on docker's command line"
        assert "NPM_TOKEN" not in c["build_args"]


def test_shell_script(tmp_path: Path, stub) -> None:
    env, calls = stub
    (tmp_path / "token").write_text(VALUE)
    script = tmp_path / "build.sh"
    script.write_text(
        "#!/bin/sh\nset -eu\n"
        'token=$(cat "$(dirname "$0")/token")\n'
        "docker build \\\n  --build-arg NPM_TOKEN=\"$token\" \\\n  -t app .\n"
        "export EXPORTED=\"$token\"\n"
        "docker build --build-arg NPM_TOKEN=$EXPORTED .\n"
        "NPM_TOKEN=\"$token\"; export NPM_TOKEN\n"
        "docker build --build-arg NPM_TOKEN .\n"
        'id=$(docker build -q --build-arg "NPM_TOKEN=${token}" .)\n'
    )
    migrate(script, "shell")
    subprocess.run(["sh", str(script)], env=env, check=True, cwd=tmp_path, timeout=60)
    check(calls(), 4)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_makefile(tmp_path: Path, stub) -> None:
    env, calls = stub
    (tmp_path / "token").write_text(VALUE)
    mk = tmp_path / "Makefile"
    mk.write_text(
        "NPM_TOKEN := $(shell cat token)\n\nbuild:\n"
        "\t@docker build \\\n\t\t--build-arg NPM_TOKEN=$(NPM_TOKEN) \\\n\t\t-t app .\n"
        "\t@T=$$(cat token); docker build --build-arg NPM_TOKEN=$$T .\n"
    )
    migrate(mk, "make")
    subprocess.run(["make", "-s", "build"], env=env, check=True, cwd=tmp_path, timeout=60, stdout=subprocess.DEVNULL)
    check(calls(), 2)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_makefile_does_not_echo_the_value(tmp_path: Path, stub) -> None:
    """make prints every recipe line after expanding it: the migrated recipe hands $(NPM_TOKEN) to
    docker with `export`, so the printed line (the build log) holds no value."""
    env, calls = stub
    (tmp_path / "token").write_text(VALUE)
    mk = tmp_path / "Makefile"
    mk.write_text("NPM_TOKEN ?= $(shell cat token)\nTOK = $(NPM_TOKEN)\n\nbuild:\n\tdocker build --build-arg NPM_TOKEN=$(NPM_TOKEN) -t app .\n"
                  "b2:\n\tdocker build --build-arg NPM_TOKEN=$(TOK) -t app .\n")
    migrate(mk, "make")
    for target in ("build", "b2"):
        p = subprocess.run(["make", target], env=env, cwd=tmp_path, timeout=60, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert "docker build --secret id=npm_token,env=" in p.stdout  # make echoed the line …
        assert VALUE not in p.stdout + p.stderr  # … without the value
    check(calls(), 2)


def test_gitlab_script_lines(tmp_path: Path, stub) -> None:
    """GitLab runs each script line in one shell with CI/CD variables exported."""
    env, calls = stub
    ci = tmp_path / ".gitlab-ci.yml"
    ci.write_text(
        "build:\n  script:\n"
        "    - docker build --build-arg NPM_TOKEN=$CI_NPM -t app .\n"
        "    - >\n      docker build\n      --build-arg \"NPM_TOKEN=${CI_NPM}\" .\n"
        "    - LOCAL=$CI_NPM\n"
        "    - docker build --build-arg NPM_TOKEN=\"$LOCAL\" .\n"
    )
    migrate(ci, "gitlab")
    from ruamel.yaml import YAML

    lines = YAML(typ="safe").load(ci.read_text())["build"]["script"]
    env = dict(env, CI_NPM=VALUE)
    subprocess.run(["bash", "-euc", "\n".join(lines)], env=env, check=True, cwd=tmp_path, timeout=60)
    check(calls(), 3)


def test_python_subprocess(tmp_path: Path, stub) -> None:
    env, calls = stub
    script = tmp_path / "build.py"
    script.write_text(
        "import subprocess\n\n"
        "def main(token):\n"
        '    subprocess.run(["docker", "build", "--build-arg", f"NPM_TOKEN={token}", "."], check=True)\n'
        '    subprocess.run(f"docker build --build-arg NPM_TOKEN={token} .", shell=True, check=True)\n'
        '    subprocess.run(["docker", "build", "--build-arg=NPM_TOKEN=" + token, "."], check=True, env=dict(__import__("os").environ))\n\n'
        "main(open('token').read())\n"
    )
    (tmp_path / "token").write_text(VALUE)
    migrate(script, "python")
    subprocess.run([sys.executable, str(script)], env=env, check=True, cwd=tmp_path, timeout=60)
    check(calls(), 3)

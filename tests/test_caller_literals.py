"""Issue #20 round two, point 2: a literal secret committed in a Jenkinsfile or a Python build
script and passed as a build arg is reported (DF011 says the variable is assigned a committed
literal: remove and rotate it) and masked, like a GitHub workflow ``env:`` literal.

The canaries are random per run; every case checks that none reaches any output (text, JSON,
SARIF, markdown; report, ``--diff`` and ``--write``).
"""

from __future__ import annotations

import json
import secrets
import string
import subprocess
from pathlib import Path

import pytest
from helpers import run

from refactor.link_findings import _committed_values

_ALNUM = string.ascii_letters + string.digits


def _canary(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(14))


C1, C2, C3, C4 = _canary("Jk7"), _canary("Qz4"), _canary("Wm2"), _canary("Tp9")
DF = "FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n"


# ------------------------------------------------------------------------------------ the assignments


def test_jenkins_assignments_are_found() -> None:
    text = (
        f"def tok = '{C1}'\n"
        f'String typed = "{C2}" // the deploy token\n'
        "pipeline {\n  agent any\n  environment {\n"
        f"    TOKEN = '{C3}'\n"
        "    FROM_STORE = credentials('npm')\n"
        "  }\n}\n"
        "node {\n"
        f"  env.GH_TOKEN = '{C4}';\n"
        f'  withEnv(["W_TOKEN={C1}x"]) {{ sh "true" }}\n'
        "}\n"
    )
    assert _committed_values(text, "tok", "jenkins") == [C1]
    assert _committed_values(text, "typed", "jenkins") == [C2]
    assert _committed_values(text, "TOKEN", "jenkins") == [C3]
    assert _committed_values(text, "env.GH_TOKEN", "jenkins") == [C4]
    assert _committed_values(text, "W_TOKEN", "jenkins") == [C1 + "x"]
    assert _committed_values(text, "FROM_STORE", "jenkins") == []


@pytest.mark.parametrize(
    "line",
    [
        "def tok = 'changeme'",
        'def tok = "${params.TOKEN}"',
        'def tok = "$TOKEN"',
        "def tok = params.TOKEN",
        "def tok = credentials('npm')",
        "def tok = '<your-token>'",
        "// def tok = 'Kx7q2LmZp9Rt' is not code",
        "def tok = 'abc'",
    ],
)
def test_jenkins_non_literals_are_not_committed_values(line) -> None:
    assert _committed_values(line + "\n", "tok", "jenkins") == []


def test_python_assignments_are_found() -> None:
    text = (
        "import os\n"
        f"TOK = '{C1}'  # deploy\n"
        f'TYPED: str = "{C2}"\n'
        f'os.environ["ENV_TOK"] = "{C3}"\n'
        f"os.environ.setdefault('DEF_TOK', '{C4}')\n"
        f'FALLBACK = os.getenv("GET_TOK", "{C1}y")\n'
        "def main():\n"
        f"    inner = r'{C2}z'\n"
    )
    assert _committed_values(text, "TOK", "python") == [C1]
    assert _committed_values(text, "TYPED", "python") == [C2]
    assert _committed_values(text, "ENV_TOK", "python") == [C3]
    assert _committed_values(text, "DEF_TOK", "python") == [C4]
    assert _committed_values(text, "GET_TOK", "python") == [C1 + "y"]
    assert _committed_values(text, "inner", "python") == [C2 + "z"]


@pytest.mark.parametrize(
    "line",
    [
        "TOK = 'changeme'",
        'TOK = os.environ["NPM_TOKEN"]',
        "TOK = OTHER_NAME_1",
        'TOK = f"{prefix}-suffix"',
        "TOK = '${NPM_TOKEN}'",
        "TOK = '<token>'",
        "# TOK = 'Kx7q2LmZp9Rt'",
        "TOK = 'abc'",
    ],
)
def test_python_non_literals_are_not_committed_values(line) -> None:
    assert _committed_values(line + "\n", "TOK", "python") == []


def test_the_other_kinds_are_unchanged() -> None:
    assert _committed_values(f"export NPM_TOKEN={C1}\n", "NPM_TOKEN") == [C1]
    assert _committed_values(f"    env:\n      NPM_TOKEN: {C2}\n", "NPM_TOKEN", "github") == [C2]
    assert _committed_values(f'variable "NPM_TOKEN" {{\n  default = "{C3}"\n}}\n', "NPM_TOKEN", "bake-hcl") == [C3]
    assert _committed_values("NPM_TOKEN=changeme\n", "NPM_TOKEN") == []


# ---------------------------------------------------------------------------------------- end to end

JENKINS = (
    f"def tok = '{C1}'\n"
    "pipeline {\n  agent any\n  environment {\n"
    f"    TOKEN = '{C2}'\n"
    "  }\n  stages {\n    stage('b') {\n      steps {\n"
    '        sh "docker build --build-arg NPM_TOKEN=${tok} ."\n'
    '        sh "docker build --build-arg NPM_TOKEN=\\$TOKEN ."\n'
    "      }\n    }\n  }\n}\n"
)
PYTHON = (
    "import os\nimport subprocess\n"
    f"TOK = '{C3}'\n"
    f'os.environ["GH_TOKEN"] = "{C4}"\n'
    'subprocess.run(["docker", "build", "--build-arg", f"NPM_TOKEN={TOK}", "."], check=True)\n'
    'subprocess.run(["docker", "build", "--build-arg", f"NPM_TOKEN={os.environ[\'GH_TOKEN\']}", "."], check=True)\n'
)
CASES = {
    "jenkins": ("Jenkinsfile", JENKINS, [C1, C2], ["tok", "TOKEN"]),
    "python": ("build.py", PYTHON, [C3, C4], ["TOK", "GH_TOKEN"]),
}


def _repo(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / "Dockerfile").write_text(DF)
    (tmp_path / name).write_text(text)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def _caller_findings(out: str, name: str) -> list[dict]:
    doc = json.loads(out)
    return [f for res in doc["files"] if res["path"] == name for f in res["findings"]]


@pytest.mark.parametrize("case", list(CASES))
def test_a_committed_caller_literal_is_reported(tmp_path, case) -> None:
    name, text, canaries, sources = CASES[case]
    root = _repo(tmp_path, name, text)
    code, out, err = run(["--format", "json", "."], cwd=root)
    assert code in (0, 1), err
    found = _caller_findings(out, name)
    assert [f["code"] for f in found] == ["DF011", "DF011"]
    for f, source in zip(found, sources):
        assert f"{source} is assigned a committed literal in this file: remove it and rotate it" in f["message"]
    assert not [c for c in canaries if c in out + err]


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "markdown"])
@pytest.mark.parametrize("mode", [[], ["--diff"], ["--write"]])
@pytest.mark.parametrize("case", list(CASES))
def test_a_committed_caller_literal_never_reaches_an_output(tmp_path, case, mode, fmt) -> None:
    name, text, canaries, _sources = CASES[case]
    root = _repo(tmp_path, name, text)
    code, out, err = run(mode + ["--format", fmt, "--verbose", "."], cwd=root)
    assert code in (0, 1), err
    assert not [c[:5] for c in canaries if c in out + err], (case, mode, fmt)
    if mode == ["--write"]:  # shown again after the write: still masked
        _code, out, err = run(["--diff", "--format", fmt, "."], cwd=root)
        assert not [c[:5] for c in canaries if c in out + err], (case, fmt)


C5, C6 = _canary("pdef"), _canary("pget")
PYTHON_DEFAULTS = (
    "import os\nimport subprocess\n"
    f'subprocess.run(["docker", "build", "--build-arg", f"NPM_TOKEN={{os.environ.get(\'REG_PW\', \'{C5}\')}}", "."])\n'
    f"subprocess.run(['docker', 'build', '--build-arg', f'NPM_TOKEN={{os.getenv(\"REG_PW\", \"{C6}\")}}', '.'])\n"
)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "markdown"])
@pytest.mark.parametrize("mode", [[], ["--diff"]])
def test_an_environment_default_is_a_committed_literal_too(tmp_path, mode, fmt) -> None:
    """``os.environ.get("X", "literal")`` passed as a secret build arg: the build gets the literal
    whenever X is unset, so it is masked wherever the caller's text is shown."""
    root = _repo(tmp_path, "build.py", PYTHON_DEFAULTS)
    (root / "Dockerfile").write_text('FROM node:20\nARG NPM_TOKEN\nRUN echo "//r/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci\n')
    code, out, err = run(mode + ["--no-cache", "--format", fmt, "--verbose", "."], cwd=root)
    assert code in (0, 1), err
    assert "build.py" in out
    assert C5 not in out + err and C6 not in out + err, (mode, fmt)

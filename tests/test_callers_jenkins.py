"""Callers: Jenkinsfiles (sh steps in every Groovy string form, docker.build)."""

from __future__ import annotations

import pytest

from refactor.buildspec import SecretSpec
from refactor.callers import Target, find_in_text, plan_file
from refactor.fixes.edit import apply_edits

PATH = "/repo/Jenkinsfile"


def migrate(text: str, names=("NPM_TOKEN",)):
    invs = find_in_text(PATH, text, "jenkins")
    specs = {n: SecretSpec(n.lower(), "env", n) for n in names}
    plan = plan_file(PATH, text, [Target(i, specs) for i in invs])
    return apply_edits(text, plan.edits), plan, invs


def pipeline(body: str, env: str = "") -> str:
    return "pipeline {\n  agent any\n" + env + "  stages {\n    stage('b') {\n      steps {\n" + body + "      }\n    }\n  }\n}\n"


ENV = "  environment {\n    NPM_TOKEN = credentials('npm')\n  }\n"

NOOPS = [
    pipeline("        sh 'docker build -t app .'\n"),
    pipeline("        // sh 'docker build --build-arg NPM_TOKEN=$NPM_TOKEN .'\n"),
    pipeline("        echo 'docker build --build-arg NPM_TOKEN=$NPM_TOKEN .'\n"),
    pipeline("        /* sh \"docker build --build-arg NPM_TOKEN=${x} .\" */\n"),
    pipeline("        sh 'docker build --build-arg APP=1 .'\n"),
]


@pytest.mark.parametrize("text", NOOPS)
def test_noop(text: str) -> None:
    out, plan, _ = migrate(text)
    assert out == text and plan.unmigratable == []


CASES = [
    # single quotes: shell variables; credentials from environment {} are exported
    (pipeline("        sh 'docker build --build-arg NPM_TOKEN=$NPM_TOKEN .'\n", ENV),
     pipeline("        sh 'docker build --secret id=npm_token,env=NPM_TOKEN .'\n", ENV)),
    # Groovy interpolation of a bound credential: no prefix, and no more interpolation
    (pipeline('        sh "docker build --build-arg NPM_TOKEN=${NPM_TOKEN} ."\n', ENV),
     pipeline('        sh "docker build --secret id=npm_token,env=NPM_TOKEN ."\n', ENV)),
    (pipeline('        sh "docker build --build-arg NPM_TOKEN=${env.CI_NPM} ."\n'),
     pipeline('        sh "docker build --secret id=npm_token,env=CI_NPM ."\n')),
    # a shell variable escaped in a GString
    (pipeline('        sh "docker build --build-arg NPM_TOKEN=\\$NPM_TOKEN ."\n'),
     pipeline('        sh "docker build --secret id=npm_token,env=NPM_TOKEN ."\n')),
    # withCredentials binds an environment variable
    (pipeline("        withCredentials([string(credentialsId: 'npm', variable: 'TOK')]) {\n          sh(script: \"docker build --build-arg NPM_TOKEN=${TOK} .\")\n        }\n"),
     pipeline("        withCredentials([string(credentialsId: 'npm', variable: 'TOK')]) {\n          sh(script: \"docker build --secret id=npm_token,env=TOK .\")\n        }\n")),
    # a Groovy local: prefix, escaped for the double-quoted GString
    (pipeline('        script {\n          def t = readFile("t").trim()\n          sh "docker build --build-arg NPM_TOKEN=${t} ."\n        }\n'),
     pipeline('        script {\n          def t = readFile("t").trim()\n          sh "NPM_TOKEN=\\"${t}\\" docker build --secret id=npm_token,env=NPM_TOKEN ."\n        }\n')),
    # a shell local inside a single-quoted script: the prefix needs no escaping there
    (pipeline("        sh 't=$(cat f); docker build --build-arg NPM_TOKEN=$t .'\n"),
     pipeline("        sh 't=$(cat f); NPM_TOKEN=\"$t\" docker build --secret id=npm_token,env=NPM_TOKEN .'\n")),
]


@pytest.mark.parametrize("before,after", CASES)
def test_rewrite(before: str, after: str) -> None:
    out, plan, _ = migrate(before)
    assert out == after
    assert plan.unmigratable == []


def test_triple_quoted_multiline() -> None:
    before = pipeline('        sh """\n          docker build \\\\\n            --build-arg NPM_TOKEN=${NPM_TOKEN} \\\\\n            -t app .\n        """\n', ENV)
    after = pipeline('        sh """\n          docker build \\\\\n            --secret id=npm_token,env=NPM_TOKEN \\\\\n            -t app .\n        """\n', ENV)
    assert migrate(before)[0] == after
    before = pipeline("        sh '''\n          t=$(cat f)\n          docker build \\\n            --build-arg NPM_TOKEN=$t .\n        '''\n")
    after = pipeline("        sh '''\n          t=$(cat f)\n          NPM_TOKEN=\"$t\" docker build \\\n            --secret id=npm_token,env=NPM_TOKEN .\n        '''\n")
    assert migrate(before)[0] == after


def test_groovy_local_note() -> None:
    text = pipeline('        sh "docker build --build-arg NPM_TOKEN=${params.TOKEN} ."\n')
    out, plan, invs = migrate(text)
    assert invs[0].build_args[0].value_kind == "local"
    assert out == pipeline('        sh "NPM_TOKEN=\\"${params.TOKEN}\\" docker build --secret id=npm_token,env=NPM_TOKEN ."\n')
    assert any("withCredentials" in n for n in plan.notes)


def test_docker_build_dsl() -> None:
    before = pipeline("        script {\n          docker.build('app:1', \"--build-arg NPM_TOKEN=\\$NPM_TOKEN -f app/Dockerfile app\")\n        }\n")
    after = pipeline("        script {\n          docker.build('app:1', \"--secret id=npm_token,env=NPM_TOKEN -f app/Dockerfile app\")\n        }\n")
    assert migrate(before)[0] == after
    # no room for a prefix there
    local = pipeline("        script {\n          def t = 'x'\n          docker.build('app:1', \"--build-arg NPM_TOKEN=${t} .\")\n        }\n")
    out, plan, _ = migrate(local)
    assert out == local and plan.unmigratable

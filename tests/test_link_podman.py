"""A Dockerfile that podman or buildah builds cannot take `env=` secret mounts: its fix is blocked
(lowered to unsafe) in report mode exactly as in --diff and --write, though report mode keeps no
file text (the result says whether the rewrite mounts with env=)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run

DOCKERFILE = 'FROM node:20\nARG NPM_TOKEN\nRUN echo "//r/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "build.sh").write_text("#!/bin/sh\npodman build --build-arg NPM_TOKEN=$NPM_TOKEN .\n")
    return tmp_path


def _df001(out: str) -> dict:
    doc = json.loads(out)
    (f,) = [f for r in doc["files"] for f in r["findings"] if f["code"] == "DF001"]
    return f["fix"]


@pytest.mark.parametrize("mode", [[], ["--diff"]])
def test_env_mounts_are_blocked_for_podman_in_every_mode(repo: Path, mode: list[str]) -> None:
    code, out, _ = run(["--no-cache", "--format", "json", *mode, "Dockerfile"], cwd=repo)
    fix = _df001(out)
    assert fix["applicability"] == "unsafe"
    assert any("does not support env=" in r for r in fix["reasons"])


def test_the_file_mount_style_is_not_blocked(repo: Path) -> None:
    code, out, _ = run(["--no-cache", "--format", "json", "--mount-style", "file", "Dockerfile"], cwd=repo)
    assert _df001(out)["applicability"] == "safe"

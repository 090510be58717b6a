"""The pre-commit hooks (``.pre-commit-hooks.yaml``) in a REAL pre-commit run.

A snapshot of this working tree (tracked and untracked, not ignored, files) is committed to a temp
git repo, which a temp project's ``.pre-commit-config.yaml`` names as its hook repository. pre-commit
installs dfix from it into its own cache (``PRE_COMMIT_HOME`` in a temp dir: a fresh virtualenv,
dependencies from PyPI), then:

1. ``dfix-check`` fails on a Dockerfile that passes a secret build arg (and never sees the
   ``Dockerfile.j2`` template, which ``files`` excludes);
2. ``dfix`` rewrites it (pre-commit reports the file as modified);
3. ``dfix-check`` passes.

Slow-ish (a virtualenv and a pip install; ~15-40 s with a warm pip cache). Skipped with a reason when
pre-commit or git is unavailable, a failure under ``CI=true``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
HOOKS = ROOT / ".pre-commit-hooks.yaml"

SECRET = b"FROM node:20\nARG NPM_TOKEN\nCOPY package.json ./\nRUN npm ci\n"
CLEAN = b"FROM alpine:3.20\nARG VERSION=1\nRUN echo $VERSION\n"


def _load_hooks() -> list[dict]:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(HOOKS.read_text("utf-8"))


def _unavailable(msg: str):
    if IN_CI:
        pytest.fail(msg + "; CI requires it (pip install -e '.[test]' installs pre-commit)")
    pytest.skip(msg)


def _pre_commit_cmd() -> list[str]:
    if importlib.util.find_spec("pre_commit") is not None:
        return [sys.executable, "-m", "pre_commit"]
    exe = shutil.which("pre-commit")
    if exe:
        return [exe]
    _unavailable("pre-commit is not installed (pip install pre-commit)")
    return []


def _git_env(home: Path) -> dict:
    env = dict(os.environ)
    for k in list(env):
        if k.startswith(("GIT_", "PRE_COMMIT")):
            env.pop(k)
    env.update(
        PRE_COMMIT_HOME=str(home),
        GIT_AUTHOR_NAME="dfix test", GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="dfix test", GIT_COMMITTER_EMAIL="test@example.invalid",
        GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,  # no user git config (hooks, signing); HOME kept for pip's cache
        PRE_COMMIT_COLOR="never", NO_COLOR="1",
    )
    return env


def _git(args: list[str], cwd: Path, env: dict) -> str:
    p = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"git {args}: {p.stderr}"
    return p.stdout


# ------------------------------------------------------------------------------ hook definitions

def test_hook_definitions() -> None:
    hooks = {h["id"]: h for h in _load_hooks()}
    assert set(hooks) == {"dfix", "dfix-check"}
    assert hooks["dfix"]["entry"] == "dfix --write"
    assert hooks["dfix-check"]["entry"] == "dfix --check"
    for h in hooks.values():
        assert h["language"] == "python"
        assert h["require_serial"] is True
        assert h["files"] == hooks["dfix"]["files"]
        re.compile(h["files"])
    # the entry point pre-commit runs is the console script pyproject declares
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    assert scripts.get("dfix") == "refactor.cli:main"


NAMES = [
    "Dockerfile", "dockerfile", "DOCKERFILE", "Dockerfile.prod", "Dockerfile-dev", "Dockerfile.", "Dockerfile-",
    "api.Dockerfile", "web.dockerfile", ".dockerfile", "Containerfile", "Containerfile.arm64", "containerfile-x",
    "Dockerfile.j2", "Dockerfile.jinja", "Dockerfile.jinja2", "Dockerfile.tmpl", "Dockerfile.tpl", "Dockerfile.template",
    "Dockerfile.orig", "Dockerfile.bak", "Dockerfile.md", "Dockerfile.rej", "Dockerfile.swp", "Dockerfile~",
    "Dockerfile.prod.J2", "x.dockerignore", "Dockerfile.dockerignore", ".Dockerfile.dfix-tmp-123-abcdef01",
    ".x.dockerfile", "Dockerfiles", "MyDockerfile", "dockerfile_x", "Dockerfile.prod.yaml", "README.md", "Makefile",
    "Containerfile.in", "app.Dockerfile.bak", "Dockerfile.d", "not-a-Containerfile",
    "Dockerfile_test_kaniko", "api-Dockerfile", "web_dockerfile", "dockerfile.py", "Dockerfile.go", "dockerfile_utils.py",
]


def test_files_regex_matches_dfix_discovery() -> None:
    """`files` selects exactly what discovery selects (refactor.discovery.is_dockerfile_name)."""
    from refactor.discovery import is_dockerfile_name

    regex = re.compile(_load_hooks()[0]["files"])
    names = list(NAMES)
    corpus = ROOT.parent / "shared" / "corpus" / "real"
    if corpus.is_dir():  # every real-world name (flattened: owner__repo/path__with__underscores)
        names += sorted({p.name.rsplit("__", 1)[-1] for p in corpus.rglob("*") if p.is_file()})
    wrong = []
    for name in names:
        want = is_dockerfile_name(name)
        for path in (name, f"sub/dir/{name}", f"Dockerfile.d/{name}"):
            if bool(regex.search(path)) != want:
                wrong.append((path, want))
    assert not wrong, wrong
    # a directory named like a Dockerfile does not make its files match
    assert not regex.search("Dockerfile/README")


# ------------------------------------------------------------------------------- real pre-commit

def _snapshot_checkout(dst: Path, env: dict) -> str:
    """Commit this working tree (tracked + untracked, not ignored) to a fresh repo; return the sha."""
    if not (ROOT / ".git").exists():
        _unavailable(f"{ROOT} is not a git checkout")
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, timeout=60, check=True).stdout.decode().split("\0")
    dst.mkdir()
    for rel in filter(None, files):
        src = ROOT / rel
        if not src.is_file() or src.is_symlink():
            continue
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, out)
    _git(["init", "-q", "-b", "main"], dst, env)
    _git(["add", "-A"], dst, env)
    _git(["commit", "-q", "--no-verify", "-m", "snapshot"], dst, env)
    return _git(["rev-parse", "HEAD"], dst, env).strip()


def test_real_pre_commit_run(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        _unavailable("git is not installed")
    cmd = _pre_commit_cmd()
    home = tmp_path / "pre-commit-home"
    env = _git_env(home)
    sha = _snapshot_checkout(tmp_path / "dfix-src", env)

    proj = tmp_path / "proj"
    (proj / "svc").mkdir(parents=True)
    (proj / "svc" / "Dockerfile").write_bytes(SECRET)
    (proj / "templates").mkdir()
    (proj / "templates" / "Dockerfile.j2").write_bytes(SECRET)  # excluded by `files`
    (proj / "clean.Dockerfile").write_bytes(CLEAN)
    (proj / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {tmp_path / 'dfix-src'}\n"
        f"    rev: {sha}\n"
        "    hooks:\n"
        "      - id: dfix-check\n"
        "      - id: dfix\n"
    )
    _git(["init", "-q", "-b", "main"], proj, env)
    _git(["add", "-A"], proj, env)

    def pre_commit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*cmd, *args], cwd=proj, env=env, capture_output=True, text=True, timeout=600)

    p = pre_commit("install-hooks")
    if p.returncode != 0 and ("Could not find a version" in p.stdout + p.stderr or "ConnectionError" in p.stdout + p.stderr
                              or "Network is unreachable" in p.stdout + p.stderr):
        _unavailable(f"pre-commit could not install dfix's dependencies (no PyPI?):\n{p.stdout[-2000:]}")
    assert p.returncode == 0, p.stdout + p.stderr

    # 1. the gate fails on the secret build arg, and names the file
    p = pre_commit("run", "dfix-check", "--all-files")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "would rewrite svc/Dockerfile" in p.stdout
    assert "DF001" in p.stdout and "Dockerfile.j2" not in p.stdout
    assert (proj / "svc" / "Dockerfile").read_bytes() == SECRET

    # 2. the fixer rewrites it; pre-commit fails the run because files changed
    p = pre_commit("run", "dfix", "--all-files")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "files were modified by this hook" in p.stdout
    fixed = (proj / "svc" / "Dockerfile").read_bytes()
    assert b"RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci" in fixed and b"ARG NPM_TOKEN" not in fixed
    assert (proj / "templates" / "Dockerfile.j2").read_bytes() == SECRET  # never passed to dfix
    assert (proj / "clean.Dockerfile").read_bytes() == CLEAN

    # 3. the gate passes now, and so does the fixer (idempotent)
    _git(["add", "-A"], proj, env)
    p = pre_commit("run", "--all-files")
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("Passed") == 2

"""The pre-commit hooks (``.pre-commit-hooks.yaml``) in a REAL pre-commit run.

A snapshot of this working tree (tracked and untracked, not ignored, files) is committed to a temp
git repo, which a temp project's ``.pre-commit-config.yaml`` names as its hook repository. pre-commit
installs dfix from it into its own cache (``PRE_COMMIT_HOME`` in a temp dir: a fresh virtualenv,
dependencies from PyPI), then:

1. ``dfix-check`` fails on a Dockerfile that passes a secret build arg (and never sees the
   ``Dockerfile.j2`` template, which ``files`` excludes);
2. ``dfix`` rewrites it (pre-commit reports the file as modified);
3. ``dfix-check`` passes;
4. the hooks write only the files pre-commit passes (``--callers=given``): a Dockerfile that was
   not passed, and a build script that passes a secret build arg, are never written; the Dockerfile
   that script builds is not rewritten either, and the script is named.

Also: the hook entries run outside pre-commit on the same kind of tree (fast), ``pre-commit
autoupdate --freeze`` pins a full commit SHA for a repository without release tags (what the docs
tell users to run), and the docs and hook comments show such a ``rev:`` and no placeholder host.

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
CALLER = b'#!/bin/sh\nset -e\ndocker build --build-arg NPM_TOKEN="$NPM_TOKEN" -t app app\n'  # builds app/Dockerfile
DOCS = [ROOT / "docs" / "pre-commit.md", ROOT / "docs" / "integrations.md"]


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
    # only the files pre-commit passes are written: callers (build scripts, compose files,
    # workflows) are migrated only when passed too (pre-commit never passes them: `files`)
    assert hooks["dfix"]["entry"] == "dfix --write --callers=given"
    assert hooks["dfix-check"]["entry"] == "dfix --check --callers=given"
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


# ---------------------------------------------------------------------- docs and hook comments

def test_docs_show_a_full_sha_rev_and_no_placeholder_host() -> None:
    """Users copy these: a `rev:` that works without release tags, a real way to get it, no
    example.invalid."""
    for path in [HOOKS, *DOCS]:
        text = path.read_text("utf-8")
        assert "example.invalid" not in text, path
        revs = re.findall(r"^[#\s-]*rev:\s*(\S+)", text, flags=re.MULTILINE)
        if path.name in (".pre-commit-hooks.yaml", "pre-commit.md"):
            assert revs, f"{path.name} shows no rev:"
        for rev in revs:
            assert re.fullmatch(r"[0-9a-f]{40}", rev), f"{path.name}: rev {rev} is not a full commit SHA"
    doc = (ROOT / "docs" / "pre-commit.md").read_text("utf-8")
    assert "pre-commit autoupdate --freeze" in doc and "git ls-remote" in doc and "--callers=given" in doc


# ------------------------------------------------------------ the hook entries, without pre-commit

def _entry(hook_id: str) -> list[str]:
    entry = {h["id"]: h for h in _load_hooks()}[hook_id]["entry"].split()
    assert entry[0] == "dfix"
    return [sys.executable, "-m", "refactor", *entry[1:]]


@pytest.mark.parametrize("args", [
    [],
    ["--unsafe-fixes"],  # a caller that was not given blocks its Dockerfile even then
], ids=["default", "unsafe-fixes"])
def test_hook_entries_write_only_the_files_they_are_given(tmp_path: Path, args: list[str]) -> None:
    """What pre-commit runs (`entry` + `args` + the matching staged files), on a tree where a build
    script passes the secret build arg to app/Dockerfile."""
    if shutil.which("git") is None:
        _unavailable("git is not installed")
    env = dict(_git_env(tmp_path / "home"), PYTHONPATH=str(ROOT))
    proj = tmp_path / "proj"
    files = {"svc/Dockerfile": SECRET, "app/Dockerfile": SECRET, "build.sh": CALLER, "other.Dockerfile": SECRET}
    for rel, data in files.items():
        (proj / rel).parent.mkdir(parents=True, exist_ok=True)
        (proj / rel).write_bytes(data)
    _git(["init", "-q", "-b", "main"], proj, env)  # the callers are searched in the repository

    def run(hook_id: str, *paths: str) -> subprocess.CompletedProcess:
        return subprocess.run([*_entry(hook_id), *args, *paths], cwd=proj, env=env, capture_output=True, text=True,
                              timeout=120)

    p = run("dfix-check", "svc/Dockerfile", "app/Dockerfile")
    assert p.returncode == 1 and "build.sh" in p.stdout + p.stderr, p.stdout + p.stderr
    assert all((proj / rel).read_bytes() == data for rel, data in files.items())  # the gate writes nothing

    p = run("dfix", "svc/Dockerfile", "app/Dockerfile")
    assert p.returncode == 1, p.stdout + p.stderr
    assert b"--mount=type=secret,id=npm_token" in (proj / "svc" / "Dockerfile").read_bytes()
    assert (proj / "build.sh").read_bytes() == CALLER  # not given: never written
    assert (proj / "app" / "Dockerfile").read_bytes() == SECRET  # its caller was not given: not rewritten
    assert (proj / "other.Dockerfile").read_bytes() == SECRET  # not given
    assert "build.sh" in p.stdout + p.stderr  # the caller that blocks the fix is named


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


@pytest.fixture(scope="module")
def dfix_repo(tmp_path_factory) -> tuple[Path, str]:
    """This working tree committed to a fresh repository without tags: (path, commit sha)."""
    if shutil.which("git") is None:
        _unavailable("git is not installed")
    base = tmp_path_factory.mktemp("dfix-repo")
    return base / "dfix-src", _snapshot_checkout(base / "dfix-src", _git_env(base / "home"))


def test_autoupdate_freeze_pins_a_full_sha_without_release_tags(tmp_path: Path, dfix_repo) -> None:
    """The docs' instruction: `pre-commit autoupdate --freeze` writes a full commit SHA even when
    the repository has no release tag (here: none at all)."""
    cmd = _pre_commit_cmd()
    src, sha = dfix_repo
    env = _git_env(tmp_path / "home")
    assert _git(["tag"], src, env).strip() == ""
    proj = tmp_path / "proj"
    proj.mkdir()
    config = proj / ".pre-commit-config.yaml"
    config.write_text(f"repos:\n  - repo: {src}\n    rev: 0123456789abcdef0123456789abcdef01234567\n    hooks:\n      - id: dfix-check\n")
    _git(["init", "-q", "-b", "main"], proj, env)
    p = subprocess.run([*cmd, "autoupdate", "--freeze"], cwd=proj, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    revs = re.findall(r"rev:\s*(\S+)", config.read_text("utf-8"))
    assert revs == [sha], (revs, sha)


def test_real_pre_commit_run(tmp_path: Path, dfix_repo) -> None:
    cmd = _pre_commit_cmd()
    home = tmp_path / "pre-commit-home"
    env = _git_env(home)
    src, sha = dfix_repo

    proj = tmp_path / "proj"
    (proj / "svc").mkdir(parents=True)
    (proj / "svc" / "Dockerfile").write_bytes(SECRET)
    (proj / "templates").mkdir()
    (proj / "templates" / "Dockerfile.j2").write_bytes(SECRET)  # excluded by `files`
    (proj / "clean.Dockerfile").write_bytes(CLEAN)
    (proj / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {src}\n"
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

    # 4. only the files pre-commit passes are written (--callers=given): build.sh passes the secret
    # build arg to app/Dockerfile; `files` keeps build.sh from dfix even when named with --files
    (proj / "other.Dockerfile").write_bytes(SECRET)
    (proj / "app").mkdir()
    (proj / "app" / "Dockerfile").write_bytes(SECRET)
    (proj / "build.sh").write_bytes(CALLER)
    _git(["add", "-A"], proj, env)
    p = pre_commit("run", "dfix", "--files", "app/Dockerfile", "build.sh")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "build.sh" in p.stdout  # the caller that blocks app/Dockerfile's fix is named
    assert (proj / "app" / "Dockerfile").read_bytes() == SECRET
    assert (proj / "build.sh").read_bytes() == CALLER
    assert (proj / "other.Dockerfile").read_bytes() == SECRET  # not passed

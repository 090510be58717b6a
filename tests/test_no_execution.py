"""dfix never executes anything from a scanned repository (``dfix verify`` is the documented
exception and is not run here).

The scanned repository is a mix of the golden caller cases (Makefile, justfile, build.sh, build.py,
compose, bake, GitHub/GitLab/Jenkins pipelines) and Dockerfiles, poisoned with executables named
like every tool dfix reasons about (docker, npm, sh, git, make, ...) that append to a marker file
when run: once in a directory put first on PATH, once at the repository root and once in its
``bin/``. The repository also carries a ``.git`` whose ``core.fsmonitor`` and hooks would run, and a
``package.json`` with install scripts. dfix runs in every mode, with every output format and every
emit target; no marker may appear. In process, ``subprocess`` (down to
``_posixsubprocess.fork_exec``), ``os.system``/``popen``/``exec*``/``spawn*``/``posix_spawn*``/
``fork`` and ``pty`` are replaced by functions that record the call and raise, so an attempt is
caught even when dfix swallows the exception. The process pool (``-j 2``) is checked from a
subprocess with the poisoned PATH.

Not covered: ``--pin-digests`` talks to registries and may run the ``docker-credential-*`` helper
named in the user's ``~/.docker/config.json`` (documented in the README), which is the user's
configuration, not repository content.
"""

from __future__ import annotations

import _posixsubprocess
import json
import os
import pty
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "golden"
GOLDEN_CASES = (
    "callers-make-just", "callers-shell-script", "callers-python-subprocess", "callers-python-docker-sdk",
    "callers-github-matrix", "callers-gitlab-ci", "callers-jenkinsfile", "callers-bake-hcl", "callers-bake-json",
    "callers-compose-comments", "layer-npm-config-set", "copy-credential-npmrc", "heredoc-run", "exec-form-sh-c",
    "writeup-artifactory-secret-key",
)
TOOLS = (
    "docker", "docker-compose", "docker-buildx", "buildah", "podman", "kaniko", "npm", "npx", "node", "yarn", "pnpm",
    "pip", "pip3", "python", "python3", "uv", "poetry", "sh", "bash", "dash", "zsh", "git", "make", "just", "go",
    "mvn", "gradle", "cosign", "notation", "hadolint", "curl", "wget", "ssh", "ssh-keyscan", "ssh-agent", "aws",
    "gcloud", "az", "composer", "bundle", "jenkins", "gitlab-runner", "act", "env", "xargs", "docker-credential-desktop",
    "docker-credential-pass", "docker-credential-secretservice", "docker-credential-ecr-login",
)
FORMATS = ("text", "json", "sarif", "github", "markdown")
EMITS = ("docker", "bake", "compose", "github", "gitlab", "podman", "flatten")
MODES = {"report": [], "diff": ["--diff"], "check": ["--check"], "write": ["--write"], "write-unsafe": ["--write", "--unsafe-fixes"]}


def _poison(path: Path, markers: Path) -> None:
    path.write_text(f'#!/bin/sh\necho "$0 $*" >> "{markers}/ran-$(basename "$0")"\nexit 0\n')
    path.chmod(0o755)


@pytest.fixture
def repo(tmp_path) -> tuple[Path, Path, Path]:
    """(repository, fake-tool dir for PATH, marker dir)."""
    markers = tmp_path / "markers"
    markers.mkdir()
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    root = tmp_path / "repo"
    root.mkdir()
    for case in GOLDEN_CASES:
        src = GOLDEN / case
        if not src.is_dir():
            continue
        shutil.copytree(src, root / case, ignore=shutil.ignore_patterns("expected", "case.toml", "NOTES.md"))
    (root / "Dockerfile").write_text(
        "FROM node:20.11\nARG NPM_TOKEN\nARG GITHUB_TOKEN\nCOPY . .\nRUN npm ci && make build && ./build.sh\n"
        "RUN git clone https://${GITHUB_TOKEN}@github.com/o/r && sh -c 'python3 setup.py'\n"
    )
    (root / "build.sh").write_text('#!/bin/sh\ndocker build --build-arg NPM_TOKEN="$NPM_TOKEN" .\n' + f'echo repo >> "{markers}/ran-build.sh"\n')
    (root / "build.sh").chmod(0o755)
    (root / "Makefile").write_text(f"build:\n\tdocker build --build-arg NPM_TOKEN=$(NPM_TOKEN) .\n\techo make >> {markers}/ran-makefile\n")
    (root / "build.py").write_text(
        "import subprocess, os\n"
        f"open({str(markers / 'ran-build.py')!r}, 'a').write('x')\n"
        "subprocess.run(['docker', 'build', '--build-arg', f\"NPM_TOKEN={os.environ['NPM_TOKEN']}\", '.'], check=True)\n"
    )
    (root / "package.json").write_text(json.dumps({"name": "x", "scripts": {"preinstall": f"echo >> {markers}/ran-npm-script", "prepare": "sh ./build.sh"}}))
    (root / ".npmrc").write_text("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n")
    (root / ".envrc").write_text(f"echo >> {markers}/ran-envrc\n")
    git = root / ".git"
    (git / "hooks").mkdir(parents=True)
    (git / "config").write_text(f"[core]\n\tfsmonitor = {root}/bin/git\n\thooksPath = {root}/bin\n")
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    for hook in ("pre-commit", "post-checkout", "fsmonitor-watchman"):
        _poison(git / "hooks" / hook, markers)
    (root / "bin").mkdir()
    for tool in TOOLS:
        _poison(fakebin / tool, markers)
        _poison(root / "bin" / tool, markers)
        if not (root / tool).exists():
            _poison(root / tool, markers)
    return root, fakebin, markers


class Guard:
    """Replace every process-spawning entry point with one that records the call and raises."""

    NAMES = (
        "system", "popen", "execv", "execve", "execl", "execle", "execlp", "execlpe", "execvp", "execvpe",
        "spawnv", "spawnve", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnvp", "spawnvpe",
        "posix_spawn", "posix_spawnp", "fork", "forkpty",
    )

    def __init__(self, monkeypatch) -> None:
        self.calls: list[str] = []
        monkeypatch.setattr(_posixsubprocess, "fork_exec", self._boom("_posixsubprocess.fork_exec"))
        monkeypatch.setattr(subprocess.Popen, "_execute_child", self._boom("subprocess.Popen"))
        for name in self.NAMES:
            if hasattr(os, name):
                monkeypatch.setattr(os, name, self._boom(f"os.{name}"))
        monkeypatch.setattr(pty, "fork", self._boom("pty.fork"))
        monkeypatch.setattr(pty, "spawn", self._boom("pty.spawn"))

    def _boom(self, name: str):
        def refuse(*args, **kwargs):
            shown = [a for a in args[:3] if not hasattr(a, "__dict__")]
            self.calls.append(f"{name}{shown!r}")
            raise AssertionError(f"dfix tried to run a process: {name} {shown!r}")

        return refuse


def _markers(markers: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in markers.iterdir()}


@pytest.fixture
def poisoned_path(repo, monkeypatch):
    root, fakebin, _markers_dir = repo
    monkeypatch.setenv("PATH", os.pathsep.join([str(fakebin), str(root), str(root / "bin"), os.environ.get("PATH", "")]))
    monkeypatch.setenv("NPM_TOKEN", "npm_notarealtoken")
    monkeypatch.delenv("DFIX_DEBUG", raising=False)
    return repo


def test_the_guard_catches_every_spawn_route(monkeypatch) -> None:
    guard = Guard(monkeypatch)
    attempts = [
        lambda: subprocess.run(["true"]),
        lambda: os.system("true"),
        lambda: os.popen("true"),
        lambda: os.execvp("true", ["true"]),
        lambda: os.posix_spawnp("true", ["true"], os.environ),
        lambda: os.fork(),
    ]
    for attempt in attempts:
        with pytest.raises(AssertionError):
            attempt()
    assert len(guard.calls) == len(attempts)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", list(MODES))
def test_no_mode_format_or_emit_target_runs_anything(poisoned_path, monkeypatch, mode, fmt) -> None:
    root, _fakebin, markers = poisoned_path
    guard = Guard(monkeypatch)
    emits = [a for e in EMITS for a in ("--emit", e)]
    code, out, err = run(MODES[mode] + ["--format", fmt, "-j", "1", *emits, "."], cwd=root)
    assert not guard.calls, guard.calls
    assert not _markers(markers), _markers(markers)
    assert code in (0, 1, 2), err
    assert "internal error" not in err and "Traceback" not in err, err[-2000:]
    assert out  # something was reported
    if fmt == "json":  # the scan really covered the Dockerfiles and the callers
        doc = json.loads(out)
        kinds = {f["kind"] for f in doc["files"]}
        assert doc["summary"]["files"] >= 15 and doc["summary"]["findings"] >= 10, doc["summary"]
        if mode.startswith("write"):
            assert doc["summary"]["changed"] >= 10, doc["summary"]
            assert len(kinds) >= 2, kinds  # caller files (Makefile, workflows, ...) were rewritten too


def test_other_options_run_nothing(poisoned_path, monkeypatch, tmp_path) -> None:
    root, _fakebin, markers = poisoned_path
    guard = Guard(monkeypatch)
    runs = [
        ["--strategy", "multistage", "--diff", "."],
        ["--strategy", "multistage", "--write", "--unsafe-fixes", "."],
        ["--sign", "cosign", "--image", "registry.example.com/team/app:1.0", "--diff", "."],
        ["--sign", "notation", "--image", "registry.example.com/team/app:1.0", "--format", "json", "."],
        ["--mount-style", "file", "--require-secrets", "--write", "."],
        ["--add-ignore", "."],
        ["--list-rules"],
        ["--explain", "DF001"],
        ["--version"],
        ["--help"],
    ]
    for args in runs:
        code, _out, err = run(args, cwd=root)
        assert code in (0, 1, 2), (args, err)
        assert "internal error" not in err and "Traceback" not in err, (args, err[-2000:])
    # stdin, and dfix summarize over a JSON report
    data = (root / "Dockerfile").read_bytes()
    code, _out, err = run(["-", "--stdin-filename", "Dockerfile", "--write"], cwd=root, stdin=data)
    assert code in (0, 1), err
    code, out, err = run(["--format", "json", "."], cwd=root)
    report = tmp_path / "report.json"
    report.write_text(out)
    code, _out, err = run(["summarize", "--format", "markdown", str(report)], cwd=root)
    assert code in (0, 1), err
    assert not guard.calls, guard.calls
    assert not _markers(markers), _markers(markers)


def test_process_pool_runs_nothing_from_the_repo(poisoned_path) -> None:
    """``-j 2`` in a real subprocess (the pool forks workers) with the poisoned PATH."""
    root, _fakebin, markers = poisoned_path
    for args in (["--write", "--unsafe-fixes"], ["--diff", "--format", "sarif"]):
        proc = subprocess.run(
            [sys.executable, "-m", "refactor", "-j", "2", *args, *[a for e in EMITS for a in ("--emit", e)], "."],
            cwd=root, capture_output=True, text=True, timeout=300, env=os.environ.copy(),
        )
        assert proc.returncode in (0, 1, 2), proc.stderr[-2000:]
        assert "internal error" not in proc.stderr, proc.stderr[-2000:]
    assert not _markers(markers), _markers(markers)


def test_poison_would_be_noticed(poisoned_path) -> None:
    """The marker mechanism works: running a poisoned tool from the repo leaves a marker."""
    root, _fakebin, markers = poisoned_path
    subprocess.run(["npm", "ci"], cwd=root, check=True)
    subprocess.run([str(root / "make")], cwd=root, check=True)
    assert set(_markers(markers)) == {"ran-npm", "ran-make"}
    assert stat.S_IMODE((root / "bin" / "git").stat().st_mode) == 0o755

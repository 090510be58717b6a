"""The git pre-filter of caller discovery finds exactly what reading every file finds.

``refactor.callers.gitscan`` lets report mode skip, unopened, the files git searched and found no
caller needle in. Every file git does not search (ignored by git's own excludes but not by dfix, in
a nested repository, a symbolic link, over the size limit) must still be read, so discovery with
and without the filter returns the same invocations, mentions and unreadable files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from refactor import walk
from refactor.callers import MAX_BYTES, discover
from refactor.callers.kinds import KINDS
from refactor.gitscan import NEEDLES, GitPrefilter

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

CALL = "docker build --build-arg NPM_TOKEN .\n"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def _write(root: Path, rel: str, text: str | bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    _write(root, "Dockerfile", "FROM scratch\nARG NPM_TOKEN\n")
    _write(root, "tracked.sh", CALL)
    _write(root, "quiet.sh", "echo nothing to see\n")
    _write(root, "untracked/build.sh", CALL)
    _write(root, ".gitignore", "ignored.sh\n")
    _write(root, "ignored.sh", CALL)  # ignored by both git and dfix
    _write(root, ".git/info/exclude", "excluded-by-git.sh\n")
    _write(root, "excluded-by-git.sh", CALL)  # git skips it; dfix reads only .gitignore files
    _write(root, "nested/.git/HEAD", "ref: refs/heads/main\n")  # a nested repository git does not enter
    _write(root, "nested/build.sh", CALL)
    _write(root, "target/real.sh", CALL)
    os.symlink("target/real.sh", root / "link.sh")  # git does not follow it
    _write(root, "big.sh", b"#" * (MAX_BYTES + 10) + b"\n")  # too big: reported unreadable both ways
    _write(root, "name with spaces & ü.sh", CALL)
    _write(root, "bin/release", "#!/bin/sh\n" + CALL)
    _write(root, ".github/workflows/ci.yml", "jobs:\n  b:\n    steps:\n      - run: " + CALL)
    _write(root, "tools/build.py", "import subprocess\nsubprocess.run(['docker', 'build', '--build-arg', 'NPM_TOKEN', '.'])\n")
    _git(root, "add", "tracked.sh", "quiet.sh", ".gitignore", "Dockerfile", "big.sh", "link.sh")
    _write(root, "tracked.sh", CALL + CALL)  # edited since it was added: the working tree counts
    return root


def _discover(root: Path, prefilter: GitPrefilter | None):
    walk.forget()
    mentions: list = []
    unreadable: list = []
    invs = discover(os.path.realpath(root), mentions=mentions, unreadable=unreadable, names=frozenset({"NPM_TOKEN"}), prefilter=prefilter)
    return sorted((i.path, i.start, i.end) for i in invs), sorted(mentions), sorted(unreadable)


def test_the_filter_changes_nothing_found(repo: Path) -> None:
    plain = _discover(repo, None)
    pf = GitPrefilter.start(os.path.realpath(repo), NEEDLES)
    assert pf is not None
    filtered = _discover(repo, pf)
    assert filtered == plain
    found = {os.path.relpath(p, os.path.realpath(repo)) for p, _, _ in plain[0]}
    assert {"tracked.sh", "untracked/build.sh", "excluded-by-git.sh", "nested/build.sh", "link.sh", "name with spaces & ü.sh"} <= found
    assert "quiet.sh" not in found and "ignored.sh" not in found
    assert [os.path.basename(p) for p, _ in plain[2]] == ["big.sh"]
    searched, hits = pf.sets() or (frozenset(), frozenset())
    assert os.path.join(os.path.realpath(repo), "quiet.sh") in searched - hits  # skipped unopened


def test_every_kind_needle_holds_a_git_needle() -> None:
    """A file git finds none of NEEDLES in must fail every kind's needle test."""
    for kind in KINDS:
        for needle in kind.needles:
            assert any(n in needle for n in NEEDLES), (kind.name, needle)


def test_starting_it_imports_no_caller_machinery() -> None:
    import subprocess
    import sys

    code = "import sys, refactor.gitscan; sys.exit(any(m.startswith('refactor.callers') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_no_git_work_tree_no_filter(tmp_path: Path) -> None:
    assert GitPrefilter.start(str(tmp_path), NEEDLES) is None


@pytest.mark.parametrize("grep_status", [2, 128])
def test_a_failing_git_turns_the_filter_off(repo: Path, grep_status: int) -> None:
    root = os.path.realpath(repo)
    grep = subprocess.Popen(["sh", "-c", f"printf 'quiet.sh\\0'; exit {grep_status}"], stdout=subprocess.PIPE)
    files = subprocess.Popen(["sh", "-c", "printf 'tracked.sh\\0quiet.sh\\0'"], stdout=subprocess.PIPE)
    pf = GitPrefilter(root, (grep, files))
    assert pf.sets() is None
    assert _discover(repo, pf) == _discover(repo, None)


def test_a_closed_filter_filters_nothing(repo: Path) -> None:
    pf = GitPrefilter.start(os.path.realpath(repo), NEEDLES)
    assert pf is not None
    pf.close()
    assert pf.sets() is None


def test_missing_git_executable(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-such-dir"))
    assert GitPrefilter.start(os.path.realpath(repo), NEEDLES) is None


def test_report_mode_uses_it_and_shows_the_same_callers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from refactor.cli import cli

    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    _write(root, "Dockerfile", 'FROM node:20\nARG NPM_TOKEN\nRUN echo "//r/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc\n')
    _write(root, "tracked.sh", CALL)
    _write(root, "quiet.sh", "echo nothing to see\n")
    _write(root, ".git/info/exclude", "excluded-by-git.sh\n")
    _write(root, "excluded-by-git.sh", CALL)
    _git(root, "add", "tracked.sh", "quiet.sh", "Dockerfile")
    monkeypatch.chdir(root)
    started: list = []
    real = GitPrefilter.start.__func__  # type: ignore[attr-defined]

    def spy(cls, root, needles=NEEDLES):
        pf = real(cls, root, needles)
        started.append(pf)
        return pf

    monkeypatch.setattr(GitPrefilter, "start", classmethod(lambda cls, root, needles=NEEDLES: None))
    without = CliRunner().invoke(cli, ["--no-cache", "Dockerfile"])
    monkeypatch.setattr(GitPrefilter, "start", classmethod(spy))
    with_git = CliRunner().invoke(cli, ["--no-cache", "Dockerfile"])
    assert started and started[0] is not None
    assert with_git.output == without.output
    assert "tracked.sh:1:" in with_git.output and "excluded-by-git.sh:1:" in with_git.output


def test_repo_roots_batched_realpath_is_realpath(tmp_path: Path) -> None:
    from refactor.gitscan import _realpath

    d = tmp_path
    (d / "a" / "b").mkdir(parents=True)
    (d / "a" / "b" / "f").write_text("")
    os.symlink(d / "a" / "b", d / "lnk")
    os.symlink(d / "a" / "b" / "f", d / "flink")
    os.symlink("b/f", d / "a" / "rel")
    memo: dict[str, str] = {}
    for p in ["a/b/f", "lnk/f", "flink", "a/rel", "a/b/../b/f", "lnk/../b/f", "lnk/../a", "lnk", "nope", ".", ""]:
        full = str(d / p) if p else str(d)
        assert _realpath(full, memo) == os.path.realpath(full), p
    for p in ["/", ".", "a/../x"]:
        assert _realpath(p, memo) == os.path.realpath(p), p

"""refactor.walk: the shared per-run walk behaves as os.walk(followlinks=False), and each
directory is read from the disk once per run however many walks ask."""

from __future__ import annotations

import os
import sys

from refactor import walk


def _tree(root) -> None:
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "Dockerfile").write_text("FROM x\n")
    (root / "a" / "f.sh").write_text("#!/bin/sh\n")
    (root / "z").mkdir()
    (root / "z" / "deep" / "er").mkdir(parents=True)
    (root / "link-to-a").symlink_to("a", target_is_directory=True)  # listed, not descended into
    (root / "link-to-file").symlink_to("a/f.sh")
    (root / "dangling").symlink_to("nowhere")
    (root / "z" / "loop").symlink_to("..", target_is_directory=True)


def _os_walk(top: str, prune: set[str]) -> list:
    out = []
    for d, dirs, files in os.walk(top, followlinks=False):
        dirs[:] = sorted(x for x in dirs if x not in prune)
        out.append((d, list(dirs), sorted(files)))
    return out


def _walk(top: str, prune: set[str]) -> list:
    out = []
    for d, dirs, files in walk.walk(top):
        dirs[:] = [x for x in dirs if x not in prune]
        out.append((d, list(dirs), files))
    return out


def test_walk_is_os_walk_without_following_links(tmp_path) -> None:
    _tree(tmp_path)
    walk.forget()
    for prune in (set(), {"b"}, {"z", "a"}):
        assert sorted(_walk(str(tmp_path), prune)) == sorted(_os_walk(str(tmp_path), prune))
    assert _walk(str(tmp_path / "link-to-a"), set()) == _os_walk(str(tmp_path / "link-to-a"), set())  # a named link is walked
    assert _walk(str(tmp_path / "missing"), set()) == [] == _os_walk(str(tmp_path / "missing"), set())


def test_each_directory_is_listed_once_per_run(tmp_path, monkeypatch) -> None:
    """Dockerfile discovery, caller discovery and the DF010 scan all walk the tree in one run."""
    from helpers import run

    _tree(tmp_path)
    (tmp_path / "a" / "b" / "Dockerfile").write_text("FROM x\nARG NPM_TOKEN\nRUN npm ci\n")
    (tmp_path / "build.sh").write_text("docker build --build-arg NPM_TOKEN=$NPM_TOKEN a/b\n")
    listed: list[str] = []
    walkers: list[str] = []
    real_scandir, real_walk = os.scandir, os.walk

    def counting(path=".", *a):
        if sys._getframe(1).f_code.co_filename == walk.__file__:
            listed.append(os.path.abspath(path))
        return real_scandir(path, *a)

    def os_walk(top, *a, **k):
        walkers.append(sys._getframe(1).f_code.co_filename)
        return real_walk(top, *a, **k)

    monkeypatch.setattr(os, "scandir", counting)
    monkeypatch.setattr(os, "walk", os_walk)
    code, _out, err = run(["--diff", "."], cwd=tmp_path)
    assert code in (0, 1), err
    assert listed, "the run did not walk through refactor.walk"
    assert len(listed) == len(set(listed)), sorted(p for p in listed if listed.count(p) > 1)
    # the repository walkers go through refactor.walk; what still calls os.walk reads a build
    # context (the rewrite check reads it on its own, independently of the planner)
    tree_walkers = {"discovery.py", "__init__.py", "split.py"}
    assert not [w for w in walkers if os.path.basename(w) in tree_walkers and "refactor" in w], walkers

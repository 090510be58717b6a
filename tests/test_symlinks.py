"""Symlinks: the documented rule, tested.

The rule (README "What the rewrite does", ``refactor/engine.py`` ``write_atomic``): a symlinked
Dockerfile is written *through*. The new bytes replace the link's final target (``realpath``), by
a temp file in the target's directory and ``os.replace``; the link itself stays a link with the
same (relative or absolute) link text. That holds for chains of links, and for links named on the
command line whatever they point to. A link *found by discovery* whose target lies outside the
scanned directory is reported and diffed but not written: a repository must not be able to point
``--write`` at any file the user can write. Discovery walks with ``os.walk(followlinks=False)``:
a symlinked file inside a scanned directory is a candidate, a symlinked directory is listed but not
descended into (so nothing behind it is found, and link loops cannot make the walk spin); a
directory given explicitly is walked even if it is itself a link. A link is never replaced by a
regular file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import run

SECRET = b"FROM alpine:3.20\nARG NPM_TOKEN\nRUN npm ci\n"
MOUNT = b"--mount=type=secret,id=npm_token,env=NPM_TOKEN"


def _write(path: Path, data: bytes = SECRET) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _link(link: Path, target: str) -> Path:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)
    return link


def _assert_link(link: Path, target_text: str) -> None:
    assert link.is_symlink(), f"{link} was replaced by a regular file"
    assert os.readlink(link) == target_text


def test_symlinked_dockerfile_is_written_through(tmp_path) -> None:
    real = _write(tmp_path / "repo" / "docker" / "Dockerfile.base")
    link = _link(tmp_path / "repo" / "Dockerfile", "docker/Dockerfile.base")
    code, _out, err = run(["--write", "-q", str(link)])
    assert code in (0, 1), err
    _assert_link(link, "docker/Dockerfile.base")
    assert MOUNT in real.read_bytes()
    assert link.read_bytes() == real.read_bytes()
    assert not [p for p in (tmp_path / "repo").rglob("*") if "dfix-tmp" in p.name]


def test_discovered_link_to_a_file_outside_the_scanned_directory_is_not_written(tmp_path) -> None:
    outside = _write(tmp_path / "shared" / "Dockerfile")
    link = _link(tmp_path / "repo" / "svc" / "Dockerfile", "../../shared/Dockerfile")
    inside = _write(tmp_path / "repo" / "api" / "Dockerfile")
    code, out, err = run(["--write", str(tmp_path / "repo")])
    assert code == 2, out + err
    assert "svc/Dockerfile" in out + err and "outside" in out + err and "name it explicitly" in out + err
    assert outside.read_bytes() == SECRET  # the target outside the tree is untouched
    _assert_link(link, "../../shared/Dockerfile")
    assert MOUNT in inside.read_bytes()  # the rest of the run goes on
    # report and --diff still show it: only the write is refused
    code, out, err = run(["--diff", str(tmp_path / "repo")])
    assert "svc/Dockerfile" in out and MOUNT.decode() in out
    assert not [p for p in tmp_path.rglob("*") if "dfix-tmp" in p.name]


def test_link_to_a_file_outside_is_written_through_when_named(tmp_path) -> None:
    outside = _write(tmp_path / "shared" / "Dockerfile")
    link = _link(tmp_path / "repo" / "svc" / "Dockerfile", "../../shared/Dockerfile")
    code, out, err = run(["--write", str(link)])
    assert code in (0, 1), out + err
    _assert_link(link, "../../shared/Dockerfile")
    assert MOUNT in outside.read_bytes()
    assert not [p for p in tmp_path.rglob("*") if "dfix-tmp" in p.name]


def test_scanned_directory_given_through_a_link_is_its_own_root(tmp_path) -> None:
    """The root is compared by real path: a scanned directory reached through a link, with a
    relative link inside it, is written."""
    real = _write(tmp_path / "real-repo" / "svc" / "Dockerfile.base")
    _link(tmp_path / "real-repo" / "svc" / "Dockerfile", "Dockerfile.base")
    repo = _link(tmp_path / "repo", "real-repo")
    code, out, err = run(["--write", "-q", str(repo)])
    assert code in (0, 1), out + err
    assert MOUNT in real.read_bytes()


def test_hard_linked_file_is_not_written(tmp_path) -> None:
    a = _write(tmp_path / "repo" / "Dockerfile")
    b = tmp_path / "repo" / "other" / "Dockerfile.copy"
    b.parent.mkdir()
    os.link(a, b)
    code, out, err = run(["--write", str(a)])
    assert code == 2, out + err
    assert "2 hard links" in out + err
    assert a.read_bytes() == SECRET and b.read_bytes() == SECRET
    assert os.stat(a).st_ino == os.stat(b).st_ino  # still one file
    assert not [p for p in tmp_path.rglob("*") if "dfix-tmp" in p.name]
    # --add-ignore writes too, and is refused the same way
    code, out, err = run(["--add-ignore", str(a)])
    assert "hard links" in out + err and a.read_bytes() == SECRET


def test_absolute_link_keeps_its_absolute_text(tmp_path) -> None:
    real = _write(tmp_path / "real" / "Dockerfile")
    link = _link(tmp_path / "repo" / "Dockerfile", str(real))
    code, _out, err = run(["--write", "-q", str(link)])
    assert code in (0, 1), err
    _assert_link(link, str(real))
    assert MOUNT in real.read_bytes()


def test_link_chain_writes_the_final_target_and_keeps_every_link(tmp_path) -> None:
    final = _write(tmp_path / "c" / "Dockerfile.final")
    b = _link(tmp_path / "b" / "Dockerfile.mid", "../c/Dockerfile.final")
    a = _link(tmp_path / "repo" / "Dockerfile", "../b/Dockerfile.mid")
    code, _out, err = run(["--write", "-q", str(a)])
    assert code in (0, 1), err
    _assert_link(a, "../b/Dockerfile.mid")
    _assert_link(b, "../c/Dockerfile.final")
    assert MOUNT in final.read_bytes()


def test_mode_and_owner_of_the_target_are_kept(tmp_path) -> None:
    real = _write(tmp_path / "real" / "Dockerfile")
    real.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(real, 4242, 4343)
    link = _link(tmp_path / "repo" / "Dockerfile", "../real/Dockerfile")
    run(["--write", "-q", str(link)])
    st = real.stat()
    assert MOUNT in real.read_bytes()
    assert st.st_mode & 0o7777 == 0o640
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (4242, 4343)
    _assert_link(link, "../real/Dockerfile")


@pytest.mark.parametrize("mode", [[], ["--diff"], ["--check"]])
def test_read_only_modes_leave_links_and_targets_alone(tmp_path, mode) -> None:
    real = _write(tmp_path / "real" / "Dockerfile")
    link = _link(tmp_path / "repo" / "Dockerfile", "../real/Dockerfile")
    before = (real.stat().st_mtime_ns, real.stat().st_ino, os.lstat(link).st_mtime_ns)
    code, _out, err = run(mode + [str(tmp_path / "repo")])
    assert code == 1, err
    assert real.read_bytes() == SECRET
    assert (real.stat().st_mtime_ns, real.stat().st_ino, os.lstat(link).st_mtime_ns) == before
    _assert_link(link, "../real/Dockerfile")


def test_link_and_target_in_the_same_tree_end_up_as_one_rewrite(tmp_path) -> None:
    """Both names are candidates; the target ends up with the rewrite, exactly once, and a
    second run has nothing to do."""
    real = _write(tmp_path / "repo" / "Dockerfile.base")
    link = _link(tmp_path / "repo" / "Dockerfile", "Dockerfile.base")
    code, _out, err = run(["--write", "-q", str(tmp_path / "repo")])
    assert code in (0, 1), err
    _assert_link(link, "Dockerfile.base")
    new = real.read_bytes()
    assert new.count(MOUNT) == 1 and b"ARG NPM_TOKEN" not in new
    code, out, err = run(["--check", str(tmp_path / "repo")])
    assert code == 0, out + err


def test_discovery_does_not_follow_directory_links(tmp_path) -> None:
    outside = _write(tmp_path / "outside" / "svc" / "Dockerfile")
    repo = tmp_path / "repo"
    _write(repo / "Dockerfile", b"FROM alpine:3.20\nRUN true\n")
    _link(repo / "vendored", "../outside")  # a directory link
    _link(repo / "loop", ".")  # a loop: would recurse forever if followed
    _link(repo / "sub" / "up", "..")
    _link(repo / "Dockerfile.dir", "../outside/svc")  # a Dockerfile-named link to a directory
    # what os.walk(followlinks=False) does: directory links are listed, not descended into
    seen = {(os.path.relpath(d, repo), tuple(sorted(dn)), tuple(sorted(fn))) for d, dn, fn in os.walk(repo)}
    assert (".", ("Dockerfile.dir", "loop", "sub", "vendored"), ("Dockerfile",)) in seen
    assert all(not d.startswith(("vendored", "loop", "Dockerfile.dir")) for d, _dn, _fn in seen)
    code, out, err = run(["--write", "--format", "json", str(repo)])
    assert code == 0, err
    import json

    paths = [f["path"] for f in json.loads(out)["files"]]
    assert paths == [str(repo / "Dockerfile")], paths
    assert outside.read_bytes() == SECRET
    assert not (tmp_path / "outside" / "svc" / "Dockerfile").is_symlink()


def test_an_explicitly_given_directory_link_is_walked(tmp_path) -> None:
    real = _write(tmp_path / "outside" / "Dockerfile")
    link = _link(tmp_path / "repo" / "vendored", "../outside")
    code, _out, err = run(["--write", "-q", str(link)])
    assert code in (0, 1), err
    assert MOUNT in real.read_bytes()
    _assert_link(link, "../outside")


def test_dangling_and_looping_links_are_errors_not_writes(tmp_path) -> None:
    repo = tmp_path / "repo"
    good = _write(repo / "Dockerfile")
    _link(repo / "svc" / "Dockerfile", "../nowhere/Dockerfile")
    loop = _link(repo / "loop" / "Dockerfile", "Dockerfile")
    code, _out, err = run(["--write", "-q", str(repo)])
    assert code == 2
    errors = [ln for ln in err.splitlines() if ln.startswith("dfix: error:")]
    assert len(errors) == 2, err
    assert MOUNT in good.read_bytes()
    assert (repo / "svc" / "Dockerfile").is_symlink() and loop.is_symlink()
    assert not [p for p in repo.rglob("*") if "dfix-tmp" in p.name]


def test_leftover_of_a_write_through_a_link_is_removed_by_the_next_run(tmp_path) -> None:
    real = _write(tmp_path / "shared" / "Dockerfile.base")
    link = _link(tmp_path / "repo" / "Dockerfile", "../shared/Dockerfile.base")
    leftover = tmp_path / "shared" / ".Dockerfile.dfix-tmp-4242-deadbeef"  # what a killed write leaves
    leftover.write_bytes(b"partial")
    code, _out, err = run(["--write", "-q", str(link)])
    assert code in (0, 1), err
    assert MOUNT in real.read_bytes()
    assert not leftover.exists(), "the leftover temp file beside the link's target survived the next run"


def test_discovery_keeps_one_path_per_file_and_each_hard_link(tmp_path) -> None:
    """Paths are resolved only when they share an inode: a link and its target (given or found)
    are one candidate, the same file given twice is one, and each hard link keeps its own path
    (two real paths: a rewrite would replace each one's file)."""
    from refactor.discovery import discover

    a = _write(tmp_path / "svc" / "Dockerfile")
    _link(tmp_path / "svc" / "alias.Dockerfile", "Dockerfile")
    os.link(a, tmp_path / "svc" / "hard.Dockerfile")
    _write(tmp_path / "other" / "Dockerfile")
    found = discover([str(tmp_path), str(a), str(a)])
    paths = sorted(os.path.relpath(c.path, tmp_path) for c in found)
    assert paths == ["other/Dockerfile", "svc/Dockerfile", "svc/hard.Dockerfile"]
    dirs: list[str] = []
    discover([str(tmp_path / "svc"), str(a), str(tmp_path / "missing"), str(tmp_path / "other")], dirs=dirs)
    assert dirs == [str(tmp_path / "svc"), str(tmp_path / "other")]

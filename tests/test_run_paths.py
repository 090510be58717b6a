"""Per-path work done once per run, held equal to the per-file definitions it replaced: the
directory the run's config is looked up from, and the root a write must not leave."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from refactor import walk
from refactor.cli_render import _common_parent
from refactor.run import _WriteRoots


def _common_parent_per_path(paths: list[str]) -> str:
    """The definition before: every path stat-ed and resolved."""
    absd = [os.path.abspath(p if os.path.isdir(p) else os.path.dirname(p) or ".") for p in paths]
    try:
        return os.path.commonpath(absd)
    except ValueError:
        return os.getcwd()


def _write_root_per_file(fs_path: str | None, given: list[str], fallback: str | None = None) -> str | None:
    """The definition before: every given path resolved and stat-ed for every file."""
    if not fs_path:
        return None
    a = os.path.abspath(fs_path)
    if any(os.path.abspath(g) == a for g in given if g != "-"):
        return None
    for g in given:
        if g != "-" and os.path.isdir(g) and a.startswith(os.path.abspath(g).rstrip(os.sep) + os.sep):
            return g
    return fallback


@pytest.fixture
def tree(tmp_path: Path, monkeypatch) -> Path:
    for rel in ("a/Dockerfile", "a/b/Dockerfile", "a/b/c/Dockerfile.dev", "d/Dockerfile", "Dockerfile"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("FROM scratch\n")
    monkeypatch.chdir(tmp_path / "a")
    walk.forget()
    return tmp_path


PATHS = ["Dockerfile", ".", "b", "b/Dockerfile", "b/c/Dockerfile.dev", "../d", "../d/Dockerfile", "missing/x", "../Dockerfile", "b/c"]


def test_the_config_directory_is_the_per_path_one(tree: Path) -> None:
    for n in (1, 2, 3):
        for combo in itertools.combinations(PATHS, n):
            paths = list(combo)
            assert _common_parent(paths) == _common_parent_per_path(paths), paths
    abs_paths = [str(tree / "a" / "b"), "b/Dockerfile"]
    assert _common_parent(abs_paths) == _common_parent_per_path(abs_paths)


def test_write_roots_are_the_per_file_ones(tree: Path) -> None:
    files = ["Dockerfile", "b/Dockerfile", "b/c/Dockerfile.dev", "../d/Dockerfile", str(tree / "a" / "b" / "Dockerfile"), None, ""]
    for n in (1, 2, 3):
        for combo in itertools.combinations([*PATHS, "-"], n):
            given = list(combo)
            roots = _WriteRoots(given)
            for f in files:
                for fallback in (None, "top"):
                    assert roots(f, fallback) == _write_root_per_file(f, given, fallback), (given, f, fallback)


def test_read_regular_reads_only_regular_files_within_the_cap(tmp_path) -> None:
    """``source.read_regular``, the one reader of scanned and build-context files: a FIFO is never
    opened (a blocking open hung a run), a link is refused when not to be followed, a file over the
    cap is None, not a prefix."""
    import os

    from refactor.source import read_regular

    f = tmp_path / "f"
    f.write_bytes(b"abc")
    (tmp_path / "link").symlink_to(f)
    os.mkfifo(tmp_path / "fifo")
    assert read_regular(str(f), 3) == b"abc"
    assert read_regular(str(f), 2) is None
    assert read_regular(str(tmp_path / "link"), 10) == b"abc"
    assert read_regular(str(tmp_path / "link"), 10, follow=False) is None
    assert read_regular(str(tmp_path / "fifo"), 10) is None
    assert read_regular(str(tmp_path), 10) is None
    with pytest.raises(FileNotFoundError):
        read_regular(str(tmp_path / "gone"), 10)

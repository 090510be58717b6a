"""Each bad input gets a one-line error naming the file, the run goes on, and exit is 2."""

from __future__ import annotations

import os
import sys

import pytest

from helpers import run, snapshot

GOOD = b"FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n"


def _make(tmp_path, kind: str):
    p = tmp_path / "bad" / "Dockerfile"
    p.parent.mkdir()
    if kind == "binary":
        p.write_bytes(b"FROM a\x00\x01\x02")
    elif kind == "invalid-utf8":
        p.write_bytes(b"FROM a:1\nRUN echo \xff\xfe\n")
    elif kind == "unterminated-heredoc":
        p.write_bytes(b"FROM a:1\nRUN <<EOF\necho hi\n")
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "comments-only":
        p.write_bytes(b"# nothing\n")
    elif kind == "too-large":
        p.write_bytes(b"FROM a:1\n" + b"# pad\n" * (20 * 1024 * 1024 // 6 + 1))
    elif kind == "unreadable":
        p.write_bytes(GOOD)
        p.chmod(0)
    elif kind == "dangling-symlink":
        os.symlink(tmp_path / "nowhere", p)
    elif kind == "symlink-loop":
        os.symlink(p, p)
    elif kind == "directory":
        p.mkdir()
    elif kind == "fifo":
        os.mkfifo(p)
    return p


KINDS = ["binary", "invalid-utf8", "unterminated-heredoc", "empty", "comments-only", "too-large", "unreadable",
         "dangling-symlink", "symlink-loop", "directory", "fifo"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", [[], ["--write"], ["--diff"], ["--check"]])
def test_bad_input_is_reported_and_the_rest_processed(tmp_path, kind, mode) -> None:
    if kind == "unreadable" and os.geteuid() == 0:
        # root reads anything; simulate with a path that cannot be opened as a file instead
        pytest.skip("running as root: file permissions do not stop reads (covered by 'directory' and 'fifo')")
    bad = _make(tmp_path, kind)
    good = tmp_path / "good" / "Dockerfile"
    good.parent.mkdir()
    good.write_bytes(GOOD)
    before = bad.read_bytes() if kind in ("binary", "invalid-utf8", "unterminated-heredoc", "empty", "too-large") else None
    code, out, err = run(mode + [str(bad), str(good)])
    assert code == 2
    errors = [ln for ln in err.splitlines() if ln.startswith("dfix: error:")]
    assert len(errors) == 1 and str(bad) in errors[0]
    assert "Traceback" not in err and "Traceback" not in out
    if before is not None:
        assert bad.read_bytes() == before
    if mode == ["--write"]:
        assert b"--mount=type=secret" in good.read_bytes()
    else:
        assert good.read_bytes() == GOOD


def test_directory_named_dockerfile_during_discovery(tmp_path) -> None:
    (tmp_path / "svc" / "Dockerfile").mkdir(parents=True)
    (tmp_path / "Dockerfile").write_bytes(GOOD)
    code, out, err = run([str(tmp_path)])
    assert code == 1  # the good file's findings; the directory is not a candidate file
    assert "error" not in err


def test_max_file_size_is_configurable(tmp_path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_bytes(GOOD)
    code, _out, err = run(["--max-file-size", "10", str(p)])
    assert code == 2 and "limit" in err


def test_no_traceback_without_verbose(tmp_path, monkeypatch) -> None:
    p = tmp_path / "Dockerfile"
    p.write_bytes(GOOD)
    import refactor.engine as engine

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(engine, "process_source", boom)
    code, out, err = run([str(p)])
    assert code == 2 and "internal error: RuntimeError" in err and "Traceback" not in err


def test_unreadable_file_even_as_root(tmp_path, monkeypatch) -> None:
    """Root reads files whatever their mode, so the EACCES is injected where dfix opens the file."""
    import refactor.source as source

    bad = tmp_path / "bad" / "Dockerfile"
    bad.parent.mkdir()
    bad.write_bytes(GOOD)
    good = tmp_path / "good" / "Dockerfile"
    good.parent.mkdir()
    good.write_bytes(GOOD)
    real_read = source.read_capped

    def guarded_read(path, *a, **k):
        if str(path) == str(bad):
            raise PermissionError(13, "Permission denied", str(path))
        return real_read(path, *a, **k)

    monkeypatch.setattr(source, "read_capped", guarded_read)
    code, out, err = run(["--write", str(bad), str(good)])
    assert code == 2
    errors = [ln for ln in err.splitlines() if ln.startswith("dfix: error:")]
    assert errors == [f"dfix: error: {bad}: cannot read: Permission denied"]
    assert bad.read_bytes() == GOOD and b"--mount=type=secret" in good.read_bytes()


def test_an_unreadable_path_does_not_stop_the_others(tmp_path, monkeypatch) -> None:
    """PATHS are not checked by click (whose ``click.Path`` refused a file it judged unreadable
    with a usage error, exit 2, before any file was processed): the run reports what it cannot
    read and processes the rest. Simulated for root by making every access check fail."""
    good = tmp_path / "Dockerfile"
    good.write_bytes(GOOD)
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    code, out, err = run([str(good)])
    assert "Invalid value" not in err and "not readable" not in err
    assert code == 1 and "DF001" in out


def test_a_directory_that_cannot_be_listed_is_an_error_not_an_empty_pass(tmp_path, monkeypatch) -> None:
    """A given directory the run cannot list is a one-line error and exit 2 (click used to refuse
    it; without that check it became "0 files scanned", exit 0, which a CI gate would pass).
    Simulated for root by making listing that directory fail."""
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "Dockerfile").write_bytes(GOOD)
    good = tmp_path / "ok" / "Dockerfile"
    good.parent.mkdir()
    good.write_bytes(GOOD)
    real = os.scandir

    def scandir(path="."):
        if os.path.abspath(path) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    for mode in ([], ["--check"], ["--write"]):
        code, out, err = run([*mode, str(locked), str(good.parent)])
        assert code == 2, (mode, out, err)
        assert "cannot list directory: Permission denied" in err + out
        assert (locked / "Dockerfile").read_bytes() == GOOD
    assert good.read_bytes() != GOOD  # (the other directory was processed and written)


def test_a_fifo_in_a_scanned_tree_never_blocks_the_credential_split_scan(tmp_path) -> None:
    """The DF010 scan read each scanned file with a blocking open(): a FIFO named like a script
    (``build.sh``) or a tool config (``.npmrc``) hung the run forever. It is now lstat-ed and
    skipped, and a file swapped for one after that is opened non-blocking and fstat-ed."""
    import subprocess

    (tmp_path / "Dockerfile").write_bytes(GOOD)
    os.mkfifo(tmp_path / "build.sh")
    os.mkfifo(tmp_path / ".npmrc")
    env = dict(os.environ, DFIX_NO_CACHE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "refactor", "-q", str(tmp_path)], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 1 and "DF001" in proc.stdout, proc.stderr
    from refactor.supply.split_files import scanned_text

    assert scanned_text(str(tmp_path / "build.sh")) is None

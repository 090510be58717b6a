"""Hardening, round two: regressions for what a red team found (one test per point fixed)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from helpers import run


def test_newline_in_a_file_name_cannot_start_a_line(tmp_path) -> None:
    """Point 11: a newline in a name broke the printed `# build …` block and the diff header."""
    d = tmp_path / "a\nrm -rf ~"
    d.mkdir()
    (d / "Dockerfile").write_text("FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n")
    _code, out, err = run(["--diff", "."], cwd=tmp_path)
    lines = (out + err).splitlines()
    assert not any(ln.startswith("rm -rf") for ln in lines), out + err
    assert any(ln.startswith('--- "a/') and "\\n" in ln for ln in lines), out
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        proc = subprocess.run(["git", "apply", "--check", "-"], input=out, text=True, cwd=tmp_path, capture_output=True)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("mode", [[], ["--check"]])
def test_control_characters_are_escaped_in_reports(tmp_path, mode) -> None:
    d = tmp_path / "x\ty\x1b[31m"
    d.mkdir()
    (d / "Dockerfile").write_text("FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n")
    _code, out, err = run([*mode, str(tmp_path)], cwd=tmp_path)
    assert "\x1b[31m" not in out and "\t" not in out, out
    assert "\\x1b" in out


TOKEN = "ghp_" + "Zq8Lm2Vb7Qx9Rt4Wy6Pn3Kd5Hs1Jf0GcAeBu"  # canary in a known token format


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "markdown"])
@pytest.mark.parametrize("mode", [[], ["--diff"], ["--check"], ["--write"]])
def test_a_parse_error_never_echoes_the_secret(tmp_path, fmt, mode) -> None:
    """Point 7: `ENV GITHUB_TOKEN= ghp_…` (a stray space) is a parse error whose message quotes
    the token; every format printed it (SARIF included, which the Action uploads)."""
    (tmp_path / "Dockerfile").write_text(f"FROM a:1\nENV GITHUB_TOKEN= {TOKEN}\n")
    code, out, err = run([*mode, "--format", fmt, str(tmp_path / "Dockerfile")])
    assert code == 2
    assert TOKEN not in out + err and TOKEN[4:] not in out + err
    assert "chars>" in out + err


def _repo(tmp_path, caller: bytes, name: str = "build.sh"):
    (tmp_path / ".git").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n")
    (tmp_path / name).write_bytes(caller)


def test_a_caller_that_is_not_utf8_blocks_the_fix_with_exit_2(tmp_path) -> None:
    """Point 3: one Latin-1 byte in a comment made the caller invisible; the Dockerfile was
    migrated and the script kept passing --build-arg (its build then lacks the secret)."""
    _repo(tmp_path, b"#!/bin/sh\n# caf\xe9\ndocker build --build-arg NPM_TOKEN -t app .\n")
    code, out, err = run(["--write", "."], cwd=tmp_path)
    assert code == 2
    assert "ARG NPM_TOKEN" in (tmp_path / "Dockerfile").read_text()
    assert "build.sh: it is not UTF-8" in err


def test_a_caller_over_the_size_limit_blocks_the_fix(tmp_path) -> None:
    _repo(tmp_path, b"#!/bin/sh\n" + b"# padding\n" * 300_000 + b"docker build --build-arg NPM_TOKEN .\n")
    code, _out, err = run(["--write", "."], cwd=tmp_path)
    assert code == 2 and "over 2 MiB" in err
    assert "ARG NPM_TOKEN" in (tmp_path / "Dockerfile").read_text()


@pytest.mark.parametrize("big", [True, False])
def test_a_caller_that_cannot_be_opened_blocks_the_fix_and_says_why(tmp_path, monkeypatch, big) -> None:
    """A caller that cannot be opened (no read permission: simulated, the suite may run as root)
    blocks its group with exit 2. One over the size limit says so, as a stat before the open did
    (session 13 opened first and called it unreadable)."""
    import os

    from refactor.callers import scan

    _repo(tmp_path, b"#!/bin/sh\n" + (b"# padding\n" * 300_000 if big else b"") + b"docker build --build-arg NPM_TOKEN .\n")
    real = os.open

    def refuse(path, *a, **kw):
        if str(path).endswith("build.sh"):
            raise PermissionError(13, "Permission denied")
        return real(path, *a, **kw)

    monkeypatch.setattr(scan.os, "open", refuse)
    code, _out, err = run(["--write", "."], cwd=tmp_path)
    assert code == 2, err
    assert ("build.sh: it is over 2 MiB" if big else "build.sh: it cannot be read (Permission denied)") in err
    assert "ARG NPM_TOKEN" in (tmp_path / "Dockerfile").read_text()


def test_an_unreadable_caller_is_no_error_when_nothing_migrates(tmp_path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM a:1\nARG VERSION=1\nRUN echo $VERSION\n")
    (tmp_path / "build.sh").write_bytes(b"#!/bin/sh\n# caf\xe9\ndocker build --build-arg VERSION=2 .\n")
    code, _out, err = run(["--write", "."], cwd=tmp_path)
    assert code == 0, err


def test_a_line_appended_to_a_compose_file_during_the_run_is_kept(tmp_path, monkeypatch) -> None:
    """Point 1: a line appended to a large compose file while `--write` ran was lost (exit 0):
    only Dockerfiles were checked again before being replaced. Every written file is now compared
    with the bytes dfix read, and a changed one blocks its group (exit 2)."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n")
    services = "".join(f"  svc{i}:\n    image: example/svc{i}:1\n    ports:\n      - \"{8000 + i}:80\"\n" for i in range(400))
    compose = ("services:\n  app:\n    build:\n      context: .\n      args:\n        NPM_TOKEN: ${NPM_TOKEN}\n" + services).encode()
    (tmp_path / "compose.yaml").write_bytes(compose)
    appended = compose + b"  late:\n    image: example/late:1\n"
    import refactor.link as link

    real = link.link_callers

    def link_then_append(*a, **kw):
        out = real(*a, **kw)
        with open(tmp_path / "compose.yaml", "ab") as fh:
            fh.write(b"  late:\n    image: example/late:1\n")
        return out

    monkeypatch.setattr(link, "link_callers", link_then_append)
    code, out, err = run(["--write", "."], cwd=tmp_path)
    assert code == 2, out + err
    assert (tmp_path / "compose.yaml").read_bytes() == appended
    assert "ARG NPM_TOKEN" in (tmp_path / "Dockerfile").read_text()
    assert "compose.yaml: changed while dfix ran" in err

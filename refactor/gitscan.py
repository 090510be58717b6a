"""A byte pre-filter for caller discovery from git, started before it is needed.

Caller discovery opens every file of a caller kind under the repository root to look for the kinds'
needles (``build-arg``, ``build_args``, ...): in a monorepo that is thousands of reads, most of the
time of a one-file report. Inside a git work tree the same question is asked of git instead, on the
other core while the Dockerfiles are analysed:

* ``git ls-files -c -o --exclude-standard``: the files git searches (tracked and untracked, not
  ignored);
* ``git grep -l -F --untracked -e NEEDLE…``: which of them hold one of the needles.

Discovery then skips, unopened, a file git searched that holds no needle: it could not have passed
the needle test. Every other file is read as before: one git ignores but dfix does not, one in a
nested repository or a submodule, a symbolic link. So the callers found are the same; only fewer
files are opened. Any failure (no git, an error, a timeout, output that cannot be decoded) turns the
filter off and discovery reads every file, as without it.

Used in report mode only (a caller missed there changes what is shown, not what is written).
Outside the ``refactor.callers`` package (with :func:`repo_root`, where callers are searched
from) so that starting it imports none of the callers machinery.
"""

from __future__ import annotations

import os
import subprocess


def repo_root(paths: list[str]) -> str:
    """Where callers are searched from: the git work tree holding the PATHs (the nearest
    ancestor with a ``.git`` directory or file, so worktrees and submodules count), else the PATHs'
    common parent directory. ``-`` (stdin) is ignored; no PATH at all means the current directory."""
    memo: dict[str, str] = {}
    real = [_realpath(p, memo) for p in paths if p != "-"] or [os.path.realpath(os.getcwd())]
    dirs = list({p if os.path.isdir(p) else os.path.dirname(p) for p in real})
    try:
        common = os.path.commonpath(dirs)
    except ValueError:  # different drives
        common = dirs[0]
    cur = common
    while True:
        if os.path.exists(os.path.join(cur, ".git")):
            return cur
        parent = os.path.dirname(cur)
        if parent == cur:
            return common
        cur = parent


# Every caller kind's needles (``refactor.callers.kinds``) contain one of these, so a file holding
# none of them is no caller of any kind (tests/test_callers_gitscan.py keeps the two in step). Kept
# here, not computed from the kinds, so that starting git imports nothing of ``refactor.callers``.
NEEDLES: tuple[bytes, ...] = (b"args", b"build-arg", b'buildah"', b"buildah'", b'docker"', b"docker'", b'podman"', b"podman'")


def _realpath(path: str, memo: dict[str, str]) -> str:
    """``os.path.realpath(path)``, resolving each directory once for a batch of paths (a thousand
    files of one directory: one walk of its components, then one ``lstat`` each)."""
    if ".." in path.split(os.sep):  # realpath resolves a link before its "..", abspath does not
        return os.path.realpath(path)
    a = os.path.abspath(path)
    head, tail = os.path.split(a)
    if not tail:
        return os.path.realpath(a)
    rd = memo.get(head)
    if rd is None:
        rd = memo[head] = os.path.realpath(head)
    full = os.path.join(rd, tail)
    return os.path.realpath(full) if os.path.islink(full) or tail in (".", "..") else full


_TIMEOUT = 20.0  # seconds: a wedged git turns the filter off, it never stalls the run


class GitPrefilter:
    """``git grep`` and ``git ls-files`` running in the background for ``root``."""

    def __init__(self, root: str, procs: tuple[subprocess.Popen, subprocess.Popen]) -> None:
        self.root = root
        self._procs = procs
        self._result: tuple[frozenset[str], frozenset[str]] | None = None
        self._done = False

    @classmethod
    def start(cls, root: str, needles: tuple[bytes, ...] = NEEDLES) -> GitPrefilter | None:
        """Start both commands in ``root`` (a git work tree's directory), or None when ``root``
        holds no ``.git`` or git cannot be started."""
        if not needles or not os.path.exists(os.path.join(root, ".git")):
            return None
        pats: list[str] = []
        for n in needles:
            pats += ["-e", os.fsdecode(n)]
        env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # never take the index lock another git command needs
        base = ["git", "-c", "core.quotePath=false", "-C", root]
        try:
            grep = subprocess.Popen(
                [*base, "grep", "-l", "-z", "-F", "--untracked", "--no-color", "--no-textconv", *pats, "--", "."],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except OSError:
            return None
        try:
            files = subprocess.Popen(
                [*base, "ls-files", "-z", "-c", "-o", "--exclude-standard", "--", "."],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except OSError:
            grep.kill()
            grep.wait()
            return None
        return cls(root, (grep, files))

    def sets(self) -> tuple[frozenset[str], frozenset[str]] | None:
        """(files git searched, files holding a needle), as absolute paths under ``root``; None when
        either command failed."""
        if self._done:
            return self._result
        self._done = True
        grep, files = self._procs
        try:
            hits_out, _ = grep.communicate(timeout=_TIMEOUT)
            files_out, _ = files.communicate(timeout=_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.close()
            return None
        # git grep: 0 = some hit, 1 = none; anything else (a file it could not read) is an error
        if grep.returncode not in (0, 1) or files.returncode != 0:
            return None
        self._result = (self._absolute(files_out), self._absolute(hits_out))
        return self._result

    def _absolute(self, out: bytes) -> frozenset[str]:
        root = self.root
        sep = os.sep
        # os.fsdecode: the names the walk sees (undecodable bytes as surrogates); "dir/" entries are
        # nested repositories git does not search
        return frozenset(os.path.join(root, p.replace("/", sep)) for p in os.fsdecode(out).split("\0") if p and not p.endswith("/"))

    def close(self) -> None:
        """Stop what still runs (the filter was not needed)."""
        for p in self._procs:
            if p.poll() is None:
                p.kill()
            try:
                p.communicate(timeout=_TIMEOUT)
            except (subprocess.TimeoutExpired, ValueError, OSError):
                pass
        self._done = True

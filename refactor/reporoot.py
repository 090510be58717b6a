"""Where callers are searched from: :func:`repo_root` of the paths a run was given.

Its own module, light (``os`` only), so that a report run finds the root without importing the
callers machinery.
"""

from __future__ import annotations

import os


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
    return work_tree(common) or common


def work_tree(start: str) -> str | None:
    """The nearest of ``start`` and its ancestors holding a ``.git`` directory or file (a work
    tree, a worktree or a submodule), or None. The one rule for callers' root and the journal's."""
    cur = start
    while True:
        if os.path.exists(os.path.join(cur, ".git")):
            return cur
        parent = os.path.dirname(cur)
        if parent == cur:
            return None
        cur = parent


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

"""``refactor.reporoot``: where callers are searched from, found without importing the callers
machinery, and its batched ``realpath`` equal to ``os.path.realpath``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_finding_the_root_imports_no_caller_machinery() -> None:
    code = "import sys, refactor.reporoot; sys.exit(any(m.startswith('refactor.callers') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_repo_roots_batched_realpath_is_realpath(tmp_path: Path) -> None:
    from refactor.reporoot import _realpath

    d = tmp_path
    (d / "a" / "b").mkdir(parents=True)
    (d / "a" / "b" / "f").write_text("")
    os.symlink(d / "a" / "b", d / "lnk")
    os.symlink(d / "a" / "b" / "f", d / "flink")
    os.symlink("b/f", d / "a" / "rel")
    memo: dict[str, str] = {}
    for p in ["a/b/f", "lnk/f", "flink", "a/rel", "a/b/../b/f", "lnk/../b/f", "lnk/../a", "lnk", "nope", ".", ""]:
        full = str(d / p) if p else str(d)
        assert _realpath(full, memo) == os.path.realpath(full), p
    for p in ["/", ".", "a/../x"]:
        assert _realpath(p, memo) == os.path.realpath(p), p

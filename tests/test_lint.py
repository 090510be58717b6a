"""The project's own lint, format and type checks (issue #18), run by the README test command so CI
enforces them: ``ruff check``, ``ruff format --check`` and ``mypy`` over ``refactor/`` with the
configuration in pyproject.toml. A tool that is not installed skips the test with a reason, except
under CI, where it is a failure (the ``test`` extra installs both)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> list[str]:
    exe = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if exe is None:
        msg = f"{name} is not installed (pip install -e '.[test]')"
        if IN_CI:
            pytest.fail(msg + "; CI requires it")
        pytest.skip(msg)
    return [exe]


@pytest.mark.parametrize(
    "args",
    [("ruff", "check", "refactor"), ("ruff", "format", "--check", "refactor"), ("mypy",)],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_refactor_is_lint_format_and_type_clean(args: tuple[str, ...]) -> None:
    cmd = _tool(args[0]) + list(args[1:])
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"`{' '.join(args)}` failed:\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}"

"""Shared fixtures.

Corpus tests read ``../shared/corpus`` (override with ``DFIX_CORPUS``). When it is absent they
skip with a reason, except under CI (``CI=true``), where a missing corpus is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _corpus_dir() -> Path:
    env = os.environ.get("DFIX_CORPUS")
    return Path(env) if env else ROOT.parent / "shared" / "corpus"


def require_corpus(sub: str = "") -> Path:
    path = _corpus_dir() / sub
    if not path.exists():
        msg = f"corpus not found at {path} (set DFIX_CORPUS, or place ../shared beside the checkout)"
        if IN_CI:
            pytest.fail(msg + "; CI requires it")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def corpus() -> Path:
    return require_corpus()

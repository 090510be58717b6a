"""Shared fixtures.

Corpus tests read ``../shared/corpus`` (override with ``DFIX_CORPUS``). When it is absent they
skip with a reason, except under CI (``CI=true``), where a missing corpus is a failure.

Running in parallel (the README's command uses pytest-xdist): every test must be safe to run in
any worker, next to any other test, and next to another pytest session on the same machine and
engine. Tests write only below ``tmp_path`` (per worker), bind port 0, and change the environment
or the working directory only through ``monkeypatch`` or ``helpers.run`` (per process); the e2e
tests use a namespace of their own on the engine (tests/e2e/conftest.py).

Hypothesis: the ``dfix`` profile (loaded here) derandomizes every property test and uses no
example database, so a run depends neither on chance nor on what ``.hypothesis/`` holds from other
runs or other workers; it has no deadline and no ``too_slow`` health check (both are wall-clock
limits, which a loaded machine breaks). ``DFIX_HYPOTHESIS_PROFILE=explore`` gives random
exploration with the example database, for local bug hunting.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dfix", derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("DFIX_HYPOTHESIS_PROFILE", "dfix"))

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The result cache (refactor.cache) is off for the suite, in this process and in every dfix it
# starts: a test that patches the analysis must see it run, and nothing may reach the user's cache
# directory. DFIX_CACHE_DIR points at a private path besides, which stays absent. tests/test_cache.py
# turns the cache on per test with --cache-dir under tmp_path.
os.environ["DFIX_NO_CACHE"] = "1"
os.environ["DFIX_CACHE_DIR"] = os.path.join(__import__("tempfile").gettempdir(), f"dfix-test-cache-unused-{os.getpid()}")


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


# Module-scoped fixtures that cost seconds: the tests using one are marked to stay on one xdist
# worker (``--dist loadgroup``), so that the fixture is built once, not once per worker. An
# optimisation only: with pytest 9.2 and pytest-xdist 3.8 the mark has no effect
# (pytest-dev/pytest-xdist#1386), and correctness never depends on it.
_EXPENSIVE_MODULE_FIXTURES = ("crash_corpus",)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        for name in _EXPENSIVE_MODULE_FIXTURES:
            if name in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(f"fixture-{name}"))

"""Fixtures for real builds on a Docker Engine (marker ``e2e``).

- ``engine`` (session): the engine ``docker info`` reaches, else ../shared/tools/start-engine.sh's;
  else the tests skip with the reason, or fail when ``DFIX_REQUIRE_ENGINE=1`` (CI sets it).
- ``artifact_server`` (session) and ``server`` (per test, expectations reset afterwards).
- ``base_image`` (session): busybox + stand-ins, tagged under ``baseimage.BASE_NAMES``.
- ``e2e`` (per test): ``E2E`` helper: canaries, builds, scans, value-free assertions; removes the
  images it built.

Concurrent sessions (xdist workers, two pytest runs on one engine) share the artifact server's
fixed port (SO_REUSEPORT, expectations kept as digests in a shared directory), so they build the
same base image and do not disturb each other. ``--dist loadgroup`` keeps the e2e tests on one
worker anyway (they carry ``xdist_group("e2e")``): the engine is the bottleneck.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from . import baseimage
from .artifact_server import ArtifactServer
from .engine import BuildResult, Canary, Engine, EngineUnavailable, find_engine, write_context

HERE = Path(__file__).resolve().parent
REQUIRE = os.environ.get("DFIX_REQUIRE_ENGINE", "") in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("e2e"))  # with --dist loadgroup: one worker


def _unavailable(reason: str):
    if REQUIRE:
        pytest.fail(f"DFIX_REQUIRE_ENGINE=1 but no Docker Engine: {reason}", pytrace=False)
    pytest.skip(f"no Docker Engine for real builds: {reason}")


@pytest.fixture(scope="session")
def engine() -> Engine:
    try:
        eng = find_engine()
    except EngineUnavailable as exc:
        _unavailable(str(exc))
    mp = pytest.MonkeyPatch()
    for k, v in eng.env.items():  # so that subprocesses (dfix verify, docker) reach it too
        mp.setenv(k, v)
    yield eng
    mp.undo()


@pytest.fixture(scope="session")
def artifact_server() -> ArtifactServer:
    with ArtifactServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def base_image(engine, artifact_server) -> baseimage.BaseImage:
    try:
        return baseimage.ensure_base_image(artifact_server.address, docker=engine.docker, overwrite=engine.throwaway)
    except baseimage.BaseImageError as exc:
        _unavailable(str(exc))


@pytest.fixture
def server(artifact_server, base_image) -> ArtifactServer:
    artifact_server.reset()
    yield artifact_server
    artifact_server.reset()


class E2E:
    """Per-test helper. Values are :class:`Canary` strings; nothing here prints one."""

    def __init__(self, engine: Engine, server: ArtifactServer, base: baseimage.BaseImage, tmp: Path):
        self.engine, self.server, self.base, self.tmp = engine, server, base, tmp
        self.values: dict[str, str] = {}
        self._tags: list[str] = []

    def canary(self, name: str = "TOKEN", expect: bool = True) -> Canary:
        c = Canary(name)
        self.values[name] = c
        if expect:
            self.server.expect(c)
        return c

    def context(self, files: dict[str, str | bytes], name: str = "ctx") -> Path:
        return write_context(files, str(self.tmp / name))

    def build(self, context, dockerfile=None, **kw) -> BuildResult:
        env_values = dict(kw.pop("env_values", None) or {})
        result = self.engine.build(context, dockerfile, env_values=env_values, **kw)
        self._tags.append(result.tag)
        # mask also the values this test registered, wherever they came from
        from refactor.leakscan import mask_values
        result.log = mask_values(result.log, self.values)
        return result

    def scan(self, tag: str, values: dict[str, str] | None = None):
        from refactor.leakscan import scan_image
        return scan_image(tag, values if values is not None else self.values, docker=self.engine.docker)

    def cleanup(self) -> None:
        self.engine.remove_images(self._tags)


@pytest.fixture
def e2e(engine, server, base_image, tmp_path) -> E2E:
    helper = E2E(engine, server, base_image, tmp_path)
    yield helper
    helper.cleanup()


# -- value-free assertions -------------------------------------------------------------------

def assert_built(result: BuildResult) -> None:
    ok = result.ok
    assert ok, f"build {result.tag} failed (exit {result.returncode}); masked log tail:\n{result.tail()}"


def assert_failed(result: BuildResult) -> None:
    failed = not result.ok
    assert failed, f"build {result.tag} succeeded but was expected to fail; masked log tail:\n{result.tail()}"


def assert_clean(report) -> None:
    leaked = report.leaked
    assert not leaked, "leak found:\n" + report.render_text()


def assert_leaked(report, secret: str, channel: str) -> None:
    found = bool(report.leaks_for(secret, channel))
    assert found, f"expected {secret} to leak in {channel}:\n" + report.render_text()


def assert_saw(server: ArtifactServer, value, what: str = "the value") -> None:
    saw = server.saw(value)
    assert saw, f"the artifact server never received {what}; requests: {server.requests!r}"


def assert_absent(text: str, value, what: str = "output") -> None:
    """The value (any encoding) does not occur in ``text``; reports counts only."""
    from refactor.leakscan import Matcher
    hits = len(Matcher({"value": value}).find_text(text))
    assert hits == 0, f"{what} contains the value ({hits} encodings matched)"

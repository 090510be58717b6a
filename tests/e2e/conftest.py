"""Fixtures for real builds on a Docker Engine (marker ``e2e``).

- ``engine`` (session): the engine ``docker info`` reaches, else ../shared/tools/start-engine.sh's;
  else the tests skip with the reason, or fail when ``DFIX_REQUIRE_ENGINE=1`` (CI sets it).
- ``artifact_server`` (session, a free port of its own) and ``server`` (per test, expectations reset
  afterwards).
- ``e2e_run`` (session): this session's namespace on the engine (``baseimage.Run``:
  ``dfix-e2e-<run>/...``, label ``dfix.e2e.run=<run>``); every image of the run, and the BuildKit
  build records of its builds (they keep the build args), are removed when the session ends,
  passed or failed; images of runs that died earlier are removed when it starts.
- ``base_image`` (session): busybox + stand-ins as ``dfix-e2e-<run>/base:1``; builds map the names
  test Dockerfiles use (``baseimage.BASE_NAMES``: ``ubuntu:22.04``, ``node:20``, ...) to it with
  ``--build-context NAME=docker-image://dfix-e2e-<run>/base:1``. Shared tags are never written.
- ``docker_shim`` (session): a directory holding a ``docker`` that adds those build contexts to
  ``docker build`` / ``docker buildx build`` and passes everything else through, for code that
  runs ``docker`` from PATH (``dfix verify``, a migrated build script).
- ``e2e`` (per test): ``E2E`` helper: canaries, builds (tagged ``dfix-e2e-<run>/img-<random>``),
  scans, value-free assertions; removes the images it built.

Concurrent sessions (xdist workers, two pytest runs on one engine, a developer retagging
``ubuntu:22.04``) therefore share nothing: not a tag, not the server port, not a BuildKit step (the
base images differ, so identical RUN steps of two sessions are not merged). So under xdist the e2e
tests are spread over the workers like any other test (each worker that runs one sets up its own
run). The tests sharing a module-scoped registry are marked to stay together (``xdist_group``, for
``--dist loadgroup``); nothing depends on it: with pytest 9.2 and pytest-xdist 3.8 the grouping
has no effect (pytest-dev/pytest-xdist#1386), and such a module's fixture is simply set up once per
worker.
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

import pytest

from . import baseimage
from .artifact_server import ArtifactServer
from .engine import BuildResult, Canary, Engine, EngineUnavailable, find_engine, write_context

HERE = Path(__file__).resolve().parent
REQUIRE = os.environ.get("DFIX_REQUIRE_ENGINE", "") in ("1", "true", "yes")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.fspath)).resolve()
        if HERE in path.parents:
            item.add_marker(pytest.mark.e2e)
            if "local_registry" in getattr(item, "fixturenames", ()):
                # one worker for the tests of a module-scoped registry: it is started once
                item.add_marker(pytest.mark.xdist_group(f"e2e-{path.stem}"))


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
    with ArtifactServer(port=0) as srv:  # a free port and a store of its own: nothing shared
        yield srv


@pytest.fixture(scope="session")
def e2e_run(engine) -> baseimage.Run:
    run = baseimage.Run(engine.docker).start()
    try:
        baseimage.reap_leftovers(engine.docker, keep={run.id})
    except (OSError, baseimage.BaseImageError, ValueError):
        pass  # best effort: leftovers of dead runs are not this session's problem
    try:
        yield run
    finally:
        engine.remove_build_records()
        left = run.cleanup()
        if left:
            import warnings
            warnings.warn(f"{run!r}: {len(left)} image(s) could not be removed: {left}", stacklevel=1)


@pytest.fixture(scope="session")
def base_image(engine, artifact_server, e2e_run) -> baseimage.BaseImage:
    try:
        return baseimage.ensure_base_image(artifact_server.address, docker=engine.docker, run=e2e_run)
    except baseimage.BaseImageError as exc:
        _unavailable(str(exc))


def write_docker_shim(bindir: Path, real_docker: str, context_args: list[str], prefix: list[str] | None = None,
                      tag_namespace: str | None = None) -> Path:
    """A ``docker`` in ``bindir`` that adds ``prefix`` and ``context_args`` to ``docker build`` and
    ``docker buildx build``; with ``tag_namespace`` it also moves ``-t NAME`` / ``--tag NAME`` /
    ``--tag=NAME`` to ``NAMESPACE/NAME``. Everything else goes to the real CLI unchanged."""
    bindir.mkdir(parents=True, exist_ok=True)
    add = " ".join(shlex.quote(a) for a in [*(prefix or []), *context_args])
    lines = [
        "#!/bin/sh",
        "# dfix e2e: this run's base image under the names test Dockerfiles use (named build contexts)",
        f"real={shlex.quote(real_docker)}",
        'if [ "$1" = build ]; then sub=build; shift',
        'elif [ "$1" = buildx ] && [ "$2" = build ]; then sub="buildx build"; shift 2',
        'else exec "$real" "$@"; fi',
    ]
    if tag_namespace:
        ns = shlex.quote(tag_namespace + "/")
        lines += [
            "n=$#; next=",
            "for a; do",
            '  if [ -n "$next" ]; then a=' + ns + '"$a"; next=',
            '  else case $a in -t|--tag) next=1 ;; --tag=*) a=--tag=' + ns + '"${a#--tag=}" ;; esac; fi',
            '  set -- "$@" "$a"',
            "done",
            'shift "$n"',
        ]
    lines.append(f'exec "$real" $sub {add} "$@"')
    shim = bindir / "docker"
    shim.write_text("\n".join(lines) + "\n")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bindir


@pytest.fixture(scope="session")
def docker_shim(engine, base_image, tmp_path_factory) -> Path:
    """A directory to put first on PATH: its ``docker`` maps the base names to this run's image."""
    return write_docker_shim(tmp_path_factory.mktemp("docker-shim"), engine.docker, base_image.context_args())


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
        """Build on this run's base image (every base name mapped to it), tagged in the run's
        namespace unless ``tag`` is given."""
        env_values = dict(kw.pop("env_values", None) or {})
        kw["extra"] = [*self.base.context_args(), *(kw.get("extra") or [])]
        if not kw.get("tag") and self.base.run is not None:
            from .engine import secrets_token
            kw["tag"] = self.base.run.ref(f"img-{secrets_token()}")
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

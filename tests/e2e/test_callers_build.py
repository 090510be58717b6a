"""A migrated shell script builds end to end on the engine.

The golden case ``callers-shell-script`` has a Dockerfile and a ``build.sh`` that passes the
secret as ``--build-arg`` (from a shell local read out of a file, and as a passthrough). The
original script's image leaks the value; after ``dfix --write .`` the script passes it with
``--secret`` and the image is clean, while the artifact server still receives it.

This engine has no bridge network, so a ``docker`` shim on PATH adds ``--network host`` to
``docker build`` and hands everything else to the real CLI unchanged. The shim also maps the
script's base name to this run's base image (named build contexts) and moves its tags
(``app:dev``, ``app:ci``) into the run's namespace, so a concurrent run building the same script
cannot overwrite them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import assert_clean, assert_leaked, assert_saw, write_docker_shim

CASE = Path(__file__).resolve().parents[2] / "golden" / "callers-shell-script"


def _copy(dst: Path) -> None:
    for p in CASE.iterdir():
        if p.name in ("expected", "case.toml", "NOTES.md"):
            continue
        shutil.copy2(p, dst / p.name)


def _shim(e2e, tmp: Path, docker: str) -> Path:
    return write_docker_shim(tmp / "bin", docker, e2e.base.context_args(), prefix=["--network", "host", "--no-cache"],
                             tag_namespace=e2e.base.run.namespace)


def _run_script(e2e, workdir: Path, bindir: Path, token_file: Path, env_token) -> subprocess.CompletedProcess:
    env = e2e.engine.environ({"TOKEN_FILE": str(token_file), "API_TOKEN": env_token})
    env["PATH"] = f"{bindir}:{env['PATH']}"
    return subprocess.run(["sh", "build.sh"], cwd=workdir, env=env, capture_output=True, text=True, timeout=600)


def test_migrated_shell_script_builds_leak_free(e2e, tmp_path: Path) -> None:
    canary = e2e.canary("API_TOKEN")
    token_file = tmp_path / "api-token"
    token_file.write_text(canary)
    docker = shutil.which(e2e.engine.docker, path=e2e.engine.environ()["PATH"]) or e2e.engine.docker
    bindir = _shim(e2e, tmp_path, docker)
    dev, ci = e2e.base.run.ref("app:dev"), e2e.base.run.ref("app:ci")  # the script's -t app:dev, -t app:ci
    from refactor.leakscan import mask_values

    orig = tmp_path / "orig"
    orig.mkdir()
    _copy(orig)
    proc = _run_script(e2e, orig, bindir, token_file, canary)
    assert proc.returncode == 0, mask_values(proc.stdout[-2000:] + proc.stderr[-2000:], {"API_TOKEN": canary})
    e2e._tags += [dev, ci]
    assert_saw(e2e.server, canary, "the token from the original script")
    assert_leaked(e2e.scan(dev, {"API_TOKEN": canary}), "API_TOKEN", "history")

    fixed = tmp_path / "fixed"
    fixed.mkdir()
    _copy(fixed)
    subprocess.run([e2e.engine.docker, "image", "rm", "-f", dev, ci], env=e2e.engine.environ(), capture_output=True)
    w = subprocess.run([sys.executable, "-m", "refactor", "--write", "."], cwd=fixed, capture_output=True, text=True, timeout=120)
    assert w.returncode == 0, w.stderr
    assert "--secret id=api_token,env=API_TOKEN" in (fixed / "build.sh").read_text()
    assert "--build-arg API_TOKEN" not in (fixed / "build.sh").read_text()
    e2e.server.reset()
    e2e.server.expect(canary)
    proc = _run_script(e2e, fixed, bindir, token_file, canary)
    assert proc.returncode == 0, mask_values(proc.stdout[-2000:] + proc.stderr[-2000:], {"API_TOKEN": canary})
    assert_saw(e2e.server, canary, "the token through the migrated script's --secret")
    for tag in (dev, ci):
        assert_clean(e2e.scan(tag, {"API_TOKEN": canary}))

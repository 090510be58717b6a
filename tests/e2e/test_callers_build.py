"""A migrated shell script builds end to end on the engine.

The golden case ``callers-shell-script`` has a Dockerfile and a ``build.sh`` that passes the
secret as ``--build-arg`` (from a shell local read out of a file, and as a passthrough). The
original script's image leaks the value; after ``dfix --write .`` the script passes it with
``--secret`` and the image is clean, while the artifact server still receives it.

This engine has no bridge network, so a ``docker`` shim on PATH adds ``--network host`` to
``docker build`` and hands everything else to the real CLI unchanged.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

from .conftest import assert_clean, assert_leaked, assert_saw

CASE = Path(__file__).resolve().parents[2] / "golden" / "callers-shell-script"


def _copy(dst: Path) -> None:
    for p in CASE.iterdir():
        if p.name in ("expected", "case.toml", "NOTES.md"):
            continue
        shutil.copy2(p, dst / p.name)


def _shim(tmp: Path, docker: str) -> Path:
    bindir = tmp / "bin"
    bindir.mkdir()
    shim = bindir / "docker"
    shim.write_text(
        "#!/bin/sh\n"
        f'real="{docker}"\n'
        'if [ "$1" = build ]; then shift; exec "$real" build --network host --no-cache "$@"; fi\n'
        'exec "$real" "$@"\n'
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bindir


def _run_script(e2e, workdir: Path, bindir: Path, token_file: Path, env_token) -> subprocess.CompletedProcess:
    env = e2e.engine.environ({"TOKEN_FILE": str(token_file), "API_TOKEN": env_token})
    env["PATH"] = f"{bindir}:{env['PATH']}"
    return subprocess.run(["sh", "build.sh"], cwd=workdir, env=env, capture_output=True, text=True, timeout=600)


def test_migrated_shell_script_builds_leak_free(e2e, tmp_path: Path) -> None:
    canary = e2e.canary("API_TOKEN")
    token_file = tmp_path / "api-token"
    token_file.write_text(canary)
    docker = shutil.which(e2e.engine.docker, path=e2e.engine.environ()["PATH"]) or e2e.engine.docker
    bindir = _shim(tmp_path, docker)
    from refactor.leakscan import mask_values

    orig = tmp_path / "orig"
    orig.mkdir()
    _copy(orig)
    proc = _run_script(e2e, orig, bindir, token_file, canary)
    assert proc.returncode == 0, mask_values(proc.stdout[-2000:] + proc.stderr[-2000:], {"API_TOKEN": canary})
    e2e._tags += ["app:dev", "app:ci"]
    assert_saw(e2e.server, canary, "the token from the original script")
    assert_leaked(e2e.scan("app:dev", {"API_TOKEN": canary}), "API_TOKEN", "history")

    fixed = tmp_path / "fixed"
    fixed.mkdir()
    _copy(fixed)
    subprocess.run([e2e.engine.docker, "image", "rm", "-f", "app:dev", "app:ci"], env=e2e.engine.environ(), capture_output=True)
    w = subprocess.run([sys.executable, "-m", "refactor", "--write", "."], cwd=fixed, capture_output=True, text=True, timeout=120)
    assert w.returncode == 0, w.stderr
    assert "--secret id=api_token,env=API_TOKEN" in (fixed / "build.sh").read_text()
    assert "--build-arg API_TOKEN" not in (fixed / "build.sh").read_text()
    e2e.server.reset()
    e2e.server.expect(canary)
    proc = _run_script(e2e, fixed, bindir, token_file, canary)
    assert proc.returncode == 0, mask_values(proc.stdout[-2000:] + proc.stderr[-2000:], {"API_TOKEN": canary})
    assert_saw(e2e.server, canary, "the token through the migrated script's --secret")
    for tag in ("app:dev", "app:ci"):
        assert_clean(e2e.scan(tag, {"API_TOKEN": canary}))

"""Every buildable golden case, proven on a real engine.

1. Build the original with ``--build-arg NAME=<canary>``: it builds, the artifact server saw the
   canary, and the canary leaks (history at least) — so the case proves something.
2. ``dfix --write`` a copy; build it with the secrets of the emitted command, canary in the env.
3. The fixed build succeeds, the server saw the canary, and the canary (raw, base64, URL-quoted)
   is nowhere in history, image config or any layer file.
4. ``refused = true``: the original leaks and dfix, rightly, writes nothing (only display-only
   fixes exist: the secret lands in a file the image keeps). ``multistage = true``: the runtime behaves like the original's (config, files at the copied
   paths or ``same_files``, output of the default command). ``scan_stage = NAME``: that stage is
   built and scanned too (the leak is proven there, and its absence after the rewrite).
File-form cases (``buildah = true``) are also built with buildah 1.28 when it is installed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from .conftest import assert_built, assert_clean, assert_leaked, assert_saw

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "golden"


def _cases():
    out = []
    for d in sorted(GOLDEN.iterdir()):
        meta_path = d / "case.toml"
        if not meta_path.is_file():
            continue
        meta = tomllib.loads(meta_path.read_text())
        if meta.get("buildable"):
            out.append(pytest.param(d, meta, id=d.name))
    return out


def _copy_inputs(case: Path, dst: Path) -> None:
    for p in case.rglob("*"):
        rel = p.relative_to(case)
        if p.is_dir() or rel.parts[0] == "expected" or rel.name == "case.toml":
            continue
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, dst / rel)


def _plant_files(e2e, meta, dirs, canaries) -> None:
    """Write ``[file_secrets]`` files (context credential files) holding a fresh canary."""
    for rel, template in meta.get("file_secrets", {}).items():
        c = canaries.get(rel) or e2e.canary(rel)
        canaries[rel] = c
        for d in dirs:
            (d / rel).write_text(template.replace("{canary}", c))


def _values(e2e, meta) -> tuple[dict[str, str], dict[str, object]]:
    """(build-arg name -> value, name -> canary) following the case's value templates."""
    values, canaries = {}, {}
    templates = meta.get("values", {})
    for name in meta.get("secrets", []):
        c = e2e.canary(name, expect=meta.get("server", True))
        canaries[name] = c
        values[name] = templates.get(name, "{canary}").replace("{canary}", c)
    return values, canaries


def _dfix_write(ctx: Path, args: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "refactor", *args, "--format", "json", "Dockerfile"],
        cwd=ctx, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)["files"][0]


def _secrets_from_command(command: str, cwd: Path | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(env secrets id -> env var, file secrets id -> absolute src) of an emitted command."""
    argv = shlex.split(command)
    assert argv[:2] in (["docker", "build"], ["podman", "build"])
    env, files = {}, {}
    for i, a in enumerate(argv):
        if a == "--secret":
            opts = dict(kv.split("=", 1) for kv in argv[i + 1].split(","))
            if "env" in opts:
                env[opts["id"]] = opts["env"]
            else:
                files[opts["id"]] = str((cwd or Path(".")) / opts["src"])
    return env, files


def _build_args_from_command(command: str) -> dict[str, None]:
    argv = shlex.split(command)
    return {argv[i + 1].split("=", 1)[0]: None for i, a in enumerate(argv) if a == "--build-arg"}


def _config(engine, tag: str) -> dict:
    out = subprocess.run([engine.docker, "image", "inspect", tag], capture_output=True, text=True, env=engine.environ(), timeout=60)
    return json.loads(out.stdout)[0]["Config"]


def _files_under(engine, tag: str, paths: list[str]) -> dict[str, list[tuple]]:
    """Regular files and directories (name, size or "dir", mode, uid, gid) under each path in the image's filesystem (docker export)."""
    import tarfile

    cid = subprocess.run([engine.docker, "create", tag, "true"], capture_output=True, text=True, env=engine.environ(), check=True, timeout=60).stdout.strip()
    try:
        proc = subprocess.Popen([engine.docker, "export", cid], stdout=subprocess.PIPE, env=engine.environ())
        found: dict[str, list[tuple[str, int]]] = {p: [] for p in paths}
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tf:
            for m in tf:
                name = "/" + m.name.lstrip("./")
                for p in paths:
                    if (name == p or name.startswith(p.rstrip("/") + "/")) and (m.isfile() or m.isdir()):
                        found[p].append((name.rstrip("/"), m.size if m.isfile() else "dir", oct(m.mode), m.uid, m.gid))
        proc.wait(timeout=60)
        return {p: sorted(v) for p, v in found.items()}
    finally:
        subprocess.run([engine.docker, "rm", "-f", cid], capture_output=True, env=engine.environ(), timeout=60)


def _run_default(engine, tag: str) -> tuple[int, str, str]:
    """Run the image's own CMD/ENTRYPOINT (no network): (exit status, stdout, stderr)."""
    proc = subprocess.run([engine.docker, "run", "--rm", "--network", "none", tag], capture_output=True, text=True,
                          env=engine.environ(), timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def _assert_same_runtime(e2e, before: str, after: str, fixed: Path, meta: dict, canaries: dict) -> None:
    """The split's runtime stage behaves like the original image: the same config, the same files
    at every path the runtime copies from the builder (or, with ``same_files``, at the path the
    original had them), and its default command gives the same output."""
    from refactor.leakscan import mask_values

    c0, c1 = _config(e2e.engine, before), _config(e2e.engine, after)
    for key in ("Cmd", "Entrypoint", "WorkingDir", "ExposedPorts", "User", "Volumes", "StopSignal", "Healthcheck",
                "Labels", "Shell"):
        assert c0.get(key) == c1.get(key), f"{key} differs after the split"
    env0 = dict(e.split("=", 1) for e in c0.get("Env") or [])
    env1 = dict(e.split("=", 1) for e in c1.get("Env") or [])
    for name, value in env0.items():
        assert name in env1, f"the runtime lost ENV {name}"
        if name == "PATH":  # a venv is put in front of the original PATH
            assert env1[name].endswith(value), "the runtime's PATH does not keep the original entries"
        else:
            assert env1[name] == value, f"ENV {name} differs after the split"
    copied = [ln.split()[-1] for ln in (fixed / "Dockerfile").read_text().splitlines() if ln.lower().startswith("copy --from=")]
    assert copied
    pairs = [tuple(p) for p in meta.get("same_files", [])] or [(p, p) for p in copied]
    for after_path, before_path in pairs:
        assert any(after_path == c or after_path.startswith(c.rstrip("/") + "/") for c in copied), after_path
        want = [(n[len(before_path):], *rest) for n, *rest in _files_under(e2e.engine, before, [before_path])[before_path]]
        got = [(n[len(after_path):], *rest) for n, *rest in _files_under(e2e.engine, after, [after_path])[after_path]]
        assert want, f"the original image has no files under {before_path}: the comparison proves nothing"
        # files the split changes on purpose (a clone's .git/config loses the credential): present
        # in both, contents not compared
        differ = set(meta.get("differs", []))
        assert {n for n, *_ in want} >= differ and {n for n, *_ in got} >= differ
        want = [w for w in want if w[0] not in differ]
        got = [g for g in got if g[0] not in differ]
        assert got == want, f"{after_path} in the split image differs from {before_path} in the original"
    r0, r1 = _run_default(e2e.engine, before), _run_default(e2e.engine, after)
    shown = mask_values(f"original: {r0}\nsplit: {r1}", dict(canaries))
    assert r0[0] == 0, "the original image's default command fails: the comparison proves nothing\n" + shown
    assert r0[:2] == r1[:2], "the split image's default command behaves differently\n" + shown


@pytest.mark.parametrize("case,meta", _cases())
def test_golden_case_builds_leak_free(case: Path, meta: dict, e2e, tmp_path: Path) -> None:
    values, canaries = _values(e2e, meta)
    orig = tmp_path / "orig"
    _copy_inputs(case, orig)
    fixed = tmp_path / "fixed"
    _copy_inputs(case, fixed)
    _plant_files(e2e, meta, [orig, fixed], canaries)
    scan_values = dict(canaries)
    stage = meta.get("scan_stage")  # also build and scan this stage (a builder the final image leaves behind)
    before = e2e.build(orig, build_args={k: v for k, v in values.items()}, env_values=values)
    assert_built(before)
    leak_tag = before.tag
    if stage:
        assert_clean(e2e.scan(before.tag, scan_values))  # the split's final image was clean already
        staged = e2e.build(orig, build_args={k: v for k, v in values.items()}, env_values=values, extra=["--target", stage])
        assert_built(staged)
        leak_tag = staged.tag
    report = e2e.scan(leak_tag, scan_values)
    assert report.leaked, "the original build did not leak: the case proves nothing\n" + report.render_text()
    if meta.get("server", True):
        for c in canaries.values():
            assert_saw(e2e.server, c, "the canary from the original build")
    if meta.get("layer_leak"):
        for name in meta.get("secrets", []):
            assert_leaked(report, name, "layers")  # the original leaks through a layer file

    doc = _dfix_write(fixed, list(meta.get("args", ["--write"])) + [f"--emit={t}" for t in meta.get("emit", ["docker"])])
    if meta.get("refused"):
        # the original leaks (proven above) and no sound fix exists: dfix must say so, not write
        assert not doc["changed"], "dfix rewrote a case whose only fixes change the image"
        assert (fixed / "Dockerfile").read_bytes() == (case / "Dockerfile").read_bytes()
        fixes = [f["fix"] for f in doc["findings"] if f["code"] == "DF001" and f["fix"]]
        assert fixes and all(f["applicability"] == "display-only" and not f["applied"] for f in fixes), fixes
        return
    assert doc["changed"]
    secrets, secret_files = _secrets_from_command(doc["build"]["command"], fixed)
    e2e.server.reset()
    for c in canaries.values():
        if meta.get("server", True):
            e2e.server.expect(c)
    build_args = _build_args_from_command(doc["build"]["command"])
    after = e2e.build(fixed, secrets=secrets, secret_files=secret_files, build_args=build_args, env_values=values)
    assert_built(after)
    if meta.get("multistage"):
        _assert_same_runtime(e2e, before.tag, after.tag, fixed, meta, canaries)
    if meta.get("server", True):
        for c in canaries.values():
            assert_saw(e2e.server, c, "the canary through the secret mount")
    assert_clean(e2e.scan(after.tag, scan_values))
    if stage:
        staged = e2e.build(fixed, secrets=secrets, secret_files=secret_files, build_args=build_args, env_values=values,
                           extra=["--target", stage])
        assert_built(staged)
        assert_clean(e2e.scan(staged.tag, scan_values))


def _buildah() -> str | None:
    return shutil.which("buildah")


def _docker_io(ref: str) -> str:
    """The fully qualified name docker gives a short reference (``node:20`` -> ``docker.io/library/node:20``)."""
    first, _, rest = ref.partition("/")
    if not rest:
        return f"docker.io/library/{ref}"
    if "." in first or ":" in first or first == "localhost":
        return ref
    return f"docker.io/{ref}"


@pytest.mark.parametrize("case,meta", [p for p in _cases() if p.values[1].get("buildah")])
def test_file_form_builds_on_buildah(case: Path, meta: dict, e2e, tmp_path: Path) -> None:
    if _buildah() is None:
        if os.environ.get("DFIX_REQUIRE_ENGINE") in ("1", "true", "yes"):
            pytest.fail("buildah is not installed (CI installs it: apt-get install buildah)")
        pytest.skip("buildah is not installed")
    values, canaries = _values(e2e, meta)
    fixed = tmp_path / "fixed"
    _copy_inputs(case, fixed)
    doc = _dfix_write(fixed, list(meta.get("args", ["--write"])) + [f"--emit={t}" for t in meta.get("emit", ["docker"])])
    assert "env=" not in (fixed / "Dockerfile").read_text().split("--mount=type=secret", 1)[1].split(" ", 1)[0]
    secrets, _files = _secrets_from_command(doc["build"]["command"], fixed)
    # buildah needs the base image in its own store: export the engine's base image into it
    store = tmp_path / "buildah"
    env = dict(os.environ, **{k: v for k, v in values.items()})
    common = ["--root", str(store / "root"), "--runroot", str(store / "run"), "--storage-driver", "vfs"]
    archive = tmp_path / "base.tar"
    base_ref = (fixed / "Dockerfile").read_text().splitlines()[0].split()[1]
    # this run's base image, under the FROM's name in the private store (as a pull would name it)
    subprocess.run([e2e.engine.docker, "save", "-o", str(archive), e2e.base.image], check=True, env=e2e.engine.environ(), timeout=300)
    pulled = subprocess.run(["buildah", *common, "pull", "-q", f"docker-archive:{archive}"], check=True, capture_output=True,
                            text=True, timeout=300)
    subprocess.run(["buildah", *common, "tag", pulled.stdout.strip(), _docker_io(base_ref)], check=True, capture_output=True,
                   timeout=60)
    cmd = ["buildah", *common, "bud", "--isolation", "chroot", "--network", "host", "-t", "dfix-buildah-test"]
    for sid, envname in secrets.items():
        cmd += ["--secret", f"id={sid},env={envname}"]
    cmd.append(str(fixed))
    e2e.server.reset()
    for c in canaries.values():
        e2e.server.expect(c)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    from refactor.leakscan import mask_values

    assert proc.returncode == 0, mask_values(proc.stdout[-3000:] + proc.stderr[-3000:], dict(canaries))
    for c in canaries.values():
        assert_saw(e2e.server, c, "the canary through buildah's file-form secret")
    inspect = subprocess.run(["buildah", *common, "inspect", "dfix-buildah-test"], capture_output=True, text=True, timeout=120)
    from .conftest import assert_absent

    for c in canaries.values():
        assert_absent(inspect.stdout, c, "buildah inspect")

"""dfix audit on real images built by the engine: canary build args, an ENV, a LABEL, an .npmrc and a
base64 of the value in layer files; audited from `docker save`, from the local engine and from a real
docker-registry with many tags and an index (compared to the ground truth). A build with a secret
mount, and the `dfix --write` rewrite of a leaky Dockerfile built with the secret its command names,
give no finding. No canary (raw or base64) appears in any output."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import assert_absent, assert_built, assert_saw
from .test_golden_builds import _build_args_from_command, _dfix_write, _secrets_from_command
from .test_pin_registry import _http, _push, _put_manifest, local_registry, registry_binary  # noqa: F401  (fixtures)

LEAKY = """\
FROM ubuntu:22.04
ARG NODE_VERSION=20
ARG BUILD_DATE
ARG NPM_TOKEN
ARG SECRET_KEY
ENV API_PASSWORD=${SECRET_KEY}x
LABEL deploy.token="${SECRET_KEY}"
RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > /root/.npmrc
RUN printf '%s' "$SECRET_KEY" | base64 > /tmp/key.b64 && echo built ${NODE_VERSION}
"""

# what dfix --write turns into a secret mount (safe fix): the original leaks the token in history
REWRITABLE = """\
FROM node:20
ARG NODE_VERSION=20
ARG NPM_TOKEN
WORKDIR /app
RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm -f .npmrc && echo node ${NODE_VERSION}
"""

CLEAN = """\
FROM ubuntu:22.04
ARG NODE_VERSION=20
RUN --mount=type=secret,id=npm,env=NPM_TOKEN test -n "$NPM_TOKEN" && echo ok ${NODE_VERSION} > /ok
"""


def _dfix(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "refactor", "audit", "--no-progress", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env or os.environ.copy(),
        cwd=str(Path(__file__).resolve().parents[2]),
    )


def _assert_no_canary(proc, *values) -> None:
    for v in values:
        assert_absent(proc.stdout + proc.stderr, v, "dfix audit output")
        b64 = base64.b64encode(v.encode()).decode()
        assert b64 not in proc.stdout + proc.stderr


@pytest.fixture
def built(e2e, tmp_path):
    npm = e2e.canary("NPM_TOKEN", expect=False)
    key = e2e.canary("SECRET_KEY", expect=False)
    ctx = e2e.context({"Dockerfile": LEAKY}, "leaky")
    leaky = e2e.build(ctx, build_args={"NPM_TOKEN": npm, "SECRET_KEY": key, "BUILD_DATE": "2026-12-05T00:00:00Z"})
    assert_built(leaky)
    cctx = e2e.context({"Dockerfile": CLEAN}, "clean")
    clean = e2e.build(cctx, secrets={"npm": "NPM_TOKEN"}, env_values={"NPM_TOKEN": npm})
    assert_built(clean)
    return leaky.tag, clean.tag, npm, key, ctx


def _findings(doc) -> dict[str, dict]:
    return {f["credential"]: f for img in doc["images"] for f in img["findings"]}


def test_audit_docker_save_and_local(engine, built, tmp_path):
    leaky, clean, npm, key, ctx = built
    tar = tmp_path / "leaky.tar"
    engine.run("save", "-o", str(tar), leaky)
    proc = _dfix("--layers", "--format", "json", "--repo", str(ctx), str(tar))
    _assert_no_canary(proc, npm, key)
    assert proc.returncode == 1, proc.stderr
    found = _findings(json.loads(proc.stdout))
    assert {"NPM_TOKEN", "SECRET_KEY", "API_PASSWORD"} <= set(found), sorted(found)
    assert "NODE_VERSION" not in found and "BUILD_DATE" not in found
    locs = found["NPM_TOKEN"]["locations"]
    assert any("(RUN build arg)" in x for x in locs) and any("/root/.npmrc" in x for x in locs)
    assert "Env" in found["API_PASSWORD"]["locations"] and any("(ENV)" in x for x in found["API_PASSWORD"]["locations"])
    key_locs = found["SECRET_KEY"]["locations"]
    assert any("Label deploy.token" in x for x in key_locs) and any("/tmp/key.b64 (base64)" in x for x in key_locs)
    assert any("Dockerfile:8 (RUN)" in x for x in found["NPM_TOKEN"]["fix"]), found["NPM_TOKEN"]["fix"]
    # config-only through the engine
    proc = _dfix(leaky, clean)
    _assert_no_canary(proc, npm, key)
    assert proc.returncode == 1 and "NPM_TOKEN" in proc.stdout and "SECRET_KEY" in proc.stdout
    # the secret-mount build is clean, layers included
    for fmt in ("text", "json", "sarif", "markdown"):
        proc = _dfix("--layers", "--format", fmt, clean)
        _assert_no_canary(proc, npm, key)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_audit_dfix_rewritten_image_is_clean(engine, e2e):
    npm = e2e.canary("NPM_TOKEN")  # the artifact server expects it: both builds must deliver it
    orig = e2e.context({"Dockerfile": REWRITABLE}, "orig")
    before = e2e.build(orig, build_args={"NPM_TOKEN": npm}, env_values={"NPM_TOKEN": npm})
    assert_built(before)
    fixed = e2e.context({"Dockerfile": REWRITABLE}, "fixed")
    doc = _dfix_write(fixed, ["--write", "--emit=docker"])
    assert doc["changed"]
    secrets, secret_files = _secrets_from_command(doc["build"]["command"], fixed)
    e2e.server.reset()
    e2e.server.expect(npm)
    after = e2e.build(
        fixed,
        secrets=secrets,
        secret_files=secret_files,
        build_args=_build_args_from_command(doc["build"]["command"]),
        env_values={"NPM_TOKEN": npm},
    )
    assert_built(after)
    assert_saw(e2e.server, npm, "the canary through the secret mount")
    proc = _dfix("--layers", "--format", "json", "--repo", str(orig), before.tag)
    _assert_no_canary(proc, npm)
    assert proc.returncode == 1, proc.stderr
    found = _findings(json.loads(proc.stdout))
    assert set(found) == {"NPM_TOKEN"} and "history step" in found["NPM_TOKEN"]["locations"][0], found
    assert "Dockerfile:5 (RUN)" in found["NPM_TOKEN"]["fix"], found["NPM_TOKEN"]["fix"]
    for fmt in ("text", "json", "sarif", "markdown"):
        proc = _dfix("--layers", "--format", fmt, after.tag)
        _assert_no_canary(proc, npm)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        if fmt == "json":
            assert json.loads(proc.stdout)["summary"] == {"images": 1, "leaking": 0, "findings": 0, "errors": 0}


N_EXTRA = 12  # more tags of each manifest, put through the registry API


def test_audit_registry_tags_and_index(engine, built, local_registry, tmp_path):  # noqa: F811
    leaky, clean, npm, key, _ = built
    repo = f"{local_registry.address}/audit/app"
    digests = {}
    for tag, src in (("v1", leaky), ("v2", leaky), ("clean", clean)):
        engine.run("tag", src, f"{repo}:{tag}")
        digests[tag] = _push(engine, f"{repo}:{tag}")
        engine.run("image", "rm", f"{repo}:{tag}", check=False)
    accept = {"Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"}
    bodies, media = {}, {}
    for t in ("v1", "clean"):
        _, headers, bodies[t] = _http("GET", local_registry.url(f"/v2/audit/app/manifests/{digests[t]}"), headers=accept)
        media[t] = json.loads(bodies[t]).get("mediaType") or headers.get("Content-Type", "").split(";")[0]
    # many tags: the same two manifests under more names (the ground truth: which tag leaks)
    for i in range(N_EXTRA):
        for t, prefix in (("v1", "leaky"), ("clean", "ok")):
            _put_manifest(local_registry, "audit/app", f"{prefix}-{i:02d}", media[t], bodies[t])
    # an index over the leaky and the clean manifest
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": media[t], "digest": digests[t], "size": len(bodies[t]), "platform": {"os": "linux", "architecture": arch}}
            for t, arch in (("v1", "amd64"), ("clean", "arm64"))
        ],
    }
    _put_manifest(local_registry, "audit/app", "multi", "application/vnd.oci.image.index.v1+json", json.dumps(index).encode())
    want_leaky = {f"{repo}:{t}" for t in ["v1", "v2", *(f"leaky-{i:02d}" for i in range(N_EXTRA))]} | {f"{repo}:multi (linux/amd64)"}
    want_clean = {f"{repo}:{t}" for t in ["clean", *(f"ok-{i:02d}" for i in range(N_EXTRA))]} | {f"{repo}:multi (linux/arm64)"}
    for fmt in ("json", "text", "sarif", "markdown"):
        proc = _dfix("--format", fmt, "--layers", repo)
        _assert_no_canary(proc, npm, key)
        assert proc.returncode == 1, proc.stderr
    for layers in ((), ("--layers",)):
        proc = _dfix("--format", "json", *layers, repo)
        _assert_no_canary(proc, npm, key)
        doc = json.loads(proc.stdout)
        assert doc["summary"] == {"images": 2, "leaking": 1, "findings": doc["summary"]["findings"], "errors": 0}, doc["summary"]
        leaking = {n for i in doc["images"] if i["findings"] for n in i["names"]}
        ok = {n for i in doc["images"] if not i["findings"] for n in i["names"]}
        assert (leaking, ok) == (want_leaky, want_clean)
        (img,) = [i for i in doc["images"] if i["findings"]]
        assert img["digest"] == digests["v1"]
        creds = {f["credential"] for f in img["findings"]}
        assert {"NPM_TOKEN", "SECRET_KEY", "API_PASSWORD"} <= creds and not creds & {"NODE_VERSION", "BUILD_DATE"}, creds
        row = next(r for r in doc["credentials"] if r["credential"] == "NPM_TOKEN")
        assert row["images"] == 1 and row["repositories"] == 1
        assert "NPM_TOKEN" in proc.stderr and "rotate" in proc.stderr

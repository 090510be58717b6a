"""dfix audit on real images built by the engine: canary build args, an ENV, a LABEL, an .npmrc and a
base64 of the value in layer files; audited from `docker save`, from the local engine and from a real
docker-registry with several tags and an index. A build with a secret mount gives no finding. No
canary (raw or base64) appears in any output."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import assert_absent, assert_built
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


def test_audit_registry_tags_and_index(engine, built, local_registry, tmp_path):  # noqa: F811
    leaky, clean, npm, key, _ = built
    repo = f"{local_registry.address}/audit/app"
    digests = {}
    for tag, src in (("v1", leaky), ("v2", leaky), ("clean", clean)):
        engine.run("tag", src, f"{repo}:{tag}")
        digests[tag] = _push(engine, f"{repo}:{tag}")
        engine.run("image", "rm", f"{repo}:{tag}", check=False)
    # an index over the leaky and the clean manifest
    _, _, body = _http(
        "GET",
        local_registry.url(f"/v2/audit/app/manifests/{digests['v1']}"),
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"},
    )
    media = json.loads(body).get("mediaType") or "application/vnd.oci.image.manifest.v1+json"
    sizes = {
        t: len(_http("GET", local_registry.url(f"/v2/audit/app/manifests/{digests[t]}"), headers={"Accept": media})[2])
        for t in ("v1", "clean")
    }
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": media, "digest": digests["v1"], "size": sizes["v1"], "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": media, "digest": digests["clean"], "size": sizes["clean"], "platform": {"os": "linux", "architecture": "arm64"}},
        ],
    }
    _put_manifest(local_registry, "audit/app", "multi", "application/vnd.oci.image.index.v1+json", json.dumps(index).encode())
    for fmt in ("json", "text", "sarif", "markdown"):
        proc = _dfix("--format", fmt, "--layers", repo)
        _assert_no_canary(proc, npm, key)
        assert proc.returncode == 1, proc.stderr
    proc = _dfix("--format", "json", repo)
    doc = json.loads(proc.stdout)
    leaking = [i for i in doc["images"] if i["findings"]]
    # v1, v2 and multi's amd64 entry are one manifest: one image, three names
    assert len(leaking) == 1 and len(leaking[0]["names"]) == 3, [i["names"] for i in leaking]
    row = next(r for r in doc["credentials"] if r["credential"] == "NPM_TOKEN")
    assert row["images"] == 1 and row["repositories"] == 1
    assert "NPM_TOKEN" in proc.stderr and "rotate" in proc.stderr

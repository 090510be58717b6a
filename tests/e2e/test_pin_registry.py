"""Digest pinning end to end, against a real registry on 127.0.0.1 (Debian's ``docker-registry``,
distribution 2.8) holding images pushed by the test engine.

1. An image built on the engine is pushed; the client resolves its tag to the digest ``docker push``
   reported; ``pin_digests`` pins a Dockerfile's FROM to it; the local copies are removed and the
   pinned Dockerfile builds on the engine (which pulls it by digest from the registry).
2. A changed image is pushed under the same tag: the tag now resolves to another digest, the pinned
   Dockerfile still builds on the first image, the unpinned one gets the new one, re-pinning moves.
3. A multi-arch index (Docker manifest list: the engine's image plus a second-architecture
   manifest, uploaded through the API) pins as the index digest; the pinned FROM builds, with and
   without ``--platform``; a platform the index lacks is a per-image error.
4. A registry with htpasswd (Basic) auth: anonymous resolution is a clear ``unauthorized`` error for
   that image while the other images of the Dockerfile are pinned; with the ``config.json`` that
   ``docker login`` wrote, it resolves.

The registry is installed with ``apt-get install docker-registry`` when missing; if that is not
possible the tests skip (fail under ``DFIX_REQUIRE_ENGINE=1``). Nothing here contacts any address
but 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from refactor.source import SourceFile
from refactor.supply.pin import pin_digests
from refactor.supply.registry import DOCKER_LIST, DOCKER_MANIFEST, DockerConfig, RegistryClient
from refactor.syntax.dockerfile import parse

from .baseimage import apt_lock
from .conftest import REQUIRE, assert_built, assert_failed

REGISTRY_BIN = "docker-registry"


def _unavailable(reason: str):
    if REQUIRE:
        pytest.fail(f"DFIX_REQUIRE_ENGINE=1 but the local registry is unavailable: {reason}", pytrace=False)
    pytest.skip(f"no local registry for the pinning e2e tests: {reason}")


def _registry_binary() -> str:
    found = shutil.which(REGISTRY_BIN) or ("/usr/bin/docker-registry" if os.path.exists("/usr/bin/docker-registry") else None)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        _unavailable("docker-registry is not installed and apt-get is not usable here")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        with apt_lock():  # another worker may be installing it right now
            proc = subprocess.run(["apt-get", "install", "-y", "-qq", "docker-registry"], capture_output=True, text=True,
                                  env=env, timeout=600, stdin=subprocess.DEVNULL)
            if proc.returncode != 0:
                subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=600, stdin=subprocess.DEVNULL)
                proc = subprocess.run(["apt-get", "install", "-y", "-qq", "docker-registry"], capture_output=True, text=True,
                                      env=env, timeout=600, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        _unavailable(f"apt-get install docker-registry failed: {exc}")
    found = shutil.which(REGISTRY_BIN) or ("/usr/bin/docker-registry" if os.path.exists("/usr/bin/docker-registry") else None)
    if not found:
        _unavailable(f"apt-get install docker-registry failed: {proc.stderr.strip()[-300:]}")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalRegistry:
    address: str  # 127.0.0.1:PORT
    proc: subprocess.Popen
    root: Path

    def url(self, path: str) -> str:
        return f"http://{self.address}{path}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _start_registry(binary: str, root: Path, htpasswd: Path | None = None) -> LocalRegistry:
    # the port is chosen free, then bound by the registry: another process (an xdist worker, a
    # concurrent session) may take it in between, so a registry that exits at once gets a new port
    for attempt in range(3):
        reg = _try_start_registry(binary, root / f"try{attempt}" if attempt else root, htpasswd)
        if reg is not None:
            return reg
    tail = (root / "registry.log").read_text(errors="replace")[-500:]
    _unavailable(f"docker-registry did not start (3 attempts): {tail}")


def _try_start_registry(binary: str, root: Path, htpasswd: Path | None) -> LocalRegistry | None:
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    auth = f"auth:\n  htpasswd:\n    realm: dfix-e2e\n    path: {htpasswd}\n" if htpasswd else ""
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
        "  maintenance:\n    uploadpurging:\n      enabled: false\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n"
        + auth
    )
    log = open(root / "registry.log", "wb")
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    reg = LocalRegistry(f"127.0.0.1:{port}", proc, root)
    deadline = time.monotonic() + 60  # a hang guard for the start-up, not a timing assertion
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            urllib.request.urlopen(reg.url("/v2/"), timeout=2).close()
            answered = True
        except urllib.error.HTTPError as exc:
            answered = exc.code == 401
        except OSError:
            answered = False
        if answered:
            # someone answered; make sure it is this registry, not another process's on the port
            time.sleep(0.3)
            if proc.poll() is None:
                return reg
            break
        time.sleep(0.2)
    reg.stop()
    return None


@pytest.fixture(scope="session")
def registry_binary(engine) -> str:
    return _registry_binary()


@pytest.fixture(scope="module")
def local_registry(registry_binary, tmp_path_factory):
    reg = _start_registry(registry_binary, tmp_path_factory.mktemp("registry"))
    yield reg
    reg.stop()


# -- helpers ----------------------------------------------------------------------------------

def _build_image(engine, base_image, tmp: Path, tag: str, version: str):
    ctx = tmp / f"img-{version}"
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(f"FROM {base_image.image}\nRUN echo {version} > /dfix-version\n")
    result = engine.build(ctx, tag=tag)
    assert_built(result)
    return result


def _push(engine, ref: str, config_dir: Path | None = None) -> str:
    args = (["--config", str(config_dir)] if config_dir else []) + ["push", ref]
    proc = engine.run(*args, timeout=300)
    m = re.search(r"digest: (sha256:[0-9a-f]{64})", proc.stdout + proc.stderr)
    assert m, f"docker push printed no digest: {proc.stdout[-400:]}"
    return m.group(1)


def _pin(text: str, client) -> tuple[str, object]:
    df = parse(SourceFile.from_text("Dockerfile", text))
    result = pin_digests(df, client)
    return result.apply(text), result


def _forget(engine, *refs: str) -> None:
    """Remove local tags and digest references, so that a build must pull from the registry."""
    engine.run("image", "rm", "-f", *refs, check=False)


def _consumer(tmp: Path, name: str, text: str) -> Path:
    ctx = tmp / name
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(text)
    return ctx


# -- 1 + 2: pin, build, re-push -----------------------------------------------------------------

def test_pin_build_and_repush(engine, base_image, local_registry, tmp_path) -> None:
    name = f"{local_registry.address}/dfix/pin-e2e"
    tag = f"{name}:1"
    built: list[str] = []
    try:
        built.append(_build_image(engine, base_image, tmp_path, tag, "one").tag)
        d1 = _push(engine, tag)

        res = RegistryClient(timeout=10).resolve(tag)
        assert res.digest == d1 and res.media_type == DOCKER_MANIFEST

        original = f"FROM {tag}\nRUN test \"$(cat /dfix-version)\" = one\n"
        pinned, result = _pin(original, RegistryClient(timeout=10))
        assert pinned == f"FROM {tag}@{d1}\nRUN test \"$(cat /dfix-version)\" = one\n"
        assert [n.reason for n in result.notes] == ["pinned"]

        # the engine must fetch the pinned image from the registry
        _forget(engine, tag, f"{name}@{d1}")
        assert engine.run("image", "inspect", f"{name}@{d1}", check=False).returncode != 0
        r = engine.build(_consumer(tmp_path, "pinned", pinned))
        built.append(r.tag)
        assert_built(r)
        assert f"resolve {tag}@{d1}" in r.log, r.tail()
        assert re.search(rf"{d1} \d+B / \d+B done", r.log), "the manifest was not fetched from the registry"

        # a changed image pushed under the same tag
        built.append(_build_image(engine, base_image, tmp_path, tag, "two").tag)
        d2 = _push(engine, tag)
        assert d2 != d1
        assert RegistryClient(timeout=10).resolve(tag).digest == d2

        # the pinned Dockerfile still builds on the first image; the unpinned one drifted
        r = engine.build(_consumer(tmp_path, "pinned-again", pinned))
        built.append(r.tag)
        assert_built(r)
        r = engine.build(_consumer(tmp_path, "unpinned", original))
        built.append(r.tag)
        assert_failed(r)  # the tag now names image "two"

        repinned, _ = _pin(original, RegistryClient(timeout=10))
        assert repinned == f"FROM {tag}@{d2}\nRUN test \"$(cat /dfix-version)\" = one\n"
    finally:
        engine.remove_images(built + [tag])


def test_arg_parameterized_from_pins_through_the_default(engine, base_image, local_registry, tmp_path) -> None:
    name = f"{local_registry.address}/dfix/arg-e2e"
    built: list[str] = []
    try:
        built.append(_build_image(engine, base_image, tmp_path, f"{name}:3", "three").tag)
        d = _push(engine, f"{name}:3")
        text = f"ARG V=3\nFROM {name}:${{V}}\nRUN test \"$(cat /dfix-version)\" = three\n"
        pinned, result = _pin(text, RegistryClient(timeout=10))
        assert pinned == f"ARG V=3@{d}\nFROM {name}:${{V}}\nRUN test \"$(cat /dfix-version)\" = three\n"
        assert result.notes[0].reason == "pinned-via-arg"
        _forget(engine, f"{name}:3", f"{name}@{d}")
        r = engine.build(_consumer(tmp_path, "arg", pinned))
        built.append(r.tag)
        assert_built(r)
        assert f"resolve {name}:3@{d}" in r.log, r.tail()
    finally:
        engine.remove_images(built + [f"{name}:3"])


# -- 3: multi-arch index ----------------------------------------------------------------------

def _http(method: str, url: str, data: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, dict(r.headers), r.read()


def _upload_blob(reg: LocalRegistry, repo: str, blob: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    _, headers, _ = _http("POST", reg.url(f"/v2/{repo}/blobs/uploads/"), b"")
    location = headers["Location"]
    if location.startswith("/"):
        location = reg.url(location)
    sep = "&" if "?" in location else "?"
    status, _, _ = _http("PUT", f"{location}{sep}digest={digest}", blob, {"Content-Type": "application/octet-stream"})
    assert status == 201
    return digest


def _put_manifest(reg: LocalRegistry, repo: str, ref: str, media: str, body: bytes) -> str:
    status, headers, _ = _http("PUT", reg.url(f"/v2/{repo}/manifests/{ref}"), body, {"Content-Type": media})
    assert status == 201
    return headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(body).hexdigest()


def test_multi_arch_index(engine, base_image, local_registry, tmp_path) -> None:
    repo = "dfix/multi-e2e"
    name = f"{local_registry.address}/{repo}"
    built: list[str] = []
    native = engine.run("version", "--format", "{{.Server.Arch}}").stdout.strip() or "amd64"
    other = "arm64" if native != "arm64" else "amd64"
    try:
        built.append(_build_image(engine, base_image, tmp_path, f"{name}:single", "multi").tag)
        d_native = _push(engine, f"{name}:single")
        _, _, body = _http("GET", local_registry.url(f"/v2/{repo}/manifests/{d_native}"), headers={"Accept": DOCKER_MANIFEST})
        manifest = json.loads(body)
        _, _, cfg = _http("GET", local_registry.url(f"/v2/{repo}/blobs/{manifest['config']['digest']}"))
        # a second-architecture image with the same layers (never run: only listed in the index)
        cfg_other = json.loads(cfg)
        cfg_other["architecture"] = other
        cfg_other_bytes = json.dumps(cfg_other).encode()
        manifest["config"] = dict(manifest["config"], digest=_upload_blob(local_registry, repo, cfg_other_bytes),
                                  size=len(cfg_other_bytes))
        body_other = json.dumps(manifest).encode()
        d_other = _put_manifest(local_registry, repo, f"{other}-variant", DOCKER_MANIFEST, body_other)
        index = {"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [
            {"mediaType": DOCKER_MANIFEST, "digest": d_native, "size": len(body), "platform": {"architecture": native, "os": "linux"}},
            {"mediaType": DOCKER_MANIFEST, "digest": d_other, "size": len(body_other), "platform": {"architecture": other, "os": "linux"}},
        ]}
        index_body = json.dumps(index).encode()
        d_index = _put_manifest(local_registry, repo, "multi", DOCKER_LIST, index_body)
        assert d_index == "sha256:" + hashlib.sha256(index_body).hexdigest()

        client = RegistryClient(timeout=10)
        res = client.resolve(f"{name}:multi")
        assert res.digest == d_index and res.is_index
        res = client.resolve(f"{name}:multi", f"linux/{other}")
        assert res.digest == d_index and res.platform_digest == d_other
        assert set(res.platforms) == {f"linux/{native}", f"linux/{other}"}

        text = (f"FROM {name}:multi AS plain\nRUN test \"$(cat /dfix-version)\" = multi\n"
                f"FROM --platform=linux/{native} {name}:multi\nRUN test \"$(cat /dfix-version)\" = multi\n"
                f"FROM --platform=linux/s390x {name}:multi AS never\n")
        pinned, result = _pin(text, client)
        assert pinned.count(f"{name}:multi@{d_index}") == 2
        assert f"--platform=linux/s390x {name}:multi AS never" in pinned
        notes = {n.line: n for n in result.notes}
        assert "multi-arch index" in notes[1].message
        assert notes[5].status == "error" and "no linux/s390x image" in notes[5].message

        _forget(engine, f"{name}:single", f"{name}@{d_native}")
        ctx = _consumer(tmp_path, "multi", pinned.replace(f"FROM --platform=linux/s390x {name}:multi AS never\n", ""))
        r = engine.build(ctx)
        built.append(r.tag)
        assert_built(r)
        assert f"resolve {name}:multi@{d_index}" in r.log, r.tail()
    finally:
        engine.remove_images(built + [f"{name}:single"])


# -- 4: Basic auth from config.json -------------------------------------------------------------

def _bcrypt(password: str) -> str:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # noqa: PLC0415 - deprecated module; libxcrypt has bcrypt
    except ImportError:
        pytest.skip("no crypt module to write an htpasswd file (Python >= 3.13)")
    h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
    if not h or not h.startswith("$2"):
        pytest.skip("libcrypt has no bcrypt here")
    return h


def test_basic_auth_registry_and_config_json(engine, base_image, registry_binary, local_registry, tmp_path) -> None:
    user, password = "dfix", "pw-" + secrets.token_hex(8)
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"{user}:{_bcrypt(password)}\n")
    reg = _start_registry(registry_binary, tmp_path / "auth-registry", htpasswd)
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    name = f"{reg.address}/dfix/private"
    public = f"{local_registry.address}/dfix/public-e2e:1"
    built: list[str] = []
    try:
        built.append(_build_image(engine, base_image, tmp_path, f"{name}:1", "private").tag)
        built.append(_build_image(engine, base_image, tmp_path, public, "public").tag)
        login = subprocess.run([engine.docker, "--config", str(config_dir), "login", reg.address, "-u", user, "--password-stdin"],
                               input=password, capture_output=True, text=True, timeout=120, env=engine.environ())
        assert login.returncode == 0, "docker login to the local registry failed"
        d = _push(engine, f"{name}:1", config_dir)
        d_public = _push(engine, public)

        text = f"FROM {name}:1 AS private\nFROM {public}\n"
        anonymous = RegistryClient(config=DockerConfig({}), timeout=10)
        pinned, result = _pin(text, anonymous)
        assert pinned == f"FROM {name}:1 AS private\nFROM {public}@{d_public}\n"  # the rest goes on
        err = result.notes[0]
        assert err.status == "error" and "unauthorized" in err.message and password not in err.message

        cfg = DockerConfig.load(str(config_dir / "config.json"))
        authed = RegistryClient(config=cfg, timeout=10)
        pinned, result = _pin(text, authed)
        assert pinned == f"FROM {name}:1@{d} AS private\nFROM {public}@{d_public}\n"
        assert all(password not in n.message for n in result.notes)
    finally:
        engine.remove_images(built)
        reg.stop()

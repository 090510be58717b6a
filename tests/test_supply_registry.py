"""The registry client against a registry implemented here, on 127.0.0.1 (never the internet).

``FakeRegistry`` speaks enough of the distribution API v2 for resolution: HEAD/GET manifests by tag
or digest (OCI index, Docker manifest list, OCI/Docker manifests), config blobs, the Bearer token
flow (anonymous pull tokens for public repositories, Basic credentials or a refresh token for
private ones) or Basic auth, and knobs for misbehaviour. Other supply tests import it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import stat
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from refactor.supply.registry import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    DockerConfig,
    RegistryClient,
    RegistryError,
    parse_reference,
)

USER, PASSWORD = "dfix-user", "pw-" + os.urandom(6).hex()
REFRESH = "refresh-" + os.urandom(6).hex()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def config_blob(arch: str = "amd64", os_: str = "linux", variant: str | None = None) -> bytes:
    doc = {"architecture": arch, "os": os_, "rootfs": {"type": "layers", "diff_ids": []}, "config": {}}
    if variant:
        doc["variant"] = variant
    return json.dumps(doc, sort_keys=True).encode()


def manifest(config: bytes, media: str = DOCKER_MANIFEST, salt: str = "") -> bytes:
    cmt = "application/vnd.docker.container.image.v1+json" if media == DOCKER_MANIFEST else "application/vnd.oci.image.config.v1+json"
    doc = {"schemaVersion": 2, "mediaType": media, "config": {"mediaType": cmt, "digest": sha(config), "size": len(config)},
           "layers": [], "annotations": {"salt": salt} if salt else None}
    if not salt:
        del doc["annotations"]
    return json.dumps(doc, indent=3).encode()


def index(entries: list[tuple[bytes, str, str, str | None]], media: str = OCI_INDEX, attestation: bool = True) -> bytes:
    manifests = []
    for body, os_, arch, variant in entries:
        p = {"os": os_, "architecture": arch}
        if variant:
            p["variant"] = variant
        manifests.append({"mediaType": OCI_MANIFEST if media == OCI_INDEX else DOCKER_MANIFEST, "digest": sha(body),
                          "size": len(body), "platform": p})
    if attestation:
        manifests.append({"mediaType": OCI_MANIFEST, "digest": "sha256:" + "0" * 64, "size": 1,
                          "platform": {"os": "unknown", "architecture": "unknown"}})
    return json.dumps({"schemaVersion": 2, "mediaType": media, "manifests": manifests}, indent=2).encode()


class FakeRegistry:
    """``repos[path] = {"tags": {tag: digest}, "manifests": {digest: (media, body)}, "blobs": {...}}``."""

    def __init__(self, auth: str = "none", private: tuple[str, ...] = ()):
        self.auth = auth  # "none" | "bearer" | "basic"
        self.private = set(private)
        self.repos: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.tokens: dict[str, set[str]] = {}  # token -> repositories it may pull
        self.omit_digest_header = False
        self.wrong_digest_header = False
        self.head_status: int | None = None  # e.g. 405: HEAD refused
        self.status_override: int | None = None
        self.content_type_override: str | None = None
        self.delay = 0.0
        self.redirect_blobs_to: str | None = None  # base URL
        self.token_realm: str | None = None
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- content -------------------------------------------------------------------------------
    def put(self, path: str, tag: str | None, media: str, body: bytes, blobs: tuple[bytes, ...] = ()) -> str:
        repo = self.repos.setdefault(path, {"tags": {}, "manifests": {}, "blobs": {}})
        d = sha(body)
        repo["manifests"][d] = (media, body)
        if tag:
            repo["tags"][tag] = d
        for b in blobs:
            repo["blobs"][sha(b)] = b
        return d

    def put_image(self, path: str, tag: str, arch: str = "amd64", media: str = DOCKER_MANIFEST, salt: str = "") -> str:
        cfg = config_blob(arch)
        return self.put(path, tag, media, manifest(cfg, media, salt), (cfg,))

    def put_index(self, path: str, tag: str, platforms=(("linux", "amd64", None), ("linux", "arm64", None)),
                  media: str = OCI_INDEX) -> str:
        entries = []
        for os_, arch, variant in platforms:
            cfg = config_blob(arch, os_, variant)
            body = manifest(cfg, OCI_MANIFEST if media == OCI_INDEX else DOCKER_MANIFEST)
            self.put(path, None, OCI_MANIFEST if media == OCI_INDEX else DOCKER_MANIFEST, body, (cfg,))
            entries.append((body, os_, arch, variant))
        return self.put(path, tag, media, index(entries, media))

    def count(self, method: str | None = None, path_part: str = "") -> int:
        return sum(1 for r in self.requests if (method is None or r["method"] == method) and path_part in r["path"])

    # -- HTTP ------------------------------------------------------------------------------------
    def _handler(self):
        reg = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def _send(self, code, body=b"", headers=None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD" and body:
                    self.wfile.write(body)

            def _challenge(self, repo):
                if reg.auth == "basic":
                    return self._send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": 'Basic realm="fake"'})
                realm = reg.token_realm or f"{reg.url}/token"
                return self._send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {
                    "WWW-Authenticate": f'Bearer realm="{realm}",service="fake-registry",scope="repository:{repo}:pull"'})

            def _authorized(self, repo) -> bool:
                h = self.headers.get("Authorization") or ""
                if reg.auth == "none":
                    return True
                if reg.auth == "basic":
                    return h == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if h.startswith("Bearer "):
                    return repo in reg.tokens.get(h[7:], set())
                return False

            def do_POST(self):
                self._record()
                u = urllib.parse.urlsplit(self.path)
                if u.path != "/token":
                    return self._send(404)
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [REFRESH]:
                    return self._send(401)
                return self._issue(form.get("scope", [""])[0], authed=True, key="access_token")

            def _issue(self, scope, authed, key="token"):
                repo = scope.split(":")[1] if scope.count(":") >= 2 else ""
                if repo in reg.private and not authed:
                    return self._send(401, b'{"details":"denied"}')
                tok = "tok-" + os.urandom(8).hex()
                reg.tokens[tok] = {repo}
                return self._send(200, json.dumps({key: tok, "expires_in": 300}).encode(), {"Content-Type": "application/json"})

            def _record(self):
                reg.requests.append({"method": self.command, "path": self.path,
                                     "auth": (self.headers.get("Authorization") or "").split(" ")[0],
                                     "accept": self.headers.get("Accept") or ""})

            def do_HEAD(self):
                self.do_GET()

            def do_GET(self):
                self._record()
                if reg.delay:
                    time.sleep(reg.delay)
                u = urllib.parse.urlsplit(self.path)
                if u.path == "/token":
                    q = urllib.parse.parse_qs(u.query)
                    h = self.headers.get("Authorization") or ""
                    authed = h == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                    if h and not authed:
                        return self._send(401)
                    if q.get("service") != ["fake-registry"]:
                        return self._send(400)
                    return self._issue(q.get("scope", [""])[0], authed)
                if not u.path.startswith("/v2/"):
                    return self._send(404)
                rest = u.path[4:]
                if rest == "":
                    return self._send(200, b"{}")
                if "/manifests/" in rest:
                    repo, ref = rest.split("/manifests/", 1)
                    kind = "m"
                elif "/blobs/" in rest:
                    repo, ref = rest.split("/blobs/", 1)
                    kind = "b"
                else:
                    return self._send(404)
                if reg.auth != "none" and not self._authorized(repo):
                    return self._challenge(repo)
                if reg.status_override:
                    return self._send(reg.status_override, b"oops")
                r = reg.repos.get(repo)
                if r is None:
                    return self._send(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')
                if kind == "b":
                    if reg.redirect_blobs_to:
                        return self._send(307, b"", {"Location": f"{reg.redirect_blobs_to}/storage/{ref}"})
                    blob = r["blobs"].get(ref)
                    return self._send(200, blob, {"Content-Type": "application/octet-stream"}) if blob else self._send(404)
                d = r["tags"].get(ref, ref)
                if d not in r["manifests"]:
                    return self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
                media, body = r["manifests"][d]
                if self.command == "HEAD" and reg.head_status:
                    return self._send(reg.head_status)
                headers = {"Content-Type": reg.content_type_override or media}
                if not reg.omit_digest_header:
                    headers["Docker-Content-Digest"] = ("sha256:" + "f" * 64) if reg.wrong_digest_header else d
                self.send_response(200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

        return Handler


class Storage:
    """A second server standing in for blob storage: records whether Authorization reached it."""

    def __init__(self, blobs: dict[str, bytes]):
        self.blobs = blobs
        self.auth_seen: list[str] = []
        owner = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                owner.auth_seen.append(self.headers.get("Authorization") or "")
                d = self.path.rsplit("/", 1)[-1]
                body = owner.blobs.get(d)
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.httpd = ThreadingHTTPServer(("localhost", 0), H)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://localhost:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def registry():
    with FakeRegistry() as reg:
        yield reg


def client_for(reg: FakeRegistry, config: DockerConfig | None = None, **kw) -> RegistryClient:
    return RegistryClient(config=config or DockerConfig({}), timeout=kw.pop("timeout", 5), **kw)


def assert_clean_message(exc: BaseException) -> None:
    text = str(exc) + repr(exc.args)
    assert "\n" not in str(exc)
    for secret in (PASSWORD, REFRESH, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(), "tok-"):
        assert secret not in text


# --------------------------------------------------------------------------------------------
# References


@pytest.mark.parametrize("text, domain, path, tag, digest", [
    ("node", "docker.io", "library/node", None, None),
    ("node:20", "docker.io", "library/node", "20", None),
    ("library/node:20", "docker.io", "library/node", "20", None),
    ("docker.io/node:20", "docker.io", "library/node", "20", None),
    ("index.docker.io/library/node", "docker.io", "library/node", None, None),
    ("bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", None),
    ("ghcr.io/owner/repo/sub:v1.2.3", "ghcr.io", "owner/repo/sub", "v1.2.3", None),
    ("localhost/app", "localhost", "app", None, None),
    ("localhost:5000/app:1", "localhost:5000", "app", "1", None),
    ("127.0.0.1:5000/a/b:tag", "127.0.0.1:5000", "a/b", "tag", None),
    ("[::1]:5000/a:1", "[::1]:5000", "a", "1", None),
    ("registry.example.com/team/app", "registry.example.com", "team/app", None, None),
    ("node:20@sha256:" + "a" * 64, "docker.io", "library/node", "20", "sha256:" + "a" * 64),
    ("node@sha256:" + "b" * 64, "docker.io", "library/node", None, "sha256:" + "b" * 64),
    ("my_org/my-app__x.y:1_2-3.4", "docker.io", "my_org/my-app__x.y", "1_2-3.4", None),
])
def test_parse_reference(text, domain, path, tag, digest) -> None:
    ref = parse_reference(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (domain, path, tag, digest)


@pytest.mark.parametrize("text", ["", "Node:20", "node:", "node:-x", "node@sha256:123", "a b", "node:" + "x" * 200,
                                  "-node", "node//x", "ghcr.io/Owner/repo"])
def test_parse_reference_invalid(text) -> None:
    with pytest.raises(RegistryError) as ei:
        parse_reference(text)
    assert ei.value.kind == "reference"


def test_familiar_and_api_host() -> None:
    assert parse_reference("docker.io/library/node:20").familiar == "node:20"
    assert parse_reference("bitnami/redis").familiar == "bitnami/redis"
    assert parse_reference("ghcr.io/o/r:1").familiar == "ghcr.io/o/r:1"
    assert parse_reference("node").api_host == "registry-1.docker.io"
    assert parse_reference("node").reference == "latest"
    c = RegistryClient()
    assert c.base_url("docker.io") == "https://registry-1.docker.io"
    assert c.base_url("ghcr.io") == "https://ghcr.io"
    assert c.base_url("localhost:5000") == "http://localhost:5000"
    assert c.base_url("127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert c.base_url("127.1.2.3") == "http://127.1.2.3"
    assert c.base_url("[::1]:5000") == "http://[::1]:5000"
    assert c.base_url("registry.local:5000") == "https://registry.local:5000"
    assert RegistryClient(insecure=("registry.local:5000",)).base_url("registry.local:5000") == "http://registry.local:5000"


# --------------------------------------------------------------------------------------------
# Resolution


def test_head_resolves_single_manifest(registry) -> None:
    d = registry.put_image("team/app", "1")
    res = client_for(registry)(f"{registry.address}/team/app:1")
    assert res.digest == d and res.media_type == DOCKER_MANIFEST and not res.is_index
    assert res.pinned == f"{registry.address}/team/app:1@{d}"
    assert registry.count("HEAD") == 1 and registry.count("GET") == 0  # HEAD only: no rate-limited GET
    accept = registry.requests[0]["accept"]
    for media in (OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST):
        assert media in accept


def test_untagged_means_latest_and_cache(registry) -> None:
    d = registry.put_image("app", "latest", media=OCI_MANIFEST)
    c = client_for(registry)
    assert c.resolve(f"{registry.address}/app").digest == d
    assert c.resolve(f"{registry.address}/app").digest == d
    assert registry.count() == 1
    assert registry.requests[0]["path"].endswith("/v2/app/manifests/latest")


@pytest.mark.parametrize("media", [OCI_INDEX, DOCKER_LIST])
def test_multi_arch_index_pins_the_index(registry, media) -> None:
    d = registry.put_index("multi", "1", media=media)
    c = client_for(registry)
    res = c(f"{registry.address}/multi:1")
    assert res.digest == d and res.is_index
    res = c(f"{registry.address}/multi:1", "linux/arm64")
    assert res.digest == d  # still the index: --platform selects at build time
    assert res.platforms == ("linux/amd64", "linux/arm64")  # the attestation entry is not a platform
    assert res.platform_digest and res.platform_digest != d
    assert c(f"{registry.address}/multi:1", "linux/aarch64").digest == d  # normalised
    with pytest.raises(RegistryError) as ei:
        c(f"{registry.address}/multi:1", "linux/s390x")
    assert ei.value.kind == "platform" and "linux/amd64, linux/arm64" in str(ei.value)


def test_arm_variants(registry) -> None:
    registry.put_index("arm", "1", platforms=(("linux", "arm", "v7"), ("linux", "arm", "v6")))
    c = client_for(registry)
    assert c(f"{registry.address}/arm:1", "linux/arm").platform_digest  # arm means arm/v7
    assert c(f"{registry.address}/arm:1", "linux/arm/v6").platform_digest
    with pytest.raises(RegistryError):
        c(f"{registry.address}/arm:1", "linux/arm/v5")


def test_single_platform_image_checked_against_platform(registry) -> None:
    d = registry.put_image("one", "1", arch="amd64")
    c = client_for(registry)
    assert c(f"{registry.address}/one:1", "linux/amd64").digest == d
    with pytest.raises(RegistryError) as ei:
        c(f"{registry.address}/one:1", "linux/arm64")
    assert ei.value.kind == "platform" and "linux/amd64" in str(ei.value)
    assert not RegistryClient(check_platform=False)(f"{registry.address}/one:1", "linux/arm64").is_index


def test_digest_from_body_when_header_missing(registry) -> None:
    d = registry.put_image("nohdr", "1")
    registry.omit_digest_header = True
    assert client_for(registry)(f"{registry.address}/nohdr:1").digest == d
    assert registry.count("GET") == 1


def test_wrong_digest_header_is_bad_response(registry) -> None:
    registry.put_image("bad", "1")
    registry.wrong_digest_header = True
    c = client_for(registry)
    c(f"{registry.address}/bad:1")  # HEAD alone cannot tell
    with pytest.raises(RegistryError) as ei:
        c(f"{registry.address}/bad:1", "linux/amd64")  # GET: body and header disagree
    assert ei.value.kind == "bad-response"


def test_head_refused_falls_back_to_get(registry) -> None:
    d = registry.put_image("nohead", "1")
    registry.head_status = 405
    assert client_for(registry)(f"{registry.address}/nohead:1").digest == d


def test_pinned_reference_is_checked(registry) -> None:
    d = registry.put_image("p", "1")
    assert client_for(registry)(f"{registry.address}/p@{d}").digest == d


@pytest.mark.parametrize("status, kind", [(404, "not-found"), (500, "bad-response"), (429, "bad-response")])
def test_http_errors(registry, status, kind) -> None:
    registry.put_image("x", "1")
    if status == 404:
        ref = f"{registry.address}/x:2"
    else:
        registry.status_override = status
        ref = f"{registry.address}/x:1"
    with pytest.raises(RegistryError) as ei:
        client_for(registry)(ref)
    assert ei.value.kind == kind
    assert f"{registry.address}/x:" in str(ei.value)


def test_unsupported_media_type(registry) -> None:
    registry.put_image("old", "1")
    registry.content_type_override = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    with pytest.raises(RegistryError) as ei:
        client_for(registry)(f"{registry.address}/old:1")
    assert ei.value.kind == "bad-response" and "schema 1" in str(ei.value)


def test_invalid_index_json(registry) -> None:
    registry.put("broken", "1", OCI_INDEX, b"{not json")
    with pytest.raises(RegistryError) as ei:
        client_for(registry)(f"{registry.address}/broken:1", "linux/amd64")
    assert ei.value.kind == "bad-response"


def test_offline() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(RegistryError) as ei:
        RegistryClient(timeout=2)(f"127.0.0.1:{port}/app:1")
    assert ei.value.kind == "offline" and "connection refused" in str(ei.value)


def test_timeout(registry, monkeypatch) -> None:
    """A registry slower than the client's timeout: the client gives up with an "offline" error that
    names the configured timeout, after one request (no retry), and the configured timeout is the
    one every request is opened with. No duration is measured: the registry answers after 1.5 s, so
    had the timeout not applied, the call would have succeeded instead of raising."""
    registry.put_image("slow", "1")
    registry.delay = 1.5
    opened: list[object] = []
    real_open = urllib.request.OpenerDirector.open

    def spy(self, fullurl, data=None, timeout=socket._GLOBAL_DEFAULT_TIMEOUT):
        opened.append(timeout)
        return real_open(self, fullurl, data, timeout)

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", spy)
    with pytest.raises(RegistryError) as ei:
        RegistryClient(timeout=0.3)(f"{registry.address}/slow:1")
    assert ei.value.kind == "offline" and "timed out after 0.3s" in str(ei.value)
    assert opened == [0.3]  # one request, opened with the configured timeout: no retry, no default


def test_docker_hub_names_go_to_library_through_endpoint_override(registry) -> None:
    d = registry.put_image("library/node", "20")
    c = RegistryClient(endpoints={"docker.io": registry.url}, timeout=5)
    assert c("node:20").digest == d
    assert c("docker.io/library/node:20").digest == d
    assert registry.requests[0]["path"] == "/v2/library/node/manifests/20"


# --------------------------------------------------------------------------------------------
# Authentication


def test_anonymous_bearer_token_flow_like_docker_hub_and_ghcr() -> None:
    with FakeRegistry(auth="bearer") as reg:
        d1 = reg.put_image("library/node", "20")
        d2 = reg.put_image("library/node", "22")
        c = RegistryClient(endpoints={"docker.io": reg.url, "ghcr.io": reg.url}, timeout=5)
        assert c("node:20").digest == d1
        # 401 with a challenge, then an anonymous token for repository:library/node:pull, then the retry
        assert [r["method"] for r in reg.requests] == ["HEAD", "GET", "HEAD"]
        assert "scope=repository%3Alibrary%2Fnode%3Apull" in reg.requests[1]["path"]
        assert "service=fake-registry" in reg.requests[1]["path"]
        assert reg.requests[1]["auth"] == ""  # anonymous
        assert reg.requests[2]["auth"] == "Bearer"
        assert c("node:22").digest == d2
        assert reg.count(path_part="/token") == 1  # the token is reused for the same scope
        reg.put_image("owner/tool", "1")
        assert c("ghcr.io/owner/tool:1").digest


def test_private_repository_without_credentials_is_unauthorized() -> None:
    with FakeRegistry(auth="bearer", private=("team/secret",)) as reg:
        reg.put_image("team/secret", "1")
        with pytest.raises(RegistryError) as ei:
            client_for(reg)(f"{reg.address}/team/secret:1")
        assert ei.value.kind == "unauthorized"
        assert "docker login" in str(ei.value) or "refused" in str(ei.value)


def _auth_config(reg, **entry) -> DockerConfig:
    return DockerConfig({"auths": {f"http://{reg.address}": entry}})


def test_bearer_with_basic_credentials_from_config() -> None:
    with FakeRegistry(auth="bearer", private=("team/secret",)) as reg:
        d = reg.put_image("team/secret", "1")
        auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        c = client_for(reg, _auth_config(reg, auth=auth))
        assert c(f"{reg.address}/team/secret:1").digest == d
        token_req = [r for r in reg.requests if "/token" in r["path"]][0]
        assert token_req["auth"] == "Basic"


def test_refused_credentials_message_has_no_secret() -> None:
    with FakeRegistry(auth="bearer", private=("team/secret",)) as reg:
        reg.put_image("team/secret", "1")
        wrong = base64.b64encode(f"{USER}:{PASSWORD}x".encode()).decode()
        with pytest.raises(RegistryError) as ei:
            client_for(reg, _auth_config(reg, auth=wrong))(f"{reg.address}/team/secret:1")
        assert ei.value.kind == "unauthorized"
        assert_clean_message(ei.value)


def test_identity_token_uses_refresh_grant() -> None:
    with FakeRegistry(auth="bearer", private=("team/secret",)) as reg:
        d = reg.put_image("team/secret", "1")
        c = client_for(reg, _auth_config(reg, identitytoken=REFRESH))
        assert c(f"{reg.address}/team/secret:1").digest == d
        assert reg.count("POST", "/token") == 1


def test_basic_challenge() -> None:
    with FakeRegistry(auth="basic") as reg:
        d = reg.put_image("app", "1")
        with pytest.raises(RegistryError) as ei:
            client_for(reg)(f"{reg.address}/app:1")
        assert ei.value.kind == "unauthorized"
        c = client_for(reg, _auth_config(reg, username=USER, password=PASSWORD))
        assert c(f"{reg.address}/app:1").digest == d


def _helper(tmp_path, monkeypatch, name: str, body: str) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    prog = bindir / f"docker-credential-{name}"
    prog.write_text("#!/bin/sh\n" + body)
    prog.chmod(prog.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_credential_helper(tmp_path, monkeypatch) -> None:
    log = tmp_path / "helper.log"
    _helper(tmp_path, monkeypatch, "dfixtest",
            f'read server; echo "$1 $server" >> {log}\n'
            f'printf \'{{"ServerURL":"%s","Username":"{USER}","Secret":"{PASSWORD}"}}\' "$server"\n')
    with FakeRegistry(auth="bearer", private=("team/secret",)) as reg:
        d = reg.put_image("team/secret", "1")
        cfg = DockerConfig({"credHelpers": {reg.address: "dfixtest"}})
        assert client_for(reg, cfg)(f"{reg.address}/team/secret:1").digest == d
        assert log.read_text().split() == ["get", reg.address]
        # credsStore: the default helper for every registry
        cfg = DockerConfig({"credsStore": "dfixtest"})
        assert client_for(reg, cfg)(f"{reg.address}/team/secret:1").digest == d


def test_credential_helper_for_docker_hub_gets_the_index_url(tmp_path, monkeypatch) -> None:
    log = tmp_path / "helper.log"
    _helper(tmp_path, monkeypatch, "hub", f'read server; echo "$server" > {log}; echo \'{{"Username":"u","Secret":"s"}}\'\n')
    creds = DockerConfig({"credHelpers": {"docker.io": "hub"}}).credentials("docker.io")
    assert creds is not None and repr(creds) == "<Credentials>"
    assert log.read_text().strip() == "https://index.docker.io/v1/"


def test_credential_helper_not_found_means_anonymous(tmp_path, monkeypatch) -> None:
    _helper(tmp_path, monkeypatch, "empty", 'echo "credentials not found in native keychain"; exit 1\n')
    assert DockerConfig({"credsStore": "empty"}).credentials("ghcr.io") is None


def test_credential_helper_failure_is_clean(tmp_path, monkeypatch) -> None:
    _helper(tmp_path, monkeypatch, "broken", f'echo "leaking {PASSWORD}" >&2; exit 3\n')
    with pytest.raises(RegistryError) as ei:
        DockerConfig({"credsStore": "broken"}).credentials("ghcr.io")
    assert ei.value.kind == "credentials" and "exit 3" in str(ei.value)
    assert_clean_message(ei.value)
    with pytest.raises(RegistryError) as ei:
        DockerConfig({"credsStore": "absent-helper-xyz"}).credentials("ghcr.io")
    assert "not installed" in str(ei.value)
    with pytest.raises(RegistryError):
        DockerConfig({"credsStore": "../evil"}).credentials("ghcr.io")


def test_config_file_loading(tmp_path, monkeypatch) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {
        "auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    cfg = DockerConfig.load()
    creds = cfg.credentials("docker.io")
    assert creds.username == USER and creds.password == PASSWORD
    assert PASSWORD not in repr(cfg) + repr(creds) + str(creds)
    assert cfg.credentials("ghcr.io") is None
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(RegistryError) as ei:
        DockerConfig.load()
    assert ei.value.kind == "credentials"
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "none"))
    assert DockerConfig.load().credentials("docker.io") is None


def test_bad_auth_entry() -> None:
    with pytest.raises(RegistryError) as ei:
        DockerConfig({"auths": {"ghcr.io": {"auth": base64.b64encode(b"no-colon").decode()}}}).credentials("ghcr.io")
    assert ei.value.kind == "credentials"


def test_authorization_not_forwarded_on_redirect() -> None:
    with FakeRegistry(auth="basic") as reg:
        reg.put_image("app", "1")
        storage = Storage(reg.repos["app"]["blobs"])
        try:
            reg.redirect_blobs_to = storage.url
            c = client_for(reg, _auth_config(reg, username=USER, password=PASSWORD))
            assert c(f"{reg.address}/app:1", "linux/amd64").digest  # the config blob came via the redirect
            assert storage.auth_seen == [""]
        finally:
            storage.close()


def test_no_credentials_to_plain_http_realm_off_loopback() -> None:
    with FakeRegistry(auth="bearer", private=("p",)) as reg:
        reg.put_image("p", "1")
        reg.token_realm = "http://auth.invalid/token"  # not loopback: credentials must not go there
        cfg = _auth_config(reg, username=USER, password=PASSWORD)
        with pytest.raises(RegistryError) as ei:
            client_for(reg, cfg)(f"{reg.address}/p:1")
        assert ei.value.kind == "credentials"
        assert reg.count(path_part="/token") == 0

"""A small client for the registry HTTP API v2: resolve ``image:tag`` to its manifest digest.

Only the standard library is used (``urllib``). What it does:

- **References** follow docker/distribution's normalisation: no domain means ``docker.io``
  (API host ``registry-1.docker.io``), one-component Docker Hub names get ``library/``, a first
  component with a ``.`` or ``:`` or equal to ``localhost`` is a registry host (ports allowed),
  ``name:tag@sha256:…`` keeps the digest. ``index.docker.io`` is Docker Hub.
- **Resolution**: ``HEAD /v2/<name>/manifests/<ref>`` with ``Accept`` for OCI index, Docker
  manifest list, OCI and Docker image manifests; the digest is the ``Docker-Content-Digest``
  header, else the sha256 of the body of a ``GET``. A multi-arch index is pinned as the index (not
  one platform's manifest), so ``--platform`` still selects at build time; when a concrete
  platform is given the index (or the single manifest's config) is checked to contain it.
- **Authentication**: a ``401`` with ``WWW-Authenticate: Bearer realm=…,service=…,scope=…`` is
  answered with a token from the realm (anonymous, or with the stored credentials: Docker Hub and
  GHCR hand out anonymous pull tokens this way); ``Basic`` challenges get the stored credentials.
  Credentials come from ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``):
  ``auths.<host>.auth`` (base64 ``user:password``), ``username``/``password``, ``identitytoken``
  (an OAuth refresh token), ``credHelpers.<host>`` and ``credsStore``.
- **Credential helpers** are the one subprocess this module runs: ``docker-credential-<helper>
  get`` with the server URL on stdin (``https://index.docker.io/v1/`` for Docker Hub), exactly as
  the docker CLI does. It runs only when a challenge asks for credentials, with a timeout; its
  stderr is never shown (a "credentials not found" answer means anonymous).
- **Transport**: ``http`` for ``localhost``/``127.0.0.0/8``/``::1`` registries (and the hosts
  passed as ``insecure``), ``https`` otherwise; ``endpoints`` maps a registry host to a base URL
  (a mirror, or a test server). Every request has a timeout; ``Authorization`` is never forwarded
  across a redirect (``add_unredirected_header``), and is sent to a token realm only over https
  or to a loopback host.
- **Errors** are :class:`RegistryError` with a ``kind`` (``offline``, ``unauthorized``,
  ``not-found``, ``bad-response``, ``credentials``, ``platform``, ``reference``) and a one-line
  message built from the reference and host only: never a credential, token or response body.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import re
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"  # config.json key and credential-helper server URL

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)
MAX_MANIFEST = 4 * 1024 * 1024  # distribution's manifest size limit
MAX_BLOB_CONFIG = 4 * 1024 * 1024
USER_AGENT = "dfix-registry/1"

# --------------------------------------------------------------------------------------------
# Errors


from refactor.supply.reference import (  # noqa: E402,F401  (re-exported)
    _DIGEST_RE,
    _DOMAIN_RE,
    _HUB_ALIASES,
    _PATH_RE,
    _SHA256_RE,
    _TAG_RE,
    DOCKER_HUB,
    DOCKER_HUB_API,
    ImageRef,
    RegistryError,
    _shown,
    parse_reference,
)


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().lower().split("/")
        if len(parts) == 1 and parts[0]:
            return cls("linux", _norm_arch(parts[0])[0], _norm_arch(parts[0])[1])
        if len(parts) not in (2, 3) or not all(parts):
            raise RegistryError("platform", f"invalid platform {_shown(text)}")
        arch, variant = _norm_arch(parts[1], parts[2] if len(parts) == 3 else None)
        return cls(parts[0], arch, variant)

    def matches(self, os_: str | None, arch: str | None, variant: str | None) -> bool:
        if (os_ or "").lower() != self.os:
            return False
        a, v = _norm_arch((arch or "").lower(), (variant or "").lower() or None)
        if a != self.architecture:
            return False
        return self.variant is None or v is None or v == self.variant

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def _norm_arch(arch: str, variant: str | None = None) -> tuple[str, str | None]:
    """containerd's platforms.Normalize for the common cases."""
    arch = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386", "armhf": "arm", "armel": "arm"}.get(arch, arch)
    if arch == "arm64" and variant in ("v8", "8"):
        variant = None
    if arch == "arm" and variant is None:
        variant = "v7"
    if arch == "arm" and variant and not variant.startswith("v"):
        variant = "v" + variant
    if arch == "amd64" and variant == "v1":
        variant = None
    return arch, variant


# --------------------------------------------------------------------------------------------
# Credentials


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""  # or an identity token when ``identity_token`` is set
    identity_token: bool = False

    def __repr__(self) -> str:  # never show a value
        return "<Credentials>"

    __str__ = __repr__

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")


def _config_key_host(key: str) -> str:
    """``https://index.docker.io/v1/`` -> ``docker.io``; ``http://127.0.0.1:5000`` -> ``127.0.0.1:5000``."""
    k = key.strip()
    if "://" in k:
        k = k.split("://", 1)[1]
    k = k.split("/", 1)[0]
    return DOCKER_HUB if k.lower() in _HUB_ALIASES else k


class DockerConfig:
    """Credentials from a docker ``config.json``. Values are never put in a message or repr."""

    def __init__(self, data: dict | None = None, path: str | None = None, helper_timeout: float = 30.0):
        self.data = data or {}
        self.path = path
        self.helper_timeout = helper_timeout
        self._cache: dict[str, Credentials | None] = {}

    def __repr__(self) -> str:
        return f"<DockerConfig {self.path or '(in memory)'}>"

    @classmethod
    def load(cls, path: str | None = None) -> DockerConfig:
        if path is None:
            base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
            path = os.path.join(base, "config.json")
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return cls({}, path)
        except (OSError, ValueError) as exc:
            raise RegistryError("credentials", f"cannot read docker config {path}: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise RegistryError("credentials", f"docker config {path} is not a JSON object")
        return cls(data, path)

    def credentials(self, domain: str) -> Credentials | None:
        """Credentials for a normalised registry domain (``docker.io`` for Docker Hub), or None."""
        if domain not in self._cache:
            self._cache[domain] = self._lookup(domain)
        return self._cache[domain]

    def _lookup(self, domain: str) -> Credentials | None:
        server = DOCKER_HUB_AUTH_KEY if domain == DOCKER_HUB else domain
        helpers = self.data.get("credHelpers") or {}
        helper = None
        if isinstance(helpers, dict):
            for key, value in helpers.items():
                if _config_key_host(key) == domain:
                    helper = value
                    break
        if helper:
            return self._helper(str(helper), server)
        auths = self.data.get("auths") or {}
        if isinstance(auths, dict):
            for key, entry in auths.items():
                if _config_key_host(key) != domain or not isinstance(entry, dict):
                    continue
                creds = self._from_entry(entry)
                if creds is not None:
                    return creds
        store = self.data.get("credsStore")
        if store:
            return self._helper(str(store), server)
        return None

    def _from_entry(self, entry: dict) -> Credentials | None:
        user, pw = entry.get("username") or "", entry.get("password") or ""
        auth = entry.get("auth")
        if auth:
            try:
                decoded = base64.b64decode(str(auth), validate=False).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise RegistryError("credentials", "docker config: an auths entry has an invalid base64 'auth'") from None
            if ":" not in decoded:
                raise RegistryError("credentials", "docker config: an auths entry's 'auth' is not user:password")
            user, pw = decoded.split(":", 1)
        token = entry.get("identitytoken")
        if token:
            return Credentials(user, str(token), identity_token=True)
        if user or pw:
            return Credentials(str(user), str(pw))
        return None

    def _helper(self, helper: str, server: str) -> Credentials | None:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", helper):
            raise RegistryError("credentials", "docker config names an invalid credential helper")
        prog = f"docker-credential-{helper}"
        try:
            proc = subprocess.run([prog, "get"], input=server, capture_output=True, text=True, timeout=self.helper_timeout)
        except FileNotFoundError:
            raise RegistryError("credentials", f"credential helper {prog} is not installed") from None
        except subprocess.TimeoutExpired:
            raise RegistryError("credentials", f"credential helper {prog} timed out") from None
        except OSError as exc:
            raise RegistryError("credentials", f"credential helper {prog} could not run ({type(exc).__name__})") from None
        if proc.returncode != 0:
            if "credentials not found" in (proc.stdout + proc.stderr).lower():
                return None
            raise RegistryError("credentials", f"credential helper {prog} failed (exit {proc.returncode})")
        try:
            doc = json.loads(proc.stdout)
            user, secret = str(doc.get("Username") or ""), str(doc.get("Secret") or "")
        except (ValueError, AttributeError):
            raise RegistryError("credentials", f"credential helper {prog} returned invalid JSON") from None
        if not secret:
            return None
        if user == "<token>":
            return Credentials("", secret, identity_token=True)
        return Credentials(user, secret)


# --------------------------------------------------------------------------------------------
# HTTP


def is_loopback_host(host: str) -> bool:
    h = host
    if h.startswith("["):
        h = h[1:].split("]", 1)[0]
    elif h.count(":") == 1:
        h = h.split(":", 1)[0]
    if h.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


_CHALLENGE_RE = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="…",service="…",scope="…"`` -> ("bearer", {...})."""
    header = header.strip()
    scheme, _, rest = header.partition(" ")
    params = {}
    for m in _CHALLENGE_RE.finditer(rest):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects (blob storage) but never to another scheme than http/https."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@dataclass
class _Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class Resolution:
    """What a tag resolved to. ``digest`` is what to pin (the index digest for multi-arch)."""

    ref: ImageRef
    digest: str
    media_type: str
    platforms: tuple[str, ...] = ()  # for an index: the platforms it lists
    platform_digest: str | None = None  # the manifest selected for a requested platform

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @property
    def pinned(self) -> str:
        """``familiar:tag@digest``."""
        r = self.ref
        return ImageRef(r.domain, r.path, r.tag, self.digest).familiar


@dataclass
class RegistryClient:
    """Resolve tags to digests. Callable as a pin resolver: ``client(ref, platform)``."""

    config: DockerConfig | None = None
    timeout: float = 15.0
    insecure: tuple[str, ...] = ()  # extra hosts reached over plain http
    endpoints: dict[str, str] = field(default_factory=dict)  # registry domain -> base URL override
    check_platform: bool = True
    _tokens: dict = field(default_factory=dict, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)
    _opener: urllib.request.OpenerDirector | None = field(default=None, repr=False)
    _direct: urllib.request.OpenerDirector | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # environment proxies (HTTPS_PROXY, NO_PROXY) as the docker CLI uses them; never for loopback
        if self._opener is None:
            self._opener = urllib.request.build_opener(_Redirects(), urllib.request.ProxyHandler())
        if self._direct is None:
            self._direct = urllib.request.build_opener(_Redirects(), urllib.request.ProxyHandler({}))

    # -- public ------------------------------------------------------------------------------
    def __call__(self, reference: str, platform: str | None = None) -> Resolution:
        return self.resolve(reference, platform)

    def resolve(self, reference: str | ImageRef, platform: str | None = None) -> Resolution:
        ref = reference if isinstance(reference, ImageRef) else parse_reference(reference)
        key = (str(ref), platform)
        if key not in self._cache:
            self._cache[key] = self._resolve(ref, platform)
        return self._cache[key]

    def base_url(self, domain: str) -> str:
        override = self.endpoints.get(domain)
        if override:
            return override.rstrip("/")
        host = DOCKER_HUB_API if domain == DOCKER_HUB else domain
        scheme = "http" if is_loopback_host(host) or host in self.insecure else "https"
        return f"{scheme}://{host}"

    # -- resolution --------------------------------------------------------------------------
    def _resolve(self, ref: ImageRef, platform: str | None) -> Resolution:
        want = Platform.parse(platform) if platform else None
        shown = ref.familiar
        url = f"{self.base_url(ref.domain)}/v2/{ref.path}/manifests/{urllib.parse.quote(ref.reference, safe=':@')}"
        digest = None
        media = None
        body = None
        if want is None or not self.check_platform:
            try:
                resp = self._request("HEAD", url, ref, accept=ACCEPT)
            except RegistryError as exc:
                if exc.kind != "bad-response":  # some registries refuse HEAD: GET instead
                    raise
            else:
                digest = resp.headers.get("docker-content-digest")
                media = _media_type(resp.headers.get("content-type"))
        if digest is None or media is None or (want is not None and self.check_platform):
            resp = self._request("GET", url, ref, accept=ACCEPT, limit=MAX_MANIFEST)
            body = resp.body
            media = _media_type(resp.headers.get("content-type")) or _sniff_media(body)
            computed = "sha256:" + hashlib.sha256(body).hexdigest()
            header = resp.headers.get("docker-content-digest")
            if header and header.startswith("sha256:") and header != computed:
                raise RegistryError("bad-response", f"{shown}: manifest digest does not match the registry's Docker-Content-Digest")
            digest = header or computed
        if ref.digest and digest != ref.digest and ref.digest.startswith("sha256:"):
            raise RegistryError("bad-response", f"{shown}: registry returned a different manifest than the digest asked for")
        if media not in INDEX_TYPES + MANIFEST_TYPES:
            what = "a schema 1 manifest (unsupported)" if media and "v1" in media else f"an unsupported media type {_shown(media or '')}"
            raise RegistryError("bad-response", f"{shown}: registry returned {what}")
        if not _SHA256_RE.match(digest or ""):
            raise RegistryError("bad-response", f"{shown}: registry returned an invalid digest")
        platforms: tuple[str, ...] = ()
        selected = None
        if body is not None:
            doc = _json(body, shown)
            if media in INDEX_TYPES:
                platforms, selected = self._index_platforms(doc, want, shown)
            elif want is not None:
                self._check_manifest_platform(ref, doc, want, shown)
        return Resolution(ref, digest, media, platforms, selected)

    def _index_platforms(self, doc: dict, want: Platform | None, shown: str) -> tuple[tuple[str, ...], str | None]:
        manifests = doc.get("manifests")
        if not isinstance(manifests, list):
            raise RegistryError("bad-response", f"{shown}: index has no manifests list")
        seen, selected = [], None
        for m in manifests:
            p = (m or {}).get("platform") or {}
            if not isinstance(p, dict) or not p.get("os"):
                continue  # attestations and other artifacts
            if p.get("os") == "unknown":
                continue
            label = "/".join(x for x in (p.get("os"), p.get("architecture"), p.get("variant")) if x)
            seen.append(label)
            if want is not None and selected is None and want.matches(p.get("os"), p.get("architecture"), p.get("variant")):
                selected = m.get("digest")
        if want is not None and selected is None:
            listed = ", ".join(seen) or "none"
            raise RegistryError("platform", f"{shown}: no {want} image in the index (it has {listed})")
        return tuple(seen), selected

    def _check_manifest_platform(self, ref: ImageRef, doc: dict, want: Platform, shown: str) -> None:
        cfg = doc.get("config") or {}
        cdigest = cfg.get("digest") if isinstance(cfg, dict) else None
        if not cdigest or not _SHA256_RE.match(cdigest):
            return
        url = f"{self.base_url(ref.domain)}/v2/{ref.path}/blobs/{cdigest}"
        resp = self._request("GET", url, ref, accept="*/*", limit=MAX_BLOB_CONFIG)
        conf = _json(resp.body, shown)
        if not want.matches(conf.get("os"), conf.get("architecture"), conf.get("variant")):
            got = "/".join(x for x in (conf.get("os"), conf.get("architecture"), conf.get("variant")) if x)
            raise RegistryError("platform", f"{shown}: single-platform image is {got or 'unknown'}, not {want}")

    # -- HTTP with auth ----------------------------------------------------------------------
    def _request(self, method: str, url: str, ref: ImageRef, *, accept: str, limit: int = 0) -> _Response:
        scope = f"repository:{ref.path}:pull"
        tkey = (ref.domain, scope)
        auth = self._tokens.get(tkey)
        resp = self._send(method, url, ref, accept, auth, limit)
        if resp.status == 401:
            challenge = resp.headers.get("www-authenticate", "")
            auth = self._authorize(challenge, ref, scope)
            self._tokens[tkey] = auth
            resp = self._send(method, url, ref, accept, auth, limit)
        if resp.status in (200,):
            return resp
        shown = ref.familiar
        if resp.status in (401, 403):
            creds = self._creds(ref.domain)
            hint = "credentials from the docker config were refused" if creds else "no credentials in the docker config (docker login?)"
            raise RegistryError("unauthorized", f"{shown}: unauthorized at {ref.api_host} ({hint})")
        if resp.status == 404:
            raise RegistryError("not-found", f"{shown}: not found at {ref.api_host}")
        if resp.status == 429:
            raise RegistryError("bad-response", f"{shown}: rate limited by {ref.api_host} (HTTP 429)")
        raise RegistryError("bad-response", f"{shown}: {ref.api_host} answered HTTP {resp.status}")

    def _creds(self, domain: str) -> Credentials | None:
        return self.config.credentials(domain) if self.config is not None else None

    def _authorize(self, challenge: str, ref: ImageRef, scope: str) -> str | None:
        scheme, params = parse_challenge(challenge)
        shown = ref.familiar
        if scheme == "basic":
            creds = self._creds(ref.domain)
            if creds is None or creds.identity_token:
                raise RegistryError(
                    "unauthorized", f"{shown}: unauthorized at {ref.api_host}: it needs a login (no credentials in the docker config)"
                )
            return creds.basic()
        if scheme != "bearer" or not params.get("realm"):
            raise RegistryError("unauthorized", f"{shown}: unauthorized at {ref.api_host} (HTTP 401 without a usable challenge)")
        realm = params["realm"]
        rs = urllib.parse.urlsplit(realm)
        if rs.scheme not in ("http", "https") or not rs.netloc:
            raise RegistryError("bad-response", f"{shown}: {ref.api_host} sent an invalid token realm")
        creds = self._creds(ref.domain)
        if creds is not None and rs.scheme != "https" and not is_loopback_host(rs.netloc):
            raise RegistryError("credentials", f"{shown}: refusing to send credentials to a plain-http token realm ({rs.netloc})")
        query = {}
        if params.get("service"):
            query["service"] = params["service"]
        query["scope"] = params.get("scope") or scope
        token = None
        if creds is not None and creds.identity_token:
            form = dict(query, grant_type="refresh_token", refresh_token=creds.password, client_id="dfix")
            resp = self._raw(
                "POST",
                realm,
                None,
                data=urllib.parse.urlencode(form).encode(),
                ctype="application/x-www-form-urlencoded",
                limit=1 << 20,
                shown=shown,
                host=rs.netloc,
            )
            token = self._token_from(resp, shown, rs.netloc)
        else:
            sep = "&" if rs.query else "?"
            turl = realm + sep + urllib.parse.urlencode(query)
            resp = self._raw("GET", turl, creds.basic() if creds else None, limit=1 << 20, shown=shown, host=rs.netloc)
            token = self._token_from(resp, shown, rs.netloc)
        return f"Bearer {token}"

    def _token_from(self, resp: _Response, shown: str, host: str) -> str:
        if resp.status in (401, 403):
            raise RegistryError("unauthorized", f"{shown}: unauthorized: token service {host} refused the credentials")
        if resp.status != 200:
            raise RegistryError("bad-response", f"{shown}: token service {host} answered HTTP {resp.status}")
        doc = _json(resp.body, shown)
        token = doc.get("token") or doc.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError("bad-response", f"{shown}: token service {host} returned no token")
        return token

    def _send(self, method, url, ref: ImageRef, accept, auth, limit) -> _Response:
        return self._raw(method, url, auth, accept=accept, limit=limit, shown=ref.familiar, host=ref.api_host)

    def _raw(
        self,
        method: str,
        url: str,
        auth: str | None,
        *,
        accept: str = "application/json",
        data: bytes | None = None,
        ctype: str | None = None,
        limit: int = 0,
        shown: str,
        host: str,
    ) -> _Response:
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", accept)
        req.add_header("User-Agent", USER_AGENT)
        if ctype:
            req.add_header("Content-Type", ctype)
        if auth:
            req.add_unredirected_header("Authorization", auth)  # never forwarded on a redirect
        try:
            opener = self._direct if is_loopback_host(urllib.parse.urlsplit(url).netloc) else self._opener
            assert opener is not None  # both are built in __post_init__
            with opener.open(req, timeout=self.timeout) as r:
                body = _read(r, limit, shown) if method != "HEAD" else b""
                return _Response(r.status, {k.lower(): v for k, v in r.headers.items()}, body)
        except urllib.error.HTTPError as exc:
            try:
                exc.read(65536)
            except Exception:  # noqa: BLE001 - the body is discarded anyway
                pass
            finally:
                exc.close()
            return _Response(exc.code, {k.lower(): v for k, v in (exc.headers or {}).items()}, b"")
        except urllib.error.URLError as exc:
            raise RegistryError("offline", f"{shown}: cannot reach {host} ({_reason(exc.reason)})") from None
        except TimeoutError:
            raise RegistryError("offline", f"{shown}: {host} timed out after {self.timeout:g}s") from None
        except (ConnectionError, OSError) as exc:
            raise RegistryError("offline", f"{shown}: cannot reach {host} ({_reason(exc)})") from None
        except ValueError:
            raise RegistryError("bad-response", f"{shown}: invalid URL for {host}") from None
        except Exception as exc:  # noqa: BLE001 - http.client.HTTPException and friends
            raise RegistryError("bad-response", f"{shown}: bad HTTP response from {host} ({type(exc).__name__})") from None


def _read(r, limit: int, shown: str) -> bytes:
    if not limit:
        return r.read()
    data = r.read(limit + 1)
    if len(data) > limit:
        raise RegistryError("bad-response", f"{shown}: response larger than {limit} bytes")
    return data


def _reason(reason) -> str:
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(reason, socket.gaierror):
        return "name does not resolve"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    text = type(reason).__name__ if not isinstance(reason, str) else reason
    return text.splitlines()[0][:80] if text else "error"


def _media_type(ctype: str | None) -> str | None:
    if not ctype:
        return None
    return ctype.split(";", 1)[0].strip().lower() or None


def _sniff_media(body: bytes) -> str | None:
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    mt = doc.get("mediaType")
    if isinstance(mt, str):
        return mt
    if "manifests" in doc:
        return OCI_INDEX
    if "config" in doc and "layers" in doc:
        return OCI_MANIFEST
    return None


def _json(body: bytes, shown: str) -> dict:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RegistryError("bad-response", f"{shown}: registry returned invalid JSON") from None
    if not isinstance(doc, dict):
        raise RegistryError("bad-response", f"{shown}: registry returned unexpected JSON")
    return doc


def default_client(**kw) -> RegistryClient:
    """A client with the user's docker config (``$DOCKER_CONFIG`` or ``~/.docker``)."""
    return RegistryClient(config=DockerConfig.load(), **kw)

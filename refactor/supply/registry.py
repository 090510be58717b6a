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

Layout: this module is the public face (:class:`RegistryClient`, :func:`default_client`, and the
names below re-exported); the parts are ``registry_manifests`` (media types, platforms,
:class:`Resolution`), ``registry_credentials`` (:class:`DockerConfig`) and ``registry_http``
(transport helpers). References and :class:`RegistryError` are in :mod:`refactor.supply.reference`.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import field

from refactor.records import dataclass
from refactor.supply.reference import (  # noqa: F401  (re-exported)
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
from refactor.supply.registry_credentials import DOCKER_HUB_AUTH_KEY as DOCKER_HUB_AUTH_KEY
from refactor.supply.registry_credentials import Credentials, DockerConfig
from refactor.supply.registry_credentials import _config_key_host as _config_key_host
from refactor.supply.registry_http import USER_AGENT, _read, _reason, _Redirects, _Response, is_loopback_host, parse_challenge
from refactor.supply.registry_manifests import (
    ACCEPT,
    INDEX_TYPES,
    MANIFEST_TYPES,
    MAX_BLOB_CONFIG,
    MAX_MANIFEST,
    Platform,
    Resolution,
    _json,
    _media_type,
    _sniff_media,
)
from refactor.supply.registry_manifests import DOCKER_LIST as DOCKER_LIST
from refactor.supply.registry_manifests import DOCKER_MANIFEST as DOCKER_MANIFEST
from refactor.supply.registry_manifests import OCI_INDEX as OCI_INDEX
from refactor.supply.registry_manifests import OCI_MANIFEST as OCI_MANIFEST
from refactor.supply.registry_manifests import _norm_arch as _norm_arch


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


def default_client(**kw) -> RegistryClient:
    """A client with the user's docker config (``$DOCKER_CONFIG`` or ``~/.docker``)."""
    return RegistryClient(config=DockerConfig.load(), **kw)

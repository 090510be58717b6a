"""Registry targets: tags (paginated), manifests, config blobs and layers, through dfix's registry
client (``refactor.supply.registry.RegistryClient``: references, token/basic auth, docker config
credentials and helpers, loopback http), with what an audit adds on top:

- retries with exponential backoff on 429 and 5xx (and ``Retry-After``, capped), and on
  connection errors;
- every manifest and blob digest verified (a mismatch is an error for that image, never a finding);
- blobs streamed (layers are never read whole);
- ``tags/list`` followed through its ``Link: <…>; rel="next"`` pages.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from functools import partial

from refactor.audit.sources import (
    MAX_STATEMENT,
    OCI_INDEX_TYPES,
    ImageSpec,
    LayerRef,
    SourceError,
    _repo_of,
    attestation_map,
    short,
    statements,
)
from refactor.codecache import regex
from refactor.records import dataclass
from refactor.supply.reference import ImageRef, parse_reference
from refactor.supply.registry import ACCEPT, MAX_BLOB_CONFIG, MAX_MANIFEST, USER_AGENT, RegistryClient, RegistryError, is_loopback_host

RETRY_STATUS = (429, 500, 502, 503, 504)
_LINK = regex(r"<([^>]+)>\s*;\s*rel=\"?next\"?")
MAX_TAG_PAGES = 10000


@dataclass
class AuditRegistry(RegistryClient):
    retries: int = 4
    backoff: float = 0.5  # seconds, doubled each retry
    max_retry_after: float = 10.0

    # -- one request, auth + retries ---------------------------------------------------------
    def open_url(self, url: str, ref: ImageRef, accept: str):
        """The open 200 response (caller closes it), else a RegistryError with a one-line message."""
        scope = f"repository:{ref.path}:pull"
        tkey = (ref.domain, scope)
        reauthed = False
        attempt = 0
        shown = ref.familiar
        while True:
            req = urllib.request.Request(url, method="GET")
            req.add_header("Accept", accept)
            req.add_header("User-Agent", USER_AGENT)
            auth = self._tokens.get(tkey)
            if auth:
                req.add_unredirected_header("Authorization", auth)
            opener = self._direct if is_loopback_host(urllib.parse.urlsplit(url).netloc) else self._opener
            assert opener is not None
            status, headers = 0, {}
            try:
                return opener.open(req, timeout=self.timeout)
            except urllib.error.HTTPError as exc:
                status, headers = exc.code, {k.lower(): v for k, v in (exc.headers or {}).items()}
                try:
                    exc.read(65536)
                except Exception:  # noqa: BLE001 - discarded
                    pass
                finally:
                    exc.close()
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                if attempt < self.retries:
                    time.sleep(self.backoff * (2**attempt))
                    attempt += 1
                    continue
                reason = getattr(exc, "reason", exc)
                raise RegistryError("offline", f"{shown}: cannot reach {ref.api_host} ({type(reason).__name__})") from None
            except Exception as exc:  # noqa: BLE001 - http.client errors
                raise RegistryError("bad-response", f"{shown}: bad HTTP response from {ref.api_host} ({type(exc).__name__})") from None
            if status == 401 and not reauthed:
                self._tokens[tkey] = self._authorize(headers.get("www-authenticate", ""), ref, scope)
                reauthed = True
                continue
            if status in RETRY_STATUS and attempt < self.retries:
                delay = self.backoff * (2**attempt)
                ra = headers.get("retry-after", "")
                if ra.strip().isdigit():
                    delay = max(delay, min(float(ra), self.max_retry_after))
                time.sleep(delay)
                attempt += 1
                continue
            if status in (401, 403):
                creds = self._creds(ref.domain)
                hint = "credentials from the docker config were refused" if creds else "no credentials in the docker config (docker login?)"
                raise RegistryError("unauthorized", f"{shown}: unauthorized at {ref.api_host} ({hint})")
            if status == 404:
                raise RegistryError("not-found", f"{shown}: not found at {ref.api_host}")
            if status == 429:
                raise RegistryError("bad-response", f"{shown}: rate limited by {ref.api_host} (HTTP 429, {attempt} retries)")
            raise RegistryError(
                "bad-response", f"{shown}: {ref.api_host} answered HTTP {status}" + (f" ({attempt} retries)" if attempt else "")
            )

    def get(self, url: str, ref: ImageRef, accept: str, limit: int) -> tuple[bytes, dict[str, str]]:
        with self.open_url(url, ref, accept) as r:
            data = r.read(limit + 1)
            headers = {k.lower(): v for k, v in r.headers.items()}
        if len(data) > limit:
            raise RegistryError("bad-response", f"{ref.familiar}: response larger than {limit} bytes")
        return data, headers

    # -- API -----------------------------------------------------------------------------------
    def tags(self, ref: ImageRef) -> list[str]:
        base = self.base_url(ref.domain)
        url = f"{base}/v2/{ref.path}/tags/list?n=1000"
        out: list[str] = []
        for _ in range(MAX_TAG_PAGES):
            body, headers = self.get(url, ref, "application/json", MAX_MANIFEST)
            try:
                doc = json.loads(body)
                tags = doc.get("tags") or []
                if not isinstance(tags, list):
                    raise ValueError
            except (ValueError, AttributeError):
                raise RegistryError("bad-response", f"{ref.familiar}: tags list is not valid JSON") from None
            out += [t for t in tags if isinstance(t, str)]
            m = _LINK.search(headers.get("link", ""))
            if not m:
                break
            nxt = m.group(1)
            url = urllib.parse.urljoin(base + "/", nxt)
            if urllib.parse.urlsplit(url).netloc != urllib.parse.urlsplit(base).netloc:
                raise RegistryError("bad-response", f"{ref.familiar}: tags list pagination points to another host")
        return list(dict.fromkeys(out))

    def manifest(self, ref: ImageRef, reference: str) -> tuple[str, dict]:
        url = f"{self.base_url(ref.domain)}/v2/{ref.path}/manifests/{urllib.parse.quote(reference, safe=':@')}"
        body, headers = self.get(url, ref, ACCEPT, MAX_MANIFEST)
        computed = "sha256:" + hashlib.sha256(body).hexdigest()
        shown = f"{ref.name}@{short(reference)}" if reference.startswith("sha256:") else f"{ref.name}:{reference}"
        if reference.startswith("sha256:") and computed != reference:
            raise RegistryError("bad-response", f"{shown}: manifest digest mismatch (got {short(computed)})")
        header = headers.get("docker-content-digest")
        if header and header.startswith("sha256:") and header != computed:
            raise RegistryError(
                "bad-response", f"{shown}: manifest digest mismatch (Docker-Content-Digest {short(header)}, body {short(computed)})"
            )
        try:
            doc = json.loads(body)
            if not isinstance(doc, dict):
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            raise RegistryError("bad-response", f"{shown}: manifest is not valid JSON") from None
        doc.setdefault("mediaType", (headers.get("content-type") or "").split(";", 1)[0].strip())
        return computed, doc

    def blob(self, ref: ImageRef, digest: str, limit: int = MAX_BLOB_CONFIG) -> bytes:
        url = f"{self.base_url(ref.domain)}/v2/{ref.path}/blobs/{digest}"
        body, _ = self.get(url, ref, "*/*", limit)
        got = "sha256:" + hashlib.sha256(body).hexdigest()
        if got != digest:
            raise RegistryError("bad-response", f"{ref.name}: blob {short(digest)} digest mismatch (got {short(got)})")
        return body

    @contextlib.contextmanager
    def blob_stream(self, ref: ImageRef, digest: str):
        url = f"{self.base_url(ref.domain)}/v2/{ref.path}/blobs/{digest}"
        r = self.open_url(url, ref, "*/*")
        try:
            yield r
        finally:
            r.close()

    def _attestation(self, ref: ImageRef, digest: str) -> list[bytes]:
        _, doc = self.manifest(ref, digest)
        return statements(doc, lambda d: self.blob(ref, d, MAX_STATEMENT))

    # -- images --------------------------------------------------------------------------------
    def images(self, target: str, ref: ImageRef, reference: str, names: list[str]) -> list[ImageSpec]:
        """The image(s) one tag or digest names: one per platform of an index (attestations skipped)."""
        digest, doc = self.manifest(ref, reference)
        media = doc.get("mediaType") or ""
        if media in OCI_INDEX_TYPES or "manifests" in doc:
            atts = attestation_map(doc)
            out: list[ImageSpec] = []
            for child in doc.get("manifests") or []:
                if not isinstance(child, dict):
                    continue
                plat = child.get("platform") or {}
                if isinstance(plat, dict) and plat.get("os") == "unknown":
                    continue
                cd = child.get("digest")
                if not isinstance(cd, str) or not cd.startswith("sha256:"):
                    raise RegistryError("bad-response", f"{ref.name}: index lists an invalid digest")
                label = "/".join(str(plat.get(k)) for k in ("os", "architecture", "variant") if isinstance(plat, dict) and plat.get(k))
                specs = self.images(target, ref, cd, [f"{n} ({label})" if label else n for n in names])
                for spec in specs:
                    for ad in atts.get(spec.digest, []):
                        spec.attestations.append(partial(self._attestation, ref, ad))
                out += specs
            return out
        cfg = doc.get("config") or {}
        cdigest = cfg.get("digest") if isinstance(cfg, dict) else None
        if not isinstance(cdigest, str) or not cdigest.startswith("sha256:"):
            raise RegistryError("bad-response", f"{ref.name}@{short(digest)}: manifest has no config digest")
        layers = []
        for layer in doc.get("layers") or []:
            ld = (layer or {}).get("digest") if isinstance(layer, dict) else None
            if isinstance(ld, str) and ld.startswith("sha256:"):
                layers.append(LayerRef(short(ld), ld, partial(self.blob_stream, ref, ld)))
        return [
            ImageSpec(
                target=target,
                image=names[0],
                digest=digest,
                repository=_repo_of(ImageRef(ref.domain, ref.path).familiar),
                names=names,
                read_config=lambda: self.blob(ref, cdigest),
                layers=layers,
                config_digest=cdigest,
            )
        ]


def is_registry_target(text: str) -> bool:
    first, sep, _ = text.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def parse_target(text: str) -> tuple[ImageRef, bool]:
    """(reference, every_tag): ``registry/repo`` alone means every tag."""
    try:
        ref = parse_reference(text)
    except RegistryError as exc:
        raise SourceError(str(exc)) from None
    return ref, ref.tag is None and ref.digest is None


__all__ = ["AuditRegistry", "RegistryError", "SourceError", "is_registry_target", "parse_target"]

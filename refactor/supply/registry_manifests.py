"""What the registry answers, for the client in :mod:`refactor.supply.registry`: the manifest media
types it accepts and their size limits, a :class:`Platform` (with containerd's normalisation), the
:class:`Resolution` a tag resolves to, and the helpers that read a media type and a JSON body.
"""

from __future__ import annotations

import json

from refactor.records import dataclass
from refactor.supply.reference import ImageRef, RegistryError, _shown

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)
MAX_MANIFEST = 4 * 1024 * 1024  # distribution's manifest size limit
MAX_BLOB_CONFIG = 4 * 1024 * 1024


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

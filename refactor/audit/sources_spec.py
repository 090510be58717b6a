"""What every image source yields and shares: :class:`ImageSpec` (a display name, the digest findings
are keyed by, the config reader, the layers and attestations) and :class:`LayerRef`,
:class:`SourceError` (one target that cannot be audited), and the helpers every source uses: short
digests, :func:`check_digest` (a blob against its sha256 digest), :func:`parse_json` and the
repository name of an image name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import field

from refactor.codecache import regex
from refactor.records import dataclass

_SHA = regex(r"^sha256:[0-9a-f]{64}$")


class SourceError(Exception):
    """One target that cannot be audited: the message is one line, without any value."""


@dataclass
class LayerRef:
    label: str  # short form shown in locations: sha256:ab12cd34ef56
    digest: str | None  # expected sha256 of the blob as stored, when known
    open: Callable[[], contextlib.AbstractContextManager]  # yields a reader


@dataclass
class ImageSpec:
    target: str
    image: str
    digest: str
    repository: str
    names: list[str]
    read_config: Callable[[], bytes]
    layers: list[LayerRef] = field(default_factory=list)
    config_digest: str | None = None
    # BuildKit attestations of this image: each callable reads one attestation manifest and
    # returns its in-toto statements (provenance records build args: mode=max always, min too)
    attestations: list[Callable[[], list[bytes]]] = field(default_factory=list)


def short(digest: str) -> str:
    return digest[:19] if digest.startswith("sha256:") else digest


def check_digest(data: bytes, digest: str | None, what: str) -> bytes:
    if digest and digest.startswith("sha256:"):
        got = "sha256:" + hashlib.sha256(data).hexdigest()
        if got != digest:
            raise SourceError(f"{what}: digest mismatch (expected {short(digest)}, got {short(got)})")
    return data


def parse_json(data: bytes, what: str) -> dict:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise SourceError(f"{what}: invalid JSON") from None
    if not isinstance(doc, dict):
        raise SourceError(f"{what}: unexpected JSON (not an object)")
    return doc


def _repo_of(name: str) -> str:
    """``127.0.0.1:5000/app:1`` -> ``127.0.0.1:5000/app``; ``app@sha256:…`` -> ``app``."""
    n = name.split("@", 1)[0].split(" ", 1)[0]
    slash, colon = n.rfind("/"), n.rfind(":")
    n = n[:colon] if colon > slash else n
    try:  # one spelling per repository: `app` and `docker.io/library/app` are one
        from refactor.supply.reference import ImageRef, parse_reference

        r = parse_reference(n)
        return ImageRef(r.domain, r.path).familiar
    except Exception:  # noqa: BLE001 - not a reference (a file name): keep it as it is
        return n


def familiar(name: str) -> str:
    """One spelling per image name: ``docker.io/library/app:1`` (a containerd annotation) and
    ``app:1`` (``docker save``'s ``RepoTags``) are both ``app:1``; a name that is no reference stays."""
    try:
        from refactor.supply.reference import ImageRef, parse_reference

        r = parse_reference(name)
        return ImageRef(r.domain, r.path, r.tag, r.digest).familiar
    except Exception:  # noqa: BLE001 - not a reference (a file name): keep it as it is
        return name

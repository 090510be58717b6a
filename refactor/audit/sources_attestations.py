"""BuildKit attestations in an image index: which attestation manifests describe which image
(:func:`attestation_map`) and the in-toto statements an attestation manifest lists
(:func:`statements`, each at most ``MAX_STATEMENT`` bytes). Shared by layouts and registries.
"""

from __future__ import annotations

from collections.abc import Callable

from refactor.audit.sources_spec import _SHA

INTOTO = "application/vnd.in-toto+json"


MAX_STATEMENT = 8 << 20


def attestation_map(index: dict) -> dict[str, list[str]]:
    """image manifest digest -> its attestation manifest digests (BuildKit's index annotations)."""
    out: dict[str, list[str]] = {}
    for child in index.get("manifests") or []:
        if not isinstance(child, dict):
            continue
        ann = child.get("annotations") or {}
        if not isinstance(ann, dict) or ann.get("vnd.docker.reference.type") != "attestation-manifest":
            continue
        ref, digest = ann.get("vnd.docker.reference.digest"), child.get("digest")
        if isinstance(ref, str) and isinstance(digest, str) and _SHA.match(digest):
            out.setdefault(ref, []).append(digest)
    return out


def statements(manifest: dict, read_blob: Callable[[str], bytes]) -> list[bytes]:
    """The in-toto statement blobs an attestation manifest lists."""
    out = []
    for layer in manifest.get("layers") or []:
        if not isinstance(layer, dict) or not isinstance(layer.get("digest"), str):
            continue
        if str(layer.get("mediaType", "")).startswith(INTOTO) and int(layer.get("size") or 0) <= MAX_STATEMENT:
            out.append(read_blob(layer["digest"]))
    return out

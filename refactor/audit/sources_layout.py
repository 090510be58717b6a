"""Images in an OCI image layout (a directory, or inside a ``docker save`` tarball) and in a legacy
``docker save`` archive: :func:`oci_images` walks the index (nested indexes, platforms,
attestations), :func:`docker_archive_images` reads ``manifest.json``; :func:`open_archive` and
:func:`open_layout` open a target. Every manifest and config blob is checked against its digest.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from functools import partial

from refactor.audit.sources_attestations import MAX_STATEMENT, attestation_map, statements
from refactor.audit.sources_spec import _SHA, ImageSpec, LayerRef, SourceError, _repo_of, check_digest, familiar, parse_json, short
from refactor.audit.sources_stores import DirStore, TarStore, _Store

OCI_INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


def _store_attestation(store: _Store, target: str, digest: str) -> list[bytes]:
    what = f"{target}: attestation {short(digest)}"
    doc = parse_json(check_digest(store.read(_blob_path(digest)), digest, what), what)
    return statements(doc, lambda d: check_digest(store.read(_blob_path(d), MAX_STATEMENT), d, f"{what} statement"))


def _read_verified(store: _Store, path: str, digest: str | None, what: str) -> bytes:
    return check_digest(store.read(path), digest, what)


def _blob_path(digest: str) -> str:
    if not _SHA.match(digest or ""):
        raise SourceError(f"invalid digest {str(digest)[:80]!r}")
    return "blobs/sha256/" + digest.split(":", 1)[1]


def oci_images(store: _Store, target: str, tags_by_config: dict[str, list[str]] | None = None) -> list[ImageSpec]:
    index = parse_json(store.read("index.json"), f"{target}: index.json")
    out: list[ImageSpec] = []
    seen: set[str] = set()

    def walk(desc: dict, names: list[str], depth: int) -> None:
        if depth > 4 or not isinstance(desc, dict):
            return
        digest = desc.get("digest")
        media = desc.get("mediaType") or ""
        path = _blob_path(str(digest))
        if not store.exists(path):
            return  # a platform of an index that was not saved
        data = check_digest(store.read(path), digest, f"{target}: manifest {short(str(digest))}")
        doc = parse_json(data, f"{target}: manifest {short(str(digest))}")
        media = doc.get("mediaType") or media
        if media in OCI_INDEX_TYPES or "manifests" in doc:
            atts = attestation_map(doc)
            for child in doc.get("manifests") or []:
                plat = (child or {}).get("platform") or {}
                if isinstance(plat, dict) and plat.get("os") == "unknown":
                    continue  # attestation manifest: read with the image it describes
                before = len(out)
                walk(child, names, depth + 1)
                for spec in out[before:]:
                    for ad in atts.get(spec.digest, []):
                        if store.exists(_blob_path(ad)):
                            spec.attestations.append(partial(_store_attestation, store, target, ad))
            return
        if str(digest) in seen:
            return
        seen.add(str(digest))
        cfg = doc.get("config") or {}
        cdigest = cfg.get("digest") if isinstance(cfg, dict) else None
        if not isinstance(cdigest, str):
            raise SourceError(f"{target}: manifest {short(str(digest))} has no config")
        cpath = _blob_path(cdigest)
        more = (tags_by_config or {}).get(cdigest, [])
        all_names = list(dict.fromkeys(familiar(n) for n in names + more)) or [
            f"{os.path.basename(target.rstrip('/'))}@{short(str(digest))}"
        ]
        layers = []
        for layer in doc.get("layers") or []:
            ld = (layer or {}).get("digest")
            lpath = _blob_path(str(ld))
            layers.append(LayerRef(short(str(ld)), str(ld), partial(store.open, lpath)))
        out.append(
            ImageSpec(
                target=target,
                image=all_names[0],
                digest=str(digest),
                repository=_repo_of(all_names[0]),
                names=all_names,
                read_config=partial(_read_verified, store, cpath, cdigest, f"{target}: config {short(cdigest)}"),
                layers=layers,
                config_digest=cdigest,
            )
        )

    for desc in index.get("manifests") or []:
        ann = (desc or {}).get("annotations") or {}
        names: list[str] = []
        for key in ("io.containerd.image.name", "org.opencontainers.image.ref.name"):
            v = ann.get(key) if isinstance(ann, dict) else None
            if isinstance(v, str) and v and (key == "io.containerd.image.name" or not names):
                names.append(
                    v if key == "io.containerd.image.name" or "/" in v or ":" in v else f"{os.path.basename(target.rstrip('/'))}:{v}"
                )
        walk(desc, names[:1], 0)
    return out


def docker_archive_images(store: TarStore, target: str) -> list[ImageSpec]:
    tags: dict[str, list[str]] = {}
    legacy = None
    if store.exists("manifest.json"):
        data = store.read("manifest.json")
        try:
            legacy = json.loads(data)
        except ValueError:
            raise SourceError(f"{target}: manifest.json is invalid JSON") from None
        if not isinstance(legacy, list):
            raise SourceError(f"{target}: manifest.json is not a list")
        for entry in legacy:
            if isinstance(entry, dict):
                cfg = str(entry.get("Config") or "")
                m = re.search(r"([0-9a-f]{64})(?:\.json)?$", cfg)
                if m:
                    tags["sha256:" + m.group(1)] = [t for t in entry.get("RepoTags") or [] if isinstance(t, str)]
    if store.exists("index.json") and store.exists("oci-layout"):
        return oci_images(store, target, tags)
    if legacy is None:
        raise SourceError(f"{target}: neither manifest.json nor index.json: not a docker save archive or OCI layout")
    out = []
    for entry in legacy:
        if not isinstance(entry, dict):
            continue
        cfg = str(entry.get("Config") or "")
        m = re.search(r"([0-9a-f]{64})(?:\.json)?$", cfg)
        cdigest = "sha256:" + m.group(1) if m else None
        names = [t for t in entry.get("RepoTags") or [] if isinstance(t, str)] or [f"{os.path.basename(target)}@{short(cdigest or cfg)}"]
        layers = []
        for lp in entry.get("Layers") or []:
            lm = re.search(r"([0-9a-f]{64})", str(lp))
            ld = "sha256:" + lm.group(1) if lm and str(lp).startswith("blobs/") else None
            layers.append(LayerRef(short(ld) if ld else str(lp).split("/")[0][:12], ld, partial(store.open, str(lp))))
        out.append(
            ImageSpec(
                target=target,
                image=names[0],
                digest=cdigest or cfg,
                repository=_repo_of(names[0]),
                names=names,
                read_config=partial(_read_verified, store, cfg, cdigest, f"{target}: config"),
                layers=layers,
                config_digest=cdigest,
            )
        )
    return out


@contextlib.contextmanager
def open_archive(path: str) -> Iterator[list[ImageSpec]]:
    store = TarStore(path)
    try:
        yield docker_archive_images(store, path)
    finally:
        store.close()


@contextlib.contextmanager
def open_layout(path: str) -> Iterator[list[ImageSpec]]:
    store = DirStore(path)
    if not store.exists("index.json"):
        raise SourceError(f"{path}: no index.json: not an OCI image layout")
    yield oci_images(store, path)

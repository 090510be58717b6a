"""Where images come from: ``docker save`` tarballs, OCI image layouts, the local engine.

Every target kind yields :class:`ImageSpec` objects: a display name, the digest a finding is keyed
by (the manifest digest when the source has one, else the image id = config digest), a way to read
the config blob (verified against its digest) and the layers (opened as streams, digest checked
while they are read). Registry targets are in ``registry.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

MAX_JSON = 16 << 20
_SHA = re.compile(r"^sha256:[0-9a-f]{64}$")
OCI_INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


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


def verify(data: bytes, digest: str | None, what: str) -> bytes:
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


# -- blob stores ----------------------------------------------------------------------------


class _Store:
    """Blobs by path inside a tar file or a directory."""

    def __init__(self, target: str):
        self.target = target

    def read(self, path: str, limit: int = MAX_JSON) -> bytes:
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def open(self, path: str) -> contextlib.AbstractContextManager:
        raise NotImplementedError


class TarStore(_Store):
    def __init__(self, path: str):
        super().__init__(path)
        try:
            self.tf = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by close()
            self.members = {m.name.lstrip("./").lstrip("/"): m for m in self.tf.getmembers()}
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise SourceError(f"{path}: not a readable tar archive (truncated or corrupt: {type(exc).__name__})") from None

    def exists(self, path: str) -> bool:
        return path.lstrip("./") in self.members

    def _member(self, path: str):
        m = self.members.get(path.lstrip("./"))
        if m is None:
            raise SourceError(f"{self.target}: {path} is missing from the archive")
        return m

    def read(self, path: str, limit: int = MAX_JSON) -> bytes:
        m = self._member(path)
        if m.size > limit:
            raise SourceError(f"{self.target}: {path} is larger than {limit} bytes")
        try:
            f = self.tf.extractfile(m)
            data = f.read() if f else b""
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise SourceError(f"{self.target}: cannot read {path} ({type(exc).__name__}: truncated?)") from None
        if len(data) != m.size:
            raise SourceError(f"{self.target}: {path} is truncated")
        return data

    @contextlib.contextmanager
    def open(self, path: str):
        m = self._member(path)
        f = self.tf.extractfile(m)
        if f is None:
            raise SourceError(f"{self.target}: {path} is not a file")
        try:
            yield f
        finally:
            f.close()

    def close(self) -> None:
        self.tf.close()


class DirStore(_Store):
    def _full(self, path: str) -> str:
        full = os.path.normpath(os.path.join(self.target, path))
        root = os.path.normpath(self.target)
        if not (full == root or full.startswith(root + os.sep)):
            raise SourceError(f"{self.target}: blob path {path!r} leaves the layout")
        return full

    def exists(self, path: str) -> bool:
        return os.path.isfile(self._full(path))

    def read(self, path: str, limit: int = MAX_JSON) -> bytes:
        try:
            with open(self._full(path), "rb") as f:
                data = f.read(limit + 1)
        except OSError as exc:
            raise SourceError(f"{self.target}: cannot read {path} ({exc.strerror or type(exc).__name__})") from None
        if len(data) > limit:
            raise SourceError(f"{self.target}: {path} is larger than {limit} bytes")
        return data

    @contextlib.contextmanager
    def open(self, path: str):
        try:
            f = open(self._full(path), "rb")  # noqa: SIM115 - the with below closes it
        except OSError as exc:
            raise SourceError(f"{self.target}: cannot open {path} ({exc.strerror or type(exc).__name__})") from None
        with f:
            yield f

    def close(self) -> None:
        pass


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


def _store_attestation(store: _Store, target: str, digest: str) -> list[bytes]:
    what = f"{target}: attestation {short(digest)}"
    doc = parse_json(verify(store.read(_blob_path(digest)), digest, what), what)
    return statements(doc, lambda d: verify(store.read(_blob_path(d), MAX_STATEMENT), d, f"{what} statement"))


def _read_verified(store: _Store, path: str, digest: str | None, what: str) -> bytes:
    return verify(store.read(path), digest, what)


def _blob_path(digest: str) -> str:
    if not _SHA.match(digest or ""):
        raise SourceError(f"invalid digest {str(digest)[:80]!r}")
    return "blobs/sha256/" + digest.split(":", 1)[1]


# -- OCI layout (directory or inside a docker save tarball) -------------------------------------


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
        data = verify(store.read(path), digest, f"{target}: manifest {short(str(digest))}")
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
        all_names = list(dict.fromkeys(names + more)) or [f"{os.path.basename(target.rstrip('/'))}@{short(str(digest))}"]
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


# -- the local engine -------------------------------------------------------------------------


def _docker() -> str:
    exe = shutil.which("docker")
    if not exe:
        raise SourceError("docker CLI not found (needed for local images)")
    return exe


def _run(args: list[str], what: str, timeout: int = 300) -> str:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SourceError(f"{what}: docker timed out") from None
    except OSError as exc:
        raise SourceError(f"{what}: docker could not run ({type(exc).__name__})") from None
    if proc.returncode != 0:
        line = (proc.stderr.strip().splitlines() or ["error"])[-1][:200]
        raise SourceError(f"{what}: {line}")
    return proc.stdout


def local_config_image(name: str) -> ImageSpec:
    """Config-only view of a local image: ``docker image inspect`` (Env, Labels, OnBuild, Shell) and
    ``docker history --no-trunc`` (created_by, oldest first as in the config blob)."""
    docker = _docker()
    inspect = _run([docker, "image", "inspect", name], name)
    try:
        doc = json.loads(inspect)[0]
    except (ValueError, IndexError, KeyError, TypeError):
        raise SourceError(f"{name}: docker image inspect returned unexpected output") from None
    hist_lines = _run([docker, "history", "--no-trunc", "--format", "{{json .}}", name], name)
    history = []
    for line in reversed([ln for ln in hist_lines.splitlines() if ln.strip()]):
        try:
            h = json.loads(line)
        except ValueError:
            continue
        history.append({"created_by": h.get("CreatedBy") or "", "comment": h.get("Comment") or ""})
    config_doc = {"config": doc.get("Config") or {}, "history": history}
    data = json.dumps(config_doc).encode()
    image_id = str(doc.get("Id") or "")
    repo_digests = [d for d in doc.get("RepoDigests") or [] if isinstance(d, str)]
    names = [t for t in doc.get("RepoTags") or [] if isinstance(t, str)] or [name]
    return ImageSpec(
        target=name,
        image=name if name in names else names[0],
        digest=image_id,
        repository=_repo_of(names[0]),
        names=names + [d for d in repo_digests if d not in names],
        read_config=lambda: data,
        config_digest=image_id,
    )


@contextlib.contextmanager
def saved_local_image(name: str) -> Iterator[list[ImageSpec]]:
    """``docker save`` into a private temporary file (the engine streams it; nothing is held in
    memory), then read like any archive. The file is removed afterwards."""
    docker = _docker()
    tmp = tempfile.mkdtemp(prefix="dfix-audit-")
    path = os.path.join(tmp, "image.tar")
    try:
        _run([docker, "save", "-o", path, name], name, timeout=3600)
        with open_archive(path) as images:
            for im in images:
                im.target = name
            yield images
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

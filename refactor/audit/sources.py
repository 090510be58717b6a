"""Where images come from: ``docker save`` tarballs, OCI image layouts, the local engine.

Every target kind yields :class:`ImageSpec` objects: a display name, the digest a finding is keyed
by (the manifest digest when the source has one, else the image id = config digest), a way to read
the config blob (verified against its digest) and the layers (opened as streams, digest checked
while they are read). Registry targets are in ``registry.py``.

The parts: :mod:`~refactor.audit.sources_spec` (the image records and shared helpers),
:mod:`~refactor.audit.sources_stores` (tar and directory blob stores),
:mod:`~refactor.audit.sources_layout` (OCI layouts and ``docker save`` archives) and
:mod:`~refactor.audit.sources_attestations` (BuildKit attestations); this module keeps the local
engine (``docker image inspect``/``history``, ``docker save``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

from refactor.audit.sources_attestations import MAX_STATEMENT as MAX_STATEMENT
from refactor.audit.sources_attestations import attestation_map as attestation_map
from refactor.audit.sources_attestations import statements as statements
from refactor.audit.sources_layout import OCI_INDEX_TYPES as OCI_INDEX_TYPES
from refactor.audit.sources_layout import open_archive
from refactor.audit.sources_layout import open_layout as open_layout
from refactor.audit.sources_spec import ImageSpec, SourceError, _repo_of
from refactor.audit.sources_spec import LayerRef as LayerRef
from refactor.audit.sources_spec import parse_json as parse_json
from refactor.audit.sources_spec import short as short


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

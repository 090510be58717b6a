"""A tiny local base image for real builds: busybox, the stand-in tools, and every tag tests use.

There is no registry, so the rootfs is assembled here with :mod:`tarfile` (busybox from Debian's
``busybox-static``, applet symlinks, /etc/passwd, the stand-ins from ``standins/``) and imported
with ``docker import``. The image is tagged under each base name that test Dockerfiles use; a
locally present tag is used without a pull.

The artifact server's address is baked into ``/etc/dfix-artifact-server``; the image carries a
label with the hash of its content and is reused while that hash matches.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

IMAGE = "dfix-test-base:1"
HASH_LABEL = "dfix.test-base.hash"
BUSYBOX = "/bin/busybox"
STANDINS = Path(__file__).resolve().parent / "standins"

# Every base name a test Dockerfile may use. Tests may append to this list before the session's
# base image is built, or call tag_bases() for names they need later.
BASE_NAMES: list[str] = [
    "ubuntu:22.04", "ubuntu:24.04", "ubuntu", "debian:bookworm", "debian:bookworm-slim", "debian:12",
    "node:20", "node:20-alpine", "node:20-slim", "node:18", "node:18-alpine", "node:22",
    "python:3.12", "python:3.12-slim", "python:3.11", "python:3.11-slim",
    "golang:1.22", "golang:1.22-alpine", "alpine:3.19", "alpine:3.20", "alpine",
    "maven:3.9", "maven:3.9-eclipse-temurin-17", "gradle:8", "gradle:8-jdk17", "openjdk:17", "eclipse-temurin:17",
    "busybox", "busybox:latest", "ruby:3.3",
]

# Stand-ins with real behaviour (see standins/*): name in the image -> script
TOOLS = {
    "npm": "npm", "yarn": "npm", "pnpm": "npm",
    "pip": "pip", "pip3": "pip",
    "curl": "curl", "git": "git",
    "python": "python", "python3": "python",
    "bash": "bash",
    "go": "go", "mvn": "mvn", "gradle": "gradle", "java": "java", "node": "node",
}
# Tools that are accepted and ignored, so that common Dockerfiles build. They do not authenticate:
# a test that needs one of them to use a credential must give it a real stand-in.
NOOP_TOOLS: list[str] = [
    "apt-get", "apt", "apk", "yum", "dnf", "microdnf", "update-ca-certificates",
    "adduser", "addgroup", "useradd", "groupadd", "usermod",
    "npx", "corepack", "bundle", "gem", "cargo", "make",
]

# The image config (GOPATH as in the golang images, so `go mod download` fills /go/pkg/mod)
IMAGE_CONFIG = ("ENV PATH=/usr/local/bin:/bin", "ENV GOPATH=/go")

_MTIME = 1_700_000_000
_PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "node:x:1000:1000:node:/home/node:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
)
_GROUP = "root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n"


class BaseImageError(RuntimeError):
    pass


def ensure_busybox() -> str:
    """Path of a static busybox; installs Debian's busybox-static when it is missing."""
    if _is_static_busybox(BUSYBOX):
        return BUSYBOX
    try:
        listed = subprocess.run(["dpkg", "-L", "busybox-static"], capture_output=True, text=True)
        if listed.returncode != 0:
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, env=env, timeout=300)
            subprocess.run(["apt-get", "install", "-y", "-qq", "busybox-static"], check=True,
                           capture_output=True, env=env, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BaseImageError(f"busybox-static is not installed and could not be installed: {exc}") from exc
    if not _is_static_busybox(BUSYBOX):
        raise BaseImageError(f"{BUSYBOX} is missing or not static after installing busybox-static")
    return BUSYBOX


def _is_static_busybox(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    # a static ELF has no PT_INTERP, so no dynamic-loader path in its first page
    return head[:4] == b"\x7fELF" and b"ld-linux" not in head and b"/lib64/ld" not in head


def _applets(busybox: str) -> list[str]:
    out = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout
    return sorted(set(out.split()) - {"busybox"})


def build_rootfs(server_address: str, busybox: str | None = None) -> bytes:
    """The rootfs tar (deterministic: same inputs, same bytes)."""
    busybox = busybox or ensure_busybox()
    buf = io.BytesIO()
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = []

    def add_dir(path: str, mode: int = 0o755, uid: int = 0) -> None:
        ti = tarfile.TarInfo(path)
        ti.type, ti.mode, ti.uid, ti.gid = tarfile.DIRTYPE, mode, uid, uid
        entries.append((ti, None))

    def add_file(path: str, data: bytes, mode: int = 0o644) -> None:
        ti = tarfile.TarInfo(path)
        ti.size, ti.mode = len(data), mode
        entries.append((ti, data))

    def add_link(path: str, target: str) -> None:
        ti = tarfile.TarInfo(path)
        ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, target, 0o777
        entries.append((ti, None))

    for d in ("bin", "etc", "home", "root", "run", "tmp", "usr", "usr/bin", "usr/local", "usr/local/bin",
              "usr/local/etc", "usr/local/lib", "usr/local/lib/dfix", "var", "var/tmp", "app", "proc", "sys", "dev"):
        add_dir(d, {"root": 0o700, "tmp": 0o1777, "var/tmp": 0o1777}.get(d, 0o755))
    add_dir("home/node", 0o755, uid=1000)
    add_file("bin/busybox", Path(busybox).read_bytes(), 0o755)
    for applet in _applets(busybox):
        if "/" not in applet:
            add_link(f"bin/{applet}", "busybox")
    add_link("usr/bin/env", "/bin/busybox")
    add_file("etc/passwd", _PASSWD.encode())
    add_file("etc/group", _GROUP.encode())
    add_file("etc/hosts", b"127.0.0.1 localhost\n")
    add_file("etc/dfix-artifact-server", (server_address + "\n").encode())
    add_file("usr/local/lib/dfix/common.sh", (STANDINS / "common.sh").read_bytes())
    for name, script in sorted(TOOLS.items()):
        add_file(f"usr/local/bin/{name}", (STANDINS / script).read_bytes(), 0o755)
    add_file("usr/local/bin/dfix-noop", (STANDINS / "noop").read_bytes(), 0o755)
    for name in sorted(set(NOOP_TOOLS) - set(TOOLS)):
        add_link(f"usr/local/bin/{name}", "dfix-noop")

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for ti, data in sorted(entries, key=lambda e: e[0].name):
            ti.mtime = _MTIME
            ti.uname = ti.gname = ""
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


@dataclass(frozen=True)
class BaseImage:
    image: str
    image_id: str
    content_hash: str
    server_address: str
    names: tuple[str, ...]


def _docker(docker: str, *args: str, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([docker, *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise BaseImageError(f"docker {' '.join(args[:2])} failed: {proc.stderr.strip()[-800:]}")
    return proc


def _inspect(docker: str, refs: list[str]) -> list[dict]:
    proc = _docker(docker, "image", "inspect", *refs, check=False)
    try:
        return json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        return []


def ensure_base_image(server_address: str, names: list[str] | None = None, docker: str = "docker",
                      overwrite: bool = False) -> BaseImage:
    """Build (or reuse) the base image with this server address baked in, and tag it."""
    rootfs = build_rootfs(server_address)
    digest = hashlib.sha256(rootfs + "\0".join(IMAGE_CONFIG).encode()).hexdigest()
    current = _inspect(docker, [IMAGE])
    labels = ((current[0].get("Config") or {}).get("Labels") or {}) if current else {}
    if current and labels.get(HASH_LABEL) == digest:
        image_id = current[0]["Id"]
    else:
        with tempfile.TemporaryDirectory(prefix="dfix-rootfs-") as tmp:
            path = os.path.join(tmp, "rootfs.tar")
            with open(path, "wb") as f:
                f.write(rootfs)
            changes = [arg for change in IMAGE_CONFIG for arg in ("-c", change)]
            _docker(docker, "import", *changes, "-c", f"LABEL {HASH_LABEL}={digest}", path, IMAGE)
        image_id = _inspect(docker, [IMAGE])[0]["Id"]
    tagged = tag_bases(names if names is not None else BASE_NAMES, docker=docker, image=IMAGE, overwrite=overwrite)
    return BaseImage(IMAGE, image_id, digest, server_address, tuple(tagged))


def tag_bases(names, docker: str = "docker", image: str = IMAGE, overwrite: bool = False) -> list[str]:
    """Tag the base image under these names. A name that holds an image which is not ours (no
    hash label: a real ``ubuntu:22.04`` on a developer's engine) is only retagged with
    ``overwrite`` (a throwaway engine from start-engine.sh) or ``DFIX_E2E_OVERWRITE_TAGS=1``;
    otherwise :class:`BaseImageError` names it."""
    names = list(dict.fromkeys(names))
    ours = _inspect(docker, [image])
    if not ours:
        raise BaseImageError(f"{image} does not exist; call ensure_base_image first")
    our_id = ours[0]["Id"]
    foreign = []
    for info in _inspect(docker, names):
        if info["Id"] == our_id:
            continue
        labels = (info.get("Config") or {}).get("Labels") or {}
        if HASH_LABEL not in labels:
            foreign += [t for t in info.get("RepoTags") or [] if _canon(t) in {_canon(n) for n in names}]
    if foreign and not overwrite and os.environ.get("DFIX_E2E_OVERWRITE_TAGS") != "1":
        raise BaseImageError(
            "this engine holds real images under names the tests use: " + ", ".join(sorted(set(foreign)))
            + "; the e2e tests would retag them to a busybox test image. Use a separate engine"
            " (../shared/tools/start-engine.sh) or set DFIX_E2E_OVERWRITE_TAGS=1")
    for name in names:
        _docker(docker, "tag", image, name)
    return names


def _canon(ref: str) -> str:
    return ref if ":" in ref.rsplit("/", 1)[-1] else ref + ":latest"


def extract_rootfs(server_address: str, dest: str) -> str:
    """Unpack the rootfs into ``dest`` (for chroot-based debugging of the stand-ins)."""
    data = build_rootfs(server_address)
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="tar") if hasattr(tarfile, "data_filter") else tar.extractall(dest)
    return dest

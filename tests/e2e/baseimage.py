"""A tiny local base image for real builds: busybox, the stand-in tools, and every name tests use.

There is no registry, so the rootfs is assembled here with :mod:`tarfile` (busybox from Debian's
``busybox-static``, applet symlinks, /etc/passwd, the stand-ins from ``standins/``) and imported
with ``docker import``. The artifact server's address is baked into ``/etc/dfix-artifact-server``.

Each test session (each pytest process: xdist workers included) has its own namespace on the
engine, :class:`Run`: its base image is ``dfix-e2e-<run>/base:1``, labelled ``dfix.e2e.run=<run>``
(every image built on it inherits the label), and the names test Dockerfiles use (``ubuntu:22.04``,
``node:20``, ... :data:`BASE_NAMES`) are mapped to it per build with named build contexts
(``--build-context ubuntu:22.04=docker-image://dfix-e2e-<run>/base:1``, see
:meth:`BaseImage.context_args`), never by tagging the shared names. So a concurrent run (another
pytest session, another worker, a developer retagging ``ubuntu:22.04``) cannot change what a
build of this run starts from. :meth:`Run.cleanup` removes every image of the run at the end of
the session; :func:`reap_leftovers` removes those of runs that died (their lock file is no longer
held) and never touches a live run's.

:func:`ensure_base_image` without a run keeps the old behaviour for manual demos: one shared
``dfix-test-base:1`` tagged under the base names (``tag_bases``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not Linux/macOS
    fcntl = None

IMAGE = "dfix-test-base:1"  # the shared image of manual demos (ensure_base_image without a run)
HASH_LABEL = "dfix.test-base.hash"
RUN_LABEL = "dfix.e2e.run"  # on each run's base image, so on every image built from it
RUN_PREFIX = "dfix-e2e-"
RUNS_DIR = Path(os.environ.get("DFIX_E2E_RUNS_DIR") or Path(tempfile.gettempdir()) / "dfix-e2e-runs")
# a leftover of a run with no lock file here (another machine or container sharing the engine, a
# cleaned /tmp) is removed only when it is older than this: no test session lasts that long
UNKNOWN_RUN_MAX_AGE = 24 * 3600
BUSYBOX = "/bin/busybox"
STANDINS = Path(__file__).resolve().parent / "standins"

# Every base name a test Dockerfile may use. Each build maps the list as it is at that moment
# (BaseImage.context_args), so tests may append to it at any time.
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


class apt_lock:
    """One apt-get at a time among test processes (xdist workers, concurrent sessions): dpkg's own
    lock makes a second concurrent ``apt-get install`` fail instead of waiting."""

    def __enter__(self):
        RUNS_DIR.mkdir(parents=True, exist_ok=True)
        self._f = open(RUNS_DIR / "apt.lock", "a")
        if fcntl is not None:
            fcntl.flock(self._f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()


def ensure_busybox() -> str:
    """Path of a static busybox; installs Debian's busybox-static when it is missing."""
    if _is_static_busybox(BUSYBOX):
        return BUSYBOX
    try:
        with apt_lock():
            listed = subprocess.run(["dpkg", "-L", "busybox-static"], capture_output=True, text=True)
            if listed.returncode != 0 or not _is_static_busybox(BUSYBOX):
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
    image: str  # the run's image (dfix-e2e-<run>/base:1), or IMAGE without a run
    image_id: str
    content_hash: str
    server_address: str
    names: tuple[str, ...]  # tagged (no run) or mapped per build (with a run)
    run: Run | None = None

    def context_args(self, names=None) -> list[str]:
        """``--build-context NAME=docker-image://<this image>`` for every base name: a FROM (or
        ``COPY --from``, ``--mount=from``) naming one of them starts from this run's image."""
        if self.run is None:
            return []  # the names are tagged
        names = list(dict.fromkeys([*(names if names is not None else BASE_NAMES), *self.names]))
        return [a for n in names for a in ("--build-context", f"{n}=docker-image://{self.image}")]


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
                      overwrite: bool = False, run: Run | None = None) -> BaseImage:
    """With ``run``: import this run's own base image (server address baked in) as
    ``run.ref("base:1")``; the names are mapped per build (:meth:`BaseImage.context_args`).
    Without: build (or reuse) the shared ``dfix-test-base:1`` and tag it under the names."""
    rootfs = build_rootfs(server_address)
    digest = hashlib.sha256(rootfs + "\0".join(IMAGE_CONFIG).encode()).hexdigest()
    if run is not None:
        image = run.ref("base:1")
        _import(docker, rootfs, image, [f"{HASH_LABEL}={digest}", f"{RUN_LABEL}={run.id}"])
        image_id = _inspect(docker, [image])[0]["Id"]
        return BaseImage(image, image_id, digest, server_address, tuple(names or ()), run)
    current = _inspect(docker, [IMAGE])
    labels = ((current[0].get("Config") or {}).get("Labels") or {}) if current else {}
    if current and labels.get(HASH_LABEL) == digest:
        image_id = current[0]["Id"]
    else:
        _import(docker, rootfs, IMAGE, [f"{HASH_LABEL}={digest}"])
        image_id = _inspect(docker, [IMAGE])[0]["Id"]
    tagged = tag_bases(names if names is not None else BASE_NAMES, docker=docker, image=IMAGE, overwrite=overwrite)
    return BaseImage(IMAGE, image_id, digest, server_address, tuple(tagged))


def _import(docker: str, rootfs: bytes, ref: str, labels: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="dfix-rootfs-") as tmp:
        path = os.path.join(tmp, "rootfs.tar")
        with open(path, "wb") as f:
            f.write(rootfs)
        changes = [arg for change in IMAGE_CONFIG for arg in ("-c", change)]
        for label in labels:
            changes += ["-c", f"LABEL {label}"]
        _docker(docker, "import", *changes, path, ref)


def tag_bases(names, docker: str = "docker", image: str = IMAGE, overwrite: bool = False) -> list[str]:
    """Tag the base image under these names (manual demos only: the test sessions never tag shared
    names, they map them per build). A name that holds an image which is not ours (no
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


# -- one namespace per test session -------------------------------------------------------------

class Run:
    """A test session's namespace on the engine: ``dfix-e2e-<id>/...`` and the label
    ``dfix.e2e.run=<id>``. While the session lives it holds an exclusive ``flock`` on
    ``RUNS_DIR/<id>.lock``; a lock file nobody holds belongs to a run that died."""

    def __init__(self, docker: str = "docker", run_id: str | None = None):
        self.docker = docker
        self.id = run_id or f"{os.getpid()}x{secrets.token_hex(4)}"
        self.namespace = RUN_PREFIX + self.id
        self.lock_path = RUNS_DIR / f"{self.id}.lock"
        self._lock_file = None

    def ref(self, name: str) -> str:
        """``dfix-e2e-<id>/NAME``: an image name of this run."""
        return f"{self.namespace}/{name}"

    def start(self) -> Run:
        RUNS_DIR.mkdir(parents=True, exist_ok=True)
        # lock under a name reapers ignore, then rename: never a visible lock file that is not held
        tmp = RUNS_DIR / f".{self.id}.lock.tmp"
        f = open(tmp, "w")  # noqa: SIM115 - held open (and locked) for the whole session
        if fcntl is not None:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.write(f"{os.getpid()}\n")
        f.flush()
        os.replace(tmp, self.lock_path)
        self._lock_file = f
        return self

    def images(self) -> list[str]:
        """IDs of every image of this run: labelled with its id (its base image and everything built
        on it, tagged or dangling) or named in its namespace."""
        return [image_id for image_id, _ in _run_images(self.docker, {self.id}).get(self.id, [])]

    def cleanup(self) -> list[str]:
        """Remove every image of this run, then release the lock. Returns what could not be removed."""
        left = _remove_images(self.docker, self.images())
        self.lock_path.unlink(missing_ok=True)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        return left

    def __repr__(self) -> str:
        return f"<Run {self.namespace}>"


def _run_images(docker: str, only: set[str] | None = None) -> dict[str, list[tuple[str, str]]]:
    """run id -> [(image ID, created)] for the runs in ``only`` (default: all): images labelled
    ``dfix.e2e.run`` and images named in a run namespace (``dfix-e2e-<id>/...``)."""
    proc = _docker(docker, "image", "ls", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}", check=False)
    runs_of: dict[str, set[str]] = {}
    for line in proc.stdout.splitlines():
        image_id, _, repo = line.partition(" ")
        if repo.startswith(RUN_PREFIX) and "/" in repo:
            runs_of.setdefault(image_id, set()).add(repo.split("/", 1)[0][len(RUN_PREFIX):])
    proc = _docker(docker, "image", "ls", "-a", "--no-trunc", "--filter", f"label={RUN_LABEL}", "--format", "{{.ID}}",
                   check=False)
    ids = sorted(set(proc.stdout.split()) | set(runs_of))
    out: dict[str, list[tuple[str, str]]] = {}
    for info in _inspect(docker, ids) if ids else []:
        rids = set(runs_of.get(info["Id"], ()))
        label = ((info.get("Config") or {}).get("Labels") or {}).get(RUN_LABEL)
        if label:
            rids.add(label)
        for rid in rids:
            if only is None or rid in only:
                out.setdefault(rid, []).append((info["Id"], info.get("Created", "")))
    return out


def _remove_images(docker: str, ids: list[str]) -> list[str]:
    """``docker image rm -f`` (all tags of each ID), repeated while it makes progress (a child
    image first). Returns the IDs still present."""
    left = list(dict.fromkeys(ids))
    for _ in range(5):
        if not left:
            break
        _docker(docker, "image", "rm", "-f", *left, check=False)
        still = {info["Id"] for info in _inspect(docker, left)}
        if len(still) == len(left):
            break
        left = [i for i in left if i in still]
    return [i for i in left if _inspect(docker, [i])]


def _age_seconds(created: str) -> float | None:
    """Seconds since docker's ``Created`` (``2026-12-04T15:32:45.123456789Z``, UTC)."""
    try:
        ts = datetime.strptime(created[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return time.time() - ts.timestamp()


def reap_leftovers(docker: str = "docker", keep: set[str] = frozenset()) -> dict[str, int]:
    """Remove the images of test runs that died without cleaning up (killed, crashed engine call).

    A run is dead when its lock file exists and nobody holds its lock (taken here, briefly, so that
    two reapers do not race). A run with no lock file here is removed only when all its images are
    older than ``UNKNOWN_RUN_MAX_AGE``. Live runs, and the runs in ``keep``, are never touched.
    Returns run id -> images removed."""
    removed: dict[str, int] = {}
    if fcntl is None:
        return removed
    for rid, found in sorted(_run_images(docker).items()):
        if rid in keep:
            continue
        ids = [image_id for image_id, _ in found]
        lock_path = RUNS_DIR / f"{rid}.lock"
        try:
            f = open(lock_path, "r+")  # noqa: SIM115 - closed by the `with f:` below
        except FileNotFoundError:
            ages = [_age_seconds(created) for _, created in found]
            if ages and all(a is not None and a > UNKNOWN_RUN_MAX_AGE for a in ages):
                removed[rid] = len(ids) - len(_remove_images(docker, ids))
            continue
        with f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live run holds it
            if not lock_path.exists() or os.stat(lock_path).st_ino != os.fstat(f.fileno()).st_ino:
                continue  # replaced meanwhile
            removed[rid] = len(ids) - len(_remove_images(docker, ids))
            lock_path.unlink(missing_ok=True)
    return removed


def extract_rootfs(server_address: str, dest: str) -> str:
    """Unpack the rootfs into ``dest`` (for chroot-based debugging of the stand-ins)."""
    data = build_rootfs(server_address)
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="tar") if hasattr(tarfile, "data_filter") else tar.extractall(dest)
    return dest

"""Finding a Docker Engine for real builds, and running builds on it without printing values.

Order: the engine that ``docker info`` reaches as the environment stands (``DOCKER_HOST`` or the
default socket); else ``../shared/tools/start-engine.sh`` beside the checkout, whose printed
``PATH``/``DOCKER_HOST`` are adopted; else :class:`EngineUnavailable` with the reason.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from refactor.leakscan import mask_values

REPO_ROOT = Path(__file__).resolve().parents[2]
# DFIX_START_ENGINE overrides the script's path; set it empty to never start an engine
START_SCRIPT = os.environ.get("DFIX_START_ENGINE", str(REPO_ROOT.parent / "shared" / "tools" / "start-engine.sh"))
STATE_DIR = os.environ.get("DFIX_ENGINE_STATE", "/tmp/dfix-engine")


class EngineUnavailable(RuntimeError):
    pass


class Canary(str):
    """A random secret value whose ``repr`` never shows it (pytest prints reprs in failures)."""

    def __new__(cls, name: str = "canary", value: str | None = None):
        self = super().__new__(cls, value if value is not None else "dfixcanary" + secrets.token_hex(16))
        self.name = name
        return self

    def __repr__(self) -> str:
        return f"<canary {self.name}>"

    __str__ = str.__str__


@dataclass
class BuildResult:
    tag: str
    returncode: int
    log: str  # masked: every registered value (raw, base64, URL-quoted) replaced by <NAME>
    command: list[str]

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.splitlines()[-lines:])

    def __repr__(self) -> str:
        return f"<BuildResult {self.tag} rc={self.returncode}>"


@dataclass
class Engine:
    env: dict[str, str]  # what to set in os.environ (PATH, DOCKER_HOST) to reach it
    how: str
    docker: str = "docker"
    buildx: bool = True
    built: list[str] = field(default_factory=list)
    build_refs: list[str] = field(default_factory=list)  # BuildKit build records of our builds

    @property
    def throwaway(self) -> bool:
        """An engine started by start-engine.sh (its socket sits in a state dir with the unpacked
        dockerd): every image on it is a test image, so base tags may be overwritten."""
        host = self.env.get("DOCKER_HOST") or os.environ.get("DOCKER_HOST", "")
        if not host.startswith("unix://"):
            return False
        state = Path(host[len("unix://"):]).parent
        return (state / "x" / "usr" / "sbin" / "dockerd").exists() and (state / "dockerd.pid").exists()

    def environ(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        env.update({k: str(v) for k, v in (extra or {}).items()})
        return env

    def run(self, *args: str, check: bool = True, timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([self.docker, *args], capture_output=True, text=True, timeout=timeout,
                              env=self.environ(env))
        if check and proc.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip()[-600:]}")
        return proc

    def build(
        self,
        context: str | os.PathLike,
        dockerfile: str | os.PathLike | None = None,
        *,
        tag: str | None = None,
        secrets: dict[str, str] | None = None,  # secret id -> env var name (value in env_values)
        secret_files: dict[str, str] | None = None,  # secret id -> src path
        build_args: dict[str, str | None] | None = None,  # name -> value (None: taken from env_values)
        env_values: dict[str, str] | None = None,  # put into the child env only, never on the command line
        no_cache: bool = True,
        network: str = "host",
        extra: list[str] | None = None,
        timeout: int = 300,
    ) -> BuildResult:
        """Build with buildx (``--load``); values travel in the child's environment only."""
        tag = tag or f"dfix-e2e-{secrets_token()}"
        cmd = [self.docker, "buildx", "build", "--load"] if self.buildx else [self.docker, "build"]
        cmd += ["--progress", "plain", "--network", network, "-t", tag]
        if dockerfile is not None:
            cmd += ["-f", str(dockerfile)]
        if no_cache:
            cmd.append("--no-cache")
        child = dict(env_values or {})
        for sid, envname in (secrets or {}).items():
            cmd += ["--secret", f"id={sid},env={envname}"]
        for sid, src in (secret_files or {}).items():
            cmd += ["--secret", f"id={sid},src={src}"]
        for name, value in (build_args or {}).items():
            if value is not None:
                child[name] = value
            cmd += ["--build-arg", name]  # NAME alone: docker takes the value from the environment
        cmd += list(extra or [])
        meta = None
        if self.buildx:  # to find this build's record (it keeps the build args) and remove it later
            fd, meta = tempfile.mkstemp(prefix="dfix-e2e-meta-", suffix=".json")
            os.close(fd)
            cmd += ["--metadata-file", meta]
        cmd.append(str(context))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=self.environ(child),
                                  stdin=subprocess.DEVNULL)
        finally:
            if meta:
                self._note_build_ref(meta)
        self.built.append(tag)
        values = {k: v for k, v in child.items() if v}
        log = mask_values(proc.stdout + proc.stderr, values)
        return BuildResult(tag, proc.returncode, log, [c if c not in values.values() else "<value>" for c in cmd])

    def _note_build_ref(self, meta: str) -> None:
        try:
            with open(meta, encoding="utf-8") as f:
                ref = (json.load(f) or {}).get("buildx.build.ref", "")
        except (OSError, ValueError):
            ref = ""
        finally:
            try:
                os.unlink(meta)
            except OSError:
                pass
        if ref:
            self.build_refs.append(ref.rsplit("/", 1)[-1])

    def remove_build_records(self) -> None:
        """Remove the BuildKit build records of our builds (``docker buildx history rm REF...``): they
        hold the build args (canaries) and otherwise pile up on the engine. Only our own refs."""
        refs, self.build_refs = self.build_refs, []
        for i in range(0, len(refs), 100):
            self.run("buildx", "history", "rm", *refs[i:i + 100], check=False, timeout=120)

    def remove_images(self, tags: list[str] | None = None) -> None:
        tags = list(tags if tags is not None else self.built)
        if tags:
            self.run("image", "rm", "-f", *tags, check=False)
        if tags is self.built or tags == self.built:
            self.built.clear()


def secrets_token() -> str:
    return secrets.token_hex(5)


def _answers(env: dict[str, str], docker: str) -> bool:
    try:
        proc = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                              timeout=30, env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())


def _has_buildx(env: dict[str, str], docker: str) -> bool:
    try:
        proc = subprocess.run([docker, "buildx", "version"], capture_output=True, text=True, timeout=30, env=env)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


_EXPORT = re.compile(r"export PATH='([^']*)':\"\$PATH\" DOCKER_HOST='([^']*)'")


def find_engine(start_script: str | Path | None = None, state_dir: str = STATE_DIR) -> Engine:
    if start_script is None:
        start_script = START_SCRIPT
    start_script = Path(start_script) if start_script else None
    env = dict(os.environ)
    docker = shutil.which("docker", path=env.get("PATH"))
    tried = []
    if docker and _answers(env, docker):
        how = f"DOCKER_HOST={env['DOCKER_HOST']}" if env.get("DOCKER_HOST") else "the default docker socket"
        engine = Engine({}, how, docker, _has_buildx(env, docker))
    else:
        tried.append("no engine answers `docker info`" + (f" at DOCKER_HOST={env['DOCKER_HOST']}" if env.get("DOCKER_HOST") else ""))
        if start_script is None:
            tried.append("starting one is disabled (DFIX_START_ENGINE is empty)")
            raise EngineUnavailable("; ".join(tried))
        if not start_script.exists():
            tried.append(f"{start_script} does not exist")
            raise EngineUnavailable("; ".join(tried))
        try:
            proc = subprocess.run(["bash", str(start_script), state_dir], capture_output=True, text=True,
                                  timeout=1200, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise EngineUnavailable(f"{start_script} did not finish in 20 minutes") from None
        m = _EXPORT.search(proc.stdout)
        if proc.returncode != 0 or not m:
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            raise EngineUnavailable(f"{start_script} failed (exit {proc.returncode}):\n{tail}")
        overrides = {"PATH": f"{m.group(1)}:{env.get('PATH', '')}", "DOCKER_HOST": m.group(2)}
        env.update(overrides)
        docker = shutil.which("docker", path=env["PATH"])
        if not docker or not _answers(env, docker):
            raise EngineUnavailable(f"{start_script} ran but no engine answers at {m.group(2)}")
        engine = Engine(overrides, f"{start_script.name} ({m.group(2)})", docker, _has_buildx(env, docker))
    if not engine.buildx:
        raise EngineUnavailable(f"the engine reached through {engine.how} has no buildx plugin; BuildKit builds"
                                " with --secret need it")
    return engine


def write_context(files: dict[str, str | bytes], root: str | None = None) -> Path:
    """A build context directory holding these files (``Dockerfile`` among them, usually)."""
    base = Path(root or tempfile.mkdtemp(prefix="dfix-ctx-"))
    for rel, data in files.items():
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return base

"""What it takes to build a Dockerfile after dfix: secrets, SSH, build args, file and context.

This is the contract between the rewrite and everything that builds (emitted commands, callers,
``dfix verify``, the e2e tests).
"""

from __future__ import annotations

from dataclasses import field

from refactor.codecache import regex
from refactor.records import dataclass

# a RUN --mount of a secret that sets an environment variable (env=): buildah accepts it from 1.44
ENV_MOUNT = regex(r"--mount=[^\s]*type=secret[^\s]*,env=|--mount=[^\s]*env=[^\s]*type=secret")


@dataclass(frozen=True, slots=True)
class SecretSpec:
    id: str  # the secret id used in RUN --mount (npm_token)
    type: str  # "env" | "file"
    env: str | None = None  # host environment variable holding the value (the original build-arg name)
    src: str | None = None  # file path, for file secrets (an .npmrc, a key)

    def cli(self) -> str:
        """The ``--secret`` value for docker/buildx/podman."""
        if self.type == "env":
            return f"id={self.id},env={self.env}"
        return f"id={self.id},src={self.src}"

    def to_json(self) -> dict:
        return {"id": self.id, "type": self.type, "env": self.env, "src": self.src}


@dataclass(frozen=True, slots=True)
class BuildSpec:
    dockerfile: str  # path of the Dockerfile as the caller names it
    context: str  # build context directory
    secrets: tuple[SecretSpec, ...] = ()
    ssh: tuple[str, ...] = ()  # "default"
    build_args: tuple[str, ...] = ()  # remaining ARGs without a default
    notes: tuple[str, ...] = field(default=())
    secret_build_args: tuple[str, ...] = ()  # of build_args, those that are secrets (the multistage builder's)
    env_mounts: bool = False  # the Dockerfile (as rewritten) has secret mounts with env= (buildah >= 1.44)

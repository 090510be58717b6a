"""Build the image with the token from the keyring."""

from __future__ import annotations

import subprocess
import sys

import keyring


def build(version: str) -> None:
    token = keyring.get_password("pypi.example.com", "ci")
    subprocess.run(
        [
            "docker", "build",
            "--build-arg", f"PYPI_TOKEN={token}",
            "--build-arg", f"APP_VERSION={version}",
            "-t", f"app:{version}",
            ".",
        ],
        check=True,
    )


def build_ci() -> None:
    # in CI the token is already in the environment
    subprocess.check_call(["docker", "build", "--build-arg", "PYPI_TOKEN", "-t", "app:ci", "."])


if __name__ == "__main__":
    build(sys.argv[1])

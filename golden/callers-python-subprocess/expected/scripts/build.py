"""Build the image with the token from the keyring."""

from __future__ import annotations

import os
import subprocess
import sys

import keyring


def build(version: str) -> None:
    token = keyring.get_password("pypi.example.com", "ci")
    subprocess.run(
        [
            "docker", "build",
            "--secret", "id=pypi_token,env=PYPI_TOKEN",
            "--build-arg", f"APP_VERSION={version}",
            "-t", f"app:{version}",
            ".",
        ],
        check=True,
        env={**os.environ, "PYPI_TOKEN": token},
    )


def build_ci() -> None:
    # in CI the token is already in the environment
    subprocess.check_call(["docker", "build", "--secret", "id=pypi_token,env=PYPI_TOKEN", "-t", "app:ci", "."])


if __name__ == "__main__":
    build(sys.argv[1])

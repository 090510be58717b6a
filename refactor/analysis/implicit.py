"""Implicit consumers: tools that read a variable without the RUN text naming it.

An ARG is exported to every later RUN of its stage, so ``ARG NPM_TOKEN`` + ``COPY .npmrc`` +
``RUN npm ci`` uses the secret although the RUN never says ``$NPM_TOKEN``. Each entry below says
which variables a tool reads by itself; ``files`` lists credential files whose ``${VAR}``
references the tool expands.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache

_NPM_VARS = ("npm_config_*", "NPM_CONFIG_*", "NPM_TOKEN", "NPM_AUTH*", "NODE_AUTH_TOKEN", "*NPM*TOKEN*", "*NPMRC*")

# tool -> (variable globs the tool reads from the environment, config files it expands ${VAR} in)
TOOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # npm expands ${VAR} in any .npmrc, including one in the base image's home directory, so
    # npm-token-named variables are treated as read whenever npm runs.
    "npm": (_NPM_VARS, (".npmrc",)),
    "npx": (_NPM_VARS, (".npmrc",)),
    "yarn": (_NPM_VARS + ("YARN_*",), (".npmrc", ".yarnrc", ".yarnrc.yml")),
    "pnpm": (_NPM_VARS + ("PNPM_*",), (".npmrc",)),
    "corepack": (("COREPACK_*", "npm_config_*"), (".npmrc",)),
    "pip": (("PIP_*",), ("pip.conf", "pip.ini", ".netrc", "requirements*.txt")),
    "pip3": (("PIP_*",), ("pip.conf", "pip.ini", ".netrc", "requirements*.txt")),
    "pipx": (("PIP_*", "PIPX_*"), ("pip.conf",)),
    "pipenv": (("PIP_*", "PIPENV_*"), ("Pipfile",)),
    "uv": (("UV_*", "PIP_*"), ("uv.toml", "pyproject.toml", ".netrc")),
    "poetry": (("POETRY_*", "PIP_*"), ("pyproject.toml", "poetry.toml")),
    "twine": (("TWINE_*",), (".pypirc",)),
    "conda": (("CONDA_*",), (".condarc",)),
    "mamba": (("CONDA_*", "MAMBA_*"), (".condarc",)),
    "micromamba": (("CONDA_*", "MAMBA_*"), (".condarc",)),
    # Maven and Gradle run build scripts that read any environment variable (${env.X},
    # System.getenv): they consume every variable in scope.
    "mvn": (("*",), ("settings.xml", "pom.xml")),
    "gradle": (("*",), ("build.gradle", "build.gradle.kts", "gradle.properties", "settings.gradle")),
    "gradlew": (("*",), ("build.gradle", "build.gradle.kts", "gradle.properties", "settings.gradle")),
    "go": (("GO*", "NETRC", "GIT_*"), (".netrc",)),
    "git": (("GIT_*",), (".netrc", ".git-credentials", ".gitconfig")),
    "curl": ((), (".netrc",)),
    "wget": ((), (".netrc", ".wgetrc")),
    "aws": (("AWS_*",), ("credentials", "config")),
    "gcloud": (("CLOUDSDK_*", "GOOGLE_*"), ()),
    "gsutil": (("CLOUDSDK_*", "GOOGLE_*", "BOTO_*"), ()),
    "az": (("AZURE_*", "AZ_*"), ()),
    "composer": (("COMPOSER_*",), ("auth.json",)),
    "bundle": (("BUNDLE_*",), ()),
    "gem": (("GEM_*",), (".gemrc",)),
    "docker": (("DOCKER_*",), ("config.json",)),
    "helm": (("HELM_*",), ()),
    "dotnet": (("NUGET_*", "VSS_NUGET_*", "DOTNET_*"), ("nuget.config", "NuGet.Config")),
    "nuget": (("NUGET_*", "VSS_NUGET_*"), ("nuget.config", "NuGet.Config")),
    "cargo": (("CARGO_*",), ("config.toml", "credentials.toml")),
    "huggingface-cli": (("HF_*", "HUGGING_FACE_*", "HUGGINGFACE_*"), ()),
    "ssh": (("SSH_*",), ()),
}

_REF_TEMPLATE = r"(?:\$\{{{n}(?:[:\-+?=][^}}]*)?\}}|\$\{{env\.{n}\}}|\${n}(?![A-Za-z0-9_])|%{n}%)"


# tools that read requirement files, which may expand ${VAR} (refactor.fixes.mounts)
REQUIREMENT_READERS = frozenset({"pip", "pip3", "uv", "pipenv", "pip-sync"})


@lru_cache(maxsize=8192)  # (asked for every RUN x secret: fnmatch per pair was a sixth of such a file's run)
def reads_env(tool: str, var: str) -> bool:
    """Does ``tool`` read ``var`` from its environment by itself?"""
    entry = TOOLS.get(tool)
    if not entry:
        return False
    return any(fnmatch.fnmatchcase(var, g) or fnmatch.fnmatchcase(var.upper(), g.upper()) for g in entry[0])


def config_files(tool: str) -> tuple[str, ...]:
    entry = TOOLS.get(tool)
    return entry[1] if entry else ()


def file_references(content: str, var: str) -> bool:
    """Does a config file's text reference ``var`` (``${VAR}``, ``$VAR``, ``${env.VAR}``, ``%VAR%``)?"""
    if var not in content:
        return False
    return re.search(_REF_TEMPLATE.format(n=re.escape(var)), content) is not None

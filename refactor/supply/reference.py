"""Image references and registry errors: the pure part of the registry client.

Kept apart from :mod:`refactor.supply.registry` so that checks needing only reference parsing
(the always-on latest/untagged rule) do not import the HTTP stack (urllib.request, http.client,
ssl), which costs tens of milliseconds on every run.
"""

from __future__ import annotations

from refactor.lazyre import lazy
from refactor.records import dataclass

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}


class RegistryError(Exception):
    """A resolution failed. ``str()`` is one line without credentials, tokens or bodies."""

    KINDS = ("offline", "unauthorized", "not-found", "bad-response", "credentials", "platform", "reference")

    def __init__(self, kind: str, message: str):
        assert kind in self.KINDS, kind
        super().__init__(message)
        self.kind = kind
        self.message = " ".join(str(message).split())

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------------
# References (docker/distribution reference grammar)

_ALNUM = r"[a-z0-9]+"
_SEP = r"(?:[._]|__|[-]+)"
_COMPONENT = rf"{_ALNUM}(?:{_SEP}{_ALNUM})*"
_PATH_RE = lazy(rf"{_COMPONENT}(?:/{_COMPONENT})*\Z")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN_RE = lazy(rf"{_HOST}(?::[0-9]+)?\Z")
_TAG_RE = lazy(r"[\w][\w.-]{0,127}\Z")
_DIGEST_RE = lazy(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}\Z")
_SHA256_RE = lazy(r"sha256:[a-f0-9]{64}\Z")


@dataclass(frozen=True, slots=True)
class ImageRef:
    domain: str  # "docker.io", "ghcr.io", "127.0.0.1:5000"
    path: str  # "library/node"
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """Fully qualified name without tag or digest: ``docker.io/library/node``."""
        return f"{self.domain}/{self.path}"

    @property
    def reference(self) -> str:
        """What ``/manifests/<ref>`` asks for: the digest when present, else the tag (``latest``)."""
        return self.digest or self.tag or "latest"

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.domain == DOCKER_HUB else self.domain

    @property
    def familiar(self) -> str:
        """The short form docker prints: ``node:20``, ``ghcr.io/o/r:1``."""
        name = self.path
        if self.domain == DOCKER_HUB:
            if name.startswith("library/") and name.count("/") == 1:
                name = name[len("library/") :]
        else:
            name = f"{self.domain}/{name}"
        out = name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse_reference(text: str) -> ImageRef:
    """Parse and normalise an image reference; :class:`RegistryError` (``reference``) if invalid."""
    s = text.strip()
    if not s or len(s) > 512 or any(c.isspace() for c in s):
        raise RegistryError("reference", f"invalid image reference {_shown(s)}")
    digest = None
    if "@" in s:
        s, digest = s.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise RegistryError("reference", f"invalid digest in image reference {_shown(text)}")
    tag = None
    slash = s.rfind("/")
    colon = s.rfind(":")
    if colon > slash:
        s, tag = s[:colon], s[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise RegistryError("reference", f"invalid tag in image reference {_shown(text)}")
    first, sep, rest = s.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        domain, path = first, rest
        if not _DOMAIN_RE.match(domain):
            raise RegistryError("reference", f"invalid registry host in image reference {_shown(text)}")
    else:
        domain, path = DOCKER_HUB, s
    if domain.lower() in _HUB_ALIASES:
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in path:
        path = "library/" + path
    if not _PATH_RE.match(path):
        what = "repository name must be lowercase" if path.lower() != path and _PATH_RE.match(path.lower()) else "invalid repository name"
        raise RegistryError("reference", f"{what} in image reference {_shown(text)}")
    if len(domain) + 1 + len(path) > 255:
        raise RegistryError("reference", f"repository name too long in image reference {_shown(text)}")
    return ImageRef(domain, path, tag, digest)


def _shown(s: str) -> str:
    s = s if len(s) <= 120 else s[:117] + "..."
    return repr(s)


# --------------------------------------------------------------------------------------------
# Platforms

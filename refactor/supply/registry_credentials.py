"""Registry credentials for :mod:`refactor.supply.registry`: :class:`Credentials` (never shown)
and :class:`DockerConfig`, which reads a docker ``config.json`` (``auths`` entries, identity
tokens, ``credHelpers`` and ``credsStore``) and runs a ``docker-credential-<helper>`` when asked.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess

from refactor.records import dataclass
from refactor.supply.reference import _HUB_ALIASES, DOCKER_HUB, RegistryError

DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"  # config.json key and credential-helper server URL


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""  # or an identity token when ``identity_token`` is set
    identity_token: bool = False

    def __repr__(self) -> str:  # never show a value
        return "<Credentials>"

    __str__ = __repr__

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")


def _config_key_host(key: str) -> str:
    """``https://index.docker.io/v1/`` -> ``docker.io``; ``http://127.0.0.1:5000`` -> ``127.0.0.1:5000``."""
    k = key.strip()
    if "://" in k:
        k = k.split("://", 1)[1]
    k = k.split("/", 1)[0]
    return DOCKER_HUB if k.lower() in _HUB_ALIASES else k


class DockerConfig:
    """Credentials from a docker ``config.json``. Values are never put in a message or repr."""

    def __init__(self, data: dict | None = None, path: str | None = None, helper_timeout: float = 30.0):
        self.data = data or {}
        self.path = path
        self.helper_timeout = helper_timeout
        self._cache: dict[str, Credentials | None] = {}

    def __repr__(self) -> str:
        return f"<DockerConfig {self.path or '(in memory)'}>"

    @classmethod
    def load(cls, path: str | None = None) -> DockerConfig:
        if path is None:
            base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
            path = os.path.join(base, "config.json")
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return cls({}, path)
        except (OSError, ValueError) as exc:
            raise RegistryError("credentials", f"cannot read docker config {path}: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise RegistryError("credentials", f"docker config {path} is not a JSON object")
        return cls(data, path)

    def credentials(self, domain: str) -> Credentials | None:
        """Credentials for a normalised registry domain (``docker.io`` for Docker Hub), or None."""
        if domain not in self._cache:
            self._cache[domain] = self._lookup(domain)
        return self._cache[domain]

    def _lookup(self, domain: str) -> Credentials | None:
        server = DOCKER_HUB_AUTH_KEY if domain == DOCKER_HUB else domain
        helpers = self.data.get("credHelpers") or {}
        helper = None
        if isinstance(helpers, dict):
            for key, value in helpers.items():
                if _config_key_host(key) == domain:
                    helper = value
                    break
        if helper:
            return self._helper(str(helper), server)
        auths = self.data.get("auths") or {}
        if isinstance(auths, dict):
            for key, entry in auths.items():
                if _config_key_host(key) != domain or not isinstance(entry, dict):
                    continue
                creds = self._from_entry(entry)
                if creds is not None:
                    return creds
        store = self.data.get("credsStore")
        if store:
            return self._helper(str(store), server)
        return None

    def _from_entry(self, entry: dict) -> Credentials | None:
        user, pw = entry.get("username") or "", entry.get("password") or ""
        auth = entry.get("auth")
        if auth:
            try:
                decoded = base64.b64decode(str(auth), validate=False).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise RegistryError("credentials", "docker config: an auths entry has an invalid base64 'auth'") from None
            if ":" not in decoded:
                raise RegistryError("credentials", "docker config: an auths entry's 'auth' is not user:password")
            user, pw = decoded.split(":", 1)
        token = entry.get("identitytoken")
        if token:
            return Credentials(user, str(token), identity_token=True)
        if user or pw:
            return Credentials(str(user), str(pw))
        return None

    def _helper(self, helper: str, server: str) -> Credentials | None:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", helper):
            raise RegistryError("credentials", "docker config names an invalid credential helper")
        prog = f"docker-credential-{helper}"
        try:
            proc = subprocess.run([prog, "get"], input=server, capture_output=True, text=True, timeout=self.helper_timeout)
        except FileNotFoundError:
            raise RegistryError("credentials", f"credential helper {prog} is not installed") from None
        except subprocess.TimeoutExpired:
            raise RegistryError("credentials", f"credential helper {prog} timed out") from None
        except OSError as exc:
            raise RegistryError("credentials", f"credential helper {prog} could not run ({type(exc).__name__})") from None
        if proc.returncode != 0:
            if "credentials not found" in (proc.stdout + proc.stderr).lower():
                return None
            raise RegistryError("credentials", f"credential helper {prog} failed (exit {proc.returncode})")
        try:
            doc = json.loads(proc.stdout)
            user, secret = str(doc.get("Username") or ""), str(doc.get("Secret") or "")
        except (ValueError, AttributeError):
            raise RegistryError("credentials", f"credential helper {prog} returned invalid JSON") from None
        if not secret:
            return None
        if user == "<token>":
            return Credentials("", secret, identity_token=True)
        return Credentials(user, secret)

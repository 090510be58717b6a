"""The HTTP layer under :mod:`refactor.supply.registry`: the user agent, loopback hosts (plain
http, no proxy), ``WWW-Authenticate`` challenges, redirects limited to http/https, the response
record, a size-limited read and the one-word reason of a network error (never a body).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import urllib.parse
import urllib.request

from refactor.codecache import regex
from refactor.records import dataclass
from refactor.supply.reference import RegistryError

USER_AGENT = "dfix-registry/1"


def is_loopback_host(host: str) -> bool:
    h = host
    if h.startswith("["):
        h = h[1:].split("]", 1)[0]
    elif h.count(":") == 1:
        h = h.split(":", 1)[0]
    if h.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


_CHALLENGE_RE = regex(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="…",service="…",scope="…"`` -> ("bearer", {...})."""
    header = header.strip()
    scheme, _, rest = header.partition(" ")
    params = {}
    for m in _CHALLENGE_RE.finditer(rest):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects (blob storage) but never to another scheme than http/https."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@dataclass
class _Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def _read(r, limit: int, shown: str) -> bytes:
    if not limit:
        return r.read()
    data = r.read(limit + 1)
    if len(data) > limit:
        raise RegistryError("bad-response", f"{shown}: response larger than {limit} bytes")
    return data


def _reason(reason) -> str:
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(reason, socket.gaierror):
        return "name does not resolve"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    text = type(reason).__name__ if not isinstance(reason, str) else reason
    return text.splitlines()[0][:80] if text else "error"

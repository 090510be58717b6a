"""Shapes of values for the secret classifier: ``$VAR`` references, URLs with user-info or credential
query parameters, hex digests, UUIDs, versions, host names, e-mail addresses, booleans, file paths
and names, and the character-entropy test for high-entropy literals.
"""

from __future__ import annotations

import math
import re

from refactor.lazyre import lazy

# ------------------------------------------------------------------------------------------------
# Values

_REF_RE = lazy(r"\$(?:\{#?([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_PURE_REF_RE = lazy(r"^\$(?:\{#?([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")
_URL_RE = lazy(r"^[A-Za-z][A-Za-z0-9+.\-]{1,20}://")
_URL_USERINFO_RE = lazy(r"[A-Za-z][A-Za-z0-9+.\-]{1,20}://([^/\s@?#]+)@[^\s@]")
_URL_QUERY_CRED_RE = lazy(
    r"[?&][A-Za-z0-9_\-]*(?:token|key|secret|password|passwd|pwd|sig|signature|auth)=([^&#\s]+)",
    re.IGNORECASE,
)
_HEX_RE = lazy(r"^(?:0x)?[0-9a-fA-F]+$")
_UUID_RE = lazy(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_VERSION_RE = lazy(r"^[vV]?\d+(?:\.\d+){1,3}(?:[-+~._][0-9A-Za-z.\-+~]*)?$")
_HOST_RE = lazy(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,24}(?::\d{1,5})?$")
_EMAIL_RE = lazy(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_BOOL_WORDS = {"true", "false", "yes", "no", "on", "off", "0", "1", "enabled", "disabled", "enable", "disable"}
# (?:[…]+/?)* split a run of name characters every possible way before failing: exponential
# (a 78-byte /srv/aaaa…% took a minute). Possessive, it reads the run once; the language is the same.
_ABS_PATH_RE = lazy(r"^(?:~|\.{1,2}|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)?/(?:[A-Za-z0-9_.@\-]++/?)*+$")
_WIN_PATH_RE = lazy(r"^[A-Za-z]:\\")
_REL_PATH_RE = lazy(r"^(?:[A-Za-z0-9_.@\-]+/)+[A-Za-z0-9_@\-]+\.[a-z0-9]{1,5}$")
_FILE_NAME_RE = lazy(
    r"^[A-Za-z0-9_\-]+\.(?:pem|key|crt|cer|der|p12|pfx|jks|json|txt|conf|cfg|ini|"
    r"ya?ml|toml|env|pub|asc|gpg|xml|properties)$"
)
_LOWER_WORD_SEG_RE = lazy(r"(?:^|/)[a-z][a-z0-9_.\-]*(?:/|$)")
_TOKENISH_RE = lazy(r"^[A-Za-z0-9+/=_\-.~]+$")
_ALNUM_RUN_RE = lazy(r"[A-Za-z0-9+/]+")
_WORD_PIECE_RE = lazy(r"[A-Z]?[a-z]{4,}|[A-Z]{5,}")


def _entropy(s: str) -> float:
    n = len(s)
    counts: dict[str, int] = {}
    for c in s:
        counts[c] = counts.get(c, 0) + 1
    return -sum(k / n * math.log2(k / n) for k in counts.values())


def _looks_path(v: str) -> bool:
    if "://" in v or "+" in v or "=" in v or any(c.isspace() for c in v):
        return False
    if _WIN_PATH_RE.match(v) or _FILE_NAME_RE.match(v) or _REL_PATH_RE.match(v):
        return True
    if _ABS_PATH_RE.match(v):
        return v.count("/") >= 2 or bool(_LOWER_WORD_SEG_RE.search(v)) or len(v) <= 24
    return False


def _high_entropy(v: str) -> bool:
    """A random-looking token: a 20+ char string of token characters whose longest alphanumeric
    run is 16+ chars, mixes letters and digits, is not made of words, and has high entropy."""
    if not 20 <= len(v) <= 4096 or not _TOKENISH_RE.match(v):
        return False
    if _HEX_RE.match(v) or _UUID_RE.match(v) or _VERSION_RE.match(v) or _looks_path(v):
        return False
    if v.startswith(("sha1-", "sha256-", "sha384-", "sha512-")):  # subresource-integrity digests
        return False
    run = max(_ALNUM_RUN_RE.findall(v), key=len, default="")
    if len(run) < 16 or _HEX_RE.match(run) or not any(c.isdigit() for c in run):
        return False
    if not any(c.isalpha() for c in run):
        return False
    e = _entropy(v)
    if any(c.islower() for c in run) and any(c.isupper() for c in run):
        letters = sum(c.isalpha() for c in run)
        return e >= 3.5 and sum(len(w) for w in _WORD_PIECE_RE.findall(run)) < 0.5 * letters
    return len(run) >= 24 and sum(c.isdigit() for c in run) >= 3 and e >= 3.8

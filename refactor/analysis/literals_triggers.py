"""What the literal scan accepts and where it looks: the tests a candidate must pass (a real password,
token or user:token, a Basic credential, a credential-named variable), how a span is recorded, and
the trigger words (a trie regex over one lower-cased pass) that decide which pattern families run at
all.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache

from refactor.analysis.literals_patterns import _AUTH_KEYS, _AWS_SET, _CARGO_LOGIN, _DOCTL_T, _HOST_TOKEN, _NUGET_P, Literal
from refactor.analysis.secrets import (
    _FORMAT_KEYS,
    _HEX_RE,
    _UUID_RE,
    _high_entropy,
    is_stand_in,
    judge,
    name_tokens,
    real_literal,
)
from refactor.codecache import regex


@lru_cache(maxsize=4096)  # a text repeating one value judges it once (bounded: memory flat)
def _ok_password(value: str, user: str | None = None, min_len: int = 4) -> bool:
    return real_literal(value, user, min_len)


@lru_cache(maxsize=4096)
def _ok_token(value: str, min_len: int = 12) -> bool:
    """A bearer-style token literal: long enough, letters and digits (or a UUID / long hex)."""
    if not real_literal(value, None, min_len):
        return False
    if _UUID_RE.match(value) or (_HEX_RE.match(value) and len(value) >= 20):
        return True
    return (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)) or _high_entropy(value)


def _ok_user_token(value: str) -> bool:
    """A URL user-info or ``curl -u TOKEN:`` user part that is itself a credential."""
    if "$" in value or is_stand_in(value):
        return False
    return _high_entropy(value) or (bool(_HEX_RE.match(value)) and len(value) >= 32)


def _basic(value: str) -> bool:
    """A Basic credential: when it decodes to ``user:password``, judge the password."""
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return _ok_token(value, 8)
    if ":" in raw and raw.isprintable():
        user, _, pw = raw.partition(":")
        return _ok_password(pw, user) or (not pw and _ok_user_token(user))
    return _ok_token(value, 8)


@lru_cache(maxsize=512)  # per text: bounded (memory flat in the number of files)
def _cred_name(name: str) -> bool:
    """A variable name that holds a credential by itself (judged on the name alone)."""
    v = judge(name.replace(".", "_").replace("-", "_"), None)
    return v.secret and any(
        t
        in (
            "password",
            "passwd",
            "pwd",
            "pass",
            "psw",
            "pword",
            "passphrase",
            "secret",
            "token",
            "apikey",
            "credential",
            "credentials",
            "creds",
            "pw",
            "key",
        )
        for t in name_tokens(name.replace(".", "_").replace("-", "_"))
    )


_ECOSYSTEM = (
    (_NUGET_P, "NuGet source password", _ok_password, "nuget"),
    (_DOCTL_T, "doctl access token", _ok_token, "doctl"),
    (_CARGO_LOGIN, "cargo registry token", _ok_token, "cargo"),
    (_AWS_SET, "AWS secret key", _ok_token, "aws"),
    (_HOST_TOKEN, "package host token", _ok_token, "host_token"),
)


def _add(
    out: list[Literal],
    seen: set[tuple[int, int]],
    start: int,
    end: int,
    kind: str,
    strong: bool = False,
    pieces: tuple[tuple[int, int], ...] = (),
) -> None:
    if end <= start or (start, end) in seen:
        return
    seen.add((start, end))
    out.append(Literal(start, end, kind, strong, pieces))


def _trie(words: list[str]) -> str:
    """A regex matching any of ``words``, factored by common prefixes (the regex engine then tests
    one or two branches per position instead of every word)."""
    trie: dict = {}
    for w in words:
        d = trie
        for ch in w:
            d = d.setdefault(ch, {})
        d[""] = {}

    def emit(d: dict) -> str:
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(d.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in d else body

    return emit(trie)


# Lower-case substrings whose presence lets a family of patterns run at all: one pass over the
# lower-cased text finds them (overlapping, via a look-ahead), and most texts contain none.
_FAMILY_TRIGGERS = {
    "pem": ("private key", "putty-user-key-file"),
    "url": ("://",),
    "curl": ("curl",),
    "authorization": ("authorization",),
    "auth_header": tuple(k for k in _AUTH_KEYS[1:]),
    "npm": ("_auth", "_password"),
    "yarn": ("npmauth",),
    "pw_opt": ("-pass", "-pwd", ".pass", ".pwd", "storepass", "keypass", "pass:"),
    "token_opt": ("-token", "-apikey", "-api-key", "-secret", "-bearer", "-access-key", "-license-key", "-licence-key"),
    "login": (" login", "\tlogin"),
    "mysql": ("mysql", "mariadb"),
    "redis": ("redis-cli",),
    "sqlcmd": ("sqlcmd", "bcp "),
    "htpasswd": ("htpasswd",),
    "sshpass": ("sshpass",),
    "mongo": ("mongo",),
    "netrc": ("machine",),
    "chpasswd": ("chpasswd",),
    "net_user": ("net user",),
    "sql": ("identified", "password"),
    "nuget": ("nuget",),
    "doctl": ("doctl",),
    "cargo": ("cargo",),
    "aws": ("aws_secret_access_key", "aws_session_token"),
    "host_token": ("github-oauth.", "gitlab-token.", "gitlab-oauth.", "bearer.", "pypi-token."),
    "bundle": ("bundle",),
    "http_basic": ("http-basic.",),
    "assign": ("pass", "pwd", "secret", "token", "apikey", "api_key", "api-key", "credential", "psw"),
}
_FORMAT_TRIGGERS = tuple(tuple(k.lower() for k in keys) for keys in _FORMAT_KEYS)
_ALL_TRIGGERS = sorted({t for ts in _FAMILY_TRIGGERS.values() for t in ts} | {t for ts in _FORMAT_TRIGGERS for t in ts})
_TRIGGER_RE = regex(_trie(_ALL_TRIGGERS))
# a trigger found also stands for every shorter trigger it starts with ("sk-ant-" -> "sk-")
_TRIGGER_SET = frozenset(_ALL_TRIGGERS)
_PREFIXES = {t: frozenset(t[:k] for k in range(1, len(t) + 1) if t[:k] in _TRIGGER_SET) for t in _ALL_TRIGGERS}


def _triggers(low: str) -> frozenset[str]:
    found: set[str] = set()
    search = _TRIGGER_RE.search
    m = search(low)
    while m is not None:
        found |= _PREFIXES[m.group(0)]
        m = search(low, m.start() + 1)
    return frozenset(found)


def _has(found: frozenset[str], family: str) -> bool:
    return any(t in found for t in _FAMILY_TRIGGERS[family])

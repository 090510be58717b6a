"""Committed credentials anywhere in a text: token formats, private-key blocks, and literals in
authenticating positions (URL user-info, ``curl -u``, auth headers, ``.npmrc`` tokens,
``--password``, ``docker login -p``, ``mysql -p…``, ``htpasswd -b``, SQL ``IDENTIFIED BY``, an
assignment to a password-named variable).

``scan(text)`` returns the spans; it never returns or formats a value except as the span itself,
which callers only use to *mask* it (``secrets.literal_tokens``) or to describe it by length.

Linear time: one pass over the lower-cased text finds which trigger words occur (most texts hold
none of a family's words, and the family's patterns never run); no pattern nests quantifiers over
overlapping character classes; the command-scoped patterns (``curl … -u``, ``docker login … -p``)
look for their option at most 512 characters into one simple command (no ``;``, ``|``, ``&`` or
newline; backslash-continued lines count); overlapping candidates are read once. The tests feed
pathological inputs (every pattern's trigger repeated 40,000 times) under a time bound.

What is a literal: not a ``$VAR``/``$(…)`` expansion, not a template marker, path, URL, option or
stand-in (``secrets.is_stand_in``: ``changeme``, ``admin``, ``postgres:postgres``, ``<token>``,
``password123``, ``%PASS%``). Token formats are reported wherever they are, comments included;
the positional patterns only where they mean something (``scan(..., strong_only=True)`` for
comment text).

This module holds the scan and its callers' helpers; the patterns are in ``literals_patterns`` and
the candidate tests and trigger words in ``literals_triggers``.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache

from refactor.analysis.gap import GapPattern
from refactor.analysis.literals_patterns import (
    _AUTH_HEADER,
    _AUTH_SCHEME,
    _BUNDLE,
    _CHPASSWD,
    _CONTEXT_FORMATS,
    _CRED_WORDS,
    _CURL_U,
    _FIXED_PW,
    _FLAG_WORDS,
    _HTPASSWD,
    _HTTP_BASIC,
    _KEY_END,
    _KEY_HEADER,
    _KEYTOOL_PW,
    _LOGIN_P,
    _MONGO_P,
    _MYSQL_CMD,
    _MYSQL_P,
    _MYSQLADMIN_PW,
    _NET_USER,
    _NETRC_PW,
    _NPM_SET,
    _NPMRC_LINE,
    _OPENSSL_PW,
    _PW_OPT,
    _REDIS_A,
    _SHORT_PW_OPT,
    _SQL_HINT,
    _SQL_PW,
    _SQLCMD_P,
    _SSHPASS_P,
    _STDIN_LOGIN,
    _TOKEN_OPT,
    _URL_PW,
    _URL_USER,
    _YARN_AUTH,
    Literal,
    _assignments,
)
from refactor.analysis.literals_patterns import _CRED_RUN as _CRED_RUN
from refactor.analysis.literals_patterns import _CRED_WORD as _CRED_WORD
from refactor.analysis.literals_patterns import _DOCTL_T as _DOCTL_T
from refactor.analysis.literals_patterns import _NUGET_P as _NUGET_P
from refactor.analysis.literals_triggers import (
    _ECOSYSTEM,
    _FORMAT_TRIGGERS,
    _add,
    _basic,
    _cred_name,
    _has,
    _ok_password,
    _ok_token,
    _ok_user_token,
    _triggers,
)
from refactor.analysis.secrets import (
    _FORMATS,
    is_stand_in,
)
from refactor.codecache import regex

__all__ = ["Literal", "in_dockerfile", "mask_values", "scan"]
_B64_RUN = regex(r"[A-Za-z0-9+/]{16,}={0,2}")
_NETRC_KEYWORDS = frozenset({"machine", "default", "login", "password", "account", "macdef", "port"})  # never a password


@lru_cache(maxsize=256)
def scan(text: str, strong_only: bool = False) -> tuple[Literal, ...]:
    """Every committed credential in ``text`` (see the module docstring), in text order."""
    low = text.lower()
    found = _triggers(low)
    if not found:
        return ()  # the common case: one pass
    out: list[Literal] = []
    seen: set[tuple[int, int]] = set()
    # 1. token formats
    for (label, rx), keys in zip(_FORMATS, _FORMAT_TRIGGERS):
        if not keys or label in _CONTEXT_FORMATS or not any(k in found for k in keys):
            continue
        for m in rx.finditer(text):
            tok = m.group(0)
            if is_stand_in(tok.split("_", 1)[-1]) or "EXAMPLE" in tok.upper():
                continue
            _add(out, seen, m.start(), m.end(), label, True)
    # 2. private-key blocks with key material (a header followed by $VAR is a template)
    if _has(found, "pem"):
        pos = 0
        while (hm := _KEY_HEADER.search(text, pos)) is not None:
            end_m = _KEY_END.search(text, hm.end(), hm.end() + 16384)
            stop = end_m.start() if end_m else min(len(text), hm.end() + 16384)
            body = text[hm.end() : stop]
            dollar = body.find("$")
            runs = [(hm.end() + r.start(), hm.end() + r.end()) for r in _B64_RUN.finditer(body) if dollar < 0 or r.start() < dollar]
            if sum(e - s for s, e in runs) >= 64:
                _add(out, seen, runs[0][0], runs[-1][1], "private key", True, tuple(runs))
            pos = max(stop, hm.end())  # a header inside this block's window starts no new block
    if strong_only:
        return tuple(sorted(out, key=lambda x: x.start))
    # 3. URL user-info
    if _has(found, "url") and "@" in text:
        for m in _URL_PW.finditer(text):
            user, pw = m.group(1), m.group(2)
            if pw.lower() in _FIXED_PW:  # https://TOKEN:x-oauth-basic@github.com: the user is the token
                if _ok_user_token(user):
                    _add(out, seen, m.start(1), m.end(1), "URL user-info token")
            elif pw and not any(c in pw for c in "[]*^\\|(){}") and _ok_password(pw, user):
                _add(out, seen, m.start(2), m.end(2), "URL password")
            elif not pw and _ok_user_token(user):
                _add(out, seen, m.start(1), m.end(1), "URL user-info token")
        for m in _URL_USER.finditer(text):
            if _ok_user_token(m.group(1)):
                _add(out, seen, m.start(1), m.end(1), "URL user-info token")
    # 4. curl -u user:password
    if _has(found, "curl") and (" -u" in text or "--user" in text or "\t-u" in text):
        for m in _CURL_U.finditer(text):
            user, pw = m.group(2), m.group(3)
            if pw and _ok_password(pw, user):
                _add(out, seen, m.start(3), m.end(3), "curl -u password")
            elif not pw and _ok_user_token(user):
                _add(out, seen, m.start(2), m.end(2), "curl -u token")
    # 5. auth headers
    if _has(found, "authorization"):
        for m in _AUTH_SCHEME.finditer(text):
            scheme, val = m.group(1).lower(), m.group(2)
            if _basic(val) if scheme == "basic" else _ok_token(val, 12):
                _add(out, seen, m.start(2), m.end(2), "HTTP Authorization header value")
    if _has(found, "auth_header") and ":" in text:
        for m in _AUTH_HEADER.finditer(text):
            if _ok_token(m.group(2), 12):
                _add(out, seen, m.start(2), m.end(2), f"{m.group(1).upper()} header value")
    # 6. npm / yarn tokens
    if _has(found, "npm"):
        for m in _NPMRC_LINE.finditer(text):
            val, end = _printf_cut(m, 2)
            if _npm_ok(m.group(1), val):
                _add(out, seen, m.start(2), end, "npm registry credential")
        if "config" in low:
            for m in _NPM_SET.finditer(text):
                if _npm_ok(m.group(1), m.group(2)):
                    _add(out, seen, m.start(2), m.end(2), "npm registry credential")
    if _has(found, "yarn"):
        for m in _YARN_AUTH.finditer(text):
            if _ok_token(m.group(1), 8):
                _add(out, seen, m.start(1), m.end(1), "yarn npmAuthToken")
    # 7. password and token options, login commands, database clients
    if _has(found, "pw_opt"):
        if "--" in text and ("-pass" in low or "-pwd" in low or ".pass" in low or ".pwd" in low):
            for m in _PW_OPT.finditer(text):
                if re.split(r"[-.]", m.group(1), maxsplit=1)[0] in _FLAG_WORDS:
                    continue
                if _ok_password(m.group(3)):
                    _add(out, seen, m.start(3), m.end(3), "--password option value")
        for rx, kind in (
            (_SHORT_PW_OPT, "-Password option value"),
            (_KEYTOOL_PW, "keystore password"),
            (_OPENSSL_PW, "openssl pass: phrase"),
        ):
            for m in rx.finditer(text):
                g = m.lastindex or 1
                if _ok_password(m.group(g)):
                    _add(out, seen, m.start(g), m.end(g), kind)
    if _has(found, "token_opt") and "--" in text:
        for m in _TOKEN_OPT.finditer(text):
            if re.split(r"[-.]", m.group(1), maxsplit=1)[0] in _FLAG_WORDS:
                continue
            if _ok_token(m.group(3), 12):
                _add(out, seen, m.start(3), m.end(3), "--token option value")
    singles: list[tuple[re.Pattern[str] | GapPattern, str]] = []
    if _has(found, "login"):
        singles += [(_LOGIN_P, "registry login password")]
        if "echo" in low or "printf" in low:
            singles += [(_STDIN_LOGIN, "registry login password")]
    if _has(found, "mysql") and _MYSQL_CMD.search(text):
        singles += [(_MYSQL_P, "database client password"), (_MYSQLADMIN_PW, "database client password")]
    if _has(found, "redis"):
        singles += [(_REDIS_A, "database client password")]
    if _has(found, "sqlcmd"):
        singles += [(_SQLCMD_P, "database client password")]
    if _has(found, "sshpass"):
        singles += [(_SSHPASS_P, "sshpass password")]
    if _has(found, "mongo"):
        singles += [(_MONGO_P, "database client password")]
    if _has(found, "chpasswd"):
        singles += [(_CHPASSWD, "account password (chpasswd)")]
    if _has(found, "net_user"):
        singles += [(_NET_USER, "account password (net user)")]
    for pat, kind in singles:
        for m in pat.finditer(text):
            if _ok_password(m.group(1)):
                _add(out, seen, m.start(1), m.end(1), kind)
    if _has(found, "netrc"):
        for m in _NETRC_PW.finditer(text):
            if m.group(1) not in _NETRC_KEYWORDS and _ok_password(m.group(1)):
                _add(out, seen, m.start(1), m.end(1), "netrc password")
    if _has(found, "htpasswd"):
        for m in _HTPASSWD.finditer(text):
            if "b" not in m.group(1):
                continue
            users = m.group(2).split()
            if _ok_password(m.group(3), users[-1] if users else None):
                _add(out, seen, m.start(3), m.end(3), "htpasswd password")
    # 7b. package-source credentials of other ecosystems
    for pat, kind, check, family in _ECOSYSTEM:
        if not _has(found, family):
            continue
        for m in pat.finditer(text):
            g = m.lastindex or 1
            if check(m.group(g)):
                _add(out, seen, m.start(g), m.end(g), kind)
    if _has(found, "bundle") and "config" in low:
        for m in _BUNDLE.finditer(text):
            if _ok_password(m.group(2), m.group(1)):
                _add(out, seen, m.start(2), m.end(2), "Bundler source password")
    if _has(found, "http_basic"):
        for m in _HTTP_BASIC.finditer(text):
            if _ok_password(m.group(2), m.group(1)):
                _add(out, seen, m.start(2), m.end(2), "http-basic password")
    # 8. SQL passwords
    if _has(found, "sql") and ("identified" in low or _SQL_HINT.search(low)):
        for m in _SQL_PW.finditer(text):
            if _ok_password(m.group(2)):
                _add(out, seen, m.start(2), m.end(2), "SQL password")
    # 9. an assignment of a literal to a credential-named variable (PGPASSWORD=…, -Ddb.password=…)
    if _has(found, "assign") and "=" in text:
        for m in _assignments(text, low):
            name, (val, end) = m.group(1), _printf_cut(m, 2)
            if not any(w in name.lower() for w in _CRED_WORDS) or not _cred_name(name):
                continue
            if _ok_password(val, None, 6 if "pass" in name.lower() or "pwd" in name.lower() else 8):
                _add(out, seen, m.start(2), end, "credential assigned to a secret-named variable")
    return tuple(sorted(out, key=lambda x: x.start))


def _printf_cut(m: re.Match[str], g: int) -> tuple[str, int]:
    """Group ``g`` of ``m`` and its end, cut before a printf escape (``\\n``, ``\\t``, ``\\r``) that
    ends the line a printf/echo writes (``printf 'password = VALUE\\n'``); any other backslash is
    kept (the value is then no literal)."""
    val = m.group(g)
    i = val.find("\\")
    if i > 0 and val[i + 1 : i + 2] in ("n", "t", "r"):
        return val[:i], m.start(g) + i
    return val, m.end(g)


def _npm_ok(key: str, value: str) -> bool:
    if key == "authToken":
        return _ok_token(value, 8) or _ok_password(value, None, 16)
    if key == "auth":
        return _basic(value)
    # _password is base64 of the password
    try:
        pw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
        return _ok_password(pw) if pw.isprintable() else _ok_password(value)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return _ok_password(value)


def mask_values(text: str) -> list[str]:
    """The text of every literal ``scan`` finds, split per line (a diff line is masked by
    substring): what outputs must never print."""
    out: list[str] = []
    seen: set[str] = set()  # membership in ``out`` (a list scan per piece was quadratic)
    for lit in scan(text):
        spans = lit.pieces or ((lit.start, lit.end),)
        for s, e in spans:
            for piece in text[s:e].split("\n"):
                piece = piece.strip("\r\\ \t")
                if len(piece) >= 3 and piece not in seen:
                    seen.add(piece)
                    out.append(piece)
    return out


_FILE_NAME = regex(r"[A-Za-z0-9_.\-]+")
# where a file name starts: after ``>``, ``/``, ``cp `` or ``mv ``, blanks and one quote; the name is
# the whole run of name characters there (what ``v(?![\w.\-])`` matched for a name ``v``)
_FILE_NAME_AT = regex(r"(?=(?:>|/|\bcp\s|\bmv\s)\s*[\"']?([\w.\-]+))")


def _file_names(text: str) -> frozenset[str]:
    """Every word of ``text`` used as a file name (see ``_file_reference``), in one pass: each name
    run is reached from the one anchor before it, so the look-ahead reads every character a bounded
    number of times (the regex per literal read the whole text once per literal: quadratic)."""
    return frozenset(m.group(1) for m in _FILE_NAME_AT.finditer(text))


def _file_reference(text: str, lit: Literal, names: frozenset[str] | None = None) -> bool:
    """The value is also used as a file name in the text (``--aes-pwd proxy-secret`` after
    ``> proxy-secret``): an option that takes a file, not a password. ``names`` is
    ``_file_names(text)``, computed once per text by the caller."""
    v = text[lit.start : lit.end]
    if lit.strong or not _FILE_NAME.fullmatch(v):
        return False
    return v in (_file_names(text) if names is None else names)


def in_dockerfile(df) -> list[tuple[Literal, int | None, bool]]:
    """Committed credentials of a parsed Dockerfile: (literal, index of the instruction holding it
    or None, whether it is in a comment). In comments only self-identifying formats and key blocks
    count (a commented-out ``curl -u user:pass`` is more often an example than a secret)."""
    text = df.text
    hits = scan(text)
    if not hits:
        return []
    import bisect

    cstarts = [c.start for c in df.comments]
    starts = [ins.start for ins in df.instructions]
    out: list[tuple[Literal, int | None, bool]] = []
    names: frozenset[str] | None = None  # the text's file names: computed once, on first need
    for lit in hits:
        k = bisect.bisect_right(cstarts, lit.start) - 1
        in_comment = k >= 0 and df.comments[k].start <= lit.start < df.comments[k].end
        if in_comment and not lit.strong:
            continue
        if not lit.strong and names is None:
            names = _file_names(text)
        if _file_reference(text, lit, names):
            continue
        j = bisect.bisect_right(starts, lit.start) - 1
        idx = j if j >= 0 and df.instructions[j].start <= lit.start < df.instructions[j].end else None
        out.append((lit, idx, in_comment))
    return out

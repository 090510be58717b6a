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
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache

from refactor.analysis.gap import GapPattern, RunScan, word_in_run_starts
from refactor.analysis.secrets import (
    _FORMAT_KEYS,
    _FORMATS,
    _HEX_RE,
    _UUID_RE,
    _high_entropy,
    is_stand_in,
    judge,
    name_tokens,
    real_literal,
)

__all__ = ["Literal", "in_dockerfile", "mask_values", "scan"]


@dataclass(frozen=True, slots=True)
class Literal:
    start: int  # offsets of the credential itself in the scanned text
    end: int
    kind: str  # what it is, from this module's vocabulary ("URL password", "GitHub token", ...)
    strong: bool  # recognisable by its format alone (reported in comments too)
    pieces: tuple[tuple[int, int], ...] = ()  # for multi-line literals (key blocks): spans to mask


# Formats that are judged by context here (not by the whole-text format scan).
_CONTEXT_FORMATS = {"npmrc credential", "HTTP authorization credentials", "private key"}

_WS = r"(?:[ \t]|\\\r?\n)+"  # blanks, backslash-continued lines included
_OPT_WS = r"(?:[ \t]|\\\r?\n)*"
# an option near its command word: the rest of one simple command, lazily and at most 512
# characters, between them (GapPattern: every word and every option found once, so a text full of
# command words stays linear)
_V = r"[^\s\"';|&<>()]+"  # a bare shell word (expansions included: they are rejected later)
_QV = r"[\"']?(" + _V + r")[\"']?"  # an optionally quoted word: one group, the value

# -- URL user-info ------------------------------------------------------------------------------
_URL_PW = re.compile(r"://([^\s/@:'\"`<>]*):([^\s/@'\"`<>]*)@(?=[^\s@'\"/])")
_URL_USER = re.compile(r"://([A-Za-z0-9_\-.~+=]{20,})@(?=[^\s@'\"/])")

# -- curl -u / --user ---------------------------------------------------------------------------
_CURL_U = GapPattern(
    r"curl(?<![^\s;|&(`]curl)(?:[ \t]|\\\r?\n)",
    r"(?<=\s)(?:-u|--user)(?:" + _WS + r"|=)?" + r"([\"']?)([^\s\"';|&<>():]*):([^\s\"';|&<>()]*)\1",
    limit=512,
)

# -- HTTP authentication headers ----------------------------------------------------------------
_AUTH_SCHEME = re.compile(
    r"(?i)(?<![\w-])(?:proxy-)?authorization[ \t]*:[ \t]*(bearer|basic|token|bot|apikey|api-key|sso-key|digest)[ \t]+([A-Za-z0-9+/=._~\-:]+)"
)
_AUTH_HEADER = re.compile(
    r"(?i)(?<![\w-])(x-jfrog-art-api|private-token|job-token|deploy-token|x-api-key|x-auth-token|x-vault-token|"
    r"x-access-token|x-registry-auth|circle-token|travis-api-token)[ \t]*:[ \t]*([A-Za-z0-9+/=._~\-]+)"
)
_AUTH_KEYS = (
    "authorization",
    "x-jfrog-art-api",
    "private-token",
    "job-token",
    "deploy-token",
    "x-api-key",
    "x-auth-token",
    "x-vault-token",
    "x-access-token",
    "x-registry-auth",
    "circle-token",
    "travis-api-token",
)

# -- npm / yarn ---------------------------------------------------------------------------------
_NPMRC_LINE = re.compile(r"_(?<![^\s\"':=;]_)(authToken|auth|password)[ \t]*=[ \t]*" + _QV)
_NPM_SET = re.compile(
    r"config"
    + _WS
    + r"set"
    + _WS
    + r"(?:--?[A-Za-z-]+(?:=\S+)?"
    + _WS
    + r")*[\"']?(?:[^\s\"']*:)?_(authToken|auth|password)[\"']?"
    + _WS
    + _QV
)
_YARN_AUTH = re.compile(r"npmAuth(?:Token|Ident)[\"']?(?:[ \t]*[:=][ \t]*|" + _WS + r")" + _QV)

# -- password / token options -------------------------------------------------------------------
_FLAG_WORDS = {
    "disabled",
    "disable",
    "no",
    "with",
    "without",
    "skip",
    "allow",
    "require",
    "required",
    "enable",
    "ask",
    "prompt",
    "empty",
    "random",
    "generate",
    "reset",
    "show",
    "use",
    "force",
    "check",
    "verify",
    "expire",
    "keep",
    "min",
    "max",
    "store",
    "save",
    "hash",
    "hashed",
    "print",
    "stdin",
    "change",
}
_PW_OPT = re.compile(r"--(?<![\w-]--)((?:[a-z0-9]+[-.])*)(password|passwd|pass|pwd|passphrase|passcode)(?:" + _WS + r"|=)" + _QV)
_TOKEN_OPT = re.compile(
    r"--(?<![\w-]--)((?:[a-z0-9]+[-.])*)(token|api-key|apikey|access-token|auth-token|secret-key|secret-access-key|"
    r"client-secret|oauth2-bearer|bearer|private-token|license-key|licence-key)(?:" + _WS + r"|=)" + _QV
)
_SHORT_PW_OPT = re.compile(r"-(?<![\w-]-)(Password|password|passwd|Passwd|pwd|Pwd|PasswordText)(?:" + _WS + r"|=|:)" + _QV)
_KEYTOOL_PW = re.compile(r"-(?<![\w-]-)(?:src|dest|new)?(?:store|key)pass(?:" + _WS + r")" + _QV)
_OPENSSL_PW = re.compile(r"-pass(?<![\w-]-pass)(?:in|out|word)?" + _WS + r"[\"']?pass:([^\s\"';|&<>()]+)[\"']?")
_LOGIN_P = GapPattern(
    r"(?<![\w-])(?:docker|podman|buildah|skopeo|helm|oras|crane|nerdctl|regctl|oc|cf|az|argocd|tkn|cosign|notation|"
    r"singularity|apptainer|heroku|vault|ibmcloud)(?:" + _WS + r"(?:registry|acr|auth|remote))?" + _WS + r"login\b",
    r"(?<=\s)-p(?:" + _WS + r"|=)?" + _QV,
    limit=512,
)
_STDIN_LOGIN = GapPattern(
    r"(?<![\w-])(?:echo|printf)"
    + _WS
    + r"(?:-[neE]+"
    + _WS
    + r")?"
    + _QV
    + _OPT_WS
    + r"\|"
    + _OPT_WS
    + r"(?:sudo"
    + _WS
    + r")?(?:docker|podman|buildah|skopeo|helm|oras|crane|nerdctl|regctl)\b",
    r"login",
    limit=256,
    continuation=False,
)
_MYSQL_P = GapPattern(
    r"(?<![\w.-])(?:mysql|mysqladmin|mysqldump|mysqlimport|mysqlcheck|mysqlsh|mysqlpump|mariadb|mariadb-admin|"
    r"mariadb-dump)(?=[ \t])",
    r"(?<=\s)-p[\"']?([^\s\"';|&<>()]+)[\"']?",
    limit=512,
)
_MYSQL_CMD = re.compile(r"m(?<![^\s;|&(]m)(?:ysql(?:admin|dump|import|check|sh|pump)?|ariadb(?:-admin|-dump)?)[ \t]")
_MYSQLADMIN_PW = GapPattern(r"(?<![\w.-])(?:mysqladmin|mariadb-admin)(?=[ \t])", r"(?<=\s)password" + _WS + _QV, limit=512)
_REDIS_A = GapPattern(r"redis-cli(?<![\w-]redis-cli)\b", r"(?<=\s)-a" + _WS + _QV, limit=512)
_SQLCMD_P = GapPattern(r"(?<![\w-])(?:sqlcmd|bcp)\b", r"(?<=\s)-P" + _WS + _QV, limit=512)
_HTPASSWD = re.compile(
    r"(?<![\w-])htpasswd"
    + _WS
    + r"((?:-[A-Za-z]+"
    + _WS
    + r")+)((?:[^\s\-;|&<>()][^\s;|&<>()]*"
    + _WS
    + r"){1,2})"
    + _QV
    + r"(?=[ \t]*(?:$|[;|&)>\n]|\\\r?\n))"
)

_SSHPASS_P = re.compile(r"sshpass(?<![\w-]sshpass)" + _WS + r"-p" + _OPT_WS + _QV)
_MONGO_P = GapPattern(r"mongo(?<![\w-]mongo)(?:sh|dump|restore|import|export)?(?=[ \t])", r"(?<=\s)-p(?:" + _WS + r"|=)" + _QV, limit=512)
_NETRC_PW = re.compile(r"machine(?<![\w-]machine)" + _WS + r"\S+" + _WS + r"login" + _WS + r"\S+" + _WS + r"password" + _WS + _QV)
_CHPASSWD = GapPattern(
    r"(?:(?<![\w-])echo|(?<![\w-])printf)" + _WS + r"(?:-[neE]+" + _WS + r")?[\"']?[^:\s\"'$]+:([^\s\"';|&<>()]+)[\"']?",
    r"\|" + _OPT_WS + r"(?:sudo" + _WS + r")?chpasswd",
    limit=256,
    stops="|\n",
    continuation=False,
)
_NET_USER = re.compile(
    r"(?i)net(?<![\w-]net)"
    + _WS
    + r"user"
    + _WS
    + r"(?:/add"
    + _WS
    + r")?[^\s/]+"
    + _WS
    + r"([^\s/\"';|&<>()*]+)(?="
    + _WS
    + r"/add\b|[ \t]*(?:$|[;&|\n]|\\\r?\n))"
)
_NUGET_P = GapPattern(r"nuget(?<![\w-]nuget)\b", r"(?<=\s)-p(?:" + _WS + r"|=)" + _QV, limit=512)
_DOCTL_T = GapPattern(r"doctl(?<![\w-]doctl)" + _WS + r"auth" + _WS + r"init\b", r"(?<=\s)-t(?:" + _WS + r"|=)" + _QV, limit=512)
_CARGO_LOGIN = re.compile(r"cargo(?<![\w-]cargo)" + _WS + r"login(?:" + _WS + r"--registry(?:=|" + _WS + r")\S+)?" + _WS + _QV)
_AWS_SET = re.compile(r"configure" + _WS + r"set" + _WS + r"(?:[\w.-]+\.)?(aws_secret_access_key|aws_session_token)" + _WS + _QV)
# bundle config [set] [--global] HOST user:password / composer|poetry config http-basic.HOST user password
_BUNDLE = re.compile(
    r"bundle(?<![\w-]bundle)"
    + _WS
    + r"config"
    + _WS
    + r"(?:set"
    + _WS
    + r")?(?:--\w+"
    + _WS
    + r")*[^\s\-;|&<>()]\S*"
    + _WS
    + r"[\"']?([^\s\"':;|&<>()]+):([^\s\"';|&<>()]+)[\"']?"
)
_HTTP_BASIC = RunScan(r"http-basic(?<![\w-]http-basic)\.\S+" + _WS + _QV + _WS + _QV, r"http-basic(?<![\w-]http-basic)")
_HOST_TOKEN = re.compile(r"(?<![\w-])(?:github-oauth|gitlab-token|gitlab-oauth|bearer|pypi-token)\.\S+" + _WS + _QV)
_FIXED_PW = {"x-oauth-basic", "x-oauth", "oauth", "oauth2", "basic"}

# -- SQL ----------------------------------------------------------------------------------------
_SQL_PW = re.compile(
    r"(?i)\b(?:identified" + _WS + r"(?:with" + _WS + r"\S+" + _WS + r")?by(?:" + _WS + r"password)?|"
    r"with" + _WS + r"(?:encrypted" + _WS + r"|unencrypted" + _WS + r")?password|"
    r"(?:alter|create)"
    + _WS
    + r"(?:user|role)"
    + _WS
    + r"\S+"
    + _WS
    + r"(?:with"
    + _WS
    + r")?(?:login"
    + _WS
    + r")?password)"
    + _OPT_WS
    + r"(\\?[\"'])([^\"'\n$`\\]+)\1"
)

_SQL_HINT = re.compile(r"password[ \t]+\\?['\"]")

# -- assignment to a credential-named variable --------------------------------------------------
_ASSIGN = re.compile(r"(?:(?<=\\[nt])|(?<![\w$.\-/\\]))(?:-D)?([A-Za-z_][A-Za-z0-9_.\-]*)[ \t]*=[ \t]*" + _QV)
# what (?:pass|…|psw)[a-z0-9_.\-]*[ \t]*= finds, from each run of name characters once (gap.py)
_CRED_WORD = re.compile(r"pass|pwd|secret|token|api[_-]?key|credential|psw")
_CRED_RUN = re.compile(r"(?<![a-z0-9_.\-])[a-z0-9_.\-]++[ \t]*+=")


def _assignments(text: str, low: str):
    """``_ASSIGN`` matches whose name holds a credential word: found from the word (a cheap
    search in the lower-cased text), then matched from the start of the name."""
    last = -1
    if len(low) != len(text):  # lower() changed the length (rare Unicode): offsets would not align
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    for i in word_in_run_starts(low, _CRED_WORD, _CRED_RUN):
        while i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_.-"):
            i -= 1
        if i < last:
            continue  # inside the previous match: every character is read once
        m = _ASSIGN.match(text, i)
        if m is None and i >= 2 and text[i - 2 : i] == "-D":
            m = _ASSIGN.match(text, i - 2)
        if m is not None:
            last = m.end()
            yield m


_CRED_WORDS = ("pass", "pwd", "secret", "token", "apikey", "api_key", "api-key", "credential", "psw")

# -- private-key blocks -------------------------------------------------------------------------
_KEY_HEADER = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d")
_B64_RUN = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_KEY_END = re.compile(r"-----END[ A-Z0-9_-]{0,100}-----")


def _ok_password(value: str, user: str | None = None, min_len: int = 4) -> bool:
    return real_literal(value, user, min_len)


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


@lru_cache(maxsize=2048)
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
_TRIGGER_RE = re.compile(_trie(_ALL_TRIGGERS))
# a trigger found also stands for every shorter trigger it starts with ("sk-ant-" -> "sk-")
_PREFIXES = {t: frozenset(u for u in _ALL_TRIGGERS if t.startswith(u)) for t in _ALL_TRIGGERS}


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
            if _npm_ok(m.group(1), m.group(2)):
                _add(out, seen, m.start(2), m.end(2), "npm registry credential")
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
    if _has(found, "netrc"):
        singles += [(_NETRC_PW, "netrc password")]
    if _has(found, "chpasswd"):
        singles += [(_CHPASSWD, "account password (chpasswd)")]
    if _has(found, "net_user"):
        singles += [(_NET_USER, "account password (net user)")]
    for pat, kind in singles:
        for m in pat.finditer(text):
            if _ok_password(m.group(1)):
                _add(out, seen, m.start(1), m.end(1), kind)
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
            name, val = m.group(1), m.group(2)
            if not any(w in name.lower() for w in _CRED_WORDS) or not _cred_name(name):
                continue
            if _ok_password(val, None, 6 if "pass" in name.lower() or "pwd" in name.lower() else 8):
                _add(out, seen, m.start(2), m.end(2), "credential assigned to a secret-named variable")
    return tuple(sorted(out, key=lambda x: x.start))


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
    for lit in scan(text):
        spans = lit.pieces or ((lit.start, lit.end),)
        for s, e in spans:
            for piece in text[s:e].split("\n"):
                piece = piece.strip("\r\\ \t")
                if len(piece) >= 3 and piece not in out:
                    out.append(piece)
    return out


def _file_reference(text: str, lit: Literal) -> bool:
    """The value is also used as a file name in the text (``--aes-pwd proxy-secret`` after
    ``> proxy-secret``): an option that takes a file, not a password."""
    v = text[lit.start : lit.end]
    if lit.strong or not re.fullmatch(r"[A-Za-z0-9_.\-]+", v):
        return False
    return re.search(r"(?:>|/|\bcp\s|\bmv\s)\s*[\"']?" + re.escape(v) + r"(?![\w.\-])", text) is not None


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
    for lit in hits:
        k = bisect.bisect_right(cstarts, lit.start) - 1
        in_comment = k >= 0 and df.comments[k].start <= lit.start < df.comments[k].end
        if in_comment and not lit.strong:
            continue
        if _file_reference(text, lit):
            continue
        j = bisect.bisect_right(starts, lit.start) - 1
        idx = j if j >= 0 and df.instructions[j].start <= lit.start < df.instructions[j].end else None
        out.append((lit, idx, in_comment))
    return out

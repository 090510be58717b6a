"""Splitting a variable name into the secret classifier's tokens (:func:`name_tokens`): separators and
camel case, glued credential words (``DBPWD``, ``ROOTPW``, ``APIKEY``) taken apart unless they are
whole English words, and the quantity, content and flag words that shape a name.
"""

from __future__ import annotations

from functools import lru_cache

from refactor.analysis.secrets_words import _CAMEL_RE, _KEY, _KEY_CRED_MODS, _MEDIUM, _NEG_HEADS, _SEP_RE, _STRONG

# A first word that makes the name a quantity (MAX_TOKENS, NUM_TOKENS).
_QUANTITY_PREFIXES = {"max", "min", "num", "number", "total", "default_max"}
# A trailing word that names the encoding of the content (CREDENTIALS_JSON): look past it.
_CONTENT_SUFFIXES = {
    "json",
    "b64",
    "base64",
    "data",
    "value",
    "content",
    "contents",
    "encoded",
    "str",
    "string",
    "text",
    "pem",
    "yaml",
    "yml",
    "xml",
}
# A first word that makes the name a boolean flag.
_FLAG_PREFIXES = {
    "use",
    "enable",
    "enabled",
    "disable",
    "disabled",
    "require",
    "requires",
    "required",
    "skip",
    "no",
    "is",
    "has",
    "allow",
    "with",
    "without",
    "should",
    "check",
    "verify",
    "validate",
    "ignore",
    "force",
    "show",
    "hide",
    "want",
    "do",
}

# Split glued words: BINTRAYKEY, SECRETFILE, NPMAUTHTOKEN, githubtoken, DBPASSWORD, ROOTPASS,
# DBPWD, ROOTPW. English words that end like a credential word (BYPASS, COMPASS, LOWPASS,
# MULTIPASS, OLDPWD) are whole words below.
_GLUE_SUFFIXES = (
    "password",
    "passwd",
    "passphrase",
    "credentials",
    "credential",
    "secret",
    "secrets",
    "tokens",
    "token",
    "apikey",
    "creds",
    "auth",
    "keys",
    "key",
    "username",
    "user",
    "file",
    "path",
    "dir",
    "url",
    "uri",
    "name",
    "host",
    "pass",
    "pwd",
    "pw",
)
_GLUE_MIN_PREFIX = {"key": 5, "keys": 5, "dir": 3, "url": 3, "name": 3, "host": 3, "auth": 3, "user": 3, "creds": 3}
# Words ending in "pass"/"pwd" that are no credential (filters, tools, a pass of an algorithm).
_PASS_WORDS = {
    "bypass",
    "compass",
    "encompass",
    "overpass",
    "underpass",
    "trespass",
    "surpass",
    "lowpass",
    "highpass",
    "bandpass",
    "allpass",
    "notchpass",
    "multipass",
    "onepass",
    "twopass",
    "singlepass",
    "firstpass",
    "secondpass",
    "finalpass",
    "subpass",
    "renderpass",
    "keepass",
    "keepassxc",
    "keepassx",
    "oldpwd",
    "chpwd",
    "getpwd",
}
# PASS as a pass of a process, not a password: PASS_THROUGH, BY_PASS, FIRST_PASS, TWO_PASS.
_PASS_NOT_CRED_NEXT = {"through", "thru", "rate", "filter", "band", "count", "fail", "number", "num"}
_PASS_NOT_CRED_PREV = {
    "by",
    "first",
    "second",
    "third",
    "final",
    "one",
    "two",
    "single",
    "multi",
    "low",
    "high",
    "band",
    "render",
    "sub",
    "over",
    "under",
    "all",
    "com",
    "en",
}
_KEY_GLUE_PREFIXES = {
    "api",
    "ssh",
    "gpg",
    "pgp",
    "pub",
    "priv",
    "auth",
    "access",
    "secret",
    "license",
    "master",
    "private",
    "public",
    "sign",
    "signing",
    "client",
    "service",
    "app",
    "root",
    "admin",
    "user",
    "deploy",
    "enc",
}
_WHOLE_WORDS = (
    set(_STRONG)
    | set(_MEDIUM)
    | _KEY
    | set(_NEG_HEADS)
    | _CONTENT_SUFFIXES
    | _KEY_CRED_MODS
    | {
        "keystore",
        "keytab",
        "keychain",
        "tokenizer",
        "tokenizers",
        "author",
        "authors",
        "monkey",
        "turnkey",
        "whiskey",
        "hockey",
        "donkey",
        "jockey",
        "turkey",
        "hotkey",
        "passive",
        "bypass",
        "compass",
        "passthrough",
        "oauth",
        "goprivate",
        "askpass",
        "passport",
        "passports",
        "passenger",
        "passengers",
        "password",
        "passwd",
        "passphrase",
    }
    | _PASS_WORDS
)


def _unglue(tok: str, depth: int = 0) -> list[str]:
    if tok in _WHOLE_WORDS or depth > 1 or not tok.isalpha():
        return [tok]
    for suf in _GLUE_SUFFIXES:
        if tok.endswith(suf) and len(tok) > len(suf):
            pre = tok[: -len(suf)]
            if len(pre) < _GLUE_MIN_PREFIX.get(suf, 2) and not (suf in _KEY and pre in _KEY_GLUE_PREFIXES):
                continue
            return _unglue(pre, depth + 1) + [suf]
    return [tok]


@lru_cache(maxsize=8192)
def _raw_tokens(name: str) -> tuple[str, ...]:
    out: list[str] = []
    for part in _SEP_RE.split(name):
        if part:
            out.extend(p.lower() for p in _CAMEL_RE.split(part) if p)
    return tuple(out)


@lru_cache(maxsize=8192)
def name_tokens(name: str) -> tuple[str, ...]:
    """Lower-case words of a name: split on ``_ - .``, camelCase and glued credential words."""
    out: list[str] = []
    for tok in _raw_tokens(name):
        out.extend(_unglue(tok))
    return tuple(out)


def _upper_norm(name: str) -> str:
    return "_".join(_raw_tokens(name)).upper()

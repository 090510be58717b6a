"""Stand-in values for the secret classifier: references, placeholders (``changeme``, ``<token>``,
``xxxx``), well-known default credentials, sequences and templates, explicit dummies, public keys,
and :func:`real_literal` (a literal that could be a real credential).
"""

from __future__ import annotations

import re

from refactor.analysis.secrets_shapes import _BOOL_WORDS, _REF_RE, _URL_RE, _looks_path
from refactor.lazyre import lazy

_PLACEHOLDER_WORDS = {
    "changeme",
    "changeit",
    "placeholder",
    "dummy",
    "fake",
    "sample",
    "example",
    "todo",
    "tbd",
    "fixme",
    "none",
    "null",
    "nil",
    "undefined",
    "unset",
    "empty",
    "default",
    "redacted",
    "secret",
    "secrets",
    "password",
    "passwd",
    "token",
    "key",
    "apikey",
    "test",
    "testing",
    "foo",
    "bar",
    "baz",
    "na",
    "notset",
    "unknown",
    "value",
    "replace",
    "replaceme",
    "setme",
    "tochange",
    "mysecret",
    "mytoken",
    "mypassword",
    "user",
    "username",
    "api",
    "your",
    "you",
    "here",
    "insert",
    "enter",
    "fill",
    "put",
    "add",
    "set",
    "change",
    "me",
    "it",
    "this",
    "the",
    "a",
    "an",
    "my",
    "xxx",
    "new",
    "real",
    "actual",
    "access",
    "auth",
    "private",
    "pass",
    "pwd",
    "id",
    "client",
    "will",
    "be",
    "replaced",
    "need",
    "to",
    "in",
    "at",
    "build",
    "time",
    "runtime",
    "not",
    "so",
    "generated",
    "provided",
    "later",
}
_PLACEHOLDER_HINT_RE = lazy(
    r"(?:^|_)(?:change_?me|change_?it|placeholder|dummy|fake|example|sample|replace(?:d|_?me)?|"
    r"your|insert|enter|fill|not_?set|redacted|todo|tbd|fixme)(?:_|$)|_here$"
)
_BRACKETED_RE = lazy(r"^[<\[{(]+\s*[A-Za-z][A-Za-z0-9 _.:\-]*\s*[>\]})]*$")
_NOT_ALNUM = lazy(r"[\W_]+")  # what str.isalnum() refuses (re's \w is isalnum() or "_")
_DUMMY_RE = lazy(r"(?:^|_)(?:dummy|not_?a_?(?:real_?)?secret|build_?only)(?:_|$)")


def _norm_words(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")


def is_reference(value: str | None) -> bool:
    """The value contains a ``$VAR`` / ``${VAR...}`` reference (build-time expansion)."""
    if not value:
        return False
    return "$" in value and _REF_RE.search(value) is not None


def is_placeholder(value: str) -> bool:
    """An empty or stand-in value: ``""``, ``changeme``, ``<token>``, ``your_token_here``, ``xxxx``, ...."""
    v = value.strip()
    if not v:
        return True
    if v[0] in "<[{(" and len(v) <= 64 and _BRACKETED_RE.match(v):  # <token>, [YOUR KEY], {{ x }}
        return True
    if "example" in v.lower():  # AKIAIOSFODNN7EXAMPLE and other documentation examples
        return True
    alnum = _NOT_ALNUM.sub("", v.lower())
    if not alnum:
        return True
    if len(alnum) >= 3 and len(set(alnum)) == 1:  # xxxx, 0000, ****-0000-...
        return True
    norm = _norm_words(v)
    if norm in _PLACEHOLDER_WORDS or _PLACEHOLDER_HINT_RE.search(norm):
        return True
    words = norm.split("_")
    return len(words) > 1 and all(w in _PLACEHOLDER_WORDS for w in words)


# Well-known default credentials of images and tutorials: committed, but nothing to rotate.
_DEFAULT_CREDENTIALS = {
    "admin",
    "administrator",
    "root",
    "toor",
    "guest",
    "postgres",
    "mysql",
    "mariadb",
    "oracle",
    "sa",
    "demo",
    "default",
    "public",
    "anonymous",
    "nobody",
    "user",
    "test",
    "tester",
    "testing",
    "pass",
    "password",
    "passwd",
    "pwd",
    "secret",
    "letmein",
    "qwerty",
    "welcome",
    "login",
    "master",
    "super",
    "superuser",
    "sysadmin",
    "system",
    "manager",
    "operator",
    "dev",
    "devel",
    "development",
    "local",
    "localhost",
    "docker",
    "container",
    "app",
    "application",
    "service",
    "db",
    "database",
    "sample",
    "insecure",
    "unsafe",
    "temp",
    "tmp",
    "temporary",
    "some",
    "very",
    "top",
    "foobar",
    "hello",
    "world",
    "prod",
    "production",
    "staging",
    "stage",
    "jenkins",
    "gitlab",
    "github",
    "ci",
    "build",
    "runner",
    "keycloak",
    "rabbitmq",
    "redis",
    "mongo",
    "mongodb",
    "elastic",
    "kibana",
    "grafana",
    "minio",
    "minioadmin",
    "airflow",
    "jupyter",
    "wordpress",
    "drupal",
    "odoo",
    "nextcloud",
    "owncloud",
    "changeit",
    "changeme",
    "defaultpassword",
    "default_password",
    "xxxx",
}
_PLACEHOLDER_PIECES = frozenset(_PLACEHOLDER_WORDS | _DEFAULT_CREDENTIALS | {"my", "our", "new", "old"})
_SEQUENCES = (
    "0123456789",
    "9876543210",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz2wsx3edc",
    "zyxwvutsrqponmlkjihgfedcba",
)
_LEET = str.maketrans("0134578@$!", "oieastbasi")
_TEMPLATE_RE = lazy(r"%[A-Z_][A-Z0-9_]*%|@[A-Z_][A-Z0-9_]{2,}@|\{\{|\}\}|<[^<>]*>|\[\[|__[A-Z0-9_]+__")


# the value says it is not real: not-a-real-pw-…, fake_token_…, sample-secret-…
_SAYS_FAKE_RE = lazy(r"(?:^|_)(?:not_?a_?real|not_?real|fake|sample|dummy|bogus|mock)(?:_|$)")


def _segments_to_words(word: str) -> bool:
    """``word`` is a concatenation of placeholder/default words (``mypassword``, ``yourtoken``)."""
    n = len(word)
    if n == 0 or n > 40:
        return False
    # forward from the positions pieces reach (a real credential reaches few: ~16 lookups, not ~600)
    ok = [True] + [False] * n
    for j in range(n):
        if ok[j]:
            for i in range(j + 1, min(n, j + 16) + 1):
                if word[j:i] in _PLACEHOLDER_PIECES:
                    ok[i] = True
    return ok[n]


def is_stand_in(value: str, user: str | None = None) -> bool:
    """A value that is no real credential although it is not a ``$VAR`` reference: a placeholder
    (``changeme``, ``<token>``, ``xxx``), a well-known default (``admin``, ``guest``, ``root``), the
    user name repeated (``postgres:postgres``), a keyboard or counting sequence (``123456``,
    ``qwerty``), a placeholder word with digits (``password123``, ``Passw0rd``), or a template
    marker (``%PASS%``, ``@PASSWORD@``, ``{{ .Values.pw }}``, ``__TOKEN__``)."""
    v = value.strip().strip("\"'")
    if is_placeholder(v) or _is_dummy(v) or _SAYS_FAKE_RE.search(_norm_words(v)):
        return True
    if _TEMPLATE_RE.search(v):
        return True
    low = v.lower()
    if user and low == user.strip().strip("\"'").lower():
        return True
    alnum = _NOT_ALNUM.sub("", low)
    if not alnum:
        return True
    if len(alnum) <= 16 and any(alnum in seq for seq in _SEQUENCES):
        return True
    for k in range(1, min(4, len(alnum) // 2) + 1):  # abcabc, 123123, xyxyxy
        if len(alnum) % k == 0 and alnum[:k] * (len(alnum) // k) == alnum:
            return True
    runs = re.findall(r"[a-z]+|[0-9]+", alnum)
    if len(alnum) <= 16 and len(runs) <= 3 and all(any(r in seq for seq in _SEQUENCES) for r in runs):
        return True  # abc123, qwerty1234
    for cand in (alnum, _NOT_ALNUM.sub("", low.translate(_LEET))):
        letters = cand.rstrip("0123456789")
        # placeholder words, optionally followed by digits: mypassword, password123, Passw0rd
        if letters.isalpha() and _segments_to_words(letters):
            return True
    return False


# [A-Za-z_][A-Za-z0-9_]{2,}=(?!=|$), tried from the first letter of each word only (found where any is)
_EMBEDDED_ASSIGN = lazy(r"(?<![A-Za-z0-9_])[0-9]*+[A-Za-z_][A-Za-z0-9_]{2,}+=(?!=|$)")


def real_literal(value: str | None, user: str | None = None, min_len: int = 4) -> bool:
    """A literal that could be a real credential in an authenticating position (a URL password, a
    ``curl -u`` password, a ``--password`` option): not a reference, template, path, URL, option,
    or stand-in (see ``is_stand_in``), and at least ``min_len`` characters."""
    if not value:
        return False
    v = value.strip()
    if len(v) < min_len or len(v) > 1024:
        return False
    if "$" in v or "`" in v or "\\" in v or v[0] in "-,=:;" or _EMBEDDED_ASSIGN.search(v):
        return False  # a reference, an option, or the rest of a list of settings (A=,B=x)
    if _URL_RE.match(v) or _looks_path(v) or v.lower() in _BOOL_WORDS:
        return False
    return not is_stand_in(v, user)


_SSH_PUBKEY_RE = lazy(
    r"^(?:ssh-(?:rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp\d+|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+AAAA[A-Za-z0-9+/]"
)
_PUBLIC_PEM_RE = lazy(r"-----BEGIN (?:[A-Z0-9]+ )?(?:PUBLIC KEY|CERTIFICATE|PGP PUBLIC KEY BLOCK|X509 CRL)-----")


def is_public_key(value: str) -> bool:
    """An SSH public key line or a PEM public key/certificate (public by design)."""
    v = value.strip()
    if "PRIVATE KEY" in v:
        return False
    return bool(_SSH_PUBKEY_RE.match(v) or ("-----BEGIN" in v and _PUBLIC_PEM_RE.search(v)))


def _is_dummy(value: str) -> bool:
    return bool(_DUMMY_RE.search(_norm_words(value)))

"""Is this ARG/ENV a secret?  Name, value and use evidence, combined into a verdict.

Pure functions, no I/O.  Every function here may see a real credential, so the one hard rule is:
**no reason or description ever contains a character of a value.**  Reasons are built only from
this module's own vocabulary (token words, format labels, pattern descriptions); they never echo
the variable's name verbatim either (only vocabulary words found in it), and ``describe_value``
reports lengths and format labels only.

Scoring
=======
Each piece of evidence carries a weight (positive = towards secret).  ``judge`` adds them up and
calls the variable a secret when the total reaches ``THRESHOLD`` (2.0), with three overrides that
are applied first, in this order:

1. **Public-bundle prefix** (``VITE_``, ``REACT_APP_``, ``NEXT_PUBLIC_``, ...): never a secret; the
   value is compiled into client code and a secret mount cannot help.  A separate rule reports
   these.  ``score`` is still the score of the name *without* the prefix, so a caller can tell
   ``VITE_API_KEY`` (secret-looking, exposed) from ``VITE_BASE_URL``.
2. **Policy globs** (``[tool.dfix] secret-names`` / ``allow-names``; case-insensitive fnmatch): the
   most specific matching glob (most literal characters) decides; a tie goes to ``secret-names``.
   Weight +/-10, kind ``config``.
3. **Use evidence** (kind ``use``, supplied by the caller's data-flow analysis): when the use weights
   add up to >= 2 the variable reaches an authenticating position (URL user-info, an
   ``Authorization`` header, ``curl -u``, ``.npmrc _authToken``, ``docker login -p``, ...) and is a
   secret whatever its name or default says.

Otherwise the total decides.  Name weights (``name_evidence``):

* known credential names and patterns (``AWS_SECRET_ACCESS_KEY``, ``*_ACCESS_KEY_ID``, ``NPM_TOKEN``,
  ``PIP_EXTRA_INDEX_URL``, ``BUNDLE_<HOST>__<TLD>``, ``*_PRIVATE_KEY``, artifact-repository
  credentials, ...): **+4**, and name shapes are not applied;
* generic credential-bearing names (``*_INDEX_URL``, database connection URLs, ``AUTHED_*_URL``): +3;
* strong tokens (``TOKEN``, ``PASSWORD``, ``PASSWD``, ``PWD``, ``PASS``, ``PSW``, ``PAT``, ``SECRET``,
  ``APIKEY``, ``CREDENTIAL(S)``, ``CREDS``, ``PASSPHRASE``, ...): +3;
* ``KEY`` as the head (last) word: +2.5, +3 after a credential modifier (``API``, ``ACCESS``,
  ``LICENSE``, ``MASTER``, ...), 0.5 after a TLS word (``SSL_CERT_KEY``: a file path in practice),
  0 after a lookup word (``FILE_KEY``, ``CACHE_KEY``, ``SORT_KEY``); ``KEY`` elsewhere: +1;
* ``AUTH``: +1 (+1.5 as the head word, +3 in ``BASIC_AUTH``/``NPM_AUTH``/``HTTP_AUTH``);
* the positive part is the strongest token, +0.5 when several credential words occur;
* a negative shape makes the name score **-2** whatever its positive tokens were: the head word is a
  non-secret noun (``*_URL``, ``*_FILE``, ``*_PATH``, ``*_VERSION``, ``*_ID``, ``*_NAME``, ``*_MODE``,
  ``*_USER``, ...), the name is a flag (``USE_*``, ``ENABLE_*``, ``REQUIRE_*``, ...), or the key is
  public (``PUBLIC``, ``PUB``, ``PUBLISHABLE``, ``GPG``/``PGP`` fingerprints, browser API keys of
  Maps/Firebase, ``KMS`` key references).

Value weights (``value_evidence``; a ``$VAR`` reference is neutral, never a literal):

* a known token format, a private-key block, a URL with a literal password, a credential query
  parameter, an HTTP ``Authorization`` value: **+4** (literal secret);
* a high-entropy literal (>= 20 chars, entropy >= 3.5 bits/char, mixed character classes, not a
  path/URL/version/hex digest/UUID): +2 (literal secret);
* a URL whose password (or user-info) is a ``$VAR`` reference: +2 (+1 for user-info only);
* an empty or placeholder default (``changeme``, ``your_token``, ``<token>``, ``xxxx``): -0.5 (an
  empty runtime slot is still a slot for a secret);
* an explicit ``dummy`` value (a stand-in that only satisfies a build step): -3;
* a file path, a URL without credentials: -3; a boolean, version, host name or e-mail: -2;
* a publishable-key format (Stripe ``pk_``): -3.

So a strong name with no default scores 3 (secret); with an empty default 2.5 (secret); with a
``dummy`` default 0 (not secret); a shaped name (``TOKEN_URL``) scores -2 and needs a literal token
(+4) or a use to become a secret; a bland name (``FOO``) needs a literal secret or a use.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "THRESHOLD",
    "Evidence",
    "Policy",
    "Verdict",
    "committed_password",
    "describe_value",
    "holds_credential",
    "is_literal_secret",
    "is_placeholder",
    "is_public_key",
    "is_reference",
    "is_stand_in",
    "judge",
    "name_evidence",
    "name_tokens",
    "public_bundle_prefix",
    "real_literal",
    "token_format",
    "value_evidence",
]

THRESHOLD = 2.0
USE_DECISIVE = 2.0  # summed use weight from which a use alone makes the variable a secret


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str  # "name" | "value" | "use" | "config"
    weight: float  # positive = towards secret, negative = towards not secret
    reason: str  # short human text; never contains the value


@dataclass(frozen=True)
class Policy:
    secret_names: tuple[str, ...] = ()  # fnmatch globs, case-insensitive
    allow_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    secret: bool
    score: float
    evidence: tuple[Evidence, ...]
    # The default is a committed real-looking credential (rotate it): is_literal_secret(value), and
    # the verdict is secret or the name is a public-bundle variable; False under allow-names.
    literal: bool


# ------------------------------------------------------------------------------------------------
# Names

_SEP_RE = re.compile(r"[_\-.\s/:]+")
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

_STRONG = {
    "token": "TOKEN",
    "tokens": "TOKEN",
    "password": "PASSWORD",
    "passwords": "PASSWORD",
    "passwd": "PASSWD",
    "pwd": "PWD",
    "pass": "PASS",
    "pword": "PWORD",
    "psw": "PSW",
    "passphrase": "PASSPHRASE",
    "passcode": "PASSCODE",
    "pat": "PAT",
    "secret": "SECRET",
    "secrets": "SECRET",
    "apikey": "APIKEY",
    "apikeys": "APIKEY",
    "credential": "CREDENTIAL",
    "credentials": "CREDENTIALS",
    "creds": "CREDS",
    "cred": "CRED",
    "bearer": "BEARER",
    "privatekey": "PRIVATEKEY",
}
_MEDIUM = {"pw": "PW", "salt": "SALT", "pepper": "PEPPER", "jwt": "JWT"}  # +2.5 as head, +1 elsewhere
_KEY = {"key", "keys"}
# Words that, just before a head KEY, make it a credential key.
_KEY_CRED_MODS = {
    "api",
    "access",
    "secret",
    "private",
    "priv",
    "license",
    "licence",
    "master",
    "signing",
    "sign",
    "encryption",
    "enc",
    "crypt",
    "crypto",
    "service",
    "client",
    "account",
    "auth",
    "app",
    "admin",
    "root",
    "deploy",
    "upload",
    "ssh",
    "session",
    "cookie",
    "hmac",
    "webhook",
    "storage",
    "sas",
}
# Words that, just before a head KEY, make it a TLS setting (a file path in practice).
_KEY_TLS_MODS = {"ssl", "tls", "cert", "certificate", "https", "ca", "server", "nginx", "apache"}
# Words that, just before a head KEY, make it a lookup key, not a credential.
_KEY_LOOKUP_MODS = {
    "file",
    "cache",
    "sort",
    "primary",
    "foreign",
    "partition",
    "hot",
    "idempotency",
    "lookup",
    "object",
    "routing",
    "dict",
    "hash",
    "range",
    "index",
    "i18n",
    "translation",
    "config",
    "settings",
    "variables",
    "vars",
    "sequence",
    "natural",
    "schema",
    "idx",
    "row",
    "group",
    "dedup",
    "unique",
    "composite",
    "shard",
    "label",
    "tag",
    "json",
    "yaml",
    "cursor",
    "column",
    "field",
    "param",
    "query",
    "header",
    "map",
    "attribute",
    "property",
    "prop",
    "setting",
    "option",
}
_AUTH_CRED_MODS = {"basic", "npm", "http", "proxy", "registry", "docker", "htpasswd"}

# Public / non-confidential key kinds (any position before the head).
_PUBLIC_MODS = {
    "public": "PUBLIC",
    "pub": "PUB",
    "publishable": "PUBLISHABLE",
    "site": "SITE",
    "browser": "BROWSER",
    "authorized": "AUTHORIZED (SSH authorized_keys)",
}
_FINGERPRINT_MODS = {"gpg": "GPG", "pgp": "PGP", "gnupg": "GNUPG"}
_BROWSER_KEY_MODS = {
    "map": "MAPS",
    "maps": "MAPS",
    "gmap": "MAPS",
    "gmaps": "MAPS",
    "googlemap": "MAPS",
    "googlemaps": "MAPS",
    "firebase": "FIREBASE",
}
_REFERENCE_KEY_MODS = {"kms": "KMS"}
_STRONG_OVER_PUBLIC = {
    "secret",
    "secrets",
    "private",
    "priv",
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "pass",
    "psw",
    "credential",
    "credentials",
    "creds",
    "privatekey",
}

# A head word that makes the variable hold something other than a credential.
_NEG_HEADS = {
    "url": "URL",
    "urls": "URL",
    "uri": "URI",
    "uris": "URI",
    "endpoint": "ENDPOINT",
    "endpoints": "ENDPOINT",
    "host": "HOST",
    "hostname": "HOST",
    "hosts": "HOST",
    "server": "SERVER",
    "servers": "SERVER",
    "file": "FILE",
    "files": "FILE",
    "filename": "FILE",
    "path": "PATH",
    "paths": "PATH",
    "dir": "DIR",
    "dirs": "DIR",
    "directory": "DIR",
    "folder": "DIR",
    "location": "LOCATION",
    "home": "HOME",
    "version": "VERSION",
    "versions": "VERSION",
    "ver": "VERSION",
    "tag": "TAG",
    "id": "ID",
    "ids": "ID",
    "uuid": "ID",
    "arn": "ARN",
    "ocid": "ID",
    "ref": "REF",
    "name": "NAME",
    "names": "NAME",
    "alias": "ALIAS",
    "aliases": "ALIAS",
    "length": "LENGTH",
    "len": "LENGTH",
    "size": "SIZE",
    "bits": "SIZE",
    "mode": "MODE",
    "enabled": "ENABLED",
    "enable": "ENABLED",
    "disabled": "DISABLED",
    "type": "TYPE",
    "types": "TYPE",
    "kind": "TYPE",
    "expiry": "EXPIRY",
    "expires": "EXPIRY",
    "expiration": "EXPIRY",
    "exp": "EXPIRY",
    "ttl": "TTL",
    "lifetime": "LIFETIME",
    "timeout": "TIMEOUT",
    "duration": "DURATION",
    "validity": "VALIDITY",
    "interval": "INTERVAL",
    "rotation": "ROTATION",
    "region": "REGION",
    "zone": "ZONE",
    "domain": "DOMAIN",
    "domains": "DOMAIN",
    "port": "PORT",
    "count": "COUNT",
    "limit": "LIMIT",
    "retries": "COUNT",
    "prompt": "PROMPT",
    "manager": "MANAGER",
    "helper": "HELPER",
    "plugin": "PLUGIN",
    "provider": "PROVIDER",
    "method": "METHOD",
    "scheme": "SCHEME",
    "audience": "AUDIENCE",
    "issuer": "ISSUER",
    "realm": "REALM",
    "header": "HEADER",
    "format": "FORMAT",
    "algorithm": "ALGORITHM",
    "algo": "ALGORITHM",
    "user": "USER",
    "users": "USER",
    "username": "USERNAME",
    "usr": "USR",
    "login": "LOGIN",
    "email": "EMAIL",
    "owner": "OWNER",
    "account": "ACCOUNT",
    "sock": "SOCKET",
    "socket": "SOCKET",
    "level": "LEVEL",
    "flag": "FLAG",
    "required": "REQUIRED",
    "strategy": "STRATEGY",
    "backend": "BACKEND",
    "fingerprint": "FINGERPRINT",
    "fingerprints": "FINGERPRINT",
    "checksum": "CHECKSUM",
    "sha": "CHECKSUM",
    "sha1": "CHECKSUM",
    "sha256": "CHECKSUM",
    "sha512": "CHECKSUM",
    "md5": "CHECKSUM",
    "digest": "DIGEST",
    "sum": "CHECKSUM",
    "prefix": "PREFIX",
    "suffix": "SUFFIX",
    "parallelism": "PARALLELISM",
    "cert": "CERT",
    "certs": "CERT",
    "certificate": "CERT",
    "certificates": "CERT",
    "bundle": "BUNDLE",
    "keyring": "KEYRING",
    "keyserver": "KEYSERVER",
    "keyservers": "KEYSERVER",
    "policy": "POLICY",
    "scope": "SCOPE",
    "scopes": "SCOPE",
    "env": "ENV",
    "var": "VAR",
    "variable": "VAR",
    "field": "FIELD",
    "param": "PARAM",
    "label": "LABEL",
    "status": "STATUS",
    "regex": "PATTERN",
    "pattern": "PATTERN",
    "template": "TEMPLATE",
    "cmd": "COMMAND",
    "command": "COMMAND",
    "script": "SCRIPT",
    "program": "PROGRAM",
    "bin": "PROGRAM",
    "exe": "PROGRAM",
    "hint": "HINT",
    "max": "LIMIT",
    "min": "LIMIT",
    # quantities: a token lifetime, a hash cost, a token budget (ACCESS_TOKEN_EXPIRE_MINUTES)
    "expire": "EXPIRY",
    "expired": "EXPIRY",
    "expiration_time": "EXPIRY",
    "ms": "DURATION",
    "millis": "DURATION",
    "milliseconds": "DURATION",
    "sec": "DURATION",
    "secs": "DURATION",
    "second": "DURATION",
    "seconds": "DURATION",
    "mins": "DURATION",
    "minute": "DURATION",
    "minutes": "DURATION",
    "hour": "DURATION",
    "hours": "DURATION",
    "hrs": "DURATION",
    "day": "DURATION",
    "days": "DURATION",
    "week": "DURATION",
    "weeks": "DURATION",
    "rounds": "COUNT",
    "iterations": "COUNT",
    "cost": "COUNT",
    "workfactor": "COUNT",
    "threshold": "LIMIT",
    "quota": "LIMIT",
}
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


_KNOWN_EXACT = {
    # cloud
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECRET_KEY",
    "AWS_ACCESS_KEY",
    "AZURE_CLIENT_SECRET",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "DIGITALOCEAN_ACCESS_TOKEN",
    "HEROKU_API_KEY",
    "FIREBASE_TOKEN",
    "GOOGLE_CREDENTIALS",
    "GCLOUD_SERVICE_KEY",
    "CLOUDSDK_AUTH_ACCESS_TOKEN",
    # package registries and tools
    "NPM_TOKEN",
    "NPM_AUTH_TOKEN",
    "NODE_AUTH_TOKEN",
    "NPMRC",
    "NPM_RC",
    "NETRC",
    "PYPIRC",
    "NPM_CONFIG_AUTH",
    "NPM_CONFIG_AUTHTOKEN",
    "NPM_CONFIG_TOKEN",
    "YARN_NPM_AUTH_TOKEN",
    "YARN_NPM_AUTH_IDENT",
    "COMPOSER_AUTH",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_INDEX",
    "UV_DEFAULT_INDEX",
    "TWINE_PASSWORD",
    "CARGO_REGISTRY_TOKEN",
    "GEM_HOST_API_KEY",
    "NUGET_API_KEY",
    "DOCKER_AUTH_CONFIG",
    "GIT_CREDENTIALS",
    # forges and CI
    "CI_JOB_TOKEN",
    "CI_REGISTRY_PASSWORD",
    "CI_DEPLOY_PASSWORD",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GH_PAT",
    "GITHUB_PAT",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "GITLAB_TOKEN",
    "DOCKER_PASSWORD",
    "DOCKERHUB_PASSWORD",
    "DOCKERHUB_TOKEN",
    "SONAR_TOKEN",
    "CODECOV_TOKEN",
    "SENTRY_AUTH_TOKEN",
    "VAULT_TOKEN",
    "PULUMI_ACCESS_TOKEN",
    "SONAR_LOGIN",
    "SONAR_PASSWORD",
    # apps and APIs
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HUGGINGFACEHUB_API_TOKEN",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "KAGGLE_KEY",
    "WANDB_API_KEY",
    "RAILS_MASTER_KEY",
    "SECRET_KEY_BASE",
    "MAXMIND_LICENSE_KEY",
    "SSH_PRIVATE_KEY",
}
_KNOWN_PATTERNS: tuple[tuple[re.Pattern[str], float, str], ...] = tuple(
    (re.compile(p), w, r)
    for p, w, r in (
        (r"(?:^|_)ACCESS_KEY_ID$", 4.0, "access key id (the id half of an S3-style access-key credential pair)"),
        (r"(?:^|_)PRIVATE_KEY$", 4.0, "private key"),
        (r"(?:^|_)ID_(?:RSA|DSA|ECDSA|ED25519)$", 4.0, "SSH private key (id_* file content)"),
        (
            r"^(?:ARTIFACTORY|NEXUS|JFROG|BINTRAY|SONATYPE|OSSRH|CODEARTIFACT|ARTIFACT_REGISTRY)_"
            r"(?:\w+_)?(?:PASSWORD|PASS|PWD|PASSWD|TOKEN|API_?KEY|KEY|SECRET|CREDENTIALS?|CREDS)$",
            4.0,
            "artifact repository credential",
        ),
        (r"^POETRY_HTTP_BASIC_\w+_PASSWORD$", 4.0, "Poetry HTTP basic-auth password"),
        (r"^POETRY_PYPI_TOKEN_\w+$", 4.0, "Poetry repository token"),
        (r"^UV_INDEX_\w+_PASSWORD$", 4.0, "uv index password"),
        (r"^TF_TOKEN_\w+$", 4.0, "Terraform host token"),
        (r"^ORG_GRADLE_PROJECT_\w*(?:PASSWORD|TOKEN|SECRET|KEY)$", 4.0, "Gradle project credential"),
        (r"(?:^|_)INDEX_URL$", 3.0, "package index URL (commonly carries credentials)"),
        (
            r"(?:^|_)(?:DATABASE|DB|POSTGRES|POSTGRESQL|PG|PSQL|MYSQL|MARIADB|MONGO|MONGODB|MSSQL|"
            r"SQLSERVER)_(?:URL|URI|DSN|CONNECTION_STRING|CONN_STRING|CONNSTR)$",
            3.0,
            "database connection URL (normally carries a password)",
        ),
        (r"(?:^|_)CONNECTION_STRING$", 3.0, "connection string (normally carries a password)"),
        (r"(?:^|_)(?:AUTHED|AUTHENTICATED|CREDENTIALED)(?:_\w+)?_(?:URL|URI)$", 3.0, "URL described as authenticated"),
        (
            r"(?:^|_)(?:SLACK|DISCORD|TEAMS|MSTEAMS|MATTERMOST|ROCKETCHAT|GOOGLE_CHAT|GCHAT|ZULIP)_"
            r"(?:\w+_)?WEBHOOK(?:_URL|_URI)?$",
            3.0,
            "chat webhook URL (the URL itself is the credential)",
        ),
        (r"^STRIPE_(?:\w+_)?(?:SK|RK)$", 4.0, "Stripe secret/restricted key"),
    )
)
# Bundler reads credentials for a source host from BUNDLE_<HOST with . as __>.
_BUNDLE_RE = re.compile(r"^BUNDLE_(?!(?:MIRROR|BUILD|LOCAL|SSL|DISABLE|IGNORE)__)[A-Z0-9_]*[A-Z0-9]__[A-Z0-9]", re.IGNORECASE)
_KNOWN_NOT_SECRET = {
    "PWD": "shell working directory",
    "OLDPWD": "shell working directory",
    "GOOGLE_APPLICATION_CREDENTIALS": "path to a credentials file",
    "AWS_SHARED_CREDENTIALS_FILE": "path to a credentials file",
    "DOCKER_CONFIG": "configuration directory",
    "KUBECONFIG": "path to a config file",
    "SSH_AUTH_SOCK": "agent socket path",
    "GIT_ASKPASS": "helper program",
    "SSH_ASKPASS": "helper program",
    "SUDO_ASKPASS": "helper program",
}

_PUBLIC_BUNDLE_PREFIXES = (
    "NEXT_PUBLIC_",
    "NUXT_PUBLIC_",
    "NUXT_ENV_",
    "EXPO_PUBLIC_",
    "REACT_APP_",
    "VITE_",
    "VUE_APP_",
    "GATSBY_",
    "STORYBOOK_",
    "SANITY_STUDIO_",
    "REDWOOD_ENV_",
    "NG_APP_",
)


def public_bundle_prefix(name: str) -> str | None:
    """The client-bundle prefix of ``name`` (``VITE_``, ``REACT_APP_``, ``NEXT_PUBLIC_``, ...), else None.

    These frameworks inline such variables into the JavaScript they build, so the value is public
    by design; matching is case-sensitive, as the frameworks' own is.
    """
    for p in _PUBLIC_BUNDLE_PREFIXES:
        if name.startswith(p) and len(name) > len(p):
            return p
    return None


def _known(name: str) -> tuple[float, str] | None:
    norm = _upper_norm(name)
    if norm in _KNOWN_EXACT:
        return 4.0, f"known credential name {norm}"
    if _BUNDLE_RE.match(name):
        return 4.0, "Bundler source credential (BUNDLE_<HOST>)"
    for rx, w, reason in _KNOWN_PATTERNS:
        if rx.search(norm):
            return w, reason
    return None


@lru_cache(maxsize=8192)
def _name_evidence(name: str) -> tuple[Evidence, ...]:
    out: list[Evidence] = []
    prefix = public_bundle_prefix(name)
    if prefix:
        out.append(Evidence("name", 0.0, f"public-bundle prefix {prefix} (compiled into client code)"))
        name = name[len(prefix) :]
    norm = _upper_norm(name)
    if norm in _KNOWN_NOT_SECRET:
        out.append(Evidence("name", -3.0, f"known non-secret name ({_KNOWN_NOT_SECRET[norm]})"))
        return tuple(out)
    known = _known(name)
    if known:
        out.append(Evidence("name", known[0], known[1]))
        return tuple(out)
    toks = name_tokens(name)
    if not toks:
        return tuple(out)
    core = list(toks)
    stripped = ""
    while len(core) > 1 and core[-1] in _CONTENT_SUFFIXES:
        stripped = core.pop()
    head = core[-1]
    last = len(core) - 1

    pos: list[Evidence] = []
    for i, t in enumerate(core):
        prev = core[i - 1] if i else ""
        if t == "pass" and (prev in _PASS_NOT_CRED_PREV or (core[i + 1] if i + 1 < len(core) else "") in _PASS_NOT_CRED_NEXT):
            pos.append(Evidence("name", 0.0, "PASS names a pass of a process here, not a password"))
        elif t in _STRONG:
            pos.append(Evidence("name", 3.0, f"name token {_STRONG[t]}"))
        elif t in _MEDIUM:
            pos.append(Evidence("name", 2.5 if i == last else 1.0, f"name token {_MEDIUM[t]}"))
        elif t in _KEY:
            if i != last:
                pos.append(Evidence("name", 1.0, "name token KEY (not the head word)"))
            elif prev in _KEY_LOOKUP_MODS:
                pos.append(Evidence("name", 0.0, f"{prev.upper()} KEY is a lookup key, not a credential"))
            elif prev in _KEY_TLS_MODS:
                pos.append(Evidence("name", 0.5, f"{prev.upper()} KEY is a TLS setting, usually a file path"))
            elif prev in _KEY_CRED_MODS:
                pos.append(Evidence("name", 3.0, f"name words {prev.upper()} KEY"))
            else:
                pos.append(Evidence("name", 2.5, "name token KEY"))
        elif t == "auth":
            if prev in _AUTH_CRED_MODS:
                pos.append(Evidence("name", 3.0, f"name words {prev.upper()} AUTH"))
            else:
                pos.append(Evidence("name", 1.5 if i == last else 1.0, "name token AUTH"))
        elif t in ("private", "priv"):
            pos.append(Evidence("name", 1.0, "name token PRIVATE"))
    pos_total = 0.0
    if pos:
        best = max(pos, key=lambda e: e.weight)
        others = [e for e in pos if e is not best]
        pos_total = best.weight
        out.append(best)
        if best.weight > 0 and any(e.weight >= 1.0 for e in others):
            out.append(Evidence("name", 0.5, "several credential words"))
            pos_total += 0.5
        out.extend(e for e in others if e.weight <= 0)

    neg: str | None = None
    tokset = set(core)
    if head in _NEG_HEADS and not (stripped and head in ("file", "path")):
        neg = f"name shape *_{_NEG_HEADS[head]}"
    elif core[0] in _FLAG_PREFIXES and len(core) > 1:
        neg = f"flag-shaped name {core[0].upper()}_*"
    elif core[0] in _QUANTITY_PREFIXES and len(core) > 1 and not (tokset & _STRONG_OVER_PUBLIC - {"pass"}):
        neg = f"quantity-shaped name {core[0].upper()}_*"
    elif not (tokset & _STRONG_OVER_PUBLIC):
        pub = next((_PUBLIC_MODS[t] for t in core[:-1] if t in _PUBLIC_MODS), None) or (_PUBLIC_MODS.get(head) if len(core) == 1 else None)
        if pub:
            neg = f"{pub} key/token (not confidential)"
        elif head in _KEY or head == "apikey":
            for t in core[:-1]:
                if t in _FINGERPRINT_MODS:
                    neg = f"{_FINGERPRINT_MODS[t]} key (a public key fingerprint)"
                    break
                if t in _BROWSER_KEY_MODS:
                    neg = f"{_BROWSER_KEY_MODS[t]} API key (a browser key, public by design)"
                    break
                if t in _REFERENCE_KEY_MODS:
                    neg = f"{_REFERENCE_KEY_MODS[t]} key (a key reference, not key material)"
                    break
    if neg:
        out.append(Evidence("name", -(pos_total + 2.0), neg))
    return tuple(out)


def name_evidence(name: str) -> list[Evidence]:
    """Evidence from the variable name alone (see the module docstring for the weights)."""
    return list(_name_evidence(name))


# ------------------------------------------------------------------------------------------------
# Values

_REF_RE = re.compile(r"\$(?:\{#?([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_PURE_REF_RE = re.compile(r"^\$(?:\{#?([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")

_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(rx))
    for label, rx in (
        ("private key", r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d"),
        ("GitHub token", r"(?<![A-Za-z0-9])(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}(?![A-Za-z0-9])"),
        ("GitHub token", r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{50,}"),
        ("GitLab token", r"(?<![A-Za-z0-9])gl(?:pat|dt|ft|soat|rt|cbt|ptt|imt|agent|oas|ffct|cb)-[A-Za-z0-9_\-]{20,}"),
        ("GitLab token", r"(?<![A-Za-z0-9])GR1348941[A-Za-z0-9_\-]{20,}"),
        ("npm token", r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"),
        ("PyPI token", r"(?<![A-Za-z0-9])pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,}"),
        ("AWS access key id", r"(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        ("Docker Hub token", r"(?<![A-Za-z0-9])dckr_(?:pat|oat)_[A-Za-z0-9_\-]{20,}"),
        ("Slack token", r"(?<![A-Za-z0-9])xox[abposre]-[A-Za-z0-9\-]{10,}"),
        ("Slack webhook URL", r"hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/]{20,}"),
        ("Artifactory API key", r"(?<![A-Za-z0-9])AKCp[A-Za-z0-9]{60,}(?![A-Za-z0-9])"),
        ("Artifactory reference token", r"(?<![A-Za-z0-9])cmVmd[A-Za-z0-9]{59}(?![A-Za-z0-9])"),
        ("Vault token", r"(?<![A-Za-z0-9])hv[sb]\.[A-Za-z0-9_\-]{90,}"),
        ("JWT", r"(?<![A-Za-z0-9])eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
        ("Hugging Face token", r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{34,}(?![A-Za-z0-9])"),
        ("Anthropic API key", r"(?<![A-Za-z0-9])sk-ant-[a-z]{2,8}\d{2}-[A-Za-z0-9_\-]{40,}"),
        ("OpenAI API key", r"(?<![A-Za-z0-9])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,}"),
        ("OpenAI API key", r"(?<![A-Za-z0-9])sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}"),
        ("Stripe secret key", r"(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
        ("SendGrid API key", r"(?<![A-Za-z0-9])SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"),
        ("Azure storage account key", r"AccountKey=[A-Za-z0-9+/]{40,}={0,2}"),
        ("Telegram bot token", r"(?<![0-9:])\d{8,10}:AA[A-Za-z0-9_\-]{33}(?![A-Za-z0-9_\-])"),
        ("DigitalOcean token", r"(?<![A-Za-z0-9])do[opr]_v1_[a-f0-9]{64}(?![A-Za-z0-9])"),
        ("Shopify token", r"(?<![A-Za-z0-9])shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9])"),
        ("Age secret key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
        ("npmrc credential", r"(?:_authToken|_auth|_password)\s*=\s*(?![\s$\"']|\$)[^\s]{8,}"),
        ("HTTP authorization credentials", r"^(?:[Bb]asic|[Bb]earer|[Tt]oken)\s+[A-Za-z0-9+/=._~\-]{8,}$"),
    )
)
_GOOGLE_KEY_RE = re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}(?![A-Za-z0-9])")
_PUBLISHABLE_RE = re.compile(r"^pk_(?:live|test)_[A-Za-z0-9]{16,}$")
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]{1,20}://")
_URL_USERINFO_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{1,20}://([^/\s@?#]+)@[^\s@]")
_URL_QUERY_CRED_RE = re.compile(
    r"[?&][A-Za-z0-9_\-]*(?:token|key|secret|password|passwd|pwd|sig|signature|auth)=([^&#\s]+)",
    re.IGNORECASE,
)
_HEX_RE = re.compile(r"^(?:0x)?[0-9a-fA-F]+$")
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_VERSION_RE = re.compile(r"^[vV]?\d+(?:\.\d+){1,3}(?:[-+~._][0-9A-Za-z.\-+~]*)?$")
_HOST_RE = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,24}(?::\d{1,5})?$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_BOOL_WORDS = {"true", "false", "yes", "no", "on", "off", "0", "1", "enabled", "disabled", "enable", "disable"}
# (?:[…]+/?)* split a run of name characters every possible way before failing: exponential
# (a 78-byte /srv/aaaa…% took a minute). Possessive, it reads the run once; the language is the same.
_ABS_PATH_RE = re.compile(r"^(?:~|\.{1,2}|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)?/(?:[A-Za-z0-9_.@\-]++/?)*+$")
_WIN_PATH_RE = re.compile(r"^[A-Za-z]:\\")
_REL_PATH_RE = re.compile(r"^(?:[A-Za-z0-9_.@\-]+/)+[A-Za-z0-9_@\-]+\.[a-z0-9]{1,5}$")
_FILE_NAME_RE = re.compile(
    r"^[A-Za-z0-9_\-]+\.(?:pem|key|crt|cer|der|p12|pfx|jks|json|txt|conf|cfg|ini|"
    r"ya?ml|toml|env|pub|asc|gpg|xml|properties)$"
)
_LOWER_WORD_SEG_RE = re.compile(r"(?:^|/)[a-z][a-z0-9_.\-]*(?:/|$)")
_TOKENISH_RE = re.compile(r"^[A-Za-z0-9+/=_\-.~]+$")
_ALNUM_RUN_RE = re.compile(r"[A-Za-z0-9+/]+")
_WORD_PIECE_RE = re.compile(r"[A-Z]?[a-z]{4,}|[A-Z]{5,}")

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
_PLACEHOLDER_HINT_RE = re.compile(
    r"(?:^|_)(?:change_?me|change_?it|placeholder|dummy|fake|example|sample|replace(?:d|_?me)?|"
    r"your|insert|enter|fill|not_?set|redacted|todo|tbd|fixme)(?:_|$)|_here$"
)
_BRACKETED_RE = re.compile(r"^[<\[{(]+\s*[A-Za-z][A-Za-z0-9 _.:\-]*\s*[>\]})]*$")
_DUMMY_RE = re.compile(r"(?:^|_)(?:dummy|not_?a_?(?:real_?)?secret|build_?only)(?:_|$)")


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
    alnum = [c for c in v.lower() if c.isalnum()]
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
_TEMPLATE_RE = re.compile(r"%[A-Z_][A-Z0-9_]*%|@[A-Z_][A-Z0-9_]{2,}@|\{\{|\}\}|<[^<>]*>|\[\[|__[A-Z0-9_]+__")


# the value says it is not real: not-a-real-pw-…, fake_token_…, sample-secret-…
_SAYS_FAKE_RE = re.compile(r"(?:^|_)(?:not_?a_?real|not_?real|fake|sample|dummy|bogus|mock)(?:_|$)")


def _segments_to_words(word: str) -> bool:
    """``word`` is a concatenation of placeholder/default words (``mypassword``, ``yourtoken``)."""
    n = len(word)
    if n == 0 or n > 40:
        return False
    ok = [True] + [False] * n
    for i in range(1, n + 1):
        for j in range(max(0, i - 16), i):
            if ok[j] and word[j:i] in _PLACEHOLDER_PIECES:
                ok[i] = True
                break
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
    alnum = "".join(c for c in low if c.isalnum())
    if not alnum:
        return True
    if len(alnum) <= 16 and any(alnum in seq for seq in _SEQUENCES):
        return True
    for k in range(1, len(alnum) // 2 + 1):  # abcabc, 123123, xyxyxy
        if len(alnum) % k == 0 and alnum[:k] * (len(alnum) // k) == alnum and len(alnum) // k >= 2 and k <= 4:
            return True
    runs = re.findall(r"[a-z]+|[0-9]+", alnum)
    if len(alnum) <= 16 and len(runs) <= 3 and all(any(r in seq for seq in _SEQUENCES) for r in runs):
        return True  # abc123, qwerty1234
    for cand in (alnum, "".join(c for c in low.translate(_LEET) if c.isalnum())):
        letters = cand.rstrip("0123456789")
        # placeholder words, optionally followed by digits: mypassword, password123, Passw0rd
        if letters.isalpha() and _segments_to_words(letters):
            return True
    return False


# [A-Za-z_][A-Za-z0-9_]{2,}=(?!=|$), tried from the first letter of each word only (found where any is)
_EMBEDDED_ASSIGN = re.compile(r"(?<![A-Za-z0-9_])[0-9]*+[A-Za-z_][A-Za-z0-9_]{2,}+=(?!=|$)")


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


_SSH_PUBKEY_RE = re.compile(
    r"^(?:ssh-(?:rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp\d+|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+AAAA[A-Za-z0-9+/]"
)
_PUBLIC_PEM_RE = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )?(?:PUBLIC KEY|CERTIFICATE|PGP PUBLIC KEY BLOCK|X509 CRL)-----")


def is_public_key(value: str) -> bool:
    """An SSH public key line or a PEM public key/certificate (public by design)."""
    v = value.strip()
    if "PRIVATE KEY" in v:
        return False
    return bool(_SSH_PUBKEY_RE.match(v) or ("-----BEGIN" in v and _PUBLIC_PEM_RE.search(v)))


def _is_dummy(value: str) -> bool:
    return bool(_DUMMY_RE.search(_norm_words(value)))


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


def _url_creds(value: str) -> tuple[str, bool] | None:
    """('password'|'userinfo', literal?) for the first URL user-info in ``value``."""
    m = _URL_USERINFO_RE.search(value)
    if not m:
        return None
    userinfo = m.group(1)
    user, colon, pw = userinfo.partition(":")
    if colon and pw:
        if "$" in pw:
            return "password", False
        return "password", not is_placeholder(pw)
    if "$" in user:
        return "userinfo", False
    if _high_entropy(user) and not _HEX_RE.match(user):
        return "userinfo", True
    return None


def _query_creds(value: str) -> tuple[bool] | None:
    m = _URL_QUERY_CRED_RE.search(value)
    if not m:
        return None
    v = m.group(1)
    return (("$" not in v) and not is_placeholder(v) and len(v) >= 8,)


_LITERAL_AUTH_HEADER = re.compile(
    r"(?i)\b(?:authorization\s*:\s*(?:bearer|basic|token)|x-jfrog-art-api\s*:|private-token\s*:|job-token\s*:)"
    r"\s*([A-Za-z0-9+/=._~\-]{12,})"
)


# Substrings each format needs (index-aligned with _FORMATS): a cheap `in` test before the
# regex, whose leading look-behind keeps the regex engine from searching for its prefix itself.
_FORMAT_KEYS: tuple[tuple[str, ...], ...] = (
    ("-----BEGIN", "PuTTY-User-Key-File"),
    ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ("github_pat_",),
    ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glptt-", "glimt-", "glagent-", "gloas-", "glffct-", "glcb-"),
    ("GR1348941",),
    ("npm_",),
    ("pypi-AgE",),
    ("A3T", "AKIA", "ASIA", "ABIA", "ACCA"),
    ("dckr_",),
    ("xox",),
    ("hooks.slack.com",),
    ("AKCp",),
    ("cmVmd",),
    ("hvs.", "hvb."),
    ("eyJ",),
    ("hf_",),
    ("sk-ant-",),
    ("sk-",),
    ("sk-",),
    ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
    ("SG.",),
    ("AccountKey=",),
    (":AA",),
    ("dop_v1_", "doo_v1_", "dor_v1_"),
    ("shpat_", "shpca_", "shppa_", "shpss_"),
    ("AGE-SECRET-KEY-1",),
    ("_auth", "_password"),
    (),
)
assert len(_FORMAT_KEYS) == len(_FORMATS), "one key tuple per credential format"
_AUTH_HEADER_KEYS = ("authorization", "x-jfrog-art-api", "private-token", "job-token")
_ANY_KEY = re.compile("|".join(re.escape(k) for keys in _FORMAT_KEYS for k in keys) + "|(?i:" + "|".join(_AUTH_HEADER_KEYS) + ")")


def literal_tokens(text: str) -> list[str]:
    """Every substring of ``text`` that is a committed credential: by its format alone (a GitHub
    token, an AWS key id, a private key header, a literal bearer header value, ...) or by its
    position (a URL password, ``curl -u`` password, ``--password`` value, ... see
    ``literals.scan``; multi-line key blocks are returned line by line). Outputs mask these
    wherever they appear, whatever the findings say: dfix never prints a secret value."""
    found: list[str] = []
    if not _ANY_KEY.search(text):
        return sorted(_literal_masks(text), key=len, reverse=True)  # the common case: no format key
    for (_label, rx), keys in zip(_FORMATS, _FORMAT_KEYS):
        if not keys or not any(k in text for k in keys):
            continue  # (no keys: a whole-value format, not searched in text)
        found.extend(m.group(0) for m in rx.finditer(text))
    low = text.lower()
    if any(k in low for k in _AUTH_HEADER_KEYS):
        found.extend(m.group(1) for m in _LITERAL_AUTH_HEADER.finditer(text) if not m.group(1).startswith("$"))
    return sorted(set(found) | set(_literal_masks(text)), key=len, reverse=True)


def _literal_masks(text: str) -> list[str]:
    from refactor.analysis.literals import mask_values

    return mask_values(text)


def token_format(value: str) -> str | None:
    """The label of a known credential format found in ``value`` (never the matched text)."""
    if not value:
        return None
    for label, rx in _FORMATS:
        if rx.search(value):
            return label
    uc = _url_creds(value)
    if uc and uc[1]:
        return "URL with credentials"
    qc = _query_creds(value)
    if qc and qc[0] and _URL_RE.match(value):
        return "URL with a credential parameter"
    if _GOOGLE_KEY_RE.search(value):
        return "Google API key"
    return None


def is_literal_secret(value: str | None) -> bool:
    """A committed, real-looking credential: known token format, private key, URL with a literal
    password, or a high-entropy string.  Placeholders and ``$VAR`` references are not."""
    if not value or is_placeholder(value):
        return False
    fmt = token_format(value)
    if fmt:
        return True
    if _context_literal(value):
        return True
    return not is_reference(value) and _high_entropy(value.strip())


def _context_literal(value: str) -> str | None:
    """The kind of the first committed credential ``literals.scan`` finds inside ``value``
    (``--password hunter2``, ``-Ddb.password=…``, ``curl -u u:p``), else None."""
    if len(value) < 8 or not any(c in value for c in " \t=:"):
        return None  # every positional pattern needs a separator: a single bare word matches none
    from refactor.analysis.literals import scan

    hits = scan(value)
    return hits[0].kind if hits else None


@lru_cache(maxsize=4096)
def _value_evidence(value: str) -> tuple[Evidence, ...]:
    v = value.strip()
    if not v:
        return (Evidence("value", -0.5, "empty default (a slot, weak evidence)"),)
    pure = _PURE_REF_RE.match(v)
    if pure:
        fallback = pure.group(2) or ""
        if fallback[:2] in (":-", ":=") or fallback[:1] in ("-", "="):
            for label, rx in _FORMATS:
                if rx.search(fallback):
                    return (Evidence("value", 4.0, f"fallback default looks like a {label}"),)
        return (Evidence("value", 0.0, "default is a variable reference (not a literal)"),)
    if is_public_key(v):
        return (Evidence("value", -4.0, "default is a public key or certificate (public by design)"),)
    out: list[Evidence] = []
    fmt = None
    for label, rx in _FORMATS:
        if rx.search(v):
            fmt = label
            break
    if fmt:
        if is_placeholder(v):
            return (Evidence("value", -0.5, f"placeholder default in {fmt} format (a documentation example)"),)
        return (Evidence("value", 4.0, f"default looks like a {fmt}"),)
    uc = _url_creds(v)
    if uc:
        kind, literal = uc
        if literal:
            return (Evidence("value", 4.0, "default is a URL with literal credentials"),)
        if kind == "password":
            return (Evidence("value", 2.0, "default puts a variable in URL user-info (password)"),)
        out.append(Evidence("value", 1.0, "default puts a variable in URL user-info"))
    qc = _query_creds(v) if _URL_RE.match(v) else None
    if qc is not None:
        if qc[0]:
            return (Evidence("value", 4.0, "default is a URL with a literal credential parameter"),)
        out.append(Evidence("value", 1.0, "URL credential parameter filled from a variable or placeholder"))
    ctx = _context_literal(v)
    if ctx:
        return (Evidence("value", 4.0, f"default holds a committed credential ({ctx})"),)
    if _GOOGLE_KEY_RE.search(v):
        return (Evidence("value", 2.0, "default looks like a Google API key (often a browser key)"),)
    if _PUBLISHABLE_RE.match(v):
        return (Evidence("value", -3.0, "default looks like a publishable (public) key"),)
    if out:
        return tuple(out)
    if is_reference(v):
        return (Evidence("value", 0.0, "default is an expression with variable references"),)
    if _is_dummy(v):
        return (Evidence("value", -3.0, "explicit dummy default (a stand-in that satisfies a build step)"),)
    if is_placeholder(v):
        return (Evidence("value", -0.5, "placeholder default (a slot, weak evidence)"),)
    low = v.lower()
    if low in _BOOL_WORDS:
        return (Evidence("value", -2.0, "default is a boolean flag"),)
    if _URL_RE.match(v):
        return (Evidence("value", -3.0, "default is a URL without credentials"),)
    if _looks_path(v):
        return (Evidence("value", -3.0, "default is a file path"),)
    if _VERSION_RE.match(v):
        return (Evidence("value", -2.0, "default looks like a version"),)
    if _EMAIL_RE.match(v):
        return (Evidence("value", -2.0, "default looks like an e-mail address"),)
    if _HOST_RE.match(v):
        return (Evidence("value", -2.0, "default looks like a host name"),)
    if _high_entropy(v):
        return (Evidence("value", 2.0, "default is a high-entropy literal"),)
    return ()


def value_evidence(value: str | None) -> list[Evidence]:
    """Evidence from the (unquoted) default or assigned value; ``None`` means no default."""
    if value is None:
        return []
    return list(_value_evidence(value))


def describe_value(value: str | None) -> str:
    """A safe description: ``<unset>``, ``<empty>``, ``<reference to $X>``,
    ``<redacted: 40 chars, GitHub token format>``.  Never contains a character of a literal."""
    if value is None:
        return "<unset>"
    if value == "":
        return "<empty>"
    pure = _PURE_REF_RE.match(value.strip())
    if pure:
        ref = pure.group(1) or pure.group(3)
        extra = pure.group(2) or ""
        return f"<reference to ${ref}{' with a default or modifier' if extra else ''}>"
    parts = [f"{len(value)} char{'s' if len(value) != 1 else ''}"]
    if not value.strip():
        parts.append("blank")
    fmt = token_format(value)
    if fmt:
        parts.append(f"{fmt} format")
    if is_reference(value):
        n = len(_REF_RE.findall(value))
        parts.append(f"{n} variable reference{'s' if n != 1 else ''}")
        uc = _url_creds(value)
        if uc and not uc[1]:
            parts.append("URL credentials from a variable")
    elif value.strip():
        if is_placeholder(value):
            parts.append("placeholder")
        elif not fmt and _high_entropy(value.strip()):
            parts.append("high entropy")
    if "\n" in value:
        parts.append("multi-line")
    return f"<redacted: {', '.join(parts)}>"


# ------------------------------------------------------------------------------------------------
# Verdict


@lru_cache(maxsize=4096)
def holds_credential(name: str) -> bool:
    """The name alone says the variable holds a credential (a strong credential word or a known
    credential name: ``PGPASSWORD``, ``DB_PASSWORD``, ``API_KEY``, ``NPM_TOKEN``), not merely
    something that often carries one (``DATABASE_URL``, ``PIP_INDEX_URL``). A value copied into
    such a variable is a credential."""
    norm = name.replace(".", "_").replace("-", "_")
    v = judge(norm, None)
    if not v.secret:
        return False
    return any(
        e.kind == "name" and e.weight >= 2.5 and "URL" not in e.reason and "connection" not in e.reason and "webhook" not in e.reason
        for e in v.evidence
    )


_PASSWORD_TOKENS = {"password", "passwd", "pwd", "pass", "psw", "pword", "passphrase", "passcode", "pw"}


def committed_password(name: str, value: str | None) -> bool:
    """A password-named variable (``DB_PASSWORD``, ``ROOTPASS``, ``SMTP_PWD``) with a literal that is
    no stand-in (``changeme``, ``admin``, ``postgres``, ``password123``, ``<pw>``): a committed
    password, to rotate. Format tokens and high-entropy strings are ``is_literal_secret``."""
    if not value or is_reference(value):
        return False
    if not any(t in _PASSWORD_TOKENS for t in name_tokens(name)):
        return False
    return real_literal(value)


def _glob_hit(name: str, globs: Sequence[str]) -> int:
    """Specificity (literal characters) of the most specific glob matching ``name``, or -1."""
    up = name.upper()
    best = -1
    for g in globs:
        if fnmatch.fnmatchcase(up, g.upper()):
            best = max(best, sum(c not in "*?[]" for c in g))
    return best


def judge(name: str, value: str | None, uses: Sequence[Evidence] = (), policy: Policy = Policy()) -> Verdict:
    """Secret or not, with the evidence (see the module docstring for the rules)."""
    ev: list[Evidence] = list(_name_evidence(name))
    ev.extend(value_evidence(value))
    ev.extend(uses)
    score = round(sum(e.weight for e in ev), 3)
    literal = is_literal_secret(value) or committed_password(name, value)

    if public_bundle_prefix(name):
        return Verdict(False, score, tuple(ev), literal)

    s_hit = _glob_hit(name, policy.secret_names) if policy.secret_names else -1
    a_hit = _glob_hit(name, policy.allow_names) if policy.allow_names else -1
    if s_hit >= 0 or a_hit >= 0:
        if s_hit >= a_hit:
            ev.append(Evidence("config", 10.0, "matches a secret-names glob"))
            return Verdict(True, round(score + 10.0, 3), tuple(ev), literal)
        ev.append(Evidence("config", -10.0, "matches an allow-names glob"))
        return Verdict(False, round(score - 10.0, 3), tuple(ev), False)

    use_total = sum(e.weight for e in ev if e.kind == "use")
    secret = use_total >= USE_DECISIVE or score >= THRESHOLD
    return Verdict(secret, score, tuple(ev), literal and secret)

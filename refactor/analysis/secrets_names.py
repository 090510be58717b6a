"""Name evidence of the secret classifier (:func:`name_evidence`): known credential names and patterns
(cloud keys, package-registry tokens, Bundler host credentials), public-bundle prefixes (``VITE_``,
``NEXT_PUBLIC_``…) and the scoring of a name's tokens and shape.
"""

from __future__ import annotations

import re
from functools import lru_cache

from refactor.analysis.secrets_evidence import Evidence
from refactor.analysis.secrets_tokens import (
    _CONTENT_SUFFIXES,
    _FLAG_PREFIXES,
    _PASS_NOT_CRED_NEXT,
    _PASS_NOT_CRED_PREV,
    _QUANTITY_PREFIXES,
    _upper_norm,
    name_tokens,
)
from refactor.analysis.secrets_words import (
    _AUTH_CRED_MODS,
    _BROWSER_KEY_MODS,
    _FINGERPRINT_MODS,
    _KEY,
    _KEY_CRED_MODS,
    _KEY_LOOKUP_MODS,
    _KEY_TLS_MODS,
    _MEDIUM,
    _NEG_HEADS,
    _PUBLIC_MODS,
    _REFERENCE_KEY_MODS,
    _STRONG,
    _STRONG_OVER_PUBLIC,
)
from refactor.codecache import regex

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
    (regex(p), w, r)
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
_BUNDLE_RE = regex(r"^BUNDLE_(?!(?:MIRROR|BUILD|LOCAL|SSL|DISABLE|IGNORE)__)[A-Z0-9_]*[A-Z0-9]__[A-Z0-9]", re.IGNORECASE)
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

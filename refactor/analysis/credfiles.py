"""Which files are credential files: by name, and by content when the file can be read."""

from __future__ import annotations

import os
import re

from refactor import buildcontext
from refactor.analysis.secrets import judge
from refactor.lazyre import lazy

# --------------------------------------------------------------------------------------------
# Credential files copied from the build context (DF008)

CRED_FILES = {
    ".npmrc": "npmrc",
    ".netrc": "netrc",
    ".git-credentials": "git_credentials",
    ".pypirc": "pypirc",
    "pip.conf": "pip_conf",
    "pip.ini": "pip_conf",
    "settings.xml": "maven_settings",
    "auth.json": "composer_auth",
    ".yarnrc.yml": "yarnrc",
    ".dockercfg": "dockercfg",
    ".env": "dotenv",
}
SSH_KEYS = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")
_LITERAL_CRED = {
    # (only searched for: ^\s* crossed blank lines, so every blank line of a run restarted the scan)
    ".npmrc": lazy(r"(?im)^[^#;\n]*_(?:authToken|auth|password)\s*=\s*(?!\$\{)[^\s$]{6,}"),
    ".yarnrc.yml": lazy(r"(?im)npmAuth(?:Token|Ident)\s*:\s*[\"']?(?!\$\{)[^\s$\"']{6,}"),
    "settings.xml": lazy(r"(?i)<password>\s*(?!\$\{)[^<\s$]{3,}"),
    "pip.conf": lazy(r"://[^\s/@:]+:(?!\$\{)[^\s/@$]{3,}@"),
    "pip.ini": lazy(r"://[^\s/@:]+:(?!\$\{)[^\s/@$]{3,}@"),
    ".pypirc": lazy(r"(?im)^[^\S\n]*password\s*[:=]\s*(?!\$\{)\S{3,}"),
    "auth.json": lazy(r"\"(?:password|token|bearer)\"\s*:\s*\"(?!\$\{)[^\"$]{6,}\""),
}


# Kinds whose file name is evidence enough when the file cannot be read (not in the context at
# analysis time): they are almost never templates. The package-tool configs (.npmrc, settings.xml,
# pip.conf, ...) usually are, and need their content.
NAMED_CRED_KINDS = frozenset({"dotenv", "password_file", "service_account", "kubeconfig", "pgpass", "mycnf", "pkcs12"})
_TEMPLATE_SUFFIXES = (
    "example",
    "sample",
    "template",
    "tmpl",
    "tpl",
    "dist",
    "default",
    "defaults",
    "schema",
    "skel",
    "stub",
    "in",
    "j2",
    "jinja",
    "orig",
    "bak",
)
_SA_JSON = lazy(
    r"(?i)^(?:.*[._-])?(?:credentials?|client[_-]?secrets?|service[_-]?accounts?|sa[_-]?key|gcp[_-]?key|"
    r"gcloud[_-]?key|keyfile|key[_-]?file|firebase[_-]?adminsdk)(?:[._-].*)?\.json$"
)


def cred_kind(rel: str) -> str | None:
    rel = rel.replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    base = rel.rsplit("/", 1)[-1]
    low = base.lower()
    if base in SSH_KEYS or (base.startswith("id_") and base.endswith(("_rsa", "_ed25519")) and not base.endswith(".pub")):
        return "ssh"
    if base == "credentials" and rel.endswith(".aws/credentials"):
        return "aws_credentials"
    if base == "config.json" and rel.endswith(".docker/config.json"):
        return "docker_config"
    if base in CRED_FILES:
        return CRED_FILES[base]
    if low.rsplit(".", 1)[-1] in _TEMPLATE_SUFFIXES or any(w in low for w in ("example", "sample", "template")):
        return None
    if low.startswith(".env.") or (low.endswith(".env") and len(low) > 4):
        return "dotenv"
    if low == ".pgpass":
        return "pgpass"
    if low in (".my.cnf", "my.cnf.secret", ".mylogin.cnf"):
        return "mycnf"
    if (
        low in ("kubeconfig", "kube.config", "kubeconfig.yaml", "kubeconfig.yml")
        or low.endswith(".kubeconfig")
        or rel.endswith(".kube/config")
    ):
        return "kubeconfig"
    if low.endswith((".pfx", ".p12")):
        return "pkcs12"
    if low.endswith(".json") and _SA_JSON.match(low):
        return "service_account"
    if low != "passwd" and (
        low.endswith((".password", ".passwd", ".pwd"))
        or (("password" in low or "passwd" in low) and (low.endswith(".txt") or "." not in low))
    ):
        return "password_file"
    return None


def private_key_file(rel: str) -> bool:
    """``*.key``/``*.pem``: a private key or a certificate; only the content can tell."""
    low = rel.rsplit("/", 1)[-1].lower()
    return low.endswith((".key", ".pem")) and not any(w in low for w in ("cert", "chain", "ca.", "ca-", "pub", "crt"))


_REF_ONLY = lazy(r"\$\{[^}\n]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\{\{[^}\n]*\}\}|%[A-Z_][A-Z0-9_]*%")
_REF_START = lazy(r"\$\{|\$[A-Za-z_]|\{\{|%[A-Z_]")
_REF_NAME = lazy(r"[A-Za-z0-9_]*")
_REF_UPPER = lazy(r"[A-Z0-9_]*")
_REF_STOP = lazy(r"[}\n]")


def _run_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where a run of ``pattern``'s characters (``[…]*``, which always matches) starting at ``pos`` ends."""
    m = pattern.match(text, pos)
    return m.end() if m else pos


def strip_refs(text: str) -> str:
    """``_REF_ONLY.sub("", text)`` in one pass. The regex scanned from every ``${`` / ``{{`` to the
    next ``}`` or line end, so a line of ``${${${…`` was quadratic; here that scan is shared by
    every opener before the stop it found."""
    out: list[str] = []
    last = 0
    pos = 0
    stop_from, stop_at = -1, -1  # the next } or newline at or after stop_from is at stop_at
    n = len(text)

    def next_stop(i: int) -> int:
        nonlocal stop_from, stop_at
        if not (stop_from <= i <= stop_at):
            m = _REF_STOP.search(text, i)
            stop_from, stop_at = i, (m.start() if m else n)
        return stop_at

    while True:
        m = _REF_START.search(text, pos)
        if m is None:
            break
        i = m.start()
        c, d = text[i], text[i + 1]
        end = None
        if c == "$" and d == "{":
            j = next_stop(i + 2)
            if j < n and text[j] == "}":
                end = j + 1
        if end is None and c == "$" and d != "{":
            end = _run_end(_REF_NAME, text, i + 2)
        if c == "{":
            j = next_stop(i + 2)
            if j + 1 < n and text[j] == "}" and text[j + 1] == "}":
                end = j + 2
        if c == "%":
            e = _run_end(_REF_UPPER, text, i + 2)
            if e < n and text[e] == "%":
                end = e + 1
        if end is None:
            pos = i + 1
            continue
        out.append(text[last:i])
        last = pos = end
    out.append(text[last:])
    return "".join(out)


_CONTENT_CRED = {
    "service_account": lazy(
        r"\"(?:private_key|client_secret|refresh_token|password|token|secret|api_key)\"\s*:\s*\"(?![\s$\"{<])[^\"]{8,}\""
    ),
    "kubeconfig": lazy(r"(?m)^[^\S\n]*(?:client-key-data|token|password|client-secret)\s*:\s*[\"']?(?![\s$\"'{<])\S{6,}"),
    "mycnf": lazy(r"(?im)^[^\S\n]*password\s*=\s*[\"']?(?![\s$\"'{<])\S{3,}"),
    "pgpass": lazy(r"(?m)^[^#\n:]*:[^:\n]*:[^:\n]*:[^:\n]*:(?![\s$*{<])\S+"),
}


def is_credential_file(path: str, base: str) -> bool | None:
    """True/False from the content; None when the file cannot be read."""
    content, _unreadable = buildcontext.text(path, 512 * 1024)
    if content is None:
        return None
    if "PRIVATE KEY-----" in content:
        return True
    pat = _LITERAL_CRED.get(base)
    if pat is not None:
        return bool(pat.search(content))
    kind = cred_kind(path.replace(os.sep, "/")) or ("key_file" if private_key_file(base) else None)
    if kind == "key_file":
        return False  # no private key block: a certificate or a public key
    if kind in _CONTENT_CRED:
        return bool(_CONTENT_CRED[kind].search(content))
    if base == ".env" or kind == "dotenv":
        for line in content.splitlines():
            k, eq, v = line.partition("=")
            k = k.strip().removeprefix("export ").strip()
            v = v.strip().strip("'\"")
            if eq and v and not v.startswith("$") and judge(k, v).secret:
                return True
        return False
    if kind == "password_file":
        return bool(strip_refs(content).strip())  # a template holds references only
    return bool(content.strip())

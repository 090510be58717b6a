"""What the credential-split scan recognises in text (:mod:`refactor.supply.split`): GitHub
``${{ secrets.X }}``/``${{ env.X }}`` expressions and shell references, the tools that read
dependencies and publish (with the variables each family reads implicitly), registry logins,
builds and pushes; and the helpers that cut a shell line into commands, a YAML line into its shell
text, a GitHub ``env`` map into identities and a YAML scalar into file lines.
"""

from __future__ import annotations

import re

from refactor.codecache import regex

_SECRET_EXPR = regex(r"\$\{\{\s*secrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]\s*\])\s*\}\}")
_ENV_EXPR = regex(r"\$\{\{\s*env\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_GITHUB_TOKEN_EXPR = regex(r"\$\{\{\s*github\s*\.\s*token\s*\}\}")
_ANY_EXPR = regex(r"\$\{\{.*?\}\}", re.S)
_SHELL_REF = regex(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*)|\(([A-Z_][A-Z0-9_]*)\))")
_WINDOWS_REF = regex(r"%([A-Za-z_][A-Za-z0-9_]*)%")

# implicit variables each tool family reads (regexes over names)
_IMPLICIT = {
    "npm": re.compile(
        r"NODE_AUTH_TOKEN|NPM_TOKEN|NPM_AUTH_TOKEN|NPM_CONFIG_.*(?:AUTH|TOKEN|PASSWORD).*|YARN_NPM_AUTH_TOKEN|YARN_NPM_AUTH_IDENT", re.I
    ),
    "pip": re.compile(
        r"PIP_(?:EXTRA_)?INDEX_URL|UV_(?:EXTRA_)?INDEX_URL|UV_INDEX_.*_PASSWORD|TWINE_PASSWORD|POETRY_PYPI_TOKEN_.*|POETRY_HTTP_BASIC_.*_PASSWORD",
        re.I,
    ),
    "maven": re.compile(r"MAVEN_.*(?:PASSWORD|TOKEN).*|.*_(?:OSSRH|SONATYPE).*(?:PASSWORD|TOKEN).*", re.I),
    "gradle": re.compile(r"ORG_GRADLE_PROJECT_.*", re.I),
    "cargo": re.compile(r"CARGO_REGISTRY_TOKEN|CARGO_REGISTRIES_.*_TOKEN", re.I),
    "gem": re.compile(r"GEM_HOST_API_KEY|BUNDLE_.*", re.I),
    "composer": re.compile(r"COMPOSER_AUTH", re.I),
    "go": re.compile(r"GOPROXY|GOFLAGS|GOAUTH", re.I),
}
_PKG = r"(?:^|[\s;&|(/'\"`])"
_READ_TOOLS = [
    ("npm", re.compile(_PKG + r"(?:npm\s+(?:ci|install|i)\b|yarn(?:\s+install)?(?:\s|$)|pnpm\s+(?:install|i)\b)")),
    (
        "pip",
        re.compile(
            _PKG
            + r"(?:pip3?\s+install\b|python3?\s+-m\s+pip\s+install\b|poetry\s+install\b|uv\s+(?:sync|pip\s+install)\b|pipenv\s+install\b)"
        ),
    ),
    ("maven", re.compile(_PKG + r"(?:\./)?mvnw?\b(?!.*\bdeploy\b)")),
    ("gradle", re.compile(_PKG + r"(?:\./)?gradlew?\b(?!.*\bpublish)")),
    ("gem", re.compile(_PKG + r"bundle\s+install\b")),
    ("composer", re.compile(_PKG + r"composer\s+install\b")),
    ("go", re.compile(_PKG + r"go\s+(?:mod\s+download|get|build)\b")),
]
_PUBLISH_TOOLS = [
    ("npm", "npm publish", re.compile(_PKG + r"(?:npm|pnpm)\s+publish\b|yarn\s+(?:npm\s+)?publish\b")),
    ("pip", "twine upload", re.compile(_PKG + r"(?:python3?\s+-m\s+)?twine\s+upload\b")),
    ("pip", "poetry publish", re.compile(_PKG + r"poetry\s+publish\b")),
    ("maven", "mvn deploy", re.compile(_PKG + r"(?:\./)?mvnw?\b.*\bdeploy\b")),
    ("gradle", "gradle publish", re.compile(_PKG + r"(?:\./)?gradlew?\b.*\bpublish\w*")),
    ("cargo", "cargo publish", re.compile(_PKG + r"cargo\s+publish\b")),
    ("gem", "gem push", re.compile(_PKG + r"gem\s+push\b")),
]
_LOGIN = regex(_PKG + r"(docker|podman|buildah)\s+login\b")
_BUILD = regex(
    _PKG
    + r"(?:(?:docker|podman)\s+(?:buildx\s+|image\s+)?build|buildah\s+(?:bud|build)|docker\s+buildx\s+bake|docker[- ]compose\s+build)\b"
)
_PUSHES = regex(
    _PKG + r"(?:(?:docker|podman|buildah)\s+(?:image\s+)?push\b|docker\s+buildx\s+(?:build|bake)\b.*--push\b|"
    r"docker\s+build\b.*--push\b|docker[- ]compose\s+push\b|skopeo\s+copy\b|crane\s+(?:push|copy)\b)"
)


def _implicit(family: str, names, config_refs: dict[str, set[str]]) -> set[str]:
    pat = _IMPLICIT.get(family)
    out = {n for n in names if pat is not None and pat.fullmatch(n)}
    return out | config_refs.get(family, set())


def _shell_refs(text: str) -> list[str]:
    out = []
    for m in _SHELL_REF.finditer(text):
        out.append(m.group(1) or m.group(2) or m.group(3))
    out += [m.group(1) for m in _WINDOWS_REF.finditer(text)]
    return out


# Every pattern a command is matched against (_LOGIN, _BUILD, _PUBLISH_TOOLS, _READ_TOOLS) needs
# one of these words, so a line holding none of them has nothing to find and is not split (most
# lines of most files: the split and the ~15 searches per command were a third of a corpus run).
# tests/test_supply_split.py checks the list against the patterns.
GUARD_WORDS = (
    "npm", "yarn", "pip", "python", "poetry", "uv", "mvn", "gradle", "bundle", "composer", "go",
    "twine", "cargo", "gem", "docker", "podman", "buildah",
)  # fmt: skip


_GUARD = regex("|".join(GUARD_WORDS))


def may_match(line: str) -> bool:
    """Could any command of ``line`` match a login, build, publish or read pattern?"""
    return _GUARD.search(line) is not None


def _split_commands(line: str) -> list[str]:
    """Simple commands of a shell line: split on ``&&``, ``||``, ``;`` and ``|`` (quotes honoured)."""
    parts, buf, quote, i = [], [], "", 0
    while i < len(line):
        ch = line[i]
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
            i += 1
            continue
        if ch in "'\"":
            quote = ch
            buf.append(ch)
            i += 1
            continue
        if line.startswith(("&&", "||"), i):
            parts.append("".join(buf))
            buf = []
            i += 2
            continue
        if ch in ";|":
            parts.append("".join(buf) + ("|" if ch == "|" else ""))
            buf = []
            i += 1
            continue
        buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def _strip_yaml(s: str) -> str:
    """A YAML list item or ``run:``/``script:`` key around a shell line -> the shell line."""
    s = re.sub(r"^-\s+", "", s)
    s = re.sub(r"^(?:run|script|before_script|after_script|command|cmd|entrypoint)\s*:\s*(?:[|>][-+]?\s*)?", "", s)
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        s = s[1:-1]
    return s


def _env_map(env) -> dict[str, str]:
    """``{NAME: identity}``: the secret's name when the value is ``${{ secrets.Y }}``."""
    out: dict[str, str] = {}
    if not isinstance(env, dict):
        return out
    for k, v in env.items():
        name = str(k)
        text = str(v) if v is not None else ""
        if _GITHUB_TOKEN_EXPR.search(text):
            out[name] = "GITHUB_TOKEN"
            continue
        m = _SECRET_EXPR.search(text)
        out[name] = (m.group(1) or m.group(2)) if m else name
    return out


def _locate_lines(phys: list[str], key_line: int, body_lines: list[str]) -> list[int]:
    """1-based file lines of the lines of a YAML scalar that starts at ``key_line``."""
    out = []
    pos = key_line - 1  # 0-based index of the key line
    for bl in body_lines:
        s = bl.strip()
        found = None
        if s:
            for j in range(pos, min(len(phys), pos + 200)):
                if s in phys[j]:
                    found = j
                    break
        if found is None:
            out.append(pos + 1)
        else:
            out.append(found + 1)
            pos = found + 1 if found >= key_line else found
    return out

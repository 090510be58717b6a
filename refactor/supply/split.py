"""Credential split: one secret variable must not both read dependencies and publish.

``find_credential_splits(root)`` scans a repository and returns a :class:`Split` for every secret
variable that feeds a **dependency read** in a build somewhere and **publishing** somewhere else,
naming both places (``path``, 1-based ``line``, ``what``). If that one credential leaks from a build
(history, a cached layer, a log), it can publish.

Where a variable is *read* (builds and dependency installs):
- Dockerfiles: every ``ARG`` (a build argument is a value the build reads), ``RUN
  --mount=type=secret`` (``env=`` name, and the id in upper case: dfix names ids after the variable);
- build commands in scripts and CI: ``docker build``/``docker buildx build``/``podman build``/
  ``buildah bud`` ``--build-arg NAME[=$VALUE]`` and ``--secret id=…,env=NAME``; GitHub's
  ``docker/build-push-action`` ``build-args``, ``secrets`` and ``secret-envs``; compose ``build.args``;
- dependency installs in scripts and CI (``npm ci``/``install``, ``yarn``, ``pnpm install``,
  ``pip install``, ``poetry install``, ``uv sync``, ``mvn`` without ``deploy``, ``gradle`` without a
  ``publish`` task, ``bundle install``, ``composer install``, ``go mod download``): the variables in
  the command, the tool's own variables in scope (``NODE_AUTH_TOKEN``, ``PIP_INDEX_URL``, …), and
  the variables its repo config expands (``.npmrc``/``.yarnrc.yml`` ``${X}``, ``settings.xml``
  ``${env.X}``, ``System.getenv("X")`` in Gradle scripts);
- a registry login that no push follows in the same file (``docker login``, ``docker/login-action``):
  a pull credential.

Where a variable *publishes*:
- ``docker login``/``podman login``/``buildah login`` (``-p``/``--password``/``--password-stdin`` fed
  by ``echo $X |``) and ``docker/login-action`` ``password:`` in a file that also pushes
  (``docker push``, ``buildx build --push``, ``build-push-action`` with ``push`` not ``false``, …);
- ``npm``/``yarn``/``pnpm publish``, ``twine upload``, ``poetry publish``, ``mvn … deploy``,
  ``gradle publish…``, ``cargo publish``, ``gem push``, ``pypa/gh-action-pypi-publish``
  ``password:``, with the same variable rules as reads.

Variables are identified by name. In GitHub workflows an ``env`` entry bound to
``${{ secrets.Y }}`` is identified as ``Y`` (so ``NODE_AUTH_TOKEN: ${{ secrets.NPM_READ }}`` and
``NODE_AUTH_TOKEN: ${{ secrets.NPM_PUBLISH }}`` are two credentials, as they should be). A step's
own ``env`` entries bound to secrets are the fallback when a tool's variables cannot be told
(``mvn deploy`` with ``MAVEN_PASSWORD``). Per-job tokens whose permissions the pipeline sets per
job (``GITHUB_TOKEN``/``github.token``, GitLab's ``CI_JOB_TOKEN``/``CI_REGISTRY_PASSWORD``) are not
reported.

Files: Dockerfiles (dfix's names), ``.github/workflows/*.y*ml`` and ``action.y*ml`` (YAML-aware),
every other ``*.yml``/``*.yaml`` CI file, shell scripts, Makefiles, ``Jenkinsfile``, ``justfile``
(line by line, ``\\`` continuations joined). ``.git``, ``node_modules``, ``vendor``, virtualenvs
are skipped; files over 1 MiB or not UTF-8 are ignored. Nothing is executed, and no value is ever
read into a message: only variable names, paths and line numbers.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from refactor.walk import walk

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "vendor",
        "__pycache__",
        ".tox",
        ".venv",
        "venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
    }
)
MAX_BYTES = 1 << 20
EPHEMERAL = frozenset({"GITHUB_TOKEN", "CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"})


class Site(NamedTuple):
    path: str  # relative to the scanned root, with "/"
    line: int  # 1-based
    what: str


@dataclass(frozen=True)
class Split:
    variable: str
    read_site: Site
    publish_site: Site
    other_reads: tuple[Site, ...] = ()  # further read sites of the same variable

    @property
    def message(self) -> str:
        r, p = self.read_site, self.publish_site
        more = f" (and {len(self.other_reads)} more read site{'s' if len(self.other_reads) != 1 else ''})" if self.other_reads else ""
        return (
            f"{self.variable} feeds a build's dependency reads ({r.what} at {r.path}:{r.line}){more} and publishes "
            f"({p.what} at {p.path}:{p.line}): give builds a read-only credential and keep the publishing one out of them"
        )


@dataclass(frozen=True)
class _Use:
    var: str
    kind: str  # "read" | "publish"
    site: Site


# --------------------------------------------------------------------------------------------
# Tools

_SECRET_EXPR = re.compile(r"\$\{\{\s*secrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]\s*\])\s*\}\}")
_ENV_EXPR = re.compile(r"\$\{\{\s*env\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_GITHUB_TOKEN_EXPR = re.compile(r"\$\{\{\s*github\s*\.\s*token\s*\}\}")
_ANY_EXPR = re.compile(r"\$\{\{.*?\}\}", re.S)
_SHELL_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*)|\(([A-Z_][A-Z0-9_]*)\))")
_WINDOWS_REF = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)%")

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
_LOGIN = re.compile(_PKG + r"(docker|podman|buildah)\s+login\b")
_BUILD = re.compile(
    _PKG
    + r"(?:(?:docker|podman)\s+(?:buildx\s+|image\s+)?build|buildah\s+(?:bud|build)|docker\s+buildx\s+bake|docker[- ]compose\s+build)\b"
)
_PUSHES = re.compile(
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


# --------------------------------------------------------------------------------------------
# The scanner


@dataclass
class _Scope:
    """Variables in scope: name -> identity (a GitHub secret name, or the name itself)."""

    env: dict[str, str] = field(default_factory=dict)
    step_secret_env: dict[str, str] = field(default_factory=dict)  # the step's own env bound to secrets
    github: bool = False  # a GitHub step: only variables in ``env`` are set

    def ident(self, name: str) -> str:
        return self.env.get(name, name)


_CONFIG_NAMES = frozenset({".npmrc", ".yarnrc", ".yarnrc.yml", "settings.xml", "pip.conf", "pip.ini", ".pypirc", "poetry.toml", "uv.toml"})
_SCRIPT_NAMES = frozenset({"makefile", "gnumakefile", "jenkinsfile", "justfile"})
_SCAN_SUFFIXES = (".yml", ".yaml", ".sh", ".bash", ".mk", ".ps1", ".groovy", ".gradle", ".gradle.kts", ".jenkinsfile")


def _is_dockerfile(name: str) -> bool:
    from refactor.discovery import is_dockerfile_name

    return is_dockerfile_name(name)


def _relevant(name: str) -> bool:
    low = name.lower()
    return low in _CONFIG_NAMES or low in _SCRIPT_NAMES or low.endswith(_SCAN_SUFFIXES) or "." not in low or _is_dockerfile(name)


def dockerfile_events(df) -> list[tuple]:
    """What the scanner needs of a parsed Dockerfile, as small picklable tuples, so that the
    worker that parsed the file for the rules hands it over instead of the scanner parsing it
    again: ("from",), ("arg", line, names), ("env", line, [(name, value)]), ("secret-mount", line,
    names), ("run", line, body)."""
    from refactor.syntax.words import name_values

    out: list[tuple] = []
    for ins in df.instructions:
        eff = ins.effective
        if eff.cmd == "from":
            out.append(("from",))
        elif eff.cmd == "arg":
            out.append(("arg", ins.start_line, [item.name for item in name_values(eff.args, df.escape, legacy_env=False)]))
        elif eff.cmd == "env":
            out.append(("env", ins.start_line, [(item.name, item.value or "") for item in name_values(eff.args, df.escape)]))
        elif eff.cmd == "run":
            names: set[str] = set()
            for fl in eff.flags:
                if fl.name != "mount" or not fl.value:
                    continue
                opts = dict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in fl.value.split(","))
                if opts.get("type") == "secret":
                    names |= {n for n in (opts.get("env"), (opts.get("id") or "").upper()) if n}
            if names:
                out.append(("secret-mount", ins.start_line, sorted(names)))
            out.append(("run", ins.start_line, df.text[ins.command.args_start : ins.end]))
    return out


class _Scanner:
    def __init__(self, root: str, known: dict[str, list[tuple]] | None = None):
        self.root = os.path.abspath(root)
        self.uses: list[_Use] = []
        self.config_refs: dict[str, set[str]] = {}
        self.known = known or {}  # absolute path -> dockerfile_events of Dockerfiles parsed already

    # -- files -------------------------------------------------------------------------------
    def files(self) -> list[tuple[str, str | list[tuple]]]:
        out: list[tuple[str, str | list[tuple]]] = []
        for dirpath, dirnames, filenames in walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info"))
            for fn in sorted(filenames):
                full = os.path.join(dirpath, fn)
                rel = os.path.relpath(full, self.root).replace(os.sep, "/")
                if not _relevant(fn):
                    continue
                if full in self.known and not os.path.islink(full):
                    out.append((rel, self.known[full]))  # parsed by a worker: its events stand in for the text
                    continue
                try:
                    if os.path.islink(full) or os.path.getsize(full) > MAX_BYTES:
                        continue
                    with open(full, "rb") as fh:
                        data = fh.read()
                    if "." not in fn and not _is_dockerfile(fn) and fn.lower() not in _SCRIPT_NAMES and not data.startswith(b"#!"):
                        continue  # an extensionless file is scanned only as a shell script
                    if b"\x00" in data:
                        continue
                    text = data.decode("utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                out.append((rel, text.lstrip("\ufeff")))
        return out

    def run(self) -> list[_Use]:
        from refactor.discovery import is_dockerfile_name

        files = self.files()
        # first pass: what tool configs expand (read by both installs and publishes)
        for rel, text in files:
            if not isinstance(text, str):
                continue
            base = rel.rsplit("/", 1)[-1].lower()
            if base in (".npmrc", ".yarnrc", ".yarnrc.yml"):
                self.config_refs.setdefault("npm", set()).update(_shell_refs(text))
            elif base == "settings.xml" or rel.startswith(".mvn/"):
                self.config_refs.setdefault("maven", set()).update(re.findall(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)\}", text))
            elif base.endswith((".gradle", ".gradle.kts")):
                self.config_refs.setdefault("gradle", set()).update(
                    re.findall(r"(?:getenv|environmentVariable)\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']", text)
                )
            elif base in ("pip.conf", "pip.ini", ".pypirc", "poetry.toml", "uv.toml"):
                self.config_refs.setdefault("pip", set()).update(_shell_refs(text))
        for rel, text in files:
            base = rel.rsplit("/", 1)[-1]
            low = base.lower()
            if not isinstance(text, str):
                self.dockerfile_from(rel, text)
            elif is_dockerfile_name(base):
                self.dockerfile(rel, text)
            elif low.endswith((".yml", ".yaml")) and (
                rel.startswith(".github/workflows/") or (rel.startswith(".github/") and low in ("action.yml", "action.yaml"))
            ):
                if not self.github(rel, text):
                    self.lines(rel, text)
            elif low.endswith((".yml", ".yaml")) and (low.startswith(("docker-compose", "compose"))):
                self.compose(rel, text)
            elif (
                low.endswith((".yml", ".yaml", ".sh", ".bash", ".mk", ".ps1", ".groovy"))
                or low in ("makefile", "gnumakefile", "jenkinsfile", "justfile", ".gitlab-ci.yml")
                or (low.endswith(".jenkinsfile"))
            ) or ("." not in base and text.startswith("#!") and re.match(r"#!.*\b(?:sh|bash|zsh|dash|ash)\b", text)):
                self.lines(rel, text)
        return self.uses

    def add(self, var: str, kind: str, rel: str, line: int, what: str) -> None:
        if var and var not in EPHEMERAL:
            self.uses.append(_Use(var, kind, Site(rel, line, what)))

    # -- Dockerfiles -------------------------------------------------------------------------
    def dockerfile(self, rel: str, text: str) -> None:
        from refactor.source import SourceFile
        from refactor.syntax.dockerfile import ParseError, parse

        try:
            df = parse(SourceFile.from_text(rel, text))
        except (ParseError, Exception):  # noqa: BLE001 - an unparsable Dockerfile is just not scanned
            return
        self.dockerfile_from(rel, dockerfile_events(df))

    def dockerfile_from(self, rel: str, events: list[tuple]) -> None:
        visible: dict[str, str] = {}  # ARG/ENV names a RUN of the current stage sees in its environment
        for ev in events:
            if ev[0] == "from":
                visible = {}
            elif ev[0] == "arg":
                for name in ev[2]:
                    self.add(name, "read", rel, ev[1], f"Dockerfile ARG {name} (a build argument the build reads)")
                    visible[name] = name
            elif ev[0] == "env":
                for name, value in ev[2]:
                    refs = _shell_refs(value)
                    visible[name] = refs[0] if len(refs) == 1 else name
            elif ev[0] == "secret-mount":
                for n in ev[2]:
                    self.add(n, "read", rel, ev[1], f"Dockerfile RUN --mount=type=secret ({n})")
            elif ev[0] == "run":
                self.shell(rel, ev[1], ev[2], _Scope(dict(visible)), in_dockerfile=True)

    # -- compose -----------------------------------------------------------------------------
    def compose(self, rel: str, text: str) -> None:
        in_args = None
        for i, line in enumerate(text.split("\n"), 1):
            stripped = line.strip()
            indent = len(line) - len(line.lstrip())
            if re.match(r"args\s*:", stripped):
                in_args = indent
                rest = stripped.split(":", 1)[1]
                for n in _shell_refs(rest):
                    self.add(n, "read", rel, i, f"compose build arg ${n}")
                continue
            if in_args is not None:
                if stripped and indent <= in_args:
                    in_args = None
                else:
                    for n in _shell_refs(stripped):
                        self.add(n, "read", rel, i, f"compose build arg ${n}")
                    m = re.match(r"-\s*([A-Za-z_][A-Za-z0-9_]*)\s*$", stripped)
                    if m:  # "- NAME": the value comes from the environment
                        self.add(m.group(1), "read", rel, i, f"compose build arg {m.group(1)}")

    # -- line-oriented files (scripts, Makefiles, generic CI YAML) ------------------------------
    def lines(self, rel: str, text: str, scope: _Scope | None = None) -> None:
        pushes = bool(_PUSHES.search(text)) or "push: true" in text
        scope = scope or _Scope()
        phys = text.split("\n")
        i = 0
        while i < len(phys):
            start = i
            line = phys[i]
            while line.rstrip().endswith("\\") and i + 1 < len(phys):
                i += 1
                line = line.rstrip()[:-1] + " " + phys[i].strip()
            i += 1
            s = line.strip()
            if not s or s.startswith("#") or s.startswith("//"):
                continue
            s = _strip_yaml(s)
            self.shell(rel, start + 1, s, scope, pushes=pushes)

    def shell(
        self,
        rel: str,
        line: int,
        text: str,
        scope: _Scope,
        *,
        pushes: bool = False,
        in_dockerfile: bool = False,
        lines_of: list[int] | None = None,
    ) -> None:
        """Scan shell text (one or more lines) for reads and publishes."""
        physical = text.split("\n")
        for k, raw in enumerate(physical):
            s = raw.strip()
            if not s or s.startswith("#"):
                continue
            ln = lines_of[k] if lines_of and k < len(lines_of) else line + k
            cmds = _split_commands(s)
            for j, cmd in enumerate(cmds):
                self._command(rel, ln, cmd, cmds[j - 1] if j and cmds[j - 1].endswith("|") else "", scope, pushes, in_dockerfile, s)

    def _vars(self, text: str, scope: _Scope) -> list[str]:
        out = []
        for m in _SECRET_EXPR.finditer(text):
            out.append(m.group(1) or m.group(2))
        for m in _ENV_EXPR.finditer(text):
            out.append(scope.ident(m.group(1)))
        for n in _shell_refs(_ANY_EXPR.sub("", text)):
            out.append(scope.ident(n))
        return out

    def _command(self, rel, ln, cmd, piped_from, scope: _Scope, pushes: bool, in_dockerfile: bool, whole: str) -> None:
        c = cmd.rstrip("|").strip()
        # registry logins
        m = _LOGIN.search(c)
        if m:
            tool = m.group(1)
            vars_ = []
            pw = re.search(r"(?:\s-p|\s--password)(?:\s+|=)(\S+)", c)
            if pw:
                vars_ = self._vars(pw.group(1), scope)
            elif "--password-stdin" in c:
                feed = piped_from or ""
                here = re.search(r"<<<\s*(\S+)", c)
                vars_ = self._vars(here.group(1) if here else feed, scope)
            kind = "publish" if pushes else "read"
            why = "the same file pushes" if pushes else "no push in this file: a pull login"
            for v in dict.fromkeys(vars_):
                self.add(v, kind, rel, ln, f"{tool} login password ({why})")
            return
        # publishing tools
        for family, label, pat in _PUBLISH_TOOLS:
            if pat.search(c):
                self._tool_vars(rel, ln, c, family, label, "publish", scope)
                return
        # builds: --build-arg / --secret
        build = _BUILD.search(c)
        if build:
            tool = re.sub(r"\s+", " ", build.group(0).strip(" ;&|(/'\"`"))
            for mm in re.finditer(r"--build-arg(?:\s+|=)(\S+)", c):
                word = mm.group(1).strip("'\"")
                name, eq, value = word.partition("=")
                names = self._vars(value, scope) if eq else [scope.ident(name)]
                for v in dict.fromkeys(names):
                    self.add(v, "read", rel, ln, f"{tool} --build-arg {name}")
            for mm in re.finditer(r"--secret(?:\s+|=)(\S+)", c):
                spec = mm.group(1).strip("'\"")
                opts: dict[str, str] = {}
                for kv in spec.split(","):
                    key, _eq, val = kv.partition("=")
                    opts[key] = val
                if opts.get("src") or opts.get("source"):
                    continue
                env = opts.get("env") or opts.get("id")
                if env:
                    self.add(scope.ident(env), "read", rel, ln, f"{tool} --secret {spec}")
            return
        for family, pat in _READ_TOOLS:
            if (hit := pat.search(c)) is not None:
                label = re.sub(r"\s+", " ", hit.group(0).strip(" ;&|(/"))
                self._tool_vars(rel, ln, c, family, label, "read", scope, dockerfile=in_dockerfile)
                return

    def _tool_vars(self, rel, ln, c, family, label, kind, scope: _Scope, dockerfile: bool = False) -> None:
        names = self._vars(c, scope)
        implicit = _implicit(family, scope.env.keys(), {})
        names += [scope.ident(n) for n in sorted(implicit)]
        names += [scope.ident(n) for n in sorted(self.config_refs.get(family, set())) if not scope.github or n in scope.env]
        if not names and scope.step_secret_env:
            names = sorted(set(scope.step_secret_env.values()))
        where = " in a Dockerfile RUN" if dockerfile else ""
        for v in dict.fromkeys(names):
            self.add(v, kind, rel, ln, f"{label}{where}")

    # -- GitHub workflows ----------------------------------------------------------------------
    def github(self, rel: str, text: str) -> bool:
        from refactor.callers.yamlutil import refusal

        if refusal(text) is not None:
            return False  # too deep, an alias bomb: never given to ruamel's constructor; scanned line by line instead
        try:
            from ruamel.yaml import YAML
            from ruamel.yaml.comments import CommentedMap

            doc = YAML(typ="rt").load(text)
        except Exception:  # noqa: BLE001 - unparsable YAML: scanned line by line instead
            return False
        if not isinstance(doc, dict):
            return False
        phys = text.split("\n")
        pushes = bool(_PUSHES.search(text))
        jobs = doc.get("jobs")
        step_lists = []
        if isinstance(jobs, dict):
            for job in jobs.values():
                if isinstance(job, dict) and isinstance(job.get("steps"), list):
                    step_lists.append((job, job["steps"]))
        runs = doc.get("runs")
        if isinstance(runs, dict) and isinstance(runs.get("steps"), list):  # composite action
            step_lists.append(({}, runs["steps"]))
        for _job, steps in step_lists:
            for st in steps:
                if isinstance(st, dict) and str(st.get("uses", "")).split("@")[0].lower() == "docker/build-push-action":
                    w = st.get("with") or {}
                    if isinstance(w, dict) and str(w.get("push", "false")).strip().lower() not in ("false", ""):
                        pushes = True
                    if isinstance(w, dict) and str(w.get("outputs", "")).find("push=true") >= 0:
                        pushes = True
                if isinstance(st, dict) and str(st.get("uses", "")).split("@")[0].lower() == "docker/bake-action":
                    w = st.get("with") or {}
                    if isinstance(w, dict) and str(w.get("push", "false")).strip().lower() not in ("false", ""):
                        pushes = True
        top_env = _env_map(doc.get("env"))
        for job, steps in step_lists:
            job_env = dict(top_env)
            job_env.update(_env_map(job.get("env") if isinstance(job, dict) else None))
            for st in steps:
                if not isinstance(st, CommentedMap):  # the round-trip loader builds every mapping as one
                    continue
                own = _env_map(st.get("env"))
                env = dict(job_env)
                env.update(own)
                own_secret = {k: v for k, v in own.items() if v != k}
                scope = _Scope(env, own_secret, github=True)
                run = st.get("run")
                if isinstance(run, str):
                    key_line = st.lc.key("run")[0] + 1
                    body = run
                    lines_of = _locate_lines(phys, key_line, body.split("\n"))
                    self.shell(rel, key_line, body, scope, pushes=pushes, lines_of=lines_of)
                uses = str(st.get("uses") or "")
                if uses:
                    self._action(rel, st, uses.split("@")[0].lower(), scope, pushes, phys)
        return True

    def _action(self, rel: str, st: CommentedMap, action: str, scope: _Scope, pushes: bool, phys: list[str]) -> None:
        from ruamel.yaml.comments import CommentedMap

        w = st.get("with")
        if not isinstance(w, CommentedMap):
            return

        def line_of(key: str) -> int:
            try:
                return w.lc.key(key)[0] + 1
            except Exception:  # noqa: BLE001
                return st.lc.key("with")[0] + 1

        def secrets_in(value) -> list[str]:
            return self._vars(str(value), scope) if value is not None else []

        if action == "docker/login-action" and "password" in w:
            kind = "publish" if pushes else "read"
            why = "the workflow pushes" if pushes else "no push in this workflow: a pull login"
            for v in dict.fromkeys(secrets_in(w.get("password"))):
                self.add(v, kind, rel, line_of("password"), f"docker/login-action password ({why})")
        elif action == "pypa/gh-action-pypi-publish" and "password" in w:
            for v in dict.fromkeys(secrets_in(w.get("password"))):
                self.add(v, "publish", rel, line_of("password"), "pypa/gh-action-pypi-publish password")
        elif action in ("js-devtools/npm-publish",) and "token" in w:
            for v in dict.fromkeys(secrets_in(w.get("token"))):
                self.add(v, "publish", rel, line_of("token"), "npm-publish token")
        elif action in ("docker/build-push-action", "docker/bake-action"):
            for key in ("build-args", "secrets", "secret-envs", "set"):
                if key not in w:
                    continue
                entries = str(w.get(key)).split("\n")
                lines = _locate_lines(phys, line_of(key), entries)
                for entry, entry_line in zip(entries, lines):
                    entry = entry.strip()
                    if not entry:
                        continue
                    name, _, value = entry.partition("=")
                    if key == "secret-envs":
                        names = [scope.ident(value.strip())] if value.strip() else []
                    else:
                        names = self._vars(value, scope)
                    for v in dict.fromkeys(names):
                        self.add(v, "read", rel, entry_line, f"{action} {key} {name.strip()}")


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


# --------------------------------------------------------------------------------------------


def find_credential_splits(root: str | os.PathLike, known: dict[str, list[tuple]] | None = None) -> list[Split]:
    """Every secret variable that feeds dependency reads in a build and also publishes. ``known``
    maps the absolute paths of Dockerfiles parsed already to their :func:`dockerfile_events`."""
    from refactor.discovery import is_dockerfile_name

    uses = _Scanner(str(root), known).run()
    reads: dict[str, list[Site]] = {}
    publishes: dict[str, list[Site]] = {}
    for u in uses:
        bucket = reads if u.kind == "read" else publishes
        sites = bucket.setdefault(u.var, [])
        if u.site not in sites:
            sites.append(u.site)
    out = []
    for var in sorted(set(reads) & set(publishes)):
        # Dockerfile sites first (the build itself), then build commands and installs
        rsites = sorted(reads[var], key=lambda s: (not is_dockerfile_name(s.path.rsplit("/", 1)[-1]), s.path, s.line, s.what))
        for p in sorted(publishes[var], key=lambda s: (s.path, s.line, s.what)):
            others = [r for r in rsites if r != p and (r.path, r.line) != (p.path, p.line)]
            if not others:
                continue
            out.append(Split(var, others[0], p, tuple(others[1:])))
    return out

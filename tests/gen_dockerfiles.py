"""A generator of multi-stage Dockerfiles that pass credentials as build args, with their context.

Unlike ``strategies.py`` (which fuzzes the span layer with partly invalid text), every case made
here is a *working* build: each credential really reaches the private artifact server of the e2e
tests, through the stand-in tools of ``e2e/standins`` (curl, wget, npm via ``.npmrc``, pip via
``PIP_INDEX_URL``, git clone with the token in the URL), and every decoy is read by a RUN that
fails when its value is gone. That makes a case a soundness oracle for a rewrite: built with the
emitted secrets it must still build, the server must still see every credential, and nothing may
leak.

Two entry points over one composer:

* ``generate(seed)`` -> :class:`GeneratedCase`, deterministic (``random.Random(seed)``), for the
  fixed-seed e2e sample (``e2e/test_generated_builds.py``);
* ``generated_cases()``, a hypothesis strategy (``crlf=True`` also draws CRLF line endings, which
  make a case ``buildable = False``: a heredoc body then ends in ``\\r``).

Shapes composed (see ``GeneratedCase.shapes`` for the ones a case uses):

* 1-3 stages, ``FROM <base> AS sN`` (bases from ``e2e/baseimage.BASE_NAMES``, all of them the
  busybox test image on the engine) or ``FROM sK AS sN`` (ENV is inherited, ARG is not); a global
  ``ARG BASE_IMAGE=…`` decoy used in a FROM; every stage is reachable from the final one (through
  ``FROM sK`` or a ``COPY --from=sK``), so BuildKit really runs each consumer;
* global secret ARGs before the first FROM, re-declared in stages; the same secret declared in
  one or several stages; ``ARG X`` + same-name ``ENV X=$X``;
* ENV aliases and chains (``ENV B=$A``, ``ENV C="Bearer ${B}"``, across stages too), multi-key
  ENV mixing an alias with a decoy (``ENV B=$A TOKEN_TTL=30``), composite ENVs
  (``PIP_INDEX_URL=http://__token__:${A}@SERVER/simple``, ``ARTIFACT_URL=https://ci:${A}@…``);
* decoys (``ARG APP_VERSION=1.2.3``, ``ENV TOKEN_TTL=30``, …) each checked by a later
  ``RUN test "$NAME" = "value"``;
* consumers: curl ``-H "Authorization: Bearer $X"`` / ``-u ci:$X`` / URL user-info / a bearer
  ENV / a URL ENV; busybox wget ``--header``; npm reading ``${NPM_TOKEN}`` from a copied
  ``.npmrc``; pip through ``PIP_INDEX_URL`` or ``--index-url``; ``git clone https://$X@…``;
* how a RUN runs it: shell form, ``sh -c '…'``, heredoc (``<<EOF``, ``<<'EOF'``, ``bash <<'EOF'``),
  exec form (``["sh", "-c", "…"]``; ``["npm", "ci"]`` for implicit consumers), or a script from
  the context (``./build-N.sh``, ``sh``/``bash``/``env``/``timeout 60``/``bin/bundle exec`` — a
  binstub that execs its arguments — or exec form ``["./build-N.sh"]``);
* env-blind RUNs (``mkdir -p``, ``echo hi > …``), before and after the declarations.

No value is ever in a generated file: secrets are referenced by name only; the e2e test supplies
random canaries through the environment.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

try:  # as pytest imports it (tests/ on sys.path) and as `python tests/gen_dockerfiles.py`
    from e2e.artifact_server import DEFAULT_PORT
    from e2e.baseimage import BASE_NAMES
except ImportError:  # pragma: no cover - imported as tests.gen_dockerfiles
    from tests.e2e.artifact_server import DEFAULT_PORT
    from tests.e2e.baseimage import BASE_NAMES

DEFAULT_SERVER = f"127.0.0.1:{DEFAULT_PORT}"

SECRET_NAMES = ("NPM_TOKEN", "API_TOKEN", "GITHUB_TOKEN", "PYPI_TOKEN", "DEPLOY_TOKEN", "ARTIFACTORY_PASSWORD")
# aliases of a raw token (ENV B=$A) and of a bearer header value (ENV C="Bearer ${B}")
RAW_ALIASES = ("REGISTRY_AUTH", "CI_CRED", "TOKEN_COPY", "FETCH_KEY")
BEARER_ALIASES = ("AUTH_HEADER", "BEARER")
URL_ALIAS = "ARTIFACT_URL"
PIP_URL = "PIP_INDEX_URL"
PIP_EXTRA_URL = "PIP_EXTRA_INDEX_URL"
# (instruction, name, value): names that name-only detectors flag but that hold no credential
DECOYS = (
    ("ARG", "APP_VERSION", "1.2.3"),
    ("ENV", "TOKEN_TTL", "30"),
    ("ARG", "NODE_ENV", "production"),
    ("ARG", "TOKEN_URL", "https://auth.example.com/token"),
    ("ENV", "PASSWORD_MIN_LENGTH", "12"),
    ("ARG", "BUILD_ID", "local"),
)
NPMRC = "registry=https://npm.example.com/\n//npm.example.com/:_authToken=${NPM_TOKEN}\n"
PACKAGE_JSON = '{"name": "app", "version": "1.0.0", "dependencies": {"@corp/lib": "1.0.0"}}\n'
BUNDLE_BINSTUB = '#!/bin/sh\n# binstub: `bundle exec CMD...` runs CMD\n[ "$1" = exec ] && shift\nexec "$@"\n'


def _bases() -> list[str]:
    """Tagged base names the test engine has (no ``latest``/untagged: no DF009 noise)."""
    return [n for n in BASE_NAMES if ":" in n and not n.endswith(":latest")]


# -- the case ---------------------------------------------------------------------------------

@dataclass
class Consumer:
    """One RUN that authenticates with a secret."""
    stage: str
    secret: str
    var: str  # the variable the command expands (the secret, an alias, a composite ENV)
    kind: str  # curl-bearer | curl-user | curl-userinfo | wget | git | pip-index | npm | pip-env | curl-header-var | curl-url-var
    wrapper: str  # shell | sh-c | heredoc | heredoc-quoted | heredoc-bash | exec-sh | exec-direct | script:<runner>
    form: str  # what the server sees: bearer | basic-password | basic-user
    line: str  # the RUN's first line (for reports)


@dataclass
class GeneratedCase:
    seed: int | None
    files: dict[str, str]  # "Dockerfile" and the context files
    secrets: list[str]  # build-arg names that are real secrets
    decoys: list[str]  # names that must be left alone
    consumers: dict[str, str]  # secret -> credential forms the server sees ("basic-user,bearer")
    buildable: bool
    stages: list[str] = field(default_factory=list)
    final_lineage: list[str] = field(default_factory=list)  # the final stage and its FROM ancestors
    leak_targets: list[str] = field(default_factory=list)  # stages outside the lineage that hold a secret
    shapes: list[str] = field(default_factory=list)  # the shapes this case exercises (sorted)
    runs: list[Consumer] = field(default_factory=list)
    blind_runs: list[str] = field(default_factory=list)  # RUN lines that cannot read any secret
    server: str = DEFAULT_SERVER

    @property
    def dockerfile(self) -> str:
        return self.files["Dockerfile"]

    def describe(self) -> str:
        """A value-free summary for test reports."""
        head = f"seed {self.seed}: stages {self.stages} (final lineage {self.final_lineage})"
        if self.leak_targets:
            head += f", also built: {self.leak_targets}"
        return head + "\nshapes: " + ", ".join(self.shapes)


# -- choosers: random.Random for fixed seeds, hypothesis draws for the strategy ---------------

class _RandomChooser:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def choice(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def randint(self, a: int, b: int) -> int:
        return self.rng.randint(a, b)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def sample(self, seq, k: int) -> list:
        return self.rng.sample(list(seq), k)


class _DrawChooser:
    """Draws shrink towards the first choice, small numbers and ``False``."""

    def __init__(self, draw):
        from hypothesis import strategies as st

        self.draw, self.st = draw, st

    def choice(self, seq):
        return self.draw(self.st.sampled_from(list(seq)))

    def randint(self, a: int, b: int) -> int:
        return self.draw(self.st.integers(a, b))

    def chance(self, p: float) -> bool:
        return self.draw(self.st.integers(0, 99)) >= 100 - round(p * 100)

    def sample(self, seq, k: int) -> list:
        return list(self.draw(self.st.permutations(list(seq))))[:k]


# -- the composer -----------------------------------------------------------------------------

@dataclass
class _Var:
    name: str
    secret: str
    kind: str  # raw | bearer | url | pipurl | npm (NPM_TOKEN holding another secret)
    env: bool  # set by ENV (inherited by FROM sK children); False: an ARG of this stage


@dataclass
class _Stage:
    name: str
    parent: str | None
    lines: list[str] = field(default_factory=list)
    vars: dict[str, _Var] = field(default_factory=dict)
    decoys: dict[str, str] = field(default_factory=dict)  # decoys visible to RUNs: name -> value
    env_decoys: dict[str, str] = field(default_factory=dict)  # ENV decoys (inherited)
    has_npm: bool = False  # .npmrc + package.json in /app
    has_bundle: bool = False  # bin/bundle binstub in /app
    copies_from: list[str] = field(default_factory=list)
    holds_secret: bool = False


class _Composer:
    def __init__(self, c, server: str, seed: int | None):
        self.c, self.server, self.seed = c, server, seed
        self.files: dict[str, str] = {}
        self.shapes: set[str] = set()
        self.runs: list[Consumer] = []
        self.blind: list[str] = []
        self.n = 0  # counter for unique paths
        self.used_aliases: set[str] = set()
        self.decoys_used: list[str] = []
        self.inherited: dict[str, set[str]] = {}  # stage -> ENV names it inherits from its parent
        self.secrets: list[str] = []

    def next_n(self) -> int:
        self.n += 1
        return self.n

    def ref(self, name: str, shell: bool = False) -> str:
        """``$X`` or ``${X}``; in shell text also ``${X:?}`` (fails the RUN when it is unset)."""
        forms = ["${%s}", "$%s"] + (["${%s:?}"] if shell else [])
        form = self.c.choice(forms)
        if form == "${%s:?}":
            self.shapes.add("ref-required-form")
        return form % name

    # .. consumers ............................................................................
    def command_for(self, var: _Var, st: _Stage, script: bool) -> tuple[str, str, str]:
        """(kind, command, form) of a command that authenticates with ``var``."""
        c, n = self.c, self.next_n()
        r = self.ref(var.name, shell=True)
        dl = f"-o /tmp/dl-{n}"
        art = f"https://artifacts.example.com/libs/pkg{n}.tgz"
        if var.kind == "bearer":
            return "curl-header-var", f'curl -fsS -H "Authorization: {r}" {dl} {art}', "bearer"
        if var.kind == "url":
            return "curl-url-var", f'curl -fsS {dl} "${{{var.name}}}/pkg{n}.tgz"', "basic-password"
        if var.kind == "pipurl":
            return "pip-env", f"pip install corp-lib{n}", "basic-password"
        if var.kind == "npm":  # NPM_TOKEN as an alias of another secret: npm reads it via .npmrc
            return "npm", "npm ci", "bearer"
        kinds = ["curl-bearer", "curl-user", "curl-userinfo", "wget", "pip-index"]
        if not script:  # a clone inside a script keeps the token in .git/config: out of scope
            kinds += ["git", "git"]
        if var.name == "NPM_TOKEN":
            kinds += ["npm"] * 4
        kind = c.choice(kinds)
        if kind == "curl-bearer":
            return kind, f'curl -fsS -H "Authorization: Bearer {r}" {dl} {art}', "bearer"
        if kind == "curl-user":
            return kind, f'curl -fsS -u "ci:{r}" {dl} {art}', "basic-password"
        if kind == "curl-userinfo":
            return kind, f'curl -fsS {dl} "https://ci:{r}@artifacts.example.com/libs/pkg{n}.tgz"', "basic-password"
        if kind == "wget":
            return kind, f'wget -q -O /tmp/dl-{n} --header "Authorization: Bearer {r}" http://{self.server}/libs/pkg{n}.tgz', "bearer"
        if kind == "pip-index":
            return kind, f'pip install --index-url "http://__token__:{r}@{self.server}/simple" corp-lib{n}', "basic-password"
        if kind == "git":
            if c.chance(0.5):
                return kind, f"git clone https://{r}@git.example.com/corp/lib{n}.git /src/lib{n}", "basic-user"
            return kind, f'git clone "https://x-access-token:{r}@github.com/corp/lib{n}.git" /src/lib{n}', "basic-password"
        # npm: reads ${NPM_TOKEN} from the copied .npmrc
        return "npm", "npm ci", "bearer"

    def consumer(self, st: _Stage, var: _Var) -> None:
        c = self.c
        wrapper = c.choice(["shell", "shell", "sh-c", "heredoc", "heredoc-quoted", "heredoc-bash", "exec-sh",
                            "script", "script", "exec-direct", "compound", "continuation"])
        kind, cmd, form = self.command_for(var, st, script=wrapper == "script")
        if kind in ("npm",) and not st.has_npm:
            self.files[".npmrc"] = NPMRC
            self.files["package.json"] = PACKAGE_JSON
            st.lines.append("COPY .npmrc package.json ./")
            st.has_npm = True
            self.shapes.add("npmrc-copy")
        if wrapper == "exec-direct" and kind not in ("npm", "pip-env"):
            wrapper = "exec-sh"  # exec form expands nothing: only implicit consumers run bare
        flags = ""
        if wrapper in ("shell", "heredoc", "continuation", "compound") and c.chance(0.2):
            flags = "--mount=type=cache,target=/root/.cache "  # an existing mount flag
            self.shapes.add("run-with-cache-mount")
        if wrapper == "shell":
            lines = [f"RUN {flags}{cmd}"]
        elif wrapper == "compound":
            how = c.choice(["cd", "subshell", "if", "for"] if kind != "npm" else ["subshell", "if", "for"])
            body = {"cd": f"cd /tmp && {cmd}", "subshell": f"( {cmd} )", "if": f"if true; then {cmd}; fi",
                    "for": f"for attempt in 1; do {cmd}; done"}[how]
            lines = [f"RUN {flags}{body}"]
            wrapper = f"compound:{how}"
        elif wrapper == "continuation":
            m = self.next_n()
            lines = [f"RUN {flags}mkdir -p /app/pre{m} \\", f"    && {cmd} \\", f"    && touch /app/post{m}"]
        elif wrapper == "sh-c":
            lines = [f"RUN sh -c '{cmd}'"]
        elif wrapper == "heredoc":
            lines = [f"RUN {flags}<<EOF", "set -e", cmd, "EOF"]
        elif wrapper == "heredoc-quoted":
            lines = ["RUN <<'EOF'", "set -e", cmd, "EOF"]
        elif wrapper == "heredoc-bash":
            lines = ["RUN bash <<'EOF'", "set -e", cmd, "EOF"]
        elif wrapper == "exec-sh":
            lines = ["RUN " + json.dumps(["sh", "-c", cmd])]
        elif wrapper == "exec-direct":
            lines = ["RUN " + json.dumps(cmd.split())]
        else:
            n = self.next_n()
            script = f"build-{n}.sh"
            self.files[script] = f"#!/bin/sh\nset -e\n{cmd}\n"
            st.lines.append(f"COPY --chmod=755 {script} ./")
            runner = c.choice(["./", "sh ./", "bash ", "env ./", "timeout 60 ./", "bundle", "bundle", "exec"])
            if runner == "bundle":
                if not st.has_bundle:
                    self.files["bin/bundle"] = BUNDLE_BINSTUB
                    st.lines.append("COPY --chmod=755 bin/bundle bin/bundle")
                    st.has_bundle = True
                lines = [f"RUN bin/bundle exec ./{script}"]
                wrapper = "script:bundle-exec"
            elif runner == "exec":
                lines = ["RUN " + json.dumps([f"./{script}"])]
                wrapper = "script:exec-form"
            else:
                lines = [f"RUN {runner}{script}"]
                wrapper = "script:" + {"./": "direct", "sh ./": "sh", "bash ": "bash", "env ./": "env",
                                       "timeout 60 ./": "timeout"}[runner]
        st.lines.extend(lines)
        self.runs.append(Consumer(st.name, var.secret, var.name, kind, wrapper, form, lines[0]))
        self.shapes.add(f"consumer:{kind}")
        self.shapes.add(f"wrapper:{wrapper}")
        # the rewrites that edit a RUN's text, under each way of running it: the clone clean-up
        # appended to a clone, and the `export C="…${B}…"` of an ENV alias or composite
        if kind == "git":
            self.shapes.add(f"clone@{wrapper}")
        if var.kind != "raw" or var.name != var.secret:
            self.shapes.add(f"export@{wrapper}")
        if var.kind != "raw" or var.name != var.secret:
            self.shapes.add(f"via-{var.kind}-{'env' if var.env else 'arg'}")
        if var.env and st.parent is not None and var.name in self.inherited.get(st.name, set()):
            self.shapes.add("consumer-of-inherited-env")

    def blind_run(self, st: _Stage) -> None:
        n = self.next_n()
        line = self.c.choice([f"RUN mkdir -p /app/data{n}", f"RUN echo hi > /app/hello{n}", f"RUN touch /app/.keep{n} && ls /app > /dev/null"])
        st.lines.append(line)
        self.blind.append(line)
        self.shapes.add("env-blind-run")

    def decoy_decl(self, st: _Stage, global_decoys: dict[str, str]) -> None:
        c = self.c
        avail = [d for d in DECOYS if d[1] not in st.decoys]
        if not avail:
            return
        kw, name, value = c.choice(avail)
        if kw == "ARG" and name in global_decoys and c.chance(0.7):
            st.lines.append(f"ARG {name}")  # re-declared: the global default applies
            self.shapes.add("decoy-global-arg-redeclared")
        else:
            st.lines.append(f"{kw} {name}={value}")
            if kw == "ENV":
                st.env_decoys[name] = value
        st.decoys[name] = value
        if name not in self.decoys_used:
            self.decoys_used.append(name)
        self.shapes.add("decoy")

    def decoy_run(self, st: _Stage) -> None:
        if not st.decoys:
            return
        name = self.c.choice(sorted(st.decoys))
        n = self.next_n()
        st.lines.append(f'RUN test "${name}" = "{st.decoys[name]}" && echo "${name}" > /app/decoy{n}')
        self.shapes.add("decoy-run")

    def aliases(self, st: _Stage, scale: float = 1.0) -> None:
        """ENV aliases and chains over the raw vars visible now. ``scale`` lowers the odds in
        the final image's lineage, where dfix (rightly) calls removing an ENV unsafe."""
        c = self.c
        raw = [v for v in st.vars.values() if v.kind == "raw"]
        if not raw:
            return
        if c.chance(0.55 * scale):
            src = c.choice(raw)
            name = self._alias_name(RAW_ALIASES)
            if name:
                extra = ""
                if c.chance(0.3) and "TOKEN_TTL" not in st.decoys:
                    extra = " TOKEN_TTL=30"
                    st.decoys["TOKEN_TTL"] = st.env_decoys["TOKEN_TTL"] = "30"
                    if "TOKEN_TTL" not in self.decoys_used:
                        self.decoys_used.append("TOKEN_TTL")
                    self.shapes.add("env-alias-with-decoy-key")
                if not extra and c.chance(0.2):
                    st.lines.append(f"ENV {name} {self.ref(src.name)}")  # the legacy form
                    self.shapes.add("env-legacy-form")
                else:
                    st.lines.append(f"ENV {name}={self.ref(src.name)}{extra}")
                st.vars[name] = _Var(name, src.secret, "raw", True)
                self.shapes.add("env-alias")
                raw.append(st.vars[name])
                if c.chance(0.6):  # the chain: ENV C="Bearer ${B}"
                    bname = self._alias_name(BEARER_ALIASES)
                    if bname:
                        st.lines.append(f'ENV {bname}="Bearer ${{{name}}}"')
                        st.vars[bname] = _Var(bname, src.secret, "bearer", True)
                        self.shapes.add("env-chain-bearer")
        if c.chance(0.2 * scale):
            src = c.choice(raw)
            bname = self._alias_name(BEARER_ALIASES)
            if bname:
                st.lines.append(f'ENV {bname}="Bearer ${{{src.name}}}"')
                st.vars[bname] = _Var(bname, src.secret, "bearer", True)
                self.shapes.add("env-bearer")
        if c.chance(0.25) and not any(v.kind == "pipurl" for v in st.vars.values()):
            src = c.choice(raw)
            pname = c.choice([PIP_URL, PIP_URL, PIP_EXTRA_URL])
            st.lines.append(f"ENV {pname}=http://__token__:${{{src.name}}}@{self.server}/simple")
            st.vars[pname] = _Var(pname, src.secret, "pipurl", True)
            self.shapes.add("env-composite-pip" if pname == PIP_URL else "env-composite-pip-extra")
        if c.chance(0.15 * scale) and "NPM_TOKEN" not in st.vars and "NPM_TOKEN" not in self.secrets:
            src = c.choice(raw)  # another secret exported under the name .npmrc expands
            st.lines.append(f"ENV NPM_TOKEN={self.ref(src.name)}")
            st.vars["NPM_TOKEN"] = _Var("NPM_TOKEN", src.secret, "npm", True)
            self.shapes.add("env-alias-into-npm-token")
        if c.chance(0.2 * scale) and URL_ALIAS not in st.vars:
            src = c.choice(raw)
            st.lines.append(f"ENV {URL_ALIAS}=https://ci:${{{src.name}}}@artifacts.example.com/libs")
            st.vars[URL_ALIAS] = _Var(URL_ALIAS, src.secret, "url", True)
            self.shapes.add("env-composite-url")

    def _alias_name(self, pool) -> str | None:
        free = [a for a in pool if a not in self.used_aliases]
        if not free:
            return None
        name = self.c.choice(free)
        self.used_aliases.add(name)
        return name

    # .. the whole file ........................................................................
    def compose(self, crlf: bool) -> GeneratedCase:
        c = self.c
        nstages = c.choice([1, 2, 2, 3, 3])
        nsec = 1 if c.chance(0.7) else 2
        secrets = [c.choice(SECRET_NAMES + ("NPM_TOKEN", "GITHUB_TOKEN"))]  # npm and git consumers need these
        if nsec == 2:
            secrets.append(c.choice([n for n in SECRET_NAMES if n != secrets[0]]))
        names = [f"s{i + 1}" for i in range(nstages)]
        # where each secret is declared (ARG): one stage, or two ("the same secret in 2 stages")
        declared: dict[str, list[str]] = {}
        self.secrets = secrets
        for s in secrets:
            k = c.randint(2, nstages) if nstages >= 2 and c.chance(0.45) else 1
            declared[s] = sorted(c.sample(names, k), key=names.index)
            if k >= 2:
                self.shapes.add("same-secret-two-stages" if k == 2 else "same-secret-three-stages")
        lines: list[str] = []
        global_secrets = [s for s in secrets if c.chance(0.5)]
        for s in global_secrets:
            lines.append(f"ARG {s}")
            self.shapes.add("global-secret-arg")
        global_decoys: dict[str, str] = {}
        if c.chance(0.3):
            kw, name, value = c.choice([d for d in DECOYS if d[0] == "ARG"])
            lines.append(f"ARG {name}={value}")
            global_decoys[name] = value
            self.decoys_used.append(name)
            self.shapes.add("global-decoy-arg")
        base_arg = c.chance(0.2)
        if base_arg:
            lines.append(f"ARG BASE_IMAGE={c.choice(_bases())}")
            self.shapes.add("global-arg-in-from")
            self.decoys_used.append("BASE_IMAGE")
        stages: dict[str, _Stage] = {}
        parents: dict[str, str | None] = {}
        for i, name in enumerate(names):
            parents[name] = c.choice(names[:i]) if i > 0 and c.chance(0.5) else None
        lineage = [names[-1]]  # the final stage and its FROM ancestors
        while parents[lineage[-1]]:
            lineage.append(parents[lineage[-1]])
        for i, name in enumerate(names):
            parent = parents[name]
            scale = 0.35 if name in lineage else 1.0
            if parent:
                src = f"{parent}"
                self.shapes.add("from-stage")
            elif base_arg and c.chance(0.5):
                src = "${BASE_IMAGE}"
            else:
                src = c.choice(_bases())
            st = _Stage(name, parent)
            if parent:
                p = stages[parent]
                st.vars = {k: v for k, v in p.vars.items() if v.env}
                self.inherited[name] = set(st.vars)
                st.env_decoys = dict(p.env_decoys)
                st.decoys = dict(p.env_decoys)
                st.has_npm, st.has_bundle = p.has_npm, p.has_bundle
            st.lines.append(f"FROM {src} AS {name}")
            if not parent:
                st.lines.append("WORKDIR /app")
            if c.chance(0.3):
                self.blind_run(st)  # before any declaration: can never see a secret
            if c.chance(0.45):
                self.decoy_decl(st, global_decoys)
            mine = [s for s in secrets if name in declared[s]]
            for s in mine:
                st.lines.append(f"ARG {s}")
                if not (s in st.vars and st.vars[s].env):  # an inherited same-name ENV stays an ENV
                    st.vars[s] = _Var(s, s, "raw", False)
                st.holds_secret = True
                if s in global_secrets:
                    self.shapes.add("global-secret-arg-redeclared")
                if c.chance(0.3 * (scale if s != "NPM_TOKEN" else 1.0)):
                    st.lines.append(f"ENV {s}={self.ref(s)}")
                    st.vars[s] = _Var(s, s, "raw", True)
                    self.shapes.add("arg-plus-same-name-env")
            self.aliases(st, scale)
            st.holds_secret = bool(mine) or any(v.env for v in st.vars.values())
            # RUNs: one consumer per secret declared here (through any var carrying it), maybe one
            # for an inherited or extra var, env-blind RUNs and decoy checks, in random order
            todo: list[tuple[str, object]] = []
            for s in mine:
                todo.append(("consume", s))
            carried = sorted({v.secret for v in st.vars.values()})
            if carried and (not mine or c.chance(0.35)):
                todo.append(("consume", c.choice(carried)))
            for _ in range(c.randint(0, 2)):
                todo.append(("blind", None))
            if st.decoys:
                todo.append(("decoy", None))
            order = c.sample(range(len(todo)), len(todo))
            for k in order:
                what, arg = todo[k]
                if what == "consume":
                    cands = [v for v in st.vars.values() if v.secret == arg]
                    self.consumer(st, c.choice(sorted(cands, key=lambda v: v.name)))
                elif what == "blind":
                    self.blind_run(st)
                else:
                    self.decoy_run(st)
            stages[name] = st
        # reachability: the final stage's lineage, then COPY --from for every stage not reached
        final = stages[names[-1]]
        reached = set(lineage)
        for name in reversed(names[:-1]):
            if name in reached:
                # a stage that is reached may still be copied from, sometimes
                if name not in lineage and c.chance(0.2):
                    final.lines.append(f"COPY --from={name} /app /from-{name}")
                continue
            want = stages[name]
            final.lines.append(f"COPY --from={name} /app /from-{name}")
            self.shapes.add("copy-from")
            reached.add(name)
            q = want.parent
            while q and q not in reached:
                reached.add(q)
                q = stages[q].parent
        if len(names) > 1 and c.chance(0.25):
            other = c.choice(names[:-1])
            final.lines.append(f"COPY --from={other} /app /copied-{other}")
            self.shapes.add("copy-from")
        # stages outside the lineage that held a secret: built with --target too (their history)
        outside = [n for n in names if n not in lineage and stages[n].holds_secret]
        ancestors = set()
        for n in outside:
            q = stages[n].parent
            while q:
                ancestors.add(q)
                q = stages[q].parent
        targets = [n for n in outside if n not in ancestors]
        for n in names:
            lines.extend(stages[n].lines)
            if n != names[-1]:
                lines.append("")
        text = "\n".join(lines) + "\n"
        if crlf:
            text = text.replace("\n", "\r\n")
            self.shapes.add("crlf")
        self.files["Dockerfile"] = text
        consumers: dict[str, str] = {}
        for s in secrets:
            forms = sorted({r.form for r in self.runs if r.secret == s})
            consumers[s] = ",".join(forms)
        if len(names) > 1:
            self.shapes.add(f"{len(names)}-stages")
        return GeneratedCase(
            seed=self.seed, files=dict(sorted(self.files.items())), secrets=list(secrets),
            decoys=list(self.decoys_used), consumers=consumers, buildable=not crlf, stages=names,
            final_lineage=list(reversed(lineage)), leak_targets=targets, shapes=sorted(self.shapes), runs=self.runs,
            blind_runs=self.blind, server=self.server,
        )


def generate(seed: int, *, server: str = DEFAULT_SERVER, crlf: bool = False) -> GeneratedCase:
    """The case for ``seed`` (deterministic). ``server``: the artifact server's ``host:port``,
    written into the URLs that bypass the stand-ins' routing (wget, pip index URLs)."""
    case = _Composer(_RandomChooser(random.Random(seed)), server, seed).compose(crlf)
    check_case(case)
    return case


def sample_seeds(n: int = 32, pool: range = range(1, 401), min_count: int = 2) -> list[int]:
    """A fixed sample of ``n`` seeds in which every shape the generator makes from ``pool``
    occurs at least ``min_count`` times (once for the ``clone@…``/``export@…`` combinations)
    (greedy cover, ties to the smaller seed), filled up with the smallest remaining seeds.
    Deterministic: the same generator gives the same sample."""
    from collections import Counter

    shapes = {s: set(generate(s).shapes) for s in pool}
    counts: Counter = Counter()
    chosen: list[int] = []
    while len(chosen) < n:
        need = lambda sh: 1 if "@" in sh else min_count  # noqa: E731
        gain = {s: sum(1 for sh in shapes[s] if counts[sh] < need(sh)) for s in pool if s not in chosen}
        best = max(gain, key=lambda s: (gain[s], -s))
        if gain[best] == 0:
            break
        chosen.append(best)
        counts.update(shapes[best])
    for s in pool:
        if len(chosen) >= n:
            break
        if s not in chosen:
            chosen.append(s)
    return sorted(chosen)


def generated_cases(*, crlf: bool = True, server: str = DEFAULT_SERVER):
    """Hypothesis strategy of :class:`GeneratedCase` (``crlf``: also CRLF files, not buildable)."""
    from hypothesis import strategies as st

    @st.composite
    def _cases(draw):
        c = _DrawChooser(draw)
        use_crlf = crlf and c.chance(0.3)
        return _Composer(c, server, None).compose(use_crlf)

    return _cases()


# -- self-test --------------------------------------------------------------------------------

def check_case(case: GeneratedCase) -> None:
    """Invariants of every generated case; raises AssertionError. The Dockerfile parses the way
    BuildKit would (``refactor.syntax.dockerfile.parse``), every secret has a consumer, every
    consumer's stage exists, every file the Dockerfile copies is in the context."""
    from refactor.source import SourceFile
    from refactor.syntax.dockerfile import parse

    df = parse(SourceFile.from_text("Dockerfile", case.dockerfile))
    froms = [i for i in df.instructions if i.cmd == "from"]
    assert len(froms) == len(case.stages), "one FROM per stage"
    assert case.secrets and all(case.consumers.get(s) for s in case.secrets), "every secret has a consumer"
    assert set(case.secrets).isdisjoint(case.decoys)
    for r in case.runs:
        assert r.stage in case.stages
    text = case.dockerfile.replace("\r\n", "\n")
    for ln in text.splitlines():
        if ln.startswith("COPY ") and "--from=" not in ln:
            for src in ln.split()[1:-1]:
                if not src.startswith("--"):
                    assert src in case.files, f"COPY source {src} missing from the context"
        if ln.startswith("RUN ["):
            json.loads(ln[4:])
    for s in case.secrets:
        assert f"ARG {s}" in text, s
    assert "dfixcanary" not in text


def _main(argv: list[str] | None = None) -> None:
    """``python tests/gen_dockerfiles.py [SEED...]``: print cases (default: seeds 1-5)."""
    import sys

    seeds = [int(a) for a in (argv if argv is not None else sys.argv[1:])] or list(range(1, 6))
    for seed in seeds:
        case = generate(seed)
        print(f"===== {case.describe()}")
        print(f"secrets={case.secrets} decoys={case.decoys} consumers={case.consumers} targets={case.leak_targets}")
        for path, data in case.files.items():
            print(f"----- {path}")
            print(data, end="" if data.endswith("\n") else "\n")


if __name__ == "__main__":
    _main()

"""Hypothesis strategies that generate Dockerfiles for the fuzz tests.

The generator builds a Dockerfile as a list of physical lines (without endings) and then encodes
it with a random line-ending mix, an optional BOM and an optional final newline. It mixes every
feature the span layer has to get right (continuations with comment and empty lines inside,
heredocs of every flavour, JSON exec form, lower-case keywords, the backtick escape directive,
unicode) with secrets in every position dfix has a rule for (global/stage ARGs with and without
defaults, literal token-format defaults, ENV aliases, composite URL ENVs, LABELs, ONBUILD,
build-time expansions). A small share of lines is raw random text, so some inputs are invalid.

Hardening shapes (round two, points 5-10): RUN commands ending in a comment, ``;``, ``&`` or
``exit 0``; exec-form RUNs; parse errors next to secret values (``ENV NAME= value``); inputs that
were pathological for dfix's regexes (``/srv/aaa…%``, ``curl curl … -u``, ``://::::@``,
``http-basic.http-basic.…``, ``passpass…=``, ``# escape=`` with a long run of blanks); and, in the
build context, callers that must never be written: Python build scripts nested past what libcst
survives and YAML files that are alias bombs or nest too deep (read as unresolved callers).

At the end, the strategies of tests/test_fuzz_shapes.py (issue #20, round two) draw a ``Shaped``,
a whole build context with canaries: ``run_shapes`` (RUN endings, exec form, heredocs,
continuations with comments, layer-file writes and their readers), ``broken_shapes`` (parse errors
around secret values), ``pathological_shapes`` (regex-hostile inputs up to ~100 KB) and
``python_caller_shapes`` (build.py nested 50-3,000 deep).
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass

from hypothesis import strategies as st

SECRET_NAMES = (
    "NPM_TOKEN", "GITHUB_TOKEN", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "PIP_INDEX_URL", "api_key",
    "SECRET_KEY", "CREDS", "npm_token", "GH_PAT", "PYPI_TOKEN", "NUGET_API_KEY", "SONAR_TOKEN",
    "GitlabToken", "REGISTRY_PASSWORD", "SSH_PRIVATE_KEY", "SSH_KEY",
)
PLAIN_NAMES = ("VERSION", "BASE", "APP_DIR", "HTTP_PROXY", "TARGETARCH", "NODE_ENV", "GPG_KEY", "BUILD_ID")
ALIASES = ("ARTIFACTORY_SECRET", "TOKEN_COPY", "X", "PIP_EXTRA_INDEX_URL", "NPM_CONFIG_TOKEN", "AUTH", "DB_PASS")

ALNUM = string.ascii_letters + string.digits
# Never lone surrogates (not encodable, and they crash the Go parser extension); no NUL or line
# breaks inside a generated line (line structure is decided by the generator).
SAFE_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r")
UNICODE_WORDS = ("ünïcødé", "✓", "🐳", "日本語", "Ω≈ç√", "\u00a0nbsp", "e\u0301", "\u2028ls", "\u200bzw", "tab\there")


def _rand(alphabet: str, n: int):
    return st.text(alphabet=alphabet, min_size=n, max_size=n)


def literal_tokens():
    """Literal credentials in well-known token formats, built from random characters."""
    return st.one_of(
        _rand(ALNUM, 36).map(lambda s: "ghp_" + s),
        _rand(ALNUM + "-_", 20).map(lambda s: "glpat-" + s),
        _rand(string.ascii_uppercase + string.digits, 16).map(lambda s: "AKIA" + s),
        _rand(ALNUM, 36).map(lambda s: "npm_" + s),
        _rand(string.digits, 12).map(lambda s: f"xoxb-{s}-{s[::-1]}-abcdefABCDEF0123456789ab"),
        _rand(ALNUM, 24).map(lambda s: "sk_live_" + s),
        _rand("0123456789abcdef", 40),
        st.sampled_from(["changeme", "xxx", "<token>", "${DEFAULT_TOKEN}", "", "secret", "dummy"]),
        pathological_values(),
        st.text(SAFE_CHARS.filter(lambda c: c not in " \t\\`\"'$"), min_size=1, max_size=12),
    )


def pathological_values():
    """Values that took one of dfix's regexes exponential or quadratic time (now linear)."""
    n = st.integers(1, 120)
    return st.one_of(
        n.map(lambda k: "/srv/" + "a" * k + "%"),  # the absolute-path pattern: exponential
        n.map(lambda k: "/srv/" + "a/" * k + "b"),
        n.map(lambda k: "://" + ":" * k + "@h"),  # URL password: quadratic
        n.map(lambda k: "pass" * k + "="),  # credential-word assignment: quadratic
        n.map(lambda k: "x" + "9" * k + "="),
    )


def _quote(value: str, how: str) -> str:
    if how == "dq" and '"' not in value and "\\" not in value:
        return f'"{value}"'
    if how == "sq" and "'" not in value:
        return f"'{value}'"
    return value if value and not any(c in value for c in " \t\"'\\`") else "x"


@dataclass
class Ctx:
    escape: str
    case: str  # upper | lower | mixed
    names: list[str]  # every variable name in play (secrets, aliases, plain)
    garbage: bool = True  # allow raw random lines


def kw(draw, ctx: Ctx, word: str) -> str:
    mode = ctx.case if ctx.case != "mixed" else draw(st.sampled_from(["upper", "lower", "title"]))
    return {"upper": word.upper(), "lower": word.lower(), "title": word.title()}[mode]


def ref(draw, name: str) -> str:
    form = draw(st.sampled_from(["$n", "${n}", "${n:-x}", '"$n"', "${n:+set}", "$n/x"]))
    return form.replace("n", name, 1) if form != "$n/x" else f"${name}/x"


def shell_snippet(draw, ctx: Ctx) -> str:
    v = ref(draw, draw(st.sampled_from(ctx.names)))
    uni = draw(st.sampled_from(UNICODE_WORDS))
    templates = [
        "npm ci",
        "npm install --registry https://r.example.com",
        f'curl -fsS -H "Authorization: Bearer {v}" https://x.example.com/a',
        f'curl -u "{v}" https://x.example.com/b',
        "pip install -r requirements.txt",
        f"git clone https://{v}@github.com/o/r",
        f'echo "{v}" > /tmp/t',
        f"sh -c 'echo {v}'",
        "make build",
        "./build.sh",
        "apt-get update && apt-get install -y curl",
        "echo ${A:-${B:-${C:-deep}}}",
        f"echo '{uni}'",
        f"docker login -u u -p {v} registry.example.com",
        "yarn install --frozen-lockfile",
        f'wget --header="PRIVATE-TOKEN: {v}" https://gitlab.example.com/x',
        "true",
        f"export Q={v} && ./configure",
        # secrets written to layer files (DF007): folded into their consumers, with the undo
        f"npm config set //registry.npmjs.org/:_authToken={v}",
        f'git config --global url."https://{v}@github.com/".insteadOf "https://github.com/"',
        f'echo "//registry.npmjs.org/:_authToken={v}" > /root/.npmrc',
        f"pip config set global.index-url https://u:{v}@pypi.example.com/simple",
        f"poetry config http-basic.x u {v}",
        "rm -f /root/.npmrc",
        # SSH keys
        f'mkdir -p /root/.ssh && echo "{v}" > /root/.ssh/id_rsa && chmod 600 /root/.ssh/id_rsa',
        "ssh-keyscan github.com >> /root/.ssh/known_hosts",
        "eval $(ssh-agent) && ssh-add /root/.ssh/id_rsa",
        "git clone git@github.com:o/r.git",
    ]
    if ctx.garbage and draw(st.integers(0, 9)) == 0:
        raw = draw(st.text(SAFE_CHARS, min_size=1, max_size=20))
        return f"echo {raw}"
    if draw(st.integers(0, 7)) == 0:
        return pathological_command(draw, v)
    return draw(st.sampled_from(templates))


def pathological_command(draw, v: str) -> str:
    """A command that was quadratic for a regex looking for an option near its command word
    (curl -u, docker login -p, mysql -p, http-basic, a URL password): many command words, few
    options, long runs of one character."""
    k = draw(st.integers(1, 60))
    return draw(st.sampled_from([
        "curl " * k + f"-u {v} https://x.example.com",
        "curl " + "x " * k + f"-u user:{v} https://x.example.com",
        "docker login " * k + f"-p {v} r.example.com",
        "mysql " * k + f"-p{v}",
        f"echo http://{':' * k}{v}@h.example.com",
        "poetry config " + "http-basic." * k + f" u {v}",
        "echo " + "pass" * k + f"={v}",
        f"echo {v} | " + "x " * k + "docker login --password-stdin",
    ]))


def shell_command(draw, ctx: Ctx) -> str:
    parts = [shell_snippet(draw, ctx) for _ in range(draw(st.integers(1, 3)))]
    out = parts[0]
    for p in parts[1:]:
        out += draw(st.sampled_from([" && ", "; ", " || "])) + p
    if draw(st.integers(0, 5)) == 0:
        # an ending an appended clean-up must not follow (point 5/6): a comment, `;`, `&`, an exit
        out += draw(st.sampled_from([" # trailing note", " #", ";", " ;", " &", "; exit 0", " || true"]))
    return out


def continued(draw, ctx: Ctx, head: str, body: str) -> list[str]:
    """``head body`` as physical lines, split at spaces with escape continuations, optionally with
    comment lines and empty lines inside the continuation."""
    words = body.split(" ")
    lines: list[str] = []
    cur = head
    for w in words:
        if lines or cur != head:
            if draw(st.integers(0, 4)) == 0:
                lines.append(cur + draw(st.sampled_from(["", " ", "  ", "\t"])) + ctx.escape + draw(st.sampled_from(["", " ", "\t"])))
                for _ in range(draw(st.integers(0, 2))):
                    extra = draw(st.sampled_from(["comment", "empty", "blank-ws"]))
                    if extra == "comment":
                        lines.append(draw(st.sampled_from(["", "  ", "\t"])) + "# " + draw(st.sampled_from(["note", "dfix: ignore[DF001]", "ünïcødé", "npm ci"])))
                    elif extra == "empty":
                        lines.append("")
                    else:
                        lines.append(draw(st.sampled_from([" ", "\t", "  "])))
                cur = draw(st.sampled_from(["", "  ", "    ", "\t"])) + w
                continue
            cur += " " + w
        else:
            cur += (" " if cur else "") + w
    lines.append(cur)
    return lines


def heredoc_run(draw, ctx: Ctx, keyword: str) -> list[str]:
    name = draw(st.sampled_from(["EOF", "EOT", "SCRIPT", "end"]))
    flavour = draw(st.sampled_from(["plain", "chomp", "sq", "dq"]))
    opener = {"plain": f"<<{name}", "chomp": f"<<-{name}", "sq": f"<<'{name}'", "dq": f'<<"{name}"'}[flavour]
    flags = draw(st.sampled_from(["", "--mount=type=cache,target=/root/.npm ", "--network=host "]))
    prog = draw(st.sampled_from(["", "bash ", "python3 ", "cat ", "sh -e "]))
    head = f"{keyword} {flags}{prog}{opener}"
    if draw(st.booleans()):
        head += draw(st.sampled_from([" && echo done", " > /tmp/out"]))
    body = []
    if draw(st.integers(0, 3)) == 0:
        body.append(draw(st.sampled_from(["#!/bin/bash", "#!/usr/bin/env python3", "#!/bin/sh -e"])))
    for _ in range(draw(st.integers(0, 4))):
        body.append(shell_command(draw, ctx))
    indent = "\t" if flavour == "chomp" else ""
    lines = [head] + [indent + b for b in body] + [indent + name]
    return lines


def exec_form(draw, ctx: Ctx) -> str:
    v = draw(st.sampled_from(ctx.names))
    argv = draw(
        st.sampled_from(
            [["npm", "ci"], ["sh", "-c", f"echo ${v}"], ["/bin/bash", "-c", "pip install x"], ["./run.sh", "a b"],
             ["make"], ["curl", "-H", f"Authorization: Bearer ${{{v}}}", "https://x"], ["echo", "ünï \"q\" \\"],
             ["sh", "-c", f"npm ci; echo ${v} # done"], ["npm", "ci", f"--token=${{{v}}}"], ["sh", "-c", f"curl -u ${v} https://x &"]]
        )
    )
    sep = draw(st.sampled_from([", ", ",", " , "]))
    return "[" + sep.join(json.dumps(a, ensure_ascii=draw(st.booleans())) for a in argv) + "]"


def instruction(draw, ctx: Ctx, secret: str, alias: str) -> list[str]:
    k = lambda w: kw(draw, ctx, w)  # noqa: E731
    kind = draw(
        st.sampled_from(
            ["arg", "arg", "arg-multi", "env-alias", "env-composite", "env-literal", "env-legacy", "run", "run", "run",
             "run-flags", "run-heredoc", "run-exec", "copy", "copy-heredoc", "copy-chown", "label", "onbuild",
             "workdir", "user", "misc", "comment", "empty"] + (["garbage", "broken"] if ctx.garbage else [])
        )
    )
    if kind == "arg":
        name = draw(st.sampled_from([secret, secret, draw(st.sampled_from(PLAIN_NAMES))]))
        if draw(st.booleans()):
            return [f"{k('ARG')} {name}"]
        value = draw(literal_tokens())
        return [f"{k('ARG')} {name}={_quote(value, draw(st.sampled_from(['', 'dq', 'sq'])))}"]
    if kind == "arg-multi":
        plain = draw(st.sampled_from(PLAIN_NAMES))
        items = [plain, secret, f"{plain}_2=1"]
        items = draw(st.permutations(items))
        return continued(draw, ctx, k("ARG"), " ".join(items))
    if kind == "env-alias":
        return [f"{k('ENV')} {alias}={ref(draw, secret)}" + draw(st.sampled_from(["", " OTHER=1"]))]
    if kind == "env-composite":
        return [f"{k('ENV')} {alias}=https://__token__:${{{secret}}}@pypi.example.com/simple"]
    if kind == "env-literal":
        return [f"{k('ENV')} {draw(st.sampled_from(SECRET_NAMES))}={_quote(draw(literal_tokens()), 'dq')}"]
    if kind == "env-legacy":
        return [f"{k('ENV')} {alias} ${secret}"]
    if kind == "run":
        return continued(draw, ctx, k("RUN"), shell_command(draw, ctx))
    if kind == "run-flags":
        flags = " ".join(draw(st.lists(st.sampled_from(["--mount=type=cache,target=/root/.cache", "--network=host", "--security=insecure", "--mount=type=secret,id=existing"]), min_size=1, max_size=2)))
        return continued(draw, ctx, k("RUN"), flags + " " + shell_command(draw, ctx))
    if kind == "run-heredoc":
        return heredoc_run(draw, ctx, k("RUN"))
    if kind == "run-exec":
        flags = draw(st.sampled_from(["", "--network=host "]))
        return continued(draw, ctx, k("RUN"), flags + exec_form(draw, ctx))
    if kind == "copy":
        return [f"{k('COPY')} " + draw(st.sampled_from([
            ". .", ".npmrc package.json ./", "--from=build /app /app", "[\"a b\", \"/c\"]", ".npmrc ./", ".npmrc /root/.npmrc",
            ".netrc /root/.netrc", "id_rsa /root/.ssh/id_rsa", "--chown=node .npmrc ./",
        ]))]
    if kind == "copy-heredoc":
        return [f"{k('COPY')} <<EOF /etc/conf", f"token=${{{secret}}}", "EOF"]
    if kind == "copy-chown":
        return [f"{k('COPY')} --chown=${secret} a /b"]
    if kind == "label":
        return [f"{k('LABEL')} org.example.key={ref(draw, secret)} other=\"a b\""]
    if kind == "onbuild":
        inner = draw(st.sampled_from([f"{k('RUN')} npm ci", f"{k('ARG')} {secret}", f"{k('ENV')} {alias}=${secret}", f"{k('RUN')} echo ${secret}"]))
        return [f"{k('ONBUILD')} {inner}"]
    if kind == "workdir":
        return [f"{k('WORKDIR')} " + draw(st.sampled_from(["/app", "/srv/ünï", f"/x/${secret}"]))]
    if kind == "user":
        return [f"{k('USER')} " + draw(st.sampled_from(["node", "1000:1000"]))]
    if kind == "misc":
        return [draw(st.sampled_from([
            f"{k('EXPOSE')} 8080", f"{k('CMD')} [\"node\", \"server.js\"]", f"{k('ENTRYPOINT')} /entry.sh", f"{k('SHELL')} [\"/bin/bash\", \"-c\"]",
            f"{k('HEALTHCHECK')} --interval=5s CMD curl -f http://localhost/", f"{k('STOPSIGNAL')} SIGTERM", f"{k('VOLUME')} /data",
            f"{k('MAINTAINER')} someone", f"{k('ADD')} https://example.com/a.tgz /tmp/",
        ]))]
    if kind == "broken":
        # a parse error next to a secret value: the error message must not echo it (point 7)
        value = draw(literal_tokens())
        return [draw(st.sampled_from([
            f"{k('ENV')} {secret}= {value or 'x'}",
            f"{k('ENV')} {secret}=\"{value}",
            f"{k('LABEL')} token=\"{value}",
            f"{k('ARG')} {secret}=\"{value}",
        ]))]
    if kind == "comment":
        return [draw(st.sampled_from(["# comment", "#", "  # indented ünïcødé", "# dfix: ignore[DF001]", "# dfix: file-ignore[DF002]"]))]
    if kind == "empty":
        return [draw(st.sampled_from(["", " ", "\t"]))]
    # garbage: raw random text (may or may not be a valid instruction)
    return [draw(st.text(SAFE_CHARS, min_size=0, max_size=30))]


@st.composite
def dockerfiles(draw, *, garbage: bool = True) -> bytes:
    """A Dockerfile as bytes."""
    escape = draw(st.sampled_from(["\\", "\\", "\\", "`"]))
    ctx = Ctx(escape=escape, case=draw(st.sampled_from(["upper", "upper", "lower", "mixed"])), names=[], garbage=garbage)
    secrets = draw(st.lists(st.sampled_from(SECRET_NAMES), min_size=1, max_size=3, unique=True))
    aliases = draw(st.lists(st.sampled_from(ALIASES), min_size=1, max_size=2, unique=True))
    ctx.names = secrets + aliases + [draw(st.sampled_from(PLAIN_NAMES))]
    lines: list[str] = []
    directives = []
    if escape == "`":
        directives.append("# escape=`")
    if draw(st.integers(0, 4)) == 0:
        directives.append(draw(st.sampled_from(["# syntax=docker/dockerfile:1", "# syntax=docker/dockerfile:1.4", "# syntax=docker/dockerfile:1.10", "#syntax=example.com/frontend"])))
    if draw(st.integers(0, 5)) == 0:
        # (skip=SecretsUsedInArgOrEnv makes dfix skip the file's secret findings: one in three)
        directives.append(draw(st.sampled_from(["# check=skip=SecretsUsedInArgOrEnv", "# check=skip=JSONArgsRecommended", "# check=error=true"])))
    if garbage and draw(st.integers(0, 24)) == 0:
        # a directive value with a long run of blanks inside (quadratic for the old directive regex)
        directives.append("# escape=" + draw(st.sampled_from(["a", "\\"])) + " " * draw(st.integers(1, 200)) + "b")
    lines += draw(st.permutations(directives))
    # global ARGs
    for _ in range(draw(st.integers(0, 2))):
        s = draw(st.sampled_from(secrets))
        lines.append(f"{kw(draw, ctx, 'ARG')} {s}" + draw(st.sampled_from(["", "=" + _quote(draw(literal_tokens()), "dq")])))
    if draw(st.integers(0, 7)) == 0:
        # comments that would be parser directives if they were at the top: they are not, and
        # must not become ones when the instructions above them are removed
        lines.append(draw(st.sampled_from(["# escape=`" if escape == "\\" else "# escape=\\", "# check=skip=all", "# syntax=docker/dockerfile:1.4"])))
    for stage in range(draw(st.integers(1, 3))):
        image = draw(st.sampled_from(["ubuntu:22.04", "node:20-alpine", "${BASE}", "python:3.12 AS build", "--platform=$BUILDPLATFORM alpine AS s", f"scratch AS stage{stage}"]))
        lines.append(f"{kw(draw, ctx, 'FROM')} {image}")
        for _ in range(draw(st.integers(0, 8))):
            secret = draw(st.sampled_from(secrets))
            alias = draw(st.sampled_from(aliases))
            chunk = instruction(draw, ctx, secret, alias)
            lines.extend(chunk)
    # continuation at EOF (BuildKit accepts it)
    if draw(st.integers(0, 9)) == 0:
        lines.append(f"{kw(draw, ctx, 'RUN')} echo tail {escape}")
    ending = draw(st.sampled_from(["lf", "lf", "crlf", "mixed"]))
    out = []
    for i, ln in enumerate(lines):
        if ending == "lf":
            nl = "\n"
        elif ending == "crlf":
            nl = "\r\n"
        else:
            nl = draw(st.sampled_from(["\n", "\r\n"]))
        out.append(ln + nl)
    text = "".join(out)
    if draw(st.integers(0, 5)) == 0:
        text = text.rstrip("\r\n")
    bom = draw(st.integers(0, 5)) == 0
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


@st.composite
def run_options(draw) -> list[str]:
    opts: list[str] = []
    if draw(st.booleans()):
        opts.append("--unsafe-fixes")
    style = draw(st.sampled_from([None, None, "env", "file", "auto"]))
    if style:
        opts += ["--mount-style", style]
    if draw(st.integers(0, 4)) == 0:
        opts.append("--require-secrets")
    if draw(st.integers(0, 4)) == 0:
        opts += ["--emit", "podman"]
    if draw(st.integers(0, 6)) == 0:
        opts += ["--secret-name", "*_ID"]
    return opts


@st.composite
def contexts(draw) -> dict[str, bytes]:
    """Files beside the Dockerfile (the build context): credential files for DF008 and .npmrc
    files that expand ``${VAR}`` (implicit consumers)."""
    out: dict[str, bytes] = {}
    npmrc = draw(st.sampled_from([None, "ref", "literal", "plain"]))
    if npmrc == "ref":
        out[".npmrc"] = b"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"
    elif npmrc == "literal":
        out[".npmrc"] = ("//registry.npmjs.org/:_authToken=npm_" + draw(_rand(ALNUM, 36)) + "\n").encode()
    elif npmrc == "plain":
        out[".npmrc"] = b"registry=https://registry.npmjs.org/\n"
    if draw(st.integers(0, 3)) == 0:
        out[".netrc"] = ("machine example.com login u password " + draw(_rand(ALNUM, 20)) + "\n").encode()
    if draw(st.integers(0, 4)) == 0:
        out["id_rsa"] = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    if draw(st.integers(0, 4)) == 0:
        out[".dockerignore"] = b".netrc\n"
    if draw(st.integers(0, 7)) == 0:
        out.update(unparsed_callers(draw))
    return out


def unparsed_callers(draw) -> dict[str, bytes]:
    """Callers dfix must refuse to parse, so never write: a Python build script nested deeper than
    libcst survives (2,000 brackets were a segfault) or than dfix lets it parse, and YAML alias
    bombs / deep flow collections. Each passes a secret as a build arg, so it blocks the fixes."""
    name = draw(st.sampled_from(SECRET_NAMES))
    depth = draw(st.sampled_from([150, 2500]))
    shape = draw(st.sampled_from(["paren", "call", "unary", "fstring"]))
    nested = {"paren": "(" * depth + "1" + ")" * depth, "call": "f(" * depth + "1" + ")" * depth,
              "unary": "-" * (depth * 10) + "1", "fstring": "f'{" + "(" * depth + "1" + ")" * depth + "}'"}[shape]
    out: dict[str, bytes] = {}
    kind = draw(st.sampled_from(["python", "compose", "gitlab"]))
    if kind == "python":
        out["build.py"] = (f'import subprocess\nsubprocess.run(["docker", "build", "--build-arg", "{name}", "."])\n'
                           f"x = {nested}\n").encode()
    elif kind == "compose":
        levels = "".join(f"x-l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10))
        out["compose.yaml"] = (f"x-l0: &l0 [lol]\n{levels}services:\n  app:\n    build:\n      context: .\n"
                               f"      args:\n        {name}: x\n    labels: *l9\n").encode()
    else:
        out[".gitlab-ci.yml"] = (f"b:\n  script:\n    - docker build --build-arg {name} .\n  x: "
                                 + "[" * depth + "1" + "]" * depth + "\n").encode()
    return out


# ============================================================================================
# Hardening, round two (issue #20), the shapes of tests/test_fuzz_shapes.py. Each strategy draws a
# ``Shaped``: the files of one build context, the shape's name (named again by a failure of the
# per-input time budget) and the canaries, credentials in real token formats placed where dfix
# must know them as secret values, which no output may print.


@dataclass
class Shaped:
    shape: str
    dockerfile: bytes
    context: dict[str, bytes]
    canaries: tuple[str, ...]

    def __repr__(self) -> str:  # a failing example, shortened (inputs reach 100 KB)
        def cut(b: bytes) -> bytes:
            return b if len(b) <= 1500 else b[:1000] + b"...<%d bytes>..." % (len(b) - 1300) + b[-300:]

        ctx = {k: cut(v) for k, v in self.context.items()}
        return f"Shaped(shape={self.shape!r}, dockerfile={cut(self.dockerfile)!r}, context={ctx!r}, canaries={self.canaries!r})"

    def _repr_pretty_(self, p, cycle) -> None:  # Hypothesis' printer uses this, not __repr__, for a dataclass
        p.text(repr(self))


CANARY_FORMATS = (  # (prefix, alphabet, body length): exactly the formats dfix's token patterns name
    ("ghp_", ALNUM, 36),
    ("npm_", ALNUM, 36),
    ("glpat-", ALNUM, 20),
    ("AKIA", string.ascii_uppercase + string.digits, 16),
    ("sk_live_", ALNUM, 24),
)


def _canary(fmt: tuple[str, str, int], seed: int) -> str:
    import random

    prefix, alphabet, n = fmt
    rnd = random.Random(seed)
    while True:
        body = "".join(rnd.choice(alphabet) for _ in range(n))
        # high entropy, never a stand-in (``ghp_000…`` is no credential, and dfix may print it)
        if sum(c.isdigit() for c in body) >= 2 and sum(c.isalpha() for c in body) >= n // 3 and len(set(body)) >= n // 2:
            return prefix + body


def canaries():
    """A credential in a real token format with a random high-entropy body."""
    return st.builds(_canary, st.sampled_from(CANARY_FORMATS), st.integers(0, 2**32 - 1))


SHAPE_SECRETS = ("NPM_TOKEN", "GH_PAT", "PYPI_TOKEN", "SONAR_TOKEN", "DB_PASSWORD")

# Commands that write a secret into a layer file: dfix folds the write into the RUNs that read the
# file and appends a clean-up (`&& rm -f …`, `git config --unset …`) to each; a clone with the
# token in its URL gets a clean-up of the clone's .git/config.
WRITERS = (
    'echo "//registry.npmjs.org/:_authToken=${@S@}" > /root/.npmrc',
    "npm config set //registry.npmjs.org/:_authToken=${@S@}",
    'printf "machine example.com login u password %s\\n" "${@S@}" > /root/.netrc',
    "pip config set global.index-url https://u:${@S@}@pypi.example.com/simple",
    'git config --global url."https://${@S@}@github.com/".insteadOf "https://github.com/"',
    "poetry config http-basic.x u ${@S@}",
)
READERS = ("npm ci", "npm ci", "curl --netrc -o /tmp/a https://example.com/a", "pip install -r requirements.txt", "git clone https://github.com/o/private /src",
           "poetry install")  # a command that reads the file WRITERS[i] writes
CONSUMERS = (
    "npm ci",
    "npm install --registry https://r.example.com",
    "pip install -r requirements.txt",
    "git clone https://${@S@}@github.com/o/r /src",
    'curl -fsS -H "Authorization: Bearer ${@S@}" -o /tmp/a https://x.example.com/a',
    "./build.sh",
    "make build",
    "yarn install --frozen-lockfile",
    "cat /root/.npmrc",
    "(exit 0) && npm ci",
    'sh -c "npm ci; exit 0"',
    "exec npm ci",
)
# Endings an appended clean-up must not follow (points 5, 6) and endings it may follow.
RUN_ENDINGS = (
    "", "", "", " # install deps", " #", "\t# note && rm -rf /tmp", "; exit 0", " || true", ";", " ;", " &", " |",
    " && exit 0", "; exit 1", " || exit 0", " # it's", ' # "quoted', " # trailing ${@S@}", "; true", " && true # done",
)


def _fill(template: str, secret: str) -> str:
    return template.replace("@S@", secret)


def _ending(draw, secret: str) -> str:
    return "" if draw(st.booleans()) else _fill(draw(st.sampled_from(RUN_ENDINGS)), secret)


def _run_line(draw, ctx: Ctx, secret: str, role: str) -> list[str]:
    """One RUN of the round-two shapes, as physical lines: ``role`` writer (a secret into a layer
    file), consumer (reads one, or clones with the token) or mixed."""
    pool = {"writer": WRITERS, "consumer": CONSUMERS, "mixed": WRITERS + CONSUMERS}[role]
    kind = draw(st.sampled_from(["shell"] * 8 + ["continued"] * 2 + ["exec", "heredoc"]))
    if kind == "exec":
        argv = draw(st.sampled_from([
            ["sh", "-c", "npm ci"], ["npm", "ci"], ["sh", "-c", "npm ci # install deps"], ["sh", "-c", "npm ci; exit 0"],
            ["/bin/bash", "-c", f"curl -H \"Authorization: Bearer ${secret}\" https://x"], ["./run.sh", "a b"],
        ]))
        return ["RUN " + draw(st.sampled_from(["", "--network=host "])) + json.dumps(argv)]
    if kind == "heredoc":
        opener = draw(st.sampled_from(["<<EOF", "<<-EOF", "<<'EOF'", "bash <<EOF", "sh -e <<EOF", "cat <<EOF > /tmp/s && sh /tmp/s"]))
        body = [_fill(draw(st.sampled_from(pool)), secret) + _ending(draw, secret) for _ in range(draw(st.integers(1, 3)))]
        tab = "\t" if opener == "<<-EOF" else ""
        return [f"RUN {opener}"] + [tab + b for b in body] + [tab + "EOF"]
    parts = [_fill(draw(st.sampled_from(pool)), secret) for _ in range(draw(st.integers(1, 2)))]
    text = parts[0]
    for p in parts[1:]:
        text += draw(st.sampled_from([" && ", " && ", "; ", " || "])) + p
    text += _ending(draw, secret)
    flags = draw(st.sampled_from(["", "", "", "--mount=type=cache,target=/root/.npm ", "--network=host "]))
    if kind == "continued":
        # a continuation with comment lines (and empty lines) between, maybe a comment at the very end
        lines = continued(draw, ctx, "RUN", flags + text)
        if draw(st.integers(0, 3)) == 0:
            lines[-1] += " " + ctx.escape
            lines.append(draw(st.sampled_from(["  # a comment after the last continuation", "#", "  # rm -f /root/.npmrc"])))
        return lines
    return ["RUN " + flags + text]


@st.composite
def run_shapes(draw) -> Shaped:
    """Fixable Dockerfiles (secret build args without defaults; files written with them, then read;
    clones with the token in the URL) whose RUNs end in comments, `; exit 0`, `|| true`, `;`, `&`,
    `|`; exec form; heredocs; continuations with comments between. A canary sits in an ENV, in an
    ARG default, in a RUN literal, in a LABEL, in a comment or in .npmrc."""
    escape = draw(st.sampled_from(["\\"] * 5 + ["`"]))
    secrets = draw(st.lists(st.sampled_from(SHAPE_SECRETS), min_size=1, max_size=2, unique=True))
    ctx = Ctx(escape=escape, case="upper", names=list(secrets), garbage=False)
    cans: list[str] = []
    lines = ["# escape=`"] if escape == "`" else []
    if draw(st.integers(0, 3)) == 0:
        lines.append(f"ARG {secrets[0]}")
    lines.append("FROM " + draw(st.sampled_from(["node:20", "python:3.12-slim AS build", "alpine:3.20"])))
    for s in secrets:
        lines.append(f"ARG {s}")
    context: dict[str, bytes] = {}
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        c = draw(canaries())
        cans.append(c)
        where = draw(st.sampled_from(["env", "env-quoted", "arg-default", "run-header", "run-userinfo", "npmrc", "label", "comment"]))
        lines.append({
            "env": f"ENV GITHUB_TOKEN={c}",
            "env-quoted": f'ENV API_KEY="{c}" OTHER=1',
            "arg-default": f"ARG {draw(st.sampled_from(SHAPE_SECRETS))}={c}",
            "run-header": f'RUN curl -fsS -H "Authorization: Bearer {c}" https://x.example.com/a',
            "run-userinfo": f"RUN git clone https://u:{c}@github.com/o/r /vendor",
            "npmrc": "COPY .npmrc /root/.npmrc",
            "label": f"LABEL org.example.token={c}",
            "comment": f"# token: {c}",
        }[where])
        if where == "npmrc":
            context[".npmrc"] = f"//registry.npmjs.org/:_authToken={c}\n".encode()
    if draw(st.booleans()):
        # a write, then RUNs that read the file: dfix folds the write into each, with a clean-up
        secret = draw(st.sampled_from(secrets))
        w = draw(st.sampled_from(range(len(WRITERS))))
        lines.append("RUN " + _fill(WRITERS[w], secret))
        for _ in range(draw(st.integers(1, 2))):
            head = draw(st.sampled_from([READERS[w], READERS[w], "git clone https://${@S@}@github.com/o/r /src"]))
            flags = draw(st.sampled_from(["", "", "--mount=type=cache,target=/root/.cache "]))
            body = flags + _fill(head, secret) + _ending(draw, secret)
            lines.extend(continued(draw, ctx, "RUN", body) if draw(st.integers(0, 3)) == 0 else ["RUN " + body])
    else:
        roles = ["writer"] if draw(st.integers(0, 2)) else []
        roles += draw(st.lists(st.sampled_from(["consumer", "consumer", "consumer", "writer", "mixed"]), min_size=1, max_size=3))
        for role in roles:
            lines.extend(_run_line(draw, ctx, draw(st.sampled_from(secrets)), role))
    nl = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    text = nl.join(lines) + (nl if draw(st.integers(0, 5)) else "")
    return Shaped("run_shapes", text.encode(), context, tuple(cans))


# Parse errors (and near misses) around a secret value: BuildKit's messages quote the offending
# text, and every output format printed it (point 7). ``{S}`` is a secret name, ``{s}`` its id,
# ``{c}`` the canary.
BROKEN_AROUND = (
    "ENV {S}= {c}",
    "ENV {S}=  {c}",
    'ENV {S}="{c}',
    "ENV {S}='{c}",
    'ARG {S}="{c}',
    'LABEL token="{c}',
    "ENV A=1 {S}={c} B",
    "ENV {S}={c} X",
    "ENV {S} {c} extra=1",
    "ONBUILD ENV {S}= {c}",
    "ENV {S}=${{X:-{c}",
    "ENV {S}={c}\\",
    'ENV {S}="a\\"{c}',
    "ENV {S}==={c}",
    "ENV ={c}",
    "ARG {S}={c} {S}=",
    "FOO {S}={c}",
    "{S}={c}",
    "RUN --mount=type=secret,id={s},env={S},required=maybe curl -u u:{c} https://x.example.com",
    "RUN --mount=\"type=secret,id={s} curl -H 'Authorization: Bearer {c}' https://x.example.com",
    "RUN --mount type=secret curl -u u:{c} https://x.example.com",
    "RUN --mount= echo {c}",
    "RUN --mount=type=secret,id={s},env={S},env={S} curl -u u:{c} https://x.example.com",
    'RUN ["sh", "-c", "curl -u u:{c} https://x.example.com"',
    'RUN ["sh", "-c", "curl -u u:{c} https://x.example.com",]',
    "HEALTHCHECK --interval=1s CMD curl -u u:{c} https://x.example.com",
    "HEALTHCHECK --interval=x{c} CMD true",
    'ENV {S}="{c}" \\\n  # c\n  X="',
    "COPY <<EOF /root/.npmrc\n//registry.npmjs.org/:_authToken={c}",
    "ENV {S}=`{c}",
    "MAINTAINER {c} \\",
    "FROM alpine:3.20 AS {c}-x y",
)


@st.composite
def broken_shapes(draw) -> Shaped:
    """A fixable Dockerfile with one or two lines that are parse errors (or near misses) around a
    canary, before, between or after the instructions dfix rewrites."""
    secret = draw(st.sampled_from(SHAPE_SECRETS))
    fixable = ["FROM alpine:3.20", f"ARG {secret}", f'RUN curl -fsS -H "Authorization: Bearer ${secret}" https://x.example.com', "RUN npm ci"]
    cans: list[str] = []
    for _ in range(draw(st.integers(1, 2))):
        c = draw(canaries())
        cans.append(c)
        name = draw(st.sampled_from(SHAPE_SECRETS + ("GITHUB_TOKEN",)))
        bad = draw(st.sampled_from(BROKEN_AROUND)).replace("{S}", name).replace("{s}", name.lower()).replace("{c}", c)
        fixable.insert(draw(st.integers(1, len(fixable))), bad)
    if draw(st.integers(0, 3)) == 0:
        fixable.insert(0, draw(st.sampled_from(["# escape=`", "# syntax=docker/dockerfile:1", "# escape=`\n# escape=\\"])))
    return Shaped("broken_shapes", ("\n".join(fixable) + "\n").encode(), {}, tuple(cans))


# Pathological inputs for regexes, up to ~100 KB: long runs of one character, repeated fragments
# that made a regex look for an option near its command word, very long lines (BuildKit's limit
# is 64 KiB a physical line), and `# escape=` variants.
PATHO_RUNS = ("%", "/", "\\", "$", "{", "}", '"', "'", "`", ":", "@", "=", " ", "\t", "-", "a", "0", "#", "|", "&", ";")
PATHO_FRAGMENTS = (
    "curl -u ", "curl ", "docker login -p ", "docker login ", "://user:", "://", "http-basic.", "pass", "password=",
    "--password ", "-H \"Authorization: Bearer ", "${", "$(", "${X:-", "&& ", "| ", "a/", "/srv/a", "%2F", "x ",
    "mysql -p", "redis-cli -a ", "_authToken=", "-----BEGIN ", "ghp_", "eyJ", "<<EOF ", "\\\"", "'\"", "$$", "@h ",
)
MAX_LINE = 60_000


def _patho_text(draw, size: int) -> tuple[str, str]:
    """(``size`` characters of one repeated unit, the unit)."""
    unit = draw(st.one_of(st.sampled_from(PATHO_RUNS), st.sampled_from(PATHO_FRAGMENTS),
                          st.lists(st.sampled_from(PATHO_FRAGMENTS + PATHO_RUNS), min_size=2, max_size=4).map("".join)))
    return (unit * (size // len(unit) + 1))[:size], unit


@st.composite
def pathological_shapes(draw) -> Shaped:
    """Up to ~100 KB of long runs and repeated fragments in RUN, ARG, ENV, LABEL, comment,
    heredoc-body, continuation and directive positions, next to a fixable secret and a canary."""
    size = draw(st.sampled_from([64, 512, 4_096, 30_000, 59_000, 100_000]))
    where = draw(st.sampled_from(["run", "run-quoted", "arg", "env", "label", "comment", "heredoc", "continued", "escape", "syntax", "lines"]))
    secret = draw(st.sampled_from(SHAPE_SECRETS))
    c = draw(canaries())
    head: list[str] = []
    body = ["FROM alpine:3.20", f"ARG {secret}"]
    tail = [f'RUN curl -fsS -u "u:{c}" https://x.example.com/a', f"RUN npm ci && echo ${secret}"]
    pat, unit = _patho_text(draw, min(size, MAX_LINE))
    if where == "run":
        body.append("RUN echo " + pat)
    elif where == "run-quoted":
        body.append("RUN echo '" + pat.replace("'", "") + "' && curl -u \"$" + secret + "\" https://x")
    elif where == "arg":
        body.append("ARG OUTPUT_DIR=" + pat)
    elif where == "env":
        body.append(f"ENV {secret}_URL=" + pat)
    elif where == "label":
        body.append("LABEL x=\"" + pat.replace('"', "") + "\"")
    elif where == "comment":
        body.append("# " + pat)
    elif where == "heredoc":
        n = max(1, size // max(1, min(len(pat), 2_000)))
        body += ["RUN <<EOF"] + [pat[:2_000].replace("EOF", "E0F")] * min(n, 50) + ["EOF"]
    elif where == "continued":
        piece = pat[: max(1, min(len(pat), 2_000))].rstrip("\\")
        n = max(1, min(size // (len(piece) + 3), 400))
        body.append("RUN echo " + " \\\n  ".join([piece] * n))
    elif where == "escape":
        value = draw(st.sampled_from(["\\", "`", "b", "\\\\", "``", ""]))
        head.append(draw(st.sampled_from(["# escape=", "#escape=", "# ESCAPE = ", "#\tescape\t=\t"]))
                    + value + " " * min(size, MAX_LINE) + draw(st.sampled_from(["", "b", "`"])))
    elif where == "syntax":
        head.append("# syntax=" + pat.replace("\n", ""))
    else:  # many medium lines up to ~100 KB in total
        line = pat[:2_000]
        n = max(1, min(size // (len(line) + 5), 50))
        body += ["RUN echo " + line.rstrip("\\")] * n
    text = "\n".join(head + body + tail) + "\n"
    return Shaped(f"pathological_shapes[{where}, {size} B of {unit[:24]!r}]", text.encode(), {}, (c,))


# Python callers nested deep: before libcst parses a build script, dfix refuses one nested past
# what it can take (libcst segfaulted near 2,000 brackets); a refused script is one reason on one
# line that blocks the fixes it may concern, never a crash of the whole run.
PY_CALL = 'subprocess.run(["docker", "build", "--build-arg", f"NPM_TOKEN={tok}", "-t", "app", "."], check=True)'


def _py_nested(shape: str, d: int) -> str:
    call = PY_CALL
    return {
        "paren": f"x = {'(' * d}1{')' * d}\n{call}",
        "list": f"x = {'[' * d}{']' * d}\n{call}",
        "dict": "x = " + '{"a": ' * d + "1" + "}" * d + f"\n{call}",
        "around-call": "print(" * d + call + ")" * d,
        "in-fstring": call.replace("{tok}", "{" + "(" * d + "tok" + ")" * d + "}"),
        "in-argv": call.replace('"."]', '"."] + ' + "[" * d + "]" * d),
        "power": "x = " + "2**" * d + f"2\n{call}",
        "not": "x = " + "not " * d + f"1\n{call}",
        "attr": "x = a" + ".b" * d + f"\n{call}",
        "calls": "x = f" + "()" * d + f"\n{call}",
        "subscript": "x = a" + "[0]" * d + f"\n{call}",
        "ifexp": "x = " + "1 if a else " * d + f"2\n{call}",
        "compare": "x = a" + " < a" * d + f"\n{call}",
        "lambda": "x = " + "lambda: " * d + f"0\n{call}",
        "comprehension": "x = " + "[a for a in " * d + "b" + "]" * d + f"\n{call}",
        "unbalanced": f"x = {'(' * d}1\n{call}",
        "indent": "".join(" " * i + "if a:\n" for i in range(min(d, 400))) + " " * min(d, 400) + call,
        "minus": "x = " + "-" * d + f"1\n{call}",
        "star": "f(" + "*(" * d + "a" + ")" * d + f")\n{call}",
        "def": "".join(" " * i + f"def f{i}():\n" for i in range(min(d, 400))) + " " * min(d, 400) + call,
    }[shape]


PY_SHAPES = ("paren", "list", "dict", "around-call", "in-fstring", "in-argv", "power", "not", "attr", "calls", "subscript",
             "ifexp", "compare", "lambda", "comprehension", "unbalanced", "indent", "minus", "star", "def")


@st.composite
def python_caller_shapes(draw) -> Shaped:
    """A Dockerfile with a secret build arg, a ``build.py`` that passes it from a canary literal
    (``f"NPM_TOKEN={tok}"``) with 50-3,000 levels of nesting in one of many shapes, and a second,
    unrelated Dockerfile (``other/Dockerfile``) that must get its result whatever build.py does."""
    shape = draw(st.sampled_from(PY_SHAPES))
    depth = draw(st.one_of(st.sampled_from([50, 99, 100, 101, 150, 199, 200, 201, 300, 999, 1000, 1001, 2000, 3000]),
                           st.integers(50, 3000)))
    c = draw(canaries())
    src = f'import subprocess\ntok = "{c}"\n{_py_nested(shape, depth)}\n'
    context = {"build.py": src.encode(), "other/Dockerfile": b"FROM alpine:3.20\nARG SONAR_TOKEN\nRUN ./scan.sh\n"}
    dockerfile = b"FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n"
    return Shaped(f"python_caller_shapes[{shape}, depth {depth}]", dockerfile, context, (c,))

"""What a RUN's shell text does with variables.

``analyze_shell`` parses the script with tree-sitter-bash (error tolerant; it recurses into
``sh -c '…'`` strings and heredoc bodies) and returns the variables it expands, the variables it
assigns, and the commands it runs. ``auth_uses`` finds the places where a variable reaches an
authenticating position (URL user-info, auth headers, ``curl -u``, ``--password``, ``.npmrc``
``_authToken``, netrc ``password``, ``docker login``), which is *use* evidence for the detector.

tree-sitter is imported lazily: most files never need shell analysis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

_SHELLS = {"sh", "bash", "dash", "ash", "zsh", "ksh", "/bin/sh", "/bin/bash", "/bin/dash", "/bin/ash", "/usr/bin/env"}

# Commands that cannot read an arbitrary secret from the environment: standard utilities and
# package managers whose credential sources are known (see implicit.py). Anything else (a script,
# make, an interpreter running a file) is *opaque*: it could read any variable.
TRANSPARENT = frozenset(
    """
    apt apt-get apt-key apt-cache dpkg apk yum dnf microdnf zypper rpm tdnf pacman
    mkdir cp mv rm ln chmod chown chgrp touch ls cat echo printf sed awk grep egrep find xargs tar gzip
    gunzip unzip zip bzip2 xz tee head tail cut sort uniq wc tr sleep true false test [ [[ cd pwd export set
    unset useradd groupadd adduser addgroup usermod id whoami env which command type mktemp dirname basename
    install sha256sum sha1sum md5sum gpg gpgconf locale-gen update-locale ldconfig update-ca-certificates
    update-alternatives rmdir stat sync umask exit return source . readlink realpath date hostname uname
    ulimit chroot su sudo gosu tini dos2unix patch diff cmp file iconv sh bash dash ash
    """.split()
)


@dataclass(frozen=True)
class ShellInfo:
    refs: frozenset[str] = frozenset()  # variables expanded
    assigned: frozenset[str] = frozenset()  # variables assigned/exported
    commands: tuple[str, ...] = ()  # command names (basenames), in order, including nested sh -c
    uncertain: bool = False  # the parser could not make full sense of the text (or eval/source)
    argv: tuple[tuple[str, ...], ...] = field(default=(), repr=False)  # simple commands' words

    @property
    def opaque(self) -> bool:
        """Runs something that could read any environment variable."""
        if self.uncertain:
            return True
        return any(c not in TRANSPARENT and c not in KNOWN_TOOLS for c in self.commands)


# Tools with known credential sources (implicit consumers); see implicit.py for the variables.
KNOWN_TOOLS = frozenset(
    """
    npm npx yarn pnpm corepack pip pip3 pipx uv poetry pipenv mvn gradle gradlew go git curl wget aws gcloud
    gsutil az composer bundle gem docker helm dotnet nuget cargo conda mamba micromamba huggingface-cli
    twine ssh scp ssh-keyscan rsync
    """.split()
)


@lru_cache(maxsize=1)
def _parser():
    import tree_sitter_bash
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bash.language()))


def _text(node) -> str:
    return node.text.decode("utf-8", "replace")


def _word_value(node) -> str:
    """The literal text of a word-like node, quotes removed (expansions kept as written)."""
    t = node.type
    raw = _text(node)
    if t == "raw_string":
        return raw[1:-1]
    if t == "string":
        return raw[1:-1].replace('\\"', '"').replace("\\$", "$").replace("\\\\", "\\")
    if t == "concatenation":
        return "".join(_word_value(c) for c in node.children)
    return raw


@lru_cache(maxsize=4096)
def analyze_shell(script: str) -> ShellInfo:
    refs: set[str] = set()
    assigned: set[str] = set()
    commands: list[str] = []
    argvs: list[tuple[str, ...]] = []
    uncertain = [False]
    _analyze(script, refs, assigned, commands, argvs, uncertain, depth=0)
    return ShellInfo(frozenset(refs), frozenset(assigned), tuple(commands), uncertain[0], tuple(argvs))


def _analyze(script, refs, assigned, commands, argvs, uncertain, depth) -> None:
    if depth > 4:
        uncertain[0] = True
        return
    data = script.encode("utf-8", "surrogatepass")
    tree = _parser().parse(data)
    root = tree.root_node
    if root.has_error:
        uncertain[0] = True
        # fall back to a lexical scan so nothing is missed
        from refactor.syntax.words import find_refs

        refs.update(r.name for r in find_refs(script))
    stack = [root]
    while stack:
        node = stack.pop()
        t = node.type
        if t in ("simple_expansion", "expansion"):
            for c in node.children:
                if c.type in ("variable_name", "special_variable_name"):
                    refs.add(_text(c))
                    break
                if c.type == "subscript":
                    for cc in c.children:
                        if cc.type == "variable_name":
                            refs.add(_text(cc))
                            break
                    break
        elif t == "variable_name" and node.parent is not None and node.parent.type in (
            "binary_expression",
            "unary_expression",
            "arithmetic_expansion",
            "parenthesized_expression",
            "postfix_expression",
        ):
            refs.add(_text(node))
        elif t == "variable_assignment":
            for c in node.children:
                if c.type == "variable_name":
                    assigned.add(_text(c))
                    break
        elif t == "command":
            _command(node, refs, assigned, commands, argvs, uncertain, depth)
        stack.extend(reversed(node.children))


def _command(node, refs, assigned, commands, argvs, uncertain, depth) -> None:
    name_node = None
    words = []
    for c in node.children:
        if c.type == "command_name":
            name_node = c
        elif name_node is not None and c.type not in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
            words.append(c)
    if name_node is None:
        return
    name = _word_value(name_node.children[0]) if name_node.children else _text(name_node)
    base = name.rsplit("/", 1)[-1]
    if "$" in name:
        uncertain[0] = True
    commands.append(base)
    argv = (base, *(_word_value(w) for w in words))
    argvs.append(argv)
    if base in ("eval",) or base in (".", "source"):
        uncertain[0] = True
    if base == "export" or base == "declare" or base == "readonly":
        for w in words:
            v = _word_value(w)
            if v and not v.startswith("-"):
                assigned.add(v.split("=", 1)[0])
    # sh -c 'script' / bash -ec "script": analyse the script argument too
    if name in _SHELLS or base in ("sh", "bash", "dash", "ash", "zsh"):
        vals = [_word_value(w) for w in words]
        for i, v in enumerate(vals):
            if v.startswith("-") and not v.startswith("--") and "c" in v[1:]:
                if i + 1 < len(vals):
                    _analyze(vals[i + 1], refs, assigned, commands, argvs, uncertain, depth + 1)
                break
        else:
            if vals and not vals[0].startswith("-"):
                commands.append("<script>")  # sh script.sh: opaque
    if base in ("env",):
        # env FOO=bar cmd args: the command after the assignments runs
        for w in words:
            v = _word_value(w)
            if "=" in v or v.startswith("-"):
                continue
            commands.append(v.rsplit("/", 1)[-1])
            break
    if base in ("xargs", "sudo", "gosu", "su", "tini", "chroot", "nice", "timeout", "exec", "command"):
        for w in words:
            v = _word_value(w)
            if v.startswith("-") or "=" in v:
                continue
            commands.append(v.rsplit("/", 1)[-1])
            break


def exec_form_script(argv: list[str]) -> str | None:
    """For exec-form RUN ``["sh", "-c", "script"]`` return the script; else None."""
    if len(argv) >= 3 and argv[0].rsplit("/", 1)[-1] in ("sh", "bash", "dash", "ash", "zsh"):
        for i, a in enumerate(argv[1:], 1):
            if a.startswith("-") and "c" in a[1:] and i + 1 < len(argv):
                return argv[i + 1]
    return None


# --------------------------------------------------------------------------------------------
# Use evidence: a variable reaching an authenticating position


def _ref(name: str) -> str:
    n = re.escape(name)
    return r"\$(?:\{" + n + r"(?:[:\-+?=#%/][^}]*)?\}|" + n + r"(?![A-Za-z0-9_]))"


@lru_cache(maxsize=2048)
def _use_patterns(name: str) -> tuple[tuple[re.Pattern, str, float], ...]:
    r = _ref(name)
    q = r"[\"']?"
    return (
        (re.compile(r"://[^\s/@'\"]*:[^\s/@'\"]*" + r + r"[^\s/@'\"]*@"), "reaches the password part of a URL", 2.0),
        (re.compile(r"://" + r + r"@"), "is used as the URL user-info (token as user)", 1.5),
        (re.compile(r"://" + r + r":[^\s/@'\"]*@"), "", 0.0),  # username position: no evidence
        (
            re.compile(r"(?i)(?:authorization|private-token|job-token|x-jfrog-art-api|x-api-key|api-key|x-auth-token)\s*:[^\n\"']*" + r),
            "is sent in an HTTP authentication header",
            2.0,
        ),
        (re.compile(r"(?:^|\s)(?:-u|--user)(?:\s+|=)" + q + r"[^\s\"':]*:[^\s\"']*" + r), "is the password of curl -u", 2.0),
        (re.compile(r"(?:^|\s)(?:-u|--user)(?:\s+|=)" + q + r + q + r"(?:\s|$)"), "is passed whole to curl -u", 2.0),
        (
            re.compile(r"(?i)(?:^|\s)--(?:password|passwd|pass|token|access-token|auth-token|api-key|apikey|secret|secret-key|personal-access-token)(?:\s+|=)" + q + r),
            "is passed as a --password/--token option",
            2.0,
        ),
        (re.compile(r"(?:^|\s)login\b[^\n;|&]*\s-p\s*" + q + r), "is the password of a login command", 2.0),
        (re.compile(r"(?i)echo\s+" + q + r + q + r"\s*\|\s*[^\n|;&]*login"), "is piped to a login command", 2.0),
        (re.compile(r"(?i)_(?:authToken|auth|password)\s*=\s*" + q + r), "is written as an .npmrc auth token", 2.0),
        (re.compile(r"(?i)\bpassword\s+" + q + r), "is a netrc password", 1.5),
        (re.compile(r"(?i)http-basic\s+\S+\s+\S+\s+" + q + r), "is a poetry http-basic password", 2.0),
        (re.compile(r"(?i)configure\s+set\s+aws_(?:secret_access_key|session_token)\s+" + q + r), "is written by aws configure", 2.0),
        (re.compile(r"(?i)(?:npmAuthToken|NPM_AUTH_TOKEN)\s*[:=]\s*" + q + r), "is a yarn npmAuthToken", 2.0),
        (re.compile(r"(?i)<password>\s*" + r), "is a Maven settings password", 2.0),
    )


def auth_uses(text: str, name: str) -> list[tuple[str, float]]:
    """Reasons why ``$name`` in ``text`` reaches an authenticating position (may be empty)."""
    if "$" not in text or name not in text:
        return []
    out: list[tuple[str, float]] = []
    for pat, reason, weight in _use_patterns(name):
        if pat.search(text):
            if weight <= 0:
                return out  # a username position: stop, it is not the secret part
            out.append((reason, weight))
    return out

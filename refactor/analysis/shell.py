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

    @property
    def opaque_commands(self) -> tuple[str, ...]:
        """What makes the text opaque, for reports (``npm run``, ``make``, ``a script``)."""
        out = [c.strip("<>") if c != "<script>" else "a script" for c in self.commands if c not in TRANSPARENT and c not in KNOWN_TOOLS]
        if self.uncertain:
            out.append("text dfix cannot follow (eval, source or a parse error)")
        return tuple(dict.fromkeys(out))


# Tools with known credential sources (implicit consumers); see implicit.py for the variables.
KNOWN_TOOLS = frozenset(
    """
    npm npx yarn pnpm corepack pip pip3 pipx uv poetry pipenv mvn gradle gradlew go git curl wget aws gcloud
    gsutil az composer bundle gem docker helm dotnet nuget cargo conda mamba micromamba huggingface-cli
    twine ssh scp ssh-keyscan rsync
    """.split()
)


# Known tools whose sub-commands run code from the build context (package.json scripts and
# lifecycle hooks, a Gemfile, build.rs, setup.py, MSBuild targets, go:generate lines, composer
# scripts): like a script, such a step can read any variable in its environment.
_PROJECT_CODE = {
    "npm": {"run", "run-script", "rum", "urn", "test", "tst", "t", "start", "stop", "restart", "exec", "x", "explore",
            "rebuild", "rb", "install-test", "it", "install-ci-test", "cit", "install", "i", "in", "ins", "inst",
            "insta", "instal", "isnt", "isnta", "isntal", "isntall", "add", "ci", "clean-install", "ic",
            "install-clean", "isntall-clean", "update", "up", "upgrade", "udpate", "pack", "publish", "link", "ln"},
    "pnpm": {"run", "run-script", "test", "t", "start", "exec", "dlx", "install", "i", "add", "update", "up",
             "rebuild", "rb", "recursive", "-r", "--recursive", "-C", "--dir", "--filter", "-F", "pack", "publish", ""},
    "yarn": None,  # every form except config/cache/info runs scripts (bare `yarn` installs)
    "bun": None, "bunx": None, "npx": None, "pnpx": None, "deno": None,
    "bundle": {"exec", "install", "update", "lock", "package", "pack", "check", "console", ""},
    "composer": {"run", "run-script", "exec", "install", "i", "update", "u", "upgrade", "require", "r",
                 "dump-autoload", "dumpautoload", "create-project", ""},
    "go": {"generate", "run", "test", "vet", "tool"},
    "cargo": {"build", "b", "run", "r", "test", "t", "bench", "install", "check", "c", "doc", "clippy", "publish"},
    "dotnet": {"build", "run", "test", "publish", "pack", "restore", "msbuild", "watch", "tool", "exec"},
    "poetry": {"install", "run", "build", "shell", "sync", "publish"},
    "uv": {"run", "sync", "build", "tool", "pip"},
    "pipenv": {"install", "run", "sync", "shell", "update"},
    "pip": None, "pip3": None,  # decided by _pip_runs_code
    "mvn": None, "gradle": None, "gradlew": None,  # build scripts; they already read every variable
}
_NO_SCRIPTS = ("--ignore-scripts", "--mode=skip-build", "--mode", "skip-build")
_QUIET_YARN = {"config", "cache", "info", "--version", "-v", "policies", "set", "npm", "login", "logout", "version", "licenses", "why", "list", "outdated", "audit", "help", "--help"}


def _pip_runs_code(args: list[str]) -> bool:
    """pip install of a local project (``.``, a path, ``-e``) or a ``setup.py`` runs its build code."""
    if not args or args[0] not in ("install", "wheel", "download"):
        return False
    for a in args[1:]:
        if a in ("-e", "--editable") or a.startswith(("-e.", "--editable=")):
            return True
        if a.startswith("-"):
            continue
        if a in (".", "..") or a.startswith(("./", "../", "/", "file:")) or a.endswith(("setup.py", ".tar.gz", ".zip")):
            return True
    return False


def project_code(argv: tuple[str, ...] | list[str]) -> str | None:
    """A label (``npm run``) when this known tool runs code from the build context, else None."""
    if not argv:
        return None
    base = argv[0].rsplit("/", 1)[-1]
    if base not in _PROJECT_CODE:
        return None
    args = [a for a in argv[1:]]
    if base in ("pip", "pip3"):
        return f"{base} {args[0]}" if _pip_runs_code(args) else None
    if base in ("mvn", "gradle", "gradlew"):
        return None
    if any(a in _NO_SCRIPTS or a.startswith("--ignore-scripts") for a in args):
        sub = next((a for a in args if not a.startswith("-")), "")
        if base in ("npm", "pnpm", "yarn", "bun") and sub in ("", "install", "i", "ci", "add", "clean-install"):
            return None
    subs = _PROJECT_CODE[base]
    sub = next((a for a in args if not a.startswith("-")), "")
    if subs is None:
        if base == "yarn" and sub in _QUIET_YARN:
            return None
        return f"{base} {sub}".strip()
    if sub in subs or (base == "npm" and sub.startswith("run")):
        return f"{base} {sub}".strip()
    if base == "pnpm" and sub and sub not in ("config", "store", "fetch", "list", "ls", "why", "outdated", "audit", "--version", "-v", "help", "login", "logout", "set", "get"):
        return f"{base} {sub}"  # `pnpm build` runs the script named build
    return None


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
    label = project_code(argv)
    if label:
        commands.append(f"<{label}>")  # runs project code: opaque
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


_REF = re.compile(r"\$\{(?:env\.)?([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)")
_WHOLE_REF = re.compile(r"[\"']?\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))[\"']?")
_Q = r"[\"']?"
_ONE = r"(\$\{?(?:env\.)?[A-Za-z_][A-Za-z0-9_]*)"
# from a curl word to one of its later options (same simple command: no ; | & or newline, though
# backslash-continued lines count)
_CURL = r"(?:^|[\s;|&(`])curl(?:\s(?:[^\n;|&]|\\\n)*?)??"
# (pattern, reason, weight, how): the refs inside group 1 are in an authenticating position.
# how = "refs": every ref in the group; "whole": only when the group is one ref; "after-colon":
# refs after the first ':' (the password half of user:password).
_USE_PATTERNS = [
    (re.compile(r"://[^\s/@'\"]*:([^\s/@'\"]*)@"), "reaches the password part of a URL", 2.0, "refs"),
    (re.compile(r"://([^\s/@:'\"]+)@"), "is used as the URL user-info (token as user)", 1.5, "whole"),
    (
        re.compile(r"(?i)(?:authorization|private-token|job-token|x-jfrog-art-api|x-api-key|api-key|x-auth-token)\s*:([^\n\"']*)"),
        "is sent in an HTTP authentication header",
        2.0,
        "refs",
    ),
    # -u/--user is curl's only: adduser -u, useradd -u, sudo -u and pip --user take no credential
    (re.compile(_CURL + r"\s(?:-u|--user)(?:\s+|=)" + _Q + r"([^\s\"']*)"), "is the password of curl -u", 2.0, "after-colon"),
    (re.compile(_CURL + r"\s(?:-u|--user)(?:\s+|=)" + _Q + r"([^\s\"':]*):?" + _Q + r"(?:\s|$)"), "is passed whole to curl -u", 2.0, "whole"),
    (
        re.compile(
            r"(?i)(?:^|\s)--(?:password|passwd|pass|token|access-token|auth-token|api-key|apikey|secret|secret-key|personal-access-token)(?:\s+|=)"
            + _Q + _ONE
        ),
        "is passed as a --password/--token option",
        2.0,
        "refs",
    ),
    (re.compile(r"(?:^|\s)login\b[^\n;|&]*\s-p\s*" + _Q + _ONE), "is the password of a login command", 2.0, "refs"),
    (re.compile(r"(?i)echo\s+" + _Q + _ONE + r"\}?" + _Q + r"\s*\|\s*[^\n|;&]*login"), "is piped to a login command", 2.0, "refs"),
    (re.compile(r"(?i)_(?:authToken|auth|password)(?:\s*=\s*|\s+)" + _Q + _ONE), "is written as an .npmrc auth token", 2.0, "refs"),
    (re.compile(r"(?i)\bpassword\s+" + _Q + _ONE), "is a netrc password", 2.0, "refs"),
    (re.compile(r"(?i)http-basic\s+\S+\s+\S+\s+" + _Q + _ONE), "is a poetry http-basic password", 2.0, "refs"),
    (re.compile(r"(?i)configure\s+set\s+aws_(?:secret_access_key|session_token)\s+" + _Q + _ONE), "is written by aws configure", 2.0, "refs"),
    (re.compile(r"(?i)(?:npmAuthToken|NPM_AUTH_TOKEN)\s*[:=]\s*" + _Q + _ONE), "is a yarn npmAuthToken", 2.0, "refs"),
    (re.compile(r"(?i)<password>\s*" + _ONE), "is a Maven settings password", 2.0, "refs"),
]
_URL_USER = re.compile(r"://([^\s/@:'\"]*):[^\s/@'\"]*@")


def _names(fragment: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in _REF.finditer(fragment)]


@lru_cache(maxsize=4096)
def _auth_index(text: str) -> dict[str, tuple[tuple[str, float], ...]]:
    """For one text: variable name -> reasons it reaches an authenticating position.

    The patterns do not depend on the variable, so a text is scanned once however many
    variables are asked about."""
    found: dict[str, list[tuple[str, float]]] = {}
    user_names = {n for m in _URL_USER.finditer(text) for n in _names(m.group(1))}
    for pat, reason, weight, how in _USE_PATTERNS:
        for m in pat.finditer(text):
            group = m.group(1) or ""
            if how == "whole":
                w = _WHOLE_REF.fullmatch(group)
                names = [w.group(1) or w.group(2)] if w else []
            elif how == "after-colon":
                names = _names(group.split(":", 1)[1]) if ":" in group else []
            else:
                names = _names(group)
            for n in names:
                if reason.startswith("is used as the URL user-info") and n in user_names:
                    continue
                lst = found.setdefault(n, [])
                if (reason, weight) not in lst:
                    lst.append((reason, weight))
    return {k: tuple(v) for k, v in found.items()}


def auth_uses(text: str, name: str) -> list[tuple[str, float]]:
    """Reasons why ``$name`` in ``text`` reaches an authenticating position (may be empty)."""
    if "$" not in text or name not in text:
        return []
    return list(_auth_index(text).get(name, ()))


# --------------------------------------------------------------------------------------------
# Writes of files that outlive the RUN (credential files in layers)


@dataclass(frozen=True)
class FileWrite:
    start: int  # character offsets of the writing statement in the script
    end: int
    path: str  # the file as the script names it (~/.npmrc)
    refs: frozenset[str]  # variables the statement expands
    cleanup: str | None  # a command that undoes the write, or None when dfix knows none
    kind: str  # redirect | append | tee | config
    text: str = ""


CONFIG_FILES = {
    "npm": "~/.npmrc",
    "yarn": "~/.npmrc",
    "pnpm": "~/.npmrc",
    "git": "~/.gitconfig",
    "pip": "~/.config/pip/pip.conf",
    "pip3": "~/.config/pip/pip.conf",
    "poetry": "~/.config/pypoetry/auth.toml",
    "aws": "~/.aws/credentials",
    "docker": "~/.docker/config.json",
    "huggingface-cli": "~/.cache/huggingface/token",
}


def _char_offsets(data: bytes):
    """Map byte offsets of tree-sitter nodes to character offsets."""
    if len(data) == len(data.decode("utf-8", "surrogatepass")):
        return lambda b: b
    cache: dict[int, int] = {}

    def conv(b: int) -> int:
        if b not in cache:
            cache[b] = len(data[:b].decode("utf-8", "surrogatepass"))
        return cache[b]

    return conv


def _subtree_refs(node) -> frozenset[str]:
    out = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in ("simple_expansion", "expansion"):
            for c in n.children:
                if c.type == "variable_name":
                    out.add(_text(c))
                    break
        stack.extend(n.children)
    return frozenset(out)


def _inplace_writes(argv: list[str]) -> list[tuple[str, str]]:
    """Files a command rewrites in place or creates from its arguments, with a value from them:
    ``sed -i``/``perl -pi`` (kind ``inplace``), ``htpasswd FILE user pass`` (kind ``derived``: a hash
    of the value, which the image keeps for its run time)."""
    if not argv:
        return []
    tool, words = argv[0], argv[1:]
    inplace = any(w == "--in-place" or w.startswith("--in-place=") or (w.startswith("-") and not w.startswith("--") and "i" in w[1:]) for w in words)
    if tool in ("sed", "gsed") and inplace:
        files: list[str] = []
        script_given = any(w in ("-e", "-f", "--expression", "--file") or w.startswith(("--expression=", "--file=")) for w in words)
        skip_next = False
        for w in words:
            if skip_next:
                skip_next = False
                continue
            if w in ("-e", "-f", "--expression", "--file"):
                skip_next = True
                continue
            if w.startswith("-"):
                continue
            if not script_given:
                script_given = True  # the first operand is the script
                continue
            files.append(w)
        return [(f, "inplace") for f in files]
    if tool == "perl" and any(w.startswith("-") and "i" in w and "p" in w for w in words):
        ops = [w for w in words if not w.startswith("-")]
        return [(f, "inplace") for f in ops[1:]]
    if tool == "htpasswd":
        flags = "".join(w[1:] for w in words if w.startswith("-") and not w.startswith("--"))
        ops = [w for w in words if not w.startswith("-")]
        if "n" in flags or not ops:
            return []  # -n: to stdout
        return [(ops[0], "derived")]
    return []


def _config_write(argv: list[str], raw_args: list[str]) -> tuple[str, str | None] | None:
    """(file, cleanup) for ``tool config set``-style commands that persist a value."""
    if not argv:
        return None
    tool = argv[0]
    words = argv[1:]
    raws = raw_args
    if tool in ("npm", "yarn", "pnpm") and words[:2] == ["config", "set"] and len(words) >= 3:
        key = raws[2].split("=", 1)[0] if "=" in words[2] and len(words) == 3 else raws[2]
        return CONFIG_FILES[tool], f"{tool} config delete {key}"
    if tool == "git" and words and words[0] == "config":
        scope = [w for w in words[1:] if w in ("--global", "--system")]
        rest = [r for w, r in zip(words[1:], raws[1:]) if not w.startswith("--")]
        if scope and len(rest) >= 2:
            where = "/etc/gitconfig" if scope[0] == "--system" else "~/.gitconfig"
            key = rest[0]
            if "$" in key and "." in key:
                # the secret is in the subsection name (url."https://${T}@host/".insteadOf): unsetting
                # the key would leave the section header, token included; remove the section
                section = key.rsplit(".", 1)[0]
                return where, f"git config {scope[0]} --remove-section {section}"
            return where, f"git config {scope[0]} --unset-all {key}"
        return None
    if tool in ("pip", "pip3") and words[:2] == ["config", "set"] and len(words) >= 4:
        return CONFIG_FILES[tool], f"{tool} config unset {raws[2]}"
    if tool == "poetry" and words[:1] == ["config"] and len(words) >= 3 and words[1].startswith(("http-basic.", "pypi-token.")):
        return CONFIG_FILES[tool], f"poetry config --unset {raws[1]}"
    if tool == "aws" and words[:2] == ["configure", "set"]:
        return CONFIG_FILES[tool], None
    if tool == "docker" and words[:1] == ["login"]:
        host = next((r for w, r in zip(words[1:], raws[1:]) if not w.startswith("-") and "." in w), "")
        return CONFIG_FILES[tool], ("docker logout " + host).strip()
    if tool == "huggingface-cli" and words[:1] == ["login"]:
        return CONFIG_FILES[tool], "huggingface-cli logout"
    return None


@dataclass
class _Item:
    start: int  # byte offsets
    end: int
    cmd: object  # the command (or compound) node
    redirects: list


def _flatten(node, out: list, ops: list) -> None:
    """Top-level statements with their redirects. tree-sitter-bash 0.25 parses ``a && b > f`` as
    ``(a && b) > f``; bash applies the redirect to ``b`` only, and so do we. Iterative: a
    thousand-command ``&&`` chain nests a thousand levels deep."""
    # work items: ("node", n) to expand, ("emit-last", n, redirects) to re-attach a redirect
    stack: list = [("node", node, None)]
    while stack:
        kind, n, extra = stack.pop()
        if kind == "attach":
            last = out.pop()
            out.append(_Item(last.start, n.end_byte, last.cmd, last.redirects + extra))
            continue
        t = n.type
        if t == "list":
            for c in reversed(n.children):
                if c.type in ("&&", ";", "||", "&", "|&", "\n"):
                    stack.append(("op", c, None))
                else:
                    stack.append(("node", c, None))
        elif kind == "op":
            ops.append(t)
        elif t == "redirected_statement":
            body = n.children[0] if n.children else None
            redirects = [c for c in n.children[1:] if c.type in ("file_redirect", "heredoc_redirect", "herestring_redirect")]
            if body is not None and body.type == "list":
                stack.append(("attach", n, redirects))
                stack.append(("node", body, None))
            else:
                out.append(_Item(n.start_byte, n.end_byte, body if body is not None else n, redirects))
        else:
            out.append(_Item(n.start_byte, n.end_byte, n, []))


def _items(root) -> tuple[list, list]:
    out: list = []
    ops: list = []
    for c in root.children:
        if c.type in (";", "&&", "||", "&", "\n"):
            ops.append(c.type)
        elif c.type != "comment":
            _flatten(c, out, ops)
    return out, ops


def _redirect_target(r) -> tuple[str | None, str]:
    op = next((x for x in r.children if x.type in (">", ">>", ">|", "&>", "&>>")), None)
    dest = [x for x in r.children if x.type not in (">", ">>", ">|", "&>", "&>>", "file_descriptor", "<", "<&", ">&")]
    if op is None or not dest:
        return None, ""
    return _word_value(dest[-1]), ("append" if op.type in (">>", "&>>") else "redirect")


@lru_cache(maxsize=1024)
def file_writes(script: str) -> tuple[FileWrite, ...]:
    data = script.encode("utf-8", "surrogatepass")
    tree = _parser().parse(data)
    conv = _char_offsets(data)
    out: list[FileWrite] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        t = node.type
        if t in ("redirected_statement", "list") and node.parent is not None and node.parent.type in ("program",):
            pass
        if t == "program":
            items, _ops = _items(node)
            for it in items:
                for r in it.redirects:
                    if r.type != "file_redirect":
                        continue
                    path, kind = _redirect_target(r)
                    if not path or path in ("/dev/null", "/dev/stderr", "/dev/stdout"):
                        continue
                    s0, e0 = conv(it.start), conv(it.end)
                    refs = _subtree_refs(it.cmd) | frozenset().union(*[_subtree_refs(x) for x in it.redirects])
                    if "envsubst" in script[conv(it.start):conv(it.end)]:
                        refs |= {"*"}  # envsubst writes every exported variable it finds in its input
                    out.append(FileWrite(s0, e0, path, refs, f"rm -f {path}", kind, script[s0:e0]))
        if t == "redirected_statement":
            # handled through the flattened items (also inside if/for bodies below)
            if node.parent is not None and node.parent.type not in ("program", "list", "redirected_statement"):
                body = node.children[0] if node.children else None
                for r in node.children[1:]:
                    if r.type == "file_redirect":
                        path, kind = _redirect_target(r)
                        if path and path not in ("/dev/null", "/dev/stderr", "/dev/stdout"):
                            s0, e0 = conv(node.start_byte), conv(node.end_byte)
                            out.append(FileWrite(s0, e0, path, _subtree_refs(node), f"rm -f {path}", kind, script[s0:e0]))
                del body
            stack.extend(reversed(node.children))
            continue
        if t == "pipeline":
            cmds = [c for c in node.children if c.type == "command"]
            for c in cmds[1:]:
                argv = [_word_value(w) for w in c.children if w.type != "command_name"]
                name = next((x for x in c.children if x.type == "command_name"), None)
                if name is not None and _word_value(name.children[0] if name.children else name) == "tee":
                    files = [a for a in argv if not a.startswith("-")]
                    s, e = conv(node.start_byte), conv(node.end_byte)
                    for f in files:
                        kind = "append" if "-a" in argv or "--append" in argv else "tee"
                        out.append(FileWrite(s, e, f, _subtree_refs(node), f"rm -f {f}", kind, script[s:e]))
        if t == "command":
            name = next((x for x in node.children if x.type == "command_name"), None)
            if name is not None:
                words = [w for w in node.children if w.type not in ("command_name", "variable_assignment", "file_redirect")]
                argv = [_word_value(name.children[0] if name.children else name).rsplit("/", 1)[-1]] + [_word_value(w) for w in words]
                raws = [_text(w) for w in words]
                for path, kind in _inplace_writes(argv):
                    s, e = conv(node.start_byte), conv(node.end_byte)
                    out.append(FileWrite(s, e, path, _subtree_refs(node), None, kind, script[s:e]))
                cw = _config_write(argv, raws)
                if cw is not None:
                    # `echo "$P" | docker login --password-stdin`: the value comes through the pipe
                    stmt = node.parent if node.parent is not None and node.parent.type == "pipeline" else node
                    s, e = conv(stmt.start_byte), conv(stmt.end_byte)
                    out.append(FileWrite(s, e, cw[0], _subtree_refs(stmt), cw[1], "config", script[s:e]))
        stack.extend(reversed(node.children))
    return tuple(sorted(out, key=lambda w: w.start))


def undone_after(script: str, write: FileWrite) -> bool:
    """Does the same script remove the file (or undo the config) after ``write``?"""
    rest = script[write.end :]
    if write.cleanup and write.cleanup in rest:
        return True
    base = write.path.rstrip("/").rsplit("/", 1)[-1]
    for m in re.finditer(r"(?:^|[\s;&|(])(?:rm|shred|unlink)\s+([^;&|\n]*)", rest):
        args = m.group(1).split()
        for a in args:
            a = a.strip("'\"")
            if a == write.path or a.rstrip("/").rsplit("/", 1)[-1] == base and not a.startswith("-"):
                return True
    if write.kind == "config" and re.search(r"config\s+(?:delete|--unset|--unset-all|unset)\b|\blogout\b", rest):
        return True
    return False


@dataclass(frozen=True)
class Statement:
    start: int  # character offsets in the script
    end: int
    text: str
    refs: frozenset[str]
    argv: tuple[str, ...]
    writes: tuple[str, ...]  # files it redirects into


def statements(script: str) -> tuple[tuple[Statement, ...], bool]:
    """The script's top-level statements, and whether they are joined only by ``&&``/``;``/newlines
    (so one can be removed without changing how the others run)."""
    data = script.encode("utf-8", "surrogatepass")
    tree = _parser().parse(data)
    conv = _char_offsets(data)
    root = tree.root_node
    if root.has_error:
        return (), False
    items, ops = _items(root)
    simple = all(o in ("&&", ";", "\n") for o in ops)
    out = []
    for it in items:
        s_, e_ = conv(it.start), conv(it.end)
        cmd = it.cmd
        writes = [p for p, _k in (_redirect_target(r) for r in it.redirects if r.type == "file_redirect") if p]
        argv: tuple[str, ...] = ()
        if cmd.type == "command":
            name = next((x for x in cmd.children if x.type == "command_name"), None)
            if name is not None:
                words = [w for w in cmd.children if w.type not in ("command_name", "variable_assignment", "file_redirect")]
                argv = (_word_value(name.children[0] if name.children else name).rsplit("/", 1)[-1], *(_word_value(w) for w in words))
        refs = _subtree_refs(cmd).union(*[_subtree_refs(r) for r in it.redirects])
        out.append(Statement(s_, e_, script[s_:e_], refs, argv, tuple(writes)))
    return tuple(out), simple


def append_blocker(script: str) -> str | None:
    """Why ``script && CMD`` would not run CMD after the whole script (or not parse), else None:
    a trailing comment swallows it, a trailing ``;`` or ``&`` makes ``; &&`` a syntax error, an
    ``exit`` ends the shell first, or the text does not parse."""
    text = script.rstrip()
    if not text:
        return "the RUN has no command to extend"
    tree = _parser().parse(text.encode("utf-8", "surrogatepass"))
    root = tree.root_node
    if root.has_error:
        return "the RUN's shell text does not parse"
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "comment" and node.end_byte >= len(text.encode("utf-8", "surrogatepass")):
            return "the RUN ends with a shell comment, which would swallow an appended command"
        if node.type == "command":
            name = next((c for c in node.children if c.type == "command_name"), None)
            if name is not None and _text(name) in ("exit", "return", "exec"):
                return f"the RUN calls {_text(name)}, so an appended command may never run"
        stack.extend(node.children)
    if text.endswith(("&", ";", "|")) and not text.endswith(("&&", "||", ";;")):
        return "the RUN ends with ';', '&' or '|', where an appended '&& …' is a syntax error"
    return None

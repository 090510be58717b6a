"""Which environment variables a program reads, as the rewrite check sees it: command wrappers
(``env``, ``sudo``, ``xargs``, …) unwrapped to the real program, the :class:`Use` record, and the
tables of env-blind utilities, builtins and known tools with their documented variable prefixes.
"""

from __future__ import annotations

from collections.abc import Collection

from refactor.codecache import regex
from refactor.records import dataclass

# --------------------------------------------------------------------------------------------
# Commands: wrappers and what a program reads


_WRAPPERS = {
    # wrapper: options that take a value, number of positional words before the command
    "env": ({"-u", "--unset", "-C", "--chdir", "-S"}, 0),
    "sudo": ({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-R"}, 0),
    "exec": ({"-a"}, 0),
    "time": (set(), 0),
    "nohup": (set(), 0),
    "busybox": (set(), 0),  # busybox APPLET args: the applet runs
    "command": (set(), 0),
    "builtin": (set(), 0),
    "nice": ({"-n"}, 0),
    "ionice": ({"-c", "-n"}, 0),
    "timeout": ({"-s", "-k", "--signal", "--kill-after"}, 1),
    "gosu": (set(), 1),
    "su-exec": (set(), 1),
    "chroot": (set(), 1),
    "setsid": (set(), 0),
    "stdbuf": ({"-i", "-o", "-e"}, 0),
    "tini": (set(), 0),
    "dumb-init": (set(), 0),
    "xargs": ({"-I", "-n", "-P", "-L", "-d", "-s", "-a", "-E", "-i"}, 0),
    "catchsegv": (set(), 0),
    "unbuffer": (set(), 0),
    "fakeroot": (set(), 0),
    "doas": ({"-u"}, 0),
}


def unwrap(words: list) -> list:
    """The argv that actually runs, past ``env``/``sudo``/``exec``/… (``None`` = a computed word)."""
    for _ in range(8):
        if not words or words[0] is None:
            return words
        base = words[0].rsplit("/", 1)[-1]
        if base not in _WRAPPERS or (base == "command" and len(words) > 1 and words[1] in ("-v", "-V")):
            return words
        takes, positional = _WRAPPERS[base]
        i = 1
        while i < len(words):
            w = words[i]
            if w is None:
                break
            if w == "--":
                i += 1
                break
            if w.startswith("-") and len(w) > 1:
                i += 2 if w in takes else 1
                continue
            if base == "env" and "=" in w:
                i += 1
                continue
            break
        i += positional
        if i >= len(words):
            return [base] if base == "env" else []  # a bare `env` prints the environment
        words = words[i:]
    return words


@dataclass(frozen=True, slots=True)
class Use:
    """What one program reads from the environment."""

    kind: str  # blind | tool | all (cannot be known: runs project code, a script, …) | dump (prints it all)
    #           | shell (runs the script on its stdin: blind when that is a heredoc the check parsed)
    label: str = ""
    prefixes: tuple = ()
    names: tuple = ()
    config: str = ""  # context files whose ${VAR} the tool expands: "npm"
    files: tuple = ()  # files named on the command line that the tool expands ${VAR} in (pip -r)


# read by every program that is not a shell builtin: proxies, locale, search path, home, CA bundle
COMMON = frozenset(
    "PATH HOME LANG LANGUAGE LC_ALL LC_CTYPE TMPDIR TZ SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE "
    "http_proxy https_proxy ftp_proxy no_proxy all_proxy HTTP_PROXY HTTPS_PROXY FTP_PROXY NO_PROXY ALL_PROXY".split()
)
BUILTINS = frozenset(
    "cd echo printf true false : test [ [[ export set unset umask shift read wait exit return local "
    "declare readonly typeset trap pwd type hash ulimit getopts let alias unalias shopt".split()
)
ENV_BLIND = BUILTINS | frozenset(
    """
    mkdir cp mv rm ln chmod chown chgrp cat ls touch sleep tar gzip gunzip zcat bzip2 bunzip2 xz unxz zstd unzstd
    unzip zip sed grep egrep fgrep head tail sort uniq wc cut tr find tee install rmdir mktemp dirname basename
    realpath readlink stat sha256sum sha1sum sha512sum md5sum cksum base64 date uname hostname id whoami groups
    getent nproc du df free ps kill truncate split seq yes tac rev nl paste join comm fold fmt expand od hexdump
    xxd cmp diff patch file iconv dos2unix unix2dos sync which
    apt apt-get apt-cache apt-key apt-mark dpkg dpkg-reconfigure dpkg-query apk yum dnf microdnf zypper rpm tdnf
    pacman emerge add-apt-repository update-ca-certificates update-alternatives ldconfig locale-gen update-locale
    useradd userdel usermod adduser addgroup deluser delgroup groupadd groupdel groupmod chpasswd passwd chsh
    htpasswd setcap strip gpgconf ssh-keygen tzdata systemctl service a2enmod a2ensite a2dismod a2dissite
    """.split()
)
_ALL = frozenset(
    """
    python python2 python3 node nodejs ruby perl php java bun deno Rscript lua luajit tclsh pwsh powershell
    dotnet nuget msbuild mono mvn mvnw gradle gradlew make gmake cmake ninja bazel bazelisk ant sbt meson scons
    rake npx pnpx bunx su runuser eval source . chroot ansible-playbook ansible
    """.split()
)
_PYVER = regex(r"(python|pip)\d+(\.\d+)*$")
_SSH = ("SSH_AUTH_SOCK", "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", "DISPLAY")
_TOOLS = {
    # tool: (prefixes, names, config)
    "npm": (("npm_config_", "NPM_CONFIG_", "NODE_"), ("NODE_AUTH_TOKEN",), "npm"),
    "yarn": (("npm_config_", "NPM_CONFIG_", "YARN_", "NODE_"), ("NODE_AUTH_TOKEN",), "npm"),
    "pnpm": (("npm_config_", "NPM_CONFIG_", "PNPM_", "NODE_"), ("NODE_AUTH_TOKEN",), "npm"),
    "corepack": (("COREPACK_", "npm_config_", "NPM_CONFIG_"), (), "npm"),
    "pip": (("PIP_",), ("PYTHONPATH", "VIRTUAL_ENV"), ""),  # pip.conf does not expand ${VAR}; requirements do
    "uv": (("UV_", "PIP_"), ("VIRTUAL_ENV",), ""),
    "poetry": (("POETRY_", "PIP_"), ("VIRTUAL_ENV",), ""),
    "pipenv": (("PIPENV_", "PIP_"), (), ""),
    "pipx": (("PIPX_", "PIP_"), (), ""),
    "twine": (("TWINE_",), (), ""),
    "git": (("GIT_",), ("SSH_AUTH_SOCK", "SSH_ASKPASS"), ""),
    "git-lfs": (("GIT_",), ("SSH_AUTH_SOCK",), ""),
    "go": (("GO", "CGO_"), (), ""),
    "cargo": (("CARGO_", "RUSTUP_", "RUSTFLAGS"), (), ""),
    "rustup": (("RUSTUP_",), (), ""),
    "composer": (("COMPOSER_",), (), ""),
    "bundle": (("BUNDLE_", "GEM_"), (), ""),
    "bundler": (("BUNDLE_", "GEM_"), (), ""),
    "gem": (("GEM_", "BUNDLE_"), (), ""),
    "aws": (("AWS_",), (), ""),
    "gcloud": (("CLOUDSDK_", "GOOGLE_", "BOTO_"), (), ""),
    "gsutil": (("CLOUDSDK_", "GOOGLE_", "BOTO_"), (), ""),
    "bq": (("CLOUDSDK_", "GOOGLE_"), (), ""),
    "az": (("AZURE_", "AZ_"), (), ""),
    "docker": (("DOCKER_", "BUILDKIT_", "COMPOSE_"), (), ""),
    "helm": (("HELM_",), ("KUBECONFIG",), ""),
    "kubectl": ((), ("KUBECONFIG",), ""),
    "conda": (("CONDA_", "MAMBA_"), (), ""),
    "mamba": (("CONDA_", "MAMBA_"), (), ""),
    "micromamba": (("CONDA_", "MAMBA_"), (), ""),
    "huggingface-cli": (("HF_", "HUGGINGFACE_", "HUGGING_FACE_"), (), ""),
    "curl": (("CURL_",), ("CURL_HOME", "CURL_CA_BUNDLE"), ""),
    "wget": ((), ("WGETRC",), ""),
    "ssh": ((), _SSH, ""),
    "scp": ((), _SSH, ""),
    "sftp": ((), _SSH, ""),
    "ssh-keyscan": ((), _SSH, ""),
    "ssh-add": ((), _SSH, ""),
    "rsync": (("RSYNC_",), _SSH, ""),
    "gpg": (("GNUPG",), (), ""),
    "vault": (("VAULT_",), (), ""),
    "terraform": (("TF_",), (), ""),
    "openssl": (("OPENSSL_",), (), ""),
}


# --------------------------------------------------------------------------------------------
# Positional words


def positional(args: list, valued: Collection[str] = frozenset()) -> list:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a is not None and a.startswith("-") and a != "-":
            skip = a in valued
        else:
            out.append(a)
    return out


# tree-sitter-bash node types
_COMPOUND = {
    "compound_statement",
    "subshell",
    "if_statement",
    "elif_clause",
    "else_clause",
    "while_statement",
    "for_statement",
    "c_style_for_statement",
    "case_statement",
    "case_item",
    "do_group",
    "function_definition",
    "negated_command",
}
_ARITH_PARENTS = {
    "binary_expression",
    "unary_expression",
    "postfix_expression",
    "parenthesized_expression",
    "arithmetic_expansion",
    "ternary_expression",
}
_BODIES = {"do_group", "case_item", "elif_clause", "else_clause"}  # may run zero times
_LIST_ENDS = {";", "\n", "&", ";;"}


def may_skip(tokens: list, survives: bool = False) -> tuple[list[str], list[bool]]:
    """Per token of a block (``survives``: the script goes on when the block fails): why an item may
    not run although the script goes on, and whether the script survives the item failing.

    ``"or"`` marks an item after a ``&&`` whose failure the script survives, because a later ``||``
    swallows it (``a && rm f || true``) or because more lists follow (``a && rm f; b``: the RUN's
    status is ``b``'s); ``"bg"`` one in the background (``rm f &``: a subshell the RUN need not wait
    for); ``""`` otherwise."""
    out = [""] * len(tokens)
    survivable = [survives] * len(tokens)
    ends = [k for k, t in enumerate(tokens) if t[0] == "op" and t[1] in _LIST_ENDS] + [len(tokens)]
    last_item = max((k for k, t in enumerate(tokens) if t[0] == "item"), default=-1)
    start = 0
    for k in ends:
        background = k < len(tokens) and tokens[k][1] == "&"
        last_or = max((j for j in range(start, k) if tokens[j] == ("op", "||")), default=-1)
        goes_on = survives or background or last_item > k  # a list follows this one
        after_and = False
        for j in range(start, k):
            if tokens[j][0] == "op":
                after_and = after_and or tokens[j][1] == "&&"
                continue
            survivable[j] = goes_on or j < last_or
            if background:
                out[j] = "bg"
            elif after_and and survivable[j]:
                out[j] = "or"
        start = k + 1
    return out, survivable


def ending(name: str | None, lits: list, kind: str, runs_command: bool, cond: bool, scope: tuple) -> str | None:
    """What a command does to the rest of its shell: ``"dead"`` after an ``exit`` or ``exec CMD``
    that surely runs (nothing after runs), ``"exited"`` after one that may run or a ``break`` /
    ``continue`` / ``return`` (what follows may not), None otherwise. ``|| exit 1`` in the RUN's own
    shell fails the build: no image holds anything, so it ends nothing."""
    while name in ("builtin", "command") and lits and lits[0] is not None:  # `command exec …`
        name, lits = lits[0], lits[1:]
    status = lits[0] if name == "exit" and lits else None
    if status and status.isascii() and status.isdigit() and int(status) % 256 and not any(k in ("s", "b") for k, _ in scope):
        return None
    if name in ("exit", "break", "continue", "return") or (name == "exec" and runs_command):
        return "exited" if cond or name not in ("exit", "exec") else "dead"
    return None


def is_fd(dest) -> bool:
    """Whether a redirect's destination node names a file descriptor (``>&2``, ``2>&1``, ``>&-``)
    rather than a file; no destination counts as one (nothing is written to a file)."""
    if dest is None:
        return True
    text = (dest.text or b"").strip()
    return text.isdigit() or text == b"-"


def redirect_ops(r) -> set:
    """The operators of a file redirect. tree-sitter-bash has no ``<>`` (read-write): it parses
    ``1<> f`` as ``<`` and an error holding ``>``, ``3<>f`` the other way round; both are ``<>``."""
    ops = {c.type for c in r.children}
    ops |= {e.type for c in r.children if c.type == "ERROR" for e in c.children}
    if {"<", ">"} <= ops:
        ops = (ops - {"<", ">"}) | {"<>"}
    return ops


# --------------------------------------------------------------------------------------------
# What a command does to the shell that runs the rest


def default_assigns(nodes: list) -> list:
    """``${X:=word}`` / ``${X=word}`` in ``nodes``: (X, the expansion node) for each; the shell
    assigns X there, in the middle of another command's words."""
    out = []
    stack = list(nodes)
    while stack:
        n = stack.pop()
        if n.type == "expansion" and any(c.type in (":=", "=") for c in n.children):
            var = next((c for c in n.children if c.type == "variable_name"), None)
            if var is not None:
                out.append((var.text.decode("utf-8", "replace"), n))
        stack.extend(n.children)
    return out


def changes_the_shell(name: str | None, lits: list) -> str | None:
    """Why what follows a command no longer runs as written, or runs text the check cannot see:
    ``alias`` (dash expands aliases: ``alias rm=true``), ``trap`` (its action runs later, on a
    signal or at exit), ``set -n`` (nothing after runs), ``set -f`` (globs stay literal), ``shopt``."""
    if name == "alias" and lits:
        return "alias redefining a command"
    if name == "trap" and lits and lits[0] not in ("-l", "-p"):
        return "trap (its action runs later)"
    if name == "shopt":
        return "shopt changing how the shell runs"
    if name == "set":
        for k, a in enumerate(lits):
            if a is None:
                return "set with a computed option"
            if a.startswith("-") and not a.startswith("--") and ("n" in a or "f" in a):
                return "set -n / set -f"
            if a in ("-o", "+o") and k + 1 < len(lits) and lits[k + 1] in ("noexec", "noglob"):
                return "set -o noexec / noglob"
    return None


def stops_rest(tokens: list) -> list[bool]:
    """Per token of a block: for an item, whether every later item of the block runs only when it
    succeeded (all joined by ``&&``): a ``cd`` that may fail leaves the directory of the rest
    unknown otherwise (``cd /x || true; …``, ``cd /x; …``: sh goes on in the old one)."""
    out = [False] * len(tokens)
    ok, later = True, False
    pending: str | None = None  # the operator between this item and the next one
    for k in range(len(tokens) - 1, -1, -1):
        tok = tokens[k]
        if tok[0] == "op":
            pending = tok[1]
            continue
        if later:
            ok = ok and pending == "&&"
        out[k], later, pending = ok, True, None
    return out

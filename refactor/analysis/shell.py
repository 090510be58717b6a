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
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from refactor.analysis.gap import GapPattern, RunScan, word_in_run_starts

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
    "npm": {
        "run",
        "run-script",
        "rum",
        "urn",
        "test",
        "tst",
        "t",
        "start",
        "stop",
        "restart",
        "exec",
        "x",
        "explore",
        "rebuild",
        "rb",
        "install-test",
        "it",
        "install-ci-test",
        "cit",
        "install",
        "i",
        "in",
        "ins",
        "inst",
        "insta",
        "instal",
        "isnt",
        "isnta",
        "isntal",
        "isntall",
        "add",
        "ci",
        "clean-install",
        "ic",
        "install-clean",
        "isntall-clean",
        "update",
        "up",
        "upgrade",
        "udpate",
        "pack",
        "publish",
        "link",
        "ln",
    },
    "pnpm": {
        "run",
        "run-script",
        "test",
        "t",
        "start",
        "exec",
        "dlx",
        "install",
        "i",
        "add",
        "update",
        "up",
        "rebuild",
        "rb",
        "recursive",
        "-r",
        "--recursive",
        "-C",
        "--dir",
        "--filter",
        "-F",
        "pack",
        "publish",
        "",
    },
    "yarn": None,  # every form except config/cache/info runs scripts (bare `yarn` installs)
    "bun": None,
    "bunx": None,
    "npx": None,
    "pnpx": None,
    "deno": None,
    "bundle": {"exec", "install", "update", "lock", "package", "pack", "check", "console", ""},
    "composer": {
        "run",
        "run-script",
        "exec",
        "install",
        "i",
        "update",
        "u",
        "upgrade",
        "require",
        "r",
        "dump-autoload",
        "dumpautoload",
        "create-project",
        "",
    },
    "go": {"generate", "run", "test", "vet", "tool"},
    "cargo": {"build", "b", "run", "r", "test", "t", "bench", "install", "check", "c", "doc", "clippy", "publish"},
    "dotnet": {"build", "run", "test", "publish", "pack", "restore", "msbuild", "watch", "tool", "exec"},
    "poetry": {"install", "run", "build", "shell", "sync", "publish"},
    "uv": {"run", "sync", "build", "tool", "pip"},
    "pipenv": {"install", "run", "sync", "shell", "update"},
    "pip": None,
    "pip3": None,  # decided by _pip_runs_code
    "mvn": None,
    "gradle": None,
    "gradlew": None,  # build scripts; they already read every variable
}
_NO_SCRIPTS = ("--ignore-scripts", "--mode=skip-build", "--mode", "skip-build")
_QUIET_YARN = {
    "config",
    "cache",
    "info",
    "--version",
    "-v",
    "policies",
    "set",
    "npm",
    "login",
    "logout",
    "version",
    "licenses",
    "why",
    "list",
    "outdated",
    "audit",
    "help",
    "--help",
}


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
    if (
        base == "pnpm"
        and sub
        and sub
        not in (
            "config",
            "store",
            "fetch",
            "list",
            "ls",
            "why",
            "outdated",
            "audit",
            "--version",
            "-v",
            "help",
            "login",
            "logout",
            "set",
            "get",
        )
    ):
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
        elif (
            t == "variable_name"
            and node.parent is not None
            and node.parent.type
            in (
                "binary_expression",
                "unary_expression",
                "arithmetic_expansion",
                "parenthesized_expression",
                "postfix_expression",
            )
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


def _curl(tail: str) -> GapPattern:
    """From a curl word to one of its later options (same simple command: no ; | & or newline,
    though backslash-continued lines count), at most 512 characters on."""
    return GapPattern(r"(?:^|[\s;|&(`])curl", tail, limit=512, lead=r"\s")


def _cmd(head: str, tail: str) -> GapPattern:
    """HEAD, then the rest of its simple command (at most 512 characters), then TAIL: matched
    linearly however many command words the text holds (:mod:`refactor.analysis.gap`)."""
    return GapPattern(head, tail, limit=512)


# (pattern, reason, weight, how, guard): the refs inside group 1 are in an authenticating position;
# the pattern only runs on a text whose lower-cased form contains one of the guard words.
# how = "refs": every ref in the group; "whole": only when the group is one ref; "after-colon":
# refs after the first ':' (the password half of user:password); "token-user": "whole", but a
# name that says it is a user name (GIT_USER) counts as weak evidence only; "assign": group 1 is
# a variable name and group 2 its value, which counts when the name itself is a credential
# (PGPASSWORD=$X, export DB_PASSWORD=$X, token = "$X" in credentials.toml).
_OPT_PREFIX_NOT = r"(?!(?:no|disable|disabled|with|without|skip|allow|require|required|enable|ask|prompt|empty|random|generate|show|use|force|check|verify|keep|store|save|stdin)-)"
_USE_PATTERNS: list[tuple[re.Pattern[str] | GapPattern | RunScan, str, float, str, tuple[str, ...]]] = [
    # ://user:password@ (the password after the last colon); possessive, so a run of colons is read
    # once, where ://[^\s/@'"]*:([^\s/@'"]*)@ backtracked through it from every colon
    (re.compile(r"://(?:[^\s/@'\":]*+:)++([^\s/@'\":]*+)@"), "reaches the password part of a URL", 2.0, "refs", ("://",)),
    # http(s) user-info without a password: a token (git and HTTP clients send it as the user)
    (
        re.compile(r"(?i)(?<![A-Za-z0-9+.\-])(?:https?|git\+https?)://([^\s/@:'\"]+)(?::(?:x-oauth-basic|x-oauth|oauth2|oauth|basic)?)?@"),
        "is used as the URL user-info (a token as the user name)",
        2.0,
        "token-user",
        ("://",),
    ),
    (re.compile(r"://([^\s/@:'\"]+)@"), "is used as the URL user-info (token as user)", 1.5, "whole", ("://",)),
    (
        re.compile(r"(?i)(?:authorization|private-token|job-token|x-jfrog-art-api|x-api-key|api-key|x-auth-token)\s*:([^\n\"']*)"),
        "is sent in an HTTP authentication header",
        2.0,
        "refs",
        ("authorization", "private-token", "job-token", "x-jfrog-art-api", "api-key", "x-auth-token"),
    ),
    # -u/--user is curl's only: adduser -u, useradd -u, sudo -u and pip --user take no credential
    (_curl(r"\s(?:-u|--user)(?:\s+|=)" + _Q + r"([^\s\"']*)"), "is the password of curl -u", 2.0, "after-colon", ("curl",)),
    (_curl(r"\s(?:-u|--user)(?:\s+|=)" + _Q + r"([^\s\"':]*):?" + _Q + r"(?:\s|$)"), "is passed whole to curl -u", 2.0, "whole", ("curl",)),
    (
        re.compile(
            r"(?i)(?:^|\s)--" + _OPT_PREFIX_NOT + r"(?:[a-z0-9]+[-.])*(?:password|passwd|pass|pwd|passphrase|token|access-token|auth-token|"
            r"api-key|apikey|secret|secret-key|secret-access-key|client-secret|personal-access-token|oauth2-bearer|license-key)(?:\s+|=)"
            + _Q
            + _ONE
        ),
        "is passed as a --password/--token option",
        2.0,
        "refs",
        ("-pass", "-pwd", ".pass", ".pwd", "-token", ".token", "-key", "-apikey", "-secret", ".secret", "-bearer"),
    ),
    # single-dash password options: nuget -Password, keytool -storepass/-keypass, openssl pass:$X
    (
        re.compile(r"(?:^|\s)-(?:Password|password|passwd|Passwd|(?:src|dest|new)?(?:store|key)pass)(?:\s+|=|:)" + _Q + _ONE),
        "is passed as a -password option",
        2.0,
        "refs",
        ("-pass", "-pwd", "storepass", "keypass"),
    ),
    (re.compile(r"(?:^|\s)-pass(?:in|out|word)?\s+" + _Q + r"pass:" + _ONE), "is an openssl pass: phrase", 2.0, "refs", ("pass:",)),
    (
        GapPattern(r"(?:^|\s)login\b", r"\s-p\s*" + _Q + _ONE, limit=512, continuation=False),
        "is the password of a login command",
        2.0,
        "refs",
        ("login",),
    ),
    (_cmd(r"(?:^|[\s;&|(])nuget\b", r"\s-p(?:\s+|=)" + _Q + _ONE), "is a NuGet source password", 2.0, "refs", ("nuget",)),
    (
        GapPattern(r"echo\s+" + _Q + _ONE + r"\}?" + _Q + r"\s*\|\s*", r"login", limit=256, stops="\n|;&", continuation=False, flags=re.I),
        "is piped to a login command",
        2.0,
        "refs",
        ("login",),
    ),
    (
        re.compile(r"(?i)_(?:authToken|auth|password)(?:\s*=\s*|\s+)" + _Q + _ONE),
        "is written as an .npmrc auth token",
        2.0,
        "refs",
        ("_auth", "_password"),
    ),
    (re.compile(r"(?i)(?<![\w-])password\s+" + _Q + _ONE), "is a netrc password", 2.0, "refs", ("password",)),
    (
        RunScan(r"http-basic(?:\s+|\.)\S+\s+\S+\s+" + _Q + _ONE, r"http-basic", re.I),
        "is an http-basic password (poetry/composer)",
        2.0,
        "refs",
        ("http-basic",),
    ),
    (
        re.compile(r"(?i)(?:github-oauth|gitlab-token|gitlab-oauth|bearer|pypi-token)\.\S+\s+" + _Q + _ONE),
        "is a package host token (composer/poetry)",
        2.0,
        "refs",
        ("github-oauth.", "gitlab-token.", "gitlab-oauth.", "bearer.", "pypi-token."),
    ),
    (
        re.compile(
            r"(?:^|[\s;&|(])bundle\s+config\s+(?:set\s+)?(?:--\w+\s+)*(?:https?://\S+|[A-Za-z0-9-]+\.[A-Za-z0-9.-]+)\s+"
            + _Q
            + r"([^\s\"']+)"
        ),
        "is a Bundler source credential",
        2.0,
        "refs",
        ("bundle",),
    ),
    (
        re.compile(r"(?:^|[\s;&|(])cargo\s+login\s+(?:--registry(?:=|\s+)\S+\s+)?" + _Q + _ONE),
        "is a cargo registry token",
        2.0,
        "refs",
        ("cargo",),
    ),
    (
        re.compile(r"(?i)configure\s+set\s+aws_(?:secret_access_key|session_token)\s+" + _Q + _ONE),
        "is written by aws configure",
        2.0,
        "refs",
        ("configure",),
    ),
    (
        re.compile(r"(?i)(?:npmAuthToken|NPM_AUTH_TOKEN)\s*[:=]\s*" + _Q + _ONE),
        "is a yarn npmAuthToken",
        2.0,
        "refs",
        ("npmauthtoken", "npm_auth_token"),
    ),
    (re.compile(r"(?i)<password>\s*" + _ONE), "is a Maven settings password", 2.0, "refs", ("<password>",)),
    # database clients and account passwords
    (
        _cmd(
            r"(?:^|[\s;&|(])(?:mysql|mysqladmin|mysqldump|mysqlimport|mysqlcheck|mysqlsh|mariadb|mariadb-admin|mariadb-dump)\b",
            r"\s-p" + _Q + _ONE,
        ),
        "is a database client password (mysql -p)",
        2.0,
        "refs",
        ("mysql", "mariadb"),
    ),
    (
        _cmd(r"(?:^|[\s;&|(])(?:mysqladmin|mariadb-admin)\b", r"\spassword\s+" + _Q + _ONE),
        "is a database password (mysqladmin password)",
        2.0,
        "refs",
        ("mysqladmin", "mariadb-admin"),
    ),
    (
        _cmd(r"(?:^|[\s;&|(])redis-cli\b", r"\s-a\s+" + _Q + _ONE),
        "is a database client password (redis-cli -a)",
        2.0,
        "refs",
        ("redis-cli",),
    ),
    (
        _cmd(r"(?:^|[\s;&|(])(?:sqlcmd|bcp)\b", r"\s-P\s+" + _Q + _ONE),
        "is a database client password (sqlcmd -P)",
        2.0,
        "refs",
        ("sqlcmd", "bcp"),
    ),
    (
        re.compile(
            r"(?i)\b(?:identified\s+(?:with\s+\S+\s+)?by|with\s+(?:encrypted\s+)?password|(?:alter|create)\s+(?:user|role)\s+\S+\s+(?:with\s+)?password)\s*\\?[\"']"
            + _ONE
        ),
        "is an SQL account password",
        2.0,
        "refs",
        ("identified", "password"),
    ),
    (
        re.compile(
            r"(?:^|[\s;&|(])htpasswd\s+-[A-Za-z]*b[A-Za-z]*\s+(?:-\S+\s+)*(?:\S+[ \t]+){1,2}"
            + _Q
            + _ONE
            + r"\}?"
            + _Q
            + r"(?=[ \t]*(?:$|[;&|)>\n]|\\\n))"
        ),
        "is an htpasswd password",
        2.0,
        "refs",
        ("htpasswd",),
    ),
    (
        GapPattern(
            r"(?:echo|printf)\s+[\"']?[^:\s\"'$]+:" + _ONE,
            r"\|\s*(?:sudo\s+)?chpasswd",
            limit=256,
            stops="|\n",
            continuation=False,
            flags=re.I,
        ),
        "is set as an account password (chpasswd)",
        2.0,
        "refs",
        ("chpasswd",),
    ),
    (re.compile(r"(?:^|[\s;&|(])sshpass\s+-p\s*" + _Q + _ONE), "is an sshpass password", 2.0, "refs", ("sshpass",)),
    (
        _cmd(r"(?:^|[\s;&|(])mongo(?:sh|dump|restore|import|export)?\s", r"\s-p(?:\s+|=)" + _Q + _ONE),
        "is a database client password (mongo -p)",
        2.0,
        "refs",
        ("mongo",),
    ),
    (
        GapPattern(
            r"(?:echo|printf)\s+(?:-[neE]+\s+)?" + _Q + _ONE, r"\|\s*(?:sudo\s+)?ssh-add\b", limit=200, stops="\n;&", continuation=False
        ),
        "is loaded into ssh-agent (a private key)",
        2.0,
        "refs",
        ("ssh-add",),
    ),
    # a private key: between key markers
    (
        re.compile(r"PRIVATE KEY-----(?:[^$-]|-(?!----END)|\$(?![A-Za-z_{])){0,512}?" + _ONE),
        "is written between private key markers",
        2.0,
        "refs",
        ("private key",),
    ),
    # an assignment to a credential-named variable
    (
        re.compile(r"(?:(?<=\\[nt])|(?<![\w$.\-/\\]))(?:export\s+|-D)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*\\?" + _Q + _ONE),
        "is copied into a credential-named variable",
        2.0,
        "assign",
        ("pass", "pwd", "secret", "token", "apikey", "api_key", "credential", "psw", "auth"),
    ),
]
_URL_USER = re.compile(r"://([^\s/@:'\"]*):[^\s/@'\"]*@")
_USER_WORDS = frozenset(
    {
        "user",
        "users",
        "username",
        "usr",
        "login",
        "account",
        "owner",
        "email",
        "uid",
        "name",
        "id",
        "org",
        "organization",
        "group",
        "team",
        "namespace",
        "repo",
        "project",
        "host",
        "domain",
        "url",
        "path",
    }
)
_CRED_ASSIGN_WORDS = ("pass", "pwd", "secret", "token", "apikey", "api_key", "credential", "psw", "auth")


def _names(fragment: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in _REF.finditer(fragment)]


# what (?:pass|…|auth)[a-z0-9_.\-]*\s*= finds, from each run of name characters once (gap.py)
_CRED_WORD = re.compile(r"pass|pwd|secret|token|api[_-]?key|credential|psw|auth")
_CRED_RUN = re.compile(r"(?<![a-z0-9_.\-])[a-z0-9_.\-]++\s*+=")


def _assign_matches(pat: re.Pattern[str], text: str, low: str) -> Iterator[re.Match[str]]:
    """Matches of the assignment pattern, found from the credential word in the name (a cheap
    search) instead of trying the pattern at every position."""
    if len(low) != len(text):
        yield from pat.finditer(text)
        return
    last = -1
    for i in word_in_run_starts(low, _CRED_WORD, _CRED_RUN):
        while i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_.-"):
            i -= 1
        if i < last:
            continue  # inside the previous match: every character is read once
        m = pat.match(text, i)
        if m is not None:
            last = m.end()
            yield m


def _credential_name(name: str) -> bool:
    from refactor.analysis.secrets import holds_credential

    return holds_credential(name)


def _user_like(name: str) -> bool:
    from refactor.analysis.secrets import name_tokens

    return any(t in _USER_WORDS for t in name_tokens(name))


# Files that hold a private key; public keys, known hosts and certificates are not.
_KEY_FILE = re.compile(
    r"(?:^|/)(?:id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?|[^/\s]*(?:[._-]key|privkey[^/\s]*)|[^/\s]+\.(?:key|pem|p12|pfx|ppk))$"
    r"|/private/[^/\s]+$|(?:^|/)\.ssh/(?!authorized_keys|known_hosts|config$)[^/\s]+$"
)
# Credential files of tools and clients: a value written into one is (or holds) a credential.
_CRED_FILE = re.compile(
    r"(?:^|/)(?:\.netrc|_netrc|\.git-credentials|\.pgpass|\.my\.cnf|\.pypirc|\.dockercfg|kubeconfig|"
    r"[^/\s]*credentials?\.json|[^/\s]*service[-_]?account[^/\s]*\.json|client[-_]?secrets?[^/\s]*\.json)$"
    r"|(?:^|/)\.kube/config$|(?:^|/)\.docker/config\.json$|(?:^|/)\.aws/credentials$"
)
_PUBLIC_FILE = re.compile(
    r"(?:^|/)(?:authorized_keys2?|known_hosts|[^/\s]+\.pub|[^/\s]*(?:cert|crt|chain|bundle|ca)[^/\s]*)$|/certs?/|ca-certificates"
)
_REDIRECT_TARGET = re.compile(r"(?:>>?|\btee(?:\s+-a)?)\s*[\"']?([^\s\"';|&<>()]+)")
# echo "$V" / echo -n $V / printf '%s' "${V}" / cat <<< "$V": the written content is exactly one value
_WHOLE_CONTENT = re.compile(
    r"\s*(?:\\\n\s*)*(?:sudo\s+)?(?:echo(?:\s+-[neE]+)*|printf(?:\s+-[-]?)?\s+[\"']%s(?:\\n)?[\"']|cat\s*<<<)\s+"
    r"(\"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?\"|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)\s*(?:[|>]|$)"
)
_WRITER = re.compile(r"\s*(?:\\\n\s*)*(?:sudo\s+)?(?:echo|printf|cat\s*<<<|cat\s+<<)\b")
_SEGMENT_SPLIT = re.compile(r"&&|\|\||;|\n(?<!\\\n)")


def _key_file_uses(text: str, found: dict[str, list[tuple[str, float]]]) -> None:
    """A value written into a private key file (``> ~/.ssh/id_rsa``, ``> /etc/ssl/private/x.key``,
    ``| tee app.pem``) is a key; one written into ``authorized_keys``/``known_hosts``/a ``.pub``
    file or a certificate is public."""
    for seg in _SEGMENT_SPLIT.split(text):
        if "$" not in seg or (">" not in seg and "tee" not in seg):
            continue
        if not _WRITER.match(seg):
            continue  # the content comes from elsewhere (a download, a program's output), not the value
        targets = [m.group(1) for m in _REDIRECT_TARGET.finditer(seg)]
        if not targets:
            continue
        whole = _WHOLE_CONTENT.match(seg)
        if whole is None:
            continue  # the value is one part of what is written (a registry line, a host line): not the file
        refs = [n for n in _names(whole.group(1)) if n not in ("HOME", "USER", "PWD")]
        for t in targets:
            t = t.replace("${HOME}", "~").replace("$HOME", "~")
            if _PUBLIC_FILE.search(t):
                reason, weight = "is written into authorized_keys, known_hosts, a .pub file or a certificate (public)", -3.0
            elif _KEY_FILE.search(t):
                reason, weight = "is written into a private key file", 2.0
            elif _CRED_FILE.search(t):
                reason, weight = "is written into a credential file", 2.0
            else:
                continue
            for n in refs:
                lst = found.setdefault(n, [])
                if (reason, weight) not in lst:
                    lst.append((reason, weight))


@lru_cache(maxsize=4096)
def _auth_index(text: str) -> dict[str, tuple[tuple[str, float], ...]]:
    """For one text: variable name -> reasons it reaches an authenticating position.

    The patterns do not depend on the variable, so a text is scanned once however many
    variables are asked about."""
    found: dict[str, list[tuple[str, float]]] = {}
    low = text.lower()
    user_names = {n for m in _URL_USER.finditer(text) for n in _names(m.group(1))} if "://" in text else set()
    for pat, reason, weight, how, guard in _USE_PATTERNS:
        if not any(g in low for g in guard) or (how == "assign" and "=" not in text):
            continue  # most texts hold none of a pattern's words: skip its scan
        if how == "assign":
            assert isinstance(pat, re.Pattern)  # the "assign" entries are plain regexes (_assign_matches uses .match)
            matches = _assign_matches(pat, text, low)
        else:
            matches = pat.finditer(text)
        for m in matches:
            group = m.group(1) or ""
            w_here = weight
            if how in ("whole", "token-user"):
                w = _WHOLE_REF.fullmatch(group)
                names = [w.group(1) or w.group(2)] if w else []
                if how == "token-user" and names and _user_like(names[0]):
                    w_here = 1.0
            elif how == "after-colon":
                names = _names(group.split(":", 1)[1]) if ":" in group else []
            elif how == "assign":
                if not any(k in group.lower() for k in _CRED_ASSIGN_WORDS) or not _credential_name(group):
                    continue
                names = [n for n in _names(m.group(2) or "") if n != group]
            else:
                names = _names(group)
            for n in names:
                if how == "whole" and reason.startswith("is used as the URL user-info") and n in user_names:
                    continue
                lst = found.setdefault(n, [])
                if (reason, w_here) not in lst:
                    lst.append((reason, w_here))
    if (">" in text or "tee" in low) and any(
        k in low
        for k in (
            ".ssh",
            "id_",
            "key",
            ".pem",
            ".p12",
            ".pfx",
            "private",
            "known_hosts",
            "netrc",
            "credential",
            "pgpass",
            ".my.cnf",
            "pypirc",
            "dockercfg",
            ".npmrc",
            "kube",
            ".docker/",
            "account",
            "secret",
        )
    ):
        _key_file_uses(text, found)
    # the token-as-user pattern also matches what the generic user-info pattern found: keep the stronger
    for lst in found.values():
        if any(r.startswith("is used as the URL user-info (a token") for r, _w in lst):
            lst[:] = [(r, w) for r, w in lst if r != "is used as the URL user-info (token as user)"]
    return {k: tuple(v) for k, v in found.items()}


def auth_uses(text: str, name: str) -> list[tuple[str, float]]:
    """Reasons why ``$name`` in ``text`` reaches an authenticating position (may be empty); a
    negative weight says the value is public (written into ``authorized_keys``)."""
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
    inplace = any(
        w == "--in-place" or w.startswith("--in-place=") or (w.startswith("-") and not w.startswith("--") and "i" in w[1:]) for w in words
    )
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
                    if "envsubst" in script[conv(it.start) : conv(it.end)]:
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
            if a == write.path or (a.rstrip("/").rsplit("/", 1)[-1] == base and not a.startswith("-")):
                return True
    return write.kind == "config" and re.search(r"config\s+(?:delete|--unset|--unset-all|unset)\b|\blogout\b", rest) is not None


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

"""Which commands of a RUN can read an arbitrary variable: the transparent utilities and package
managers, the tools with known credential sources, the sub-commands that run project code (``npm
run``, ``pip install .``, …), and the :class:`ShellInfo` record of a script (refs, assignments,
commands) with its ``opaque`` test.
"""

from __future__ import annotations

from dataclasses import field

from refactor.records import dataclass

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

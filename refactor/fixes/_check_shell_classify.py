"""Classification of a command for the rewrite check (:func:`classify`): package-manager subcommands
that run package scripts or not (npm, yarn, pnpm), pip's local and remote installs, and the
:class:`Use` each program gets (what it reads, whether it is decidable).
"""

from __future__ import annotations

import re

from refactor.fixes._check_shell_parse import _SHELLS
from refactor.fixes._check_shell_tools import _ALL, _PYVER, _TOOLS, ENV_BLIND, Use, unwrap

_NPM_SCRIPTS = {
    "run",
    "run-script",
    "rum",
    "urn",
    "test",
    "t",
    "tst",
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
}
_NPM_INSTALL = {
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
    "link",
    "ln",
    "pack",
    "publish",
    "uninstall",
    "remove",
    "rm",
    "r",
    "un",
    "unlink",
    "dedupe",
    "ddp",
    "prune",
    "version",
    "init",
    "create",
}
_YARN_QUIET = {
    "config",
    "cache",
    "info",
    "--version",
    "-v",
    "policies",
    "licenses",
    "why",
    "list",
    "outdated",
    "audit",
    "help",
    "--help",
    "login",
    "logout",
    "npm",
}
_PNPM_QUIET = {
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
    "get",
    "set",
    "env",
}


def _sub(args: list) -> str:
    return next((a for a in args if a is not None and not a.startswith("-")), "")


_PIP_VALUED = {
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--src",
    "--cache-dir",
    "--trusted-host",
    "--python-version",
    "--platform",
    "--only-binary",
    "--no-binary",
    "--upgrade-strategy",
    "--log",
    "--proxy",
    "--retries",
    "--timeout",
    "--exists-action",
    "--cert",
    "--client-cert",
    "--implementation",
    "--abi",
    "-d",
    "--dest",
    "--report",
    "--progress-bar",
    "-w",
    "--wheel-dir",
}


def _pip_local(args: list) -> bool:
    """pip install/wheel/download of a local project runs its build code."""
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a is None:
            return True
        if a in ("-e", "--editable") or a.startswith(("-e.", "-e/", "--editable=")):
            return True
        if a in _PIP_VALUED:
            skip = True
            continue
        if a.startswith("-"):
            continue
        if a in (".", "..") or a.startswith(("./", "../", "/", "file:", "~")) or ("/" in a and a.endswith((".tar.gz", ".zip", ".whl"))):
            return True
        if a.endswith("setup.py"):
            return True
    return False


def _pip_use(label: str, args: list, prefixes: tuple, names: tuple, config: str) -> Use:
    sub = _sub(args)
    rest = args[args.index(sub) + 1 :] if sub in args else args
    if sub in ("install", "wheel", "download", "sync") and _pip_local(rest):
        return Use("all", f"{label} {sub} of a local project")
    files = []
    for i, a in enumerate(args):
        if a is None:
            continue
        if a in ("-r", "--requirement", "-c", "--constraint"):
            if i + 1 < len(args) and args[i + 1]:
                files.append(args[i + 1])
        elif a.startswith(("--requirement=", "--constraint=")):
            files.append(a.split("=", 1)[1])
        elif a.startswith(("-r", "-c")) and len(a) > 2 and not a.startswith("--"):
            files.append(a[2:])
    return Use("tool", label, prefixes, names, config, tuple(files))


def classify(argv: list) -> Use:
    """How the program ``argv`` (after :func:`unwrap`; words are literal strings or None) reads the
    environment. Unknown programs, scripts and tools that run project code read everything."""
    if not argv:
        return Use("blind")
    name = argv[0]
    if name is None:
        return Use("all", "a computed command")
    base = name.rsplit("/", 1)[-1]
    args = list(argv[1:])
    if "/" in name and not name.startswith("/"):
        return Use("all", f"{name} (a script)")
    if _PYVER.fullmatch(base):
        base = re.sub(r"[\d.]+$", "", base) if base.startswith("pip") else base
    if base.startswith("python") and len(args) >= 2 and args[0] == "-m":
        mod = args[1]
        if mod == "pip":
            return _pip_use("pip", args[2:], *_TOOLS["pip"])
        if mod in ("venv", "ensurepip", "virtualenv"):
            return Use("tool", f"python -m {mod}", ("PIP_",), ("VIRTUAL_ENV",))
        return Use("all", f"python -m {mod}")
    if base.startswith("python") or base in _ALL:
        return Use("all", base)
    if base in _SHELLS:
        # sh -c SCRIPT and sh <<EOF: the script's own commands are classified; sh FILE runs a script
        if any(a is not None and a.startswith("-") and not a.startswith("--") and "c" in a[1:] for a in args):
            return Use("blind", base)
        if not any(a is not None and not a.startswith("-") for a in args):
            return Use("shell", base)  # reads its script from stdin: known only when it is a heredoc
        return Use("all", f"{base} {_sub(args)} (a script)")
    if base in ("env", "printenv") or (base in ("export", "declare", "set", "typeset") and not args):
        return Use("dump", base)
    if base == "envsubst":
        return Use("dump", base)
    if base in ("awk", "gawk", "mawk", "nawk"):
        return Use("all", base) if any(a is None or "ENVIRON" in a for a in args) else Use("blind", base)
    if base in ("jq", "yq", "gojq"):
        return Use("dump", base) if any(a is None or "env" in a or "ENV" in a for a in args) else Use("blind", base)
    if base == "find":
        for i, a in enumerate(args):
            if a in ("-exec", "-execdir", "-ok", "-okdir") and i + 1 < len(args):
                end = next((k for k in range(i + 1, len(args)) if args[k] in (";", "+", "\\;")), len(args))
                return classify(unwrap(args[i + 1 : end]))
        return Use("blind", base)
    if base in ENV_BLIND:
        return Use("blind", base)
    sub = _sub(args)
    ignore = any(a is not None and a.startswith("--ignore-scripts") for a in args)
    if base == "npm":
        if sub in _NPM_SCRIPTS or (sub in _NPM_INSTALL and not ignore):
            return Use("all", f"npm {sub} (runs package scripts)")
    elif base == "yarn":
        if not (sub in _YARN_QUIET or (sub in ("", "install", "add") and ignore)):
            return Use("all", f"yarn {sub} (runs package scripts)".replace("  ", " "))
    elif base == "pnpm":
        if not (sub in _PNPM_QUIET or (sub in ("", "install", "i", "add") and ignore)):
            return Use("all", f"pnpm {sub} (runs package scripts)")
    elif base in ("pip", "pipenv", "pipx") or (base == "uv" and sub == "pip"):
        if base == "pipenv" and sub in ("install", "sync", "run", "shell", "update"):
            return Use("all", f"pipenv {sub}")
        if base == "uv":
            return _pip_use("uv pip", args[args.index("pip") + 1 :], *_TOOLS["uv"])
        return _pip_use(base, args, *_TOOLS[base])
    elif base == "uv":
        if sub in ("run", "sync", "build", "tool", "publish"):
            return Use("all", f"uv {sub}")
    elif base == "poetry":
        if sub in ("run", "shell", "build", "publish") or (sub in ("install", "sync") and "--no-root" not in args):
            return Use("all", f"poetry {sub}")
    elif base == "go":
        if sub in ("generate", "run", "test", "vet", "tool"):
            return Use("all", f"go {sub}")
    elif base == "cargo":
        if sub in ("build", "b", "run", "r", "test", "t", "bench", "install", "check", "c", "doc", "clippy", "publish"):
            return Use("all", f"cargo {sub} (build scripts)")
    elif base == "composer":
        if "--no-scripts" not in args and sub in (
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
        ):
            return Use("all", f"composer {sub} (runs scripts)".replace("  ", " "))
    elif base in ("bundle", "bundler"):
        if sub == "exec":
            return Use("all", "bundle exec")
    elif base == "openssl":
        names = tuple(a.split("env:", 1)[1] for a in args if a and "env:" in a)
        return Use("tool", base, ("OPENSSL_",), names)
    if base in _TOOLS:
        prefixes, names, config = _TOOLS[base]
        return Use("tool", base, prefixes, names, config)
    return Use("all", f"{base} (unknown program)" if "/" not in name else f"{name} (unknown program)")

"""Shell layer of the rewrite check (:mod:`refactor.fixes.check`).

Written independently of :mod:`refactor.analysis.shell` (only the tree-sitter parser setup is the
same): a RUN script is flattened into :class:`Cmd` records in execution order, with bash's
precedence restored (tree-sitter-bash 0.25 parses ``a && b > f`` as ``(a && b) > f`` and
``a && b | c`` as ``(a && b) | c``). Words are evaluated *symbolically* into values: tuples of
literal strings and the parts below; nothing is ever executed.

Value parts: ``str`` (literal), :class:`Arg` (a build-arg value, unknown at analysis time),
:class:`Secret` (a secret given to the build through a mount), :class:`Base` (a variable this
Dockerfile never sets: whatever the base image has), :class:`Opaque` (command output, arithmetic,
…), :class:`Op` (``${X<op>word}`` that cannot be decided). A variable that is not set is ``None``.

This module is the layer's public face and holds what a program writes (:func:`cmd_writes`, git's
``config``/``clone`` targets); its parts are :mod:`~refactor.fixes._check_shell_values` (values and
words), :mod:`~refactor.fixes._check_shell_parse` (scripts into :class:`Cmd` records),
:mod:`~refactor.fixes._check_shell_tools` (wrappers and tool tables) and
:mod:`~refactor.fixes._check_shell_classify` (what a command reads).
"""

from __future__ import annotations

import posixpath

from refactor.fixes._check_shell_classify import classify
from refactor.fixes._check_shell_parse import Cmd, Script, cached_script, exec_script, parse_script
from refactor.fixes._check_shell_tools import BUILTINS, COMMON, ENV_BLIND, Use, positional, redirect_ops, unwrap
from refactor.fixes._check_shell_values import (
    MAX_DEPTH,
    Arg,
    Base,
    Deep,
    Op,
    Opaque,
    Secret,
    as_path,
    deep,
    literal,
    raw_unquoted,
    resolve_op,
    value,
)

__all__ = [
    "BUILTINS",
    "COMMON",
    "ENV_BLIND",
    "GIT_ACTIONS",
    "GIT_VALUED",
    "MAX_DEPTH",
    "Arg",
    "Base",
    "Cmd",
    "Deep",
    "Op",
    "Opaque",
    "Script",
    "Secret",
    "Use",
    "as_path",
    "cached_script",
    "classify",
    "cmd_writes",
    "deep",
    "exec_script",
    "git_file",
    "git_parts",
    "literal",
    "parse_script",
    "positional",
    "raw_unquoted",
    "redirect_ops",
    "resolve_op",
    "unwrap",
    "value",
]


# --------------------------------------------------------------------------------------------
# What a program writes


def cmd_writes(argv: list, home: str, cwd: str | None) -> list[tuple[str, str | None]]:
    """(op, path) for what a program writes/removes: op is add | del | deltree."""
    if not argv or argv[0] is None:
        return []
    base, args = argv[0].rsplit("/", 1)[-1], argv[1:]
    pos = positional(args)
    flags = "".join(a[1:] for a in args if a and a.startswith("-") and not a.startswith("--"))
    if base in ("tee", "touch") or (base == "mkdir"):
        return [("add", p) for p in positional(args, {"-m", "--mode"})]
    if base == "sed" and ("i" in flags or any(a and a.startswith("--in-place") for a in args)):
        has_script = any(a in ("-e", "-f", "--expression", "--file") for a in args)
        files = positional(args, {"-e", "-f", "--expression", "--file"})
        return [("add", p) for p in (files if has_script else files[1:])]
    if base in ("cp", "mv", "install", "ln"):
        pos = positional(args, {"-m", "-o", "-g", "-t", "--mode", "--owner", "--group", "-S", "--suffix"})
        if base == "install" and "d" in flags:
            return [("add", p) for p in pos]
        if len(pos) < 2:
            return []
        dest, srcs = pos[-1], pos[:-1]
        multi = len(srcs) > 1 or (dest or "").endswith("/")
        out = [("add", (dest.rstrip("/") + "/" + s.rstrip("/").rsplit("/", 1)[-1]) if multi and dest and s else dest) for s in srcs]
        if base == "mv":
            out += [("deltree", s) for s in srcs]
        return out
    if base in ("rm", "rmdir", "shred", "unlink"):
        rec = "r" in flags.lower() or "--recursive" in args or base == "rmdir"
        if base == "shred" and "u" not in flags:
            return []
        return [("deltree" if rec else "del", p) for p in pos]
    if base == "htpasswd" and "n" not in flags and pos:
        return [("add", positional(args, {"-C", "-r"})[0])]
    if base == "git":
        return [("add", p) for p in git_file(args, home, cwd)]
    if base in ("npm", "yarn", "pnpm") and (pos[:2] == ["config", "set"] or pos[:1] == ["set"]):
        glob = any(a in ("-g", "--global", "--location=global") for a in args)
        return [("add", "/usr/local/etc/npmrc" if glob else f"{home}/.npmrc")]
    if base.startswith("pip") and pos[:2] == ["config", "set"]:
        return [("add", "/etc/pip.conf" if "--global" in args else f"{home}/.config/pip/pip.conf")]
    if base == "poetry" and pos[:1] == ["config"] and len(pos) >= 3 and "--unset" not in args:
        return [
            (
                "add",
                f"{home}/.config/pypoetry/" + ("auth.toml" if (pos[1] or "").startswith(("http-basic.", "pypi-token.")) else "config.toml"),
            )
        ]
    if base == "docker" and pos[:1] == ["login"]:
        return [("add", f"{home}/.docker/config.json")]
    if base == "huggingface-cli" and pos[:1] == ["login"]:
        return [("add", f"{home}/.cache/huggingface/token")]
    if base == "aws" and pos[:2] == ["configure", "set"] and len(pos) >= 3:
        return [
            (
                "add",
                f"{home}/.aws/" + ("credentials" if (pos[2] or "").startswith(("aws_access", "aws_secret", "aws_session")) else "config"),
            )
        ]
    if base == "curl" or base == "wget":
        opts = ("-o", "--output") if base == "curl" else ("-O", "--output-document")
        out = []
        for i, a in enumerate(args):
            if a in opts and i + 1 < len(args) and args[i + 1] != "-":
                out.append(("add", args[i + 1]))
            elif a and a.startswith(opts[1] + "="):
                out.append(("add", a.split("=", 1)[1]))
        return out
    if base == "ssh-keygen" and "-f" in args:
        f = args[args.index("-f") + 1] if args.index("-f") + 1 < len(args) else None
        return [("add", f), ("add", f + ".pub")] if f else []
    return []


GIT_VALUED = {
    "-b",
    "--branch",
    "-c",
    "--config",
    "--depth",
    "-o",
    "--origin",
    "--reference",
    "--separate-git-dir",
    "-j",
    "--jobs",
    "--filter",
    "-u",
    "--upload-pack",
    "--template",
    "--shallow-since",
    "--shallow-exclude",
    "-C",
    "--file",
    "-f",
    "--type",
    "--git-dir",
    "--work-tree",
}
GIT_ACTIONS = {
    "--unset",
    "--unset-all",
    "--remove-section",
    "--rename-section",
    "--get",
    "--get-all",
    "--get-regexp",
    "--get-urlmatch",
    "--list",
    "-l",
    "--edit",
    "-e",
}


def git_parts(args: list) -> tuple[str | None, str | None, list]:
    """(git -C dir, sub-command, the sub-command's arguments)."""
    i, cdir = 0, None
    while i < len(args) and args[i] is not None and args[i].startswith("-"):
        if args[i] in ("-C", "-c", "--git-dir", "--work-tree") and i + 1 < len(args):
            if args[i] == "-C":
                cdir = args[i + 1]
            i += 2
        else:
            i += 1
    return cdir, (args[i] if i < len(args) else None), args[i + 1 :]


def git_file(args: list, home: str, cwd: str | None) -> list:
    cdir, sub, rest = git_parts(args)
    if sub == "config" and not any(a in GIT_ACTIONS for a in rest) and len(positional(rest, GIT_VALUED)) >= 2:
        if "--global" in rest:
            return [f"{home}/.gitconfig"]
        if "--system" in rest:
            return ["/etc/gitconfig"]
        for k in ("--file", "-f"):
            if k in rest and rest.index(k) + 1 < len(rest):
                return [rest[rest.index(k) + 1]]
        return [posixpath.join(cdir, ".git/config") if cdir else ".git/config"]
    if sub == "clone":
        pos = positional(rest, GIT_VALUED)
        if len(pos) > 1:
            d = pos[1]
        elif pos and pos[0] is not None:
            d = pos[0].rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
        else:
            return []
        return [d, d + "/.git/config"] if d else []
    return []

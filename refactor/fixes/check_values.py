"""Symbolic values of the rewrite check: the verdict types (:class:`Violation`, :class:`CheckResult`),
BuildKit-style expansion of ARG/ENV values into tuples of literals,
``Arg``/``Secret``/``Base``/``Opaque`` parts, their normalisation for migrated secrets their
description in messages, and the plain records of a stage, a RUN and the files a stage keeps.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import field
from typing import overload

from refactor.codecache import regex
from refactor.fixes._check_shell import (
    MAX_DEPTH,
    Arg,
    Base,
    Deep,
    Op,
    Opaque,
    Script,
    Secret,
    cached_script,
    deep,
    resolve_op,
)
from refactor.records import dataclass


@dataclass(frozen=True, slots=True)
class Violation:
    kind: str  # "value" | "image-file" | "secret-reach" | "parse"
    line: int  # 1-based: the original's line for value/image-file, the rewrite's otherwise
    message: str  # names the instruction and the variable/path; never a variable's value


@dataclass(frozen=True, slots=True)
class CheckResult:
    violations: tuple[Violation, ...]
    removed_files: tuple[str, ...]  # final-image paths the original keeps and the rewrite does not
    undecidable: tuple[int, ...]  # original lines of RUNs whose reads cannot be known

    @property
    def ok(self) -> bool:
        return not self.violations


_SHELL_NAMES = {"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh"}
_HEREDOC_ONLY = regex(r"\d*<<-?\s*(['\"]?)[^\s'\"]+\1")
_KEY_STRIP = regex(r"[\s\"'\\]+")
_CFG_REF = regex(r"\$\{(?:env\.)?([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)|%([A-Za-z_][A-Za-z0-9_]*)%")
_CONFIG_FILES = {"npm": (".npmrc", ".yarnrc", ".yarnrc.yml")}
_OUT_OPS = (">", ">>", "&>", "&>>", ">|")
# tools that expand ${VAR} written into files earlier (.npmrc, git credential helpers, requirements)
_DEFERRED_READERS = {"npm", "yarn", "pnpm", "corepack", "git", "git-lfs", "pip", "uv pip", "pipenv", "pipx", "uv", "poetry"}


# --------------------------------------------------------------------------------------------
# Values


def _expand(raw: str | None, look, escape: str = "\\", depth: int = 0) -> tuple:
    """BuildKit's build-time word expansion (ENV/ARG/LABEL/WORKDIR/COPY), symbolically."""
    if raw is None:
        return ()
    parts: list = []
    buf: list[str] = []
    i, n, quote = 0, len(raw), ""
    while i < n:
        ch = raw[i]
        if quote == "'":
            if ch == "'":
                quote = ""
            else:
                buf.append(ch)
            i += 1
        elif ch == escape and i + 1 < n:
            nxt = raw[i + 1]
            buf.append(ch + nxt if quote == '"' and nxt not in ('"', "$", escape) else nxt)
            i += 2
        elif ch == '"' or (ch == "'" and not quote):
            quote = "" if quote == ch else ch
            i += 1
        elif ch == "$" and i + 1 < n and (raw[i + 1] == "{" or raw[i + 1] == "_" or raw[i + 1].isalpha()):
            if buf:
                parts.append("".join(buf))
                buf = []
            if raw[i + 1] == "{":
                level, j = 1, i + 2
                while j < n and level:
                    level += {"{": 1, "}": -1}.get(raw[j], 0)
                    j += 1
                if depth >= MAX_DEPTH:
                    parts.extend(deep(raw[i:j], look))
                    i = j
                    continue
                inner = raw[i + 2 : j - 1] if not level else raw[i + 2 :]
                m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", inner)
                name = m.group(0) if m else ""
                rest = inner[len(name) :]
                op = next((o for o in (":-", ":+", ":?", "-", "+", "?", "##", "#", "%%", "%") if rest.startswith(o)), "")
                subject = look(name) if name else (Opaque("special parameter"),)
                parts.extend(resolve_op(op, subject, _expand(rest[len(op) :], look, escape, depth + 1)) if op else subject)
                i = j
            else:
                m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", raw[i + 1 :])
                # the guard above also lets a non-ASCII letter through (``$é``), which this ASCII
                # pattern does not match: that stays a crash, which safe_check turns into a refusal
                assert m is not None
                parts.extend(look(m.group(0)))
                i += 1 + len(m.group(0))
        else:
            buf.append(ch)
            i += 1
    if buf:
        parts.append("".join(buf))
    return tuple(parts)


@overload
def _norm(v: tuple, migrated: frozenset) -> tuple: ...
@overload
def _norm(v: tuple | None, migrated: frozenset) -> tuple | None: ...
def _norm(v: tuple | None, migrated: frozenset) -> tuple | None:
    """Canonical form: adjacent literals merged; ``Arg(S)`` of a migrated secret is ``Secret(S)``."""
    if v is None:
        return None
    out: list = []
    for p in v:
        if isinstance(p, Arg):
            p = Secret(p.name) if p.name in migrated else Arg(p.name, _norm(p.default, migrated))
        elif isinstance(p, Op):
            p = Op(p.op, _norm(p.subject, migrated), _norm(p.word, migrated))
        elif isinstance(p, Deep):
            p = Deep(p.text, tuple((n, _norm(v, migrated)) for n, v in p.refs))
        if isinstance(p, str):
            if not p:
                continue
            if out and isinstance(out[-1], str):
                out[-1] += p
                continue
        out.append(p)
    return tuple(out)


def _involves(v: tuple | None, names: frozenset) -> str | None:
    """The migrated secret a value carries (as a build arg or a mounted secret), if any."""
    for p in v or ():
        if isinstance(p, (Arg, Secret)) and p.name in names:
            return p.name
        if isinstance(p, Op):
            found = _involves(p.subject, names) or _involves(p.word, names)
            if found:
                return found
        if isinstance(p, Deep):
            found = next((f for _n, v in p.refs if (f := _involves(v, names))), None)
            if found:
                return found
    return None


def describe(v: tuple | None, depth: int = 0) -> str:
    """A value's structure, never its text: ``literal(7 chars) + secret A_TOKEN``."""
    if v is None:
        return "unset"
    if not v:
        return "empty"
    if depth > 2:
        return "…"
    out = []
    for p in v:
        if isinstance(p, str):
            out.append(f"literal({len(p)} chars)")
        elif isinstance(p, Arg):
            out.append(f"build-arg {p.name}" + ("" if p.default is None else " (with a default)"))
        elif isinstance(p, Secret):
            out.append(f"secret {p.name}")
        elif isinstance(p, Base):
            out.append(f"{p.name} of the base image")
        elif isinstance(p, Opaque):
            out.append(f"unknown {p.what}")
        elif isinstance(p, Deep):
            out.append(f"deeply nested expansion({len(p.text)} chars) of " + ", ".join(n for n, _v in p.refs))
        else:
            out.append(f"'{p.op}' expansion of ({describe(p.subject, depth + 1)}) with ({describe(p.word, depth + 1)})")
    return " + ".join(out)


# --------------------------------------------------------------------------------------------
# The model of one Dockerfile


@dataclass(eq=False)
class _Stage:
    index: int
    name: str | None
    parent: int | None
    env: dict
    args: dict = field(default_factory=dict)
    workdir: str | None = "/"
    user: str = "root"
    shell_ok: bool = True
    files: _Files = field(default_factory=lambda: _Files())
    ob_args: dict = field(default_factory=dict)
    ob_env: dict = field(default_factory=dict)


@dataclass(eq=False)
class _Run:
    line: int
    stage: int
    onbuild: bool
    env: dict  # the environment the script body sees (scope + mounts + leading exports)
    script: Script
    key: str  # alignment key: the script text without whitespace, quotes and backslashes
    secret_files: dict  # mounted secret file path -> value
    cwd: str | None
    home: str
    ssh: bool = False  # has --mount=type=ssh
    effects: list | None = None


def _script(text: str) -> Script:
    """A RUN's Script, parsed once per text (the cache exec-form RUNs share: ``cached_script``)."""
    return cached_script(text)


def _json_argv(args: str) -> list[str] | None:
    if not args.startswith("["):
        return None
    try:
        v = json.loads(args)
    except (ValueError, RecursionError):
        return None
    return v if isinstance(v, list) and all(isinstance(x, str) for x in v) else None


def _join(base: str | None, p: str | None, home: str | None) -> str | None:
    if p is None or p == "":
        return None
    if p == "~" or p.startswith("~/"):
        if home is None:  # HOME is reassigned in the script: ~ is not known
            return None
        p = home + p[1:]
    if not p.startswith("/"):
        if base is None:
            return None
        p = base + "/" + p
    p = posixpath.normpath(p)
    return p[1:] if p.startswith("//") else p


def cdpath(run) -> bool:
    """``CDPATH`` may be set in the RUN: a relative ``cd`` may go elsewhere."""
    return "CDPATH" in run.env or any(n == "CDPATH" for c in run.script.cmds for n, _v in c.assigns)


class _Dirs:
    """The working directory through a script (see :attr:`Cmd.scope`): a ``cd`` holds until its
    subshell ends; one in a body or branch that may not run leaves the directory after it unknown
    (None), so a relative path there names no file the check can follow."""

    def __init__(self, start: str | None, cdpath: bool = False):
        self.at: dict[tuple, str | None] = {(): start}
        self.cdpath = cdpath  # CDPATH may be set (cdpath()): a relative cd may go elsewhere

    def get(self, scope: tuple) -> str | None:
        while scope not in self.at:
            scope = scope[:-1]
        return self.at[scope]

    def cd(self, cmd, argv: list, home: str) -> bool:
        """Apply ``cd``/``pushd``/``popd`` (True when ``argv`` is one). One that may fail while the
        rest of its shell goes on (``cd /x || true; …``, ``cd /x; …``) leaves the directory
        unknown; so does a relative one when ``CDPATH`` may be set."""
        base = argv[0] if argv else None
        if base not in ("cd", "pushd", "popd"):
            return False
        scope = cmd.scope
        args = [a for a in argv[1:] if a != "--"]
        if base == "cd" and not args:
            new: str | None = home
        elif base == "popd" or not args or args[0] is None or args[0] == "-" or (args[0] or "").startswith("-"):
            new = None  # the directory stack, $OLDPWD, options, a computed word: not followed
        elif not cmd.stops or (self.cdpath and not args[0].startswith(("/", "./", "../")) and args[0] not in (".", "..")):
            new = None
        else:
            new = _join(self.get(scope), args[0], home)
        self.at[scope] = new
        for k in range(len(scope) - 1, -1, -1):
            if scope[k][0] in ("s", "b"):  # a subshell: its cd ends with it
                break
            self.at[scope[:k]] = None
        return True


def _home(env: dict, user: str) -> str:
    v = env.get("HOME")
    if v is not None and all(isinstance(p, str) for p in v):
        return "".join(v) or "/"
    # another user's HOME is what /etc/passwd says (node's is /home/node, uid 1000's too, app's may
    # be /opt/app): a name that is no real directory, so `~` matches only `~`, never a guessed path
    return "/root" if user.split(":", 1)[0] in ("", "root", "0") else f"/~{user}"


class _Files:
    """The final filesystem as far as the check can see: path -> (line, context source), with a
    children index so a recursive removal or a directory copy only visits what is below it."""

    __slots__ = ("kids", "paths")

    def __init__(self, other: _Files | None = None):
        self.paths: dict = dict(other.paths) if other else {}
        self.kids: dict = {k: set(v) for k, v in other.kids.items()} if other else {}

    def add(self, path: str, line: int, source) -> None:
        self.paths[path] = (line, source)
        child, d = path, posixpath.dirname(path)
        while d != child:
            sibs = self.kids.setdefault(d, set())
            if child in sibs:
                break
            sibs.add(child)
            child, d = d, posixpath.dirname(d)

    def below(self, path: str) -> list:
        out, stack = [], list(self.kids.get(path, ()))
        while stack:
            c = stack.pop()
            if c in self.paths:
                out.append(c)
            stack.extend(self.kids.get(c, ()))
        return out

    def remove(self, path: str, tree: bool) -> None:
        self.paths.pop(path, None)
        if tree:
            for c in self.below(path):
                self.paths.pop(c, None)
            self.kids.pop(path, None)


def _apply(files: _Files, op: str, path: str, line: int, source) -> None:
    if op == "add":
        files.add(path, line, source)
    else:
        files.remove(path, op == "deltree")

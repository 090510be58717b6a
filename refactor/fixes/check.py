"""The rewrite check: an independent second opinion on a dfix rewrite, run before it is written.

It plays the part black's "equivalent AST" check plays: it compares the original Dockerfile with
the rewrite using nothing the planner decided (it does not import ``refactor/analyze.py``,
``analysis/facts.py``, ``analysis/implicit.py``, ``analysis/shell.py`` or ``multistage.py``). It
uses the lossless syntax layer and tree-sitter-bash (through :mod:`refactor.fixes._check_shell`).

The model
---------
1. **What each build step reads** (``value``). Every RUN (``ONBUILD RUN``, heredocs, exec form,
   ``sh -c``) gets a symbolic environment: ARG (global ARGs only where a bare ``ARG X`` re-declares
   them), ENV (values expanded like BuildKit does), ENV and build args inherited through ``FROM <stage>``
   (BuildKit passes a parent stage's ARGs to its children), secret mounts (``env=V`` and the file form ``export V="$(cat /run/secrets/ID)"``) and the
   leading ``export A="…" &&`` assignments of the script. Values are tuples of literals,
   ``Arg(name)``, ``Secret(name)``, ``Base(name)`` (not set here: the base image's), ``Opaque`` and
   undecidable ``${X<op>…}``. What a RUN *reads* is what its script expands plus what its programs
   read implicitly: env-blind utilities read only proxy/locale/PATH/HOME variables, known tools a
   documented prefix (``npm_config_*``, ``PIP_*``, ``GIT_*``, …) and the ``${VAR}`` of their config
   files in the build context, and anything else (scripts, interpreters, ``make``, package scripts,
   unknown programs) reads every variable in scope: such RUNs are listed in ``undecidable``. Every
   variable a RUN of the original reads (and can see) must have an equal value in the rewrite's RUN
   aligned with it, ``Arg(S)`` of a migrated secret counting as ``Secret(S)``. RUNs are aligned
   in order by text containment (a rewritten RUN contains its original's script). A RUN the
   rewrite dropped is accepted only when it did nothing but write credential files (or remove
   them) and each write reappears, reading equal values, in every later RUN that may read the
   file (the planner's "fold"). A key written into ``~/.ssh/`` may disappear when every later RUN
   that may use it runs decidable programs and those that speak ssh carry ``--mount=type=ssh``.
   ``$VAR`` written inside single quotes (``echo '…${NPM_TOKEN}' > .npmrc``, a git credential
   helper) counts as read by the tools that expand such files later (npm, git, pip, …).
2. **What the final image keeps** (``image-file``). Files of the final stage (the last FROM) and the
   stages it derives from: COPY/ADD destinations and the writes the check can see in RUN scripts
   (redirections, tee, sed -i, cp/mv/install, mkdir, touch, ln, htpasswd, ``git config``,
   ``npm config set``, ``git clone``, ``curl -o``/``wget -O``, tool logins) minus removals
   (``rm``, ``mv``). A path the original keeps must be kept by the rewrite unless the caller allows
   its removal (``~/…`` and relative entries are the final stage's HOME and WORKDIR); COPY
   destinations of credential files that became file secrets are allowed.
3. **Where the secret goes** (``secret-reach``). In the rewrite no ``ARG S`` remains and no
   ENV/LABEL carries S; a RUN that holds the secret (a mount, or a variable derived from one) does
   not leave it in a file after the RUN (redirections of echo/printf/cat/…, tee, ``sed -i``,
   ``htpasswd -b``, ``envsubst``, ``npm``/``git``/``pip``/``poetry`` config, ``git clone`` with
   the token, ``docker login``) unless the same RUN removes it later, in a place that runs (not in
   a comment, not after ``exit``, not only when a command fails). With ``strategy="multistage"``
   only the final stage chain must be free of S (ARG, ENV/LABEL, and ``COPY --from`` of a file the
   builder left the secret in).
4. **Parse** (``parse``). The rewrite must parse, and a rewritten RUN script must not have a shell
   syntax error its original did not have.

What it cannot see: programs whose reads cannot be known are assumed to read everything in scope
(never fewer reads than real); files written by programs it does not model (``npm ci``, apt,
``tar -x``…) are absent from the file model; paths built from unknown values are skipped; network
and remote effects, base-image contents and a base image's ONBUILD triggers are out of reach;
build-time expansion in FROM/COPY/WORKDIR of a changed ARG is not compared; variables only the
rewrite sets are not compared (a RUN is checked on what the original could see); ``${…}`` nested
more than 40 deep is compared as its text over the values of the variables it names. Messages
never hold a variable's value: values are described by structure
(``literal(7 chars) + secret A_TOKEN``). Cost: linear in the file (a children index for removals,
bounded alignment look-ahead, bounded nesting), a few ms for an ordinary Dockerfile.
"""

from __future__ import annotations

import csv
import json
import posixpath
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import overload

from refactor.fixes._check_shell import (
    BUILTINS,
    COMMON,
    MAX_DEPTH,
    Arg,
    Base,
    Deep,
    Op,
    Opaque,
    Script,
    Secret,
    classify,
    cmd_writes,
    deep,
    exec_script,
    git_parts,
    literal,
    parse_script,
    positional,
    resolve_op,
    unwrap,
    value,
)
from refactor.source import SourceFile
from refactor.syntax.dockerfile import Dockerfile, ParseError, parse
from refactor.syntax.words import find_refs, name_values, parse_words, unquote


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
_HEREDOC_ONLY = re.compile(r"\d*<<-?\s*(['\"]?)[^\s'\"]+\1")
_KEY_STRIP = re.compile(r"[\s\"'\\]+")
_CFG_REF = re.compile(r"\$\{(?:env\.)?([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)|%([A-Za-z_][A-Za-z0-9_]*)%")
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


@lru_cache(maxsize=4096)
def _script(text: str) -> Script:
    return parse_script(text)


def _json_argv(args: str) -> list[str] | None:
    if not args.startswith("["):
        return None
    try:
        v = json.loads(args)
    except (ValueError, RecursionError):
        return None
    return v if isinstance(v, list) and all(isinstance(x, str) for x in v) else None


def _join(base: str | None, p: str | None, home: str) -> str | None:
    if p is None or p == "":
        return None
    if p == "~" or p.startswith("~/"):
        p = home + p[1:]
    if not p.startswith("/"):
        if base is None:
            return None
        p = base + "/" + p
    p = posixpath.normpath(p)
    return p[1:] if p.startswith("//") else p


def _home(env: dict, user: str) -> str:
    v = env.get("HOME")
    if v is not None and all(isinstance(p, str) for p in v):
        return "".join(v) or "/"
    return "/root" if user in ("", "root", "0") else f"/home/{user}"


class _Model:
    def __init__(self, df: Dockerfile, ids: Mapping[str, str], context_files):
        self.df, self.ids, self.context = df, ids, context_files
        self.stages: list[_Stage] = []
        self.runs: list[_Run] = []
        self.arg_decls: list[tuple[int, str, int | None]] = []  # (line, name, stage)
        self.carriers: list[tuple[int, str, str, tuple, frozenset, int | None]] = []  # ENV/LABEL
        self.copies: list[tuple[int, int, int, str]] = []  # (line, stage, source stage, source path)
        self.quoted: set[str] = set()  # $NAME written where the shell does not expand it
        self.global_args: dict = {}
        for ins in df.instructions:
            if ins.cmd == "from":
                self._from(ins)
            elif not self.stages:
                if ins.cmd == "arg":
                    for nv in name_values(ins.args, df.escape, legacy_env=False):

                        def look(n: str) -> tuple[Arg | Base]:
                            return (Arg(n, self.global_args.get(n)),) if n in self.global_args else (Base(n),)

                        self.global_args[nv.name] = None if nv.value is None else _expand(nv.value, look, df.escape)
                        self.arg_decls.append((ins.start_line, nv.name, None))
            else:
                self._instr(ins, ins.command, self.stages[-1], False)
                if ins.cmd == "onbuild" and ins.sub is not None:
                    self._instr(ins, ins.sub, self.stages[-1], True)

    def _from(self, ins) -> None:
        words = [unquote(w.raw, self.df.escape) for w in parse_words(ins.args, self.df.escape)]
        image = words[0].lower() if words else ""
        name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
        parent = next((s for s in reversed(self.stages) if s.name == image), None)
        st = _Stage(len(self.stages), name, parent.index if parent else None, dict(parent.env) if parent else {})
        if parent is not None:
            st.workdir, st.user, st.shell_ok = parent.workdir, parent.user, parent.shell_ok
            st.files = _Files(parent.files)
            # BuildKit hands a `FROM <stage>` child its parent's build args too (verified on
            # Engine 28.5: `ARG FOO` in the parent, `RUN echo $FOO` in the child prints the value)
            st.args = dict(parent.args)
        self.stages.append(st)

    def _instr(self, ins, command, st: _Stage, onbuild: bool) -> None:
        c, args, esc = command.cmd, command.args, self.df.escape
        env = {**st.env, **st.ob_env} if onbuild else st.env
        argd = st.ob_args if onbuild else st.args

        def look(n: str) -> tuple:
            v = env.get(n)
            if v is None:
                v = argd.get(n)
            return v if v is not None else (Base(n),)

        if c == "arg":
            for nv in name_values(args, esc, legacy_env=False):
                default = self.global_args.get(nv.name) if nv.value is None else _expand(nv.value, look, esc)
                argd[nv.name] = (Arg(nv.name, default),)
                self.arg_decls.append((ins.start_line, nv.name, st.index))
        elif c in ("env", "label"):
            new = {}
            for nv in name_values(args, esc):
                v = _expand(nv.value or "", look, esc)
                refs = frozenset(r.name for r in find_refs(nv.value or "", esc))
                self.carriers.append((ins.start_line, c.upper(), nv.name, v, refs, st.index))
                new[nv.name] = v
            if c == "env":
                (st.ob_env if onbuild else st.env).update(new)
        elif onbuild:
            if c == "run":
                self._run(ins, command, st, True, {**st.ob_args, **st.env, **st.ob_env})
        elif c == "workdir":
            v = _expand(args, look, esc)
            lit = "".join(v) if all(isinstance(p, str) for p in v) else None
            st.workdir = _join(st.workdir, lit, "/root") if lit is not None else None
            if st.workdir:
                _apply(st.files, "add", st.workdir, ins.start_line, None)  # BuildKit creates it
        elif c == "user":
            v = _expand(args, look, esc)
            st.user = "".join(v).split(":")[0] if all(isinstance(p, str) for p in v) else "?"
        elif c == "shell":
            argv = _json_argv(args) or []
            st.shell_ok = bool(argv) and argv[0].rsplit("/", 1)[-1] in _SHELL_NAMES
        elif c == "run":
            self._run(ins, command, st, False, {**st.args, **st.env})
        elif c in ("copy", "add"):
            self._copy(ins, command, st, look)

    # RUN ------------------------------------------------------------------------------------
    def _run(self, ins, command, st: _Stage, onbuild: bool, scope: dict) -> None:
        cwd = st.workdir
        home = _home(scope, st.user)
        secret_files: dict = {}
        ssh = False
        for f in command.flags:
            if f.name != "mount" or not f.value:
                continue
            try:
                fields = next(csv.reader([f.value]))
            except (csv.Error, StopIteration):
                continue
            opts = {k.strip().lower(): v for k, _, v in (x.partition("=") for x in fields)}
            ssh = ssh or opts.get("type") == "ssh"
            if opts.get("type") != "secret":
                continue
            target = opts.get("target") or opts.get("dst") or opts.get("destination")
            sid = opts.get("id") or opts.get("source") or opts.get("src") or (target or "").rsplit("/", 1)[-1]
            val = (Secret(self.ids[sid]),) if sid in self.ids else (Secret(f"id={sid}"),)
            if opts.get("env"):
                scope[opts["env"]] = val
            if target or not opts.get("env"):
                p = _join(cwd, target or f"/run/secrets/{sid}", home)
                if p:
                    secret_files[p] = val
        argv = _json_argv(command.args)
        if argv is not None:
            script, text = exec_script(argv), " ".join(argv)
        else:
            text = command.args
            if ins.heredocs:
                bodies = [self.df.text[h.body_start : h.body_end] for h in ins.heredocs]
                if len(bodies) == 1 and _HEREDOC_ONLY.fullmatch(command.args.strip()):
                    text = bodies[0]
                    if text.startswith("#!"):
                        interp = text[2:].split("\n", 1)[0].split()
                        if interp and interp[-1].rsplit("/", 1)[-1] not in _SHELL_NAMES:
                            text = " ".join(interp)
                else:
                    text += "\n" + "".join(self.df.text[h.body_start : h.end] for h in ins.heredocs)
            text = text.replace("\r\n", "\n")
            script = _script(text) if st.shell_ok else Script(dynamic=["SHELL is not a POSIX shell"])
        self.quoted |= script.quoted
        env = dict(scope)

        def look(n: str) -> tuple:
            v = env.get(n)
            return v if v is not None else (Base(n),)

        for cmd in script.cmds[: script.prefix]:
            for name, node in cmd.assigns:
                env[name] = ("",) if node is None else value(node, cmd.src, look, _subst(cmd.src, cwd, home, secret_files))
        run = _Run(ins.start_line, st.index, onbuild, env, script, _KEY_STRIP.sub("", text), secret_files, cwd, home, ssh)
        self.runs.append(run)
        if not onbuild:
            for op, p in _run_effects(run):
                _apply(st.files, op, p, run.line, None)

    # COPY / ADD --------------------------------------------------------------------------
    def _copy(self, ins, command, st: _Stage, look) -> None:
        flags = {f.name: f.value for f in command.flags}
        argv = _json_argv(command.args)
        if argv is None:
            argv = [w.raw for w in parse_words(command.args, self.df.escape)]
        if len(argv) < 2:
            return
        dv = _expand(argv[-1], look, self.df.escape)
        if not all(isinstance(p, str) for p in dv):
            return
        dest_raw = "".join(dv)
        dest = _join(st.workdir, dest_raw, "/root")
        if dest is None:
            return
        srcs = [unquote(s, self.df.escape) for s in argv[:-1]]
        multiple = len(srcs) > 1 or dest_raw.endswith("/")
        _apply(st.files, "add", dest, ins.start_line, None)
        source = None
        if flags.get("from"):
            ref = flags["from"].lower()
            source = next((s for s in self.stages[:-1] if s.name == ref or str(s.index) == ref), None)
        for src in srcs:
            if src.startswith("<<"):
                _apply(st.files, "add", posixpath.join(dest, src.lstrip("<-").strip("'\"")) if multiple else dest, ins.start_line, None)
                continue
            if source is not None:
                sp = posixpath.normpath("/" + src.lstrip("/"))
                self.copies.append((ins.start_line, st.index, source.index, sp))
                for p in ([sp] if sp in source.files.paths else []) + source.files.below(sp):
                    t = (
                        (posixpath.join(dest, posixpath.basename(sp)) if multiple else dest)
                        if p == sp
                        else posixpath.join(dest, p[len(sp.rstrip("/")) + 1 :])
                    )
                    _apply(st.files, "add", t, ins.start_line, None)
                continue
            if flags.get("from") or any(ch in src for ch in "*?[") or "://" in src:
                continue
            cs = posixpath.normpath(src.lstrip("/")) if src.strip("/") else "."
            under = [p for p in (self.context or {}) if cs == "." or p.startswith(cs + "/")]
            if under:
                for p in under:
                    rel = p if cs == "." else p[len(cs) + 1 :]
                    _apply(st.files, "add", posixpath.join(dest, rel), ins.start_line, posixpath.normpath(p))
            elif cs != ".":
                t = posixpath.join(dest, posixpath.basename(cs)) if multiple else dest
                _apply(st.files, "add", t, ins.start_line, cs)


def _subst(src: bytes, cwd, home, secret_files: dict):
    """``$(cat /run/secrets/ID)`` / ``$(< path)`` of a mounted secret file is that secret."""

    def subst(node) -> tuple:
        path = _cat_path(node, src)
        p = _join(cwd, path, home) if path else None
        return secret_files[p] if p in secret_files else (Opaque("command output"),)

    return subst


def _cat_path(node, src: bytes) -> str | None:
    kids = node.named_children
    if len(kids) == 1 and kids[0].type == "command":
        words = [c for c in kids[0].children if c.is_named]
        if len(words) == 2 and literal(words[0].named_children[0] if words[0].named_child_count else words[0], src) == "cat":
            return literal(words[1], src)
    if len(kids) == 1 and kids[0].type == "file_redirect":
        dest = kids[0].child_by_field_name("destination")
        return literal(dest, src) if dest is not None else None
    return None


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


# --------------------------------------------------------------------------------------------
# Files a script writes and removes


def _words(run: _Run, cmd) -> list:
    """The command's argv (literal strings, None when unknown), variables resolved from the RUN."""

    def look(n: str) -> tuple:
        v = run.env.get(n)
        if v is None and n == "HOME":
            return (run.home,)
        return v if v is not None else (Opaque("variable"),)

    out = [cmd.name]
    for w in cmd.words:
        v = value(w, cmd.src, look)
        out.append("".join(v) if all(isinstance(p, str) for p in v) else None)
    return out


def _redirect_paths(cmd) -> list:
    out = []
    for r in cmd.redirects:
        if r.type != "file_redirect" or not any(c.type in _OUT_OPS for c in r.children):
            continue
        dest = r.child_by_field_name("destination")
        out.append(dest)
    return out


def _run_effects(run: _Run) -> list:
    """(op, absolute path) in order: what the RUN's script adds and removes (memoized)."""
    if run.effects is None:
        run.effects = list(_effects(run))
    return run.effects


def _effects(run: _Run):
    cwd = run.cwd
    for cmd in run.script.cmds:
        if cmd.dead or cmd.kind != "cmd":
            continue
        for dest in _redirect_paths(cmd):
            v = value(dest, cmd.src, lambda n: run.env.get(n) or ((run.home,) if n == "HOME" else (Opaque("v"),)))
            p = _join(cwd, "".join(v), run.home) if all(isinstance(x, str) for x in v) else None
            if p and not p.startswith(("/dev/", "/proc/")):
                yield "add", p
        argv = unwrap(_words(run, cmd))
        if argv and argv[0] == "cd" and not cmd.cond and len(argv) > 1:
            cwd = _join(cwd, argv[1], run.home)
            continue
        for op, p in cmd_writes(argv, run.home, cwd):
            p = _join(cwd, p, run.home)
            if p and not p.startswith(("/dev/", "/proc/")) and (op == "add" or not cmd.cond):
                yield op, p


# --------------------------------------------------------------------------------------------
# What a RUN reads


def _reads(run: _Run, deferred: set, context, skip: frozenset = frozenset()) -> tuple[set, bool, bool]:
    """(variables the original RUN reads among those it can see, whether its reads cannot be
    known, whether it runs a program that is not env-blind)."""
    visible = set(run.env)
    s = run.script
    if s.error or s.dynamic:
        return visible, True, True
    reads = set(s.refs) - skip
    tools = False
    for cmd in s.cmds:
        if cmd.kind == "declare" and not cmd.assigns and not cmd.words and cmd.name in ("export", "declare"):
            return visible, False, tools  # prints the environment
        if cmd.kind != "cmd":
            continue
        use = classify(unwrap([cmd.name] + [literal(w, cmd.src) for w in cmd.words]))
        if use.kind == "all" or (use.kind == "shell" and not cmd.nested):
            return visible, True, True
        if use.kind == "dump":
            return visible, False, tools
        if use.label not in BUILTINS:
            reads |= COMMON
        if use.kind == "tool":
            tools = True
            reads |= {v for v in visible if v.startswith(use.prefixes)} | set(use.names)
            if use.label in _DEFERRED_READERS:
                reads |= deferred
            if use.config or use.files:
                names = _config_refs(context, use.config, use.files)
                if names is None:  # the config files are unknown: any variable may be in them
                    return visible, True, True
                reads |= names
    return reads & visible, False, tools


def _config_refs(context, kind: str, files: tuple) -> set | None:
    """``${VAR}`` written in the context's config files for ``kind`` (None: unknown, so any)."""
    if context is None:
        return None
    names: set = set()
    wanted = _CONFIG_FILES.get(kind, ())
    named = [f.removeprefix("./") for f in files]
    found = set()
    for path, content in context.items():
        base = path.rsplit("/", 1)[-1]
        hits = {f for f in named if f and (path == f or path.endswith("/" + f))}
        if base in wanted or hits:
            if content is None:
                return None
            found |= hits
            names |= {a or b or c for a, b, c in _CFG_REF.findall(content)}
    if any(f is None or f not in found for f in named):  # a file the tool reads that the check has not seen
        return None
    return names


# --------------------------------------------------------------------------------------------
# Alignment


def _align(orig: list[_Run], rew: list[_Run], foldable) -> dict[int, int]:
    """Original RUN index -> rewrite RUN index. The rewrite keeps RUNs in order, may drop some
    (folded credential writes) and insert some (multistage); a rewrite RUN contains the text of
    its original (mounts and exports are flags and prefixes, clean-ups are suffixes)."""

    def match(i: int, j: int) -> bool:
        o, r = orig[i], rew[j]
        return o.onbuild == r.onbuild and (o.key in r.key if o.key else not r.key)

    pairs: dict[int, int] = {}
    i = j = 0
    n, m = len(orig), len(rew)
    while i < n and j < m:
        if match(i, j):
            k = i
            while k + 1 < n and match(k + 1, j) and foldable(k):  # folded writes come before their consumer
                k += 1
            pairs[k] = j
            i, j = k + 1, j + 1
            continue
        for d in range(1, 9):
            if j + d < m and match(i, j + d):
                j += d
                break
            if i + d < n and match(i + d, j):
                i += d
                break
        else:
            pairs[i] = j  # modified in place
            i, j = i + 1, j + 1
    return pairs


# --------------------------------------------------------------------------------------------
# Dropped RUNs (folds)

_FOLD_OK = {"rm", "mkdir", "chmod", "chown", "true", ":", "set", "cd", "touch", "umask"}
_CONFIG_TOOLS = {"npm", "yarn", "pnpm", "git", "pip", "pip3", "poetry", "docker", "aws", "huggingface-cli"}


def _stmt_key(cmd) -> str:
    start = (cmd.pipe_prev.node if cmd.pipe_prev is not None else cmd.node).start_byte
    end = max([cmd.node.end_byte] + [r.end_byte for r in cmd.redirects if r.start_byte >= cmd.node.start_byte])
    return _KEY_STRIP.sub("", cmd.src[start:end].decode("utf-8", "replace"))


def _fold_writes(run: _Run) -> list | None:
    """The file-writing commands of a RUN that does nothing but write (or remove) files, else None."""
    if run.script.error or run.script.dynamic:
        return None
    writes = []
    feeders = {id(c.pipe_prev) for c in run.script.cmds if c.pipe_prev is not None}
    for cmd in run.script.cmds:
        if cmd.kind in ("assign", "declare", "test") or cmd.in_subst:
            continue
        argv = unwrap(_words(run, cmd))
        base = (argv[0] or "").rsplit("/", 1)[-1] if argv else ""
        if (
            (base in ("echo", "printf", "cat") and _redirect_paths(cmd))
            or base == "tee"
            or (base in _CONFIG_TOOLS and cmd_writes(argv, run.home, run.cwd))
        ):
            writes.append(cmd)
        elif base not in _FOLD_OK and not (base in ("echo", "printf", "cat") and id(cmd) in feeders):
            return None
    return writes


def _write_paths(run: _Run, cmd) -> set:
    one = _Run(run.line, run.stage, run.onbuild, run.env, Script(cmds=[cmd]), "", {}, run.cwd, run.home)
    return {p for op, p in _run_effects(one) if op == "add"}


def _derives(m: _Model, s: int | None, ancestor: int) -> bool:
    while s is not None:
        if s == ancestor:
            return True
        s = m.stages[s].parent
    return False


def _stmt_refs(cmd) -> set:
    names = set()
    stack = [cmd.node] + list(cmd.redirects) + ([cmd.pipe_prev.node] if cmd.pipe_prev is not None else [])
    while stack:
        n = stack.pop()
        if n.type == "variable_name" and n.parent is not None and n.parent.type in ("simple_expansion", "expansion"):
            names.add(n.text.decode("utf-8", "replace"))
        stack.extend(n.children)
    return names


_SSH_USERS = {
    "git",
    "ssh",
    "scp",
    "sftp",
    "rsync",
    "go",
    "cargo",
    "npm",
    "yarn",
    "pnpm",
    "pip",
    "pip3",
    "bundle",
    "composer",
    "gem",
    "poetry",
    "uv",
    "pipenv",
    "git-lfs",
}


def _ssh_exempt(o: _Model, r: _Model, pairs: dict, i: int, info: list) -> tuple[set, frozenset]:
    """Key writes (``echo "$KEY" > ~/.ssh/id_x``) the rewrite replaced by ``--mount=type=ssh``:
    (their commands, the variables read only there). Accepted only when every RUN that may use
    the key before it is removed runs decidable programs and, where one of them speaks ssh
    (git, ssh, go, npm, pip, …), carries the ssh mount in the rewrite."""
    run = o.runs[i]
    cmds: set = set()
    names: set = set()
    j0 = pairs.get(i)
    for cmd in run.script.cmds:
        if cmd.kind != "cmd" or (unwrap([cmd.name]) or [""])[0] not in ("echo", "printf", "cat"):
            continue
        paths = {p for p in _write_paths(run, cmd) if "/.ssh/" in p and posixpath.basename(p) not in ("known_hosts", "config")}
        if not paths or (j0 is not None and _stmt_key(cmd) in r.runs[j0].key):
            continue
        ok = True
        for k in range(i, len(o.runs)):
            c = o.runs[k]
            if c.onbuild != run.onbuild or not _derives(o, c.stage, run.stage):
                continue
            if info[k][1]:  # a script could read the key file itself
                ok = False
                break
            speaks = any((unwrap(_words(c, x)) or [""])[0] in _SSH_USERS for x in c.script.cmds if x.kind == "cmd")
            if speaks and (pairs.get(k) is None or not r.runs[pairs[k]].ssh):
                ok = False
                break
            if any(op != "add" and p in paths for op, p in _run_effects(c)):
                break
        if ok:
            cmds.add(id(cmd))
            names |= _stmt_refs(cmd)
    if not names:
        return cmds, frozenset()
    elsewhere = set().union(*(_stmt_refs(x) for x in run.script.cmds if id(x) not in cmds and not x.in_subst))
    return cmds, frozenset(names - elsewhere)


def _dropped(o: _Model, r: _Model, pairs: dict, i: int, info: list, migrated: frozenset) -> list[Violation]:
    run = o.runs[i]
    writes = _fold_writes(run)
    if writes is None:
        names = ", ".join(sorted(info[i][0])) or "no variable"
        return [Violation("value", run.line, f"line {run.line}: RUN (reads {names}) has no counterpart in the rewrite")]
    out = []
    exempt = _ssh_exempt(o, r, pairs, i, info)[0]
    for cmd in writes:
        if id(cmd) in exempt:
            continue
        paths = _write_paths(run, cmd)
        key = _stmt_key(cmd)
        for k in range(i + 1, len(o.runs)):
            c = o.runs[k]
            if c.onbuild != run.onbuild or not _derives(o, c.stage, run.stage) or not paths:
                continue
            effects = list(_run_effects(c))
            only_rm = all((unwrap(_words(c, x)) or [""])[0] in ("rm", None) for x in c.script.cmds if x.kind == "cmd")
            mentions = any(posixpath.basename(p) in c.key for p in paths)
            if info[k][1] or info[k][2] or (mentions and not only_rm):
                j = pairs.get(k)
                if j is None or key not in r.runs[j].key:
                    shown = ", ".join(sorted(paths))
                    out.append(
                        Violation(
                            "value",
                            run.line,
                            f"line {run.line}: the RUN writing {shown} is gone from the rewrite, "
                            f"but the RUN at line {c.line} that may read it does not repeat the write",
                        )
                    )
                    continue
                for v in sorted(_stmt_refs(cmd) & set(run.env)):  # the repeated write must see the same values
                    ov, rv = _norm(run.env.get(v), migrated), _norm(r.runs[j].env.get(v), frozenset())
                    if ov != rv:
                        out.append(
                            Violation(
                                "value",
                                run.line,
                                f"line {run.line}: the write moved into the RUN at line "
                                f"{r.runs[j].line} reads {v} ({describe(ov)}) but there {v} is {describe(rv)}",
                            )
                        )
            if any(op != "add" and p in paths for op, p in effects):
                break
    return out


# --------------------------------------------------------------------------------------------
# Secrets left in files


_FILTERS = {
    "cat",
    "head",
    "tail",
    "tr",
    "base64",
    "sort",
    "uniq",
    "cut",
    "xxd",
    "gzip",
    "tee",
    "rev",
    "fold",
    "awk",
    "gawk",
    "sed",
    "jq",
    "yq",
    "envsubst",
    "xargs",
    "paste",
    "openssl",
    "od",
    "column",
}
_SECRET_WRITERS = {
    "tee",
    "sed",
    "cp",
    "install",
    "mv",
    "htpasswd",
    "git",
    "npm",
    "yarn",
    "pnpm",
    "pip",
    "pip3",
    "poetry",
    "docker",
    "aws",
    "huggingface-cli",
}


def _taint(node, src: bytes, tainted: dict, spaths: dict, cwd, home) -> str | None:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "variable_name" and n.parent is not None and n.parent.type in ("simple_expansion", "expansion"):
            s = tainted.get(n.text.decode("utf-8", "replace"))
            if s:
                return s
        elif n.type == "command_substitution":
            p = _join(cwd, _cat_path(n, src), home)
            if p in spaths:
                return spaths[p]
        stack.extend(n.children)
    return None


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and _KEY_STRIP.sub("", a) == _KEY_STRIP.sub("", b)


def _cleans(w: dict, base: str, args: list, raws: list, run: _Run, cwd) -> bool:
    """Whether a command removes the secret write ``w`` (a file, a config key, a clone URL)."""
    if base in ("rm", "shred", "unlink"):
        for op, p in cmd_writes([base] + args, run.home, cwd):
            p = _join(cwd, p, run.home)
            if p and w["path"] and (p == w["path"] or (op == "deltree" and w["path"].startswith(p.rstrip("/") + "/"))):
                return True
        return False
    pos = positional(args)
    rawpos = [r for a, r in zip(args, raws) if not (a and a.startswith("-") and a != "-")]
    kind = w["kind"]
    if base == "huggingface-cli" and pos[:1] == ["logout"]:
        return bool(w["path"]) and w["path"].endswith("/.cache/huggingface/token")
    if kind == "npm" and base in ("npm", "yarn", "pnpm"):
        k = 2 if pos[:1] == ["config"] else 1
        return (pos[k - 1 : k] in (["delete"], ["rm"], ["unset"])) and len(rawpos) > k and _same(rawpos[k].split("=")[0], w["key"])
    if kind in ("pip", "poetry") and base.startswith(kind):
        return ("--unset" in args or pos[:2] == ["config", "unset"]) and any(_same(x, w["key"]) for x in rawpos)
    if kind == "docker":
        return base == "docker" and pos[:1] == ["logout"]
    if base == "git":
        cdir, sub, rest = git_parts(args)
        rrest = raws[len(raws) - len(rest) :] if rest else []
        if kind == "clone":
            d = _join(cwd, cdir, run.home) if cdir else cwd
            if d != w["dir"]:
                return False
            if (sub == "remote" and "set-url" in rest) or (sub == "config" and "remote.origin.url" in rest):
                return True
            # a clone configured with `-c http.extraHeader=…`: unsetting that key cleans it
            keys = [k.lower() for k in w.get("config_keys", [])]
            return (
                sub == "config"
                and bool(keys)
                and any(f in rest for f in ("--unset", "--unset-all"))
                and any(r is not None and r.lower() == k for r in rrest for k in keys)
            )
        if kind == "git" and sub == "config":
            for flag in ("--remove-section", "--unset", "--unset-all"):
                if flag in rest and rest.index(flag) + 1 < len(rest):
                    target = rrest[rest.index(flag) + 1]
                    if flag == "--remove-section":
                        return _same(target, w["section"])
                    return not w["key_tainted"] and _same(target, w["key"])
    return False


def _secret_writes(run: _Run, migrated: frozenset, pending: list) -> list:
    """Secret-carrying writes into files that outlive the RUN (those of earlier RUNs in
    ``pending``), once the clean-ups the RUN makes are applied."""
    tainted = {n: s for n, v in run.env.items() if (s := _involves(v, migrated))}
    spaths = {p: s for p, v in run.secret_files.items() if (s := _involves(v, migrated))}
    if not tainted and not spaths and not pending:
        return pending
    exported = dict(tainted)
    pending = list(pending)
    out_t: dict = {}
    cwd = run.cwd
    for cmd in run.script.cmds:
        src = cmd.src
        if cmd.kind in ("assign", "declare"):
            for n, node in cmd.assigns:
                s = _taint(node, src, tainted, spaths, cwd, run.home) if node is not None else None
                if s:
                    tainted[n] = s
            continue
        if cmd.kind != "cmd" or cmd.dead:
            continue
        vals = _words(run, cmd)
        argv = unwrap(vals)
        raws = ([None] + [cmd.text(x) for x in cmd.words])[len(vals) - len(argv) :] if argv else []
        base = (argv[0] or "").rsplit("/", 1)[-1] if argv else ""
        args, raws = argv[1:], raws[1:]
        if base == "cd" and args and not cmd.cond:
            cwd = _join(cwd, args[0], run.home)
            continue
        if not cmd.cond and not cmd.in_subst:
            pending = [w for w in pending if not _cleans(w, base, args, raws, run, cwd)]
        s_args = next(
            (
                s
                for x in list(cmd.words) + [v for _n, v in cmd.assigns if v is not None]
                if (s := _taint(x, src, tainted, spaths, cwd, run.home))
            ),
            None,
        )
        s_in = out_t.get(id(cmd.pipe_prev)) if cmd.pipe_prev is not None else None
        for rd in cmd.redirects:
            if rd.type in ("heredoc_redirect", "herestring_redirect"):
                s_in = s_in or _taint(rd, src, tainted, spaths, cwd, run.home)
        s_file = next((spaths[p] for a in args if (p := _join(cwd, a, run.home)) in spaths), None)
        if base in ("echo", "printf"):
            s_out = s_args
        elif base in _FILTERS:
            s_out = s_args or s_in or s_file or (next(iter(exported.values()), None) if base == "envsubst" else None)
        else:
            s_out = None
        out_t[id(cmd)] = s_out
        new = []
        if s_out:
            for dest in _redirect_paths(cmd):
                v = value(dest, src, lambda n: run.env.get(n) or ((run.home,) if n == "HOME" else (Opaque("v"),)))
                p = _join(cwd, "".join(v), run.home) if all(isinstance(x, str) for x in v) else None
                if p is None or not p.startswith(("/dev/", "/proc/")):
                    new.append({"kind": "file", "path": p, "shown": p or cmd.text(dest), "secret": s_out})
        s_any = (s_in if base in ("tee", "docker", "htpasswd") else None) or (s_file if base in ("cp", "install", "mv") else s_args)
        if s_any and base in _SECRET_WRITERS:
            new.extend(_tool_writes(base, argv, raws, cmd, run, cwd, tainted, spaths, s_any))
        for w in new:
            w["line"] = run.line
        pending.extend(new)
    return pending


def _tool_writes(base, argv, raws, cmd, run, cwd, tainted, spaths, secret) -> list:
    out = []
    for op, p in cmd_writes(argv, run.home, cwd):
        path = _join(cwd, p, run.home)
        if op != "add" or (base == "git" and not (path or "").endswith(("/.git/config", "gitconfig"))):
            continue
        w = {"kind": "file", "path": path, "shown": path or str(p), "secret": secret}
        args, pos = argv[1:], positional(argv[1:])
        rawpos = [r for a, r in zip(args, raws) if not (a and a.startswith("-") and a != "-")]
        if base in ("npm", "yarn", "pnpm"):
            k = 2 if pos[:1] == ["config"] else 1
            w.update(kind="npm", key=(rawpos[k].split("=")[0] if len(rawpos) > k else None))
        elif base.startswith("pip") or base == "poetry":
            w.update(
                kind="pip" if base.startswith("pip") else "poetry",
                key=next(
                    (r for r in rawpos[1:] if r and not r.startswith("config") and r not in ("set", "--global", "--user", "--site")), None
                ),
            )
        elif base == "docker":
            w["kind"] = "docker"
        elif base == "git":
            _cdir, sub, rest = git_parts(args)
            if sub == "clone":
                assert path is not None  # a git write only gets here through the .git/config filter above
                # `-c key=value` settings persist in the clone's .git/config next to the URL
                rrest = raws[len(raws) - len(rest) :] if rest else []
                conf = [(rrest[k + 1] or "").strip("'\"").split("=", 1)[0] for k, a in enumerate(rest[:-1]) if a in ("-c", "--config")]
                conf += [a.split("=", 1)[1].split("=", 1)[0] for a in rest if a and a.startswith("--config=")]
                w.update(kind="clone", dir=posixpath.dirname(posixpath.dirname(path)), config_keys=conf)
            else:
                rrest = raws[len(raws) - len(rest) :]
                keys = [r for a, r in zip(rest, rrest) if not (a and a.startswith("-"))]
                key = keys[0] if keys else None
                node = (
                    cmd.words[len(cmd.words) - len(rest) + rest.index(next(a for a in rest if not (a and a.startswith("-"))))]
                    if keys
                    else None
                )
                w.update(
                    kind="git",
                    key=key,
                    section=(key.rsplit(".", 1)[0] if key else None),
                    key_tainted=bool(node is not None and _taint(node, cmd.src, tainted, spaths, cwd, run.home)),
                )
        out.append(w)
    return out


def _reach(r: _Model, migrated: frozenset, strategy: str) -> list[Violation]:
    out: list[Violation] = []
    if not migrated or not r.stages:
        return out
    multistage = strategy == "multistage"
    chain: set[int] = set()
    s: int | None = len(r.stages) - 1
    while s is not None:
        chain.add(s)
        s = r.stages[s].parent
    for line, name, st in r.arg_decls:
        if name in migrated and (not multistage or st in chain):
            out.append(Violation("secret-reach", line, f"line {line}: ARG {name} is still declared; the secret is still a build arg"))
    for line, kind, key, v, refs, st in r.carriers:
        s_name = _involves(v, migrated) or min(refs & migrated, default=None)
        if s_name and (not multistage or st in chain):
            out.append(Violation("secret-reach", line, f"line {line}: {kind} {key} carries secret {s_name} into the image"))
    left: dict[int, list] = {}
    for run in r.runs:
        if not multistage or run.onbuild or run.stage in chain:
            for w in _secret_writes(run, migrated, []):
                out.append(
                    Violation(
                        "secret-reach",
                        w["line"],
                        f"line {w['line']}: RUN writes secret {w['secret']} into {w['shown']} and does not remove it in the same RUN",
                    )
                )
            continue
        parent = r.stages[run.stage].parent
        start = left.get(run.stage, list(left.get(parent, [])) if parent is not None else [])
        left[run.stage] = _secret_writes(run, migrated, start)
    for line, st, source, sp in r.copies:
        if st not in chain:
            continue
        for w in left.get(source, []):
            if w["path"] and (w["path"] == sp or w["path"].startswith(sp.rstrip("/") + "/")):
                out.append(
                    Violation(
                        "secret-reach",
                        line,
                        f"line {line}: COPY --from copies {sp}, where RUN at line {w['line']} left secret {w['secret']} in {w['shown']}",
                    )
                )
    return out


# --------------------------------------------------------------------------------------------
# The check


def _files(o: _Model, r: _Model, file_secrets: Mapping[str, str], allowed: Collection[str]) -> tuple[tuple, list]:
    if not o.stages or not r.stages:
        return (), []
    kept = r.stages[-1].files.paths
    final = o.stages[-1]  # "~/.npmrc" and relative paths are the final stage's
    allowed_n = {_join(final.workdir, p, _home(final.env, final.user)) for p in allowed}
    from_secrets = {posixpath.normpath(p.lstrip("/")) for p in file_secrets.values()}
    removed, out = [], []
    for p, (line, source) in sorted(o.stages[-1].files.paths.items()):
        if p in kept:
            continue
        removed.append(p)
        if p not in allowed_n and source not in from_secrets:
            out.append(Violation("image-file", line, f"line {line}: the original image keeps {p} (written here) but the rewrite does not"))
    return tuple(removed), out


def check_rewrite(
    original: str,
    rewritten: str,
    secrets: Mapping[str, str],
    *,
    file_secrets: Mapping[str, str] = {},
    context_files: Mapping[str, str | None] | None = None,
    allowed_removals: Collection[str] = (),
    strategy: str = "mount",
    path: str = "Dockerfile",
) -> CheckResult:
    """Compare ``original`` with ``rewritten`` (the model is in the module docstring).

    ``secrets`` maps a secret id of the rewrite's mounts to the original build-arg name;
    ``file_secrets`` a file secret's id to its context path; ``context_files`` the build context
    (path -> text, None when unreadable; None when unknown); ``allowed_removals`` final-image paths
    the fix removes on purpose; ``strategy`` is "mount" or "multistage".
    """
    try:
        odf = parse(SourceFile.from_text(path, original))
    except ParseError as exc:
        return CheckResult((Violation("parse", exc.line or 1, f"line {exc.line or 1}: the original does not parse"),), (), ())
    try:
        rdf = parse(SourceFile.from_text(path, rewritten))
    except ParseError as exc:
        return CheckResult((Violation("parse", exc.line or 1, f"line {exc.line or 1}: the rewrite does not parse"),), (), ())
    migrated = frozenset(secrets.values())
    o, r = _Model(odf, secrets, context_files), _Model(rdf, secrets, context_files)
    both = strategy == "multistage"  # the builder keeps the build arg: Arg(S) is Secret(S) on both sides
    out: list[Violation] = []
    info = [_reads(run, o.quoted, context_files) for run in o.runs]
    pairs = _align(o.runs, r.runs, lambda i: _fold_writes(o.runs[i]) is not None)
    for i, run in enumerate(o.runs):
        j = pairs.get(i)
        if j is None:
            out.extend(_dropped(o, r, pairs, i, info, migrated))
            continue
        rr = r.runs[j]
        reads = info[i][0]
        skip = _ssh_exempt(o, r, pairs, i, info)[1] if not info[i][1] else frozenset()
        if skip:
            reads = _reads(run, o.quoted, context_files, skip)[0]
        for v in sorted(reads):
            ov, rv = _norm(run.env.get(v), migrated), _norm(rr.env.get(v), migrated if both else frozenset())
            if ov != rv:
                out.append(
                    Violation(
                        "value",
                        run.line,
                        f"line {run.line}: RUN reads {v} ({describe(ov)}) but after the rewrite (line {rr.line}) {v} is {describe(rv)}",
                    )
                )
        if rr.script.error and not run.script.error:
            out.append(
                Violation(
                    "parse",
                    rr.line,
                    f"line {rr.line}: the rewritten RUN has a shell syntax error that the original (line {run.line}) does not have",
                )
            )
    paired = set(pairs.values())
    for j, rr in enumerate(r.runs):
        if j not in paired and rr.script.error:
            out.append(Violation("parse", rr.line, f"line {rr.line}: a RUN the rewrite added has a shell syntax error"))
    removed, file_violations = _files(o, r, file_secrets, allowed_removals)
    out.extend(file_violations)
    out.extend(_reach(r, migrated, strategy))
    undecidable = tuple(sorted({run.line for run, (_r, u, _t) in zip(o.runs, info) if u}))
    return CheckResult(tuple(out), removed, undecidable)

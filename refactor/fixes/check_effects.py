"""What a RUN of the rewrite check's model does: the files it writes and removes (redirections, tee,
cp/mv, tool writes), the image files a stage keeps, and the variables it reads, explicitly or
through tools and their config files in the build context.
"""

from __future__ import annotations

from refactor.fixes._check_shell import (
    BUILTINS,
    COMMON,
    Opaque,
    as_path,
    classify,
    cmd_writes,
    literal,
    unwrap,
    value,
)
from refactor.fixes._check_shell_tools import is_fd, redirect_ops
from refactor.fixes.check_values import _CFG_REF, _CONFIG_FILES, _DEFERRED_READERS, _OUT_OPS, _Dirs, _join, _Run, cdpath


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
        out.append(as_path(w, cmd.src, "".join(v)) if all(isinstance(p, str) for p in v) else None)
    return out


def _redirect_paths(cmd) -> list:
    out = []
    for r in cmd.redirects:
        if r.type != "file_redirect":
            continue
        dest = r.child_by_field_name("destination")
        ops = redirect_ops(r)
        # `>& file` (not `>&2`) and `1<> file` write there too
        if ops & set(_OUT_OPS) or (ops & {">&", "<>"} and not is_fd(dest)):
            out.append(dest)
    return out


def _run_effects(run: _Run) -> list:
    """(op, absolute path) in order: what the RUN's script adds and removes (memoized)."""
    if run.effects is None:
        script = run.script
        if any(b"$" in c.src for c in script.cmds):  # a variable's value can change a path
            run.effects = list(_effects(run))
        else:  # only cwd and HOME can: value() asks the environment only for a $ expansion
            key = (run.cwd, run.home)
            got = script.effects.get(key)
            if got is None:
                got = script.effects[key] = tuple(_effects(run))
            run.effects = list(got)
    return run.effects


def _effects(run: _Run):
    dirs = _Dirs(run.cwd, cdpath(run))
    for cmd in run.script.cmds:
        if cmd.dead or cmd.kind != "cmd":
            continue
        cwd = dirs.get(cmd.scope)
        for dest in _redirect_paths(cmd):
            v = value(dest, cmd.src, lambda n: run.env.get(n) or ((run.home,) if n == "HOME" else (Opaque("v"),)))
            p = _join(cwd, as_path(dest, cmd.src, "".join(v)), run.home) if all(isinstance(x, str) for x in v) else None
            if p and not p.startswith(("/dev/", "/proc/")):
                yield "add", p
        argv = unwrap(_words(run, cmd))
        if dirs.cd(cmd, argv, run.home):
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

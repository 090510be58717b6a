"""How a secret moves between files and out of the environment, for the ``secret-reach`` check
(:mod:`refactor.fixes.check_reach`): copies of a file holding it (``cp``, ``mv``, ``install``, a hard
``ln``, ``rsync``, ``dd``, ``tar``, ``zip``), writes through a symbolic link, and commands that
print the environment (``env``, ``printenv``, ``set``, ``export -p``, ``declare -p``, jq's ``env``,
awk's ``ENVIRON``, ``/proc/*/environ``).

Each answer errs toward "the secret may be there": a copy of a directory holding a secret file
holds it, a link made anywhere in the Dockerfile redirects writes through it.
"""

from __future__ import annotations

import posixpath
import re

from refactor.fixes._check_shell import classify, cmd_writes, positional, unwrap
from refactor.fixes.check_effects import _words
from refactor.fixes.check_values import _Dirs, _join, _Run

_COPIERS = {"cp", "mv", "install", "ln", "rsync", "dd", "tar", "zip", "gtar", "bsdtar"}
_ENVIRON = re.compile(r"^/proc/[^/]+/environ$")
_DECLARE_DUMPS = {"export", "declare", "typeset", "readonly", "local"}


# --------------------------------------------------------------------------------------------
# Symbolic links


def symlinks(runs: list[_Run]) -> dict[str, str]:
    """Link path -> absolute target for every ``ln -s`` any RUN makes (whatever its stage or
    condition: a write through the link lands in the target, and removing the link leaves it)."""
    links: dict[str, str] = {}
    for run in runs:
        if not any(b"ln" in c.src[c.node.start_byte : c.node.end_byte] for c in run.script.cmds):
            continue
        dirs = _Dirs(run.cwd)
        for cmd in run.script.cmds:
            if cmd.kind != "cmd":
                continue
            argv = unwrap(_words(run, cmd))
            if dirs.cd(cmd, argv, run.home) or not argv or (argv[0] or "").rsplit("/", 1)[-1] != "ln":
                continue
            args = argv[1:]
            flags = "".join(a[1:] for a in args if a and a.startswith("-") and not a.startswith("--"))
            if "s" not in flags and "--symbolic" not in args:
                continue
            cwd = dirs.get(cmd.scope)
            pos = positional(args, {"-t", "--target-directory", "-S", "--suffix"})
            for (op, link), target in zip(cmd_writes(argv, run.home, cwd), pos[:-1] if len(pos) > 1 else pos):
                lp = _join(cwd, link, run.home)
                if op != "add" or lp is None or target is None:
                    continue
                t = _join(posixpath.dirname(lp), target, run.home)
                if t is not None and t != lp:
                    links[lp] = t
    return links


def resolve(path: str | None, links: dict[str, str], final: bool = True) -> str | None:
    """``path`` with the known links in it followed (``final``: the last component too, as a write
    does; without it, as ``rm`` does, which removes the link itself)."""
    if path is None or not links:
        return path
    for _ in range(8):
        head, tail = (path, "") if final else posixpath.split(path)
        probe = head
        while probe not in links and probe not in ("/", ""):
            probe = posixpath.dirname(probe)
        if probe not in links:
            return path
        new = links[probe] + head[len(probe) :]
        new = posixpath.join(new, tail) if tail else new
        if new == path:
            return path
        path = new
    return path


# --------------------------------------------------------------------------------------------
# Files that hold a secret

_ABSENT = re.compile(r"^(?:\[\[?|test)\s+!\s+-[def]\s+(\S+)\s*(?:\]\]?)?$")


def absent_path(test, cwd, home: str) -> str | None:
    """The path ``test`` checks is absent: ``[ ! -d P ]``, ``test ! -e P`` (a literal P only)."""
    if test is None:
        return None
    m = _ABSENT.match(test.text().strip())
    if m is None or any(c in m.group(1) for c in "$`\\*?[{~"):
        return None
    return _join(cwd, m.group(1).strip("'\""), home)


def under(path: str | None, top: str | None) -> bool:
    return path is not None and top is not None and (path == top or path.startswith(top.rstrip("/") + "/"))


def holder(path: str | None, held: dict[str, str]) -> str | None:
    """The secret a file or directory at ``path`` holds, given ``held`` (file -> secret)."""
    if path is None or not held:
        return None
    s = held.get(path)
    if s is not None:
        return s
    prefix = path.rstrip("/") + "/"
    return next((v for p, v in held.items() if p.startswith(prefix)), None)


def copy_flow(base: str, argv: list, run: _Run, cwd, held: dict, links: dict, s_in: str | None) -> tuple[list, str | None]:
    """For a copying command: the (path, secret) writes it makes of secret-holding files (or of its
    input), and the secret on its stdout (``tar`` / ``dd`` without a destination file)."""
    args = argv[1:]

    def at(p):
        return resolve(_join(cwd, p, run.home), links)

    if base == "dd":
        opts = dict(a.split("=", 1) for a in args if a and "=" in a)
        secret = holder(at(opts["if"]), held) if "if" in opts else s_in
        if not secret:
            return [], None
        return ([(at(opts["of"]), secret)], None) if "of" in opts else ([], secret)
    if base in ("tar", "gtar", "bsdtar"):
        archive, create = _tar_archive(args)
        if not create:
            return [], None
        secret = next((s for a in positional(args) if a and a != archive and (s := holder(at(a), held))), None)
        if not secret:
            return [], None
        return ([(at(archive), secret)], None) if archive not in (None, "-") else ([], secret)
    if base == "zip":
        pos = positional(args, {"-x", "-i", "-b", "-t", "-tt", "-P", "--password", "-n", "-Z"})
        secret = next((s for a in pos[1:] if (s := holder(at(a), held))), None)
        return ([(at(pos[0]), secret)] if pos and secret else []), None
    if base == "rsync":
        pos = positional(args, {"-e", "--rsh", "--exclude", "--include", "--filter", "-f", "--chmod", "--chown", "-T"})
        secret = next((s for a in pos[:-1] if (s := holder(at(a), held))), None)
        return ([(at(pos[-1]), secret)] if len(pos) > 1 and secret else []), None
    # cp / mv / install / a hard ln: each destination holds what its source holds
    if base == "ln" and any(a and (a == "--symbolic" or (a.startswith("-") and not a.startswith("--") and "s" in a)) for a in args):
        return [], None
    pos = positional(args, {"-m", "-o", "-g", "-t", "--mode", "--owner", "--group", "-S", "--suffix"})
    if len(pos) < 2:
        return [], None
    out = []
    writes = [p for op, p in cmd_writes(argv, run.home, cwd) if op == "add"]
    for src, dest in zip(pos[:-1], writes):
        secret = holder(at(src), held)
        if secret:
            out.append((at(dest), secret))
    return out, None


def _tar_archive(args: list) -> tuple[str | None, bool]:
    """(the archive a ``tar`` writes, whether it creates one)."""
    create, archive = False, None
    first = args[0] if args else None
    if first and not first.startswith("-"):  # old style: `tar czf out.tgz dir`
        create = "c" in first
        if "f" in first and len(args) > 1:
            archive = args[1]
    for i, a in enumerate(args):
        if a is None:
            continue
        if a in ("-c", "--create") or (a.startswith("-") and not a.startswith("--") and "c" in a):
            create = True
        if a.startswith("--file="):
            archive = a.split("=", 1)[1]
        elif (a == "--file" or (a.startswith("-") and not a.startswith("--") and a.endswith("f"))) and i + 1 < len(args):
            archive = args[i + 1]
    return archive, create


# --------------------------------------------------------------------------------------------
# The environment printed


def dump(cmd, argv: list, tainted: dict, cwd, home: str) -> str | None:
    """The secret a command prints by printing the environment or shell variables."""
    if not tainted:
        return None
    any_secret = next(iter(tainted.values()))
    if cmd.kind == "declare":
        if cmd.name not in _DECLARE_DUMPS or cmd.assigns:
            return None
        names = [cmd.text(w) for w in cmd.words if not cmd.text(w).startswith("-")]
        if not names:
            return any_secret
        return next((tainted[n] for n in names if n in tainted), None)
    if not argv:
        return None
    base, args = (argv[0] or "").rsplit("/", 1)[-1], argv[1:]
    if base == "env" and len(argv) == 1:  # unwrap leaves a bare `env`
        return any_secret
    if base == "printenv":
        names = [a for a in args if a is None or not a.startswith("-")]
        return any_secret if not names or None in names else next((tainted[n] for n in names if n in tainted), None)
    if base == "set" and not args:  # every shell variable, exported or not
        return any_secret
    if base in ("jq", "yq", "gojq", "awk", "gawk", "mawk", "nawk") and classify(unwrap(argv)).kind in ("dump", "all"):
        return any_secret
    if any(a is not None and _ENVIRON.match(_join(cwd, a, home) or "") for a in args):
        return any_secret
    return None

"""How a secret moves between files and out of the environment, for the ``secret-reach`` check
(:mod:`refactor.fixes.check_reach`): copies of a file holding it (``cp``, ``mv``, ``install``, a hard
``ln``, ``rsync``, ``dd``, ``tar``, ``zip``), writes through a symbolic link, and commands that
print the environment (``env``, ``printenv``, ``set``, ``export -p``, ``declare -p``, jq's ``env``,
awk's ``ENVIRON``, ``/proc/*/environ``).

Each answer errs toward "the secret may be there": a copy of a directory holding a secret file
holds it, a link made anywhere in the Dockerfile redirects writes through it.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re

from refactor.codecache import regex
from refactor.fixes._check_shell import classify, cmd_writes, positional, unwrap
from refactor.fixes._check_shell_parse import _SHELLS
from refactor.fixes.check_effects import _words
from refactor.fixes.check_values import _Dirs, _join, _Run, cdpath

_PROPAGATE = {  # commands whose output holds what their input and files hold
    "grep",
    "egrep",
    "fgrep",
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
_COPIERS = {"cp", "mv", "install", "ln", "rsync", "dd", "tar", "zip", "gtar", "bsdtar"}
_ENVIRON = regex(r"^/proc/[^/]+/environ$")
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
        dirs = _Dirs(run.cwd, cdpath(run))
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
            tdir = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-t", "--target-directory")), None)
            if tdir is not None:  # `ln -s -t DIR T…`
                pairs = [(posixpath.join(tdir, posixpath.basename((t or "").rstrip("/"))), t) for t in pos]
            elif len(pos) == 1:  # `ln -s T`: a link named like T in the working directory
                pairs = [(posixpath.basename((pos[0] or "").rstrip("/")), pos[0])]
            else:  # `ln -s T L` (L, or L/T's name when L is a directory: both) or `ln -s T… DIR`
                dest = pos[-1] or ""
                pairs = [(posixpath.join(dest, posixpath.basename((t or "").rstrip("/"))), t) for t in pos[:-1]]
                if len(pos) == 2 and not dest.endswith("/"):
                    pairs.append((dest, pos[0]))
            for link, target in pairs:
                lp = _join(cwd, link, run.home)
                if lp is None or target is None:
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

_ABSENT = regex(r"^(?:\[\[?|test)\s+!\s+-([def])\s+(\S+)\s*(?:\]\]?)?$")


def absent_path(test, cwd, home: str | None) -> tuple[str, str] | None:
    """(flag, path) of a test that ``path`` is absent: ``[ ! -e P ]``, ``test ! -d P`` (literal P)."""
    if test is None:
        return None
    m = _ABSENT.match(test.text().strip())
    if m is None or any(c in m.group(2) for c in "$`\\*?[{~"):
        return None
    p = _join(cwd, m.group(2).strip("'\""), home)
    return (m.group(1), p) if p else None


def under(path: str | None, test: tuple[str, str] | None) -> bool:
    """Whether ``path`` cannot exist when the absence ``test`` succeeds: anything at or under P for
    ``-e``, strictly under P for ``-d`` (P may be a file), P itself for ``-f`` (P may be a directory)."""
    if path is None or test is None:
        return False
    flag, top = test
    inside = path.startswith(top.rstrip("/") + "/")
    return {"e": path == top or inside, "d": inside, "f": path == top}[flag]


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
        secret = held_by(at(opts["if"]), held) if "if" in opts else s_in
        if not secret:
            return [], None
        return ([(at(opts["of"]), secret)], None) if "of" in opts else ([], secret)
    if base in ("tar", "gtar", "bsdtar"):
        archive, create = _tar_archive(args)
        if not create:
            return [], None
        secret = next((s for a in positional(args) if a and a != archive and (s := held_by(at(a), held))), None)
        if not secret:
            return [], None
        return ([(at(archive), secret)], None) if archive not in (None, "-") else ([], secret)
    if base == "zip":
        pos = positional(args, {"-x", "-i", "-b", "-t", "-tt", "-P", "--password", "-n", "-Z"})
        secret = next((s for a in pos[1:] if (s := held_by(at(a), held))), None)
        return ([(at(pos[0]), secret)] if pos and secret else []), None
    if base == "rsync":
        pos = positional(args, {"-e", "--rsh", "--exclude", "--include", "--filter", "-f", "--chmod", "--chown", "-T"})
        secret = next((s for a in pos[:-1] if (s := held_by(at(a), held))), None)
        return ([(at(pos[-1]), secret)] if len(pos) > 1 and secret else []), None
    # cp / mv / install / a hard ln: each destination holds what its source holds
    if base == "ln" and any(a and (a == "--symbolic" or (a.startswith("-") and not a.startswith("--") and "s" in a)) for a in args):
        return [], None
    target = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-t", "--target-directory")), None)
    target = target or next((a.split("=", 1)[1] for a in args if a and a.startswith("--target-directory=")), None)
    pos = positional(args, {"-m", "-o", "-g", "-t", "--mode", "--owner", "--group", "-S", "--suffix"})
    if target is not None:  # `cp -t DIR SRC…`: every operand is a source
        found = [
            (resolve(_join(at(target), posixpath.basename((a or "").rstrip("/")), run.home), links), s)
            for a in pos
            if (s := held_by(at(a), held))
        ]
        return found, None
    if len(pos) < 2:
        return [], None
    out = []
    writes = [p for op, p in cmd_writes(argv, run.home, cwd) if op == "add"]
    for src, dest in zip(pos[:-1], writes):
        secret = held_by(at(src), held)
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
    if any(a is not None and _ENVIRON.match(_join(cwd, a, home) or "") for a in args) or re.search(r"/proc/\S*/environ", cmd.text()):
        return any_secret
    return None


# --------------------------------------------------------------------------------------------
# What the check does not follow: the secret there may go anywhere (session 8, red team round 2)

# shell commands that can put what they read on stdin into a file the check cannot name (a program
# reading stdin, `./setup`, is like any program the RUN runs: what it does is its own, as in the
# original; these are the shell's own ways to a file)
_STDIN_WRITERS = {
    "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox", "read", "cp", "install", "mv", "tar", "gtar",
    "bsdtar", "cpio", "xargs", "parallel", "split", "sponge", "csplit",
}  # fmt: skip
# commands that may name a secret-holding file without copying it
_NAMES_ONLY = {
    "echo", "printf", "chmod", "chown", "chgrp", "ls", "stat", "test", "[", "touch", "mkdir", "wc", "md5sum",
    "sha1sum", "sha256sum", "sha512sum", "file", "du", "true", ":", "cd", "rm", "shred", "unlink", "rmdir",
    "npm", "npx", "yarn", "pnpm", "pip", "pip3", "poetry", "git", "docker", "aws", "huggingface-cli",
}  # fmt: skip
_FILE_NAMERS = {"xargs", "cpio", "parallel"}  # take file names on stdin and copy or run on them
# programs that create a file or directory named by an operand (or an of=, a template)
_NAMERS = {"touch", "mkdir", "ln", "mv", "cp", "install", "dd", "truncate", "mktemp", "mkfifo", "mknod", "fallocate", "tee", "split"}
# programs that run a command line or script given in their arguments
_RUNNERS = {"find", "xargs", "parallel", "su", "runuser", "flock", "script", "watch", "chroot", "setsid", "unshare", "nsenter"}
_GLOB = regex(r"[*?\[]")
NPM_LOG = "~/.npm/_logs"  # npm's debug log keeps every command's arguments (npm 11)


def held_by(path: str | None, held: dict[str, str]) -> str | None:
    """:func:`holder`, with a glob (``/root/.npm*``) matching any held file."""
    if path is None or not _GLOB.search(path):
        return holder(path, held)
    return next((s for p, s in held.items() if fnmatch.fnmatchcase(p, path) or fnmatch.fnmatchcase(p, path.rstrip("/") + "/*")), None)


def unfollowed(cmd, base: str, argv: list, args_paths: list, s_in, s_args, held: dict, run) -> str | None:
    """Why the secret may leave this command for a file the check cannot name: it is piped into a
    program whose use of stdin is unknown, a program other than a known reader is given a file
    holding it, a file is named after it, an output option or program writes it, npm logs it."""
    if s_in and (base in _STDIN_WRITERS or cmd.name in _STDIN_WRITERS):
        return f"whatever {base or 'the command'} does with it on its stdin"
    if held and base not in _NAMES_ONLY and base not in _PROPAGATE and base not in _COPIERS:
        for p in args_paths:
            if held_by(p, held):
                return f"whatever {base or 'the command'} does with {p}"
    if held and (base in _FILE_NAMERS or cmd.name in _FILE_NAMERS) and cmd.pipe_prev is not None:
        return f"whatever {base} does with the files named on its stdin"
    if s_args and base in _NAMERS:
        return "a file named after it"
    if s_args and (base in _RUNNERS or any(a and a.rsplit("/", 1)[-1] in _SHELLS for a in argv[1:])):
        return f"what {base or 'the command'} runs with it"  # find -exec sh -c "… $T …", su -c, xargs
    if s_args and base == "git" and ("GIT_CONFIG_GLOBAL" in run.env or any(n == "GIT_CONFIG_GLOBAL" for n, _v in cmd.assigns)):
        return "the git config GIT_CONFIG_GLOBAL names"
    secret_in = s_in or s_args or next((s for p in args_paths if (s := held_by(p, held))), None)
    if secret_in and base == "sort" and any(a and (a == "-o" or a.startswith(("-o", "--output"))) for a in argv[1:]):
        return "the file sort -o writes"
    if (
        secret_in
        and base in ("awk", "gawk", "mawk", "nawk", "sed")
        and any(a and (">" in a or re.search(r"(^|[;{}\s])[wW] ", a)) for a in argv[1:])
    ):
        return f"a file {base}'s program writes"
    if base == "npm" and any(a in ("--location=project", "project") for a in argv[1:]) and s_args:
        return "the project's .npmrc"
    if base == "npm" and s_args and any(k.lower() == "npm_config_userconfig" for k in run.env):
        return "the npm user config NPM_CONFIG_USERCONFIG names"
    if s_args and base in ("npm", "npx"):
        return NPM_LOG
    return None


def reassigned(script) -> set[str]:
    """Variables the script assigns after its leading assignments (``F=a; … F=b; rm $F``): their
    value at a later command is not the one the check knows."""
    later = {n for cmd in script.cmds[script.prefix :] for n, _v in cmd.assigns}
    return later | ({"HOME"} if any(n == "HOME" for cmd in script.cmds for n, _v in cmd.assigns) else set())

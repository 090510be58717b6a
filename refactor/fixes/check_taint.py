"""What carries the secret in a command's words, for the rewrite check's reach
(:mod:`refactor.fixes.check_reach`): a variable holding it (``$T``, ``$1``, ``${X:=$T}``), a ``$(…)``
reading a file that holds it or printing the environment, ``NAME=value`` words handed to a nested
shell, and the words whose file the check cannot name (``..``) or whose remote it must match."""

from __future__ import annotations

from refactor.codecache import regex
from refactor.fixes.check_effects import _cat_path
from refactor.fixes.check_leaks import _DECLARE_DUMPS
from refactor.fixes.check_values import _join


def _taint(node, src: bytes, tainted: dict, spaths: dict, cwd, home) -> str | None:
    stack = [node]
    while stack:
        n = stack.pop()
        if (
            n.type in ("variable_name", "special_variable_name")
            and n.parent is not None
            and n.parent.type in ("simple_expansion", "expansion")
        ):
            s = tainted.get(_positional(n.text.decode("utf-8", "replace")))
            if s:
                return s
        elif n.type == "command_substitution":
            p = _join(cwd, _cat_path(n, src), home)
            if p in spaths:
                return spaths[p]
            if tainted and _prints_env(n):  # X=$(env | sed …): the environment, the secret in it
                return next(iter(tainted.values()))
        stack.extend(n.children)
    return None


_ENV_PRINTERS = _DECLARE_DUMPS | {"env", "printenv", "set", "alias"}  # what check_leaks.dump judges, by name


def _prints_env(node) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "command_name" and n.text.decode("utf-8", "replace").rsplit("/", 1)[-1] in _ENV_PRINTERS:
            return True
        if n.type in ("word", "string", "raw_string") and b"/environ" in (n.text or b""):
            return True
        stack.extend(n.children)
    return False


_WORD_ASSIGN = regex(r"[A-Za-z_][A-Za-z0-9_]*=")


def _word_assigns(cmd) -> list:
    """``NAME=value`` words of a command (``env T=$S sh -c …``): (NAME, the word node)."""
    out = []
    for w in cmd.words:
        m = _WORD_ASSIGN.match(cmd.text(w))
        if m:
            out.append((m.group(0)[:-1], w))
    return out


def _remote_of(rest: list) -> str | None:
    """The remote a ``git clone`` names (``-o NAME``, ``--origin``, ``-c clone.defaultRemoteName``;
    ``origin`` when none does), None when a word is computed."""
    name, conf = None, None
    for k, a in enumerate(rest):
        nxt = rest[k + 1] if k + 1 < len(rest) else None
        if a is None:  # (the URL, the directory: computed words the options do not depend on)
            continue
        if a in ("-o", "--origin"):
            if nxt is None:
                return None
            name = nxt
        elif a.startswith("--origin="):
            name = a.split("=", 1)[1]
        elif a.startswith("-o") and not a.startswith("--"):
            name = a[2:]
        elif a in ("-c", "--config") or a.startswith("--config="):
            kv = nxt if a in ("-c", "--config") else a.split("=", 1)[1]
            if kv is None:
                return None
            if kv.lower().startswith("clone.defaultremotename="):
                conf = kv.split("=", 1)[1]
    return name or conf or "origin"


def _dotdot(raw: str | None) -> bool:
    """A path through ``..``: the kernel resolves it after any symbolic link before it, the check
    lexically, so the file it names is not known."""
    return raw is not None and ".." in raw.split("/")


def _positional(name: str) -> str:
    """``$1``, ``$@``, ``$*`` are one name to the check: ``@``, the positional parameters."""
    return "@" if name.isdigit() or name in ("@", "*") else name

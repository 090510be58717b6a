"""Simple commands out of shell tokens, and the scope they set.

:func:`commands` groups a lexer's words into simple commands (keywords, prefix assignments and
wrappers such as ``sudo``/``env`` set apart from the command proper, command substitutions
included); :func:`scope_of` tells which shell variables are certainly exported where they run.
"""

from __future__ import annotations

from dataclasses import field

from refactor.codecache import regex
from refactor.records import dataclass

from .shell_lex import Lexer
from .shell_words import IDENT, Word

_ASSIGN = regex(r"([A-Za-z_][A-Za-z0-9_]*)\+?=")


# ------------------------------------------------------------------------------------------
# Simple commands

KEYWORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "time", "fi", "done"})
WRAPPERS = frozenset({"exec", "command", "nohup", "builtin", "time", "nice", "timeout", "stdbuf", "env", "sudo", "doas"})
_SUDO_VALUE_OPTS = frozenset(
    {
        "-u",
        "-g",
        "-C",
        "-h",
        "-p",
        "-U",
        "-r",
        "-t",
        "-T",
        "-D",
        "--user",
        "--group",
        "--host",
        "--prompt",
        "--role",
        "--type",
        "--chdir",
        "--close-from",
        "--other-user",
    }
)


@dataclass
class Cmd:
    words: list[Word]
    assigns: list[Word]
    argv: list[Word]  # the command proper (after keywords, assignments and wrappers)
    wrappers: list[str]
    prefix_at: int  # decoded index where a prefix assignment goes
    start: int
    end: int


def commands(lexer: Lexer, start: int = 0, end: int | None = None, _depth: int = 0) -> list[Cmd]:
    toks = lexer.tokens(start, end)
    out: list[Cmd] = []
    cur: list[Word] = []

    def close() -> None:
        nonlocal cur
        if cur:
            c = _make_cmd(cur)
            if c is not None:
                out.append(c)
        cur = []

    for t in toks:
        if t.kind in ("op", "nl"):
            close()
        elif t.kind == "word" and t.word is not None:
            cur.append(t.word)
        # redirections (and their targets) are not arguments
    close()
    # command substitutions hold commands too: IMAGE=$(docker build -q …)
    if _depth < 4:
        subs: list[Cmd] = []
        for t in toks:
            words = [t.word] if t.word is not None else []
            for w in words:
                for sg in w.segs:
                    if sg.kind == "exp" and sg.flavor == "cmd" and sg.text.startswith(("$(", "$$(")) and not sg.text.startswith("$(("):
                        a = sg.start + sg.text.index("(") + 1
                        subs.extend(commands(lexer, a, max(a, sg.end - 1), _depth + 1))
        out.extend(subs)
    return out


def _make_cmd(words: list[Word]) -> Cmd | None:
    k = 0
    while k < len(words) and words[k].static and words[k].cooked in KEYWORDS:
        k += 1
    first = k
    assigns = []
    while k < len(words) and _is_assignment(words[k]):
        assigns.append(words[k])
        k += 1
    wrappers: list[str] = []
    prefix_at = words[first].start if first < len(words) else (words[-1].end if words else 0)
    while k < len(words):
        w = words[k].cooked if words[k].static else ""
        base = w.rsplit("/", 1)[-1]
        if base not in WRAPPERS:
            break
        wrappers.append(base)
        k += 1
        if base in ("sudo", "doas"):
            while k < len(words) and words[k].cooked.startswith("-"):
                opt = words[k].cooked
                k += 1
                if opt in _SUDO_VALUE_OPTS and k < len(words):
                    k += 1
            prefix_at = words[k].start if k < len(words) else prefix_at
        elif base == "env":
            while k < len(words) and (words[k].cooked.startswith("-") or _is_assignment(words[k])):
                k += 1
        elif base in ("nice", "timeout", "stdbuf"):
            while k < len(words) and words[k].cooked.startswith("-"):
                k += 1
            if base == "timeout" and k < len(words):
                k += 1
        elif base == "command":
            while k < len(words) and words[k].cooked in ("-p", "-v", "-V"):
                k += 1
    if not words:
        return None
    return Cmd(words, assigns, words[k:], wrappers, prefix_at, words[0].start, words[-1].end)


def _is_assignment(w: Word) -> bool:
    if not w.segs or w.segs[0].kind != "lit":
        return False
    return _ASSIGN.match(w.segs[0].text) is not None


# ------------------------------------------------------------------------------------------
# Scope: which shell variables are certainly exported


@dataclass
class Scope:
    assigned: set[str] = field(default_factory=set)
    exported: set[str] = field(default_factory=set)
    uncertain: bool = False  # the script sources or evals something

    def certain_env(self, name: str) -> bool:
        return name in self.exported or (name not in self.assigned and not self.uncertain)


def scope_of(cmds: list[Cmd], scope: Scope | None = None) -> Scope:
    sc = scope or Scope()
    allexport = False
    for c in cmds:
        if not c.argv and c.assigns and not c.wrappers:
            for a in c.assigns:
                m = _ASSIGN.match(a.segs[0].text)
                if m:
                    sc.assigned.add(m.group(1))
            continue
        if not c.argv:
            continue
        w0 = c.argv[0].cooked if c.argv[0].static else ""
        rest = [w.cooked for w in c.argv[1:]]
        names = [m.group(0) for r in rest if (m := IDENT.match(r)) and not r.startswith("-")]
        if w0 == "export" or (w0 in ("declare", "typeset") and any(r.startswith("-") and "x" in r for r in rest)):
            sc.exported.update(names)
        elif w0 in ("local", "declare", "typeset", "readonly", "read", "getopts", "mapfile", "readarray", "for", "select"):
            if w0 == "getopts":
                names = names[1:2]
            elif w0 in ("for", "select"):
                names = names[:1]
            sc.assigned.update(names)
        elif w0 in ("source", ".", "eval"):
            sc.uncertain = True
        elif w0 == "set" and any(r.startswith("-") and "a" in r[1:] and not r.startswith("--") for r in rest):
            allexport = True
    if allexport:
        sc.exported |= sc.assigned
    return sc

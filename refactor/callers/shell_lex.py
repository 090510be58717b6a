"""The shell lexer: host-flavoured shell text (sh, make, just, gh, groovy, pyf) into tokens.

Small but lossless enough for edits: every word keeps its segments with the decoded position of
each character, so a ``--build-arg`` occurrence maps to an exact source span. Each host's own
expansion syntax (``$(X)`` in make, ``{{x}}`` in just, ``${{ … }}`` in GitHub Actions, Groovy
``${…}``, Python f-string ``{…}``) is one lexer flavour here.
"""

from __future__ import annotations

import re

from refactor.codecache import regex

from .shell_words import IDENT, Seg, Tok, View, Word

_REDIR = regex(r"\d*(<<-|<<<|<<|>>|>&|<&|>\||&>>|&>|<>|>|<)")
_OPS = ("&&", "||", ";;", "|&", ";", "&", "|", "(", ")")


def _match(s: str, i: int, end: int, open_: str, close: str) -> int:
    """Index after the bracket closing the one at ``i`` (quotes skipped); ``end`` if unbalanced."""
    depth = 0
    k = i
    while k < end:
        c = s[k]
        if c == "\\":
            k += 2
            continue
        if c == "'" and open_ == "(":
            j = s.find("'", k + 1, end)
            k = end if j < 0 else j + 1
            continue
        if c == '"':
            j = k + 1
            while j < end and s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            k = j + 1
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return k + 1
        k += 1
    return end


class Lexer:
    def __init__(self, view: View, flavor: str = "sh") -> None:
        self.v = view
        self.s = view.text
        self.flavor = flavor  # sh | make | just | gh | groovy

    # -- expansions -----------------------------------------------------------------------
    def _exp(self, i: int, end: int, quote: str) -> Seg | None:
        s = self.s
        if s[i] == "`":
            j = i + 1
            while j < end and s[j] != "`":
                j += 2 if s[j] == "\\" else 1
            j = min(j + 1, end)
            return Seg("exp", i, j, s[i:j], list(range(i, j)), "cmd", quote)
        nxt = s[i + 1] if i + 1 < end else ""
        if i in self.v.groovy:
            if nxt == "{":
                j = _match(s, i + 1, end, "{", "}")
            else:
                m = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*").match(s, i, end)
                j = m.end() if m else i + 1
            return Seg("exp", i, j, s[i:j], list(range(i, j)), "groovy", quote)
        if s.startswith("${{", i):
            j = s.find("}}", i + 3, end)
            j = end if j < 0 else j + 2
            return Seg("exp", i, j, s[i:j], list(range(i, j)), "gh", quote)
        if self.flavor == "make":
            if nxt == "$":
                k = i + 2
                if k < end and s[k] == "{":
                    j = _match(s, k, end, "{", "}")
                elif k < end and s[k] == "(":
                    j = _match(s, k, end, "(", ")")
                    return Seg("exp", i, j, s[i:j], list(range(i, j)), "cmd", quote)
                else:
                    m = IDENT.match(s, k, end)
                    j = m.end() if m else k
                return Seg("exp", i, j, s[i:j], list(range(i, j)), "sh", quote)
            if nxt in "({":
                j = _match(s, i + 1, end, nxt, ")" if nxt == "(" else "}")
                return Seg("exp", i, j, s[i:j], list(range(i, j)), "make", quote)
            if nxt:
                return Seg("exp", i, i + 2, s[i : i + 2], [i, i + 1], "make", quote)
            return None
        if nxt == "(":
            j = _match(s, i + 1, end, "(", ")")
            return Seg("exp", i, j, s[i:j], list(range(i, j)), "cmd", quote)
        if nxt == "{":
            j = _match(s, i + 1, end, "{", "}")
            return Seg("exp", i, j, s[i:j], list(range(i, j)), "sh", quote)
        m = IDENT.match(s, i + 1, end)
        if m:
            return Seg("exp", i, m.end(), s[i : m.end()], list(range(i, m.end())), "sh", quote)
        if nxt and nxt in "0123456789@*#?$!-":
            return Seg("exp", i, i + 2, s[i : i + 2], [i, i + 1], "sh", quote)
        return None

    # -- words ----------------------------------------------------------------------------
    def _word(self, i: int, end: int) -> tuple[Word, int]:
        s = self.s
        segs: list[Seg] = []
        start = i
        lit: list[str] = []
        litpos: list[int] = []
        litkind = "lit"
        e: Seg | None

        def flush(kind: str = "lit", quote: str = "") -> None:
            nonlocal lit, litpos
            if litpos:
                segs.append(Seg(kind, litpos[0], litpos[-1] + 1, "".join(lit), litpos, "", quote))
            lit, litpos = [], []

        while i < end:
            c = s[i]
            if c in " \t\n" or (c == "\r" and s.startswith("\n", i + 1)) or (self.v.fold and c in "\r\n"):
                break
            if c in ";&|()<>":
                break
            if c == "\\":
                if s.startswith("\n", i + 1):
                    i += 2
                    continue
                if s.startswith("\r\n", i + 1):
                    i += 3
                    continue
                if i + 1 < end:
                    lit.append(s[i + 1])
                    litpos.append(i + 1)
                    i += 2
                else:
                    lit.append(c)
                    litpos.append(i)
                    i += 1
                continue
            if c == "'":
                flush(litkind)
                j = s.find("'", i + 1, end)
                j = end if j < 0 else j
                segs.append(Seg("sq", i, min(j + 1, end), s[i + 1 : j], list(range(i + 1, j)), "", "'"))
                i = j + 1
                continue
            if c == '"':
                flush(litkind)
                before = len(segs)
                k = i + 1
                while k < end and s[k] != '"':
                    ch = s[k]
                    if ch == "\\" and k + 1 < end and s[k + 1] in '$`"\\\n':
                        if s[k + 1] != "\n":
                            lit.append(s[k + 1])
                            litpos.append(k + 1)
                        k += 2
                        continue
                    if self.flavor == "pyf" and ch in "{}":
                        if s.startswith(ch * 2, k):
                            lit.append(ch)
                            litpos.append(k)
                            k += 2
                            continue
                        if ch == "{":
                            flush("dq", '"')
                            e = self._pyf(k, end, '"')
                            segs.append(e)
                            k = e.end
                            continue
                    if ch in "$`" or (self.flavor == "just" and s.startswith("{{", k)):
                        e = self._exp(k, end, '"') if ch in "$`" else self._just(k, end, '"')
                        if e is not None:
                            flush("dq", '"')
                            segs.append(e)
                            k = e.end
                            continue
                    lit.append(ch)
                    litpos.append(k)
                    k += 1
                flush("dq", '"')
                if len(segs) == before:  # "" still separates and quotes
                    segs.append(Seg("dq", i, min(k + 1, end), "", [], "", '"'))
                i = k + 1
                continue
            if c in "$`":
                e = self._exp(i, end, "")
                if e is not None:
                    flush(litkind)
                    segs.append(e)
                    i = e.end
                    continue
            if self.flavor == "just" and s.startswith("{{", i):
                flush(litkind)
                e = self._just(i, end, "")
                segs.append(e)
                i = e.end
                continue
            if self.flavor == "pyf" and c in "{}":
                if s.startswith(c * 2, i):
                    lit.append(c)
                    litpos.append(i)
                    i += 2
                    continue
                if c == "{":
                    flush(litkind)
                    e = self._pyf(i, end, "")
                    segs.append(e)
                    i = e.end
                    continue
            lit.append(c)
            litpos.append(i)
            i += 1
        flush(litkind)
        return Word(start, min(i, end), segs), i

    def _pyf(self, i: int, end: int, quote: str) -> Seg:
        j = _match(self.s, i, end, "{", "}")
        return Seg("exp", i, j, self.s[i:j], list(range(i, j)), "pyf", quote)

    def _just(self, i: int, end: int, quote: str) -> Seg:
        j = self.s.find("}}", i + 2, end)
        j = end if j < 0 else j + 2
        return Seg("exp", i, j, self.s[i:j], list(range(i, j)), "just", quote)

    # -- tokens ---------------------------------------------------------------------------
    def tokens(self, start: int = 0, end: int | None = None) -> list[Tok]:
        s = self.s
        end = len(s) if end is None else end
        out: list[Tok] = []
        pending: list[str] = []
        i = start
        while i < end:
            c = s[i]
            if c in " \t" or (self.v.fold and c in "\r\n"):
                i += 1
                continue
            if c == "\\" and s.startswith("\n", i + 1):
                i += 2
                continue
            if c == "\\" and s.startswith("\r\n", i + 1):
                i += 3
                continue
            if c == "\r" and s.startswith("\n", i + 1):
                i += 1
                continue
            if c == "\n":
                out.append(Tok("nl", i, i + 1))
                i += 1
                if pending:
                    i = self._skip_heredocs(i, end, pending)
                    pending = []
                continue
            if c == "#":
                j = s.find("\n", i, end)
                i = end if j < 0 else j
                continue
            m = _REDIR.match(s, i, end)
            if m and (c in "<>&" or m.group(0)[0].isdigit()):
                op = m.group(1)
                i = m.end()
                while i < end and s[i] in " \t":
                    i += 1
                w = None
                if i < end and s[i] not in "\n;&|()":
                    w, i = self._word(i, end)
                if op in ("<<", "<<-") and w is not None:
                    pending.append(w.cooked)
                out.append(Tok("redir", m.start(), i, op, w))
                continue
            op = next((o for o in _OPS if s.startswith(o, i)), None)
            if op is not None:
                out.append(Tok("op", i, i + len(op), op))
                i += len(op)
                continue
            w, j = self._word(i, end)
            if j == i:  # defensive: never loop
                j = i + 1
            out.append(Tok("word", i, j, s[i:j], w))
            i = j
        return out

    def _skip_heredocs(self, i: int, end: int, delims: list[str]) -> int:
        s = self.s
        for d in delims:
            while i < end:
                j = s.find("\n", i, end)
                line_end = end if j < 0 else j
                line = s[i:line_end].strip()
                i = end if j < 0 else j + 1
                if line == d:
                    break
        return i

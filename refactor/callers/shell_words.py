"""The shell text a lexer reads, and the words it yields.

A :class:`View` is shell text as the shell sees it (host escapes decoded), with a map back to
source offsets and an encoder for text written back into the host's quoting; :class:`Seg`,
:class:`Word` and :class:`Tok` are what :class:`refactor.callers.shell_lex.Lexer` makes of it: words
keep their segments (unquoted, '…', "…", expansions) with the decoded position of every character.
"""

from __future__ import annotations

from refactor.codecache import regex
from refactor.records import dataclass

IDENT = regex(r"[A-Za-z_][A-Za-z0-9_]*")


# ------------------------------------------------------------------------------------------
# Views


class View:
    """Decoded shell text over a host file; ``src(i)`` maps a decoded index to a source offset."""

    __slots__ = ("base", "enc", "fold", "groovy", "map", "text")

    def __init__(
        self,
        text: str,
        base: int = 0,
        map: list[int] | None = None,
        enc: str = "raw",
        fold: bool = False,
        groovy: frozenset[int] = frozenset(),
    ) -> None:
        self.text = text
        self.base = base
        self.map = map
        self.enc = enc
        self.fold = fold  # newlines are plain whitespace (YAML folded and multi-line plain scalars)
        self.groovy = groovy  # decoded indices of '$' that start a Groovy interpolation

    def src(self, i: int) -> int:
        return self.base + i if self.map is None else self.map[i]

    def encode(self, s: str) -> str:
        return encode(s, self.enc)


def encode(s: str, enc: str) -> str:
    """Text written into the host's string syntax (only dfix's own text goes through this)."""
    if enc == "raw":
        return s
    if enc == "yaml-dq":
        return s.replace("\\", "\\\\").replace('"', '\\"')
    if enc == "yaml-sq":
        return s.replace("'", "''")
    if enc == "groovy-sq":
        return s.replace("\\", "\\\\").replace("'", "\\'")
    if enc == "groovy-dq":
        return s.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    if enc == "groovy-tdq":
        return s.replace("\\", "\\\\").replace("$", "\\$")
    if enc == "groovy-tsq":
        return s.replace("\\", "\\\\")
    if enc in ("py-sq", "py-dq", "pyf-sq", "pyf-dq"):
        q = "'" if enc.endswith("sq") else '"'
        out = s.replace("\\", "\\\\").replace(q, "\\" + q)
        if enc.startswith("pyf"):
            out = out.replace("{", "{{").replace("}", "}}")
        return out
    raise ValueError(enc)


@dataclass
class Seg:
    kind: str  # "lit" unquoted | "sq" '…' | "dq" literal inside "…" | "exp" an expansion
    start: int  # decoded span of the raw text
    end: int
    text: str  # cooked text; for "exp" the raw expansion text
    pos: list[int]  # decoded index of each cooked character
    flavor: str = ""  # exp: sh | make | gh | just | groovy | cmd
    quote: str = ""  # '"' when inside double quotes, "'" for sq


@dataclass
class Word:
    start: int
    end: int
    segs: list[Seg]

    @property
    def cooked(self) -> str:
        return "".join(s.text for s in self.segs)

    @property
    def static(self) -> bool:
        return all(s.kind != "exp" for s in self.segs)

    def literal_prefix(self) -> str:
        """Cooked text up to the first expansion."""
        out = []
        for s in self.segs:
            if s.kind == "exp":
                break
            out.append(s.text)
        return "".join(out)

    def split_at(self, k: int) -> tuple[list[Seg], int, str]:
        """Segments of the cooked text from ``k`` on, the decoded index where that text starts in
        the raw word, and the quote it starts inside ('"', "'" or '')."""
        n = 0
        for idx, s in enumerate(self.segs):
            ln = len(s.text)
            if k < n + ln:
                off = k - n
                if s.kind == "exp":
                    return self.segs[idx:], s.start, s.quote
                first = Seg(s.kind, s.pos[off], s.end, s.text[off:], s.pos[off:], s.flavor, s.quote)
                return [first] + self.segs[idx + 1 :], s.pos[off], s.quote
            n += ln
        return [], self.end, ""


@dataclass
class Tok:
    kind: str  # word | op | nl | redir
    start: int
    end: int
    text: str = ""
    word: Word | None = None

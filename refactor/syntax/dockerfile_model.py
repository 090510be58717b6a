"""The records of the lossless Dockerfile model: :class:`ParseError` (whose shown message never quotes
a long word), comments, parser directives, logical lines, flags, heredocs, commands,
:class:`Instruction` and :class:`Dockerfile`, each with the exact text offsets of its parts, and
BuildKit's constants (Go's white space, the valid directives, the longest line).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import field

from refactor.codecache import regex
from refactor.records import dataclass
from refactor.source import SourceFile

# Go's unicode.IsSpace, which BuildKit uses to trim leading whitespace.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_DIRECTIVE_KEY_RE = regex(r"([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=")
_DIRECTIVE_WS = "\t\n\f\r "
_HEREDOC_WORD_RE = regex(r"(\d*)<<(-?)([^<]*)\Z", re.S)
_WS_SPLIT_RE = regex(r"[\t\v\f\r ]+")
VALID_DIRECTIVES = ("syntax", "escape", "check")
MAX_LINE = 65536  # bufio.MaxScanTokenSize: longest line content BuildKit's scanner accepts (measured)
HEREDOC_COMMANDS = frozenset({"add", "copy", "run"})


class ParseError(Exception):
    """The file is not a Dockerfile BuildKit would accept. ``line`` is 1-based."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message

    def shown(self) -> str:
        """The message as dfix prints it: BuildKit's messages quote the offending word, which can
        be a secret (`ENV TOKEN= ghp_…` with a stray space), so quoted words are described, not
        shown: ``"<40 chars>"``. Short quoted words (an instruction name) stay."""
        return _QUOTED.sub(
            lambda m: m.group(0) if len(m.group(1)) < 8 and not any(c.isdigit() for c in m.group(1)) else f'"<{len(m.group(1))} chars>"',
            str(self),
        )


_INF = float("inf")
_QUOTED = regex(r'"([^"\n]*)"')


@dataclass(frozen=True, slots=True)
class Comment:
    start: int  # offset of the line start
    end: int  # offset after the line ending
    text: str  # the comment without '#' and surrounding whitespace
    line: int


@dataclass(frozen=True, slots=True)
class Directive:
    name: str  # lower-case: syntax | escape | check
    value: str
    line: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Logical:
    """An instruction's joined line (continuations and comment lines removed) with a map back to
    source offsets. ``pieces`` holds ``(logical_start, source_start)`` for each physical segment."""

    text: str
    pieces: tuple[tuple[int, int], ...]

    def to_source_end(self, i: int) -> int:
        """Source offset just after logical index ``i - 1`` (for exclusive span ends)."""
        return self.to_source(i - 1) + 1 if i > 0 else self.to_source(0)

    def to_source(self, i: int) -> int:
        """Source offset of logical index ``i`` (``i == len(text)`` maps past the last char)."""
        pieces = self.pieces
        if i >= len(self.text):
            lstart, sstart = pieces[-1]
            return sstart + (len(self.text) - lstart)
        if len(pieces) == 1:  # (one physical line: most instructions)
            lstart, sstart = pieces[0]
            return sstart + (i - lstart)
        k = bisect.bisect_right(pieces, (i, _INF)) - 1
        lstart, sstart = pieces[k]
        return sstart + (i - lstart)


@dataclass(frozen=True, slots=True)
class Flag:
    name: str  # lower-case, without dashes: "mount"
    value: str | None  # the value as BuildKit sees it (quotes and escapes processed)
    word: str  # the processed flag word: "--mount=type=cache,target=/x"
    start: int  # source offsets of the raw word
    end: int


@dataclass(frozen=True, slots=True)
class Heredoc:
    name: str
    expand: bool
    chomp: bool
    fd: int
    body_start: int  # source offsets of the body (terminator line excluded)
    body_end: int
    end: int  # offset after the terminator line


@dataclass(frozen=True, slots=True)
class Command:
    """The keyword/flags/arguments part of an instruction (also used for ONBUILD's inner command)."""

    keyword: str  # as written
    cmd: str  # lower-case
    kw_start: int  # source offsets of the keyword
    kw_end: int
    flags: tuple[Flag, ...]
    args: str  # logical argument text after the flags, stripped (BuildKit's "args")
    args_lstart: int  # logical index where ``args`` starts (len(logical) when empty)
    args_start: int  # source offset where ``args`` starts (kw_end when empty)


@dataclass(frozen=True, slots=True)
class Instruction:
    command: Command
    start: int  # offset of the first physical line
    end: int  # offset after the last physical line (heredoc terminators included)
    start_line: int  # 1-based, inclusive
    end_line: int
    logical: Logical
    heredocs: tuple[Heredoc, ...] = ()
    sub: Command | None = None  # ONBUILD's wrapped command
    comments: tuple[Comment, ...] = ()  # contiguous comment lines directly above
    empty_continuation: bool = False

    # Convenience views -----------------------------------------------------------------------
    @property
    def cmd(self) -> str:
        return self.command.cmd

    @property
    def keyword(self) -> str:
        return self.command.keyword

    @property
    def flags(self) -> tuple[Flag, ...]:
        return self.command.flags

    @property
    def args(self) -> str:
        return self.command.args

    @property
    def effective(self) -> Command:
        """The command that runs: ONBUILD's inner command, else the instruction's own."""
        return self.sub if self.sub is not None else self.command

    @property
    def logical_end(self) -> int:
        """Source offset just after the instruction line (before heredoc bodies)."""
        return self.logical.to_source_end(len(self.logical.text))


@dataclass(frozen=True)
class Dockerfile:
    source: SourceFile
    escape: str
    directives: tuple[Directive, ...]
    instructions: tuple[Instruction, ...]
    comments: tuple[Comment, ...]  # every comment line, standalone or inside a continuation
    warnings: tuple[str, ...] = ()
    _extra: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def text(self) -> str:
        return self.source.text

    @property
    def directives_end(self) -> int:
        """Nothing may be inserted before this offset: text above a directive disables it."""
        return max((d.end for d in self.directives), default=0)

    def directive(self, name: str) -> Directive | None:
        for d in self.directives:
            if d.name == name:
                return d
        return None

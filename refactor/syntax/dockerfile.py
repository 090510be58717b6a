"""A lossless Dockerfile model that follows BuildKit's line rules.

This module owns the *span layer*: every instruction knows the exact text offsets of its keyword,
flags, arguments, heredoc bodies and the comments around it. It ports the line loop of BuildKit's
``frontend/dockerfile/parser`` (BOM, parser directives in any order, the escape-aware continuation
regex, comment and empty lines inside continuations, heredoc detection). It never rewrites text;
edits are splices computed elsewhere against these offsets.

dockerfile-parse is used as a cross-check in tests only (it has no heredoc support and gets empty
continuation lines, BOMs and ``# check`` before ``# escape`` wrong).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from refactor.source import SourceFile

# Go's unicode.IsSpace, which BuildKit uses to trim leading whitespace.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_DIRECTIVE_KEY_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=")
_DIRECTIVE_WS = "\t\n\f\r "
_HEREDOC_WORD_RE = re.compile(r"(\d*)<<(-?)([^<]*)\Z", re.S)
_WS_SPLIT_RE = re.compile(r"[\t\v\f\r ]+")
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


_QUOTED = re.compile(r'"([^"\n]*)"')


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
        if i >= len(self.text):
            lstart, sstart = self.pieces[-1]
            return sstart + (len(self.text) - lstart)
        k = bisect.bisect_right(self.pieces, (i, float("inf"))) - 1
        lstart, sstart = self.pieces[k]
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


# --------------------------------------------------------------------------------------------
# The scanner


def _go_lstrip(s: str) -> str:
    return s.lstrip(GO_SPACE)


def _trim_newline(s: str) -> str:
    return s.rstrip("\r\n")


def _continuation_cut(content: str, escape: str) -> int | None:
    """If ``content`` ends in a line continuation, the index where the kept text ends."""
    stripped = content.rstrip(" \t")
    if not stripped.endswith(escape):
        return None
    pos = len(stripped) - 1
    if pos == 0:
        return 0
    if stripped[pos - 1] == escape:  # an escaped escape is not a continuation
        return None
    return pos


def _directive(text: str) -> tuple[str, str] | None:
    r"""``(key, value)`` as BuildKit's ``^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`` reads a
    comment, or None. As one regex (``…=[ws]*(.+?)[ws]*\Z``) the lazy value retried the trailing
    blanks from every character: ``# escape=a`` + 48 KB of spaces + ``b`` took seconds."""
    m = _DIRECTIVE_KEY_RE.match(text)
    if m is None:
        return None
    rest = text[m.end() :]
    core = rest.lstrip(_DIRECTIVE_WS)
    if core:
        return m.group(1), core.rstrip(_DIRECTIVE_WS)
    if rest:  # only blanks: the lazy value takes the last one
        return m.group(1), rest[-1]
    return None


class _DirectiveState:
    __slots__ = ("done", "escape", "seen")

    def __init__(self) -> None:
        self.done = False
        self.seen: set[str] = set()
        self.escape = "\\"

    def feed(self, token: str, line: int, start: int, end: int) -> Directive | None:
        if self.done:
            return None
        if not token.startswith("#"):
            self.done = True
            return None
        m = _directive(_go_lstrip(token[1:]))
        if not m:
            self.done = True
            return None
        key = m[0].lower()
        if key not in VALID_DIRECTIVES:
            self.done = True
            return None
        if key in self.seen:
            raise ParseError(f"only one {key} parser directive can be used", line)
        self.seen.add(key)
        value = m[1]
        if key == "escape":
            if value not in ("\\", "`"):
                raise ParseError(f"invalid escape token '{value}' does not match ` or \\", line)
            self.escape = value
        return Directive(key, value, line, start, end)


def shell_words(line: str) -> list[tuple[str, int, int]]:
    """Split like BuildKit's shell lexer with raw quotes and escapes: ``(word, start, end)``."""
    words: list[tuple[str, int, int]] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] in " \t\r\n\v\f":
            i += 1
        if i >= n:
            break
        start = i
        quote = ""
        while i < n:
            ch = line[i]
            if quote:
                if ch == "\\" and quote == '"' and i + 1 < n:
                    i += 2
                    continue
                if ch == quote:
                    quote = ""
            elif ch in "'\"":
                quote = ch
            elif ch == "\\" and i + 1 < n:
                i += 2
                continue
            elif ch in " \t\r\n\v\f":
                break
            i += 1
        words.append((line[start:i], start, i))
    return words


def _unquote_word(word: str) -> tuple[str, int]:
    """Remove shell quotes and escapes; return (text, number of quote characters removed)."""
    out: list[str] = []
    quote = ""
    removed = 0
    i, n = 0, len(word)
    while i < n:
        ch = word[i]
        if quote == "'":
            if ch == "'":
                quote = ""
                removed += 1
            else:
                out.append(ch)
        elif quote == '"':
            if ch == '"':
                quote = ""
                removed += 1
            elif ch == "\\" and i + 1 < n and word[i + 1] in '"\\$`':
                out.append(word[i + 1])
                i += 1
            else:
                out.append(ch)
        elif ch in "'\"":
            quote = ch
            removed += 1
        elif ch == "\\" and i + 1 < n:
            out.append(word[i + 1])
            i += 1
        else:
            out.append(ch)
        i += 1
    return "".join(out), removed


def heredoc_words(line: str) -> list[tuple[str, bool, bool, int]]:
    """Heredocs opened on a logical line: ``(name, expand, chomp, fd)`` (BuildKit's rules)."""
    docs: list[tuple[str, bool, bool, int]] = []
    if "<<" not in line:
        return docs
    for word, _s, _e in shell_words(line):
        m = _HEREDOC_WORD_RE.match(word)
        if not m or not m.group(3):
            continue
        rest = m.group(3)
        if len(shell_words(rest)) != 1:
            continue
        name, removed = _unquote_word(rest)
        raw_quotes = rest.count("'") + rest.count('"')
        expand = (name.count("'") + name.count('"')) == raw_quotes and removed == 0
        docs.append((name, expand, m.group(2) == "-", int(m.group(1) or 0)))
    return docs


_GO_BYTE_SPACE = frozenset(b"\t\n\v\f\r \x85\xa0")  # unicode.IsSpace(rune(b)) for a byte b


def scan_flag_words(b: bytes) -> tuple[list[tuple[bytes, int, int]], int | None]:
    """Port of BuildKit's extractBuilderFlags over the Go bytes of a trimmed line.

    Returns the flag words as BuildKit builds them (quotes and ``\\`` escapes processed, each
    byte kept as is) with the byte span of each raw word, and the byte offset where the remaining
    arguments begin (None when the flags use up the line). BuildKit walks byte by byte: the bytes
    0x85 and 0xA0 count as spaces (also inside a UTF-8 sequence), the escape character is always
    ``\\``, and a ``\\`` ending the line is dropped. The one implementation behind both
    :func:`_extract_flags` (character spans, for edits) and ``buildkit.split_command`` (BuildKit's
    AST).
    """
    n = len(b)
    words: list[tuple[bytes, int, int]] = []
    in_spaces, in_word, in_quote = 0, 1, 2
    phase = in_spaces
    word = bytearray()
    quote = 0
    blank_ok = False
    start = 0
    pos = 0
    while pos <= n:
        ch = b[pos] if pos < n else 0
        if phase == in_spaces:
            if pos == n:
                break
            if ch in _GO_BYTE_SPACE:
                pos += 1
                continue
            if ch != 0x2D or pos + 1 == n or b[pos + 1] != 0x2D:  # the next word is not a --flag
                return words, pos
            phase = in_word
            start = pos
        if pos == n:
            if word != b"--" and (blank_ok or word):
                words.append((bytes(word), start, pos))
            break
        if phase == in_word:
            if ch in _GO_BYTE_SPACE:
                phase = in_spaces
                if word == b"--":
                    return words, pos
                if blank_ok or word:
                    words.append((bytes(word), start, pos))
                word = bytearray()
                blank_ok = False
                pos += 1
                continue
            if ch in (0x27, 0x22):  # ' "
                quote = ch
                blank_ok = True
                phase = in_quote
                pos += 1
                continue
            if ch == 0x5C:  # backslash
                if pos + 1 == n:  # a backslash ending the line is dropped
                    pos += 1
                    continue
                pos += 1
                ch = b[pos]
            word.append(ch)
            pos += 1
            continue
        # in_quote
        if ch == quote:
            phase = in_word
            pos += 1
            continue
        if ch == 0x5C:
            if pos + 1 == n:
                phase = in_word
                pos += 1
                continue
            pos += 1
            ch = b[pos]
        word.append(ch)
        pos += 1
    return words, None


def _extract_flags(logical: Logical, begin: int) -> tuple[list[Flag], int]:
    """BuildKit's extractBuilderFlags (:func:`scan_flag_words`) with character spans.

    ``Flag.word``/``value`` are what BuildKit sees: every byte of a flag word becomes the rune of
    that byte value, so a non-ASCII flag comes out Latin-1-decoded (``--from=é`` ->
    ``--from=Ã©``). Spans are in characters (a split inside a character counts the whole
    character). Returns the flags and the logical index where the remaining arguments begin.
    """
    text = logical.text
    limit = len(text.rstrip(GO_SPACE))
    b = text[begin:limit].encode("utf-8", "surrogateescape")
    if len(b) == limit - begin:  # ASCII: byte offsets are character offsets
        char_at = None
    else:
        char_at = []
        for k, ch in enumerate(text[begin:limit]):
            char_at.extend([k] * len(ch.encode("utf-8", "surrogateescape")))
        char_at.append(limit - begin)

    def at(byte_pos: int) -> int:  # logical index of the character holding byte_pos
        return begin + (byte_pos if char_at is None else char_at[byte_pos])

    def after(byte_pos: int) -> int:  # logical index just after the character holding byte_pos - 1
        if byte_pos <= 0:
            return begin
        return begin + (byte_pos if char_at is None else char_at[byte_pos - 1] + 1)

    words, rest = scan_flag_words(b)
    flags: list[Flag] = []
    for word, start, end in words:
        w = word.decode("latin-1")
        name, eq, value = w[2:].partition("=")
        flags.append(Flag(name.lower(), value if eq else None, w, logical.to_source(at(start)), logical.to_source_end(after(end))))
    if rest is not None:
        return flags, at(rest)
    return flags, limit if limit > begin else len(text)


def _parse_command(logical: Logical, begin: int) -> Command:
    text = logical.text
    n = len(text)
    i = begin
    while i < n and text[i] in GO_SPACE:
        i += 1
    kw_l = i
    # BuildKit splits strings.TrimSpace(line): trailing Unicode space (U+0085, U+00A0, ...) is
    # not part of a keyword that ends the line
    kw_limit = len(text.rstrip(GO_SPACE))
    while i < kw_limit and text[i] not in "\t\v\f\r ":
        i += 1
    keyword = text[kw_l:i]
    flags, args_l = _extract_flags(logical, i)
    if not flags:
        # BuildKit strips whitespace around args; without flags, args start after the gap.
        j = i
        while j < n and text[j] in GO_SPACE:
            j += 1
        args_l = j
    args = text[args_l:].strip(GO_SPACE)
    if not args:
        args_l = n
    return Command(
        keyword=keyword,
        cmd=keyword.lower(),
        kw_start=logical.to_source(kw_l),
        kw_end=logical.to_source_end(i),
        flags=tuple(flags),
        args=args,
        args_lstart=args_l,
        args_start=logical.to_source(args_l) if args else logical.to_source_end(i),
    )


def _is_json_array(args: str) -> bool:
    if not args.startswith("["):
        return False
    import json

    try:
        value = json.loads(args)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, list) and all(isinstance(x, str) for x in value)


def parse(source: SourceFile, check: bool = True) -> Dockerfile:
    """Scan ``source`` into a :class:`Dockerfile`; raise :class:`ParseError` as BuildKit would.
    ``check=False`` skips the argument checks of BuildKit's line parsers (tests compare them)."""
    text = source.text
    starts = source.line_starts
    nlines = len(starts)
    if nlines and starts[-1] == len(text):  # a final newline does not open an empty last line
        nlines -= 1

    # BuildKit's scanner rejects any physical line longer than its 64 KiB buffer.
    for k in range(nlines if len(text) > MAX_LINE // 4 else 0):  # no line can be longer than the text
        e = starts[k + 1] if k + 1 < len(starts) else len(text)
        line = text[starts[k] : e].rstrip("\r\n")
        if len(line) > MAX_LINE and len(line.encode("utf-8")) > MAX_LINE:
            raise ParseError(f"dockerfile line greater than max allowed size of {MAX_LINE - 1}", k + 1)

    def line_bounds(k: int) -> tuple[int, int, int]:
        """(start, content_end, end_with_eol) of physical line k (0-based)."""
        s = starts[k]
        e = starts[k + 1] if k + 1 < len(starts) else len(text)
        content = _trim_newline(text[s:e])
        return s, s + len(content), e

    dstate = _DirectiveState()
    directives: list[Directive] = []
    instructions: list[Instruction] = []
    all_comments: list[Comment] = []
    pending_comments: list[Comment] = []
    warnings: list[str] = []

    ntext = len(text)
    k = 0
    while k < nlines:
        # (line_bounds inlined: this loop runs once per physical line)
        s = starts[k]
        e = starts[k + 1] if k + 1 < len(starts) else ntext
        raw = text[s:e].rstrip("\r\n")
        token = raw.lstrip(GO_SPACE)
        lead = len(raw) - len(token)
        if not dstate.done:
            d = dstate.feed(token, k + 1, s, e)
            if d is not None:
                directives.append(d)
                k += 1
                pending_comments = []
                continue
        escape = dstate.escape
        if token.startswith("#"):
            c = Comment(s, e, token[1:].strip(GO_SPACE), k + 1)
            all_comments.append(c)
            pending_comments.append(c)
            k += 1
            continue
        cut = _continuation_cut(token, escape)
        if cut is None and token == "":
            pending_comments = []  # a blank line separates a comment block from what follows
            k += 1
            continue
        start_line = k
        pieces: list[tuple[int, int]] = []
        chunks: list[str] = []
        length = 0
        seg = token if cut is None else token[:cut]
        pieces.append((0, s + lead))
        chunks.append(seg)
        length += len(seg)
        empty_cont = False
        end_of_line = cut is None
        k += 1
        while not end_of_line and k < nlines:
            s2 = starts[k]
            _e2 = starts[k + 1] if k + 1 < len(starts) else ntext
            raw2 = text[s2:_e2].rstrip("\r\n")
            k += 1
            stripped = raw2.lstrip(GO_SPACE)
            if stripped.startswith("#"):
                all_comments.append(Comment(s2, _e2, stripped[1:].strip(GO_SPACE), k))
                continue
            if stripped == "":
                empty_cont = True
                continue
            cut2 = _continuation_cut(raw2, escape)
            seg = raw2 if cut2 is None else raw2[:cut2]
            pieces.append((length, s2))
            chunks.append(seg)
            length += len(seg)
            end_of_line = cut2 is None
        logical = Logical("".join(chunks), tuple(pieces))
        command = _parse_command(logical, 0)
        sub = None
        if command.cmd == "onbuild" and command.args:
            sub = _parse_command(logical, command.args_lstart)
        heredocs: list[Heredoc] = []
        eff = sub or command
        if eff.cmd in HEREDOC_COMMANDS and not _is_json_array(eff.args):
            for name, expand, chomp, fd in heredoc_words(logical.text):
                body_start = starts[k] if k < nlines else len(text)
                terminated = False
                while k < nlines:
                    hs, hce, he = line_bounds(k)
                    k += 1
                    cand = text[hs:hce]
                    if chomp:
                        cand = cand.lstrip("\t")
                    if cand == name:
                        heredocs.append(Heredoc(name, expand, chomp, fd, body_start, hs, he))
                        terminated = True
                        break
                if not terminated:
                    raise ParseError("unterminated heredoc", start_line + 1)
        if empty_cont:
            warnings.append(f"line {start_line + 1}: empty continuation line")
        end = starts[k] if k < len(starts) else len(text)
        instructions.append(
            Instruction(
                command=command,
                start=s,
                end=end,
                start_line=start_line + 1,
                end_line=k,
                logical=logical,
                heredocs=tuple(heredocs),
                sub=sub,
                comments=tuple(pending_comments),
                empty_continuation=empty_cont,
            )
        )
        pending_comments = []

    if not instructions:
        raise ParseError("file with no instructions", None)
    df = Dockerfile(
        source=source,
        escape=dstate.escape,
        directives=tuple(directives),
        instructions=tuple(instructions),
        comments=tuple(all_comments),
        warnings=tuple(warnings),
    )
    if check:
        from refactor.syntax.buildkit import validate  # lazy: buildkit imports this module

        validate(df)
    return df


def segments(df: Dockerfile) -> list[tuple[int, int, str]]:
    """Partition the text into ``(start, end, kind)`` pieces; used to prove losslessness."""
    out: list[tuple[int, int, str]] = []
    pos = 0
    for ins in df.instructions:
        if ins.start > pos:
            out.append((pos, ins.start, "trivia"))
        out.append((ins.start, ins.end, ins.cmd))
        pos = ins.end
    if pos < len(df.text):
        out.append((pos, len(df.text), "trivia"))
    return out

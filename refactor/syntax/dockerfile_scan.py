"""The pieces of BuildKit's line loop that :func:`refactor.syntax.dockerfile.parse` uses: Go-style
trimming, the escape-aware continuation cut, parser directives, shell-word and heredoc-word
splitting, ``--flag`` words and their extraction, a logical line's command, and the JSON-array test
of exec form.
"""

from __future__ import annotations

from refactor.codecache import regex
from refactor.syntax.dockerfile_model import (
    _DIRECTIVE_KEY_RE,
    _DIRECTIVE_WS,
    _HEREDOC_WORD_RE,
    GO_SPACE,
    VALID_DIRECTIVES,
    Command,
    Directive,
    Flag,
    Logical,
    ParseError,
)

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
_PLAIN_RUN = regex(rb"[^\t\n\v\f\r \x85\xa0'\"\\]+")  # bytes a word takes as they are
_SINGLE_QUOTED_RUN = regex(rb"[^'\\]+")
_DOUBLE_QUOTED_RUN = regex(rb'[^"\\]+')


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
            m = _PLAIN_RUN.match(b, pos)
            if m is not None:  # (a run of ordinary bytes at once: the loop below takes one a turn)
                word += m.group()
                pos = m.end()
                continue
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
        m = (_SINGLE_QUOTED_RUN if quote == 0x27 else _DOUBLE_QUOTED_RUN).match(b, pos)
        if m is not None:
            word += m.group()
            pos = m.end()
            continue
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
    j = i
    while j < n and text[j] in GO_SPACE:
        j += 1
    if text.startswith("--", j):
        flags, args_l = _extract_flags(logical, i)
    else:  # (no flag: BuildKit's flag scan stops at the first word; most instructions)
        flags, args_l = [], j
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

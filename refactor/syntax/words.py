"""Dockerfile argument words, with spans.

``parse_words`` ports BuildKit's ``parseWords`` (quotes and escapes are kept in the raw word), and
``name_values`` splits ``ARG``/``ENV``/``LABEL`` arguments into ``NAME[=VALUE]`` items that know
their logical span, so one item can be removed from a multi-item line.
``unquote`` and ``find_refs`` implement the build-time expansion rules of BuildKit's shell lexer
(``frontend/dockerfile/shell/lex.go``) closely enough to find variable references.
"""

from __future__ import annotations

from dataclasses import field

from refactor.codecache import regex
from refactor.records import dataclass

_SPACE = " \t\n\v\f\r\x85\xa0"


@dataclass(frozen=True, slots=True)
class Word:
    raw: str
    start: int  # logical indices, relative to the string that was split
    end: int


def parse_words(text: str, escape: str = "\\") -> list[Word]:
    words: list[Word] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            break
        start = i
        quote = ""
        while i < n:
            ch = text[i]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == escape and quote != "'" and i + 1 < n:
                    i += 1
                i += 1
                continue
            if ch in _SPACE:
                break
            if ch in "'\"":
                quote = ch
            elif ch == escape and i + 1 < n:
                i += 1
            i += 1
        words.append(Word(text[start:i], start, i))
    return words


@dataclass(frozen=True, slots=True)
class NameValue:
    name: str
    value: str | None  # raw value text (quotes kept); None for ``ARG NAME``
    start: int  # logical span of the whole item (relative to the args string)
    end: int


def name_values(args: str, escape: str = "\\", *, legacy_env: bool = True) -> list[NameValue]:
    """``ARG A=1 B`` / ``ENV A=1 B="x y"`` / legacy ``ENV KEY value with spaces``."""
    words = parse_words(args, escape)
    if not words:
        return []
    if legacy_env and "=" not in words[0].raw:
        # ENV/LABEL legacy form: first word is the key, the rest of the line is the value.
        first = words[0]
        if len(words) == 1:
            return [NameValue(first.raw, None, first.start, first.end)]
        vstart = words[1].start
        return [NameValue(first.raw, args[vstart:].rstrip(_SPACE), first.start, len(args.rstrip(_SPACE)))]
    out = []
    for w in words:
        name, eq, _value = w.raw.partition("=")
        if eq:
            out.append(NameValue(name, w.raw[len(name) + 1 :], w.start, w.end))
        else:
            out.append(NameValue(name, None, w.start, w.end))
    return out


def unquote(raw: str, escape: str = "\\") -> str:
    """Remove Dockerfile quoting from a word (no variable expansion)."""
    out: list[str] = []
    quote = ""
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        if quote == "'":
            if ch == "'":
                quote = ""
            else:
                out.append(ch)
        elif quote == '"':
            if ch == '"':
                quote = ""
            elif ch == escape and i + 1 < n:
                nxt = raw[i + 1]
                if nxt in ('"', "$", escape):
                    out.append(nxt)
                else:
                    out.append(ch + nxt)
                i += 1
            else:
                out.append(ch)
        elif ch in "'\"":
            quote = ch
        elif ch == escape and i + 1 < n:
            out.append(raw[i + 1])
            i += 1
        else:
            out.append(ch)
        i += 1
    return "".join(out)


_NAME_RE = regex(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Ref:
    name: str
    start: int  # span of the whole reference ($X / ${X...})
    end: int
    modifier: str = ""  # ":-", "-", ":+", "+", ":?", "?", "=", ":=", "#", "%", "/", "len"
    # the modifier's operand is a span of the scanned text, sliced on demand: nested operands
    # (``${a:-${b:-...}}``) would otherwise hold quadratic memory
    _text: str = field(default="", repr=False, compare=False)
    word_start: int = 0
    word_end: int = 0

    @property
    def word(self) -> str:
        """The modifier's operand (raw)."""
        return self._text[self.word_start : self.word_end]


def find_refs(text: str, escape: str = "\\") -> list[Ref]:
    """Variable references as BuildKit's build-time expansion sees them.

    Single quotes stop expansion, the escape character escapes ``$``; ``${V:-$W}`` yields both
    ``V`` and ``W``.

    Iterative, and linear in the input: nested operands (``${a:-${b:-${c:-...}}}``, thousands
    deep) are scanned with an explicit stack, and the closing brace of every ``{`` seen while
    matching an outer one is remembered instead of being searched for again.
    """
    refs: list[Ref] = []
    closes: dict = {}  # offset of "{" -> (index just after its match or -1, bound scanned to)
    # frames: [position, end, in_single_ok, quote]; a ref's operand is scanned before the text
    # after the ref, so refs come out in the same order as a recursive scan would give them
    stack: list[list] = [[0, len(text), True, ""]]
    while stack:
        frame = stack[-1]
        i, n, in_single_ok, quote = frame
        child = None
        while i < n:
            ch = text[i]
            if ch == escape and i + 1 < n:
                i += 2
                continue
            if quote != "'" and ch == '"':
                quote = "" if quote == '"' else '"'
                i += 1
                continue
            if in_single_ok and quote != '"' and ch == "'":
                quote = "" if quote == "'" else "'"
                i += 1
                continue
            if ch == "$" and quote != "'":
                i, child = _scan_one_ref(text, i, n, escape, refs, closes)
                if child is not None:
                    break
                continue
            i += 1
        frame[0], frame[3] = i, quote
        if child is not None:
            stack.append([child[0], child[1], False, ""])
        else:
            stack.pop()
    return refs


def _match_brace(text: str, i: int, n: int, escape: str, closes: dict) -> int:
    """Index just after the brace closing ``text[i] == "{"``, or -1 when none does before ``n``.

    Records the outcome for every nested ``{`` it passes (with the bound it was scanned to), so
    deep nesting is scanned once instead of once per level.
    """
    known = closes.get(i)
    if known is not None:
        end, bound = known
        if (end != -1 and end <= n) or (end == -1 and n <= bound):
            return end
    opened = [i]
    j = i + 1
    while j < n and opened:
        c = text[j]
        if c == escape and j + 1 < n:
            j += 2
            continue
        if c == "{":
            opened.append(j)
        elif c == "}":
            closes[opened.pop()] = (j + 1, n)
        j += 1
    for k in opened:
        closes[k] = (-1, n)
    return -1 if opened else j


def _scan_one_ref(text: str, i: int, n: int, escape: str, refs: list[Ref], closes: dict) -> tuple[int, tuple[int, int] | None]:
    """Record the reference at ``text[i] == "$"``; return (index after it, operand region)."""
    start = i
    i += 1
    if i >= n:
        return i, None
    if text[i] == "{":
        # find the matching close brace, honouring nesting
        j = _match_brace(text, i, n, escape, closes)
        if j == -1:
            j = inner_end = n
        else:
            inner_end = j - 1
        # the inner text is text[i + 1 : inner_end]; it is never copied (see Ref)
        length = text.startswith("#", i + 1, inner_end) and inner_end - (i + 1) > 1
        body = i + 2 if length else i + 1
        m = _NAME_RE.match(text, body, inner_end)
        child = None
        if m:
            name = m.group(0)
            rest = m.end()
            mod = ""
            operand = inner_end
            for op in (":-", ":+", ":?", ":=", "-", "+", "?", "=", "##", "#", "%%", "%", "//", "/"):
                if text.startswith(op, rest, inner_end):
                    mod, operand = op, rest + len(op)
                    break
            if length:
                mod = "len"
            if operand < inner_end:
                refs.append(Ref(name, start, min(j, n), mod, text, operand, inner_end))
                # the operand starts right after the name and the modifier (none for "len")
                child = (rest + (len(mod) if mod != "len" else 0), inner_end)
            else:
                refs.append(Ref(name, start, min(j, n), mod))
        return min(j, n), child
    m = _NAME_RE.match(text, i)
    if m:
        refs.append(Ref(m.group(0), start, m.end()))
        return m.end(), None
    return i, None

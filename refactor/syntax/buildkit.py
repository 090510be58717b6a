"""BuildKit's per-instruction argument parsers and its AST dump format.

The span scanner in :mod:`refactor.syntax.dockerfile` reproduces BuildKit's *line* handling. This
module reproduces what BuildKit does with each joined instruction line afterwards (its
``newNodeFromLine``: split off the keyword and the leading ``--flags``, then run the instruction's
argument parser), so that

* :func:`node_values` builds the same tree BuildKit's ``Node`` holds (value / next / children /
  attributes),
* :func:`dump` prints it exactly like ``Node.Dump()`` (used by BuildKit's own parser tests), and
* :func:`validate` rejects the argument errors BuildKit's parser rejects.

Go strings are byte strings, and a few BuildKit routines walk them byte by byte (flag extraction
and the HEALTHCHECK type split treat the bytes 0x85 and 0xA0 as spaces, even inside a multi-byte
character). To stay faithful, text here is a Python ``str`` in which a raw byte that is not valid
UTF-8 is carried as the lone surrogate U+DC80..U+DCFF (Python's ``surrogateescape`` convention).
Such characters only arise from those byte-wise splits; :func:`go_quote` prints them as ``\\xNN``
exactly like Go's ``strconv.Quote``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from json.decoder import scanstring as _json_scanstring  # type: ignore[attr-defined]  # in CPython, not in typeshed's json.decoder stub
from typing import TYPE_CHECKING

from refactor.syntax.dockerfile import GO_SPACE, ParseError, scan_flag_words

if TYPE_CHECKING:
    from refactor.syntax.dockerfile import Dockerfile, Instruction

__all__ = [
    "NOT_STRING_ARRAY",
    "ArgumentError",
    "Node",
    "dump",
    "dump_node",
    "go_lower",
    "go_quote",
    "node_from_line",
    "node_values",
    "nodes",
    "parse_words",
    "split_command",
    "validate",
]

NOT_STRING_ARRAY = "when using JSON array syntax, arrays must be comprised of strings only"

# Bytes for which Go's unicode.IsSpace(rune(b)) holds (b < 0x100).
_BYTE_SPACE = frozenset(b"\t\n\v\f\r \x85\xa0")
# BuildKit's reWhitespace / tokenWhitespace.
_WS_RE = re.compile(r"[\t\v\f\r ]+")
_SURROGATES_RE = re.compile("[\ud800-\udfff]")


class ArgumentError(Exception):
    """An argument error from one of BuildKit's line parsers (no location)."""


# ---------------------------------------------------------------------------------------------
# Go string helpers


def _gb(s: str) -> bytes:
    """The Go bytes of ``s``."""
    return s.encode("utf-8", "surrogateescape")


def _gs(b: bytes) -> str:
    """A Go byte string as ``str`` (invalid bytes become U+DC80..U+DCFF)."""
    return b.decode("utf-8", "surrogateescape")


def _runes(s: str) -> str:
    """What Go produces when it re-encodes ``s`` rune by rune: invalid bytes become U+FFFD."""
    return _SURROGATES_RE.sub("\ufffd", s) if not s.isascii() else s


def go_lower(s: str) -> str:
    """Go's ``strings.ToLower``: simple per-rune case mapping, no context (final sigma)."""
    if s.isascii():
        return s.lower()
    out = []
    for ch in _runes(s):
        low = ch.lower()
        out.append(low if len(low) == 1 else ("i" if ch == "\u0130" else ch))
    return "".join(out)


_SIMPLE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def _go_isprint(ch: str) -> bool:
    o = ord(ch)
    if o < 0x100:
        return 0x20 <= o <= 0x7E or (0xA1 <= o <= 0xFF and o != 0xAD)
    # unicode.IsPrint: categories L, M, N, P, S (the only printable space is U+0020).
    return unicodedata.category(ch)[0] in "LMNPS"


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote`` (also what ``fmt``'s ``%q`` does for a string)."""
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return '"' + s + '"'
    out = ['"']
    for ch in s:
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:  # a raw invalid byte
            out.append(f"\\x{o - 0xDC00:02x}")
            continue
        esc = _SIMPLE_ESCAPES.get(ch)  # quote, backslash and the C escapes (never printable)
        if esc is not None:
            out.append(esc)
        elif _go_isprint(ch):
            out.append(ch)
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def _go_quote_list(items: tuple[str, ...] | list[str]) -> str:
    """``fmt.Sprintf("%q", []string{...})``."""
    return "[" + " ".join(go_quote(x) for x in items) + "]"


# ---------------------------------------------------------------------------------------------
# The AST


@dataclass(eq=False)
class Node:
    """BuildKit's ``parser.Node`` (the fields the parser fills in)."""

    value: str = ""
    next: Node | None = None
    children: list[Node] = field(default_factory=list)
    attributes: dict[str, bool] | None = None
    original: str = ""
    flags: tuple[str, ...] = ()
    start_line: int = 0
    end_line: int = 0

    @property
    def values(self) -> list[str]:
        """The ``Value`` of every node on the ``Next`` chain (children shown as ``""``)."""
        out = []
        n = self.next
        while n is not None:
            out.append(n.value)
            n = n.next
        return out

    @property
    def json(self) -> bool:
        return bool(self.attributes and self.attributes.get("json"))

    def dump(self) -> str:
        return dump_node(self)

    def __repr__(self) -> str:
        return f"Node({self.dump()!r})"


def _chain(values: list[str]) -> Node | None:
    top = prev = None
    for v in values:
        node = Node(v)
        if prev is None:
            top = node
        else:
            prev.next = node
        prev = node
    return top


def _dump_head(node: Node) -> str:
    head = go_lower(node.value)
    if node.flags:
        head += " " + _go_quote_list(node.flags)
    return head


def _is_sub_command(node: Node) -> bool:
    """``node`` is an ONBUILD-style command whose ``Next`` wraps exactly one child command."""
    wrapper = node.next
    return (
        wrapper is not None
        and len(wrapper.children) == 1
        and wrapper.next is None
        and not wrapper.value
        and not wrapper.flags
        and not node.children
    )


def dump_node(node: Node) -> str:
    """``Node.Dump()``.

    ONBUILD nesting is unwound iteratively (``ONBUILD ONBUILD ...`` may nest thousands deep).
    """
    heads = []
    while _is_sub_command(node):
        heads.append(_dump_head(node))
        node = node.next.children[0]  # type: ignore[union-attr]
    out = _dump_flat(node)
    for head in reversed(heads):
        out = (head + " (" + out + ")").strip(GO_SPACE)
    return out


def _dump_flat(node: Node) -> str:
    parts = [_dump_head(node)]
    for child in node.children:
        parts.append("(" + dump_node(child) + ")\n")
    n = node.next
    while n is not None:
        parts.append(" " + (dump_node(n) if n.children else go_quote(n.value)))
        n = n.next
    return "".join(parts).strip(GO_SPACE)


# ---------------------------------------------------------------------------------------------
# splitCommand / extractBuilderFlags


def _extract_builder_flags(line: str) -> tuple[str, list[str]]:
    """Leading ``--flag`` words, processed byte by byte as BuildKit does (see
    :func:`refactor.syntax.dockerfile.scan_flag_words`): each byte of a flag word is kept as the
    rune of that byte value, so a non-ASCII flag value comes out Latin-1-decoded (``--from=é`` ->
    ``--from=Ã©``), and the bytes 0x85/0xA0 end a word. Returns ``(rest, flags)``; the rest is cut
    at a byte offset, as BuildKit cuts it.
    """
    b = _gb(line)
    words, rest = scan_flag_words(b)
    return ("" if rest is None else _gs(b[rest:])), [w.decode("latin-1") for w, _s, _e in words]


def split_command(line: str) -> tuple[str, list[str], str]:
    """BuildKit's ``splitCommand``: ``(keyword as written, flags, args)``."""
    parts = _WS_RE.split(line.strip(GO_SPACE), 1)
    cmd = parts[0]
    flags: list[str] = []
    args = ""
    if len(parts) == 2:
        args, flags = _extract_builder_flags(parts[1])
    return cmd, flags, args.strip(GO_SPACE)


# ---------------------------------------------------------------------------------------------
# parseWords


def parse_words(rest: str, escape: str = "\\") -> list[str]:
    """BuildKit's ``parseWords``: split on Unicode spaces, keeping quotes and escapes.

    An escape character at the very end is dropped; invalid bytes come out as U+FFFD (Go
    re-encodes each rune).
    """
    rest = _runes(rest)
    words: list[str] = []
    n = len(rest)
    in_spaces, in_word, in_quote = 0, 1, 2
    phase = in_spaces
    word: list[str] = []
    quote = ""
    blank_ok = False
    pos = 0
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == in_spaces:
            if pos == n:
                break
            if ch in GO_SPACE:
                pos += 1
                continue
            phase = in_word
        if pos == n:
            if blank_ok or word:
                words.append("".join(word))
            break
        if phase == in_word:
            if ch in GO_SPACE:
                phase = in_spaces
                if blank_ok or word:
                    words.append("".join(word))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in "'\"":
                quote = ch
                blank_ok = True
                phase = in_quote
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue  # an escape at the end of the line is dropped
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        # in_quote
        if ch == quote:
            phase = in_word
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = in_word
                pos += 1
                continue
            pos += 1
            word.append(ch)
            ch = rest[pos]
        word.append(ch)
        pos += 1
    return words


# ---------------------------------------------------------------------------------------------
# JSON (Go's encoding/json semantics for ``json.Unmarshal(rest, &[]any)``)

_JSON_TOKEN_RE = re.compile(
    r"""[ \t\n\r]*+(?:
      (?P<s>"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*+")
    | (?P<n>-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?(?:[eE][+-]?[0-9]++)?)
    | (?P<l>true|false|null)
    | (?P<p>[\[\]{},:])
    )""",
    re.X,
)
_JSON_TRAILING_WS_RE = re.compile(r"[ \t\n\r]*+\Z")
_JSON_MAX_DEPTH = 10000  # encoding/json's maxNestingDepth


class _NotJSON(Exception):
    """``rest`` is not a JSON array Go would decode (any error but the string-only one)."""


def _decode_json_string(token: str) -> str:
    value, _end = _json_scanstring(token, 1, True)
    # Go turns every lone surrogate escape (and every invalid byte) into U+FFFD.
    return _SURROGATES_RE.sub("\ufffd", value)


def _json_array(rest: str) -> list[str]:
    """Decode a JSON array of strings like BuildKit's ``parseJSON``.

    Raises :class:`_NotJSON` for anything Go's decoder rejects (then BuildKit treats the text as a
    plain string) and :class:`ArgumentError` for a valid array with a non-string element.
    """
    rest = rest.lstrip(GO_SPACE)
    if not rest.startswith("["):
        raise _NotJSON
    # Validate the whole document first (Go's checkValid), with a container stack.
    stack: list[str] = []  # "[" or "{"
    # What may come next: "value", "value_or_close", "comma_or_close", "key", "key_or_close",
    # "colon", "end".
    expect = "value"
    top_kinds: list[str] = []  # kind of each top-level element ("s" / "other")
    top_strings: list[str] = []
    overflow = False
    pos = 0
    match = _JSON_TOKEN_RE.match
    while True:
        if expect == "end":
            if not _JSON_TRAILING_WS_RE.match(rest, pos):
                raise _NotJSON
            break
        m = match(rest, pos)
        if m is None:
            raise _NotJSON
        pos = m.end()
        kind = m.lastgroup
        assert kind is not None  # every alternative of _JSON_TOKEN_RE is a named group
        tok = m.group(kind)
        if expect in ("key", "key_or_close"):
            if kind == "s":
                expect = "colon"
                continue
            if kind == "p" and tok == "}" and expect == "key_or_close":
                pass  # fall through to closing below
            else:
                raise _NotJSON
        elif expect == "colon":
            if kind == "p" and tok == ":":
                expect = "value"
                continue
            raise _NotJSON
        elif expect == "comma_or_close":
            if kind != "p" or tok not in ",]}":
                raise _NotJSON
            if tok == ",":
                expect = "key" if stack[-1] == "{" else "value"
                continue
        elif expect in ("value", "value_or_close"):
            if kind == "p" and tok in "]}":
                if expect != "value_or_close" or tok != "]":
                    raise _NotJSON
            elif kind == "p" and tok in "[{":
                if len(stack) == 1 and stack[0] == "[":
                    top_kinds.append("other")
                stack.append(tok)
                if len(stack) > _JSON_MAX_DEPTH:
                    raise _NotJSON
                expect = "value_or_close" if tok == "[" else "key_or_close"
                continue
            elif kind == "p":
                raise _NotJSON
            else:
                if kind == "n" and float(tok) in (float("inf"), float("-inf")):
                    overflow = True  # Go: UnmarshalTypeError, reported after decoding
                if len(stack) == 1:
                    if kind == "s":
                        top_kinds.append("s")
                        top_strings.append(tok)
                    else:
                        top_kinds.append("other")
                expect = "end" if not stack else "comma_or_close"
                continue
        # closing a container
        if not stack or (tok == "]") != (stack[-1] == "["):
            raise _NotJSON
        stack.pop()
        expect = "end" if not stack else "comma_or_close"
    if overflow:
        raise _NotJSON
    if any(k != "s" for k in top_kinds):
        raise ArgumentError(NOT_STRING_ARRAY)
    return [_decode_json_string(t) for t in top_strings]


# ---------------------------------------------------------------------------------------------
# The line parsers (dispatch table)

_Result = tuple["Node | None", "dict[str, bool] | None"]


def _parse_ignore(rest: str, escape: str) -> _Result:
    return Node(), None


def _parse_sub_command(rest: str, escape: str) -> _Result:
    if rest == "":
        return None, None
    child = node_from_line(rest, escape)
    return Node(children=[child]), None


def _parse_name_val(rest: str, key: str, escape: str) -> Node | None:
    words = parse_words(rest, escape)
    if not words:
        return None
    if "=" not in words[0]:  # old format: KEY name value
        parts = _WS_RE.split(rest, 1)
        if len(parts) < 2:
            raise ArgumentError(f"{key} must have two arguments")
        return _chain([parts[0], parts[1], ""])
    values: list[str] = []
    for word in words:
        if "=" not in word:
            raise ArgumentError(f"Syntax error - can't find = in {go_quote(word)}. Must be of the form: name=value")
        name, _eq, value = word.partition("=")
        values.extend((name, value, "="))
    return _chain(values)


def _parse_env(rest: str, escape: str) -> _Result:
    return _parse_name_val(rest, "ENV", escape), None


def _parse_label(rest: str, escape: str) -> _Result:
    return _parse_name_val(rest, "LABEL", escape), None


def _parse_name_or_name_val(rest: str, escape: str) -> _Result:
    return _chain(parse_words(rest, escape)), None


def _parse_strings_whitespace_delimited(rest: str, escape: str) -> _Result:
    if rest == "":
        return None, None
    return _chain(_WS_RE.split(rest)), None


def _parse_string(rest: str, escape: str) -> _Result:
    if rest == "":
        return None, None
    return Node(rest), None


def _parse_json(rest: str) -> _Result:
    return _chain(_json_array(rest)), {"json": True}


def _parse_maybe_json(rest: str, escape: str) -> _Result:
    if rest == "":
        return None, None
    try:
        return _parse_json(rest)
    except _NotJSON:
        return Node(rest), None


def _parse_maybe_json_to_list(rest: str, escape: str) -> _Result:
    try:
        return _parse_json(rest)
    except _NotJSON:
        return _parse_strings_whitespace_delimited(rest, escape)


def _parse_health_config(rest: str, escape: str) -> _Result:
    # The type word ends at the first byte that is a space when read as a rune (byte-wise).
    b = _gb(rest)
    sep = 0
    while sep < len(b) and b[sep] not in _BYTE_SPACE:
        sep += 1
    nxt = sep
    while nxt < len(b) and b[nxt] in _BYTE_SPACE:
        nxt += 1
    if sep == 0:
        return None, None
    cmd, attrs = _parse_maybe_json(_gs(b[nxt:]), escape)
    return Node(_gs(b[:sep]), next=cmd), attrs


_DISPATCH: dict[str, Callable[[str, str], _Result]] = {
    "add": _parse_maybe_json_to_list,
    "arg": _parse_name_or_name_val,
    "cmd": _parse_maybe_json,
    "copy": _parse_maybe_json_to_list,
    "entrypoint": _parse_maybe_json,
    "env": _parse_env,
    "expose": _parse_strings_whitespace_delimited,
    "from": _parse_strings_whitespace_delimited,
    "healthcheck": _parse_health_config,
    "label": _parse_label,
    "maintainer": _parse_string,
    "onbuild": _parse_sub_command,
    "run": _parse_maybe_json,
    "shell": _parse_maybe_json,
    "stopsignal": _parse_string,
    "user": _parse_string,
    "volume": _parse_maybe_json_to_list,
    "workdir": _parse_string,
}


def node_from_line(line: str, escape: str = "\\") -> Node:
    """BuildKit's ``newNodeFromLine`` for one joined instruction line.

    Raises :class:`ArgumentError` where BuildKit's parser returns an error. ONBUILD's sub-command
    (``parseSubCommand``) is followed iteratively, so deep ``ONBUILD ONBUILD ...`` nesting cannot
    exhaust Python's recursion limit.
    """
    chain: list[Node] = []
    while True:
        cmd, flags, args = split_command(line)
        node = Node(cmd, original=line, flags=tuple(flags))
        chain.append(node)
        lowered = go_lower(cmd)
        if lowered == "onbuild" and args != "":
            line = args
            continue
        node.next, node.attributes = _DISPATCH.get(lowered, _parse_ignore)(args, escape)
        break
    for parent, child in pairwise(chain):
        parent.next = Node(children=[child])
    return chain[0]


def node_values(instruction: Instruction, escape: str = "\\") -> Node:
    """The BuildKit AST node of one scanned instruction.

    Pass the file's escape token (``df.escape``) for files with ``# escape=```; :func:`nodes`
    does that for a whole file.
    """
    node = node_from_line(instruction.logical.text, escape)
    node.start_line = instruction.start_line
    node.end_line = instruction.end_line
    return node


def nodes(df: Dockerfile) -> list[Node]:
    """The BuildKit AST node of every instruction; :class:`ParseError` on an argument error."""
    out = []
    for ins in df.instructions:
        try:
            out.append(node_values(ins, df.escape))
        except ArgumentError as exc:
            raise ParseError(str(exc), ins.start_line) from None
    return out


def dump(df: Dockerfile) -> list[str]:
    """One line per instruction, as BuildKit's ``result.AST.Dump()`` prints them."""
    return ["(" + dump_node(node) + ")" for node in nodes(df)]


# Line parsers that never return an error, and those that can only for a JSON array
_NEVER_FAILS = frozenset({"from", "expose", "user", "workdir", "maintainer", "stopsignal", "arg"})
_FAILS_ONLY_AS_JSON = frozenset({"run", "cmd", "entrypoint", "shell", "add", "copy", "volume"})


def validate(df: Dockerfile) -> None:
    """Raise :class:`ParseError` for the argument errors BuildKit's parser rejects.

    Same verdict as building every node (:func:`nodes`), without building the nodes that cannot
    fail: on an ASCII line the scanner's keyword and arguments are BuildKit's (both come from
    :func:`~refactor.syntax.dockerfile.scan_flag_words`), so an instruction whose line parser
    never errs, or a JSON-capable one whose arguments do not start with ``[``, is skipped.
    """
    for ins in df.instructions:
        c = ins.command
        if ins.logical.text.isascii():
            if c.cmd in _NEVER_FAILS or c.cmd not in _DISPATCH:
                continue
            if c.cmd in _FAILS_ONLY_AS_JSON and not c.args.startswith("["):
                continue
        try:
            node_values(ins, df.escape)
        except ArgumentError as exc:
            raise ParseError(str(exc), ins.start_line) from None

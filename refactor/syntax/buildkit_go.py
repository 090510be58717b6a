"""The Go semantics BuildKit's parser relies on, for :mod:`refactor.syntax.buildkit`: strings as bytes
(raw bytes carried as lone surrogates), Go's white space, ``strings.ToLower``, ``strconv.Quote``,
:class:`ArgumentError`, and the subset of ``encoding/json`` that decodes an exec-form array of
strings.
"""

from __future__ import annotations

import re
import unicodedata
from json.decoder import scanstring as _json_scanstring  # type: ignore[attr-defined]  # in CPython, not in typeshed's json.decoder stub

from refactor.lazyre import lazy
from refactor.syntax.dockerfile import GO_SPACE

NOT_STRING_ARRAY = "when using JSON array syntax, arrays must be comprised of strings only"

# Bytes for which Go's unicode.IsSpace(rune(b)) holds (b < 0x100).
_BYTE_SPACE = frozenset(b"\t\n\v\f\r \x85\xa0")
# BuildKit's reWhitespace / tokenWhitespace.
_WS_RE = lazy(r"[\t\v\f\r ]+")
_SURROGATES_RE = lazy("[\ud800-\udfff]")


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
# JSON (Go's encoding/json semantics for ``json.Unmarshal(rest, &[]any)``)

_JSON_TOKEN_RE = lazy(
    r"""[ \t\n\r]*+(?:
      (?P<s>"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*+")
    | (?P<n>-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?(?:[eE][+-]?[0-9]++)?)
    | (?P<l>true|false|null)
    | (?P<p>[\[\]{},:])
    )""",
    re.X,
)
_JSON_TRAILING_WS_RE = lazy(r"[ \t\n\r]*+\Z")
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

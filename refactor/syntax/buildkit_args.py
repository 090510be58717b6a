"""BuildKit's per-instruction argument parsers: splitting a joined line into keyword, ``--flags`` and
rest (:func:`split_command`), the escape-aware word splitter (:func:`parse_words`), the line parsers
(name/value pairs, ENV and LABEL, whitespace-delimited strings, JSON or shell form, HEALTHCHECK,
ONBUILD) and their dispatch (:func:`node_from_line`).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

from refactor.syntax.buildkit_go import _BYTE_SPACE, _WS_RE, ArgumentError, _gb, _gs, _json_array, _NotJSON, _runes, go_lower, go_quote
from refactor.syntax.buildkit_node import Node, _chain
from refactor.syntax.dockerfile import GO_SPACE, scan_flag_words

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


INSTRUCTIONS = frozenset(_DISPATCH)  # the instruction keywords BuildKit knows (lower-case)


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

"""A linear pre-scan of YAML text: how deep its flow collections nest, before ruamel reads it.

:func:`flow_depth` skips quoted scalars, comments and block scalars and counts ``[``/``{`` only
where a flow collection can start, so :func:`refactor.callers.yamlutil.compose` can refuse a text
whose nesting would stall ruamel's scanner.
"""

from __future__ import annotations

import re

from refactor.codecache import regex

_FLOW_EVENTS = regex(r"[\[\]{}'\"#\n|>]")
_DQ_BODY = regex(r'(?:[^"\\]++|\\.)*+"', re.S)
_SQ_BODY = regex(r"(?:[^']++|'')*+'")
_BLOCK_HEADER = regex(r"[|>][-+0-9]*[ \t]*(?:#[^\n]*)?(?:\r?\n|$)")
_LINE_INDENT = regex(r"[ ]*")


def flow_depth(text: str) -> int:
    """The deepest nesting of YAML flow collections (``[…]``, ``{…}``), in one linear pass.

    A bracket counts where a flow collection can start (a value's first character, or anywhere
    inside a flow collection); quoted scalars, comments and block scalars (``|``, ``>``) are
    skipped, so brackets in shell scripts and plain text do not count."""
    depth = best = 0
    n = len(text)
    pos = 0
    find = _FLOW_EVENTS.search
    while True:
        m = find(text, pos)
        if m is None:
            return best
        i = m.start()
        c = text[i]
        pos = i + 1
        if c == "\n":
            continue
        if c == "#":
            if i == 0 or text[i - 1] in " \t\r\n":
                j = text.find("\n", i)
                pos = n if j < 0 else j
            continue
        if depth > 0:
            if c in "[{":
                depth += 1
                best = max(best, depth)
            elif c in "]}":
                depth -= 1
            elif c in "'\"" and _value_start(text, i, True):
                e = (_DQ_BODY if c == '"' else _SQ_BODY).match(text, i + 1)
                if e is None:
                    return best  # unterminated: ruamel stops there too
                pos = e.end()
            continue
        if not _value_start(text, i, False):
            continue
        if c in "[{":
            depth = 1
            best = max(best, 1)
        elif c in "'\"":
            e = (_DQ_BODY if c == '"' else _SQ_BODY).match(text, i + 1)
            if e is None:
                return best
            pos = e.end()
        elif c in "|>" and (header := _BLOCK_HEADER.match(text, i)):
            # a block scalar: skip the lines indented deeper than the line that introduces it
            ls = text.rfind("\n", 0, i) + 1
            indent = _indent_end(text, ls) - ls
            j = header.end()
            while j < n:
                k = _indent_end(text, j)
                if k < n and text[k] not in "\r\n" and k - j <= indent:
                    break
                nl = text.find("\n", k)
                j = n if nl < 0 else nl + 1
            pos = j


def _indent_end(text: str, pos: int) -> int:
    """The offset after the spaces starting at ``pos``."""
    m = _LINE_INDENT.match(text, pos)
    return pos if m is None else m.end()  # never None: the pattern matches the empty string


def _value_start(text: str, i: int, flow: bool) -> bool:
    """Whether ``text[i]`` starts a value: first on its line (after the indentation), or after
    ``key:``, a ``-``/``?`` indicator, or (in a flow collection) ``[``, ``{`` or ``,``."""
    j = i - 1
    while j >= 0 and text[j] in " \t":
        j -= 1
    if j < 0 or text[j] in "\r\n":
        return True
    c = text[j]
    if c == ":" or (flow and c in "[{,"):
        return True
    return c in "-?" and (j == 0 or text[j - 1] in " \t\r\n")

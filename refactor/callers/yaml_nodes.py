"""Reading composed YAML nodes and the text around them; scalars as shell views.

Type guards and accessors for ruamel's nodes (:func:`items` resolves merge keys), the offsets,
lines, columns and indentation edits are computed from, and :func:`scalar_view`, which maps a
scalar's decoded value (plain, quoted or block) back to source offsets as a shell
:class:`refactor.callers.shell_words.View`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypeGuard

from .shell_words import View

if TYPE_CHECKING:
    from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


def is_map(node: object) -> TypeGuard[MappingNode]:
    return node is not None and type(node).__name__ == "MappingNode"


def is_seq(node: object) -> TypeGuard[SequenceNode]:
    return node is not None and type(node).__name__ == "SequenceNode"


def is_scalar(node: object) -> TypeGuard[ScalarNode]:
    return node is not None and type(node).__name__ == "ScalarNode"


def items(node: Node | None) -> list[tuple[Node, Node]]:
    """Key/value node pairs of a mapping, merge keys (<<) resolved after the own keys."""
    if not is_map(node):
        return []
    own = [(k, v) for k, v in node.value if not (is_scalar(k) and k.tag and str(k.tag).endswith("merge"))]
    keys = {k.value for k, _ in own if is_scalar(k)}
    merged: list[tuple[Node, Node]] = []
    for k, v in node.value:
        if is_scalar(k) and k.tag and str(k.tag).endswith("merge"):
            srcs = v.value if is_seq(v) else [v]
            for src in srcs:
                for k2, v2 in items(src):
                    if is_scalar(k2) and k2.value not in keys:
                        merged.append((k2, v2))
                        keys.add(k2.value)
    return own + merged


def get(node: Node | None, key: str) -> Node | None:
    for k, v in items(node):
        if is_scalar(k) and k.value == key:
            return v
    return None


def get_pair(node: Node | None, key: str) -> tuple[Node, Node] | None:
    for k, v in items(node):
        if is_scalar(k) and k.value == key:
            return k, v
    return None


def sval(node: Node | None) -> str | None:
    return node.value if is_scalar(node) and isinstance(node.value, str) else None


def style(node: Node | None) -> str | None:
    return getattr(node, "style", None)


def start(node: Node) -> int:
    return node.start_mark.index


def end(node: Node) -> int:
    return node.end_mark.index


def line_start(text: str, off: int) -> int:
    return text.rfind("\n", 0, off) + 1


def line_end(text: str, off: int) -> int:
    """Offset of the newline ending the line holding ``off`` (``len(text)`` on the last line)."""
    j = text.find("\n", off)
    return len(text) if j < 0 else j


def next_line(text: str, off: int) -> int:
    j = text.find("\n", off)
    return len(text) if j < 0 else j + 1


def column(text: str, off: int) -> int:
    return off - line_start(text, off)


def newline(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


def content_end(text: str, node: Node) -> int:
    """End of the node's own text: block collections' marks run on over trailing blank lines and
    comments, which belong to whatever follows."""
    e = end(node)
    if is_scalar(node):
        if style(node) in ("|", ">"):
            # block scalars own their trailing line break; stop after the last non-blank line
            body = text[start(node) : e]
            stripped = body.rstrip(" \t\r\n")
            cut = start(node) + len(stripped)
            return line_end(text, cut)
        return e
    last = None
    if is_map(node) and node.value:
        last = node.value[-1][1]
    elif is_seq(node) and node.value:
        last = node.value[-1]
    if last is None:
        return e
    if style(node) is None and getattr(node, "flow_style", False):
        return e
    if text[start(node)] in "[{":
        return e
    inner = content_end(text, last)
    return inner


def flow(node: Node | None) -> bool:
    return bool(getattr(node, "flow_style", False))


def indent_unit(text: str, default: int = 2) -> int:
    """The file's indentation step (most common positive indent difference)."""
    counts: dict[int, int] = {}
    prev = 0
    for line in text.split("\n"):
        s = line.rstrip("\r")
        if not s.strip() or s.lstrip().startswith("#"):
            continue
        ind = len(s) - len(s.lstrip(" "))
        if ind > prev:
            counts[ind - prev] = counts.get(ind - prev, 0) + 1
        prev = ind
    if not counts:
        return default
    best = max(counts.items(), key=lambda kv: (kv[1], -kv[0]))[0]
    return best if 1 < best <= 8 else default


# ------------------------------------------------------------------------------------------
# Scalars as shell views

_DQ_ESC = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
}


def scalar_view(text: str, node: Node | None) -> View | None:
    """The scalar's value as decoded text mapped to source offsets."""
    if not is_scalar(node):
        return None
    st = style(node)
    s, e = start(node), end(node)
    if st in ("|", ">"):
        body = next_line(text, s)
        return View(text[body:e], base=body, fold=st == ">")
    if st == '"':
        return _quoted_view(text, s + 1, e - 1, '"')
    if st == "'":
        return _quoted_view(text, s + 1, e - 1, "'")
    raw = text[s:e]
    return View(raw, base=s, fold="\n" in raw)


def _quoted_view(text: str, s: int, e: int, q: str) -> View:
    out: list[str] = []
    mp: list[int] = []
    i = s
    while i < e:
        c = text[i]
        if q == "'" and c == "'" and i + 1 < e and text[i + 1] == "'":
            out.append("'")
            mp.append(i)
            i += 2
            continue
        if q == '"' and c == "\\" and i + 1 < e:
            n = text[i + 1]
            if n in "\r\n":  # escaped line break: joined without a space
                j = next_line(text, i)
                while j < e and text[j] in " \t":
                    j += 1
                i = j
                continue
            if n in _DQ_ESC:
                out.append(_DQ_ESC[n])
                mp.append(i)
                i += 2
                continue
            m = re.compile(r"x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})").match(text, i + 1)
            if m:
                out.append(chr(int(next(g for g in m.groups() if g), 16)))
                mp.append(i)
                i = m.end()
                continue
        if c in "\r\n":
            # line folding: trailing spaces trimmed, one break → space, n breaks → n-1 newlines
            k = len(out)
            while k > 0 and out[k - 1] in " \t":
                k -= 1
            del out[k:]
            del mp[k:]
            breaks = 0
            j = i
            while j < e and text[j] in " \t\r\n":
                if text[j] == "\n":
                    breaks += 1
                j += 1
            if breaks <= 1:
                out.append(" ")
                mp.append(i)
            else:
                for _ in range(breaks - 1):
                    out.append("\n")
                    mp.append(i)
            i = j
            continue
        out.append(c)
        mp.append(i)
        i += 1
    mp.append(e)
    return View("".join(out), map=mp, enc="yaml-dq" if q == '"' else "yaml-sq")

"""Locate YAML nodes with ruamel.yaml and splice text; never dump.

``ruamel.yaml``'s composer gives every node a start and end mark with a character index into the
text it was given, so edits are computed against the original text and everything dfix does not
mean to change (comments, quoting, indentation, key order, anchors) stays byte-identical.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeGuard

from .shell import View

if TYPE_CHECKING:
    from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

    from .common import Found

# What a parse gives: every document's root node, and why the text was refused (or None).
_Parsed = tuple[tuple["Node", ...], str | None]

# Bounds on what ruamel.yaml is given (hardening round two, points 9 and 10). Its scanner slows
# down with every open flow collection (``[[[[…`` 5,000 deep took 7 s for 10 KB) and its composer
# recurses per level; aliases are shared nodes, but every walk of the tree (merge keys, the
# compose check's comparison of plain data) expands them: nine aliases of nine aliases of … (the
# "billion laughs") hung the run. A refused text reads as unreadable (None, []), and
# :func:`refusal` says why, so callers can report it.
MAX_FLOW_DEPTH = 64  # nested [ ] / { } flow collections, measured before ruamel runs
MAX_DEPTH = 200  # nested collections of any kind (ruamel's own max_depth, a backstop)
MAX_ALIAS_NODES = 200_000  # nodes the aliases add when every one is expanded


class _TextCache:
    """A least-recently-used cache of parses keyed by text, bounded by the total length of the
    texts it holds (a parse keeps about 80 bytes of nodes per byte of YAML); the latest parse is
    always kept, whatever its size."""

    def __init__(self, parse: Callable[[str], _Parsed], budget: int) -> None:
        self._parse = parse
        self._budget = budget
        self._items: OrderedDict[str, _Parsed] = OrderedDict()
        self._chars = 0

    def __call__(self, text: str) -> _Parsed:
        got = self._items.get(text)
        if got is not None:
            self._items.move_to_end(text)
            return got
        got = self._parse(text)
        self._items[text] = got
        self._chars += len(text)
        while self._chars > self._budget and len(self._items) > 1:
            old, _ = self._items.popitem(last=False)
            self._chars -= len(old)
        return got

    def cache_clear(self) -> None:
        self._items.clear()
        self._chars = 0


def _parse(text: str) -> _Parsed:
    """(every document's root node, why the text was refused or None)."""
    depth = flow_depth(text)
    if depth > MAX_FLOW_DEPTH:
        return (), f"its flow collections nest {depth} deep, more than the {MAX_FLOW_DEPTH} dfix reads"
    try:
        from ruamel.yaml import YAML

        y = YAML(typ="rt")
        y.max_depth = MAX_DEPTH
        docs = tuple(y.compose_all(text))
    except RecursionError:
        return (), "it nests too deeply"
    except Exception as exc:  # noqa: BLE001 - a bad file is skipped, never an error
        if type(exc).__name__ == "MaxDepthExceededError":
            return (), f"it nests more than {MAX_DEPTH} collections deep"
        return (), None
    added = alias_expansion(docs)
    if added is None:
        return (), "an alias refers to the collection that holds it, a recursive document"
    if added > MAX_ALIAS_NODES:
        return (), f"its aliases expand to more than {MAX_ALIAS_NODES:,} nodes, an alias bomb"
    return docs, None


# Each text is parsed once per run: a caller is read by discovery, again by planning, by its kind's
# checks and the read-back comparison, so the same text came to ruamel up to a dozen times. Nodes
# are shared between callers: never mutate them.
_load = _TextCache(_parse, budget=2 * 1024 * 1024)


def compose(text: str) -> Node | None:
    """The root node of the only document, or None when the text is not YAML dfix can read (a
    syntax error, several documents, or refused: see :func:`refusal`)."""
    docs, _why = _load(text)
    return docs[0] if len(docs) == 1 else None


def compose_all(text: str) -> list[Node]:
    """The root nodes of every document (a multi-document stream), or [] when unreadable."""
    return [n for n in _load(text)[0] if n is not None]


def refusal(text: str) -> str | None:
    """Why dfix refuses to read ``text`` as YAML although it may be valid (too deep, an alias
    bomb), or None (it read it, or it is simply not YAML)."""
    return _load(text)[1]


def refused(path: str, kind: str, text: str, shown: str, why: str) -> Found:
    """A caller whose YAML dfix refused to read (:func:`refusal`): an unresolved invocation that
    blocks every fix migrating a build arg, since the file may pass any (as an unparsed Python
    build script does), with the reason on one line."""
    from .common import Found
    from .model import BuildArgUse, Invocation

    e = len(text)
    reason = f"{shown}: dfix does not read this YAML file ({why}); it may pass this build arg: migrate it by hand"
    return Found(
        Invocation(path, kind, None, None, (BuildArgUse("*", "unknown", None, 0, e),), 0, e, migratable=False, reason=reason), None
    )


def plain(text: str):
    """The only document as plain Python data (dicts, lists, scalars), or None when unreadable.

    ruamel's safe constructor builds it from a copy of the round-trip parse :func:`compose`
    made (and bounded) already, so the text is not parsed a second time; the result is a fresh
    object each call."""
    node = compose(text)
    if node is None:
        return None
    try:
        return _safe_constructor().construct_document(_copy_graph(node))
    except Exception:  # noqa: BLE001 - None: unreadable
        return None


def _safe_constructor():
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import SafeConstructor

    class Plain(SafeConstructor):
        def construct_scalar(self, node):
            value = super().construct_scalar(node)
            if node.style == ">" and isinstance(value, str):
                # the round-trip scanner marks the folds of a folded scalar with BEL
                value = value.replace("\a", "")
            return value

    return Plain(loader=YAML(typ="safe", pure=True))


def _copy_graph(root: Node) -> Node:
    """A copy of a node graph (aliases stay shared): the safe constructor rewrites mappings with
    merge keys in place, and parsed nodes are shared through the cache."""
    import copy

    memo: dict[int, Node] = {}
    order: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in memo:
            continue
        memo[id(node)] = copy.copy(node)
        order.append(node)
        stack.extend(_children(node))
    for node in order:
        new = memo[id(node)]
        if is_map(node):
            new.value = [(memo[id(k)], memo[id(v)]) for k, v in node.value]
        elif is_seq(node):
            new.value = [memo[id(k)] for k in node.value]
    return memo[id(root)]


def alias_expansion(docs: Iterable[Node | None]) -> int | None:
    """How many nodes the aliases add when every alias is expanded (``docs`` hold shared nodes),
    or None for a cycle. Iterative and linear in the distinct nodes; the counts saturate just
    above :data:`MAX_ALIAS_NODES`."""
    cap = MAX_ALIAS_NODES + 1
    size: dict[int, int] = {}
    active: set[int] = set()
    distinct = 0
    total = 0
    for root in docs:
        if root is None:
            continue
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            key = id(node)
            if done:
                kids = _children(node)
                size[key] = min(cap + distinct, 1 + sum(size[id(k)] for k in kids))
                active.discard(key)
                continue
            if key in size:
                continue
            if key in active:
                return None  # reached again while its own children are open
            active.add(key)
            distinct += 1
            stack.append((node, True))
            for k in _children(node):
                if id(k) in active:
                    return None
                if id(k) not in size:
                    stack.append((k, False))
        total += size[id(root)]
    return max(0, min(total - distinct, cap))


def _children(node: Node) -> list[Node]:
    if is_map(node):
        return [x for pair in node.value for x in pair]
    if is_seq(node):
        return list(node.value)
    return []


_FLOW_EVENTS = re.compile(r"[\[\]{}'\"#\n|>]")
_DQ_BODY = re.compile(r'(?:[^"\\]++|\\.)*+"', re.S)
_SQ_BODY = re.compile(r"(?:[^']++|'')*+'")
_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*[ \t]*(?:#[^\n]*)?(?:\r?\n|$)")
_LINE_INDENT = re.compile(r"[ ]*")


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

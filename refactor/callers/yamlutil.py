"""Locate YAML nodes with ruamel.yaml and splice text; never dump.

``ruamel.yaml``'s composer gives every node a start and end mark with a character index into the
text it was given, so edits are computed against the original text and everything dfix does not
mean to change (comments, quoting, indentation, key order, anchors) stays byte-identical.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .yaml_nodes import (
    column,
    content_end,
    end,
    flow,
    get,
    get_pair,
    indent_unit,
    is_map,
    is_scalar,
    is_seq,
    items,
    line_end,
    line_start,
    newline,
    next_line,
    scalar_view,
    start,
    style,
    sval,
)
from .yaml_scan import flow_depth

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

    from .common import Found

# The parts live in yaml_scan (the flow-depth pre-scan) and yaml_nodes (node access, offsets, scalar
# views); this module parses, bounds and caches, and is the public face callers use as ``Y``.
__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_FLOW_DEPTH",
    "alias_expansion",
    "column",
    "compose",
    "compose_all",
    "content_end",
    "end",
    "flow",
    "flow_depth",
    "get",
    "get_pair",
    "indent_unit",
    "is_map",
    "is_scalar",
    "is_seq",
    "items",
    "line_end",
    "line_start",
    "newline",
    "next_line",
    "plain",
    "refusal",
    "refused",
    "scalar_view",
    "start",
    "style",
    "sval",
]


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

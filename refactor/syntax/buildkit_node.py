"""BuildKit's AST node (:class:`Node`: value, next, children, attributes, flags) and its
``Node.Dump()`` format (:func:`dump_node`), as used by BuildKit's own parser tests.
"""

from __future__ import annotations

from dataclasses import field

from refactor.records import dataclass
from refactor.syntax.buildkit_go import _go_quote_list, go_lower, go_quote
from refactor.syntax.dockerfile import GO_SPACE

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

"""HCL bake files (``docker-bake.hcl``): the tree-sitter-hcl reader, the finder and the planner.

tree-sitter-hcl's concrete syntax tree is reduced to what the rewrite reads (:class:`Node`,
:class:`Entry`, :class:`Attr`, :class:`Block`, with character spans); a file with any syntax
error is not read. :func:`find_hcl` reports each target's ``args`` and :func:`plan_hcl` moves
migrated ones to ``secret = [...]`` with text splices.
"""

from __future__ import annotations

import json
import os
import re
from bisect import bisect_left
from dataclasses import field
from functools import lru_cache
from itertools import accumulate

from refactor.codecache import regex
from refactor.fixes.edit import Edit
from refactor.records import dataclass

from .bake_targets import BakeTarget, _migrate_entries, _nl, _resolve
from .common import Found, delete_list_item
from .model import BuildArgUse, CallerPlan, Invocation

_TEMPLATE_ONE = regex(r'"\$\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}"$')


# ------------------------------------------------------------------------------------------
# HCL: tree-sitter-hcl's concrete syntax tree, reduced to what the rewrite reads


@dataclass
class Node:
    kind: str  # obj | list | str | ident | other
    start: int
    end: int
    text: str
    entries: list = field(default_factory=list)  # obj: [Entry]; list: [Node]


@dataclass
class Entry:
    key: str
    value: Node
    start: int
    end: int  # end of the value


@dataclass
class Attr:
    name: str
    start: int
    end: int
    value: Node


@dataclass
class Block:
    type: str
    labels: list[str]
    start: int
    end: int
    attrs: dict[str, Attr] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)


def _char_offsets(text: str, data: bytes):
    """Map byte offsets into ``data`` (``text`` in UTF-8, surrogates passed), as tree-sitter
    reports them, to offsets into ``text``."""
    if len(data) == len(text):
        return lambda b: b
    starts = list(accumulate((1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4 for o in map(ord, text)), initial=0))
    return lambda b: bisect_left(starts, b)


@lru_cache(maxsize=1)
def _parser():
    import tree_sitter_hcl
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_hcl.language()))


# the single node under an `expression` that decides its kind (anything else: "other")
_KIND = {"variable_expr": "ident", "template_expr": "str", "string_lit": "str", "bool_lit": "ident", "null_lit": "ident"}


class _Tree:
    def __init__(self, text: str, data: bytes) -> None:
        self.text, self.data = text, data
        self.pos = _char_offsets(text, data)

    def src(self, n) -> str:
        return self.text[self.pos(n.start_byte) : self.pos(n.end_byte)]

    def expr(self, n) -> Node:
        s, e = self.pos(n.start_byte), self.pos(n.end_byte)
        kids = n.named_children
        one = kids[0] if len(kids) == 1 else None
        if one is not None and one.type in ("literal_value", "collection_value"):
            one = one.named_children[0]
        kind = _KIND.get(one.type, "other") if one is not None else "other"
        entries: list = []  # obj: [Entry]; list: [Node] (see Node.entries)
        if one is not None and one.type == "object":
            kind, entries = "obj", [self.entry(c) for c in one.named_children if c.type == "object_elem"]
        elif one is not None and one.type == "tuple":
            kind, entries = "list", [self.expr(c) for c in one.named_children if c.type == "expression"]
        return Node(kind, s, e, self.text[s:e], entries)

    def entry(self, n) -> Entry:
        k, v = (self.expr(c) for c in n.named_children if c.type == "expression")
        key = k.text[1:-1] if k.kind == "str" and k.text.startswith('"') else k.text
        return Entry(key, v, k.start, v.end)

    def body(self, n) -> tuple[dict[str, Attr], list[Block]]:
        attrs: dict[str, Attr] = {}
        blocks: list[Block] = []
        prev = None
        for c in n.named_children if n is not None else ():
            if c.type == "comment":
                continue
            if prev is not None and not any(ch in self.data[prev.end_byte : c.start_byte] for ch in b"\n\r"):
                raise ValueError("two items on one line")  # HCL wants a newline after each; the grammar does not
            prev = c
            if c.type == "attribute":
                name = self.src(c.named_children[0])
                value = self.expr(next(k for k in reversed(c.named_children) if k.type == "expression"))
                attrs[name] = Attr(name, self.pos(c.start_byte), value.end, value)
            elif c.type == "block":
                kids = c.named_children
                labels = []
                for lab in kids[1:]:
                    if lab.type not in ("string_lit", "identifier"):
                        break
                    labels.append(self.src(lab)[1:-1] if lab.type == "string_lit" else self.src(lab))
                a, b = self.body(next((k for k in kids if k.type == "body"), None))
                blocks.append(Block(self.src(kids[0]), labels, self.pos(c.start_byte), self.pos(c.end_byte), a, b))
        return attrs, blocks


def parse_hcl(text: str) -> tuple[dict[str, Attr], list[Block]] | None:
    """Top-level attributes and blocks of an HCL file, or None when it does not parse: a file with
    any ERROR or MISSING node is not read at all (its edits could land in what the parser skipped)."""
    data = text.encode("utf-8", "surrogatepass")
    root = _parser().parse(data).root_node
    if root.has_error:
        return None
    try:
        return _Tree(text, data).body(next((c for c in root.named_children if c.type == "body"), None))
    except (ValueError, StopIteration, RecursionError):
        return None


def _hcl_str(node: Node | None, variables: dict[str, str | None]) -> str | None:
    """Static value of a string node, with ``${VAR}`` replaced by static variable defaults."""
    if node is None or node.kind != "str" or not node.text.startswith('"'):
        return None
    body = node.text[1:-1]

    def sub(m: re.Match) -> str:
        v = variables.get(m.group(1))
        if v is None:
            raise KeyError(m.group(1))
        return v

    try:
        out = re.sub(r"\$\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}", sub, body)
    except KeyError:
        return None
    if "${" in out or "%{" in out:
        return None
    return out.replace('\\"', '"').replace("\\\\", "\\")


def _hcl_value(node: Node, variables: dict) -> tuple[str, str | None]:
    if node.kind == "ident":
        if node.text in ("true", "false"):
            return "literal", None
        if node.text == "null":
            return "unknown", None
        return "env", node.text
    if node.kind == "str" and node.text.startswith('"'):
        m = _TEMPLATE_ONE.match(node.text)
        if m:
            return "env", m.group(1)
        if "${" not in node.text and "%{" not in node.text:
            return "literal", None
        return "unknown", None
    if node.kind == "other" and re.fullmatch(r"-?\d+(\.\d+)?", node.text):
        return "literal", None
    return "unknown", None


def _variables_hcl(blocks: list[Block]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for b in blocks:
        if b.type == "variable" and b.labels:
            d = b.attrs.get("default")
            out[b.labels[0]] = _hcl_str(d.value, {}) if d is not None else ""
    return out


def find_hcl(path: str, text: str, root: str | None) -> list[Found]:
    parsed = parse_hcl(text)
    if parsed is None:
        return []
    _attrs, blocks = parsed
    variables = _variables_hcl(blocks)
    targets = {b.labels[0]: b for b in blocks if b.type == "target" and b.labels}
    found = []
    for name, b in targets.items():
        args_attr = b.attrs.get("args")
        if args_attr is None or args_attr.value.kind != "obj" or not args_attr.value.entries:
            continue
        entries = []
        for e in args_attr.value.entries:
            kind, src = _hcl_value(e.value, variables)
            entries.append((e.key, kind, src, e.start, e.end, e))
        sec = b.attrs.get("secret")
        bt = BakeTarget(name, b, args_attr.value, args_attr, entries, sec.value if sec else None)

        def chain_of(b: Block, seen: set) -> list[Block]:
            out = [b]
            inh = b.attrs.get("inherits")
            if inh is not None and inh.value.kind == "list":
                for it in inh.value.entries:
                    parent = targets.get(_hcl_str(it, variables) or "") if it.kind == "str" else None
                    if parent is not None and id(parent) not in seen:
                        seen.add(id(parent))
                        out.extend(chain_of(parent, seen))
            return out

        def get(chain, key):
            for blk in chain:
                a = blk.attrs.get(key)
                if a is not None:
                    v = _hcl_str(a.value, variables)
                    return False if v is None else v
            return None

        dockerfile, context = _resolve(path, chain_of(b, {id(b)}), get) if root is not None else (None, None)
        uses = tuple(BuildArgUse(n, k, s, st, en) for n, k, s, st, en, _ in entries)
        found.append(Found(Invocation(path, "bake-hcl", dockerfile, context, uses, b.start, b.end), (bt, variables)))
    return found


def _line_bounds(text: str, s: int, e: int) -> tuple[int, int, bool]:
    """Whole-line span of [s, e) and whether nothing else shares those lines."""
    ls = text.rfind("\n", 0, s) + 1
    le = text.find("\n", e)
    le = len(text) if le < 0 else le
    rest = text[e:le].strip()
    if rest.startswith(","):
        rest = rest[1:].strip()
    alone = text[ls:s].strip() == "" and (rest == "" or rest.startswith(("#", "//")))
    return ls, min(le + 1, len(text)), alone


def _delete_item(text: str, s: int, e: int) -> Edit:
    ls, le, alone = _line_bounds(text, s, e)
    if alone:
        # a trailing inline comment after the comma would be lost with the line: fine, it described the entry
        return Edit(ls, le, "")
    return delete_list_item(text, s, e, after_ws=" \t", before_ws=" \t")


def plan_hcl(path: str, text: str, groups: list, result: CallerPlan) -> None:
    shown = os.path.basename(path)
    nl = _nl(text)
    for found, migrated in groups:
        bt, variables = found.data
        where = f"{shown} target {bt.name}"
        items = _migrate_entries(bt, migrated, variables, where, result)
        if not items:
            continue
        removed = [en for en, _ in items]
        secrets = [s for _, s in items if s]
        all_gone = len(removed) == len(bt.entries)
        attr = bt.args_attr
        if all_gone:
            ls, le, alone = _line_bounds(text, attr.start, attr.end)
            if not alone:
                result.add_unmigratable(f"{where}: args shares its line with other attributes; migrate it by hand")
                continue
            col_text = text[ls : attr.start]
            if bt.secret is None and secrets:
                lits = ", ".join(json.dumps(s) for s in secrets)
                result.edits.append(Edit(ls, le, f"{col_text}secret = [{lits}]{nl}"))
            elif bt.secret is None:
                result.edits.append(Edit(ls, le, ""))
            else:
                result.edits.append(Edit(ls, le, ""))
                _append_list(text, bt.secret, secrets, nl, result)
            continue
        for en in removed:
            result.edits.append(_delete_item(text, en[3], en[4]))
        if bt.secret is None and secrets:
            ls, le, _ = _line_bounds(text, attr.start, attr.end)
            col_text = text[ls : attr.start]
            lits = ", ".join(json.dumps(s) for s in secrets)
            result.edits.append(Edit(le, le, f"{col_text}secret = [{lits}]{nl}"))
        else:
            _append_list(text, bt.secret, secrets, nl, result)


def _append_list(text: str, lst: Node, values: list[str | None], nl: str, result: CallerPlan) -> None:
    values = [v for v in values if v]
    if not values:
        return
    if lst.kind != "list":  # secret = VAR, secret = concat(…): not a list dfix can extend
        result.add_unmigratable("the target's secret attribute is not a literal list; add the secrets by hand")
        return
    lits = [json.dumps(v) for v in values]
    close = lst.end - 1
    if not lst.entries:
        result.edits.append(Edit(close, close, ", ".join(lits)))
        return
    last = lst.entries[-1]
    between = text[last.end : close]
    if "\n" in between:
        ls = text.rfind("\n", 0, last.start) + 1
        ind = text[ls : last.start]
        stripped = between.lstrip(" \t")
        if stripped.startswith(","):
            at = last.end + (len(between) - len(stripped)) + 1
            result.edits.append(Edit(at, at, "".join(f"{nl}{ind}{v}," for v in lits)))
        else:
            result.edits.append(Edit(last.end, last.end, "".join(f",{nl}{ind}{v}" for v in lits)))
    else:
        result.edits.append(Edit(last.end, last.end, "".join(f", {v}" for v in lits)))

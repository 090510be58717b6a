"""docker buildx bake files: ``args`` entries → ``secret = ["id=<id>,env=<VAR>"]``.

::

    target "app" {                          target "app" {
      args = {                                secret = ["id=npm_token,env=NPM_TOKEN"]
        NPM_TOKEN = NPM_TOKEN               }
      }
    }

HCL is read with tree-sitter-hcl, whose concrete syntax tree keeps the byte span of every
attribute, object entry and list item; a file with a syntax error is not read (nor rewritten). JSON
bake files get the same rewrite through a span-keeping JSON reader.

A value that is a bake variable (``NPM_TOKEN``, ``"${NPM_TOKEN}"``) becomes ``env=<variable>``:
bake variables are read from the environment variable of the same name, and so is ``env=``. A
variable's committed default is *not* read by ``env=``: the plan says so (and reports the name for
rotation when the default is non-empty). A literal is removed and reported for rotation; the secret
reads ``env=<NAME>``. Anything else (``"${A}-${B}"``, a function call) is not migrated.
Dockerfile paths: ``context`` is relative to the bake file, ``dockerfile`` to the context;
``inherits`` is followed.
"""

from __future__ import annotations

import json
import os
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from typing import cast

from refactor.build import SecretSpec
from refactor.fixes.edit import Edit

from .common import Found, delete_list_item
from .model import BuildArgUse, CallerPlan, Invocation

_TEMPLATE_ONE = re.compile(r'"\$\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}"$')

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


@dataclass
class BakeTarget:
    name: str
    block: object  # Block (HCL) or JNode (JSON)
    args: object  # args Node / JNode
    args_attr: object  # Attr (HCL) / member (JSON)
    entries: list  # [(name, kind, source, start, end, entry)]
    secret: object  # list node of the existing secret attribute, or None


def _variables_hcl(blocks: list[Block]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for b in blocks:
        if b.type == "variable" and b.labels:
            d = b.attrs.get("default")
            out[b.labels[0]] = _hcl_str(d.value, {}) if d is not None else ""
    return out


def _resolve(path: str, chain: list, get) -> tuple[str | None, str | None]:
    base = os.path.dirname(path)
    ctx = get(chain, "context")
    df = get(chain, "dockerfile")
    if ctx is False or df is False:
        return None, None
    ctx = ctx or "."
    if re.match(r"^[a-z][a-z0-9+.-]*://|^git@|^cwd://", ctx):
        if ctx.startswith("cwd://"):
            ctx = ctx[len("cwd://") :]
        else:
            return None, None
    context = os.path.realpath(os.path.join(base, ctx))
    if get(chain, "dockerfile-inline"):
        return None, context
    df = df or "Dockerfile"
    if df.startswith("cwd://"):
        return os.path.realpath(os.path.join(base, df[len("cwd://") :])), context
    return os.path.realpath(os.path.join(context, df)), context


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


def _nl(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


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


def _migrate_entries(bt: BakeTarget, migrated: dict[str, SecretSpec], variables: dict, where: str, result: CallerPlan) -> list:
    have = _existing_ids(bt)
    out: list[tuple[tuple, str | None]] = []  # (entry, its --secret value or None)
    for en in bt.entries:
        name, kind, src = en[0], en[1], en[2]
        if name not in migrated:
            continue
        spec = migrated[name]
        if spec is None:  # the ARG is gone and nothing reads it
            if kind == "literal":
                result.add_rotate(name)
                result.add_note(f"{where}: the committed value of {name} was removed (it must be rotated)")
            out.append((en, None))
            continue
        if kind == "unknown":
            result.add_unmigratable(f"{where}: the value of {name} is not one variable; bake cannot pass it as a secret")
            continue
        if spec.type != "env":
            result.add_unmigratable(f"{where}: {name} needs a file secret ({spec.cli()}); add it by hand")
            continue
        env = src if kind == "env" and src else name
        if kind == "literal":
            result.add_rotate(name)
            result.add_note(f"{where}: the committed value of {name} was removed (it must be rotated); export {name} before running bake")
        if kind == "env" and src in variables and variables[src]:
            result.add_rotate(name)
            result.add_note(
                f"{where}: variable {src} has a committed default that env= does not read; remove the default (it must be rotated) and export {src}"
            )
        if spec.id in have:
            out.append((en, None))  # the secret is there already: only the arg goes
            continue
        have.add(spec.id)
        out.append((en, f"id={spec.id},env={env}"))
    return out


def _existing_ids(bt: BakeTarget) -> set[str]:
    ids: set[str] = set()
    lst = bt.secret
    if lst is None:
        return ids
    items = lst.entries if hasattr(lst, "entries") else []
    for it in items:
        txt = getattr(it, "text", "")
        m = re.search(r"(?:^|[\",])id=([^,\"]+)", txt)
        if m:
            ids.add(m.group(1))
    return ids


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


# ------------------------------------------------------------------------------------------
# JSON


@dataclass
class J:
    kind: str  # obj | arr | str | other
    start: int
    end: int
    value: str | None = None  # str: the decoded string; other: its text; obj/arr: None
    members: list = field(default_factory=list)  # obj: [(key, key_start, J)]; arr: [J]


class _JP:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t\r\n":
            self.i += 1

    def value(self) -> J:
        self.ws()
        c = self.s[self.i]
        if c == "{":
            st = self.i
            self.i += 1
            members: list[tuple[str, int, J]] = []
            self.ws()
            if self.s[self.i] == "}":
                self.i += 1
                return J("obj", st, self.i, None, members)
            while True:
                self.ws()
                ks = self.i
                k = self.string()
                self.ws()
                if self.s[self.i] != ":":
                    raise ValueError("expected :")
                self.i += 1
                v = self.value()
                members.append((cast(str, k.value), ks, v))  # string() returns a str node
                self.ws()
                if self.s[self.i] == ",":
                    self.i += 1
                    continue
                if self.s[self.i] == "}":
                    self.i += 1
                    return J("obj", st, self.i, None, members)
                raise ValueError("expected , or }")
        if c == "[":
            st = self.i
            self.i += 1
            items: list[J] = []
            self.ws()
            if self.s[self.i] == "]":
                self.i += 1
                return J("arr", st, self.i, None, items)
            while True:
                items.append(self.value())
                self.ws()
                if self.s[self.i] == ",":
                    self.i += 1
                    continue
                if self.s[self.i] == "]":
                    self.i += 1
                    return J("arr", st, self.i, None, items)
                raise ValueError("expected , or ]")
        if c == '"':
            return self.string()
        m = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null").match(self.s, self.i)
        if not m:
            raise ValueError("bad value")
        self.i = m.end()
        return J("other", m.start(), m.end(), m.group(0))

    def string(self) -> J:
        st = self.i
        if self.s[st] != '"':
            raise ValueError("expected string")
        j = st + 1
        while self.s[j] != '"':
            j += 2 if self.s[j] == "\\" else 1
        self.i = j + 1
        return J("str", st, self.i, json.loads(self.s[st : self.i]))


def parse_json(text: str) -> J | None:
    try:
        p = _JP(text)
        v = p.value()
        p.ws()
        if p.i != len(text):
            return None
        return v
    except (ValueError, IndexError):
        return None


def _jget(obj: J | None, key: str):
    if obj is None or obj.kind != "obj":
        return None
    for k, ks, v in obj.members:
        if k == key:
            return (k, ks, v)
    return None


def _json_value(v: J) -> tuple[str, str | None]:
    if v.kind == "str":
        s = cast(str, v.value)  # a str node holds its decoded string
        m = re.fullmatch(r"\$\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}", s)
        if m:
            return "env", m.group(1)
        if "${" not in s:
            return "literal", None
        return "unknown", None
    if v.kind == "other" and v.value != "null":
        return "literal", None
    return "unknown", None


def find_json(path: str, text: str, root: str | None) -> list[Found]:
    doc = parse_json(text)
    if doc is None or doc.kind != "obj":
        return []
    tg = _jget(doc, "target")
    if tg is None or tg[2].kind != "obj":
        return []
    variables: dict[str, str | None] = {}
    vg = _jget(doc, "variable")
    if vg is not None and vg[2].kind == "obj":
        for k, _ks, v in vg[2].members:
            d = _jget(v, "default")
            variables[k] = d[2].value if d is not None and d[2].kind == "str" else ("" if d is None else None)
    targets = {k: v for k, _ks, v in tg[2].members if v.kind == "obj"}
    found = []
    for name, t in targets.items():
        am = _jget(t, "args")
        if am is None or am[2].kind != "obj" or not am[2].members:
            continue
        entries = []
        for k, ks, v in am[2].members:
            kind, src = _json_value(v)
            entries.append((k, kind, src, ks, v.end, (k, ks, v)))
        sm = _jget(t, "secret")
        bt = BakeTarget(name, t, am[2], am, entries, sm[2] if sm else None)

        def chain_of(t: J, seen: set) -> list[J]:
            out = [t]
            inh = _jget(t, "inherits")
            if inh is not None and inh[2].kind == "arr":
                for it in inh[2].members:
                    parent = targets.get(it.value) if it.kind == "str" else None
                    if parent is not None and id(parent) not in seen:
                        seen.add(id(parent))
                        out.extend(chain_of(parent, seen))
            return out

        def get(chain, key):
            for blk in chain:
                m = _jget(blk, key)
                if m is not None:
                    if m[2].kind != "str":
                        return False
                    val = m[2].value
                    try:
                        val = re.sub(r"\$\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}", lambda mm: _must(variables.get(mm.group(1))), val)
                    except KeyError:
                        return False
                    return val
            return None

        dockerfile, context = _resolve(path, chain_of(t, {id(t)}), get) if root is not None else (None, None)
        uses = tuple(BuildArgUse(n, k, s, st, en) for n, k, s, st, en, _ in entries)
        found.append(Found(Invocation(path, "bake-json", dockerfile, context, uses, t.start, t.end), (bt, variables)))
    return found


def _must(v):
    if v is None:
        raise KeyError
    return v


def _json_member_delete(text: str, obj: J, index: int) -> Edit:
    """Delete member ``index`` of ``obj`` with the comma that separates it."""
    members = obj.members
    _k, ks, v = members[index]
    if index + 1 < len(members):
        nxt_start = members[index + 1][1]
        ls = text.rfind("\n", 0, ks) + 1
        if text[ls:ks].strip() == "":
            nls = text.rfind("\n", 0, nxt_start) + 1
            if text[nls:nxt_start].strip() == "":
                return Edit(ls, nls, "")
        return Edit(ks, nxt_start, "")
    if index > 0:
        prev_end = members[index - 1][2].end
        return Edit(prev_end, v.end, "")
    # the only member: empty the object
    return Edit(obj.start + 1, obj.end - 1, "")


def plan_json(path: str, text: str, groups: list, result: CallerPlan) -> None:
    shown = os.path.basename(path)
    nl = _nl(text)
    for found, migrated in groups:
        bt, variables = found.data
        where = f"{shown} target {bt.name}"
        items = _migrate_entries(bt, migrated, variables, where, result)
        if not items:
            continue
        removed_idx = [i for i, en in enumerate(bt.entries) if any(en is x for x, _ in items)]
        secrets = [s for _, s in items if s]
        args_obj: J = bt.args
        t: J = bt.block
        all_gone = len(removed_idx) == len(bt.entries)
        _ak, aks, av = bt.args_attr
        ls = text.rfind("\n", 0, aks) + 1
        ind = text[ls:aks] if text[ls:aks].strip() == "" else "  "
        if bt.secret is not None:
            _json_append(text, bt.secret, secrets, nl, result)
        if all_gone:
            if bt.secret is None and secrets:
                arr = "[" + ", ".join(json.dumps(s) for s in secrets) + "]"
                result.edits.append(Edit(aks, av.end, f'"secret": {arr}'))
            else:
                idx = next(i for i, m in enumerate(t.members) if m[1] == aks)
                result.edits.append(_json_member_delete(text, t, idx))
            continue
        for i in removed_idx:
            result.edits.append(_json_member_delete(text, args_obj, i))
        if bt.secret is None and secrets:
            arr = "[" + ", ".join(json.dumps(s) for s in secrets) + "]"
            sep = f",{nl}{ind}" if "\n" in text[t.start : t.end] else ", "
            result.edits.append(Edit(av.end, av.end, f'{sep}"secret": {arr}'))


def _json_append(text: str, arr: J, values: list[str], nl: str, result: CallerPlan) -> None:
    if not values or arr.kind != "arr":
        return
    lits = [json.dumps(v) for v in values]
    if not arr.members:
        result.edits.append(Edit(arr.start + 1, arr.start + 1, ", ".join(lits)))
        return
    last = arr.members[-1]
    between = text[last.end : arr.end - 1]
    if "\n" in between:
        ls = text.rfind("\n", 0, last.start) + 1
        ind = text[ls : last.start]
        result.edits.append(Edit(last.end, last.end, "".join(f",{nl}{ind}{v}" for v in lits)))
    else:
        result.edits.append(Edit(last.end, last.end, "".join(f", {v}" for v in lits)))

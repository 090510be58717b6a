"""JSON bake files (``docker-bake.json``): a span-keeping JSON reader, the finder and the planner.

:class:`_JP` parses JSON into :class:`J` nodes that keep their character spans, so
:func:`find_json` and :func:`plan_json` give JSON bake files the same ``args`` → ``secret``
rewrite as HCL, as text splices.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import field
from typing import cast

from refactor.fixes.edit import Edit
from refactor.records import dataclass

from .bake_targets import BakeTarget, _migrate_entries, _nl, _resolve
from .common import Found
from .model import BuildArgUse, CallerPlan, Invocation

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

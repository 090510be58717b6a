"""The carriers of one secret, for :mod:`refactor.fixes.mounts`: the ARG declarations and the ENV
keys that copy (alias) or embed (composite) its value, each judged at its own definition, and how a
RUN that reads one gets it back (a secret mount, or an export of the composite after its carriers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from refactor.analysis.facts import Facts, VarItem
from refactor.fixes.edit import Applicability
from refactor.fixes.plan import SecretPlan


class Carriers:
    """The items that hold secret ``name``'s value: its ARG declarations, and the ENV keys that
    copy (alias) or embed (composite) it, each judged at its own definition. Items, not names:
    the same key defined in two stages is two carriers, and a key redefined without the secret
    is none."""

    def __init__(self, name: str, facts: Facts):
        self.name = name
        self.facts = facts
        self.items: list[VarItem] = []  # in the order added (read-only: add() keeps the indexes)
        self._ids: set[int] = set()
        self._names: set[str] = {name}
        self._aliases: dict[int, tuple[bool, int]] = {}  # id(item) -> (_alias, len(items) then)
        self._mounted: dict[int, tuple[int, set[str]]] = {}  # id(a RUN's mount list) -> see _mount

    def add(self, item: VarItem) -> None:
        self.items.append(item)
        self._ids.add(id(item))
        self._names.add(item.name)

    @property
    def names(self) -> set[str]:
        return self._names

    def carries(self, item: VarItem) -> bool:
        if item.kind == "ARG":
            return item.name == self.name
        return id(item) in self._ids

    def defines(self, item: VarItem) -> bool:
        """An ENV/LABEL item whose value references a carrier visible where it is defined."""
        if not item.refs:
            return False
        if item.onbuild or item.stage < 0:
            return any(r in self.names for r in item.refs)
        vis = self.facts.visible_at(item.instr)
        return any(r in vis and self.carries(vis[r]) for r in item.refs)

    def live(self, vis: Mapping[str, VarItem], among: Iterable[str] | None = None) -> list[str]:
        """The names in ``vis`` whose item carries the secret, in ``vis`` order. Looked up by the
        carriers' names (a carrier is named ``self.name`` or one of ``self.items``), not by walking
        every visible variable for every secret and RUN. ``among``: only those of these names (the
        names a RUN references: 1,000 aliases asked of 1,000 RUNs was quadratic)."""
        names = self.names if among is None else [n for n in among if n in self._names]
        hits = [n for n in names if n in vis and self.carries(vis[n])]
        if len(hits) > 1:
            found = set(hits)
            hits = [n for n in vis if n in found]
        return hits

    def need(self, plan: SecretPlan, idx: int, n: str, why: str, vis: Mapping[str, VarItem]) -> None:
        """Give the RUN at ``idx`` variable ``n`` with the value it had: a mount for the ARG or an
        alias, an export (after those of its own carriers, transitively) for a composite."""
        item = vis.get(n)
        if item is None or not self.carries(item):
            return
        if item.kind == "ARG" or self._alias(item):
            self._mount(plan, idx, n, why)
            return
        self._export(plan, idx, item, why, vis, set())

    def _alias(self, item: VarItem) -> bool:
        """Whether ``item`` is the secret under another name (``ENV B=$A`` of an alias ``A``).
        Memoized: a True stays true as carriers are added; a False holds until one is."""
        got = self._aliases.get(id(item))
        if got is not None and (got[0] or got[1] == len(self.items)):
            return got[0]
        chain: list[VarItem] = []  # followed iteratively: ENV A1=$A0 … A2000=$A1999 is a chain, not a recursion
        cur: VarItem | None = item
        result = False
        while cur is not None:
            memo = self._aliases.get(id(cur)) if cur is not item else None
            if memo is not None and (memo[0] or memo[1] == len(self.items)):
                result = memo[0]
                break
            chain.append(cur)
            if not cur.is_reference:
                break
            ref = cur.refs[0]
            if cur.onbuild or cur.stage < 0:
                result = ref in self.names
                break
            at_def = self.facts.visible_at(cur.instr).get(ref)
            if at_def is None:
                break
            if at_def.kind == "ARG" and at_def.name == self.name:
                result = True
                break
            if not self.carries(at_def) or len(chain) > len(self.items) + 1:
                break
            cur = at_def
        for x in chain:
            self._aliases[id(x)] = (result, len(self.items))
        return result

    def _mount(self, plan: SecretPlan, idx: int, env: str, why: str) -> None:
        mounts = plan.mounts.setdefault(idx, [])
        # the env names mounted on the RUN, as of len(mounts) (a RUN seeing 8,000 aliases of the
        # secret was scanned once per alias); rebuilt if the list grew elsewhere
        known = self._mounted.get(id(mounts))
        if known is None or known[0] != len(mounts):
            known = self._mounted[id(mounts)] = (len(mounts), {e for _s, e, _w in mounts})
        if env not in known[1]:
            mounts.append((plan.id, env, why))
            known[1].add(env)
            self._mounted[id(mounts)] = (len(mounts), known[1])

    def _export(self, plan: SecretPlan, idx: int, item: VarItem, why: str, vis: Mapping[str, VarItem], seen: set) -> None:
        if id(item) in seen:
            return
        seen.add(id(item))
        at_def = self.facts.visible_at(item.instr) if item.stage >= 0 and not item.onbuild else vis
        ins = self.facts.df.instructions[idx]
        for r in dict.fromkeys(item.refs):
            dep = at_def.get(r)
            here = vis.get(r)
            if dep is not None and self.carries(dep):
                if dep.kind == "ARG" or self._alias(dep):
                    if here is not None and here is not dep and not self.carries(here):
                        plan.fix.lower(
                            Applicability.DISPLAY_ONLY,
                            f"line {ins.start_line}: {item.name} embeds {r}, which holds another value in this RUN",
                        )
                    self._mount(plan, idx, r if dep.kind != "ARG" else self.name, why)
                else:
                    self._export(plan, idx, dep, why, vis, seen)
            elif here is not dep:
                # a non-secret part of the value that this RUN would expand differently
                plan.fix.lower(
                    Applicability.DISPLAY_ONLY,
                    f"line {ins.start_line}: {item.name} embeds {r}, which this RUN does not see with the same value",
                )
        line = f'{item.name}="{_dq(item.value or "")}"'
        exports = plan.exports.setdefault(idx, [])
        if line not in exports:
            exports.append(line)
        if not plan.mounts.get(idx):  # a composite of no visible carrier (ONBUILD): the ARG's name
            self._mount(plan, idx, self.name, why)


def _dq(value: str) -> str:
    """Text for inside double quotes in sh: keep $ expansions, escape quotes and backquotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")

"""The carriers of one secret, for :mod:`refactor.fixes.mounts`: the ARG declarations and the ENV
keys that copy (alias) or embed (composite) its value, each judged at its own definition, and how a
RUN that reads one gets it back (a secret mount, or an export of the composite after its carriers).
"""

from __future__ import annotations

from collections.abc import Mapping

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
        self.items: list[VarItem] = []

    @property
    def names(self) -> set[str]:
        return {self.name} | {i.name for i in self.items}

    def carries(self, item: VarItem) -> bool:
        if item.kind == "ARG":
            return item.name == self.name
        return any(item is c for c in self.items)

    def defines(self, item: VarItem) -> bool:
        """An ENV/LABEL item whose value references a carrier visible where it is defined."""
        if not item.refs:
            return False
        if item.onbuild or item.stage < 0:
            return any(r in self.names for r in item.refs)
        vis = self.facts.visible_at(item.instr)
        return any(r in vis and self.carries(vis[r]) for r in item.refs)

    def live(self, vis: Mapping[str, VarItem]) -> list[str]:
        """The names in ``vis`` whose item carries the secret, in ``vis`` order. Looked up by the
        carriers' names (a carrier is named ``self.name`` or one of ``self.items``), not by walking
        every visible variable for every secret and RUN."""
        names = self.names
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
        if not item.is_reference:
            return False
        ref = item.refs[0]
        if item.onbuild or item.stage < 0:
            return ref in self.names
        at_def = self.facts.visible_at(item.instr).get(ref)
        return at_def is not None and (
            (at_def.kind == "ARG" and at_def.name == self.name) or (self.carries(at_def) and self._alias(at_def))
        )

    def _mount(self, plan: SecretPlan, idx: int, env: str, why: str) -> None:
        if not any(e == env for _s, e, _w in plan.mounts.get(idx, [])):
            plan.mounts.setdefault(idx, []).append((plan.id, env, why))

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

"""Which ARG/ENV items an instruction sees, without rebuilding a stage's scope per instruction.

BuildKit's scoping, as :meth:`refactor.analysis.facts.Facts.visible_at` states it: a stage sees its
parent stage's variables and its own ARG/ENV from their declaration on; an ENV hides a later ARG of
the same name; LABELs are not variables; an ONBUILD trigger runs in the downstream build, so it sees
the stage's ENV and earlier triggers' items but none of this build's ARGs.

The scope of every instruction of a stage is a prefix of one sequence of updates, so a
:class:`Layer` is built once per (stage, mode) and :class:`Visible` is a read-only mapping over a
prefix of it: lookups bisect, nothing is copied. Building a dict per RUN was quadratic in the
number of ENV lines (9,500 RUNs under 9,500 ENVs: 10.8 s).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from refactor.analysis.facts import VarItem

NORMAL, TRIGGER, ENV_ONLY = "normal", "trigger", "env-only"


def _admits(it: VarItem, mode: str) -> bool:
    if it.kind == "LABEL":
        return False
    if mode == NORMAL:
        return not it.onbuild
    if mode == ENV_ONLY:  # a parent stage seen from a trigger: its ENV, never its ARGs or triggers
        return not it.onbuild and it.kind == "ENV"
    return it.onbuild or it.kind == "ENV"  # TRIGGER: the stage's ENV and the triggers' own items


class Layer:
    """One stage's updates to the scope in order (after the ENV-hides-ARG rule), over its parent's
    complete scope."""

    __slots__ = ("_firsts", "_jumps", "_new", "_reg", "_slots", "_total", "depth", "instrs", "parent")

    def __init__(self, parent: Layer | None, items: Sequence[VarItem], mode: str) -> None:
        self.parent = parent
        self.depth: int = 0 if parent is None else parent.depth + 1
        # the 1st, 2nd, 4th, … ancestor (an ancestor test in log(depth) steps)
        self._jumps: list[Layer] = []
        up = parent
        while up is not None:
            self._jumps.append(up)
            k = len(self._jumps) - 1
            up = up._jumps[k] if k < len(up._jumps) else None
        # name -> the layers of this tree defining it, in the order built (shared with the root's)
        self._reg: dict[str, list[Layer]] = {} if parent is None else parent._reg
        self._total: int | None = None
        self.instrs: list[int] = []
        self._slots: dict[str, tuple[list[int], list[VarItem]]] = {}
        self._new: list[str] = []  # names the parent does not have, in order of first update
        self._firsts: list[int] = []  # the update index of each of those
        for it in items:
            if not _admits(it, mode):
                continue
            if it.kind == "ARG":
                cur = self.get(it.name, len(self.instrs))
                if cur is not None and cur.kind == "ENV":
                    continue  # ENV overrides ARG of the same name
            k = len(self.instrs)
            self.instrs.append(it.instr)
            slot = self._slots.get(it.name)
            if slot is None:
                slot = self._slots[it.name] = ([], [])
                self._reg.setdefault(it.name, []).append(self)
                if parent is None or parent.get(it.name) is None:
                    self._new.append(it.name)
                    self._firsts.append(k)
            slot[0].append(k)
            slot[1].append(it)

    def get(self, name: str, cut: int | None = None) -> VarItem | None:
        """The item defining ``name`` after the first ``cut`` updates (all when None)."""
        slot = self._slots.get(name)
        if slot is not None:
            if cut is None:
                return slot[1][-1]
            k = bisect_left(slot[0], cut)
            if k:
                return slot[1][k - 1]
        return None if self.parent is None else self.parent._complete(name)

    def _complete(self, name: str) -> VarItem | None:
        """``name`` in this layer's complete scope: the deepest of the layers defining it that is
        this one or an ancestor (found through the tree's index, not by walking a chain of 8,000
        stages per question), else None."""
        for layer in reversed(self._reg.get(name, ())):
            if layer.depth <= self.depth and self._ancestor(self.depth - layer.depth) is layer:
                return layer._slots[name][1][-1]
        return None

    def _ancestor(self, up: int) -> Layer | None:
        layer: Layer | None = self
        k = 0
        while up and layer is not None:
            if up & 1:
                layer = layer._jumps[k] if k < len(layer._jumps) else None
                if layer is None:
                    return None
            up >>= 1
            k += 1
        return layer

    def _chain(self) -> list[Layer]:
        """This layer's ancestors and itself, root first (iterative: chains are thousands deep)."""
        out: list[Layer] = []
        layer: Layer | None = self
        while layer is not None:
            out.append(layer)
            layer = layer.parent
        return out[::-1]

    def names(self, cut: int | None = None) -> Iterator[str]:
        chain = self._chain()
        for layer in chain[:-1]:
            yield from layer._new
        yield from self._new[: self.size(cut)]

    def size(self, cut: int | None = None) -> int:
        """How many of this layer's new names the first ``cut`` updates declare."""
        return len(self._new) if cut is None else bisect_left(self._firsts, cut)

    def count(self, cut: int | None = None) -> int:
        if self.parent is None:
            return self.size(cut)
        if self.parent._total is None:
            for layer in self.parent._chain():  # root first: each total from its parent's
                if layer._total is None:
                    layer._total = (0 if layer.parent is None else layer.parent._total or 0) + len(layer._new)
        return (self.parent._total or 0) + self.size(cut)

    def at(self, instr: int) -> Visible:
        """The scope of instruction ``instr``: the updates made before it."""
        return Visible(self, bisect_left(self.instrs, instr))


class Visible(Mapping[str, "VarItem"]):
    """A read-only view: name -> the item that defines it, in the order names were first declared
    (the order a dict built item by item would have)."""

    __slots__ = ("_cut", "_layer")

    def __init__(self, layer: Layer | None, cut: int = 0) -> None:
        self._layer = layer
        self._cut = cut

    def __getitem__(self, name: str) -> VarItem:
        got = None if self._layer is None else self._layer.get(name, self._cut)
        if got is None:
            raise KeyError(name)
        return got

    def get(self, name: str, default=None):
        got = None if self._layer is None else self._layer.get(name, self._cut)
        return default if got is None else got

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._layer is not None and self._layer.get(name, self._cut) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(()) if self._layer is None else self._layer.names(self._cut)

    def __len__(self) -> int:
        return 0 if self._layer is None else self._layer.count(self._cut)

    def __repr__(self) -> str:
        return f"Visible({dict(self.items())!r})"


EMPTY = Visible(None)


def build(chain: Sequence[int], items_by_stage: Mapping[int, Sequence[VarItem]], mode: str) -> Layer:
    """The layers of ``chain`` (root stage first), the last one's returned; ancestors of a trigger's
    stage are seen ENV-only."""
    layer: Layer | None = None
    for k, s in enumerate(chain):
        own = k == len(chain) - 1
        layer = Layer(layer, items_by_stage.get(s, ()), mode if own or mode == NORMAL else ENV_ONLY)
    assert layer is not None
    return layer

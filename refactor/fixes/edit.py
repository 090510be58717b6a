"""Edits, fixes and their application.

A fix is a set of small text edits against exact spans of one file (offsets into
``SourceFile.text``). Applying copies every untouched slice verbatim, so bytes dfix does not mean
to change stay identical. Applicability is ordered like ruff's: a planner may lower it, never
raise it.
"""

from __future__ import annotations

import enum
from dataclasses import field
from operator import attrgetter

from refactor.records import dataclass


class Applicability(enum.IntEnum):
    DISPLAY_ONLY = 0  # shown as advice, never written
    UNSAFE = 1  # written only with --unsafe-fixes
    SAFE = 2  # written by --write

    @property
    def label(self) -> str:
        return {0: "display-only", 1: "unsafe", 2: "safe"}[int(self)]


@dataclass(frozen=True, slots=True, order=True)
class Edit:
    start: int
    end: int  # start == end: insertion; content == "": deletion
    content: str = ""


MAX_REASONS = 12


@dataclass(eq=False)
class Fix:
    title: str
    edits: list[Edit]
    applicability: Applicability = Applicability.SAFE
    reasons: list[str] = field(default_factory=list)  # why the applicability was lowered
    applied: bool = False  # written by this run (--write)
    included: bool = False  # part of the rewrite this run computed (written, diffed or checked)

    def lower(self, to: Applicability, reason: str) -> None:
        """Lower the applicability for ``reason``. The first :data:`MAX_REASONS` distinct reasons
        are kept; the rest are counted in a last line (a fix every one of 2,000 stages blocks, each
        a finding of its own, would otherwise carry 2,000 reasons into every finding it is on)."""
        if to < self.applicability:
            self.applicability = to
        seen = self.__dict__.setdefault("_seen", set(self.reasons))
        if reason in seen:
            return
        seen.add(reason)
        if len(seen) <= MAX_REASONS:
            self.reasons.append(reason)
            return
        more = len(seen) - MAX_REASONS
        line = f"and {more:,} more reason{'s' if more > 1 else ''} of the same kind (each is a finding of its own)"
        if more > 1:
            self.reasons[-1] = line
        else:
            self.reasons.append(line)


class ConflictError(Exception):
    pass


def _overlaps(a: Edit, b: Edit) -> bool:
    if a.start == a.end and b.start == b.end:
        return False  # two insertions at one point are ordered, not conflicting
    if a.start == a.end:
        return b.start < a.start < b.end
    if b.start == b.end:
        return a.start < b.start < a.end
    return a.start < b.end and b.start < a.end


_POSITION = attrgetter("start", "end")


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Splice non-overlapping edits into ``text`` (insertions at one point keep their order).

    Sorted by position with a stable sort (ties keep the list order), then each edit must start at
    or after the end of the one before: that is every conflict ``_overlaps`` describes (insertions
    at one point do not conflict). Called once per candidate plan by the engine, so it is kept to
    C-level sorting and integer comparisons."""
    out: list[str] = []
    pos = 0
    for e in ordered_edits(edits):
        out.append(text[pos : e.start])
        out.append(e.content)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def ordered_edits(edits: list[Edit]) -> list[Edit]:
    """``edits`` in the order :func:`apply_edits` splices them; ConflictError when two overlap
    (what applying them would raise, without building the text)."""
    ordered = sorted(edits, key=_POSITION)
    pos = 0
    prev: Edit | None = None
    for e in ordered:
        if e.start < pos:
            assert prev is not None
            if _overlaps(prev, e):
                raise ConflictError(f"overlapping edits at {prev.start}-{prev.end} and {e.start}-{e.end}")
            raise ConflictError(f"overlapping edits at offset {e.start}")
        pos = e.end
        prev = e
    return ordered

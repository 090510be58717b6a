"""What linking the callers decides, for :mod:`refactor.link`: a ``Block`` (why a Dockerfile's fix
waits for its callers, and whether it is reverted), ``Linked`` (the caller results and the blocks)
and ``_blocked``, which lowers or reverts a Dockerfile result's fixes under its block.
"""

from __future__ import annotations

import os
from dataclasses import replace

from refactor.records import dataclass
from refactor.results import FileResult, Outcome
from refactor.settings import Settings


@dataclass(frozen=True)
class Block:
    """Why a Dockerfile's fix must wait for its callers, and what that does to it."""

    reasons: tuple[str, ...]
    hard: bool  # the user's choice (a caller not given, or its DF011 ignored): --unsafe-fixes does not override
    reverted: bool  # the Dockerfile stays as it is


@dataclass(frozen=True)
class Linked:
    """What linking the callers decided: their results, and the blocks on Dockerfiles (by real path)."""

    callers: list[FileResult]
    blocks: dict[str, Block]

    def apply(self, candidates, results: list[FileResult], per_file: list[Settings]) -> list[FileResult]:
        """The Dockerfile results with the blocks applied (new objects; the given ones are not changed)."""
        if not self.blocks:
            return list(results)
        out = []
        for c, r, st in zip(candidates, results, per_file):
            b = self.blocks.get(os.path.realpath(c.path))
            out.append(r if b is None else _blocked(r, b, st))
        return out


_NAMED = 3  # callers a blocked fix's reason names

_BLOCKABLE = ("DF001", "DF002", "DF003", "DF006", "DF007")


def _blocked(r: FileResult, b: Block, st: Settings) -> FileResult:
    findings = list(r.findings)
    notes = list(r.notes)
    if b.reasons:
        # each fix names a few; the notes name every caller, one a line (a monorepo can have hundreds)
        shown = b.reasons[:_NAMED]
        why = "; ".join(shown) + (
            f"; and {len(b.reasons) - len(shown):,} more (the notes name each)" if len(b.reasons) > len(shown) else ""
        )
        keep = st.unsafe_fixes and not b.hard
        for i, f in enumerate(findings):
            if f.fix is not None and f.code in _BLOCKABLE:
                fix = replace(
                    f.fix,
                    applicability="unsafe" if f.fix.applicability == "safe" else f.fix.applicability,
                    reasons=(*f.fix.reasons, f"a caller cannot be migrated: {why}"),
                )
                if not keep:
                    fix = replace(fix, applied=False, included=False)
                findings[i] = replace(f, fix=fix)
        notes.extend(f"a caller cannot be migrated, so the fix is unsafe: {reason}" for reason in b.reasons)
    if not b.reverted:
        return replace(r, findings=tuple(findings), notes=tuple(notes))
    return replace(
        r,
        findings=tuple(findings),
        notes=tuple(notes),
        new_text=r.original,
        changed=False,
        outcome=Outcome.FAILED if r.outcome is Outcome.FAILED else Outcome.UNCHANGED,
        migrated=(),
        declared_after=r.declared_args,
    )

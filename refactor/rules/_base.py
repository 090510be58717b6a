"""The rule model: what a rule is (``Rule``), how its documentation is laid out, and which rules a
run selects (``Selection``)."""

from __future__ import annotations

from refactor.records import dataclass

# A rule's ``doc`` (what ``dfix --explain CODE`` prints) is Markdown with these second-level
# headings, in this order. ``## Example`` (a bad Dockerfile, then "Use instead:" and the fixed one)
# is optional; sections of the rule's own (e.g. "## Not a finding: …") may follow ``## Fix safety``.
# tests/test_rules_meta.py enforces the layout.
HEADINGS = ("## What it does", "## Why is this bad?", "## Example", "## Fix safety")
OPTIONAL_HEADINGS = ("## Example",)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    summary: str
    secret: bool  # findings of this rule are about a secret value
    severity: str  # error | warning | info
    fixable: str  # always | sometimes | never
    doc: str


@dataclass(frozen=True)
class Selection:
    """Which rules run: ``select`` (default all) plus ``extend_select``, minus ``ignore``; the more
    specific selector wins (``--select DF0 --ignore DF001``; ``--ignore DF0 --select DF001``); on a
    tie, ignore wins."""

    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()

    def enabled(self, code: str) -> bool:
        def best(selectors) -> int:
            return max((0 if s == "ALL" else len(s) for s in selectors if s == "ALL" or code.startswith(s)), default=-1)

        on, off = best(self.select + self.extend_select), best(self.ignore)
        return on >= 0 and on > off

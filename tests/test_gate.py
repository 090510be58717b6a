"""refactor.fixes.gate: which fixes of a file pass the rewrite check together (the check itself is
stubbed here: these tests are about the search, tests/test_rewrite_check*.py about the check)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from refactor.fixes import gate as gate_mod
from refactor.fixes.check_values import CheckResult, Violation
from refactor.fixes.edit import Applicability


@dataclass
class _Fix:
    applicability: Applicability = Applicability.SAFE
    reasons: list[str] = field(default_factory=list)

    def lower(self, to: Applicability, reason: str) -> None:
        self.applicability = to
        self.reasons.append(reason)


@dataclass
class _Plan:
    name: str
    fix: _Fix = field(default_factory=_Fix)
    removals: tuple = ()
    mounts: tuple = ()
    specs: tuple = ()
    removed_files: tuple = ()


def _run(plans: list[_Plan], ok, monkeypatch) -> tuple[list[_Plan], int]:
    """gate() with a check that passes a subset when ``ok(names)``; returns (accepted, checks)."""
    calls = [0]
    current: list[list[str]] = [[]]

    def render(subset: list) -> str:
        current[0] = [p.name for p in subset]
        return "FROM a\n" + "".join(f"# {n}\n" for n in current[0])

    def check(original, text, secrets, **kw) -> CheckResult:
        calls[0] += 1
        names = [line[2:] for line in text.splitlines()[1:]]
        return CheckResult((), (), ()) if ok(names) else CheckResult((Violation("parse", 2, "no"),), (), ())

    monkeypatch.setattr(gate_mod, "safe_check", check)
    _text, accepted = gate_mod.gate("FROM a\n", plans, render, None)
    return accepted, calls[0]


@pytest.mark.parametrize("n", [5, 8, 9, 40, 300])
def test_one_bad_fix_among_many_costs_few_checks_and_takes_no_good_one_with_it(n: int, monkeypatch) -> None:
    plans = [_Plan(f"p{i}") for i in range(n)]
    bad = f"p{n // 3}"
    accepted, checks = _run(plans, lambda names: bad not in names, monkeypatch)
    assert [p.name for p in accepted] == [p.name for p in plans if p.name != bad]
    refused = [p for p in plans if p.fix.applicability is Applicability.DISPLAY_ONLY]
    assert [p.name for p in refused] == [bad] and refused[0].fix.reasons == ["rewrite check: no"]
    assert checks <= (n + 1 if n <= gate_mod.ONE_BY_ONE else 2 + 2 * n.bit_length())


def test_a_whole_over_a_limit_is_cut_within_the_check_budget(monkeypatch) -> None:
    """What 1,000 mounts on one RUN line did (over BuildKit's 64 KiB together): any 700 pass, more
    fail. One fix at a time was 1,000 checks; by halves the budget bounds it, the rest is refused."""
    plans = [_Plan(f"p{i}") for i in range(1_000)]
    accepted, checks = _run(plans, lambda names: len(names) <= 700, monkeypatch)
    assert checks <= 1 + gate_mod.MAX_CHECKS
    assert 500 <= len(accepted) <= 700
    refused = [p for p in plans if p.fix.applicability is Applicability.DISPLAY_ONLY]
    assert len(refused) + len(accepted) == 1_000
    assert all(p.fix.reasons and p.fix.reasons[0].startswith("rewrite check: no") for p in refused)
    assert any("not tried one by one" in p.fix.reasons[0] for p in refused)


def test_every_fix_refused_alone_when_none_passes(monkeypatch) -> None:
    plans = [_Plan(f"p{i}") for i in range(20)]
    accepted, _checks = _run(plans, lambda names: not names, monkeypatch)
    assert accepted == [] and all(p.fix.applicability is Applicability.DISPLAY_ONLY for p in plans)

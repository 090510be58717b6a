"""Per-file results are frozen and tagged (issue #18): nothing amends a result once made."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from refactor.results import FileResult, FindingOut, FixOut, Outcome


def _finding() -> FindingOut:
    fix = FixOut("t", "safe", True, ["r"], True)
    return FindingOut("DF001", "secret-build-arg", "X", True, "error", "m", 1, 1, 1, 2, fix)


def test_results_are_frozen_and_their_sequences_are_tuples() -> None:
    r = FileResult("Dockerfile", outcome=Outcome.FIXED, changed=True, findings=[_finding()], notes=["n"], masks=["m"])
    assert isinstance(r.findings, tuple) and isinstance(r.notes, tuple) and isinstance(r.masks, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.changed = False  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.findings[0].fix.applied = False  # type: ignore[misc, union-attr]
    assert pickle.loads(pickle.dumps(r)) == r  # (a process pool ships them)


@pytest.mark.parametrize(
    ("outcome", "changed", "ok"),
    [
        (Outcome.FIXED, True, True),
        (Outcome.FIXED, False, False),
        (Outcome.UNCHANGED, False, True),
        (Outcome.UNCHANGED, True, False),
        (Outcome.SKIPPED, True, False),
        (Outcome.FAILED, True, True),  # a refused write keeps the rewrite it could not write
        (Outcome.FAILED, False, True),
    ],
)
def test_the_tag_agrees_with_the_change(outcome: Outcome, changed: bool, ok: bool) -> None:
    if ok:
        FileResult("f", outcome=outcome, changed=changed)
    else:
        with pytest.raises(ValueError):
            FileResult("f", outcome=outcome, changed=changed)


def test_a_refused_write_is_a_new_failed_result_with_no_fix_applied() -> None:
    from refactor.write import refused

    r = FileResult("Dockerfile", outcome=Outcome.FIXED, changed=True, findings=[_finding()])
    out = refused(r, "not written: read-only file system")
    assert r.outcome is Outcome.FIXED and r.findings[0].fix.applied  # type: ignore[union-attr]
    assert out.outcome is Outcome.FAILED and out.status == "error" and out.changed
    fix = out.findings[0].fix
    assert fix is not None and not fix.applied and fix.reasons[-1] == "not written: read-only file system"

"""The caller expectations of ``golden/callers-*`` hold, independently of the CLI.

For each case the Dockerfiles are analysed by the engine (nothing is written), every caller is
discovered from the case root and planned with the secrets the rewrite removes, and each planned
caller must equal ``expected/<path>`` (a caller without an expectation must be left alone, and a
case whose NOTES say "cannot be migrated" must report it). Runs with LF and with CRLF inputs.
A second pass over the migrated callers plans nothing (idempotency).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from refactor import callers
from refactor.buildspec import SecretSpec
from refactor.discovery import discover as find_dockerfiles
from refactor.engine import process_file
from refactor.settings import Settings
from refactor.fixes.edit import apply_edits
from refactor.source import read_source

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
CASES = sorted(p for p in GOLDEN.glob("callers-*") if (p / "case.toml").is_file())


def _inputs(case: Path) -> list[Path]:
    out = []
    for p in sorted(case.rglob("*")):
        rel = p.relative_to(case)
        if p.is_file() and rel.parts[0] != "expected" and rel.name not in ("case.toml", "NOTES.md"):
            out.append(rel)
    return out


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def migrated_specs(root: Path) -> dict[str, dict[str, SecretSpec | None]]:
    """realpath of each Dockerfile -> {build-arg name: SecretSpec | None} for the ARGs its rewrite
    removes: the mapping the integration is expected to build from the engine's result."""
    out: dict[str, dict[str, SecretSpec | None]] = {}
    for cand in find_dockerfiles([str(root)]):
        r = process_file(cand.path, cand.display, Settings(mode="diff"))
        specs = {s.env: s for s in (r.build.secrets if r.build else ()) if s.env in r.migrated}
        for name in r.migrated:  # removed, and no RUN reads it: the callers just stop passing it
            specs.setdefault(name, None)
        out[os.path.realpath(cand.path)] = specs
    return out


def run_callers(root: Path) -> dict[str, callers.CallerPlan]:
    specs = migrated_specs(root)
    by_path: dict[str, list] = {}
    for inv in callers.discover(str(root)):
        if inv.dockerfile in specs:
            by_path.setdefault(inv.path, []).append(callers.Target(inv, specs[inv.dockerfile]))
    return {p: callers.plan_file(p, read_source(p).text, ts) for p, ts in by_path.items()}


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_callers(case: Path, crlf: bool, tmp_path: Path) -> None:
    for rel in _inputs(case):
        dst = tmp_path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        data = (case / rel).read_bytes()
        dst.write_bytes(_crlf(data) if crlf else data)
    plans = run_callers(tmp_path)
    expected = case / "expected"
    unmigratable = [u for p in plans.values() for u in p.unmigratable]
    notes = (case / "NOTES.md").read_text() if (case / "NOTES.md").exists() else ""
    assert bool(unmigratable) == ("cannot be migrated" in notes), f"{case.name}: unmigratable reasons differ from NOTES.md"
    for path, plan in plans.items():
        rel = os.path.relpath(path, tmp_path)
        src = read_source(path)
        new = apply_edits(src.text, plan.edits) if not plan.unmigratable else src.text
        want_path = expected / rel
        if want_path.is_file():
            want = want_path.read_bytes()
            got = src.to_bytes(new)
            assert got == (_crlf(want) if crlf else want), f"{case.name}: {rel} differs from expected"
            (tmp_path / rel).write_bytes(got)
        else:
            assert new == src.text, f"{case.name}: {rel} changed but has no expectation"
    for rel in _inputs(case):
        # Dockerfile expectations (and build.*/findings.json) belong to the CLI harness, test_golden.py
        from refactor.discovery import is_dockerfile_name

        if is_dockerfile_name(Path(rel).name):
            continue
        if (expected / rel).is_file() and str(tmp_path / rel) not in plans:
            pytest.fail(f"{case.name}: {rel} has an expectation but was not planned")
    # idempotency: the migrated callers no longer pass the migrated build args
    for path, plan in run_callers(tmp_path).items():
        if not plan.unmigratable:
            assert plan.edits == [], f"{case.name}: a second pass changes {os.path.relpath(path, tmp_path)}"


def test_there_are_enough_caller_cases() -> None:
    kinds = set()
    for case in CASES:
        for rel in _inputs(case):
            k = callers.kind_of(str(rel).replace(os.sep, "/"))
            if k:
                kinds.add(k)
    assert {"shell", "make", "just", "compose", "bake-hcl", "bake-json", "github", "gitlab", "jenkins", "python"} <= kinds


def test_golden_tree_is_clean() -> None:
    # NOTES.md files describe cases; nothing generated lies around
    for case in CASES:
        assert (case / "NOTES.md").is_file(), case.name
        assert not any(p.name.startswith(".") and ".dfix-tmp-" in p.name for p in case.rglob("*"))

"""Sound fixes, beyond examples: generated multi-stage Dockerfiles (tests/gen_dockerfiles.py).

1. **The planner is sound on its own.** For every generated file, the fixes dfix labels safe are
   applied *without* the gate, and the independent rewrite check must accept the result. (The
   engine would refuse a failing fix anyway; this property says the planner never needs it to.)
2. **The check catches broken rewrites.** From each accepted rewrite, deliberate mutations are
   made — drop a secret mount from a RUN that expands its variable, drop an ``export`` another
   part of the RUN reads, rename a mount's ``env=`` — and every one must be rejected.

CI budget: a fixed, derandomized example count; ``DFIX_FUZZ_EXAMPLES=N`` for a long random run.
"""

from __future__ import annotations

import re

import pytest
from gen_dockerfiles import GeneratedCase, generate, generated_cases
from hypothesis import given
from test_fuzz import fuzz_settings

from refactor.analyze import Options, analyze
from refactor.buildcontext import context_configs
from refactor.fixes.apply import apply_plans
from refactor.fixes.check import check_rewrite
from refactor.fixes.edit import Applicability
from refactor.fixes.gate import secrets_of
from refactor.source import SourceFile


def _plan(case: GeneratedCase, tmp_path) -> tuple[str, str, list, dict | None]:
    """(original, planner's rewrite of the safe fixes, plans applied, context) — no gate."""
    ctx = tmp_path / "ctx"
    ctx.mkdir(parents=True, exist_ok=True)
    for rel, text in case.files.items():
        p = ctx / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, newline="")
    original = case.files["Dockerfile"]
    analysis = analyze(SourceFile.from_text("Dockerfile", original), Options(context_dir=str(ctx)))
    safe = [p for p in analysis.plans if p.fix.applicability >= Applicability.SAFE]
    if not safe:
        return original, original, [], None
    text, accepted = apply_plans(analysis, safe)
    return original, text, accepted, context_configs(str(ctx))


def _check(original: str, text: str, plans: list, context):
    env, files = secrets_of(plans)
    return check_rewrite(original, text, env, file_secrets=files, context_files=context,
                         allowed_removals=[f for p in plans for f in p.removed_files])


def _assert_planner_sound(case: GeneratedCase, tmp_path) -> None:
    original, text, plans, context = _plan(case, tmp_path)
    if not plans:
        return
    res = _check(original, text, plans, context)
    assert res.ok, f"{case.describe()}: the planner's safe rewrite fails the check:\n" + "\n".join(
        v.message for v in res.violations) + "\n--- rewrite ---\n" + text


@fuzz_settings(ci_examples=60)
@given(case=generated_cases())
def test_generated_safe_fixes_pass_the_check(case, tmp_path_factory) -> None:
    _assert_planner_sound(case, tmp_path_factory.mktemp("gen"))


@pytest.mark.parametrize("seed", range(1, 41), ids=lambda s: f"seed-{s:02d}")
def test_fixed_seed_safe_fixes_pass_the_check(seed, tmp_path) -> None:
    """The same property on the fixed seeds the e2e suite builds on the engine."""
    _assert_planner_sound(generate(seed), tmp_path)


# -- mutations -----------------------------------------------------------------------------------

_MOUNT = re.compile(r" --mount=type=secret,id=([a-z0-9_]+),env=([A-Za-z_][A-Za-z0-9_]*)")
_EXPORT = re.compile(r'export ([A-Za-z_][A-Za-z0-9_]*)="(?:[^"\\]|\\.)*" && ')


def _read_by_body(line: str, var: str) -> bool:
    """The RUN's commands expand ``var``, directly or through an export they expand."""
    exports = {m.group(1): m.group(0) for m in _EXPORT.finditer(line)}
    body = _EXPORT.sub("", line)

    def refs(text: str, name: str) -> bool:
        return re.search(rf"\$\{{?{name}\b", text) is not None

    return refs(body, var) or any(refs(src, var) and refs(body, x) for x, src in exports.items())


def _mutations(text: str):
    """(kind, mutated text) for every RUN line a mutation must break."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("RUN "):
            continue
        for m in _MOUNT.finditer(line):
            var = m.group(2)
            rest = line[: m.start()] + line[m.end():]
            if _read_by_body(rest, var):
                yield "drop-mount", "\n".join(lines[:i] + [rest] + lines[i + 1:])
                renamed = line[: m.start(2)] + var + "_RENAMED" + line[m.end(2):]
                yield "rename-env", "\n".join(lines[:i] + [renamed] + lines[i + 1:])
        for m in _EXPORT.finditer(line):
            var = m.group(1)
            rest = line[: m.start()] + line[m.end():]
            if _read_by_body(rest, var):
                yield "drop-export", "\n".join(lines[:i] + [rest] + lines[i + 1:])


def _assert_mutations_caught(case: GeneratedCase, tmp_path) -> int:
    original, text, plans, context = _plan(case, tmp_path)
    if not plans or not _check(original, text, plans, context).ok:
        return 0
    n = 0
    for kind, mutated in _mutations(text):
        res = _check(original, mutated, plans, context)
        assert not res.ok, f"{case.describe()}: mutation {kind} was not caught:\n{mutated}"
        n += 1
    return n


@fuzz_settings(ci_examples=40)
@given(case=generated_cases())
def test_generated_mutations_are_caught(case, tmp_path_factory) -> None:
    _assert_mutations_caught(case, tmp_path_factory.mktemp("mut"))


def test_fixed_seed_mutations_exist_and_are_caught(tmp_path) -> None:
    """The mutation property is not vacuous: the fixed seeds yield many mutations, all caught."""
    total = sum(_assert_mutations_caught(generate(seed), tmp_path / f"s{seed}") for seed in range(1, 41))
    assert total >= 30, total

"""The multistage strategy applied: one fix restructuring the stages (the build args stay in a builder stage),
and its rewrite check (only the final stage chain must be free of the secret)."""

from __future__ import annotations

from refactor.fixes.apply import dedupe
from refactor.fixes.edit import Applicability, ConflictError, Edit, apply_edits
from refactor.fixes.edits import removal_edits
from refactor.fixes.plan import FileAnalysis, Finding
from refactor.settings import Settings


def apply_split(
    analysis: FileAnalysis, plans: list, findings: list[Finding], minimum: Applicability, settings: Settings
) -> tuple[str, list[str], list]:
    """The multistage strategy: one fix restructuring the stages (the ARGs stay in the builder),
    plus the plain fixes of secrets no step consumes (nothing to move: their declarations go).
    Returns (text, notes, the plain plans applied)."""
    from refactor.multistage import WARNINGS, plan_split

    # a secret no build step reads needs no builder: its fix only drops declarations
    split_plans = [p for p in plans if p.read_by_build]
    direct = [p for p in plans if not p.read_by_build and p.fix.applicability >= minimum]
    text = analysis.source.text
    notes: list[str] = []
    edits: list[Edit] = []
    fix = None
    if split_plans:
        first_from = next((i for i in analysis.df.instructions if i.cmd == "from"), None)
        upper = first_from is None or first_from.keyword.isupper() or not first_from.keyword.islower()
        fix, splits = plan_split(analysis, split_plans, upper, frozenset(p.name for p in direct))
        plan_fixes = {id(p.fix) for p in split_plans}
        for f in findings:
            if f.fix is not None and id(f.fix) in plan_fixes:
                f.fix = fix
        notes = [n for sp in splits for n in sp.notes] + [f"multistage: {w}" for w in WARNINGS]
        if fix.applicability >= minimum and fix.edits:
            edits = list(fix.edits)
        else:
            fix = None
    direct_edits = dedupe([e for q in direct for e in q.fix.edits])
    direct_edits += removal_edits(analysis.df, [r for q in direct for r in q.removals])
    try:
        new = apply_edits(text, edits + direct_edits)
    except ConflictError:
        for q in direct:
            q.fix.lower(Applicability.DISPLAY_ONLY, "conflicts with the builder/runtime split")
        direct = []
        try:
            new = apply_edits(text, edits)
        except ConflictError:
            if fix is not None:
                fix.lower(Applicability.DISPLAY_ONLY, "the split conflicts with another edit")
            return text, notes, []
    if fix is not None:
        fix.included = True
        if settings.mode == "write":
            fix.applied = True
    return new, notes, direct


def gate_split(
    analysis: FileAnalysis,
    live: list,
    findings: list[Finding],
    text: str,
    new_text: str,
    direct: list,
    context_dir: str | None,
    display: str,
) -> tuple[str, list]:
    """The rewrite check for the multistage strategy: the builder keeps the build args, so only
    the final stage chain must be free of the secret (and every RUN must read what it read)."""
    from refactor.buildcontext import context_configs
    from refactor.fixes.gate import reason_of, safe_check, secrets_of

    env, files = secrets_of(direct)
    for p in live:  # the split's secrets stay build args in the builder: reach is checked for them too
        env.setdefault(p.id, p.name)
    removed = [f for p in live for f in p.removed_files] + _split_removed_credentials(analysis, live)
    res = safe_check(
        text,
        new_text,
        env,
        file_secrets=files,
        context_files=context_configs(context_dir),
        allowed_removals=removed,
        strategy="multistage",
        path=display,
    )
    if res.ok:
        return new_text, direct
    reason = reason_of(res)
    for f in findings:
        if f.fix is not None and f.fix.included:
            f.fix.lower(Applicability.DISPLAY_ONLY, reason)
            f.fix.included = f.fix.applied = False
    for p in direct:
        p.fix.lower(Applicability.DISPLAY_ONLY, reason)
    return text, []


def _split_removed_credentials(analysis: FileAnalysis, plans: list) -> list[str]:
    """Credential files a secret RUN writes, which the split leaves in the builder on purpose (the
    runtime stage no longer has them: a runtime change the split's notes state)."""
    from refactor.analysis.shell import CONFIG_FILES, file_writes

    out: list[str] = []
    runs = {i for p in plans for i in list(p.mounts) + [f.write_run for f in p.folds]}
    for i in sorted(runs):
        run = analysis.facts.runs.get(i)
        if run is None or not run.shell_ok:
            continue
        out.extend(w.path for w in file_writes(run.script))
    out.extend(CONFIG_FILES.values())
    return out

"""Applying the chosen plans to the text: together, a plan that conflicts with those before it refused; the parser
directives kept; each fix's own edits for the report."""

from __future__ import annotations

from refactor.fixes.edit import Applicability, ConflictError, Edit, apply_edits
from refactor.fixes.edits import removal_edits
from refactor.fixes.plan import FileAnalysis, Finding, SecretPlan
from refactor.source import SourceFile
from refactor.syntax.dockerfile import ParseError, parse


def dedupe(edits: list[Edit]) -> list[Edit]:
    """Identical replacements planned by several fixes (an exec-form RUN turned into shell form
    for two secrets) are one edit."""
    out: list[Edit] = []
    seen: set[Edit] = set()
    for e in edits:
        if e.start != e.end and e in seen:
            continue
        seen.add(e)
        out.append(e)
    return out


def apply_plans(analysis: FileAnalysis, plans: list[SecretPlan]) -> tuple[str, list[SecretPlan]]:
    """Apply plans together; a plan that conflicts with those before it is refused (display-only).

    One by one, that is a trial rewrite per plan over every plan accepted so far: quadratic (4,000
    secret ARGs took 35 s). Plans are tried in batches that double while they fit and are halved
    where one does not, down to the single plan that conflicts. A set of edits that applies stays
    applicable without any of them, so every plan meets exactly the verdict it met one by one
    (``tests/test_hardening_redos.py`` compares both)."""
    text = analysis.source.text
    accepted: list[SecretPlan] = []

    def edits_of(ps: list[SecretPlan]) -> list[Edit]:
        return dedupe([e for q in ps for e in q.fix.edits]) + removal_edits(analysis.df, [r for q in ps for r in q.removals])

    def take(batch: list[SecretPlan]) -> bool:
        """Accept ``batch`` if it fits with what was accepted; else split it. True if all of it fit."""
        try:
            apply_edits(text, edits_of(accepted + batch))
        except ConflictError:
            if len(batch) == 1:
                batch[0].fix.lower(Applicability.DISPLAY_ONLY, "conflicts with another fix in this file")
                return False
            mid = len(batch) // 2
            take(batch[:mid])
            take(batch[mid:])
            return False
        accepted.extend(batch)
        return True

    i, size = 0, 1
    while i < len(plans):
        batch = plans[i : i + size]
        i += len(batch)
        size = size * 2 if take(batch) else 1
    return apply_edits(text, edits_of(accepted)), accepted


def keep_directives(analysis: FileAnalysis, source: SourceFile, new_text: str) -> str:
    """Removing leading instructions can bring a comment such as '# escape=`' to the head of the
    file, where BuildKit reads it as a parser directive. If the rewrite's directives differ, a
    blank line right after the original directive header ends directive parsing there."""

    def directives(text: str):
        try:
            df = parse(SourceFile.from_text(source.path, text, bom=source.bom))
        except ParseError:
            return None
        return [(d.name, d.value) for d in df.directives]

    want = [(d.name, d.value) for d in analysis.df.directives]
    if directives(new_text) in (want, None):
        return new_text
    at = analysis.df.directives_end  # edits never touch the directive lines, so this offset holds
    nl = source.newline_at(max(at - 1, 0)) or source.default_newline
    fixed = new_text[:at] + nl + new_text[at:]
    return fixed if directives(fixed) == want else new_text


def own_edits(analysis: FileAnalysis, source: SourceFile, findings: list[Finding]) -> dict[int, tuple[Edit, ...] | None]:
    """{id(fix): its own edits against the original text} for each fix in this run's rewrite: a
    plan's edits plus its declaration removals, the multistage split's edits. Digest pins are
    planned against the rewritten text, so theirs are unknown here (None)."""
    plans = {id(p.fix): p for p in analysis.plans}
    pins = {id(f.fix) for f in findings if f.code == "DF009" and f.fix is not None}
    text = source.text
    first_end = analysis.df.instructions[0].end if analysis.df.instructions else 0
    out: dict[int, tuple[Edit, ...] | None] = {}
    for f in findings:
        fix = f.fix
        if fix is None or not fix.included or id(fix) in out:
            continue
        if id(fix) in pins:
            out[id(fix)] = None
            continue
        edits = dedupe(list(fix.edits))
        plan = plans.get(id(fix))
        if plan is not None:
            edits += removal_edits(analysis.df, plan.removals)
        try:
            alone = apply_edits(text, edits)
        except ConflictError:
            out[id(fix)] = None
            continue
        if edits and min(e.start for e in edits) < first_end:
            # as in the run: a blank line keeps the parser directives when removing the head
            # instructions would change them
            kept = keep_directives(analysis, source, alone)
            if kept != alone:
                at = analysis.df.directives_end
                extra = Edit(at, at, kept[at : at + len(kept) - len(alone)])
                edits = [extra] + edits
                if apply_edits(text, edits) != kept:
                    out[id(fix)] = None
                    continue
        out[id(fix)] = tuple(edits)
    return out

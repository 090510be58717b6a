"""Applying the chosen plans to the text: together, a plan that conflicts with those before it refused; the parser
directives kept; each fix's own edits for the report."""

from __future__ import annotations

from refactor.fixes.edit import Applicability, ConflictError, Edit, apply_edits, ordered_edits
from refactor.fixes.edits import removal_edits
from refactor.fixes.plan import FileAnalysis, Finding, SecretPlan
from refactor.source import SourceFile
from refactor.syntax.dockerfile import Dockerfile, ParseError, parse


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


def combined_edits(df: Dockerfile, plans: list[SecretPlan]) -> list[Edit]:
    """The plans' own edits (not their removals) in the order ``apply_edits`` needs: it keeps the
    list order of insertions at one point, and that order is the script's.

    Every plan's ``export V=… && `` prefixes come first, so the exports stay ahead of the credential
    file writes folded into the same RUN (``export A && export B && echo … > .npmrc && npm ci``,
    never ``export A && echo … && export B && npm ci``: a variable set midway is not the RUN's
    environment to the rewrite check). Among the exports, those of plans without a fold come first:
    a folding plan's export stays next to the write that uses it, which is also where a second run
    would leave it (it inserts its exports ahead of the text the first run wrote). Everything else
    keeps plan order (mount flags, appended clean-ups).

    A plan's mount on a RUN that another plan's fold removes (the RUN was nothing but the
    credential file write, which moves into the RUNs that need the file, if any) goes with that RUN
    when the plan mounts on each of those RUNs too: the moved write sees the secret there (a second
    run, which finds the mount already in the text, drops it with the RUN the same way). Otherwise
    the mount and the removal conflict and the later plan is refused. The rewrite check judges the
    result either way."""
    gone = _moved_runs(df, plans)
    lead: list[Edit] = []
    rest: list[Edit] = []
    for folding in (False, True):
        lead.extend(e for q in plans if bool(q.folds) == folding for e in q.leading if not _goes(df, q, e, gone))
    for q in plans:
        own = list(q.fix.edits)
        for e in q.leading:
            own.remove(e)
        rest.extend(e for e in own if not _goes(df, q, e, gone))
    return lead + rest


def _moved_runs(df: Dockerfile, plans: list[SecretPlan]) -> dict[int, tuple[SecretPlan, list[int]]]:
    """RUN index -> (the plan whose fold removes that RUN, the RUNs the write moves into: none
    when no RUN needs the file)."""
    out: dict[int, tuple[SecretPlan, list[int]]] = {}
    for p in plans:
        for f in p.folds:
            if f.whole:
                out.setdefault(f.write_run, (p, f.consumers))
    return out


def _goes(df: Dockerfile, q: SecretPlan, e: Edit, gone: dict[int, tuple[SecretPlan, list[int]]]) -> bool:
    """Whether ``q``'s edit ``e`` (an insertion) is into a RUN another plan's fold removes, where
    ``q`` mounts its secret, and ``q`` mounts it on every RUN that RUN's write moves into too."""
    if not gone or e.start != e.end:
        return False
    for j, (p, consumers) in gone.items():
        ins = df.instructions[j]
        if p is q or not ins.start <= e.start < ins.end:
            continue
        mounted = set(q.mounts) | set(q.file_mounts)
        return j in mounted and all(c in mounted for c in consumers)
    return False


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
        return dedupe(combined_edits(analysis.df, ps)) + removal_edits(analysis.df, [r for q in ps for r in q.removals])

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
    if directives(new_text) == want:
        return new_text
    # (differing directives, or none at all: a comment that became a second '# syntax=' is a
    # parse error, which the blank line prevents too)
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
            ordered_edits(edits)  # applies alone (the text itself is needed only at the head)
        except ConflictError:
            out[id(fix)] = None
            continue
        if edits and min(e.start for e in edits) < first_end:
            alone = apply_edits(text, edits)
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

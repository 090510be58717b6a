"""Process one Dockerfile: parse, analyse, select and check fixes, render the build it needs.

Each file is processed on its own (``process_file``); one bad file becomes an error result and
never stops the run. Results (``refactor.results``) are plain picklable data so a process pool can
produce them. Writing lives in ``refactor.write``; the whole run (discovery, workers, callers,
writes) in ``refactor.run``.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import replace

from refactor.analyze import analyze
from refactor.buildspec import ENV_MOUNT
from refactor.fixes.apply import apply_plans, keep_directives, own_edits
from refactor.fixes.edit import Applicability
from refactor.fixes.plan import FileAnalysis, Finding, Options, build_spec
from refactor.fixes.split_apply import apply_split, gate_split
from refactor.memo import end_file
from refactor.results import FileResult, FindingOut, FixOut, Outcome, outcome_of
from refactor.settings import Mode, Settings
from refactor.source import InputError, SourceFile, read_source
from refactor.supply.steps import pin, signing_recipes, supply_findings
from refactor.syntax import pragmas
from refactor.syntax.dockerfile import ParseError, parse
from refactor.syntax.words import find_refs
from refactor.write_file import WriteRefused, _cleanup_tmp, write_atomic  # (not the group machinery of refactor.write)

__all__ = ["FileResult", "FindingOut", "FixOut", "Mode", "Settings", "process_file", "process_source"]


def _pragmas(source: SourceFile, analysis: FileAnalysis) -> tuple[bool, set[str], dict[int, set[str]]]:
    """(skip file, file-wide ignored codes, {instruction index: ignored codes}); a malformed
    ``dfix:`` comment raises PragmaError (the file is an error, not silently half-ignored)."""
    skip = False
    file_codes: set[str] = set()
    per_instr: dict[int, set[str]] = {}
    df = analysis.df
    if "check" in source.text:  # BuildKit's # check=skip=SecretsUsedInArgOrEnv: file-wide, or above one instruction
        directive = df.directive("check")
        if directive is not None:
            file_codes |= pragmas.buildkit_skipped_codes(directive.value)
        for idx, ins in enumerate(df.instructions):
            for c in ins.comments:
                if codes := pragmas.buildkit_comment_codes(c.text):
                    per_instr.setdefault(idx, set()).update(codes)
    if "dfix:" not in source.text:
        return skip, file_codes, per_instr
    attached = {id(c): idx for idx, ins in enumerate(df.instructions) for c in ins.comments}
    for c in df.comments:
        p = pragmas.parse(c.text, source.position(c.start)[0])
        if p is None:
            continue
        if p.kind == "skip-file":
            skip = True
        elif p.kind == "file-ignore":
            file_codes |= p.codes
        elif id(c) in attached:
            per_instr.setdefault(attached[id(c)], set()).update(p.codes)
    for idx, ins in enumerate(df.instructions):  # comments the file-level list may not hold
        for c in ins.comments:
            p = pragmas.parse(c.text, source.position(c.start)[0])
            if p is not None and p.kind == "ignore":
                per_instr.setdefault(idx, set()).update(p.codes)
    return skip, file_codes, per_instr


def _instr_at(starts: list[int], analysis: FileAnalysis, offset: int) -> int | None:
    """The index of the instruction holding ``offset`` (``starts``: the instructions' starts, ascending)."""
    idx = bisect.bisect_right(starts, offset) - 1
    if idx >= 0 and offset < analysis.df.instructions[idx].end:
        return idx
    return None


def _suppressed(code: str, codes: set[str]) -> bool:
    return pragmas.suppressed(code, codes)


def per_file_codes(settings: Settings, display: str) -> set[str]:
    """The codes ``per-file-ignores`` turns off for the file shown as ``display``."""
    import fnmatch

    out: set[str] = set()
    for pattern, codes in settings.per_file_ignores.items():
        if fnmatch.fnmatch(display, pattern) or fnmatch.fnmatch(os.path.basename(display), pattern):
            out |= {c.upper() for c in codes}
    return out


def process_source(source: SourceFile, display: str, settings: Settings, context_dir: str | None) -> FileResult:
    """Analyse one file's text (and plan and check its fixes); the per-file memos are dropped after."""
    try:
        return _process_source(source, display, settings, context_dir)
    finally:
        end_file()


def _process_source(source: SourceFile, display: str, settings: Settings, context_dir: str | None) -> FileResult:
    options = Options(
        mount_style=settings.mount_style,
        policy=settings.policy,
        context_dir=context_dir,
        require_secrets=settings.require_secrets,
        emit=settings.emit,
        display_path=display,
    )
    analysis = analyze(source, options)
    skip, file_codes, per_instr = _pragmas(source, analysis)
    file_codes |= per_file_codes(settings, display)
    split_events = None
    if settings.split_events:
        from refactor.supply.split import dockerfile_events

        split_events = dockerfile_events(analysis.df)
    if skip:
        return FileResult(
            display,
            outcome=Outcome.SKIPPED,
            original=source.text,
            new_text=source.text,
            notes=("skipped by '# dfix: skip-file'",),
            split_events=split_events,
        )

    supply_findings(analysis, analysis.findings)
    findings: list[Finding] = []
    starts = [ins.start for ins in analysis.df.instructions]
    for f in analysis.findings:
        idx = _instr_at(starts, analysis, f.start)
        if (
            not settings.selection.enabled(f.code)
            or _suppressed(f.code, file_codes)
            or (idx is not None and _suppressed(f.code, per_instr.get(idx, set())))
        ):
            continue
        findings.append(f)
    # a fix whose DF001 finding was suppressed is not applied (the variable is accepted as is)
    primary = ("DF001", "DF008")  # the finding a plan exists for; ignoring it keeps the file as is
    kept = {id(f.fix) for f in findings if f.code in primary and f.fix is not None}  # (a set: 10,000 secret ARGs)
    suppressed_fixes = {id(p.fix) for p in analysis.plans if id(p.fix) not in kept}
    minimum = Applicability.UNSAFE if settings.unsafe_fixes else Applicability.SAFE
    chosen = [p for p in analysis.plans if id(p.fix) not in suppressed_fixes and p.fix.applicability >= minimum]

    text = source.text
    new_text = text
    split_notes: list[str] = []
    if settings.strategy == "multistage":
        live = [p for p in analysis.plans if id(p.fix) not in suppressed_fixes]
        new_text, split_notes, chosen = apply_split(analysis, live, findings, minimum, settings)
        if new_text != text:
            new_text = keep_directives(analysis, source, new_text)
            new_text, chosen = gate_split(analysis, live, findings, text, new_text, chosen, context_dir, display)
    elif chosen:
        new_text, chosen = apply_plans(analysis, chosen)
        if chosen:
            # the independent rewrite check: a fix whose rewrite fails it is display-only
            from refactor.buildcontext import context_configs
            from refactor.fixes.gate import gate

            new_text, chosen = gate(
                text,
                chosen,
                lambda ps: keep_directives(analysis, source, apply_plans(analysis, ps)[0]),
                context_configs(context_dir),
                path=display,
            )
    pin_notes: list[str] = []
    if settings.pin_digests:
        new_text, pin_notes = pin(analysis, new_text, findings, settings, pin_notes)
    for p in chosen:
        p.fix.included = True
        if settings.mode == "write":
            p.fix.applied = True
    # verify: the output must parse, with the same parser directives
    error = None
    if new_text != text:
        new_text = keep_directives(analysis, source, new_text)
        try:
            parse(SourceFile.from_text(source.path, new_text, bom=source.bom))
        except ParseError as exc:
            for p in chosen:
                p.fix.applied = False
                p.fix.lower(Applicability.DISPLAY_ONLY, "the rewrite did not parse (a dfix bug); left unchanged")
            error = f"internal: the fix produced a file that does not parse ({exc}); the file was left unchanged"
            new_text = text
            chosen = []
    changed = new_text != text
    declared_args = sorted({it.name for it in analysis.facts.items if it.kind == "ARG"})
    removed = {p.name for p in chosen}
    fix_edits = own_edits(analysis, source, findings)
    masks: dict[str, None] = {}  # (an ordered set: a 1 MB file can hold tens of thousands)
    # every literal value of a variable judged secret is masked in diffs (references are not)
    secret_names = {f.variable for f in analysis.findings if f.secret and f.variable}
    secret_names |= {p.name for p in analysis.plans}
    removed_items = {id(r.item) for p in analysis.plans for r in p.removals}
    for it in analysis.facts.items:
        if (it.name in secret_names or id(it) in removed_items) and it.value:
            if "$" not in it.value and len(it.value) >= 4:
                masks[it.value] = None
            elif it.raw and "$" not in (it.raw or "") and len(it.raw) >= 4:
                masks[it.raw] = None
            else:  # ${X:-literal}: the literal is the value whenever X is unset
                for ref in find_refs(it.value):
                    w = ref.word
                    if ref.modifier in (":-", "-", ":=", "=") and len(w) >= 4 and "$" not in w:
                        masks[w] = None
    for f in analysis.findings:  # a committed credential wherever it sits (a flag word, a keyword…)
        if f.code == "DF003" and f.variable is None and f.end - f.start >= 4:
            v = text[f.start : f.end]
            masks[v] = masks[v.upper()] = None  # (upper-cased where a secret id becomes a variable name)
    if settings.keep_text:  # only where file text is printed
        from refactor.analysis.secrets import literal_tokens

        masks.update(dict.fromkeys(literal_tokens(text)))
    notes = [*analysis.notes, *split_notes, *pin_notes]

    ctx = context_dir or os.path.dirname(display) or "."
    dockerfile = display if display != "-" else "Dockerfile"
    spec = build_spec(analysis, chosen, dockerfile, ctx)
    if "podman" in settings.emit:
        spec = replace(spec, env_mounts=bool(ENV_MOUNT.search(new_text)))
    notes.extend(spec.notes)
    command_text = None
    emitted: dict[str, str] = {}
    # the command and the templates (and jinja2) are only needed where there is something to
    # build differently, a flatten recipe to show, or a format that has them for every file
    if settings.render_always or spec.secrets or spec.ssh or changed or ("flatten" in settings.emit and analysis.findings):
        from refactor.emit import command, render

        command_text = command(spec)
        for target in settings.emit:
            rendered = render(target, spec)
            # a command holds no value by construction; a committed literal is masked where it
            # stands as a value, never in a file name (refactor.render.masking)
            from refactor.render.masking import mask_text

            rendered = mask_text(rendered, list(masks))[0]
            emitted[target] = rendered
    if settings.sign and settings.image:
        emitted.update(signing_recipes(spec, settings.sign, settings.image, settings.sign_key))
    return FileResult(
        display,
        outcome=Outcome.FAILED if error else outcome_of(changed),
        error=error,
        changed=changed,
        findings=tuple(_finding_out(source, f, fix_edits) for f in findings),
        build=spec,
        emitted=emitted,
        command=command_text,
        original=text,
        new_text=new_text,
        masks=tuple(masks),
        notes=tuple(notes),
        runtime_env=tuple(n for p in chosen for n in p.runtime_env),
        migrated=tuple(p.name for p in chosen if any(r.item.kind == "ARG" for r in p.removals)),
        bom=source.bom,
        declared_args=tuple(declared_args),
        declared_after=tuple(n for n in declared_args if n not in removed),
        env_mounts=bool(ENV_MOUNT.search(new_text)),  # (linking needs it where the text is not kept)
        split_events=split_events,
    )


def _finding_out(source: SourceFile, f: Finding, own_edits: dict | None = None) -> FindingOut:
    line, col = source.position(f.start)
    eline, ecol = source.position(max(f.end, f.start))
    rule = f.rule
    fix = None
    if f.fix is not None:
        fix = FixOut(
            f.fix.title, f.fix.applicability.label, f.fix.applied, tuple(f.fix.reasons), f.fix.included, (own_edits or {}).get(id(f.fix))
        )
    return FindingOut(f.code, rule.name, f.variable, rule.secret, f.severity or rule.severity, f.message, line, col, eline, ecol, fix)


def process_file(path: str, display: str, settings: Settings) -> FileResult:
    """Read, analyse and (in write mode) rewrite one file. Never raises for bad input."""
    try:
        if settings.mode == "write":
            _cleanup_tmp(path)  # read-only modes never touch the tree, leftovers included
        source = read_source(path, max_bytes=settings.max_bytes, display=display)
        try:
            st = os.stat(path)
            stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        except OSError:
            stamp = None
        result = replace(process_source(source, display, settings, os.path.dirname(path) or "."), fs_path=path, stamp=stamp)
        if settings.mode == "write" and result.changed and result.status == "ok" and not settings.defer_write:
            assert result.new_text is not None
            write_atomic(path, source.to_bytes(result.new_text))
            result = replace(result, written=True)
        if not settings.keep_text:
            # bulk runs: workers do not ship every file's text back to the parent
            result = replace(result, original=None, new_text=None)
        return result
    except InputError as exc:
        return FileResult.failure(display, str(exc))
    except ParseError as exc:
        return FileResult.failure(display, f"parse error: {exc.shown()}")
    except pragmas.PragmaError as exc:
        return FileResult.failure(display, f"bad dfix comment: {exc}")
    except WriteRefused as exc:
        return FileResult.failure(display, f"not written: {exc.strerror}")
    except OSError as exc:
        return FileResult.failure(display, f"cannot write: {exc.strerror}")
    except RecursionError:
        return FileResult.failure(display, "input too deeply nested")
    except Exception as exc:  # one file must never stop a run
        if settings.debug or os.environ.get("DFIX_DEBUG"):
            raise
        return FileResult.failure(display, f"internal error: {type(exc).__name__}")

"""Process one Dockerfile: parse, analyse, select and check fixes, render the build it needs.

Each file is processed on its own (``process_file``); one bad file becomes an error result and
never stops the run. Results (``refactor.results``) are plain picklable data so a process pool can
produce them. Writing lives in ``refactor.write``; the whole run (discovery, workers, callers,
writes) in ``refactor.run``.
"""

from __future__ import annotations

import os

from refactor.analyze import analyze
from refactor.fixes.edits import removal_edits
from refactor.fixes.plan import FileAnalysis, Finding, Options, build_spec
from refactor.fixes.edit import Applicability, ConflictError, Edit, apply_edits
from refactor.results import FileResult, FindingOut, FixOut
from refactor.settings import Mode, Settings
from refactor.source import InputError, SourceFile, read_source
from refactor.syntax import pragmas
from refactor.syntax.dockerfile import ParseError, parse
from refactor.write import WriteRefused, _cleanup_tmp, write_atomic

__all__ = ["FileResult", "FindingOut", "FixOut", "Mode", "Settings", "process_file", "process_source"]


def _pragmas(source: SourceFile, analysis: FileAnalysis) -> tuple[bool, set[str], dict[int, set[str]]]:
    """(skip file, file-wide ignored codes, {instruction index: ignored codes}); a malformed
    ``dfix:`` comment raises PragmaError (the file is an error, not silently half-ignored)."""
    skip = False
    file_codes: set[str] = set()
    per_instr: dict[int, set[str]] = {}
    df = analysis.df
    if "dfix:" not in source.text:
        return skip, file_codes, per_instr
    attached = {id(c): idx for idx, ins in enumerate(df.instructions) for c in ins.comments}
    for c in df.comments:
        p = pragmas.parse(c.text, source.text.count("\n", 0, c.start) + 1)
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
            p = pragmas.parse(c.text, source.text.count("\n", 0, c.start) + 1)
            if p is not None and p.kind == "ignore":
                per_instr.setdefault(idx, set()).update(p.codes)
    return skip, file_codes, per_instr


def _instr_at(analysis: FileAnalysis, offset: int) -> int | None:
    for idx, ins in enumerate(analysis.df.instructions):
        if ins.start <= offset < ins.end:
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
    result = FileResult(display)
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
    result.original = source.text
    if settings.split_events:
        from refactor.supply.split import dockerfile_events

        result.split_events = dockerfile_events(analysis.df)
    if skip:
        result.new_text = source.text
        result.notes.append("skipped by '# dfix: skip-file'")
        return result

    _supply_findings(analysis, source, analysis.findings, settings)
    findings: list[Finding] = []
    for f in analysis.findings:
        idx = _instr_at(analysis, f.start)
        if (not settings.selection.enabled(f.code) or _suppressed(f.code, file_codes)
                or (idx is not None and _suppressed(f.code, per_instr.get(idx, set())))):
            continue
        findings.append(f)
    live_fixes = []
    for f in findings:
        if f.fix is not None and all(f.fix is not x for x in live_fixes):
            live_fixes.append(f.fix)
    # a fix whose DF001 finding was suppressed is not applied (the variable is accepted as is)
    primary = ("DF001", "DF008")  # the finding a plan exists for; ignoring it keeps the file as is
    suppressed_fixes = {id(p.fix) for p in analysis.plans if not any(f.fix is p.fix and f.code in primary for f in findings)}
    minimum = Applicability.UNSAFE if settings.unsafe_fixes else Applicability.SAFE
    chosen = [p for p in analysis.plans if id(p.fix) not in suppressed_fixes and p.fix.applicability >= minimum]

    text = source.text
    new_text = text
    split_notes: list[str] = []
    if settings.strategy == "multistage":
        live = [p for p in analysis.plans if id(p.fix) not in suppressed_fixes]
        new_text, split_notes, chosen = _apply_split(analysis, live, findings, minimum, settings)
        if new_text != text:
            new_text = _keep_directives(analysis, source, new_text)
            new_text, chosen = _gate_split(analysis, live, findings, text, new_text, chosen, context_dir, display)
    elif chosen:
        new_text, chosen = _apply_plans(analysis, chosen)
        if chosen:
            # the independent rewrite check: a fix whose rewrite fails it is display-only
            from refactor.fixes.gate import context_configs, gate

            new_text, chosen = gate(text, chosen, lambda ps: _keep_directives(analysis, source, _apply_plans(analysis, ps)[0]),
                                    context_configs(context_dir), path=display)
    pin_notes: list[str] = []
    if settings.pin_digests:
        new_text, pin_notes = _pin(analysis, new_text, findings, settings, pin_notes)
    for p in chosen:
        p.fix.included = True
        if settings.mode == "write":
            p.fix.applied = True
    # verify: the output must parse, with the same parser directives
    if new_text != text:
        new_text = _keep_directives(analysis, source, new_text)
        try:
            parse(SourceFile.from_text(source.path, new_text, bom=source.bom))
        except ParseError as exc:
            for p in chosen:
                p.fix.applied = False
                p.fix.lower(Applicability.DISPLAY_ONLY, "the rewrite did not parse (a dfix bug); left unchanged")
            result.status = "error"
            result.error = f"internal: the fix produced a file that does not parse ({exc}); the file was left unchanged"
            new_text = text
            chosen = []
    result.new_text = new_text
    result.changed = new_text != text
    result.migrated = [p.name for p in chosen if any(r.item.kind == "ARG" for r in p.removals)]
    result.bom = source.bom
    result.declared_args = sorted({it.name for it in analysis.facts.items if it.kind == "ARG"})
    removed = {p.name for p in chosen}
    result.declared_after = [n for n in result.declared_args if n not in removed]
    for p in chosen:
        result.runtime_env.extend(p.runtime_env)
    own_edits = _own_edits(analysis, source, findings)
    for f in findings:
        result.findings.append(_finding_out(source, f, own_edits))
    # every literal value of a variable judged secret is masked in diffs (references are not)
    secret_names = {f.variable for f in analysis.findings if f.secret and f.variable}
    secret_names |= {p.name for p in analysis.plans}
    for it in analysis.facts.items:
        if (it.name in secret_names or any(r.item is it for p in analysis.plans for r in p.removals)) and it.value:
            if "$" not in it.value and len(it.value) >= 4:
                result.masks.append(it.value)
            elif it.raw and "$" not in (it.raw or "") and len(it.raw) >= 4:
                result.masks.append(it.raw)
    if settings.keep_text:  # only where file text is printed
        from refactor.analysis.secrets import literal_tokens

        result.masks.extend(t for t in literal_tokens(text) if t not in result.masks)
    result.notes.extend(analysis.notes)
    result.notes.extend(split_notes)
    result.notes.extend(pin_notes)

    ctx = context_dir or os.path.dirname(display) or "."
    dockerfile = display if display != "-" else "Dockerfile"
    spec = build_spec(analysis, chosen, dockerfile, ctx)
    if "podman" in settings.emit:
        from dataclasses import replace

        from refactor.build import ENV_MOUNT

        spec = replace(spec, env_mounts=bool(ENV_MOUNT.search(new_text)))
    result.build = spec
    result.notes.extend(spec.notes)
    # the command and the templates (and jinja2) are only needed where there is something to
    # build differently, a flatten recipe to show, or a format that has them for every file
    if (settings.render_always or spec.secrets or spec.ssh or result.changed
            or ("flatten" in settings.emit and analysis.findings)):
        from refactor.emit import command, render

        result.command = command(spec)
        for target in settings.emit:
            rendered = render(target, spec)
            # a command holds no value by construction; a committed literal is masked where it
            # stands as a value, never in a file name (refactor.render.masking)
            from refactor.render.masking import mask_text

            rendered = mask_text(rendered, result.masks)[0]
            result.emitted[target] = rendered
    if settings.sign and settings.image:
        from refactor.emit import docker_argv
        from refactor.supply import render_signing, render_verify
        import shlex as _shlex

        argv = docker_argv(spec)
        argv[2:2] = ["-t", settings.image]
        push = (
            f"{_shlex.join(argv)}\ndocker push {_shlex.quote(settings.image)}\n"
            f"IMAGE_DIGEST=$(docker inspect --format '{{{{index .RepoDigests 0}}}}' {_shlex.quote(settings.image)} | cut -d@ -f2)\n"
        )
        result.emitted["sign"] = push + render_signing(settings.sign, settings.image, key=settings.sign_key)
        result.emitted["verify"] = render_verify(settings.sign, settings.image, key=_verify_key(settings.sign, settings.sign_key))
    return result


def _verify_key(tool: str, key: str | None) -> str | None:
    """The key reference the consumer verifies with: cosign signs with a private key file
    (``cosign.key``) and verifies with its public half (``cosign.pub``); a KMS or Vault reference
    serves both; ``env://`` names the private key, so the public one comes from COSIGN_PUBLIC_KEY."""
    if not key or tool != "cosign":
        return key
    if key.startswith("env://"):
        return "env://COSIGN_PUBLIC_KEY"
    if "://" not in key and key.endswith(".key"):
        return key[: -len(".key")] + ".pub"
    return key


def _supply_findings(analysis: FileAnalysis, source: SourceFile, findings: list[Finding], settings: Settings) -> list[str]:
    """DF009 for latest/untagged bases (always on, no registry needed)."""
    from refactor.supply.pin import findings_latest

    for idx, image, message in findings_latest(analysis.df):
        ins = analysis.df.instructions[idx]
        f = Finding("DF009", None, message, ins.command.kw_start, ins.logical_end)
        findings.append(f)
    findings.sort(key=lambda f: (f.start, f.code))
    return []


_CLIENT = None


def _pin(analysis: FileAnalysis, text: str, findings: list[Finding], settings: Settings, notes: list[str]) -> tuple[str, list[str]]:
    """--pin-digests: resolve each base image once per process; errors are per image."""
    global _CLIENT
    from refactor.supply.pin import pin_digests
    from refactor.supply.registry import default_client

    if _CLIENT is None:
        _CLIENT = default_client()
    # pin against the text as rewritten so far (pin edits only touch FROM/ARG words)
    df = parse(SourceFile.from_text(analysis.source.path, text, bom=analysis.source.bom))
    result = pin_digests(df, _CLIENT)
    out = list(notes)
    for n in result.notes:
        out.append(f"pin: line {n.line}: {n.message}")
    fixes = [f for f in result.fixes if f.applicability >= Applicability.SAFE]
    for f in findings:
        if f.code == "DF009":
            f.fix = fixes[0] if fixes else None
    if not fixes:
        return text, out
    new = apply_edits(text, [e for f in fixes for e in f.edits])
    for f in fixes:
        f.included = True
        if settings.mode == "write":
            f.applied = True
    return new, out


def _apply_split(analysis: FileAnalysis, plans: list, findings: list[Finding], minimum: Applicability, settings: Settings) -> tuple[str, list[str], list]:
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
    direct_edits = _dedupe([e for q in direct for e in q.fix.edits])
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


def _gate_split(analysis: FileAnalysis, live: list, findings: list[Finding], text: str, new_text: str, direct: list,
                context_dir: str | None, display: str) -> tuple[str, list]:
    """The rewrite check for the multistage strategy: the builder keeps the build args, so only
    the final stage chain must be free of the secret (and every RUN must read what it read)."""
    from refactor.fixes.gate import context_configs, reason_of, safe_check, secrets_of

    env, files = secrets_of(direct)
    for p in live:  # the split's secrets stay build args in the builder: reach is checked for them too
        env.setdefault(p.id, p.name)
    removed = [f for p in live for f in p.removed_files] + _split_removed_credentials(analysis, live)
    res = safe_check(text, new_text, env, file_secrets=files, context_files=context_configs(context_dir),
                     allowed_removals=removed, strategy="multistage", path=display)
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


def _keep_directives(analysis: FileAnalysis, source: SourceFile, new_text: str) -> str:
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


def _dedupe(edits: list[Edit]) -> list[Edit]:
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


def _apply_plans(analysis: FileAnalysis, plans: list) -> tuple[str, list]:
    """Apply plans together; a plan that conflicts with those before it is refused."""
    text = analysis.source.text
    accepted: list = []
    for p in plans:
        trial = accepted + [p]
        edits: list[Edit] = _dedupe([e for q in trial for e in q.fix.edits])
        edits += removal_edits(analysis.df, [r for q in trial for r in q.removals])
        try:
            apply_edits(text, edits)
        except ConflictError:
            p.fix.lower(Applicability.DISPLAY_ONLY, "conflicts with another fix in this file")
            continue
        accepted.append(p)
    edits = _dedupe([e for q in accepted for e in q.fix.edits])
    edits += removal_edits(analysis.df, [r for q in accepted for r in q.removals])
    return apply_edits(text, edits), accepted


def _own_edits(analysis: FileAnalysis, source: SourceFile, findings: list[Finding]) -> dict[int, tuple[Edit, ...] | None]:
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
        edits = _dedupe(list(fix.edits))
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
            kept = _keep_directives(analysis, source, alone)
            if kept != alone:
                at = analysis.df.directives_end
                extra = Edit(at, at, kept[at : at + len(kept) - len(alone)])
                edits = [extra] + edits
                if apply_edits(text, edits) != kept:
                    out[id(fix)] = None
                    continue
        out[id(fix)] = tuple(edits)
    return out


def _finding_out(source: SourceFile, f: Finding, own_edits: dict | None = None) -> FindingOut:
    line, col = source.position(f.start)
    eline, ecol = source.position(max(f.end, f.start))
    rule = f.rule
    fix = None
    if f.fix is not None:
        fix = FixOut(f.fix.title, f.fix.applicability.label, f.fix.applied, list(f.fix.reasons), f.fix.included,
                     (own_edits or {}).get(id(f.fix)))
    return FindingOut(
        f.code, rule.name, f.variable, rule.secret, f.severity or rule.severity, f.message, line, col, eline, ecol, fix
    )


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
        result = process_source(source, display, settings, os.path.dirname(path) or ".")
        result.fs_path = path
        result.stamp = stamp
        if settings.mode == "write" and result.changed and result.status == "ok" and not settings.defer_write:
            write_atomic(path, source.to_bytes(result.new_text))
            result.written = True
        if not settings.keep_text:
            # bulk runs: workers do not ship every file's text back to the parent
            result.original = result.new_text = None
        return result
    except InputError as exc:
        return FileResult(display, status="error", error=str(exc))
    except ParseError as exc:
        return FileResult(display, status="error", error=f"parse error: {exc.shown()}")
    except pragmas.PragmaError as exc:
        return FileResult(display, status="error", error=f"bad dfix comment: {exc}")
    except WriteRefused as exc:
        return FileResult(display, status="error", error=f"not written: {exc.strerror}")
    except OSError as exc:
        return FileResult(display, status="error", error=f"cannot write: {exc.strerror}")
    except RecursionError:
        return FileResult(display, status="error", error="input too deeply nested")
    except Exception as exc:  # one file must never stop a run
        if settings.debug or os.environ.get("DFIX_DEBUG"):
            raise
        return FileResult(display, status="error", error=f"internal error: {type(exc).__name__}")



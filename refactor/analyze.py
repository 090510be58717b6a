"""Analyse one Dockerfile: detect secrets, plan their migration to secret mounts.

The pipeline is parse → facts → verdicts → findings with fixes → build spec. Nothing here does
I/O except reading small files from the build context (``.npmrc`` and other config files that
tools expand ``${VAR}`` in), which is optional.
"""

from __future__ import annotations

import bisect
import os
import re
from itertools import accumulate

from refactor import buildcontext
from refactor.analysis.facts import PLATFORM_ARGS, Facts, VarItem, build_facts
from refactor.analysis.secrets import (
    Evidence,
    Policy,
    Verdict,
    describe_value,
    holds_credential,
    judge,
    public_bundle_prefix,
)
from refactor.analysis.shell import auth_uses
from refactor.buildspec import SecretSpec
from refactor.codecache import regex
from refactor.fixes.credential_copies import plan_credential_copies
from refactor.fixes.edit import Applicability, Fix
from refactor.fixes.mounts import plan_secret
from refactor.fixes.plan import (
    FileAnalysis,
    Finding,
    Options,
    SecretPlan,
    mount_opts,
    verdict_why,
)
from refactor.source import SourceFile
from refactor.syntax.dockerfile import Dockerfile, parse

_SYNTAX_OK = regex(r"^(?:docker\.io/)?docker/dockerfile:1(?:\.(\d+)(?:\.\d+)?)?$")


def choose_mount_style(df: Dockerfile, requested: str, emit: tuple[str, ...]) -> tuple[str, str | None]:
    """Return (style, reason when the file form was forced)."""
    if requested in ("env", "file"):
        return requested, None
    if "podman" in emit:
        return "file", "podman/buildah accept env= in --mount only from buildah 1.44"
    syn = df.directive("syntax")
    words = syn.value.split() if syn is not None else []
    if words:  # (a blank `# syntax=` names no frontend: the default one)
        value = words[0]
        m = _SYNTAX_OK.match(value)
        if not m or (m.group(1) is not None and int(m.group(1)) < 10):
            return "file", f"'# syntax={value}' pins a Dockerfile frontend without secret env= support (needs >= 1.10)"
    return "env", None


def _existing_secret_mounts(df: Dockerfile) -> list[SecretSpec]:
    out: dict[str, SecretSpec] = {}
    for ins in df.instructions:
        for fl in ins.effective.flags:
            if fl.name != "mount" or not fl.value:
                continue
            opts = mount_opts(fl.value)
            if opts.get("type") != "secret":
                continue
            sid = opts.get("id") or os.path.basename(opts.get("target", opts.get("dst", "")))
            if not sid:
                continue
            env = opts.get("env")
            target = opts.get("target") or opts.get("dst") or opts.get("destination")
            if not env and target:
                # a file-target mount: the host file is most likely the context file of that name
                out.setdefault(sid, SecretSpec(sid, "file", None, os.path.basename(target)))
            elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env or sid.upper()):
                out.setdefault(sid, SecretSpec(sid, "env", env or sid.upper(), None))
            # else: no variable can hold it (a broken quote, a pasted value): nothing to pass
    return sorted(out.values(), key=lambda s: s.id)


def _collect_uses(facts: Facts, name: str, ctx_files: dict[str, str]) -> list[Evidence]:
    uses: list[Evidence] = []
    seen: set[str] = set()

    def add(reason: str, weight: float, where: str) -> None:
        key = reason
        if key in seen:
            return
        seen.add(key)
        uses.append(Evidence("use", weight, f"{reason} ({where})"))

    for idx in facts.runs_mentioning(name):  # a RUN without the word cannot use $name
        for reason, weight in auth_uses(facts.runs[idx].script, name):
            add(reason, weight, f"line {facts.df.instructions[idx].start_line}")
    for it in facts.items_referencing(name):
        if it.kind in ("ENV", "ARG") and it.raw:
            for reason, weight in auth_uses(it.raw, name):
                add(reason, weight, f"{it.kind} {it.name}")
            if it.name != name and holds_credential(it.name):
                add("is copied into a credential-named variable", 2.0, f"{it.kind} {it.name}")
    for fname, content in ctx_files.items():
        for reason, weight in auth_uses(content, name):
            add(reason, weight, fname)
    return uses


def analyze(source: SourceFile, options: Options | None = None) -> FileAnalysis:
    options = options or Options()
    df = parse(source)
    facts = build_facts(df)
    ctx_files = buildcontext.config_files(options.context_dir)
    style, style_reason = choose_mount_style(df, options.mount_style, options.emit)
    findings: list[Finding] = []
    notes: list[str] = []
    if style_reason:
        notes.append(f"file-form secret mounts: {style_reason}")

    # ---- verdicts for build args --------------------------------------------------------
    arg_order = list(dict.fromkeys(it.name for it in facts.items if it.kind == "ARG"))
    verdicts: dict[str, Verdict] = {}
    for name in arg_order:
        if name in PLATFORM_ARGS:
            continue
        items = facts.items_named(name, "ARG")
        default = next((i.value for i in items if i.value is not None), None)
        v = judge(name, default, _collect_uses(facts, name, ctx_files), options.policy)
        prefix = public_bundle_prefix(name)
        if prefix:
            if judge(name[len(prefix) :], None, (), options.policy).secret:
                for i in items[:1]:
                    findings.append(
                        Finding(
                            "DF005",
                            name,
                            f"{name} looks like a credential but {prefix}* variables are compiled into the client bundle; it can never be secret",
                            i.start,
                            i.end,
                        )
                    )
            continue
        if v.secret:
            verdicts[name] = v

    taken_ids: set[str] = {s.id for s in _existing_secret_mounts(df)}
    plans: list[SecretPlan] = []
    for name in arg_order:
        if name in verdicts:
            plans.append(plan_secret(facts, name, verdicts[name], style, options, ctx_files, taken_ids, findings))

    plans.extend(plan_credential_copies(facts, options, taken_ids, findings))

    # ---- ENV keys that are secrets on their own (runtime slots, committed values) -------------
    carried = {r.item.name for p in plans for r in p.removals if r.item.kind == "ENV"}
    for it in facts.items:
        if it.kind != "ENV" or it.name in carried:
            continue
        if it.refs and it.is_reference and not _token_fallback(it.value or ""):
            _runtime_slot_note(facts, it, notes, options.policy)
            continue  # a copy of a (non-secret) variable
        prefix = public_bundle_prefix(it.name)
        if prefix:
            if judge(it.name[len(prefix) :], None, (), options.policy).secret:
                findings.append(
                    Finding(
                        "DF005",
                        it.name,
                        f"{it.name} looks like a credential but {prefix}* variables are compiled into the client bundle; it can never be secret",
                        it.start,
                        it.end,
                    )
                )
            continue
        v = judge(it.name, it.value, _collect_uses(facts, it.name, ctx_files), options.policy)
        if not v.secret:
            continue
        fix = Fix(f"Remove ENV {it.name}; pass it at run time with `docker run -e {it.name}`", [], Applicability.DISPLAY_ONLY)
        fix.reasons.append("the application may read it at run time; supply it with `docker run -e` or an orchestrator secret")
        findings.append(
            Finding(
                "DF002",
                it.name,
                f"ENV {it.name} stores a credential in the image config ({verdict_why(v)}); value {describe_value(it.value)}",
                it.start,
                it.end,
                fix,
            )
        )
        if v.literal:
            findings.append(
                Finding(
                    "DF003",
                    it.name,
                    f"ENV {it.name} holds a committed credential ({describe_value(it.value)}); it stays in version control history and must be rotated",
                    it.start,
                    it.end,
                )
            )

    _committed_literals(facts, findings)

    findings.sort(key=lambda f: (f.start, f.code))
    return FileAnalysis(source, df, facts, findings, plans, style, notes, _existing_secret_mounts(df))


def _runtime_slot_note(facts: Facts, it: VarItem, notes: list[str], policy: Policy) -> None:
    """``ENV X=$X`` where nothing declares X before it: BuildKit expands it to the empty string, so
    the image stores an empty value and nothing leaks (not a finding). When X names a credential
    the application presumably reads it at run time: say where it must come from."""
    ref = it.refs[0]
    if it.onbuild or it.stage < 0 or ref in facts.visible_at(it.instr):
        return
    if not judge(it.name, None, (), policy).secret:
        return
    line = facts.df.instructions[it.instr].start_line
    notes.append(
        f"ENV {it.name} (line {line}) copies ${ref}, which no ARG or earlier ENV declares: the image stores an empty value"
        f" (nothing leaks); supply {it.name} at run time (`docker run -e {it.name}` or an orchestrator secret)"
    )


def _token_fallback(value: str) -> bool:
    """``${X:-ghp_…}``: a reference whose default is a known credential format (the image stores
    it whenever X is not set, which is not a copy of a variable)."""
    from refactor.analysis.secrets import token_format
    from refactor.syntax.words import find_refs

    refs = find_refs(value)
    return len(refs) == 1 and refs[0].modifier in (":-", "-") and token_format(refs[0].word) is not None


def _instruction_name(keyword: str) -> str:
    """How a message names an instruction: its keyword when BuildKit knows it, else not the word
    itself (a line that starts with a pasted token has the token as its keyword)."""
    from refactor.syntax.buildkit_args import INSTRUCTIONS

    return keyword.upper() if keyword.lower() in INSTRUCTIONS else "an unknown instruction"


def _committed_literals(facts: Facts, findings: list[Finding]) -> None:
    """DF003 for credentials committed outside ARG defaults and ENV values (those are judged with
    their variable): in a RUN, a LABEL, a heredoc, a CMD, a comment. The fix is display-only: the
    credential must be rotated and the new one passed with a secret mount by hand."""
    from refactor.analysis.literals import in_dockerfile

    hits = in_dockerfile(facts.df)
    if not hits:
        return
    item_spans = sorted((it.start, it.end) for it in facts.items if it.kind in ("ARG", "ENV"))
    starts = [s for s, _ in item_spans]
    reach = list(accumulate((e for _, e in item_spans), max))  # furthest end among the spans so far
    for lit, idx, in_comment in hits:
        k = bisect.bisect_right(starts, lit.start)  # spans starting at or before the literal
        if not in_comment and k and reach[k - 1] > lit.start:
            continue
        where = "a comment" if in_comment or idx is None else _instruction_name(facts.df.instructions[idx].keyword)
        n = sum(e - s for s, e in lit.pieces) if lit.pieces else lit.end - lit.start
        fix = Fix("Rotate the credential, then pass the new one with a secret mount (by hand)", [], Applicability.DISPLAY_ONLY)
        fix.reasons.append(
            "a literal cannot be moved out of a command safely: revoke it, define the new one as a build secret"
            " (`docker build --secret id=…,env=…`) and read it in the RUN with `--mount=type=secret,id=…,env=…`"
        )
        findings.append(
            Finding(
                "DF003",
                None,
                f"{where} holds a committed credential ({lit.kind}, <redacted: {n} chars>); it stays in version"
                " control history and in every image built from it: rotate it",
                lit.start,
                lit.end,
                fix,
            )
        )

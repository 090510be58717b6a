"""Pin base images by digest (``FROM node:20`` -> ``FROM node:20@sha256:…``) and flag ``latest``.

``pin_digests(df, resolver)`` returns :class:`PinResult`: one :class:`~refactor.fixes.edit.Fix` per
pinned image (insertions only, so every other byte stays as written) and one :class:`PinNote` per
image reference it looked at (pinned, skipped, or a registry error: the rest goes on).

The resolver is any callable ``resolver(reference: str, platform: str | None)`` returning the
digest to pin (``"sha256:…"``) or an object with a ``digest`` attribute (a
:class:`~refactor.supply.registry.Resolution`); it raises
:class:`~refactor.supply.registry.RegistryError` when it cannot resolve.
:class:`~refactor.supply.registry.RegistryClient` is such a callable.

What is pinned, and what is not
===============================
- ``FROM image[:tag]`` written literally: ``@<digest>`` is appended to the image word. A tagged
  reference keeps its tag (``node:20@sha256:…``: readable, and BuildKit uses the digest).
- Never pinned: stage references (``FROM builder``; stage names match case-insensitively, any
  stage of the file counts), ``scratch``, references that already carry a digest.
- ``--platform``: a concrete platform (``linux/arm64``, or an ARG whose default is concrete) is
  passed to the resolver, which checks the image has it; a multi-arch index is pinned as the
  *index* digest, so ``--platform=$BUILDPLATFORM``/``$TARGETPLATFORM`` keep selecting at build
  time. A platform only known at build time is not passed (the note says so).
- ``COPY --from=image:tag`` of an external image (not a stage, not a stage index) is pinned the
  same way.

ARG-parameterized FROM (``ARG NODE_VERSION=20`` / ``FROM node:${NODE_VERSION}``)
-------------------------------------------------------------------------------
The reference is expanded with the global ARG defaults (BuildKit's rules for ``$V``, ``${V}``,
``${V:-w}``, ``${V-w}``, ``${V:+w}``, ``${V+w}``; ARGs without a default and the automatic platform
ARGs are not concrete). Appending the digest to the FROM line would be wrong: with
``--build-arg NODE_VERSION=22`` the line would read ``node:22@sha256:<digest of 20>`` and BuildKit
would silently build 20 (a digest wins over a tag). Rewriting the FROM to the literal would make
the build argument a no-op. So dfix pins **through the ARG default**, and only when that preserves
every meaning:

- the image word *ends* with the one plain reference ``$V``/``${V}`` (``node:${V}``, ``${BASE}``),
- ``V`` is declared once, before the first FROM, with a literal default (no ``$`` in it),
- ``V`` occurs nowhere else in the file (no other FROM, no stage-level ``ARG V`` — which would put
  the value into every RUN's environment —, no RUN, ENV, LABEL, …).

Then ``ARG V=20`` becomes ``ARG V=20@sha256:…``: the default build is pinned, and
``--build-arg V=22`` builds exactly ``node:22`` as before (unpinned: the note says so). In every
other case the FROM is left alone and the note gives the digest the default resolves to today,
so the user can pin it by hand.

``findings_latest(df)`` needs no registry: it lists every base (FROM, ``COPY --from``) that is
untagged (which means ``:latest``) or tagged ``latest``, without a digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from refactor.fixes.edit import Applicability, Edit, Fix, apply_edits
from refactor.supply.reference import RegistryError, parse_reference
from refactor.syntax.dockerfile import Dockerfile, Instruction
from refactor.syntax.words import find_refs, name_values, parse_words, unquote

# ARGs BuildKit defines automatically in the global scope (values decided per build/platform)
AUTOMATIC_ARGS = frozenset("TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDOS BUILDARCH BUILDVARIANT".split())


@dataclass(frozen=True, slots=True)
class PinNote:
    instr: int  # instruction index
    line: int  # 1-based line of the instruction
    image: str  # the reference as BuildKit would see it (expanded), or as written when not concrete
    status: str  # "pinned" | "skipped" | "error"
    reason: str  # short machine code: see REASONS
    message: str  # one line for humans; never contains a credential
    digest: str | None = None
    platform: str | None = None

    REASONS = (
        "pinned",
        "pinned-via-arg",
        "stage",
        "scratch",
        "already-pinned",
        "parameterized",
        "invalid-reference",
        "unparsable",
        "registry",
    )


@dataclass
class PinResult:
    fixes: list[Fix] = field(default_factory=list)
    notes: list[PinNote] = field(default_factory=list)

    @property
    def edits(self) -> list[Edit]:
        return [e for f in self.fixes for e in f.edits]

    def apply(self, text: str) -> str:
        return apply_edits(text, self.edits)

    @property
    def errors(self) -> list[PinNote]:
        return [n for n in self.notes if n.status == "error"]


# --------------------------------------------------------------------------------------------
# Global ARGs and expansion


@dataclass
class _GlobalArg:
    name: str
    raw: str | None  # raw default (quotes kept) or None
    value: str | None  # expanded default, None when not concrete
    instr: int
    name_offset: int  # source offset of the name
    value_end: int | None  # source offset just after the raw default
    literal: bool  # default present and without any variable reference
    count: int = 1


def _global_args(df: Dockerfile) -> dict[str, _GlobalArg]:
    out: dict[str, _GlobalArg] = {}
    env: dict[str, str | None] = {}
    for idx, ins in enumerate(df.instructions):
        if ins.cmd == "from":
            break
        if ins.cmd != "arg":
            continue
        cmd = ins.command
        for item in name_values(cmd.args, df.escape, legacy_env=False):
            name_off = ins.logical.to_source(cmd.args_lstart + item.start)
            if item.value is None:
                value = env.get(item.name) if item.name in env else None
                raw = None
                end = None
                literal = False
            else:
                raw = item.value
                value = _expand(raw, env, df.escape)
                end = ins.logical.to_source_end(cmd.args_lstart + item.end)
                if len(raw) >= 2 and raw[-1] in "\"'" and raw[0] == raw[-1]:
                    end -= 1  # ARG V="20" -> ARG V="20@sha256:…": inside the quotes
                literal = not find_refs(raw, df.escape) and "$" not in raw
            prev = out.get(item.name)
            ga = _GlobalArg(item.name, raw, value, idx, name_off, end, literal, (prev.count + 1) if prev else 1)
            if item.value is None and prev is not None:  # ARG V after ARG V=x keeps the value
                ga.value, ga.raw, ga.literal, ga.value_end = prev.value, prev.raw, prev.literal, prev.value_end
            out[item.name] = ga
            env[item.name] = ga.value
    return out


def _expand(raw: str, env: dict[str, str | None], escape: str) -> str | None:
    """Expand ``raw`` like BuildKit's lexer for the forms listed in the module doc.

    ``env`` maps a declared name to its value (None: declared without a concrete value). Returns
    None when the result is not known before the build.
    """
    refs = find_refs(raw, escape)
    out: list[str] = []
    pos = 0
    for r in refs:
        if r.start < pos:  # nested in an operand already handled
            continue
        out.append(raw[pos : r.start])
        pos = r.end
        if r.name in AUTOMATIC_ARGS:
            return None
        declared = r.name in env
        value = env.get(r.name)
        if declared and value is None:
            return None
        if r.modifier == "":
            if not declared:
                return None  # BuildKit expands it to nothing: not what the author meant
            rep = value
        elif r.modifier in (":-", "-"):
            use_default = (not declared) or (r.modifier == ":-" and value == "")
            rep = _expand(r.word, env, escape) if use_default else value
        elif r.modifier in (":+", "+"):
            use_word = declared and (r.modifier == "+" or value != "")
            rep = _expand(r.word, env, escape) if use_word else ""
        else:
            return None
        if rep is None or any(c in rep for c in "'\"") or escape in rep:
            return None
        out.append(rep)
    out.append(raw[pos:])
    return unquote("".join(out), escape)


# --------------------------------------------------------------------------------------------
# Image sites (FROM and COPY --from)


@dataclass
class _Site:
    instr: int
    ins: Instruction
    kind: str  # "from" | "copy"
    raw: str  # the raw image word as written
    expanded: str | None
    insert_at: int  # source offset just after the raw word
    var_offsets: tuple[int, ...] = ()  # source offsets of the variable names referenced
    platform: str | None = None  # concrete platform, or None
    platform_dynamic: bool = False
    problem: str | None = None  # unparsable


def _stage_names(df: Dockerfile, gargs: dict[str, _GlobalArg] | None = None) -> dict[str, int]:
    """Stage name (lower-case) -> index of the FROM that names it. ``AS ${NAME}`` is expanded
    through the global ARG defaults, as BuildKit expands stage names."""
    env = {name: ga.value for name, ga in (gargs or {}).items()}
    names: dict[str, int] = {}
    for idx, ins in enumerate(df.instructions):
        if ins.cmd != "from":
            continue
        words = parse_words(ins.command.args, df.escape)
        if len(words) == 3 and words[1].raw.lower() == "as":
            raw = words[2].raw
            name = _expand(raw, env, df.escape) if "$" in raw else unquote(raw, df.escape)
            if name:
                names.setdefault(name.lower(), idx)
    return names


def _is_stage(site: _Site, stages: dict[str, int]) -> bool:
    """The site names a build stage: for FROM an earlier one (a FROM cannot name its own stage:
    ``FROM gcc AS gcc`` is the gcc image), for COPY --from any stage of the file."""
    image = (site.expanded or "").lower()
    if image not in stages:
        return False
    return site.kind == "copy" or stages[image] < site.instr


def _var_name_offsets(ins: Instruction, lstart: int, raw: str, escape: str) -> tuple[int, ...]:
    offs = []
    for r in find_refs(raw, escape):
        k = 2 if raw.startswith("${", r.start) else 1
        offs.append(ins.logical.to_source(lstart + r.start + k))
    return tuple(offs)


def _sites(df: Dockerfile, gargs: dict[str, _GlobalArg]) -> list[_Site]:
    env = {name: ga.value for name, ga in gargs.items()}
    sites: list[_Site] = []
    for idx, ins in enumerate(df.instructions):
        cmd = ins.command
        if ins.cmd == "from":
            words = parse_words(cmd.args, df.escape)
            problem = None
            if not (len(words) == 1 or (len(words) == 3 and words[1].raw.lower() == "as")):
                problem = "FROM is not `FROM [--platform=…] image [AS name]`"
                if not words:
                    continue
            w = words[0]
            lstart = cmd.args_lstart + w.start
            site = _Site(
                idx,
                ins,
                "from",
                w.raw,
                _expand(w.raw, env, df.escape),
                ins.logical.to_source_end(cmd.args_lstart + w.end),
                _var_name_offsets(ins, lstart, w.raw, df.escape),
                problem=problem,
            )
            for fl in cmd.flags:
                if fl.name == "platform" and fl.value is not None:
                    p = _expand(fl.value, env, df.escape)
                    if p is None or not p:
                        site.platform_dynamic = True
                    else:
                        site.platform = p
            sites.append(site)
        elif ins.cmd == "copy" and ins.sub is None:
            for fl in cmd.flags:
                if fl.name != "from" or not fl.value:
                    continue
                # the raw word is "--from=<value>"; the value's variable names are located in it
                raw_word = df.text[fl.start : fl.end]
                eq = raw_word.find("=")
                raw_value = raw_word[eq + 1 :] if eq >= 0 else fl.value
                offs = []
                for r in find_refs(raw_value, df.escape):
                    k = 2 if raw_value.startswith("${", r.start) else 1
                    offs.append(fl.start + eq + 1 + r.start + k)
                expanded = None if find_refs(fl.value, df.escape) else fl.value
                sites.append(_Site(idx, ins, "copy", raw_value, expanded, fl.end, tuple(offs)))
    return sites


# --------------------------------------------------------------------------------------------
# Pinning


def _digest_of(result) -> tuple[str, object]:
    digest = result if isinstance(result, str) else getattr(result, "digest", None)
    if not isinstance(digest, str) or not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise RegistryError("bad-response", "resolver returned no sha256 digest")
    return digest, result


def _describe(resolution, platform: str | None, dynamic: bool) -> str:
    extra = []
    platforms = getattr(resolution, "platforms", ()) or ()
    is_index = getattr(resolution, "is_index", False)
    if is_index:
        extra.append("multi-arch index" + (f" ({', '.join(platforms)})" if platforms else ""))
    if platform:
        extra.append(f"has {platform}")
    if dynamic:
        if is_index:
            extra.append("platform chosen at build time from the pinned index")
        elif getattr(resolution, "media_type", None):
            extra.append("single-platform image: --platform is decided at build time and may not match")
        else:
            extra.append("--platform is decided at build time")
    return f" [{'; '.join(extra)}]" if extra else ""


def pin_digests(df: Dockerfile, resolver, *, copy_from: bool = True) -> PinResult:
    """Pin every external base image of ``df`` by digest (see the module doc)."""
    gargs = _global_args(df)
    stages = _stage_names(df, gargs)
    sites = _sites(df, gargs)
    result = PinResult()
    cache: dict[tuple[str, str | None], tuple[str, object] | RegistryError] = {}

    def resolve(ref: str, platform: str | None):
        key = (ref, platform)
        if key not in cache:
            try:
                parse_reference(ref)
                cache[key] = _digest_of(resolver(ref, platform))
            except RegistryError as exc:
                cache[key] = exc
        got = cache[key]
        if isinstance(got, RegistryError):
            raise got
        return got

    def note(site: _Site, image: str, status: str, reason: str, message: str, digest=None) -> None:
        result.notes.append(PinNote(site.instr, site.ins.start_line, image, status, reason, message, digest, site.platform))

    # occurrences of each global ARG name anywhere in the instructions (for the ARG-default rule)
    def occurrences(name: str) -> list[int]:
        pat = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
        offs = []
        for ins in df.instructions:
            offs += [m.start() for m in pat.finditer(df.text, ins.start, ins.end)]
        return offs

    via_arg: dict[str, list[tuple[_Site, str]]] = {}  # ARG name -> (site, its expanded reference)
    for site in sites:
        if site.kind == "copy" and not copy_from:
            continue
        what = "COPY --from" if site.kind == "copy" else "FROM"
        shown = site.expanded if site.expanded is not None else site.raw
        if site.problem:
            note(site, shown, "skipped", "unparsable", f"line {site.ins.start_line}: {site.problem}; not pinned")
            continue
        if site.kind == "copy" and (shown.isdigit() or _is_stage(site, stages)):
            continue  # a stage: nothing to say
        if site.expanded is not None and _is_stage(site, stages):
            note(site, shown, "skipped", "stage", f"{what} {shown}: a build stage, not an image")
            continue
        if site.expanded is not None and site.expanded.lower() == "scratch":
            note(site, shown, "skipped", "scratch", f"{what} scratch: the empty image, nothing to pin")
            continue
        if site.expanded is not None and "@" in site.expanded:
            note(site, shown, "skipped", "already-pinned", f"{what} {shown}: already pinned by digest")
            continue
        if site.expanded is None:
            names = sorted({r.name for r in find_refs(site.raw, df.escape)})
            why = _not_concrete(names, gargs)
            note(site, site.raw, "skipped", "parameterized", f"{what} {site.raw}: {why}; not pinned")
            continue
        refs = find_refs(site.raw, df.escape)
        if refs:
            ok, why, var = _arg_pinnable(site, refs, gargs, df.escape)
            if ok and var is not None:
                via_arg.setdefault(var, []).append((site, site.expanded))
                continue
            try:
                digest, res = resolve(site.expanded, site.platform)
                today = f"; today it resolves to {digest}: pin it by hand if that is what you mean"
            except RegistryError as exc:
                today = f"; could not resolve it either ({_detail(exc, site.expanded)})"
            note(site, site.expanded, "skipped", "parameterized", f"{what} {site.raw} (= {site.expanded}): {why}{today}")
            continue
        # a literal reference
        try:
            digest, res = resolve(site.expanded, site.platform)
        except RegistryError as exc:
            note(site, site.expanded, "error", _reason(exc), f"{what} {site.expanded}: {_detail(exc, site.expanded)}")
            continue
        fix = Fix(f"pin {site.expanded} to {digest}", [Edit(site.insert_at, site.insert_at, "@" + digest)], Applicability.SAFE)
        result.fixes.append(fix)
        note(
            site,
            site.expanded,
            "pinned",
            "pinned",
            f"{what} {site.expanded} -> {digest}{_describe(res, site.platform, site.platform_dynamic)}",
            digest,
        )

    # pin through ARG defaults: every use of the ARG must be one of the qualifying FROMs
    for var, group in via_arg.items():
        ga = gargs[var]
        value_end = ga.value_end
        assert value_end is not None  # _arg_pinnable checked it
        allowed = {ga.name_offset}.union(*(s.var_offsets for s, _ in group))
        others = [o for o in occurrences(var) if o not in allowed]
        refs_expanded = {exp for _, exp in group}
        shown_var = f"ARG {var}"
        if others:
            line = _line_of(df, others[0])
            for s, exp in group:
                _skip_with_today(s, exp, resolve, note, f"{shown_var} is also used on line {line}, so its default cannot carry the digest")
            continue
        if len(refs_expanded) != 1:
            for s, exp in group:
                _skip_with_today(s, exp, resolve, note, f"{shown_var} feeds FROMs naming different images")
            continue
        digests = {}
        failed = False
        for s, exp in group:
            try:
                digests[s.instr] = resolve(exp, s.platform)
            except RegistryError as exc:
                note(s, exp, "error", _reason(exc), f"FROM {s.raw} (= {exp}): {_detail(exc, exp)}")
                failed = True
        if failed:
            continue
        if len({d for d, _ in digests.values()}) != 1:
            for s, exp in group:
                note(s, exp, "skipped", "parameterized", f"FROM {s.raw} (= {exp}): resolves to different digests per platform; not pinned")
            continue
        digest, res = next(iter(digests.values()))
        fix = Fix(f"pin {var} ({next(iter(refs_expanded))}) to {digest}", [Edit(value_end, value_end, "@" + digest)], Applicability.SAFE)
        result.fixes.append(fix)
        arg_line = df.instructions[ga.instr].start_line
        for s, exp in group:
            note(
                s,
                exp,
                "pinned",
                "pinned-via-arg",
                f"FROM {s.raw} (= {s.expanded}) -> {digest} through the default of {shown_var} (line {arg_line});"
                f" --build-arg {var}=… still builds exactly the reference given, unpinned"
                f"{_describe(res, s.platform, s.platform_dynamic)}",
                digest,
            )
    result.notes.sort(key=lambda n: n.instr)
    return result


def _detail(exc: RegistryError, image: str) -> str:
    """The error without the reference it starts with (the note names the image already)."""
    msg = str(exc)
    try:
        prefix = parse_reference(image).familiar + ": "
    except RegistryError:
        return msg
    return msg[len(prefix) :] if msg.startswith(prefix) else msg


def _reason(exc: RegistryError) -> str:
    return "invalid-reference" if exc.kind == "reference" else "registry"


def _skip_with_today(site: _Site, expanded: str, resolve, note, why: str) -> None:
    try:
        digest, _ = resolve(expanded, site.platform)
        today = f"; today it resolves to {digest}: pin it by hand if that is what you mean"
    except RegistryError as exc:
        today = f"; could not resolve it either ({_detail(exc, expanded)})"
    note(site, expanded, "skipped", "parameterized", f"FROM {site.raw} (= {expanded}): {why}{today}")


def _line_of(df: Dockerfile, offset: int) -> int:
    import bisect

    return bisect.bisect_right(df.source.line_starts, offset)


def _not_concrete(names: list[str], gargs: dict[str, _GlobalArg]) -> str:
    auto = [n for n in names if n in AUTOMATIC_ARGS]
    if auto:
        return f"depends on ${auto[0]}, known only at build time"
    for n in names:
        ga = gargs.get(n)
        if ga is None:
            return f"${n} is not declared by a global ARG (it expands to nothing)"
        if ga.value is None:
            return f"ARG {n} has no concrete default (set it with --build-arg)"
    return "its value is not known before the build"


def _arg_pinnable(site: _Site, refs, gargs: dict[str, _GlobalArg], escape: str) -> tuple[bool, str, str | None]:
    top = [r for r in refs if not any(o is not r and o.start <= r.start and r.end <= o.end for o in refs)]
    if site.kind != "from":
        return False, "a parameterized COPY --from is not pinned", None
    if len(top) != 1 or len(refs) != 1:
        return False, "more than one variable in the reference", None
    r = top[0]
    if r.modifier != "":
        return False, f"only plain $V/${{V}} references are pinned (found a ${{{r.name}{r.modifier}…}} form)", None
    tail = site.raw[r.end :]
    if tail.strip("\"'"):
        return False, f"${r.name} is not at the end of the reference (appending the digest to it would not end the reference)", None
    ga = gargs.get(r.name)
    if ga is None or ga.value is None:
        return False, f"ARG {r.name} has no concrete default", None
    if ga.count != 1:
        return False, f"ARG {r.name} is declared more than once before the first FROM", None
    if not ga.literal or ga.value_end is None:
        return False, f"ARG {r.name}'s default is itself parameterized", None
    return True, "", r.name


# --------------------------------------------------------------------------------------------
# latest / untagged


def findings_latest(df: Dockerfile) -> list[tuple[int, str, str]]:
    """``(instruction index, image, message)`` for every base that is untagged or ``:latest``."""
    gargs = _global_args(df)
    stages = _stage_names(df, gargs)
    out = []
    for site in _sites(df, gargs):
        if site.problem or site.expanded is None:
            continue
        image = site.expanded
        low = image.lower()
        if _is_stage(site, stages) or low == "scratch" or (site.kind == "copy" and image.isdigit()):
            continue
        if re.fullmatch(r"(?:sha256:)?[0-9a-f]{64}", low):
            continue  # an image ID: content-addressed, it cannot change
        try:
            ref = parse_reference(image)
        except RegistryError:
            continue
        if ref.digest:
            continue
        what = "COPY --from" if site.kind == "copy" else "FROM"
        via = ""
        names = [r.name for r in find_refs(site.raw, df.escape)]
        if names:
            via = f" (from the default of ARG {names[0]})" if len(names) == 1 else " (from ARG defaults)"
        if ref.tag is None:
            msg = (
                f"{what} {image}{via} has no tag, which means `latest`: it changes whenever it is pushed; "
                "pin a version tag (and a digest with --pin-digests)"
            )
            if site.kind == "copy" and "/" not in image:
                msg += f" (if {image} is a named build context given with --build-context, ignore this with `# dfix: ignore[DF009]`)"
        elif ref.tag == "latest":
            msg = (
                f"{what} {image}{via} uses the `latest` tag: it changes whenever it is pushed; "
                "pin a version tag (and a digest with --pin-digests)"
            )
        else:
            continue
        out.append((site.instr, image, msg))
    return out

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

Layout: this module is the public face (:func:`pin_digests`, :func:`findings_latest`,
:class:`PinNote`, :class:`PinResult`); the parts are ``pin_args`` (global ARGs and their
expansion), ``pin_sites`` (FROM and ``COPY --from`` image words, stage names) and ``pin_reasons``
(the notes' wording and the ARG-default rule).
"""

from __future__ import annotations

import re
from dataclasses import field

from refactor.fixes.edit import Applicability, Edit, Fix, apply_edits
from refactor.records import dataclass
from refactor.supply.pin_args import AUTOMATIC_ARGS as AUTOMATIC_ARGS
from refactor.supply.pin_args import _expand as _expand
from refactor.supply.pin_args import _global_args
from refactor.supply.pin_reasons import _arg_pinnable, _describe, _detail, _digest_of, _line_of, _not_concrete, _reason, _skip_with_today
from refactor.supply.pin_sites import _is_stage, _Site, _sites, _stage_names
from refactor.supply.reference import RegistryError, parse_reference
from refactor.syntax.dockerfile import Dockerfile
from refactor.syntax.words import find_refs


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

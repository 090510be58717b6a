"""How :func:`refactor.supply.pin.pin_digests` words and decides its notes: the digest a resolver
returned, the description of a resolution (index, platforms), a registry error without the
reference, the skip note that still names today's digest, why a reference is not concrete and
whether an ARG default can carry the digest (``_arg_pinnable``).
"""

from __future__ import annotations

import re

from refactor.supply.pin_args import AUTOMATIC_ARGS, _GlobalArg
from refactor.supply.pin_sites import _Site
from refactor.supply.reference import RegistryError, parse_reference
from refactor.syntax.dockerfile import Dockerfile


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

"""``dfix:`` comments, in Dockerfiles and in callers (scripts, Makefiles, YAML, HCL, Groovy, Python).

- ``# dfix: ignore[DF001,DF011]``: the findings of these rules on the next instruction (Dockerfile)
  or on the next command line and its continuation lines (caller); trailing on a caller line, that
  line. ``ALL`` and code prefixes (``DF01``) select several rules.
- ``# dfix: file-ignore[CODES]``: the whole file.
- ``# dfix: skip-file``: dfix leaves the file alone (a caller it leaves alone blocks the Dockerfile
  fixes that would need it changed).

BuildKit's own form is honoured too, so one comment silences both tools: the parser directive
``# check=skip=SecretsUsedInArgOrEnv`` (or ``skip=all``) at the top of the file ignores DF001 and
DF002 in the whole file, and the same comment directly above an instruction ignores them on that
instruction (BuildKit's per-instruction skip). Check names are matched as BuildKit matches them,
exactly; other checks' names are ignored (they are not dfix's).

A malformed pragma is an error, never silently accepted: a bare ``# dfix: ignore`` (which codes?),
an empty list, an unclosed bracket, or a code no rule has (``DF0111``). Callers may write ``//``
instead of ``#`` (Jenkinsfiles, HCL).
"""

from __future__ import annotations

import re

from refactor.codecache import regex
from refactor.records import dataclass
from refactor.rules import check_codes

_DIRECTIVE = regex(r"dfix:[ \t]*(file-ignore|ignore|skip-file)(?![\w-])(\[[^\]\n]*\]?)?")
_CALLER_COMMENT = regex(r"(?:#|//)[ \t]*dfix:")


# BuildKit build checks and the dfix rules that judge the same thing
BUILDKIT_CHECKS: dict[str, frozenset[str]] = {"SecretsUsedInArgOrEnv": frozenset({"DF001", "DF002"})}
_CHECK_COMMENT = regex(r"check[ \t]*=(.*)", re.IGNORECASE | re.DOTALL)


def buildkit_skipped_codes(value: str) -> frozenset[str]:
    """The dfix codes a BuildKit ``check`` value skips (``skip=A,B;error=true``): those of the
    checks it names, all of them for ``skip=all``."""
    out: set[str] = set()
    for segment in value.split(";"):
        key, eq, names = segment.partition("=")
        if key.strip().lower() != "skip" or not eq:
            continue
        for name in (n.strip() for n in names.split(",")):
            if name == "all":
                for codes in BUILDKIT_CHECKS.values():
                    out |= codes
            else:
                out |= BUILDKIT_CHECKS.get(name, frozenset())
    return frozenset(out)


def buildkit_comment_codes(comment: str) -> frozenset[str]:
    """The codes a ``# check=skip=…`` comment above an instruction skips (``comment`` without '#')."""
    m = _CHECK_COMMENT.fullmatch(comment.strip())
    return buildkit_skipped_codes(m.group(1)) if m else frozenset()


class PragmaError(ValueError):
    """A ``dfix:`` comment that cannot mean what its author wants; the message names the line."""


@dataclass(frozen=True)
class Pragma:
    kind: str  # ignore | file-ignore | skip-file
    codes: frozenset[str] = frozenset()


def parse(comment: str, line: int) -> Pragma | None:
    """The pragma a comment's text holds (None: none); raises PragmaError when it is malformed."""
    m = _DIRECTIVE.search(comment)
    if m is None:
        return None
    kind, bracket = m.group(1), m.group(2)
    if kind == "skip-file":
        if bracket:
            raise PragmaError(f"line {line}: '# dfix: skip-file' takes no codes (use '# dfix: file-ignore[...]')")
        return Pragma(kind)
    if not bracket:
        raise PragmaError(f"line {line}: '# dfix: {kind}' needs the codes it ignores, e.g. '# dfix: {kind}[DF001]'")
    if not bracket.endswith("]"):
        raise PragmaError(f"line {line}: '# dfix: {kind}[' is not closed on its line")
    try:
        codes = check_codes(bracket[1:-1].split(","))
    except ValueError as exc:
        raise PragmaError(f"line {line}: {exc} in '# dfix: {kind}[...]' (see dfix --list-rules)") from None
    if not codes:
        raise PragmaError(f"line {line}: '# dfix: {kind}[]' names no codes, e.g. '# dfix: {kind}[DF001]'")
    return Pragma(kind, frozenset(codes))


def suppressed(code: str, codes) -> bool:
    """Whether ``codes`` (codes, prefixes, ALL) cover rule ``code``."""
    return any(c == "ALL" or code.startswith(c) for c in codes)


@dataclass
class CallerPragmas:
    """The pragmas of one caller file: file-wide codes, codes per 1-based line, skip-file."""

    skip: bool = False
    file_codes: frozenset[str] = frozenset()
    lines: dict[int, frozenset[str]] | None = None

    def covers(self, code: str, line: int) -> bool:
        return self.skip or suppressed(code, self.file_codes) or suppressed(code, (self.lines or {}).get(line, ()))


def caller_pragmas(text: str) -> CallerPragmas:
    """Read the ``dfix:`` comments of a caller (raises PragmaError). A comment-only line covers the
    next line that is not blank or a comment, with the lines that continue it (``\\`` at the end);
    a trailing comment covers its own line."""
    by_line: dict[int, frozenset[str]] = {}
    out = CallerPragmas(lines=by_line)
    if "dfix:" not in text:
        return out
    file_codes: set[str] = set()
    pending: set[str] = set()
    continued = False
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        m = _CALLER_COMMENT.search(line)
        p = parse(line[m.start() :], n) if m else None
        comment_only = stripped.startswith(("#", "//"))
        if p is not None and p.kind == "skip-file":
            out.skip = True
        elif p is not None and p.kind == "file-ignore":
            file_codes |= p.codes
        elif p is not None and comment_only:
            pending |= p.codes
            continue
        if (comment_only or not stripped) and not continued:
            continue
        here = set(pending) if (pending or continued) else set()
        if p is not None and p.kind == "ignore":
            here |= p.codes
        if continued:
            here |= by_line.get(n - 1, frozenset())
        if here:
            by_line[n] = frozenset(here)
        pending = set()
        continued = line.rstrip().endswith("\\")
    out.file_codes = frozenset(file_codes)
    return out

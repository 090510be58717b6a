"""Whether a tool's config or requirements file makes a RUN read a secret, for
:mod:`refactor.fixes.mounts`: the context files the stage copies (read when the build context is
known; unknown means it may), the config files earlier RUNs of the stage write, and the requirement
files a pip-like command names.
"""

from __future__ import annotations

import posixpath

from refactor import buildcontext
from refactor.analysis import implicit
from refactor.analysis.facts import Facts
from refactor.codecache import regex


def _config_reads(
    facts: Facts,
    idx: int,
    tool: str,
    cf: str,
    n: str,
    ctx_files: dict[str, str],
    context_dir: str | None,
    *,
    named: str | None = None,
) -> str | None:
    """Why ``tool`` at RUN ``idx`` may expand ``${n}`` from its config file ``cf``, or None when it
    cannot: no such file reaches the stage, or every copy of it is known and does not name ``n``.
    A file that is copied but missing, unreadable or matched by a glob at analysis time is
    unknown (CI often generates it right before the build): unknown means it may.

    ``named``: the path the command line names (``pip install -r deps/req.txt``). Such a file is
    not optional: the RUN fails without it, so one that no COPY from the build context brings in
    comes from somewhere dfix cannot read (the base image, a clone, a download, another stage)
    and may name any variable (the rewrite check judges it so too)."""
    content = ctx_files.get(cf)
    if content and implicit.file_references(content, n):
        return f"{tool} expands ${{{n}}} in {cf}"
    memo: dict = facts.__dict__.setdefault("_config_reads_memo", {})  # per file: asked once per RUN, tool and secret
    chain = facts.stage_chain(facts.stage_of[idx])
    copied = False
    for s in chain:
        copies = memo.get(("copy", s, tool, cf, n, context_dir))
        if copies is None:
            copies = memo[("copy", s, tool, cf, n, context_dir)] = _StageCopies(
                facts.context_copies_by_stage.get(s, ()), tool, cf, n, context_dir
            )
        why, relevant = copies.upto(idx)
        if why:
            return why
        copied = copied or relevant
    # a config file an earlier RUN of the stage writes with the reference in it (single-quoted)
    if not any(ch in cf for ch in "*?["):
        for s in chain:
            key = ("write", s, cf, n)
            if key not in memo:
                memo[key] = next(
                    (r.instr for r in facts.runs_by_stage.get(s, ()) if cf in r.script and implicit.file_references(r.script, n)), None
                )
            j = memo[key]
            if j is not None and j < idx:
                return f"{tool} may expand ${{{n}}} in the {cf} line {facts.df.instructions[j].start_line} writes"
    if named is not None and not copied:
        return f"{tool} may expand ${{{n}}} in {named}, which no COPY from the build context brings in (dfix cannot read it)"
    return None


class _StageCopies:
    """The COPY/ADD sources of one stage that may bring ``cf`` in, judged in file order as far as
    the RUNs asking need (the first that makes ``tool`` read ``${n}`` ends the scan): each source
    is judged once per file, not once per RUN after it (12,000 RUNs took 15 s)."""

    def __init__(self, copies, tool: str, cf: str, n: str, context_dir: str | None) -> None:
        self.copies, self.tool, self.cf, self.n, self.context_dir = copies, tool, cf, n, context_dir
        self.pos = 0  # copies[:pos] are judged
        self.first_copy: int | None = None  # the first source that brings ``cf`` in (its instruction)
        self.found: tuple[int, str] | None = None  # the first that gives a reason

    def upto(self, idx: int) -> tuple[str | None, bool]:
        """(why, whether a source before ``idx`` brings ``cf`` in) for a RUN at ``idx``."""
        copies = self.copies
        while self.found is None and self.pos < len(copies) and copies[self.pos][0] < idx:
            j, src = copies[self.pos]
            self.pos += 1
            hit, why = _copy_reads(src, self.tool, self.cf, self.n, self.context_dir)
            if hit and self.first_copy is None:
                self.first_copy = j
            if why:
                self.found = (j, why)
        if self.found is not None and self.found[0] < idx:
            return self.found[1], True
        return None, self.first_copy is not None and self.first_copy < idx


def _copy_reads(src: str, tool: str, cf: str, n: str, context_dir: str | None) -> tuple[bool, str | None]:
    """(whether the COPY source ``src`` may bring ``cf`` in, why ``tool`` may then expand ``${n}``)."""
    import fnmatch

    base = src.rstrip("/").rsplit("/", 1)[-1]
    glob = any(ch in base for ch in "*?[")
    hit = fnmatch.fnmatchcase(base, cf)
    whole = src in (".", "./", "/") or src.endswith("/")
    if context_dir is not None and not whole and not glob and not hit:
        whole = buildcontext.is_dir(buildcontext.inside(context_dir, src))
    if not hit and not whole and not glob:
        return False, None
    if context_dir is None:
        return True, f"{tool} may expand ${{{n}}} in the copied {cf} (the build context is not known)"
    if glob:
        return True, f"{tool} may expand ${{{n}}} in a {cf} the COPY pattern {src} picks up"
    rels = [src]
    if whole:
        if any(ch in cf for ch in "*?["):
            entries = buildcontext.listing(buildcontext.inside(context_dir, src))
            if entries is None:
                return True, f"{tool} may expand ${{{n}}} in a {cf} copied with {src}, which dfix cannot list"
            rels = [posixpath.join(src, e) for e in sorted(entries) if fnmatch.fnmatchcase(e, cf)]
        else:
            rels = [posixpath.join(src, cf)]
    for rel in rels:
        why = _context_file_reads(context_dir, rel, tool, n)
        if why:
            return True, why
    return True, None


def _context_file_reads(context_dir: str, rel: str, tool: str, n: str) -> str | None:
    """Why the copied context file ``rel`` may make ``tool`` expand ``${n}`` (None: it cannot)."""
    if buildcontext.dockerignored(context_dir, rel):
        return None
    text, unreadable = buildcontext.text(buildcontext.inside(context_dir, rel))
    if text is None:
        return f"{tool} may expand ${{{n}}} in the copied {rel}{unreadable}"
    if implicit.file_references(text, n):
        return f"{tool} expands ${{{n}}} in the copied {rel}"
    return None


_REQ_ARG = regex(r"(?:^|\s)(?:-r|--requirement|-c|--constraint)(?:\s+|=)([\"']?)([^\s\"';&|]+)\1")


def _requirement_files(script: str) -> list[str]:
    """Requirement/constraint files a pip-like command names (pip expands ${VAR} in them)."""
    if "-r" not in script and "--requirement" not in script and "-c" not in script and "--constraint" not in script:
        return []
    return [m.group(2) for m in _REQ_ARG.finditer(script)]

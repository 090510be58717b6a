"""Whether a tool's config or requirements file makes a RUN read a secret, for
:mod:`refactor.fixes.mounts`: the context files the stage copies (read when the build context is
known; unknown means it may), the config files earlier RUNs of the stage write, and the requirement
files a pip-like command names.
"""

from __future__ import annotations

import posixpath
import re

from refactor import buildcontext
from refactor.analysis import implicit
from refactor.analysis.facts import Facts


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
    import fnmatch

    content = ctx_files.get(cf)
    if content and implicit.file_references(content, n):
        return f"{tool} expands ${{{n}}} in {cf}"
    cf_glob = any(ch in cf for ch in "*?[")
    copied = False
    for src in _stage_copy_sources(facts, idx):
        base = src.rstrip("/").rsplit("/", 1)[-1]
        glob = any(ch in base for ch in "*?[")
        hit = fnmatch.fnmatchcase(base, cf)
        whole = src in (".", "./", "/") or src.endswith("/")
        if context_dir is not None and not whole and not glob and not hit:
            whole = buildcontext.is_dir(buildcontext.inside(context_dir, src))
        if not hit and not whole and not glob:
            continue
        copied = True
        if context_dir is None:
            return f"{tool} may expand ${{{n}}} in the copied {cf} (the build context is not known)"
        if glob:
            return f"{tool} may expand ${{{n}}} in a {cf} the COPY pattern {src} picks up"
        rels = [src]
        if whole:
            if cf_glob:
                entries = buildcontext.listing(buildcontext.inside(context_dir, src))
                if entries is None:
                    return f"{tool} may expand ${{{n}}} in a {cf} copied with {src}, which dfix cannot list"
                rels = [posixpath.join(src, e) for e in sorted(entries) if fnmatch.fnmatchcase(e, cf)]
            else:
                rels = [posixpath.join(src, cf)]
        for rel in rels:
            why = _context_file_reads(context_dir, rel, tool, n)
            if why:
                return why
    # a config file an earlier RUN of the stage writes with the reference in it (single-quoted)
    for j, script in _stage_scripts(facts, idx):
        if not cf_glob and cf in script and implicit.file_references(script, n):
            return f"{tool} may expand ${{{n}}} in the {cf} line {facts.df.instructions[j].start_line} writes"
    if named is not None and not copied:
        return f"{tool} may expand ${{{n}}} in {named}, which no COPY from the build context brings in (dfix cannot read it)"
    return None


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


_REQ_ARG = re.compile(r"(?:^|\s)(?:-r|--requirement|-c|--constraint)(?:\s+|=)([\"']?)([^\s\"';&|]+)\1")


def _requirement_files(script: str) -> list[str]:
    """Requirement/constraint files a pip-like command names (pip expands ${VAR} in them)."""
    if "-r" not in script and "--requirement" not in script and "-c" not in script and "--constraint" not in script:
        return []
    return [m.group(2) for m in _REQ_ARG.finditer(script)]


def _stage_scripts(facts: Facts, idx: int) -> list[tuple[int, str]]:
    """(instruction index, script) of the RUNs before ``idx`` in its stage chain."""
    per = facts.runs_by_stage
    return [(r.instr, r.script) for s in facts.stage_chain(facts.stage_of[idx]) for r in per.get(s, ()) if r.instr < idx]


def _stage_copy_sources(facts: Facts, idx: int) -> list[str]:
    """COPY/ADD sources from the context before ``idx`` in its stage chain."""
    per = facts.context_copies_by_stage
    return [w for s in facts.stage_chain(facts.stage_of[idx]) for j, w in per.get(s, ()) if j < idx]

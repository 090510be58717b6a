"""Writing rewritten files: atomic, per group, checked before anything is written.

Writes are atomic: the new bytes go to ``.<name>.dfix-tmp-<pid>-<rand>`` beside the file, are
fsynced, get the original owner, extended attributes (POSIX ACLs included) and mode, and replace the
file with ``os.replace``. A run removes leftover temp files of that pattern next to the files it
processes. A symlinked Dockerfile is written *through*: the link's target is replaced, the link stays
a link, except that a link found by discovery whose target lies outside the scanned directory is not
written (a repository could otherwise point ``--write`` at any file the user can write; naming the
link explicitly writes it). A file with several hard links is not written either: replacing it would
split the links and leave the other names with the old content, secret included.

Every file (Dockerfile or caller) is compared with the bytes dfix read, before the group is written
and again just before its own ``os.replace``: a file edited meanwhile is never overwritten.

A Dockerfile and the callers whose edits go with it are one group: every member is checked
(``preflight``) before any is written, and a member that cannot be written keeps the group
unwritten (a migrated Dockerfile with an unmigrated caller, or the reverse, breaks the build). Groups
are written one at a time, under a journal (``refactor.journal``): a write that fails half-way puts
the written members back, and a run killed half-way is completed by the next ``--write``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from refactor.fixes.edit import Edit, apply_edits
from refactor.results import FileResult, FindingOut
from refactor.source import read_source
from refactor.syntax.dockerfile import parse
from refactor.write_file import CHANGED, TMP_PATTERN, Changed, WriteRefused, _cleanup_tmp, write_atomic
from refactor.write_groups import Slot, _groups, _write_group, new_bytes, old_bytes, preflight, refused, write_result

# The parts: write_file (one file's atomic replace, the refusals, temp-file clean-up) and
# write_groups (preflight, groups written under a journal, write_result); this module writes a
# run's planned results and the ignore pragmas, and is the public face of them all.
__all__ = [
    "CHANGED",
    "TMP_PATTERN",
    "Changed",
    "WriteRefused",
    "_cleanup_tmp",
    "add_ignores",
    "new_bytes",
    "old_bytes",
    "preflight",
    "refused",
    "write_atomic",
    "write_planned",
    "write_result",
]


def write_planned(results: list[FileResult], roots: list[str | None]) -> list[FileResult]:
    """Write every planned result, all-or-nothing per group: a Dockerfile and the callers whose
    edits go with it. A group member that cannot be written (preflight) keeps the whole group
    unwritten, since a migrated Dockerfile with an unmigrated caller (or the reverse) breaks the
    build. Groups are then written one at a time (``_write_group``). ``roots[i]``: the scanned
    directory ``results[i]``'s write must stay in. Returns the results as written or refused, in
    the same order."""
    slots = [Slot(r, root) for r, root in zip(results, roots, strict=True)]
    for s in slots:
        err = preflight(s.result, s.root)
        if err:
            s.refuse(err)
    dockerfiles = {os.path.realpath(s.result.fs_path): s for s in slots if s.result.kind != "caller" and s.result.fs_path}
    callers = [s for s in slots if s.result.kind == "caller"]
    bad = {k for k, s in dockerfiles.items() if s.result.status == "error" and s.result.changed}
    while True:
        for c in callers:
            if c.result.status == "ok" and c.result.changed and bad.intersection(c.result.linked):
                names = ", ".join(sorted(dockerfiles[d].result.path if d in dockerfiles else d for d in bad.intersection(c.result.linked)))
                c.refuse(f"not written: it goes with {names}, which could not be written")
        grown = bad.union(*(c.result.linked for c in callers if c.result.status == "error" and c.result.changed))
        if grown == bad:
            break
        bad = grown
    for k in bad:
        d = dockerfiles.get(k)
        if d is not None and d.result.status == "ok" and d.result.changed:
            failed = sorted(c.result.path for c in callers if k in c.result.linked and c.result.status == "error")
            d.refuse(f"not written: its caller(s) {', '.join(failed)} could not be written")
    for group in _groups(slots, dockerfiles):
        _write_group(group)
    return [s.result for s in slots]


def add_ignores(path: str, findings: Sequence[FindingOut], root: str | None = None) -> int:
    """Insert ``# dfix: ignore[CODES]`` above each instruction holding findings; returns how many
    instructions got a pragma. An existing dfix ignore comment right above is extended."""
    source = read_source(path)
    df = parse(source)
    text = source.text
    by_instr: dict[int, set[str]] = {}
    for f in findings:
        offset = source.line_starts[f.line - 1] + f.column - 1
        for idx, ins in enumerate(df.instructions):
            if ins.start <= offset < ins.end:
                by_instr.setdefault(idx, set()).add(f.code)
                break
    edits: list[Edit] = []
    for idx, codes in by_instr.items():
        ins = df.instructions[idx]
        existing = next((c for c in reversed(ins.comments) if re.search(r"dfix:\s*ignore\[", c.text)), None)
        if existing is not None and existing.end == ins.start:
            m = re.search(r"ignore\[([A-Za-z0-9_,\s-]+)\]", text[existing.start : existing.end])
            assert m is not None  # a malformed ignore comment is a parse error before --add-ignore
            old = {x.strip() for x in m.group(1).split(",") if x.strip()}
            merged = ",".join(sorted(old | codes))
            a = existing.start + m.start(1)
            edits.append(Edit(a, existing.start + m.end(1), merged))
            continue
        line_end = text.find("\n", ins.start)
        first_line = text[ins.start : line_end if line_end != -1 else len(text)]
        indent = first_line[: len(first_line) - len(first_line.lstrip(" \t"))]
        nl = source.newline_at(ins.start) or source.default_newline
        edits.append(Edit(ins.start, ins.start, f"{indent}# dfix: ignore[{','.join(sorted(codes))}]{nl}"))
    if not edits:
        return 0
    write_atomic(path, source.to_bytes(apply_edits(text, edits)), root, expect=source.to_bytes())
    return len(edits)

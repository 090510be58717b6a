"""Writing rewritten files: atomic, per group, checked before anything is written.

Writes are atomic: the new bytes go to ``.<name>.dfix-tmp-<pid>-<rand>`` beside the file, are
fsynced, get the original mode and ownership, and replace the file with ``os.replace``. A run
removes leftover temp files of that pattern next to the files it processes. A symlinked Dockerfile
is written *through*: the link's target is replaced, the link stays a link, except that a link found
by discovery whose target lies outside the scanned directory is not written (a repository could
otherwise point ``--write`` at any file the user can write; naming the link explicitly writes it).
A file with several hard links is not written either: replacing it would split the links and leave
the other names with the old content, secret included.

A Dockerfile and the callers whose edits go with it are one group: every member is checked
(``preflight``) before any is written, and a member that cannot be written keeps the group
unwritten (a migrated Dockerfile with an unmigrated caller, or the reverse, breaks the build).
"""

from __future__ import annotations

import os
import re

from refactor.fixes.edit import Edit, apply_edits
from refactor.results import FileResult, FindingOut
from refactor.source import read_source
from refactor.syntax.dockerfile import parse

TMP_PATTERN = re.compile(r"^\..+\.dfix-tmp-\d+-[0-9a-f]+$")


class WriteRefused(OSError):
    """A write dfix will not do; ``strerror`` says why and what to do instead."""

    def __init__(self, message: str):
        super().__init__(0, message)


def _cleanup_tmp(path: str) -> None:
    target = os.path.realpath(path)  # temp files sit beside the file that is really written
    d = os.path.dirname(target)
    # named after the target (and, from older versions, after the link written through)
    prefixes = tuple(f".{b}.dfix-tmp-" for b in {os.path.basename(target), os.path.basename(path)})
    try:
        names = os.listdir(d)
    except OSError:
        return
    for n in names:
        if n.startswith(prefixes) and TMP_PATTERN.match(n):
            try:
                os.unlink(os.path.join(d, n))
            except OSError:
                pass


def write_atomic(path: str, data: bytes, root: str | None = None) -> None:
    _check_write(path, root)
    target = os.path.realpath(path)  # write through symlinks: the link stays a link
    st = os.stat(target)
    d = os.path.dirname(target)
    tmp = os.path.join(d, f".{os.path.basename(target)}.dfix-tmp-{os.getpid()}-{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chown(tmp, st.st_uid, st.st_gid)  # first: chown clears setuid/setgid bits
        except PermissionError:
            pass
        os.chmod(tmp, st.st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _check_write(path: str, root: str | None) -> None:
    """Raise WriteRefused when dfix must not replace ``path`` (see the module docstring)."""
    target = os.path.realpath(path)
    if root is not None:
        real_root = os.path.realpath(root)
        if os.path.commonpath([real_root, target]) != real_root:
            raise WriteRefused(f"it is a symlink to a file outside {root} ({target}); name it explicitly to rewrite the target")
    links = os.stat(target).st_nlink
    if links > 1:
        raise WriteRefused(
            f"it has {links} hard links, and replacing it would leave the other names with the old content;"
            " make it a single file (or a symlink) first"
        )


def refuse(result: FileResult, error: str) -> None:
    """Mark a planned write as not done: an error, and no fix counts as applied."""
    result.status, result.error = "error", error
    for f in result.findings:
        if f.fix is not None and f.fix.applied:
            f.fix.applied = False
            f.fix.reasons.append("not written: " + error.removeprefix("not written: "))


def preflight(result: FileResult, root: str | None = None) -> str | None:
    """Why a planned write would fail (None: it can go ahead). Checked for every file of a run
    before any is written, so that a Dockerfile and its callers are written together or not at
    all."""
    if not result.changed or result.written or result.status != "ok" or not result.fs_path or result.new_text is None:
        return None
    try:
        if result.stamp is not None:
            st = os.stat(result.fs_path)
            if (st.st_size, st.st_mtime_ns, st.st_ino) != result.stamp:
                return "changed while dfix ran; not written (run dfix again)"
        _check_write(result.fs_path, root if root is not None else result.write_root)
        directory = os.path.dirname(os.path.realpath(result.fs_path))
        if not os.access(directory, os.W_OK | os.X_OK):
            return f"cannot write: no permission to create files in {directory}"
    except WriteRefused as exc:
        return f"not written: {exc.strerror}"
    except OSError as exc:
        return f"cannot write: {exc.strerror}"
    return None


def write_planned(results: list[FileResult], roots: dict[int, str | None]) -> None:
    """Write every planned result, all-or-nothing per group: a Dockerfile and the callers whose
    edits go with it. A group member that cannot be written (preflight) keeps the whole group
    unwritten, since a migrated Dockerfile with an unmigrated caller (or the reverse) breaks the
    build."""
    for r in results:
        err = preflight(r, roots.get(id(r)))
        if err:
            refuse(r, err)
    dockerfiles = {os.path.realpath(r.fs_path): r for r in results if r.kind != "caller" and r.fs_path}
    callers = [r for r in results if r.kind == "caller"]
    bad = {k for k, r in dockerfiles.items() if r.status == "error" and r.changed}
    while True:
        for c in callers:
            if c.status == "ok" and c.changed and bad.intersection(c.linked):
                names = ", ".join(sorted(dockerfiles[d].path if d in dockerfiles else d for d in bad.intersection(c.linked)))
                refuse(c, f"not written: it goes with {names}, which could not be written")
        grown = bad.union(*(c.linked for c in callers if c.status == "error" and c.changed))
        if grown == bad:
            break
        bad = grown
    for k in bad:
        d = dockerfiles.get(k)
        if d is not None and d.status == "ok" and d.changed:
            failed = sorted(c.path for c in callers if k in c.linked and c.status == "error")
            refuse(d, f"not written: its caller(s) {', '.join(failed)} could not be written")
    for r in results:
        write_result(r, roots.get(id(r)))


def write_result(result: FileResult, root: str | None = None) -> None:
    """Write a result planned with ``defer_write`` (atomic; errors become the result's error)."""
    err = preflight(result, root)
    if err:
        refuse(result, err)
        return
    if not result.changed or result.written or result.status != "ok" or not result.fs_path or result.new_text is None:
        return
    try:
        data = ("\ufeff" if result.bom else "").encode() + result.new_text.encode("utf-8")
        write_atomic(result.fs_path, data, root if root is not None else result.write_root)
        result.written = True
    except WriteRefused as exc:
        refuse(result, f"not written: {exc.strerror}")
    except OSError as exc:
        refuse(result, f"cannot write: {exc.strerror}")


def add_ignores(path: str, findings: list[FindingOut], root: str | None = None) -> int:
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
    write_atomic(path, source.to_bytes(apply_edits(text, edits)), root)
    return len(edits)

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

from refactor import journal
from refactor.fixes.edit import Edit, apply_edits
from refactor.results import FileResult, FindingOut
from refactor.source import read_source
from refactor.syntax.dockerfile import parse

TMP_PATTERN = re.compile(r"^\..+\.dfix-tmp-\d+-[0-9a-f]+$")
ACL = "system.posix_acl_access"
_FS_IOC_GETFLAGS = 0x80086601  # linux/fs.h: _IOR('f', 1, long)
_FS_IMMUTABLE_FL, _FS_APPEND_FL = 0x10, 0x20
CHANGED = "changed while dfix ran; not written (run dfix again)"


class WriteRefused(OSError):
    """A write dfix will not do; ``strerror`` says why and what to do instead."""

    def __init__(self, message: str):
        super().__init__(0, message)


class Changed(WriteRefused):
    """The file no longer holds the bytes dfix read."""

    def __init__(self) -> None:
        super().__init__(CHANGED)


def _cleanup_tmp(path: str) -> None:
    """Before a ``--write`` run reads ``path``: remove leftover temp files beside it, and complete
    a group that an interrupted run left half written (``refactor.journal``), so the file is read
    as the group left it. A journal that cannot be completed raises WriteRefused: the file is not
    processed."""
    target = os.path.realpath(path)  # temp files sit beside the file that is really written
    d = os.path.dirname(target)
    # named after the target (and, from older versions, after the link written through)
    prefixes = tuple(f".{b}.dfix-tmp-" for b in {os.path.basename(target), os.path.basename(path)})
    try:
        names = os.listdir(d)
    except OSError:
        names = []
    for n in names:
        if n.startswith(prefixes) and TMP_PATTERN.match(n):
            try:
                os.unlink(os.path.join(d, n))
            except OSError:
                pass
    try:
        journal.recover_for([path])
    except journal.JournalError as exc:
        raise WriteRefused(exc.strerror or "an interrupted dfix run left a journal dfix cannot use") from None
    except OSError as exc:
        raise WriteRefused(f"an interrupted dfix run left a group half written, and completing it failed ({exc.strerror})") from None


def _fill(fd: int, data: bytes) -> None:
    """Write and fsync the temp file (a seam for the disk-full tests)."""
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _copy_xattrs(src: str, dst: str) -> list[str]:
    """Copy the extended attributes of ``src`` (``user.*``, ``security.*``, ``trusted.*`` and the
    ``system.posix_acl_access`` ACL) to ``dst``; returns those that could not be kept (an attribute
    the user may not set, such as another process's ``security.*`` label, is noted, not fatal). An
    access ACL that cannot be kept refuses the write: without it the mode's group bits (the ACL
    mask) would apply to the owning group, which can widen access."""
    if not hasattr(os, "listxattr"):
        return []
    try:
        names = os.listxattr(src)
    except OSError:
        names = []  # no xattr support here: nothing to keep
    dropped = []
    for n in names:
        try:
            value = os.getxattr(src, n)
        except OSError:
            dropped.append(n)
            continue
        try:
            os.setxattr(dst, n, value)
        except OSError as exc:
            try:
                if os.getxattr(dst, n) == value:  # already there (a label the file system gave it)
                    continue
            except OSError:
                pass
            if n == ACL:
                raise WriteRefused(
                    f"its access ACL cannot be copied to the new file ({exc.strerror}), and dropping it could widen access"
                ) from None
            dropped.append(f"{n} ({exc.strerror})")
    if ACL not in names:  # a default ACL of the directory must not add one the file never had
        try:
            os.removexattr(dst, ACL)
        except OSError:
            pass
    return dropped


def write_atomic(path: str, data: bytes, root: str | None = None, *, expect: bytes | None = None) -> list[str]:
    """Replace ``path`` (through symlinks) with ``data``, atomically. ``expect``: the bytes the
    file must still hold right before the replace (Changed otherwise, nothing written). Returns the
    extended attributes that could not be kept."""
    _check_write(path, root)
    target = os.path.realpath(path)  # write through symlinks: the link stays a link
    st = os.stat(target)
    d = os.path.dirname(target)
    tmp = os.path.join(d, f".{os.path.basename(target)}.dfix-tmp-{os.getpid()}-{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        _fill(fd, data)
        try:
            os.chown(tmp, st.st_uid, st.st_gid)  # first: chown clears setuid/setgid bits
        except PermissionError:
            pass
        dropped = _copy_xattrs(target, tmp)
        os.chmod(tmp, st.st_mode & 0o7777)  # last: also sets the ACL mask to the old group bits
        if expect is not None and _read(target) != expect:
            raise Changed()
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return dropped


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


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


def _check_flags(target: str) -> None:
    """Refuse an immutable or append-only file (``chattr +i``/``+a``): its replace would fail."""
    try:
        import fcntl
        import struct

        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK)
    except (ImportError, OSError):
        return
    try:
        buf = fcntl.ioctl(fd, _FS_IOC_GETFLAGS, b"\0" * 8)
        flags = struct.unpack("=i", buf[:4])[0]
    except OSError:
        return  # no such flags on this file system
    finally:
        os.close(fd)
    if flags & _FS_IMMUTABLE_FL:
        raise WriteRefused("it is immutable (chattr +i); clear the flag to let dfix rewrite it")
    if flags & _FS_APPEND_FL:
        raise WriteRefused("it is append-only (chattr +a); clear the flag to let dfix rewrite it")


def refuse(result: FileResult, error: str) -> None:
    """Mark a planned write as not done: an error, and no fix counts as applied."""
    result.status, result.error = "error", error
    for f in result.findings:
        if f.fix is not None and f.fix.applied:
            f.fix.applied = False
            f.fix.reasons.append("not written: " + error.removeprefix("not written: "))


def _pending(result: FileResult) -> bool:
    return bool(result.changed and not result.written and result.status == "ok" and result.fs_path and result.new_text is not None)


def old_bytes(result: FileResult) -> bytes | None:
    """The bytes dfix read (None when the run did not keep the text)."""
    if result.original is None:
        return None
    return (("\ufeff" if result.bom else "") + result.original).encode("utf-8", "surrogateescape")


def new_bytes(result: FileResult) -> bytes:
    assert result.new_text is not None
    return (("\ufeff" if result.bom else "") + result.new_text).encode("utf-8", "surrogateescape")


def _changed(result: FileResult) -> bool:
    """Whether the file no longer holds what dfix read: its bytes, and (Dockerfiles) the size,
    mtime and inode recorded when it was read."""
    assert result.fs_path is not None
    if result.stamp is not None:
        st = os.stat(result.fs_path)
        if (st.st_size, st.st_mtime_ns, st.st_ino) != result.stamp:
            return True
    old = old_bytes(result)
    return old is not None and _read(result.fs_path) != old


def preflight(result: FileResult, root: str | None = None) -> str | None:
    """Why a planned write would fail (None: it can go ahead). Checked for every file of a run
    before any is written, so that a Dockerfile and its callers are written together or not at
    all."""
    if not _pending(result):
        return None
    assert result.fs_path is not None
    try:
        if _changed(result):
            return CHANGED
        _check_write(result.fs_path, root if root is not None else result.write_root)
        target = os.path.realpath(result.fs_path)
        _check_flags(target)
        directory = os.path.dirname(target)
        if not os.access(directory, os.W_OK | os.X_OK):
            return f"cannot write: no permission to create files in {directory}"
        left = journal.journals_for(result.fs_path)
        if left:
            return (
                f"not written: an interrupted dfix run left {journal._shown(left[0][1])}, which names this file;"
                " run `dfix --write` on its Dockerfile to complete that write first"
            )
    except WriteRefused as exc:
        return f"not written: {exc.strerror}"
    except OSError as exc:
        return f"cannot write: {exc.strerror}"
    return None


def write_planned(results: list[FileResult], roots: dict[int, str | None]) -> None:
    """Write every planned result, all-or-nothing per group: a Dockerfile and the callers whose
    edits go with it. A group member that cannot be written (preflight) keeps the whole group
    unwritten, since a migrated Dockerfile with an unmigrated caller (or the reverse) breaks the
    build. Groups are then written one at a time (``_write_group``)."""
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
    for group in _groups(results, dockerfiles):
        _write_group(group, roots)


def _groups(results: list[FileResult], dockerfiles: dict[str, FileResult]) -> list[list[FileResult]]:
    """The results still to write, by group (connected through the callers' linked Dockerfiles);
    in each, the Dockerfiles first, then the callers."""
    todo = [r for r in results if _pending(r)]
    parent = {id(r): id(r) for r in todo}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for c in todo:
        if c.kind != "caller":
            continue
        for k in c.linked:
            d = dockerfiles.get(k)
            if d is not None and id(d) in parent:
                parent[find(id(c))] = find(id(d))
    groups: dict[int, list[FileResult]] = {}
    for r in todo:
        groups.setdefault(find(id(r)), []).append(r)
    out = [sorted(g, key=lambda r: (r.kind == "caller", r.path)) for g in groups.values()]
    return sorted(out, key=lambda g: g[0].path)


def _root(result: FileResult, roots: dict[int, str | None]) -> str | None:
    root = roots.get(id(result))
    return root if root is not None else result.write_root


def _write_group(group: list[FileResult], roots: dict[int, str | None]) -> None:
    """Write one group: re-check every member against the bytes read, store the journal, replace
    the members in order, remove the journal. A member that fails puts the written ones back; if
    that fails too, the journal stays and the next ``--write`` completes the group."""
    if len(group) == 1:
        write_result(group[0], roots.get(id(group[0])))
        return
    paths = [r.fs_path for r in group if r.fs_path]
    jroot = journal.root_for(paths)
    with journal.locked(jroot):
        _write_group_locked(group, roots, jroot)


def _others(group: list[FileResult], failed: FileResult, why: str) -> None:
    for r in group:
        if r is failed or r.status != "ok":
            continue
        if r.kind != "caller" and failed.kind == "caller":
            refuse(r, f"not written: its caller(s) {failed.path} {why}")
        else:
            refuse(r, f"not written: it goes with {failed.path}, which {why}")


def _write_group_locked(group: list[FileResult], roots: dict[int, str | None], jroot: str) -> None:
    olds: dict[int, bytes] = {}
    for r in group:  # the bytes read, checked again now that no other dfix run can write them
        assert r.fs_path is not None
        try:
            if _changed(r):
                refuse(r, CHANGED)
                _others(group, r, "changed while dfix ran")
                return
            read = old_bytes(r)
            olds[id(r)] = read if read is not None else _read(r.fs_path)
        except OSError as exc:
            refuse(r, f"cannot write: {exc.strerror}")
            _others(group, r, "could not be written")
            return
    try:
        j = journal.begin(jroot, [(r.fs_path, olds[id(r)], new_bytes(r)) for r in group if r.fs_path])
    except journal.JournalError as exc:
        for r in group:
            refuse(r, f"not written: {exc.strerror}")
        return
    except OSError as exc:
        for r in group:
            refuse(
                r,
                f"cannot write: the group's journal cannot be stored in {journal._shown(os.path.join(jroot, journal.DIRNAME))} ({exc.strerror})",
            )
        return
    done: list[FileResult] = []
    failed: FileResult | None = None
    error = ""
    for r in group:
        assert r.fs_path is not None
        try:
            dropped = write_atomic(r.fs_path, new_bytes(r), _root(r, roots), expect=olds[id(r)])
        except Changed:
            failed, error = r, CHANGED
        except WriteRefused as exc:
            failed, error = r, f"not written: {exc.strerror}"
        except OSError as exc:
            failed, error = r, f"cannot write: {exc.strerror}"
        else:
            r.written = True
            _note_dropped(r, dropped)
            done.append(r)
            continue
        break
    if failed is None:
        journal.finish(j)
        return
    stuck: list[tuple[FileResult, str]] = []
    for r in reversed(done):  # put the written members back: the group stays as it was
        assert r.fs_path is not None
        try:
            write_atomic(r.fs_path, olds[id(r)], _root(r, roots), expect=new_bytes(r))
            r.written = False
        except OSError as exc:
            stuck.append((r, exc.strerror or type(exc).__name__))
    if not stuck:
        journal.finish(j)
        refuse(failed, error)
        _others(group, failed, "changed while dfix ran" if error == CHANGED else "could not be written")
        return
    later = f"the next `dfix --write` completes the group from {j.shown()}"
    refuse(failed, f"{error}; {later}")
    for r, why in stuck:
        refuse(r, f"written, but {failed.path} could not be, and restoring this file failed too ({why}); {later}")
    for r in group:
        if r.status == "ok":
            refuse(r, f"not written yet: {failed.path} could not be written; {later}")


def _note_dropped(result: FileResult, dropped: list[str]) -> None:
    if dropped:
        result.notes.append("written without these extended attributes, which could not be kept: " + ", ".join(dropped))


def write_result(result: FileResult, root: str | None = None) -> None:
    """Write a result planned with ``defer_write`` (atomic; errors become the result's error)."""
    err = preflight(result, root)
    if err:
        refuse(result, err)
        return
    if not _pending(result):
        return
    assert result.fs_path is not None
    try:
        dropped = write_atomic(result.fs_path, new_bytes(result), root if root is not None else result.write_root, expect=old_bytes(result))
        result.written = True
        _note_dropped(result, dropped)
    except Changed:
        refuse(result, CHANGED)
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
    write_atomic(path, source.to_bytes(apply_edits(text, edits)), root, expect=source.to_bytes())
    return len(edits)

"""Writing a run's planned results by group, for :mod:`refactor.write`: ``preflight`` (why a planned
write would fail), ``refused`` (a result whose write is not done), the grouping of Dockerfiles with
their callers, one group's write under its journal (members re-checked against the bytes read,
written in order, the written ones put back when one fails) and ``write_result`` for a single file.

Results are frozen: while a run writes, each planned result sits in a :class:`Slot`, which the
writer points at the new result (written, or refused) as it goes.
"""

from __future__ import annotations

import os
from dataclasses import replace

from refactor import journal
from refactor.results import FileResult
from refactor.write_file import CHANGED, Changed, WriteRefused, _check_flags, _check_write, _read, write_atomic


class Slot:
    """A planned result while the run writes it, and the scanned directory its write must stay in."""

    __slots__ = ("result", "root")

    def __init__(self, result: FileResult, root: str | None = None) -> None:
        self.result = result
        self.root = root

    def refuse(self, error: str) -> None:
        self.result = refused(self.result, error)


def refused(result: FileResult, error: str) -> FileResult:
    """``result`` with its write not done: an error, and no fix counts as applied."""
    why = "not written: " + error.removeprefix("not written: ")
    findings = tuple(
        replace(f, fix=replace(f.fix, applied=False, reasons=(*f.fix.reasons, why))) if f.fix is not None and f.fix.applied else f
        for f in result.findings
    )
    return replace(result.failed(error), findings=findings)


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


def _groups(slots: list[Slot], dockerfiles: dict[str, Slot]) -> list[list[Slot]]:
    """The results still to write, by group (connected through the callers' linked Dockerfiles);
    in each, the Dockerfiles first, then the callers."""
    todo = [s for s in slots if _pending(s.result)]
    parent = {id(s): id(s) for s in todo}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for c in todo:
        if c.result.kind != "caller":
            continue
        for k in c.result.linked:
            d = dockerfiles.get(k)
            if d is not None and id(d) in parent:
                parent[find(id(c))] = find(id(d))
    groups: dict[int, list[Slot]] = {}
    for s in todo:
        groups.setdefault(find(id(s)), []).append(s)
    out = [sorted(g, key=lambda s: (s.result.kind == "caller", s.result.path)) for g in groups.values()]
    return sorted(out, key=lambda g: g[0].result.path)


def _root(slot: Slot) -> str | None:
    return slot.root if slot.root is not None else slot.result.write_root


def _write_group(group: list[Slot]) -> None:
    """Write one group: re-check every member against the bytes read, store the journal, replace
    the members in order, remove the journal. A member that fails puts the written ones back; if
    that fails too, the journal stays and the next ``--write`` completes the group."""
    if len(group) == 1:
        group[0].result = write_result(group[0].result, group[0].root)
        return
    paths = [s.result.fs_path for s in group if s.result.fs_path]
    jroot = journal.root_for(paths)
    with journal.locked(jroot):
        _write_group_locked(group, jroot)


def _others(group: list[Slot], failed: Slot, why: str) -> None:
    for s in group:
        if s is failed or s.result.status != "ok":
            continue
        if s.result.kind != "caller" and failed.result.kind == "caller":
            s.refuse(f"not written: its caller(s) {failed.result.path} {why}")
        else:
            s.refuse(f"not written: it goes with {failed.result.path}, which {why}")


def _write_group_locked(group: list[Slot], jroot: str) -> None:
    olds: dict[int, bytes] = {}
    for s in group:  # the bytes read, checked again now that no other dfix run can write them
        r = s.result
        assert r.fs_path is not None
        try:
            if _changed(r):
                s.refuse(CHANGED)
                _others(group, s, "changed while dfix ran")
                return
            read = old_bytes(r)
            olds[id(s)] = read if read is not None else _read(r.fs_path)
        except OSError as exc:
            s.refuse(f"cannot write: {exc.strerror}")
            _others(group, s, "could not be written")
            return
    try:
        j = journal.begin(jroot, [(s.result.fs_path, olds[id(s)], new_bytes(s.result)) for s in group if s.result.fs_path])
    except journal.JournalError as exc:
        for s in group:
            s.refuse(f"not written: {exc.strerror}")
        return
    except OSError as exc:
        for s in group:
            s.refuse(
                f"cannot write: the group's journal cannot be stored in {journal._shown(os.path.join(jroot, journal.DIRNAME))} ({exc.strerror})",
            )
        return
    done: list[tuple[Slot, FileResult]] = []  # (slot, its result before the write)
    failed: Slot | None = None
    error = ""
    for s in group:
        r = s.result
        assert r.fs_path is not None
        try:
            dropped = write_atomic(r.fs_path, new_bytes(r), _root(s), expect=olds[id(s)])
        except Changed:
            failed, error = s, CHANGED
        except WriteRefused as exc:
            failed, error = s, f"not written: {exc.strerror}"
        except OSError as exc:
            failed, error = s, f"cannot write: {exc.strerror}"
        else:
            s.result = _written(r, dropped)
            done.append((s, r))
            continue
        break
    if failed is None:
        journal.finish(j)
        return
    stuck: list[tuple[Slot, str]] = []
    for s, before in reversed(done):  # put the written members back: the group stays as it was
        assert before.fs_path is not None
        try:
            write_atomic(before.fs_path, olds[id(s)], _root(s), expect=new_bytes(before))
            s.result = replace(s.result, written=False)
        except OSError as exc:
            stuck.append((s, exc.strerror or type(exc).__name__))
    if not stuck:
        journal.finish(j)
        failed.refuse(error)
        _others(group, failed, "changed while dfix ran" if error == CHANGED else "could not be written")
        return
    later = f"the next `dfix --write` completes the group from {j.shown()}"
    failed.refuse(f"{error}; {later}")
    for s, why in stuck:
        s.refuse(f"written, but {failed.result.path} could not be, and restoring this file failed too ({why}); {later}")
    for s in group:
        if s.result.status == "ok":
            s.refuse(f"not written yet: {failed.result.path} could not be written; {later}")


def _written(result: FileResult, dropped: list[str]) -> FileResult:
    notes = result.notes
    if dropped:
        notes += ("written without these extended attributes, which could not be kept: " + ", ".join(dropped),)
    return replace(result, written=True, notes=notes)


def write_result(result: FileResult, root: str | None = None) -> FileResult:
    """Write a result planned with ``defer_write`` (atomic); the result as written, or refused
    with the reason."""
    err = preflight(result, root)
    if err:
        return refused(result, err)
    if not _pending(result):
        return result
    assert result.fs_path is not None
    try:
        dropped = write_atomic(result.fs_path, new_bytes(result), root if root is not None else result.write_root, expect=old_bytes(result))
    except Changed:
        return refused(result, CHANGED)
    except WriteRefused as exc:
        return refused(result, f"not written: {exc.strerror}")
    except OSError as exc:
        return refused(result, f"cannot write: {exc.strerror}")
    return _written(result, dropped)

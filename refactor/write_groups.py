"""Writing a run's planned results by group, for :mod:`refactor.write`: ``preflight`` (why a planned
write would fail), ``refuse`` (marking a write as not done), the grouping of Dockerfiles with their
callers, one group's write under its journal (members re-checked against the bytes read, written in
order, the written ones put back when one fails) and ``write_result`` for a single file.
"""

from __future__ import annotations

import os

from refactor import journal
from refactor.results import FileResult
from refactor.write_file import CHANGED, Changed, WriteRefused, _check_flags, _check_write, _read, write_atomic


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

"""One file's atomic replace, for :mod:`refactor.write`: the new bytes go to a temp file beside the
file, fsynced, with the original owner, extended attributes (POSIX ACLs included) and mode, then
``os.replace``; the checks that refuse a file dfix must not replace (a symlink leading out of the
scanned tree, hard links, ``chattr +i``/``+a``), the exceptions that say why, and the clean-up of
leftover temp files (and of a half-written group's journal) before a ``--write`` run reads a file.
"""

from __future__ import annotations

import os

from refactor.codecache import regex

TMP_PATTERN = regex(r"^\..+\.dfix-tmp-\d+-[0-9a-f]+$")
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
    from refactor import journal  # (write mode only: a report never imports the journal, hmac, hashlib)

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

"""The spool of a bulk report run (:mod:`refactor.run_packed`): packed results that know no secret
value, kept in an unnamed temporary file instead of the parent's memory."""

from __future__ import annotations

import os
from typing import Any


class Spool:
    """Where a bulk run keeps the packed results that know no secret value (issue #19: memory flat
    in the number of files): an unnamed temporary file (``tempfile.TemporaryFile``: ``O_TMPFILE``
    or unlinked at once, mode 0600, so nothing is left behind, even by a killed run), read back with
    ``pread`` one result at a time as the output is rendered. At 20,000 files this took the
    parent's peak from 51 to 46 MiB (bench/_gen.py's monorepo, session 14; the workers' peak is
    another matter: see docs/closing-session14.md).

    A result that knows a secret value (its masks: a committed literal, a value the run must mask)
    never reaches it: such results stay in memory, as before, so no secret value is ever written
    to disk. A result with no masks holds only what its own file, already on disk, holds. When the
    temporary directory cannot take the spool (not writable, full), the results stay in memory."""

    def __init__(self) -> None:
        self._file: Any = None
        self._end = 0
        self.failed = False

    def put(self, data: bytes) -> int | None:
        """Append ``data``; return where it is (offset and length in one int) or None on failure."""
        if self.failed or len(data) >= 1 << 32:
            return None
        try:
            if self._file is None:
                import tempfile
                import weakref

                self._file = tempfile.TemporaryFile(prefix="dfix-spool-", buffering=0)  # noqa: SIM115 - closed with the spool
                weakref.finalize(self, self._file.close)
            fd, at, done = self._file.fileno(), self._end, 0
            while done < len(data):
                wrote = os.pwrite(fd, memoryview(data)[done:], at + done)
                if wrote <= 0:
                    raise OSError("the spool took no bytes")
                done += wrote
        except OSError:
            self.failed = True  # (what it already holds stays readable)
            return None
        self._end = at + len(data)
        return at << 32 | len(data)

    def get(self, where: int) -> bytes:
        assert self._file is not None
        at, n = where >> 32, where & 0xFFFFFFFF
        fd, parts, done = self._file.fileno(), [], 0
        while done < n:
            part = os.pread(fd, n - done, at + done)
            if not part:
                raise OSError(f"the spool of packed results ended early ({done} of {n} bytes)")
            parts.append(part)
            done += len(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)  # (b"" for none)

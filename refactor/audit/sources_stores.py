"""Blob stores: the files of a ``docker save`` tarball (:class:`TarStore`) or of an OCI image layout
directory (:class:`DirStore`), read whole up to a size limit (``MAX_JSON``) or opened as streams;
a truncated archive or a path that leaves the layout is a :class:`SourceError`.
"""

from __future__ import annotations

import contextlib
import os
import tarfile

from refactor.audit.sources_spec import SourceError

MAX_JSON = 16 << 20


class _Store:
    """Blobs by path inside a tar file or a directory."""

    def __init__(self, target: str):
        self.target = target

    def read(self, path: str, limit: int = MAX_JSON) -> bytes:
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def open(self, path: str) -> contextlib.AbstractContextManager:
        raise NotImplementedError


class TarStore(_Store):
    def __init__(self, path: str):
        super().__init__(path)
        try:
            self.tf = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by close()
            self.members = {m.name.lstrip("./").lstrip("/"): m for m in self.tf.getmembers()}
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise SourceError(f"{path}: not a readable tar archive (truncated or corrupt: {type(exc).__name__})") from None

    def exists(self, path: str) -> bool:
        return path.lstrip("./") in self.members

    def _member(self, path: str):
        m = self.members.get(path.lstrip("./"))
        if m is None:
            raise SourceError(f"{self.target}: {path} is missing from the archive")
        return m

    def read(self, path: str, limit: int = MAX_JSON) -> bytes:
        m = self._member(path)
        if m.size > limit:
            raise SourceError(f"{self.target}: {path} is larger than {limit} bytes")
        try:
            f = self.tf.extractfile(m)
            data = f.read() if f else b""
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise SourceError(f"{self.target}: cannot read {path} ({type(exc).__name__}: truncated?)") from None
        if len(data) != m.size:
            raise SourceError(f"{self.target}: {path} is truncated")
        return data

    @contextlib.contextmanager
    def open(self, path: str):
        m = self._member(path)
        f = self.tf.extractfile(m)
        if f is None:
            raise SourceError(f"{self.target}: {path} is not a file")
        try:
            yield f
        finally:
            f.close()

    def close(self) -> None:
        self.tf.close()


class DirStore(_Store):
    def _full(self, path: str) -> str:
        full = os.path.normpath(os.path.join(self.target, path))
        root = os.path.normpath(self.target)
        if not (full == root or full.startswith(root + os.sep)):
            raise SourceError(f"{self.target}: blob path {path!r} leaves the layout")
        return full

    def exists(self, path: str) -> bool:
        return os.path.isfile(self._full(path))

    def read(self, path: str, limit: int = MAX_JSON) -> bytes:
        try:
            with open(self._full(path), "rb") as f:
                size = os.fstat(f.fileno()).st_size  # read(limit + 1) would allocate the whole limit
                data = f.read(min(size, limit) + 1)
        except OSError as exc:
            raise SourceError(f"{self.target}: cannot read {path} ({exc.strerror or type(exc).__name__})") from None
        if len(data) > limit:
            raise SourceError(f"{self.target}: {path} is larger than {limit} bytes")
        return data

    @contextlib.contextmanager
    def open(self, path: str):
        try:
            f = open(self._full(path), "rb")  # noqa: SIM115 - the with below closes it
        except OSError as exc:
            raise SourceError(f"{self.target}: cannot open {path} ({exc.strerror or type(exc).__name__})") from None
        with f:
            yield f

    def close(self) -> None:
        pass

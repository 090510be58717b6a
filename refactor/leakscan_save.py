"""Scanning a ``docker save`` stream (:class:`_SaveScanner`): every member of the outer tar, each
layer (plain, gzip or zstd) opened as a tar and every file of it scanned as a stream, JSON blobs
scanned as documents; with the stream helpers :class:`Prepended` and :func:`read_exact`, which
``refactor.audit.layers`` shares.
"""

from __future__ import annotations

import gzip
import json
import os
import tarfile

from refactor.leakscan_json import _scan_json
from refactor.leakscan_match import Matcher
from refactor.leakscan_report import ScanReport

_JSON_LIMIT = 64 << 20


class Prepended:
    """A reader that gives ``head`` (bytes already read to sniff the format) before the rest of ``f``."""

    def __init__(self, head: bytes, f):
        self.head, self.f = head, f

    def read(self, n: int = -1) -> bytes:
        if self.head:
            if n is None or n < 0:
                data, self.head = self.head + self.f.read(), b""
                return data
            data, self.head = self.head[:n], self.head[n:]
            if len(data) < n:
                data += self.f.read(n - len(data))
            return data
        return self.f.read() if n is None or n < 0 else self.f.read(n)


def read_exact(f, n: int) -> bytes:
    """Up to ``n`` bytes from ``f``: fewer only at the end of the stream."""
    out = b""
    while len(out) < n:
        chunk = f.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def _is_tar(head: bytes) -> bool:
    return (len(head) >= 263 and head[257:262] == b"ustar") or (len(head) >= 512 and not head.strip(b"\0"))


def _zstd_reader(f):
    try:
        import zstandard
    except ImportError:
        return None
    return zstandard.ZstdDecompressor().stream_reader(f)


class _SaveScanner:
    def __init__(self, matcher: Matcher, report: ScanReport):
        self.m = matcher
        self.r = report
        self.layer_hits: list[tuple[str, str, str, str]] = []  # blob, name, detail, enc
        self.blob_hits: list[tuple[str, str, str, str, str]] = []
        self.manifest_layers: list[str] = []

    def scan(self, fileobj) -> None:
        with tarfile.open(fileobj=fileobj, mode="r|") as outer:
            for member in outer:
                if not member.isfile():
                    continue
                f = outer.extractfile(member)
                if f is None:
                    continue
                self._member(member.name, f)
        self._finish()

    def _member(self, name: str, f) -> None:
        head = read_exact(f, 512)
        src = Prepended(head, f)
        if head[:2] == b"\x1f\x8b":
            # Prepended cannot seek: GzipFile reads it front to back and never seeks it
            gz = gzip.GzipFile(fileobj=src, mode="rb")  # type: ignore[call-overload]  # stub wants seek()
            head = read_exact(gz, 512)
            src = Prepended(head, gz)
        elif head[:4] == b"\x28\xb5\x2f\xfd":
            z = _zstd_reader(src)
            if z is None:
                self.r.incomplete.add("layers")
                self.r.notes.append(f"{name}: zstd-compressed, not scanned (install the zstandard module)")
                return
            src = z
            head = read_exact(src, 512)
            src = Prepended(head, src)
        if _is_tar(head):
            self.r.stats["layers"] = self.r.stats.get("layers", 0) + 1
            self._layer(name, src)
        elif head.lstrip()[:1] in (b"{", b"["):
            data = read_exact(src, _JSON_LIMIT)
            try:
                doc = json.loads(data)
            except ValueError:
                self._raw(name, data)
                return
            if name == "manifest.json" and isinstance(doc, list) and doc:
                self.manifest_layers = [str(x) for x in doc[0].get("Layers") or []]
            is_config = isinstance(doc, dict) and ("rootfs" in doc or "config" in doc)
            label = "saved config" if is_config else "saved " + os.path.basename(name)
            _scan_json(doc, self.m, self.r, f"{label} ({_short(name)})" if label != "saved " + _short(name) else label)
        else:
            for sec, enc in self.m.find_stream(src.read):
                self.blob_hits.append((name, sec, "layers", "blob", enc))

    def _raw(self, name: str, data: bytes) -> None:
        for sec, enc in self.m.find(data):
            self.r.add(sec, "config", f"saved file {_short(name)}", enc)

    def _layer(self, blob: str, src) -> None:
        try:
            with tarfile.open(fileobj=src, mode="r|") as inner:
                for m in inner:
                    self.r.stats["files"] = self.r.stats.get("files", 0) + 1
                    path = "/" + m.name.lstrip("./").lstrip("/")
                    meta = [m.name, m.linkname or ""] + [f"{k}={v}" for k, v in (m.pax_headers or {}).items()]
                    for sec, enc in self.m.find_text("\n".join(meta)):
                        self.layer_hits.append((blob, sec, path + " (name/metadata)", enc))
                    if m.isfile() and m.size:
                        fo = inner.extractfile(m)
                        if fo is not None:
                            for sec, enc in self.m.find_stream(fo.read):
                                self.layer_hits.append((blob, sec, path, enc))
        except (tarfile.TarError, OSError, EOFError) as exc:
            self.r.incomplete.add("layers")
            self.r.notes.append(f"{_short(blob)}: could not read as a layer tar ({type(exc).__name__})")

    def _finish(self) -> None:
        order = {p: i for i, p in enumerate(self.manifest_layers)}
        for blob, sec, path, enc in self.layer_hits:
            idx = order.get(blob)
            where = f"layer {idx + 1}/{len(order)}" if idx is not None else "layer"
            self.r.add(sec, "layers", f"{where} ({_short(blob)}) {self.m.mask(path)}", enc)
        for name, sec, channel, what, enc in self.blob_hits:
            self.r.add(sec, channel, f"{what} {_short(name)}", enc)


def _short(name: str) -> str:
    base = name.rsplit("/", 1)[-1].removesuffix(".json")
    if name.startswith("blobs/") or len(base) == 64:
        return "sha256:" + base[:12]
    if name.endswith("/layer.tar"):
        return name.split("/")[0][:12]
    return name

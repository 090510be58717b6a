"""Find secret values in a built image: history, config, labels, env, and every file of every layer.

``scan_image(ref, {"NPM_TOKEN": value})`` looks for each value raw, base64-encoded (standard and
URL-safe alphabets, padded or not, and embedded at any byte offset inside a longer base64 text, so
``base64("user:" + value)`` is caught too) and URL-quoted, in:

- ``history``: ``docker history --no-trunc`` and the ``history`` of the saved image config;
- ``env``: ``Config.Env``;
- ``labels``: ``Config.Labels``;
- ``config``: the rest of ``docker image inspect`` and of the saved config/manifest blobs;
- ``layers``: every member (path, link target, PAX headers, content) of every layer tar in
  ``docker save`` (gzip and, when the ``zstandard`` module is installed, zstd layers too).

The report names secrets, channels and locations; it never holds a value. Locations are masked
(a value inside a path or a history line shows as ``<NAME>``). ``docker save`` is streamed: no
image is held in memory.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import subprocess
import tarfile
import tempfile
import urllib.parse
from dataclasses import dataclass, field

CHANNELS = ("history", "env", "labels", "config", "layers")
MIN_LEN = 6  # shorter values would match by chance: they are reported as not scannable
_CHUNK = 1 << 20
_JSON_LIMIT = 64 << 20


# -- encodings and matching ------------------------------------------------------------------


def encodings(value: str) -> list[tuple[str, bytes]]:
    """(label, needle) pairs for one value; needles shorter than MIN_LEN are dropped."""
    raw = value.encode("utf-8")
    found: dict[bytes, str] = {}

    def add(label: str, needle: bytes) -> None:
        if len(needle) >= MIN_LEN and needle not in found:
            found[needle] = label

    add("raw", raw)
    std = base64.b64encode(raw)
    add("base64", std)
    add("base64", std.rstrip(b"="))
    url = base64.urlsafe_b64encode(raw)
    add("base64url", url)
    add("base64url", url.rstrip(b"="))
    # the value inside a longer base64 text (base64("user:" + value), an encoded .npmrc): the
    # characters that depend on the value's bytes alone, for each alignment
    for offset in range(3):
        enc = base64.b64encode(b"\0" * offset + raw)
        start = {0: 0, 1: 2, 2: 3}[offset]
        end = 4 * ((offset + len(raw)) // 3)
        core = enc[start:end]
        if len(core) >= max(MIN_LEN, 8):
            add("base64", core)
            add("base64url", core.replace(b"+", b"-").replace(b"/", b"_"))
    for quoted in (urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value), urllib.parse.quote(value)):
        add("url-quoted", quoted.encode())
        add("url-quoted", quoted.lower().encode() if "%" in quoted else quoted.encode())
    return [(label, needle) for needle, label in found.items()]


class Matcher:
    """Finds any encoding of any value in bytes or text, and masks them."""

    def __init__(self, values: dict[str, str]):
        self.names: dict[bytes, tuple[str, str]] = {}
        self.skipped: list[str] = []
        for name, value in values.items():
            if value is None or len(str(value).encode()) < MIN_LEN:
                self.skipped.append(name)
                continue
            for label, needle in encodings(str(value)):
                self.names.setdefault(needle, (name, label))
        ordered = sorted(self.names, key=len, reverse=True)
        self.maxlen = max((len(n) for n in ordered), default=1)
        self._re = re.compile(b"|".join(re.escape(n) for n in ordered)) if ordered else None

    def __bool__(self) -> bool:
        return self._re is not None

    def find(self, data: bytes) -> set[tuple[str, str]]:
        if self._re is None or not data:
            return set()
        return {self.names[m.group(0)] for m in self._re.finditer(data)}

    def find_text(self, text: str) -> set[tuple[str, str]]:
        return self.find(text.encode("utf-8", "surrogateescape"))

    def find_stream(self, read) -> set[tuple[str, str]]:
        """Scan a ``read(n)`` source in chunks, catching matches that straddle chunk edges."""
        hits: set[tuple[str, str]] = set()
        tail = b""
        keep = self.maxlen - 1
        while True:
            chunk = read(_CHUNK)
            if not chunk:
                break
            buf = tail + chunk
            hits |= self.find(buf)
            tail = buf[-keep:] if keep else b""
        return hits

    def mask(self, text: str) -> str:
        if self._re is None:
            return text
        data = text.encode("utf-8", "surrogateescape")

        def repl(m: re.Match) -> bytes:
            name, label = self.names[m.group(0)]
            return f"<{name}>".encode() if label == "raw" else f"<{name}:{label}>".encode()

        return self._re.sub(repl, data).decode("utf-8", "replace")


def mask_values(text: str, values: dict[str, str]) -> str:
    """``text`` with every encoding of every value replaced by ``<NAME>``."""
    return Matcher({k: v for k, v in values.items() if v}).mask(text)


# -- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leak:
    secret: str
    channel: str
    location: str  # masked
    encoding: str  # raw | base64 | base64url | url-quoted

    def __str__(self) -> str:
        enc = "" if self.encoding == "raw" else f" ({self.encoding})"
        return f"{self.secret} in {self.channel}: {self.location}{enc}"


@dataclass
class ScanReport:
    image: str
    secrets: tuple[str, ...]
    leaks: list[Leak] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    incomplete: set[str] = field(default_factory=set)  # channels that could not be fully scanned
    unscannable: tuple[str, ...] = ()  # secrets whose value is too short to look for
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def leaked(self) -> bool:
        return bool(self.leaks)

    @property
    def complete(self) -> bool:
        return not self.incomplete and not self.unscannable

    def leaks_for(self, secret: str | None = None, channel: str | None = None) -> list[Leak]:
        return [lk for lk in self.leaks if (secret is None or lk.secret == secret) and (channel is None or lk.channel == channel)]

    def status(self, secret: str, channel: str) -> str:
        if secret in self.unscannable:
            return "unscanned"
        if self.leaks_for(secret, channel):
            return "leaked"
        if channel in self.incomplete:
            return "incomplete"
        return "clean"

    def add(self, secret: str, channel: str, location: str, encoding: str) -> None:
        leak = Leak(secret, channel, location, encoding)
        if leak not in self.leaks:
            self.leaks.append(leak)

    def render_text(self, max_locations: int = 8) -> str:
        lines = [f"image {self.image}"]
        width = max([len("secret")] + [len(s) for s in self.secrets])
        lines.append("  " + "secret".ljust(width) + "  " + "  ".join(c.ljust(8) for c in CHANNELS))
        word = {"clean": "pass", "leaked": "LEAK", "incomplete": "partial", "unscanned": "skipped"}
        for s in self.secrets:
            lines.append("  " + s.ljust(width) + "  " + "  ".join(word[self.status(s, c)].ljust(8) for c in CHANNELS))
        for s in self.secrets:
            for c in CHANNELS:
                found = self.leaks_for(s, c)
                for leak in found[:max_locations]:
                    enc = "" if leak.encoding == "raw" else f" [{leak.encoding}]"
                    lines.append(f"  {s} leaked in {c}: {leak.location}{enc}")
                if len(found) > max_locations:
                    lines.append(f"  {s} leaked in {c}: ... {len(found) - max_locations} more locations")
        for s in self.unscannable:
            lines.append(f"  {s}: value shorter than {MIN_LEN} characters, not scanned")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "image": self.image,
            "leaked": self.leaked,
            "complete": self.complete,
            "secrets": {s: {c: self.status(s, c) for c in CHANNELS} for s in self.secrets},
            "leaks": [lk.__dict__ for lk in self.leaks],
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        return f"<ScanReport {self.image} leaks={len(self.leaks)} secrets={list(self.secrets)}>"


# -- JSON documents (inspect output, saved config blobs) -------------------------------------


def _route(path: list[str]) -> str:
    lowered = [p.lower() for p in path]
    if "history" in lowered:
        return "history"
    if "env" in lowered:
        return "env"
    if "labels" in lowered or "annotations" in lowered:
        return "labels"
    return "config"


def _fmt_path(path: list[str]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "(document)"


def _scan_json(doc, matcher: Matcher, report: ScanReport, where: str, default: str | None = None) -> None:
    def walk(node, path: list[str]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                for name, enc in matcher.find_text(str(k)):
                    report.add(name, default or _route(path + [str(k)]), f"{where} {matcher.mask(_fmt_path(path + [str(k)]))} (key)", enc)
                walk(v, path + [str(k)])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + [str(i)])
        elif isinstance(node, str):
            for name, enc in matcher.find_text(node):
                channel = default or _route(path)
                loc = _fmt_path(path)
                if channel == "env" and "=" in node:
                    loc += " " + matcher.mask(node.split("=", 1)[0])
                if channel == "history":
                    loc += ": " + _snippet(matcher.mask(node))
                report.add(name, channel, f"{where} {loc}", enc)

    walk(doc, [])


def _snippet(masked: str, width: int = 110) -> str:
    masked = " ".join(masked.split())
    i = masked.find("<")
    if len(masked) <= width:
        return masked
    start = max(0, min(i - 30, len(masked) - width)) if i >= 0 else 0
    return ("…" if start else "") + masked[start : start + width] + ("…" if start + width < len(masked) else "")


# -- docker save ------------------------------------------------------------------------------


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


# -- entry points ----------------------------------------------------------------------------


def _run_json_lines(cmd: list[str]) -> list[dict]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise ScanError(f"{' '.join(cmd[:3])} failed: {proc.stderr.strip()[-400:]}")
    out = proc.stdout.strip()
    if out.startswith("["):
        return json.loads(out)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


class ScanError(RuntimeError):
    pass


def scan_image(image_ref: str, values: dict[str, str], docker: str = "docker") -> ScanReport:
    """Scan one local image for the given secret values (name -> value)."""
    matcher = Matcher(values)
    report = ScanReport(image_ref, tuple(values), unscannable=tuple(matcher.skipped))
    if not matcher:
        return report
    tool = os.path.basename(docker)
    if tool == "buildah":
        return _scan_buildah(image_ref, matcher, report, docker)

    # history
    entries = _run_json_lines([docker, "history", "--no-trunc", "--format", "{{json .}}", image_ref])
    for i, entry in enumerate(entries):
        for key, val in entry.items():
            if not isinstance(val, str):
                continue
            for name, enc in matcher.find_text(val):
                where = f"entry {i}" + ("" if key in ("CreatedBy", "createdBy") else f" {key}")
                report.add(name, "history", f"{where}: {_snippet(matcher.mask(val))}", enc)
    report.stats["history"] = len(entries)

    # inspect: env, labels, the rest
    docs = _run_json_lines([docker, "image", "inspect", image_ref])
    for doc in docs:
        _scan_json(doc, matcher, report, "inspect")

    # every layer and blob
    with subprocess.Popen([docker, "save", image_ref], stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) as proc:
        try:
            _SaveScanner(matcher, report).scan(proc.stdout)
        except tarfile.TarError as exc:
            report.incomplete.add("layers")
            report.notes.append(f"docker save output unreadable ({exc})")
        finally:
            while proc.stdout and proc.stdout.read(_CHUNK):  # drain, so save can finish
                pass
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        if proc.wait() != 0:
            report.incomplete.add("layers")
            report.notes.append(f"{tool} save failed: {matcher.mask(err.strip()[-300:])}")
    return report


def _scan_buildah(image_ref: str, matcher: Matcher, report: ScanReport, buildah: str) -> ScanReport:
    proc = subprocess.run(
        [buildah, "inspect", "--type", "image", image_ref], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        raise ScanError(f"buildah inspect failed: {proc.stderr.strip()[-400:]}")
    doc = json.loads(proc.stdout)
    for key in ("Manifest", "Config"):  # JSON strings inside the document
        if isinstance(doc.get(key), str):
            try:
                doc[key] = json.loads(doc[key])
            except ValueError:
                pass
    _scan_json(doc, matcher, report, "inspect")
    with tempfile.TemporaryDirectory(prefix="dfix-scan-") as tmp:
        archive = os.path.join(tmp, "image.tar")
        push = subprocess.run(
            [buildah, "push", image_ref, f"docker-archive:{archive}"], capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL
        )
        if push.returncode != 0:
            report.incomplete.add("layers")
            report.notes.append(f"buildah push to an archive failed: {matcher.mask(push.stderr.strip()[-300:])}")
            return report
        with open(archive, "rb") as f:
            _SaveScanner(matcher, report).scan(f)
    return report

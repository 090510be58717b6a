"""Credentials in layer files, streamed: tar (plain, gzip or zstd) read member by member.

A layer is never read whole into memory: ``tarfile`` in stream mode (``r|``) over a decompressing
reader, each member's content read up to ``MAX_FILE`` bytes (the rest is skipped by the stream). For
each regular file:

- a credential file by name (``refactor.analysis.credfiles.cred_kind``: ``.npmrc``, ``.netrc``,
  ``.git-credentials``, ``.docker/config.json``, ``.aws/credentials``, SSH keys, ``.env`` …) whose
  content holds a real credential (templates holding only ``${VAR}`` are not reported);
- a PEM private key block anywhere;
- known token formats (``literals.scan`` in strong mode: GitHub, GitLab, npm, AWS, Slack, … tokens),
  also inside base64 text (decoded and scanned again);
- any value already found in the image config (a build arg, an ENV): raw, base64 or URL-quoted
  (``refactor.leakscan.Matcher``), so the file a RUN wrote from ``$NPM_TOKEN`` is linked to the
  same finding.

zstd layers need the ``zstandard`` module, else the ``zstd`` program (streamed through a pipe).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import re
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Callable

from refactor.analysis import credfiles
from refactor.audit.config import is_leaked_value, literal_hits
from refactor.audit.model import Hit
from refactor.codecache import regex
from refactor.leakscan import Prepended, read_exact

MAX_FILE = 1 << 20  # bytes of each file that are read
_CHUNK = 1 << 16
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_PEM = regex(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----[\s\S]{16,}?-----END \1-----")
_B64 = regex(rb"[A-Za-z0-9+/]{32,}={0,2}")
_EXTRACT = {
    "npmrc": re.compile(r"(?im)^[^#;\n]*?_(?:authToken|auth|password)\s*=\s*[\"']?([^\s\"'$]{6,})"),
    "yarnrc": re.compile(r"(?im)npmAuth(?:Token|Ident)\s*:\s*[\"']?([^\s\"'$]{6,})"),
    "netrc": re.compile(r"(?i)\bpassword\s+(\S{3,})"),
    "git_credentials": re.compile(r"://[^\s/@:]+:([^\s/@]{3,})@"),
    "pip_conf": re.compile(r"://[^\s/@:]+:([^\s/@$]{3,})@"),
    "pypirc": re.compile(r"(?im)^[^\S\n]*password\s*[:=]\s*(\S{3,})"),
    "maven_settings": re.compile(r"(?i)<password>\s*([^<\s$]{3,})"),
    "composer_auth": re.compile(r"\"(?:password|token|bearer)\"\s*:\s*\"([^\"$]{6,})\""),
    "aws_credentials": re.compile(r"(?im)^\s*aws_secret_access_key\s*=\s*(\S{8,})"),
    "docker_config": re.compile(r"\"auth\"\s*:\s*\"([A-Za-z0-9+/=]{8,})\""),
    "pgpass": re.compile(r"(?m)^[^#\n:]*:[^:\n]*:[^:\n]*:[^:\n]*:([^\s$*{<]\S*)"),
    "mycnf": re.compile(r"(?im)^[^\S\n]*password\s*=\s*[\"']?([^\s\"'$]{3,})"),
    "kubeconfig": re.compile(r"(?m)^[^\S\n]*(?:client-key-data|token|password|client-secret)\s*:\s*[\"']?([^\s\"'${<]\S{5,})"),
    "service_account": re.compile(
        r"\"(?:private_key|client_secret|refresh_token|password|token|secret|api_key)\"\s*:\s*\"([^\s$\"{<][^\"]{7,})\""
    ),
}


class LayerError(Exception):
    """A layer that cannot be read (truncated, corrupt, unknown compression, digest mismatch)."""


class _Hashing:
    """A reader that hashes what passes through it (to verify a blob's digest while streaming)."""

    def __init__(self, f):
        self.f = f
        self.h = hashlib.sha256()
        self.n = 0

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.h.update(data)
        self.n += len(data)
        return data

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass

    def hexdigest(self) -> str:
        return self.h.hexdigest()


class _ZstdPipe:
    """``zstd -dc`` fed from a reader by a thread; read() gives the decompressed stream."""

    def __init__(self, src):
        exe = shutil.which("zstd")
        if not exe:
            raise LayerError("zstd-compressed layer: install the 'zstandard' Python module or the zstd program")
        self.proc = subprocess.Popen([exe, "-dcq"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.error: BaseException | None = None

        def feed() -> None:
            try:
                assert self.proc.stdin is not None
                while True:
                    chunk = src.read(_CHUNK)
                    if not chunk:
                        break
                    self.proc.stdin.write(chunk)
            except BrokenPipeError:
                pass
            except BaseException as exc:  # noqa: BLE001 - reported by close()
                self.error = exc
            finally:
                try:
                    assert self.proc.stdin is not None
                    self.proc.stdin.close()
                except OSError:
                    pass

        self.thread = threading.Thread(target=feed, daemon=True)
        self.thread.start()

    def read(self, n: int = -1) -> bytes:
        assert self.proc.stdout is not None
        return self.proc.stdout.read(n)

    def close(self) -> None:
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        rc = self.proc.wait()
        self.thread.join(timeout=30)
        if self.error is not None:
            raise self.error
        if rc != 0:
            raise LayerError("zstd layer is corrupt or truncated")


def decompressed(src):
    """A reader of the uncompressed tar stream of a layer blob (gzip, zstd or plain)."""
    head = read_exact(src, 4)
    f = Prepended(head, src)
    if head[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[call-overload]  # a read()-only reader is enough
    if head == ZSTD_MAGIC:
        try:
            import zstandard
        except ImportError:
            return _ZstdPipe(f)
        return zstandard.ZstdDecompressor().stream_reader(f)
    return f


class Scanner:
    """Scans one layer stream; ``known`` maps leaked values found elsewhere to their names."""

    def __init__(self, known: dict[str, str] | None = None, max_file: int = MAX_FILE):
        from refactor.leakscan import Matcher

        self.known = dict(known or {})
        # Matcher keys are names; several values may share a name: key by value
        from refactor.audit.model import fingerprint

        self._by_key = {f"{name}:{fingerprint(v)}": v for v, name in self.known.items()}
        self.matcher = Matcher(self._by_key) if self._by_key else None
        self.max_file = max_file
        self.notes: list[str] = []

    def scan(self, src, label: str, on_member: Callable[[], None] | None = None) -> list[Hit]:
        hits: list[Hit] = []
        stream = decompressed(src)
        try:
            with tarfile.open(fileobj=stream, mode="r|") as tf:
                for member in tf:
                    if on_member:
                        on_member()
                    path = "/" + member.name.lstrip("./").lstrip("/")
                    where = f"layer {label} {self.mask(path)}"
                    if not member.isfile():
                        continue
                    fh = tf.extractfile(member)
                    if fh is None:
                        continue
                    data = fh.read(min(member.size, self.max_file))
                    if member.size > self.max_file:
                        self.notes.append(f"{where}: only the first {self.max_file} bytes of {member.size} were read")
                    hits += self.file_hits(path, data, where)
        except (tarfile.TarError, EOFError, OSError, zlib_error()) as exc:
            raise LayerError(f"layer {label} is truncated or corrupt ({_why(exc)})") from None
        finally:
            close = getattr(stream, "close", None)
            if isinstance(stream, _ZstdPipe):
                stream.close()
            elif close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - the error above is the one reported
                    pass
        return hits

    def mask(self, text: str) -> str:
        if self.matcher is None:
            return text
        return self.matcher.mask(text)

    def file_hits(self, path: str, data: bytes, where: str) -> list[Hit]:
        hits: list[Hit] = []
        base = path.rsplit("/", 1)[-1]
        kind = credfiles.cred_kind(path.lstrip("/"))
        if kind is None and base.lower().endswith((".key", ".pem")):
            kind = "key_file" if credfiles.private_key_file(base) else None
        binary = b"\0" in data[:8192]
        text = data.decode("utf-8", "replace") if not binary else ""
        if self.matcher is not None:
            for key, enc in sorted(self.matcher.find(data)):
                value = self._by_key[key]
                hits.append(Hit(self.known[value], value, f"{where} ({enc})"))
            for key, _enc in sorted(self.matcher.find_text(path)):
                value = self._by_key[key]
                hits.append(Hit(self.known[value], value, f"{where} (file name)"))
        if binary:
            if kind == "pkcs12":
                hits.append(Hit("PKCS#12 key store", hashlib.sha256(data).hexdigest(), where, named=False))
            return hits
        # a known value this file already holds (raw, base64 …) is one location, not two
        placed = {h.value for h in hits}
        return hits + [h for h in self._content_hits(kind, base, text, data, where) if h.value not in placed]

    def _content_hits(self, kind: str | None, base: str, text: str, data: bytes, where: str) -> list[Hit]:
        hits: list[Hit] = []
        for m in _PEM.finditer(text):
            hits.append(Hit("private key", m.group(0), where, named=False))
        if kind:
            hits += self._cred_file(kind, base, text, where)
        hits += literal_hits(text, where, strong_only=True)
        for bm in _B64.finditer(data):
            chunk = bm.group(0)
            try:
                dec = base64.b64decode(chunk + b"=" * (-len(chunk) % 4), validate=True)
            except (binascii.Error, ValueError):
                continue
            if b"\0" in dec:
                continue
            dtext = dec.decode("utf-8", "replace")
            for h in literal_hits(dtext, f"{where} (base64)", strong_only=True):
                hits.append(h)
            for pm in _PEM.finditer(dtext):
                hits.append(Hit("private key", pm.group(0), f"{where} (base64)", named=False))
        return hits

    def _cred_file(self, kind: str, base: str, text: str, where: str) -> list[Hit]:
        label = f"{base} credential" if kind != "ssh" else "SSH private key"
        if kind == "dotenv":
            out = []
            for line in text.splitlines():
                k, eq, v = line.partition("=")
                k = k.strip().removeprefix("export ").strip()
                v = v.strip().strip("'\"")
                if eq and is_leaked_value(k, v):
                    out.append(Hit(k, v, where))
            return out
        rx = _EXTRACT.get(kind)
        if rx is not None:
            out = []
            for m in rx.finditer(text):
                v = m.group(1).strip("\"'")
                if v and not v.startswith("$") and credfiles.strip_refs(v) != "":
                    out.append(Hit(label, v, where, named=False))
            return out
        if kind in ("ssh", "key_file"):
            return []  # the PEM scan covers keys; a public key or certificate is no finding
        if kind == "password_file":
            body = credfiles.strip_refs(text).strip()
            return [Hit(label, body, where, named=False)] if body else []
        return []


def zlib_error():
    import zlib

    return zlib.error


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:80] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

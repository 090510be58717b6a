"""Finding a secret value in bytes or text, encoded as it may be stored: :func:`encodings` (raw,
base64 and base64url at any alignment, URL-quoted), :class:`Matcher` (every encoding of every value,
in a buffer, a text or a stream read in chunks; and masking them) and :func:`mask_values`.
"""

from __future__ import annotations

import base64
import re
import urllib.parse

MIN_LEN = 6  # shorter values would match by chance: they are reported as not scannable


_CHUNK = 1 << 20


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

"""The result of an image scan: a :class:`Leak` (secret, channel, masked location, encoding; never a
value) and the :class:`ScanReport` (leaks, notes, channels not fully scanned, secrets too short to
look for), with its status table by secret and channel (``CHANNELS``), text and JSON.
"""

from __future__ import annotations

from dataclasses import field

from refactor.leakscan_match import MIN_LEN
from refactor.records import dataclass

CHANNELS = ("history", "env", "labels", "config", "layers")


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

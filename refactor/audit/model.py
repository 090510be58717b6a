"""Findings of an audit: one per (image digest, credential value). Values are never stored."""

from __future__ import annotations

import hashlib
from dataclasses import field

from refactor.analysis.secrets import describe_value
from refactor.records import dataclass


def fingerprint(value: str | bytes) -> str:
    """First 4 hex chars of the value's SHA-256: enough to match one secret across images, far too
    few to recover or confirm it."""
    data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()[:4]


def _full_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass
class Hit:
    """One sighting of one value, before aggregation. ``value`` lives only in memory."""

    name: str  # variable name (NPM_TOKEN) or a credential kind ("GitHub token", ".npmrc credential")
    value: str
    where: str  # "history step 3 (RUN build arg)", "Env", "Label deploy.key", "layer sha256:ab12… /root/.npmrc"
    named: bool = True  # the name is a variable name (preferred over a kind when merging)
    run_command: str | None = None  # the RUN text of a history step, for --repo links
    step: int | None = None

    def __repr__(self) -> str:  # never show a value
        return f"<Hit {self.name} at {self.where}>"


@dataclass
class Finding:
    digest: str  # manifest digest, else the image id (config digest)
    image: str  # what the user knows it as: repo:tag (first of names)
    names: list[str]  # every tag / reference that points at this digest
    repository: str
    credential: str  # the variable name, else the kind
    fingerprint: str
    description: str  # <redacted: 36 chars, GitHub token format>
    locations: list[str] = field(default_factory=list)
    fix: list[str] = field(default_factory=list)  # Dockerfile:line links (--repo)
    target: str = ""
    key: str = field(default="", repr=False)  # full SHA-256 of the value: in memory only, never rendered

    def to_json(self) -> dict:
        return {
            "target": self.target,
            "image": self.image,
            "names": list(self.names),
            "repository": self.repository,
            "digest": self.digest,
            "credential": self.credential,
            "fingerprint": self.fingerprint,
            "value": self.description,
            "locations": list(self.locations),
            "fix": list(self.fix),
        }


@dataclass
class ImageResult:
    """The audit of one image (one manifest / one config)."""

    target: str
    image: str
    digest: str
    repository: str
    names: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "file … read up to 1 MiB"


def aggregate(hits: list[Hit], *, target: str, image: str, digest: str, repository: str, names: list[str]) -> list[Finding]:
    """Merge hits of one image by value: one finding per (digest, value), every location kept, the
    variable name preferred over a format label."""
    by_value: dict[str, Finding] = {}
    best_named: dict[str, bool] = {}
    order: list[str] = []
    for h in hits:
        if not h.value:
            continue
        key = _full_hash(h.value)
        f = by_value.get(key)
        if f is None:
            f = Finding(
                digest=digest,
                image=image,
                names=list(names),
                repository=repository,
                credential=h.name,
                fingerprint=fingerprint(h.value),
                description=describe_value(h.value),
                target=target,
                key=key,
            )
            by_value[key] = f
            best_named[key] = h.named
            order.append(key)
        elif h.named and not best_named[key]:
            f.credential = h.name
            best_named[key] = True
        if h.where not in f.locations:
            f.locations.append(h.where)
    return [by_value[k] for k in order]

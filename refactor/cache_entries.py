"""The stored form of a result (:mod:`refactor.cache`): which fields are stored and which are not
(``RESULT_FIELDS``/``RESULT_NOT_STORED`` and the finding and fix lists, explicit so that a new
field must be placed), dumping and loading, and :func:`_storable`, which refuses a result whose
text would be needed or whose strings hold a mask or a known credential format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from refactor.results import FileResult
    from refactor.settings import Settings

# Errors that depend on the file's bytes only (and the code): stored like results.
_STORED_ERRORS = ("parse error:", "bad dfix comment:", "not a text file", "not valid UTF-8")


# (De)serialisation: explicit, so that a new field must be placed (tests check every field is in
# one of the lists).

RESULT_FIELDS = (
    "path", "kind", "outcome", "error", "changed", "findings", "build", "emitted", "command", "notes", "runtime_env",
    "migrated", "bom", "declared_args", "declared_after", "env_mounts",
)  # fmt: skip
RESULT_NOT_STORED = {
    "original": "file text: rebuilt from the bytes read for the key (stored results change nothing)",
    "new_text": "file text: as original",
    "masks": "secret values: never; each one's offsets in the file instead (mask_spans), read back from the file on a hit",
    "split_events": "ENV values and RUN bodies: never stored",
    "written": "stored results were not written (False)",
    "fs_path": "the path processed (set on a hit when the fresh result had it)",
    "stamp": "the stat taken when the file is read for the key",
    "write_root": "set by refactor.run after processing",
    "linked": "set by refactor.link after processing",
}
FINDING_FIELDS = ("code", "name", "variable", "secret", "severity", "message", "line", "column", "end_line", "end_column", "fix")
FIX_FIELDS = ("title", "applicability", "applied", "reasons", "included")
FIX_NOT_STORED = {"edits": "text of the rewrite: used only with the file's text (SARIF of a changed file), never stored"}


def _dump_result(r: FileResult) -> dict:
    """The stored form: fresh containers only (the run goes on to amend the result itself: callers'
    notes, DF010 findings, fixes lowered by caller linking; none of that may reach the entry)."""
    out: dict[str, Any] = {}
    for name in RESULT_FIELDS:
        v = getattr(r, name)
        if name == "findings":
            v = [_dump_finding(f) for f in v]
        elif name == "build":
            v = None if v is None else _dump_build(v)
        elif isinstance(v, (list, tuple)):
            v = list(v)
        elif isinstance(v, dict):
            v = dict(v)
        out[name] = v
    out["has_fs_path"] = r.fs_path is not None
    return out


def _dump_finding(f) -> list:
    row = [getattr(f, n) for n in FINDING_FIELDS]
    if f.fix is not None:
        row[-1] = [list(v) if isinstance(v, (list, tuple)) else v for v in (getattr(f.fix, n) for n in FIX_FIELDS)]
    return row


def _dump_build(b) -> dict:
    out = {}
    for fl in fields(b):
        v = getattr(b, fl.name)
        if fl.name == "secrets":
            v = [[getattr(s, g.name) for g in fields(s)] for s in v]
        elif isinstance(v, (list, tuple)):
            v = list(v)
        out[fl.name] = v
    return out


def _load_result(d: dict, **given: Any) -> FileResult:
    """The result stored as ``d``, with the fields in ``given`` set (one object, not a copy)."""
    from refactor.buildspec import BuildSpec, SecretSpec
    from refactor.results import FileResult, FindingOut, FixOut, Outcome

    kw: dict[str, Any] = {n: tuple(d[n]) if isinstance(d[n], list) else d[n] for n in RESULT_FIELDS}
    kw.update(given)
    kw["outcome"] = Outcome(d["outcome"])
    kw["findings"] = tuple(
        FindingOut(*row[:-1], fix=None if row[-1] is None else FixOut(*row[-1][:3], tuple(row[-1][3]), *row[-1][4:]))  # type: ignore[misc, call-arg]
        for row in d["findings"]
    )
    if d["build"] is not None:
        b = dict(d["build"])
        b["secrets"] = tuple(SecretSpec(*s) for s in b["secrets"])
        for fl in fields(BuildSpec):
            if isinstance(b.get(fl.name), list):
                b[fl.name] = tuple(b[fl.name])
        kw["build"] = BuildSpec(**b)
    return FileResult(**kw)


def _strings(v: Any):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield from _strings(k)
            yield from _strings(x)
    elif isinstance(v, (list, tuple)):
        for x in v:
            yield from _strings(x)


_MASKS_STORED = 64  # a result knowing more secret values is not stored (a 1 MB file can hold 19,000)


def file_text(data: bytes) -> str:
    """The text of a Dockerfile's bytes as the cache reads it (UTF-8, without a BOM); raises
    UnicodeDecodeError. Mask offsets are taken and read back in this text."""
    text = data.decode("utf-8")
    return text[1:] if text.startswith("\ufeff") else text


def masks_from(text: str, spans: list) -> tuple[str, ...]:
    """The masks a stored result knew, read back from its file's text at their stored offsets."""
    out = []
    for span in spans:
        if span is None:
            out.append("")
            continue
        start, end, *form = span
        if not (type(start) is int and type(end) is int and 0 <= start < end <= len(text)) or form not in ([], ["upper"]):
            raise ValueError("a mask span outside the file")
        out.append(text[start:end].upper() if form else text[start:end])
    return tuple(out)


def _storable(r: FileResult, settings: Settings, text: str | Callable[[], str | None] | None = None) -> dict | None:
    """The stored form of a result, or None when it must not (or need not) be stored.

    A result that knows secret values (masks) is stored only when each value occurs verbatim in
    its file's ``text`` (the bytes read for the key, :func:`file_text`): the entry keeps each
    value's offsets, never the value, and a hit reads the values back from the same bytes. A run
    masks each file's values in every file's output (``render.masking.share``), so a hit must know
    them as a fresh result does. Otherwise such a result is not stored. ``text`` may be a function
    that reads it: called only when the result would otherwise be stored (a read saved)."""
    if r.written:
        return None
    if r.status == "error":
        if not (r.error or "").startswith(_STORED_ERRORS):
            return None
    elif r.status != "ok" or (settings.keep_text and r.changed):
        return None  # the text of the rewrite would be needed
    masks = [m for m in r.masks if m]
    if masks and (len(masks) > _MASKS_STORED or any(any(c.isspace() for c in m) for m in masks)):
        # hundreds of values: proving each absent from every string costs more than a rerun; a
        # value with a space could straddle two strings joined by an output: not proven absent
        return None
    data = _dump_result(r)
    texts = list(_strings(data))
    from refactor.render.masking import occurs

    if masks and occurs(texts, masks):  # (indexed: a 1 MB file can hold 19,000 masks and findings)
        return None
    if _holds_token(texts):
        return None  # a credential format in a message: dfix masks what it knows; store none
    if masks:
        text = text() if callable(text) else text  # (read only now: every other refusal is made)
        spans = None if text is None else _mask_spans(r.masks, text)
        if spans is None:
            return None
        data["mask_spans"] = spans
    return data


def _mask_spans(masks: tuple[str, ...] | list[str], text: str) -> list | None:
    """Where each value is in ``text`` (``[start, end]``, ``[start, end, "upper"]`` for a value the
    engine upper-cased, None for an empty one), or None when one is not there."""
    spans: list = []
    upper: str | None = None
    for m in masks:
        if not m:
            spans.append(None)
            continue
        at = text.find(m)
        if at >= 0:
            spans.append([at, at + len(m)])
            continue
        # the engine also masks a value upper-cased (a secret id that becomes a variable name)
        if upper is None:
            upper = text.upper() if len(text.upper()) == len(text) else ""
        at = upper.find(m) if upper and m == m.upper() else -1
        if at < 0 or text[at : at + len(m)].upper() != m:
            return None  # not in the file as it is: nothing to read it back from
        spans.append([at, at + len(m), "upper"])
    return spans


def _holds_token(texts: list[str]) -> bool:
    """Does a known credential format (a GitHub token, an AWS key id, a private key…) occur in
    ``texts``? Positional patterns (``--password X``) are not used: messages name such options."""
    from refactor.analysis import secrets

    # every keyed format needs one of its keys: one search over all the strings at once (most
    # results hold none), then each string only when some key occurs
    if secrets._ANY_KEY.search("\n".join(texts)):
        for t in texts:
            if secrets._ANY_KEY.search(t) and secrets.token_format(t):
                return True
    # the formats without a key are whole values ("Bearer …")
    return any(t[:6].lower().startswith(("basic", "bearer", "token")) and secrets.token_format(t) for t in texts)

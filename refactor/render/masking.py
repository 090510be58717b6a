"""Masking committed secret values in what dfix prints.

A mask is a literal dfix judged secret. A token-like one (long, or mixing letters with digits or
symbols: what a generated credential looks like, and every canary the tests plant) is replaced
wherever it occurs. A word-like one (``docker``, ``changeme``: a weak password that is also an
ordinary word) is replaced only where it stands as a value: after ``=`` or ``:`` (``PASSWORD=…``,
``user:…@``), optionally quoted, up to a word boundary. Elsewhere the same letters are a command,
a path component or an image name, and masking them there breaks what is printed (a build command
naming ``<redacted>/Dockerfile``) without hiding anything.
"""

from __future__ import annotations

import re
from functools import lru_cache

MASK = "<redacted>"


def token_like(value: str) -> bool:
    if len(value) >= 16:
        return True
    kinds = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    return (len(value) >= 10 and kinds >= 2) or kinds >= 3


@lru_cache(maxsize=1024)
def _value_pattern(value: str) -> re.Pattern:
    return re.compile(r"(?<=[=:])([\"']?)" + re.escape(value) + r"(?=\1(?:[\s\"'@,;&|)\]}]|$))", re.M)


def mask_text(text: str, masks) -> tuple[str, bool]:
    """(text with every mask replaced where it is a value, whether anything was replaced)."""
    changed = False
    for m in sorted({m for m in masks if m}, key=len, reverse=True):
        if m not in text:
            continue
        if token_like(m):
            text = text.replace(m, MASK)
            changed = True
        else:
            new = _value_pattern(m).sub(lambda mt: mt.group(1) + MASK, text)
            changed |= new != text
            text = new
    return text, changed

"""Unified diffs of a rewrite, as git writes them (:func:`unified_diff`): lines split as git and patch
split them, header names C-quoted like git's, masked lines replaced and a hunk holding one opened by
a ``dfix:`` notice (``HUNK_NOTE``) that no patch tool applies.
"""

from __future__ import annotations

import difflib

from refactor.render.masking import learn, mask_text
from refactor.results import FileResult


def _lines(text: str) -> list[str]:
    """Lines as git and patch see them: split after each \\n only (str.splitlines would also split
    at \\v, \\f, U+2028 and the like, and the patch would not apply)."""
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _masked_note(n: int) -> str:
    lines = "1 line of this hunk holds a secret value and is" if n == 1 else f"{n} lines of this hunk hold a secret value and are"
    return f"{HUNK_NOTE} {lines} masked; this hunk cannot be applied: apply the change with `dfix --write`\n"


# starts the line a masked hunk opens with. Not diff syntax on purpose: `git apply` ("corrupt
# patch") and GNU patch ("malformed patch") stop at it. (patch skips a line starting with "#".)
HUNK_NOTE = "dfix:"


def unified_diff(r: FileResult) -> tuple[str, bool]:
    """(diff text, whether lines were masked).

    A hunk with a masked line opens, right under its ``@@`` header, with a line saying how many of
    its lines are masked (``dfix: 1 line of this hunk holds a secret value and is masked; …``).
    That line is not diff syntax: ``git apply`` and ``patch`` refuse the patch instead of writing
    ``<redacted>`` into the file or failing on a context line for no stated reason."""
    r = learn(r)
    if not r.changed or r.original is None or r.new_text is None:
        return "", False
    bom = "\ufeff" if r.bom else ""  # the file's first bytes, so that `git apply` matches them
    a = _lines(bom + r.original)
    b = _lines(bom + r.new_text)
    lines = list(difflib.unified_diff(a, b, _git_path("a/", r.path), _git_path("b/", r.path)))
    masked = False
    out: list[str] = []
    hunk_at, hunk_masked = -1, 0

    def close_hunk() -> None:
        if hunk_masked:
            out.insert(hunk_at + 1, _masked_note(hunk_masked))

    for k, ln in enumerate(lines):
        if k >= 2 and ln.startswith("@@"):
            close_hunk()
            hunk_at, hunk_masked = len(out), 0
        elif k >= 2 and r.masks:  # the ---/+++ headers name the file: never masked
            ln, hit = mask_text(ln, r.masks)
            masked |= hit
            hunk_masked += hit
        if not ln.endswith("\n"):
            ln += "\n\\ No newline at end of file\n"
        out.append(ln)
    close_hunk()
    return "".join(out), masked


_C_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", '"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}


def _git_path(prefix: str, path: str) -> str:
    """A diff header name as git writes it: C-quoted when it holds a control character, a quote
    or a backslash (so a newline in a file name cannot start a line of the patch)."""
    name = prefix + path
    if name.isprintable() and '"' not in name and "\\" not in name:
        return name
    out = []
    for c in name:
        if c in _C_ESCAPES:
            out.append(_C_ESCAPES[c])
        elif not c.isprintable():
            out.append("".join(f"\\{b:03o}" for b in c.encode("utf-8", "surrogateescape")))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'

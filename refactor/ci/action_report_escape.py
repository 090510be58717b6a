"""Escaping for each place the action writes to: printable text (no raw control characters), inline
markdown text (HTML escaped, no live @-mention) and code spans, code fences longer than any
backtick run, workflow-command escaping (:func:`gh_escape`), and UTF-8 byte sizes. Standard
library only (see ``action_report.py``).
"""

from __future__ import annotations

import html
import re


def printable(s: str) -> str:
    """Control characters escaped (a newline in a file name must not start a line)."""
    s = str(s)
    return s if s.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def md_text(s: str) -> str:
    """Inline markdown text: HTML escaped, no @-mention (a zero-width space after @)."""
    return html.escape(printable(s), quote=False).replace("@", "@\u200b")


def md_code(s: str, cell: bool = False) -> str:
    """An inline code span that holds ``s`` verbatim (fence longer than any backtick run)."""
    s = printable(s)
    fence = "`" * (max((len(m) for m in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s.startswith(("`", " ")) or s.endswith(("`", " ")) else ""
    out = f"{fence}{pad}{s}{pad}{fence}"
    return out.replace("|", "\\|") if cell else out  # GFM tables split cells at | even in code


def fence_for(text: str) -> str:
    return "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)


def gh_escape(s: str, prop: bool = False) -> str:
    """Workflow-command escaping (as ``dfix --format github``)."""
    s = str(s).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s


def nbytes(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))

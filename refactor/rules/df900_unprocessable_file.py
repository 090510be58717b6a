"""DF900 unprocessable-file: a file could not be read or parsed."""

from __future__ import annotations

from refactor.rules._base import Rule

DOC = """\
## What it does
Reports files dfix could not process: not text (NUL bytes), not UTF-8, larger than the size limit,
unreadable, a directory or FIFO named like a Dockerfile, or a Dockerfile BuildKit would reject
(unterminated heredoc, no instructions, invalid directive or arguments).

## Why is this bad?
Nothing in such a file was checked. The run goes on with the other files and exits 2.

## Fix safety
None.
"""

RULE = Rule(
    code="DF900",
    name="unprocessable-file",
    summary="A file could not be read or parsed",
    secret=False,
    severity="error",
    fixable="never",
    doc=DOC,
)

# Where this rule's findings are made today (tests/test_rules_meta.py imports it).
# Input errors are raised by refactor.source:read_source, parse errors by
# refactor.syntax.dockerfile:parse.
CHECK = "refactor.engine:process_file"

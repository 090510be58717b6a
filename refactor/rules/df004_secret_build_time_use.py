"""DF004 secret-build-time-use: a secret is expanded by the Dockerfile itself at build time."""

from __future__ import annotations

from refactor.rules._base import Rule

DOC = """\
## What it does
Finds secrets that the Dockerfile expands while building: in `FROM`, `COPY --chown`, `WORKDIR`,
`USER`, `ADD` URLs, `RUN --mount` options, or in an unquoted `COPY <<EOF` heredoc.

## Why is this bad?
A secret mount only exists inside a RUN; the expanded value lands in layer files or metadata.

## Fix safety
None: the secret must be consumed inside a RUN instead. dfix shows the problem and leaves the file.
"""

RULE = Rule(
    code="DF004",
    name="secret-build-time-use",
    summary="A secret is expanded by the Dockerfile itself at build time",
    secret=True,
    severity="error",
    fixable="never",
    doc=DOC,
)

# Where this rule's findings are made today (tests/test_rules_meta.py imports it).
CHECK = "refactor.fixes.mounts:plan_secret"

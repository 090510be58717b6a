"""DF012 stale-build-arg: a caller passes a build arg the Dockerfile does not declare."""

from __future__ import annotations

from refactor.rules._base import Rule

DOC = """\
## What it does
Reports `--build-arg NAME` (and compose/bake/workflow equivalents) for names the Dockerfile does not
declare with `ARG`.

## Why is this bad?
The value is silently unused. If it is a secret, it still travels through CI logs and provenance
for nothing.

## Fix safety
None: remove it from the caller, or declare what the build needs.
"""

RULE = Rule(
    code="DF012",
    name="stale-build-arg",
    summary="A caller passes a build arg the Dockerfile does not declare",
    secret=False,
    severity="warning",
    fixable="never",
    doc=DOC,
)

# Where this rule's findings are made today (tests/test_rules_meta.py imports it).
CHECK = "refactor.link:link_callers"

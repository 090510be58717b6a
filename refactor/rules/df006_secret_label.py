"""DF006 secret-label: a secret is stored in an image LABEL."""

from __future__ import annotations

from refactor.rules._base import Rule

DOC = """\
## What it does
Finds `LABEL` values that expand a secret.

## Why is this bad?
Labels persist in image metadata (`docker inspect`).

## Fix safety
The label is removed as part of the DF001 fix.
"""

RULE = Rule(
    code="DF006",
    name="secret-label",
    summary="A secret is stored in an image LABEL",
    secret=True,
    severity="error",
    fixable="sometimes",
    doc=DOC,
)

# Where this rule's findings are made today (tests/test_rules_meta.py imports it).
CHECK = "refactor.fixes.mounts:plan_secret"

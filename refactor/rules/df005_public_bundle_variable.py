"""DF005 public-bundle-variable: a secret-looking variable is compiled into a public client bundle."""

from __future__ import annotations

from refactor.rules._base import Rule

DOC = """\
## What it does
Finds `VITE_*`, `REACT_APP_*`, `NEXT_PUBLIC_*`, `NUXT_PUBLIC_*`, `EXPO_PUBLIC_*` (and similar)
variables whose names look like credentials.

## Why is this bad?
Front-end build tools inline these values into JavaScript shipped to every browser. They can never
be secret: mounting them changes nothing. Keep real secrets on a server.

## Fix safety
None.
"""

RULE = Rule(
    code="DF005",
    name="public-bundle-variable",
    summary="A secret-looking variable is compiled into a public client bundle",
    secret=False,
    severity="warning",
    fixable="never",
    doc=DOC,
)

# Where this rule's findings are made today (tests/test_rules_meta.py imports it).
# The prefixes are refactor.analysis.secrets:public_bundle_prefix.
CHECK = "refactor.analyze:analyze"

"""DF010 shared-read-write-credential: one credential both reads dependencies in builds and publishes."""

from __future__ import annotations

from refactor.rules._base import Rule

DOC = """\
## What it does
Reports a secret variable that feeds dependency reads in builds (Dockerfile ARGs, `--build-arg`,
secret mounts, CI env) and also publishes somewhere in the repository (`docker login`/`docker push`,
`npm publish`, `twine upload`, `mvn deploy`, `gradle publish`, `docker/login-action`). Both places
are named.

## Why is this bad?
Builds run dependency code; a read credential that can also publish turns a leaked build secret
into a supply-chain compromise. Give builds a read-only credential.

## Fix safety
None: create a separate read-only credential.
"""

RULE = Rule(
    code="DF010",
    name="shared-read-write-credential",
    summary="One credential both reads dependencies in builds and publishes",
    secret=True,
    severity="warning",
    fixable="never",
    doc=DOC,
)

# Where this rule's findings are made today (tests/test_rules_meta.py imports it).
# Reported by refactor.run_splits:_split_findings.
CHECK = "refactor.supply.split:find_credential_splits"

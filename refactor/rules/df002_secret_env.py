"""DF002 secret-env: a secret is stored in the image configuration by ENV."""

from __future__ import annotations

from refactor.rules._base import Rule

DOC = """\
## What it does
Finds `ENV` keys that carry a secret: a copy of a secret build arg (`ENV TOKEN=$NPM_TOKEN`), a
value built from one (`ENV PIP_INDEX_URL=https://u:${TOKEN}@host/simple`), or a credential slot in
the image (`ENV DB_PASSWORD=changeme`).

## Why is this bad?
ENV values persist in the image config (`docker inspect`) and are inherited by every child image.

## Fix safety
When the ENV copies a secret build arg, its removal is part of the DF001 fix: RUNs that read the
key get a secret mount under that key's name, and a composite value is rebuilt inside each RUN that
needs it (`export PIP_INDEX_URL="…${TOKEN}…" && …`). Containers that read the key at run time must
now receive it with `docker run -e KEY`. A credential slot without a build arg is display-only:
pass it at run time instead.

## Not a finding: `ENV X=$X` with no `ARG X`
When nothing declares `X` before the `ENV` (no `ARG X` in the stage, no earlier `ENV X`), BuildKit
expands `$X` to the empty string: the image stores an empty value and nothing leaks. dfix does not
report it. When `X` names a credential, dfix adds a note that the container must get it at run
time (`docker run -e X`, or an orchestrator secret). A global `ARG X` before `FROM` does not count
as a declaration: a stage only sees it after re-declaring `ARG X`.
"""

RULE = Rule(
    code="DF002",
    name="secret-env",
    summary="A secret is stored in the image configuration by ENV",
    secret=True,
    severity="error",
    fixable="sometimes",
    doc=DOC,
)

# Where this rule's findings are made today (tests/test_rules_meta.py imports it).
# ENV copies of a secret build arg; credential slots without one are reported in
# refactor.analyze:analyze.
CHECK = "refactor.fixes.mounts:plan_secret"

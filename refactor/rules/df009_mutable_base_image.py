"""DF009 mutable-base-image: a base image is referenced by a mutable tag (latest or no tag)."""

from __future__ import annotations

from refactor.rules._base import Rule

DOC = """\
## What it does
Flags `FROM` (and `COPY --from=`) images that are untagged or tagged `latest`, and with
`--pin-digests` pins every base image to the digest its tag resolves to today.

## Why is this bad?
Anyone who can push the tag can change what your image is built from; a credential leaked from
one build then reaches every build that pulls the tag. Pull by digest.

## Fix safety
With `--pin-digests`, `FROM image:tag` becomes `FROM image:tag@sha256:…` (the tag stays for
readers). ARG-parameterized images are pinned through the global ARG default only when that cannot
change what another `--build-arg` value builds; otherwise the note gives today's digest. Stage
references and `scratch` are never pinned. Registry errors are reported per image.
"""

RULE = Rule(
    code="DF009",
    name="mutable-base-image",
    summary="A base image is referenced by a mutable tag (latest or no tag)",
    secret=False,
    severity="warning",
    fixable="sometimes",
    doc=DOC,
)

# Where this rule's findings are made today (tests/test_rules_meta.py imports it).
# Reported by refactor.engine:_supply_findings; --pin-digests is refactor.supply.pin:pin_digests.
CHECK = "refactor.supply.pin:findings_latest"

"""DF011 secret-build-arg-caller: a caller passes a secret to the build as --build-arg."""

from __future__ import annotations

from refactor.rules._base import Rule

DOC = """\
## What it does
Finds the places that build a Dockerfile and pass a secret as a build argument: shell scripts,
Makefiles, justfiles, compose `build.args`, `docker-bake.hcl`/`.json`, GitHub Actions
(`docker/build-push-action` `build-args:` and `run:` steps), `.gitlab-ci.yml`, Jenkinsfiles and
Python build scripts (subprocess argv and strings).

## Why is this bad?
After the Dockerfile stops declaring the ARG, the caller passes nothing the build uses while the
secret mount stays empty; before, the value was recorded in the image history. The Dockerfile and
its callers must change together.

## Fix safety
The caller passes `--secret id=<id>,env=<NAME>` instead (compose `build.secrets` plus a top-level
`secrets: {id: {environment: NAME}}`, bake `secret = [...]`, build-push-action `secret-envs:` /
`secrets:`, Python `env={**os.environ, ...}`). `env=` reads the *exported* environment, so a value
from a shell local, a Makefile variable or a Groovy variable gets a prefix assignment
`NAME="$X" docker build …`. A literal value is removed, never copied: rotate it and define a CI
secret. When a caller cannot be migrated (kaniko, the docker SDK), the Dockerfile fix becomes
unsafe and neither changes without `--unsafe-fixes`.
"""

RULE = Rule(
    code="DF011",
    name="secret-build-arg-caller",
    summary="A caller passes a secret to the build as --build-arg",
    secret=True,
    severity="error",
    fixable="sometimes",
    doc=DOC,
)

# Where this rule's findings are made today (tests/test_rules_meta.py imports it).
# Callers are parsed by refactor.callers.
CHECK = "refactor.link:link_callers"

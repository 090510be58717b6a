"""DF007 secret-layer-file: a RUN writes a secret into a file that stays in the image layer."""

from __future__ import annotations

from refactor.rules._base import Rule

DOC = """\
## What it does
Finds RUN steps that write a secret into a file which outlives the RUN: `echo … > ~/.npmrc`,
`printf … > /etc/pip.conf`, `… | tee ~/.netrc`, `npm config set //…:_authToken`,
`git config --global url."https://${TOKEN}@…".insteadOf`, `poetry config http-basic`,
`pip config set`, `aws configure set`, `docker login`, `huggingface-cli login`.

## Why is this bad?
Each RUN commits a layer. A file written in one RUN stays in that layer for good: a `RUN rm` in a
later step hides it from the final filesystem, but every pull still downloads the earlier layer
with the credential in it.

## Example
```dockerfile
ARG NPM_TOKEN
RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > /root/.npmrc
RUN npm ci
RUN rm /root/.npmrc
```
Use instead:
```dockerfile
RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > /root/.npmrc && npm ci && rm -f /root/.npmrc
```

## Fix safety
When the file is written, used and removed in one RUN, the secret mount alone suffices (no
finding). Otherwise dfix folds the write into each later RUN that needs the file (tools that read
it, or RUNs whose use cannot be decided) and removes it at the end of each, so the build keeps
working with no new inputs. This is chosen over a secret *file* mount because it needs no new
file on the build host. Display-only when the write is appended (`>>`, `tee -a`: the file may
have existed before), when dfix knows no way to undo it (`aws configure set`), when a WORKDIR
change sits between a relative-path write and its use, or when a consumer is an exec-form or
heredoc RUN.
"""

RULE = Rule(
    code="DF007",
    name="secret-layer-file",
    summary="A RUN writes a secret into a file that stays in the image layer",
    secret=True,
    severity="error",
    fixable="sometimes",
    doc=DOC,
)

# Where this rule's findings are made today (tests/test_rules_meta.py imports it).
CHECK = "refactor.fixes.layer_files:plan_layer_files"

"""DF001 secret-build-arg: a secret is passed to the build as a build argument."""

from __future__ import annotations

from refactor.rules._base import Rule

DOC = """\
## What it does
Finds `ARG` instructions (global or per stage) whose value is a credential. The verdict combines
three kinds of evidence: the variable's **name** (tokenized on `_`, `-`, `.`, camelCase and glued
credential words such as `ROOTPASS`, `DBPWD`, with negative shapes such as `*_URL`, `*_FILE`,
`*_ID`, `GPG_KEY`, `PUBLIC_KEY`, `AUTHORIZED_KEYS`), its **value** (known token formats, private
keys, URLs with a password, a literal in an authenticating position, entropy; placeholders weaken
it, an SSH public key or certificate rules it out), and its **use** (the value reaches URL
user-info, an `Authorization` header, `curl -u`, `--password`/`--db-password=`, `htpasswd -b`, a
database client, an `.npmrc` `_authToken`, a netrc password, a package source of another
ecosystem (NuGet, Bundler, Composer, Poetry, cargo), a private key file or key markers, or is
copied into a credential-named variable such as `PGPASSWORD`; written into `authorized_keys` it is
a public key).

## Why is this bad?
BuildKit records every declared ARG in the history of every later RUN of the stage
(`RUN |1 NPM_TOKEN=… /bin/sh -c …`), used or not. Anyone who can pull the image can read it with
`docker history --no-trunc`; max-mode provenance and BuildKit's build records keep it too.

## Example
```dockerfile
ARG NPM_TOKEN
RUN npm ci
```
Use instead:
```dockerfile
RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci
```
built with `docker build --secret id=npm_token,env=NPM_TOKEN .`

## Fix safety
Safe when the value is only read by RUNs: the ARG declarations go, every RUN that could read the
value gets a secret mount (RUNs that reference it, directly or through an ENV alias, RUNs that run
a tool reading it implicitly, and, where use cannot be decided, every RUN in scope). Display-only
when the value is expanded at build time (`FROM`, `COPY --chown`, `WORKDIR`, a `COPY <<EOF`
heredoc) or in Windows-container Dockerfiles. Unsafe when the ARG has a literal default (the value
must now come from the build command) or sits in an `ONBUILD` trigger (downstream builds must pass
`--secret`).
"""

RULE = Rule(
    code="DF001",
    name="secret-build-arg",
    summary="A secret is passed to the build as a build argument",
    secret=True,
    severity="error",
    fixable="sometimes",
    doc=DOC,
)

# Where this rule's findings are made today (tests/test_rules_meta.py imports it).
# The verdict on a variable (name, value, uses) is refactor.analysis.secrets:judge.
CHECK = "refactor.fixes.mounts:plan_secret"

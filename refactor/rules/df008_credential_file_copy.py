"""DF008 credential-file-copy: a credential file from the build context is copied into the image."""

from __future__ import annotations

from refactor.rules._base import Rule

DOC = """\
## What it does
Finds `COPY`/`ADD` of credential files from the build context: `.npmrc` with a literal token,
`.netrc`, `.git-credentials`, `.pypirc`, `pip.conf` with a password, Maven `settings.xml` with a
password, `auth.json`, `.yarnrc.yml` with `npmAuthToken`, `.docker/config.json`,
`.aws/credentials`, `.env`/`.env.*`/`*.env`, password files (`*.password`, `*password*.txt`),
`credentials.json` and service-account/OAuth client JSON, `kubeconfig`/`.kube/config`, `.pgpass`,
`.my.cnf`, PKCS#12 bundles (`*.pfx`, `*.p12`), `*.key`/`*.pem` holding a private key, and SSH
private keys (`id_rsa`, `id_ed25519`, …). With the context at hand it reads the file; a file that
only references `${VAR}` (a template) is not a credential file, nor are `*.example`/`*.sample`/
`*.template`/`*.dist` files. When the file cannot be read (generated in CI), a name that is
evidence on its own (`.env*`, password files, service-account JSON, kubeconfig, `.pgpass`,
`.my.cnf`, `*.pfx`/`*.p12`) is reported; tool configs and `*.key`/`*.pem` need their content.
`COPY . .` is checked against `.dockerignore`.

## Why is this bad?
The file lands in a layer of the image.

## Fix safety
Safe for an explicit COPY of a credential file: the source is removed from the COPY and each RUN
that uses it gets a secret file mount at the same path
(`--mount=type=secret,id=npmrc,target=/app/.npmrc`), built with `--secret id=npmrc,src=.npmrc`.
Add the file to `.dockerignore`. SSH private keys are display-only: use
`RUN --mount=type=ssh` with `docker build --ssh default`, keeping your known_hosts step. `.env`
files, password files, service-account keys, kubeconfigs, `.pgpass`, `.my.cnf`, PKCS#12 bundles
and private keys are display-only too: the application usually reads them at run time, so they
must come from a volume or an orchestrator secret.
`COPY . .` with a credential file in the context is display-only: add it to `.dockerignore`.
"""

RULE = Rule(
    code="DF008",
    name="credential-file-copy",
    summary="A credential file from the build context is copied into the image",
    secret=True,
    severity="error",
    fixable="sometimes",
    doc=DOC,
)

# Where this rule's findings are made today (tests/test_rules_meta.py imports it).
# `COPY . .` is checked by refactor.analyze:_check_directory_copy.
CHECK = "refactor.fixes.credential_copies:plan_credential_copies"

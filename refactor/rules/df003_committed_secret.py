"""DF003 committed-secret: a credential is committed in the Dockerfile."""

from __future__ import annotations

from refactor.rules._base import Rule

DOC = """\
## What it does
Finds credentials committed anywhere in the Dockerfile:
- known token formats (GitHub, GitLab, npm, PyPI, AWS, Docker Hub, Slack, Stripe, Telegram bot,
  Artifactory, Vault, Hugging Face, OpenAI, DigitalOcean, Shopify, JWT) and private-key blocks with
  key material, in any instruction and in comments;
- literals in authenticating positions of a `RUN` (and of `LABEL`, `CMD`, heredocs): a URL's
  user-info password (`git clone`, `pip -i`/`--index-url`, `pip config set`, `gem sources`,
  `GOPROXY`), `curl -u user:pass`, `Authorization: Bearer|Basic …`, `X-JFrog-Art-Api:`,
  `PRIVATE-TOKEN:`, `npm config set //host/:_authToken …`, `_authToken=` lines, `--password …`
  (and `--db-password=`, `--admin-password` …), `docker login -p …`, `echo … | docker login
  --password-stdin`, `mysql -p…`, `mysqladmin password`, `redis-cli -a`, `sqlcmd -P`,
  `htpasswd -b`, SQL `IDENTIFIED BY '…'`/`WITH PASSWORD '…'`, `nuget … -Password`/`-p`,
  `bundle config HOST user:pass`, `composer`/`poetry config http-basic.HOST user pass`,
  `cargo login`, `aws configure set aws_secret_access_key`, `keytool -storepass`, `openssl … pass:`,
  and a literal assigned to a credential-named variable (`PGPASSWORD=…`, `-Ddb.password=…`);
- in `ARG` defaults and `ENV` values: the same, plus high-entropy strings and a literal of a
  password-named variable (`ENV MYSQL_ROOT_PASSWORD=…`).

Stand-ins are not credentials: `$VAR`/`$(…)` expansions, placeholders (`changeme`, `<token>`,
`xxx`, `your_token_here`, `dummy`, `password123`), well-known defaults (`admin`, `root`, `guest`,
`postgres`, a password equal to the user name), counting or keyboard sequences, template markers
(`%PASS%`, `@PASS@`, `{{ .Values.pw }}`, `__TOKEN__`), and a value the same text uses as a file
name. The value is never printed: every output masks it.

## Why is this bad?
The credential is in version control history and in every image already built, whatever a
rewrite does now. It must be rotated.

## Fix safety
For an `ARG` default: unsafe, the migration removes the literal, so the build command must supply
the value. Anywhere else: display-only; rotate the credential, define the new one as a build
secret and read it in the RUN with `--mount=type=secret,id=…,env=…`.
"""

RULE = Rule(
    code="DF003",
    name="committed-secret",
    summary="A credential is committed in the Dockerfile",
    secret=True,
    severity="error",
    fixable="sometimes",
    doc=DOC,
)

# Where this rule's findings are made today (tests/test_rules_meta.py imports it).
# Literals outside ARG defaults and ENV values, found by refactor.analysis.literals:scan;
# ARG defaults are reported in refactor.fixes.mounts:plan_secret, ENV values in refactor.analyze:analyze.
CHECK = "refactor.analyze:_committed_literals"

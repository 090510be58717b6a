"""Rule registry. A rule's docstring-like ``doc`` is what ``dfix --explain CODE`` prints.

Names describe the *pattern*, not the fix ("allow secret-build-arg").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    summary: str
    secret: bool  # findings of this rule are about a secret value
    severity: str  # error | warning | info
    fixable: str  # always | sometimes | never
    doc: str


RULES: tuple[Rule, ...] = (
    Rule(
        "DF001",
        "secret-build-arg",
        "A secret is passed to the build as a build argument",
        True,
        "error",
        "sometimes",
        """## What it does
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
""",
    ),
    Rule(
        "DF002",
        "secret-env",
        "A secret is stored in the image configuration by ENV",
        True,
        "error",
        "sometimes",
        """## What it does
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
""",
    ),
    Rule(
        "DF003",
        "committed-secret",
        "A credential is committed in the Dockerfile",
        True,
        "error",
        "sometimes",
        """## What it does
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
""",
    ),
    Rule(
        "DF004",
        "secret-build-time-use",
        "A secret is expanded by the Dockerfile itself at build time",
        True,
        "error",
        "never",
        """## What it does
Finds secrets that the Dockerfile expands while building: in `FROM`, `COPY --chown`, `WORKDIR`,
`USER`, `ADD` URLs, `RUN --mount` options, or in an unquoted `COPY <<EOF` heredoc.

## Why is this bad?
A secret mount only exists inside a RUN; the expanded value lands in layer files or metadata.

## Fix safety
None: the secret must be consumed inside a RUN instead. dfix shows the problem and leaves the file.
""",
    ),
    Rule(
        "DF005",
        "public-bundle-variable",
        "A secret-looking variable is compiled into a public client bundle",
        False,
        "warning",
        "never",
        """## What it does
Finds `VITE_*`, `REACT_APP_*`, `NEXT_PUBLIC_*`, `NUXT_PUBLIC_*`, `EXPO_PUBLIC_*` (and similar)
variables whose names look like credentials.

## Why is this bad?
Front-end build tools inline these values into JavaScript shipped to every browser. They can never
be secret: mounting them changes nothing. Keep real secrets on a server.

## Fix safety
None.
""",
    ),
    Rule(
        "DF006",
        "secret-label",
        "A secret is stored in an image LABEL",
        True,
        "error",
        "sometimes",
        """## What it does
Finds `LABEL` values that expand a secret.

## Why is this bad?
Labels persist in image metadata (`docker inspect`).

## Fix safety
The label is removed as part of the DF001 fix.
""",
    ),
    Rule(
        "DF007",
        "secret-layer-file",
        "A RUN writes a secret into a file that stays in the image layer",
        True,
        "error",
        "sometimes",
        """## What it does
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
""",
    ),
    Rule(
        "DF008",
        "credential-file-copy",
        "A credential file from the build context is copied into the image",
        True,
        "error",
        "sometimes",
        """## What it does
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
""",
    ),
    Rule(
        "DF009",
        "mutable-base-image",
        "A base image is referenced by a mutable tag (latest or no tag)",
        False,
        "warning",
        "sometimes",
        """## What it does
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
""",
    ),
    Rule(
        "DF010",
        "shared-read-write-credential",
        "One credential both reads dependencies in builds and publishes",
        True,
        "warning",
        "never",
        """## What it does
Reports a secret variable that feeds dependency reads in builds (Dockerfile ARGs, `--build-arg`,
secret mounts, CI env) and also publishes somewhere in the repository (`docker login`/`docker push`,
`npm publish`, `twine upload`, `mvn deploy`, `gradle publish`, `docker/login-action`). Both places
are named.

## Why is this bad?
Builds run dependency code; a read credential that can also publish turns a leaked build secret
into a supply-chain compromise. Give builds a read-only credential.

## Fix safety
None: create a separate read-only credential.
""",
    ),
    Rule(
        "DF011",
        "secret-build-arg-caller",
        "A caller passes a secret to the build as --build-arg",
        True,
        "error",
        "sometimes",
        """## What it does
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
""",
    ),
    Rule(
        "DF012",
        "stale-build-arg",
        "A caller passes a build arg the Dockerfile does not declare",
        False,
        "warning",
        "never",
        """## What it does
Reports `--build-arg NAME` (and compose/bake/workflow equivalents) for names the Dockerfile does not
declare with `ARG`.

## Why is this bad?
The value is silently unused. If it is a secret, it still travels through CI logs and provenance
for nothing.

## Fix safety
None: remove it from the caller, or declare what the build needs.
""",
    ),
    Rule(
        "DF900",
        "unprocessable-file",
        "A file could not be read or parsed",
        False,
        "error",
        "never",
        """## What it does
Reports files dfix could not process: not text (NUL bytes), not UTF-8, larger than the size limit,
unreadable, a directory or FIFO named like a Dockerfile, or a Dockerfile BuildKit would reject
(unterminated heredoc, no instructions, invalid directive or arguments).

## Why is this bad?
Nothing in such a file was checked. The run goes on with the other files and exits 2.

## Fix safety
None.
""",
    ),
)

BY_CODE = {r.code: r for r in RULES}
BY_NAME = {r.name: r for r in RULES}


def lookup(code_or_name: str) -> Rule | None:
    key = code_or_name.strip()
    return BY_CODE.get(key.upper()) or BY_NAME.get(key.lower())


def check_codes(codes) -> list[str]:
    """Rule selectors as given (codes, prefixes such as ``DF01``, ``ALL``), upper-cased and
    stripped; raises ValueError naming the first that selects no rule (a mistyped code)."""
    out = []
    for raw in codes:
        c = raw.strip().upper()
        if not c:
            continue
        if c != "ALL" and not any(r.code.startswith(c) for r in RULES):
            raise ValueError(f"unknown rule code '{raw.strip()}'")
        out.append(c)
    return out


@dataclass(frozen=True)
class Selection:
    """Which rules run: ``select`` (default all) plus ``extend_select``, minus ``ignore``; the more
    specific selector wins (``--select DF0 --ignore DF001``; ``--ignore DF0 --select DF001``); on a
    tie, ignore wins."""

    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()

    def enabled(self, code: str) -> bool:
        def best(selectors) -> int:
            return max((0 if s == "ALL" else len(s) for s in selectors if s == "ALL" or code.startswith(s)), default=-1)

        on, off = best(self.select + self.extend_select), best(self.ignore)
        return on >= 0 and on > off

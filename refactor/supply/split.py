"""Credential split: one secret variable must not both read dependencies and publish.

``find_credential_splits(root)`` scans a repository and returns a :class:`CredentialSplit` for every secret
variable that feeds a **dependency read** in a build somewhere and **publishing** somewhere else,
naming both places (``path``, 1-based ``line``, ``what``). If that one credential leaks from a build
(history, a cached layer, a log), it can publish.

Where a variable is *read* (builds and dependency installs):
- Dockerfiles: every ``ARG`` (a build argument is a value the build reads), ``RUN
  --mount=type=secret`` (``env=`` name, and the id in upper case: dfix names ids after the variable);
- build commands in scripts and CI: ``docker build``/``docker buildx build``/``podman build``/
  ``buildah bud`` ``--build-arg NAME[=$VALUE]`` and ``--secret id=…,env=NAME``; GitHub's
  ``docker/build-push-action`` ``build-args``, ``secrets`` and ``secret-envs``; compose ``build.args``;
- dependency installs in scripts and CI (``npm ci``/``install``, ``yarn``, ``pnpm install``,
  ``pip install``, ``poetry install``, ``uv sync``, ``mvn`` without ``deploy``, ``gradle`` without a
  ``publish`` task, ``bundle install``, ``composer install``, ``go mod download``): the variables in
  the command, the tool's own variables in scope (``NODE_AUTH_TOKEN``, ``PIP_INDEX_URL``, …), and
  the variables its repo config expands (``.npmrc``/``.yarnrc.yml`` ``${X}``, ``settings.xml``
  ``${env.X}``, ``System.getenv("X")`` in Gradle scripts);
- a registry login that no push follows in the same file (``docker login``, ``docker/login-action``):
  a pull credential.

Where a variable *publishes*:
- ``docker login``/``podman login``/``buildah login`` (``-p``/``--password``/``--password-stdin`` fed
  by ``echo $X |``) and ``docker/login-action`` ``password:`` in a file that also pushes
  (``docker push``, ``buildx build --push``, ``build-push-action`` with ``push`` not ``false``, …);
- ``npm``/``yarn``/``pnpm publish``, ``twine upload``, ``poetry publish``, ``mvn … deploy``,
  ``gradle publish…``, ``cargo publish``, ``gem push``, ``pypa/gh-action-pypi-publish``
  ``password:``, with the same variable rules as reads.

Variables are identified by name. In GitHub workflows an ``env`` entry bound to
``${{ secrets.Y }}`` is identified as ``Y`` (so ``NODE_AUTH_TOKEN: ${{ secrets.NPM_READ }}`` and
``NODE_AUTH_TOKEN: ${{ secrets.NPM_PUBLISH }}`` are two credentials, as they should be). A step's
own ``env`` entries bound to secrets are the fallback when a tool's variables cannot be told
(``mvn deploy`` with ``MAVEN_PASSWORD``). Per-job tokens whose permissions the pipeline sets per
job (``GITHUB_TOKEN``/``github.token``, GitLab's ``CI_JOB_TOKEN``/``CI_REGISTRY_PASSWORD``) are not
reported.

Files: Dockerfiles (dfix's names), ``.github/workflows/*.y*ml`` and ``action.y*ml`` (YAML-aware),
every other ``*.yml``/``*.yaml`` CI file, shell scripts, Makefiles, ``Jenkinsfile``, ``justfile``
(line by line, ``\\`` continuations joined). ``.git``, ``node_modules``, ``vendor``, virtualenvs
are skipped; files over 1 MiB or not UTF-8 are ignored. Nothing is executed, and no value is ever
read into a message: only variable names, paths and line numbers.

Layout: this module is the public face (:class:`CredentialSplit`, :func:`find_credential_splits`);
the parts are ``split_sites`` (the records), ``split_files`` (which files are read, Dockerfile
events), ``split_patterns`` (tools, references and text helpers) and ``split_scanner`` (the scan).
"""

from __future__ import annotations

import os

from refactor.records import dataclass
from refactor.supply.split_files import _CONFIG_NAMES as _CONFIG_NAMES
from refactor.supply.split_files import _SCAN_SUFFIXES as _SCAN_SUFFIXES
from refactor.supply.split_files import _SCRIPT_NAMES as _SCRIPT_NAMES
from refactor.supply.split_files import MAX_BYTES as MAX_BYTES
from refactor.supply.split_files import SKIP_DIRS as SKIP_DIRS
from refactor.supply.split_files import _relevant as _relevant
from refactor.supply.split_files import dockerfile_events as dockerfile_events
from refactor.supply.split_scanner import PackedEvents, _Scanner
from refactor.supply.split_sites import EPHEMERAL as EPHEMERAL
from refactor.supply.split_sites import Site


@dataclass(frozen=True)
class CredentialSplit:
    variable: str
    read_site: Site
    publish_site: Site
    other_reads: tuple[Site, ...] = ()  # further read sites of the same variable

    @property
    def message(self) -> str:
        r, p = self.read_site, self.publish_site
        more = f" (and {len(self.other_reads)} more read site{'s' if len(self.other_reads) != 1 else ''})" if self.other_reads else ""
        return (
            f"{self.variable} feeds a build's dependency reads ({r.what} at {r.path}:{r.line}){more} and publishes "
            f"({p.what} at {p.path}:{p.line}): give builds a read-only credential and keep the publishing one out of them"
        )


def find_credential_splits(root: str | os.PathLike, known: dict[str, list[tuple] | PackedEvents] | None = None) -> list[CredentialSplit]:
    """Every secret variable that feeds dependency reads in a build and also publishes. ``known``
    maps the absolute paths of Dockerfiles parsed already to their :func:`dockerfile_events` (packed by a
    bulk run: ``refactor.run_packed``)."""
    from refactor.discovery import is_dockerfile_name

    reads, publishes = _Scanner(str(root), known).run()
    out = []
    for var in sorted(set(reads) & set(publishes)):
        # Dockerfile sites first (the build itself), then build commands and installs
        rsites = sorted(reads[var], key=lambda s: (not is_dockerfile_name(s.path.rsplit("/", 1)[-1]), s.path, s.line, s.what))
        for p in sorted(publishes[var], key=lambda s: (s.path, s.line, s.what)):
            others = [r for r in rsites if r != p and (r.path, r.line) != (p.path, p.line)]
            if not others:
                continue
            out.append(CredentialSplit(var, others[0], p, tuple(others[1:])))
    return out

"""Callers: every place in a repository that builds a Dockerfile with ``--build-arg``.

After the Dockerfile rewrite removes ``ARG NPM_TOKEN``, each caller that still passes
``--build-arg NPM_TOKEN=…`` must pass ``--secret id=npm_token,env=…`` instead, or the mount stays
empty. This package finds the callers (:func:`discover`), links each invocation to the Dockerfile
it builds, and plans text edits for one caller file (:func:`plan_file`, :func:`plan`).

Kinds: shell scripts, Makefiles, justfiles, compose files, ``docker-bake.hcl``/``.json``, GitHub
Actions workflows, ``.gitlab-ci.yml``, Jenkinsfiles and Python build scripts. The rewrite rules for
command lines are documented in :mod:`refactor.callers.shell`; each kind's module documents its own.

Contract with the integration:

* Search from :func:`repo_root` of the PATHs, whatever PATHs were given; link an invocation to a
  Dockerfile when ``os.path.realpath(dockerfile) == inv.dockerfile``.
* ``migrated`` (per Dockerfile) maps each build arg whose ARG the rewrite removes to the
  :class:`~refactor.buildspec.SecretSpec` the emitted command passes (``SecretSpec.env`` is the
  build-arg name), or to ``None`` when no RUN reads it any more (the caller just drops it).
* Offsets are into the caller's decoded text without a BOM (``refactor.source.read_source(path).text``).
* ``Invocation.dockerfile``/``context`` are ``os.path.realpath`` values: compare them with the
  realpath of each Dockerfile.
* Plan *all* invocations of one caller file with one :func:`plan_file` call: edits that belong to
  the file rather than one invocation (compose's top-level ``secrets:``, a GitHub step's ``env:``,
  Python's ``import os``) are made once, and a step shared by several Dockerfiles (a workflow
  matrix) is planned once for all of them.
* A non-empty ``CallerPlan.unmigratable`` means the caller cannot (fully) follow the Dockerfile:
  lower that Dockerfile's fix to unsafe and show the reasons. The edits that could be planned are
  still there.
* Literal values are never copied anywhere: ``BuildArgUse.source`` names variables only, notes name
  variables only, and a literal's removal is reported in ``CallerPlan.rotate``.
"""

from __future__ import annotations

import os

from refactor.buildspec import SecretSpec
from refactor.fixes.edit import ConflictError, apply_edits
from refactor.reporoot import repo_root as repo_root

from .kinds import BY_NAME as _KINDS
from .kinds import kind_of
from .model import BuildArgUse, CallerPlan, Invocation, Target
from .scan import _SHEBANG as _SHEBANG
from .scan import MAX_BYTES as MAX_BYTES
from .scan import SKIP_DIRS as SKIP_DIRS
from .scan import _below as _below
from .scan import _excluded as _excluded
from .scan import _Wanted as _Wanted
from .scan import discover, mentions_in

__all__ = [
    "BuildArgUse",
    "CallerPlan",
    "Invocation",
    "Target",
    "discover",
    "find_in_text",
    "kind_of",
    "mentions_in",
    "plan",
    "plan_file",
    "repo_root",
    "stale_args",
]


def find_in_text(path: str, text: str, kind: str, root: str | None = None) -> list[Invocation]:
    """Invocations in one caller's text (``root`` resolves Dockerfile paths; None skips that)."""
    try:
        return [f.inv for f in _KINDS[kind].find()(path, text, root)]
    except Exception:  # bad callers are skipped, never raised (DFIX_DEBUG re-raises)
        if os.environ.get("DFIX_DEBUG"):
            raise
        return []


# ------------------------------------------------------------------------------------------
# Planning


def plan(invocation: Invocation, text: str, migrated: dict[str, SecretSpec | None]) -> CallerPlan:
    """Plan one invocation (see :func:`plan_file` to plan every invocation of a file at once).

    ``migrated`` maps each build arg the Dockerfile rewrite removed to its secret, or to None when
    nothing reads it any more (the build arg is then just dropped)."""
    return plan_file(invocation.path, text, [Target(invocation, migrated)])


def plan_file(path: str, text: str, targets: list[Target]) -> CallerPlan:
    """Edits for one caller file so that it passes each migrated build arg as a secret."""
    result = CallerPlan(path)
    targets = [t for t in targets if t.invocation.path == path]
    if not targets:
        return result
    kind = targets[0].invocation.kind
    shown = os.path.basename(path)
    try:
        founds = _KINDS[kind].find()(path, text, None)
    except Exception:
        if os.environ.get("DFIX_DEBUG"):
            raise
        result.add_unmigratable(f"{shown}: could not be read again as a {kind} caller")
        return result
    by_span: dict[tuple[int, int], list] = {}
    for f in founds:
        by_span.setdefault((f.inv.start, f.inv.end), []).append(f)
    t_by_span: dict[tuple[int, int], list[Target]] = {}
    for t in targets:
        t_by_span.setdefault((t.invocation.start, t.invocation.end), []).append(t)
    groups = []
    for span, tlist in t_by_span.items():
        fl = by_span.get(span)
        if not fl:
            result.add_unmigratable(f"{shown}: the build at offset {span[0]} was not found again (the file changed)")
            continue
        migrated = _merge_migrated(shown, fl[0].inv, tlist, result)
        if migrated:
            groups.append((fl[0], migrated))
    if groups:
        try:
            _KINDS[kind].plan()(path, text, groups, result)
        except Exception as exc:  # a planner bug must not take the run down
            if os.environ.get("DFIX_DEBUG"):
                raise
            result.edits = []
            result.add_unmigratable(f"{shown}: internal error while planning ({type(exc).__name__}); migrate it by hand")
    _dedupe(result)
    if result.edits:
        try:
            new = apply_edits(text, result.edits)
        except ConflictError:
            result.edits = []
            result.add_unmigratable(f"{shown}: the caller edits conflict (a dfix bug); migrate it by hand")
            return result
        if not _still_parses(kind, new):
            result.edits = []
            result.add_unmigratable(f"{shown}: the rewritten caller does not parse (a dfix bug); migrate it by hand")
    return result


def _merge_migrated(shown: str, inv: Invocation, tlist: list[Target], result: CallerPlan) -> dict[str, SecretSpec | None]:
    """One step building several Dockerfiles: a name is migrated if some Dockerfile migrated it and
    no other still declares it; the secret ids must agree. A ``None`` spec (the ARG is gone and
    nothing reads it) yields to a real secret of another Dockerfile."""
    union: dict[str, SecretSpec | None] = {}
    blocked: set[str] = set()
    for t in tlist:
        for name, spec in t.migrated.items():
            have = union.get(name)
            if have is None:  # not there yet, or a None spec
                union[name] = spec
            elif spec is not None and spec.id != have.id:
                result.add_unmigratable(
                    f"{shown}: {name} is a secret with different ids ({have.id}, {spec.id}) in the Dockerfiles this step builds"
                )
                blocked.add(name)
    for t in tlist:
        for name in union:
            if name not in t.migrated and t.declared is not None and name in t.declared and name not in blocked:
                df = os.path.basename(os.path.dirname(t.invocation.dockerfile or "")) or "another Dockerfile"
                result.add_unmigratable(f"{shown}: the shared step also builds {df}, which still declares ARG {name}")
                blocked.add(name)
    passed = {a.name for a in inv.build_args}
    return {n: s for n, s in union.items() if n not in blocked and n in passed}


def _dedupe(plan_: CallerPlan) -> None:
    seen = set()
    out = []
    for e in plan_.edits:
        if e in seen:
            continue
        seen.add(e)
        out.append(e)
    plan_.edits = out


def _still_parses(kind: str, text: str) -> bool:
    try:
        if kind in ("compose", "github", "gitlab"):
            from .yamlutil import compose

            return compose(text) is not None or not text.strip()
        if kind == "bake-json":
            import json

            json.loads(text)
            return True
        if kind == "bake-hcl":
            from .bake import parse_hcl

            return parse_hcl(text) is not None
        if kind == "python":
            import libcst

            libcst.parse_module(text)
            return True
    except Exception:  # noqa: BLE001
        return False
    return True


def stale_args(invocation: Invocation, declared_args: set[str]) -> list[str]:
    """Build args the caller passes that the Dockerfile does not declare (BuildKit's predefined
    proxy, platform and ``BUILDKIT_*`` args are accepted without a declaration).

    ``declared_args`` are the ARGs of the Dockerfile *before* the rewrite (or after it, plus the
    migrated names): a migrated build arg is rewritten by :func:`plan_file`, not stale.
    """
    from refactor.analysis.facts import PLATFORM_ARGS, PROXY_ARGS

    out: list[str] = []
    for a in invocation.build_args:
        n = a.name
        if not n or n in declared_args or n in PROXY_ARGS or n in PLATFORM_ARGS or n.startswith("BUILDKIT_"):
            continue
        if n not in out:
            out.append(n)
    return out

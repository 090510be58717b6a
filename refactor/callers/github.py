"""GitHub Actions workflows: docker/build-push-action steps and ``run:`` steps.

build-push-action (``with:``)::

    build-args: |                          secrets: |
      NPM_TOKEN=${{ secrets.NPM_TOKEN }}      npm_token=${{ secrets.NPM_TOKEN }}
      APP_VERSION=1.2                       build-args: |
                                              APP_VERSION=1.2

* ``${{ secrets.X }}`` and any other expression (``vars.X``, ``steps.….outputs.…``) → ``secrets:``
  as ``<id>=<expression>``.
* ``${{ env.X }}`` and a bare ``NAME`` (the action passes ``--build-arg NAME`` from its
  environment) → ``secret-envs:`` as ``<id>=X`` (build-push-action ≥ 5.1: ``@v5``, ``@v6``, or a
  pinned version ≥ 5.1, or a SHA pin with a ``# v5.1+`` comment). For older or unknown versions
  ``secrets:`` with ``<id>=${{ env.X }}`` is used instead, which every version accepts.
* A literal is removed (rotate it) and replaced by ``<id>=${{ secrets.NAME }}``: create the
  repository secret ``NAME``.
* ``$X`` in ``with:`` is not expanded by Actions (it was passed literally): reported, not migrated.

``run:`` steps are shell text (see :mod:`refactor.callers.shell`). ``${{ … }}`` values are moved
into the step's ``env:`` (``NAME: ${{ secrets.X }}``), so the secret is no longer pasted into the
script; ``$X`` from ``env:`` (workflow, job or step) or ``$GITHUB_ENV`` is exported. ``pwsh``/
``powershell``/``cmd`` steps (and Windows runners without a ``shell:``) take no ``VAR=value``
prefix: such a step is migrated only when no prefix is needed.

Matrix builds: ``${{ matrix.x }}`` in ``file``/``context``/``run`` paths is resolved for each
entry of a static matrix (``include``/``exclude`` applied), giving one invocation per entry with
the same span (plan them together with :func:`refactor.callers.plan_file`). A dynamic matrix
(``fromJSON(…)``) is linked by pattern: each ``${{ matrix.… }}`` becomes ``*`` and every existing
Dockerfile the pattern matches gets an invocation.
"""

from __future__ import annotations

from . import yamlutil as Y
from .common import CliUnit, Found, rel
from .github_action import ActionArg, ActionUnit, _find_action, _plan_action
from .github_run import _add_step_env, _env_adder, _find_run, _StepEnv
from .github_workflow import Step, _combos
from .model import CallerPlan

# The parts live in github_workflow (steps, matrix, defaults), github_action (build-push-action)
# and github_run (run: steps); this module walks the workflow and dispatches the planning.
__all__ = ["ActionArg", "ActionUnit", "Step", "find", "plan"]


def find(path: str, text: str, root: str | None) -> list[Found]:
    doc = Y.compose(text)
    shown = rel(path, root)
    if doc is None and (why := Y.refusal(text)) is not None:
        return [Y.refused(path, "github", text, shown, why)]  # too deep, an alias bomb
    if not Y.is_map(doc):
        return []
    found: list[Found] = []
    jobs = Y.get(doc, "jobs")
    for jk, job in Y.items(jobs):
        steps = Y.get(job, "steps")
        if not Y.is_seq(steps):
            continue
        combos = _combos(Y.get(job, "strategy"))
        for idx, step in enumerate(steps.value):
            if not Y.is_map(step):
                continue
            st = Step(str(jk.value), idx, step, str(Y.start(step)), (Y.get(job, "env"), Y.get(doc, "env")))
            name = Y.sval(Y.get(step, "name")) or Y.sval(Y.get(step, "id")) or f"#{idx + 1}"
            where = f"{shown} job {jk.value} step {name}"
            uses = Y.sval(Y.get(step, "uses")) or ""
            if uses.startswith("docker/build-push-action"):
                found.extend(_find_action(path, text, root, doc, job, st, uses, combos, where))
            run = Y.get(step, "run")
            if Y.is_scalar(run) and "build-arg" in (run.value or ""):
                found.extend(_find_run(path, text, root, doc, job, st, run, combos, where))
    return found


def plan(path: str, text: str, groups: list, result: CallerPlan) -> None:
    nl = Y.newline(text)
    unit = Y.indent_unit(text)
    step_envs: dict[str, _StepEnv] = {}
    for found, migrated in groups:
        data = found.data
        if isinstance(data, ActionUnit):
            _plan_action(text, data, migrated, nl, unit, result)
            continue
        cu: CliUnit = data
        st: Step = cu.extra["step"]
        se = step_envs.setdefault(st.key, _StepEnv(st))
        cu.host.add_env = _env_adder(text, se)
        from .shell import plan_build

        plan_build(cu.view, text, cu.bc, migrated, cu.host, result)
    for se in step_envs.values():
        if se.want:
            _add_step_env(text, se, nl, unit, result)

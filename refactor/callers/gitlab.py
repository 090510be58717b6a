"""GitLab CI: ``script:``, ``before_script:`` and ``after_script:`` lines of every job.

Each line is shell text (see :mod:`refactor.callers.shell`). CI/CD variables (project, group,
instance) and ``variables:`` entries are exported environment variables, so ``$X`` not assigned in
the job's own script lines is certainly exported: ``--build-arg NPM_TOKEN=$NPM_TOKEN`` becomes
``--secret id=npm_token,env=NPM_TOKEN`` and nothing else. A literal is removed and reported for
rotation; define the secret as a masked CI/CD variable. Kaniko jobs (``/kaniko/executor``) cannot
take BuildKit secrets and are reported as not migratable, as are jobs with ``DOCKER_BUILDKIT: "0"``.
Paths resolve against the repository root (``$CI_PROJECT_DIR``).
"""

from __future__ import annotations

from . import yamlutil as Y
from .common import Found, cd_bases, cli_founds, rel
from .shell import Host, Lexer, Scope, build_commands, commands, scope_of

_NOT_JOBS = frozenset(
    {"stages", "variables", "include", "workflow", "image", "services", "cache", "before_script", "after_script", "default"}
)
_SCRIPT_KEYS = ("before_script", "script", "after_script")


def _script_items(node) -> list:
    out = []
    if Y.is_scalar(node):
        out.append(node)
    elif Y.is_seq(node):
        for it in node.value:
            out.extend(_script_items(it))
    return out


def _buildkit_off(*holders) -> bool:
    for h in holders:
        v = Y.get(Y.get(h, "variables"), "DOCKER_BUILDKIT")
        if Y.is_scalar(v) and str(v.value).strip().lower() in ("0", "false"):
            return True
    return False


def find(path: str, text: str, root: str | None) -> list[Found]:
    doc = Y.compose(text)
    shown = rel(path, root)
    if doc is None and (why := Y.refusal(text)) is not None:
        return [Y.refused(path, "gitlab", text, shown, why)]  # too deep, an alias bomb
    if not Y.is_map(doc):
        return []
    found: list[Found] = []
    for jk, job in Y.items(doc):
        name = str(jk.value)
        if not Y.is_map(job) or name in _NOT_JOBS:
            continue
        items = []
        for key in _SCRIPT_KEYS:
            items.extend(_script_items(Y.get(job, key)))
        if not items:
            continue
        views = [v for v in (Y.scalar_view(text, it) for it in items) if v is not None]
        cmds_per = [commands(Lexer(v, "sh")) for v in views]
        scope = Scope()
        for cmds in cmds_per:
            scope_of(cmds, scope)
        off = _buildkit_off(job, doc)
        host = Host(
            "gitlab",
            "sh",
            scope,
            where=f"{shown} job {name}",
            literal_note=lambda n: f"define {n} as a masked CI/CD variable (Settings › CI/CD › Variables)",
        )
        subst = {"$CI_PROJECT_DIR": ".", "${CI_PROJECT_DIR}": "."}
        earlier: list = []
        for view, cmds in zip(views, cmds_per):
            before = list(earlier)
            earlier.extend(cmds)
            for bc in build_commands(cmds):
                if not bc.args:
                    continue
                if off:
                    bc.buildkit_off = True
                found.extend(
                    cli_founds(
                        path,
                        "gitlab",
                        view,
                        bc,
                        host,
                        cd_bases(cmds, bc, [root] if root is not None else None, before),
                        subst,
                        migratable=not off,
                        reason="DOCKER_BUILDKIT=0 disables BuildKit" if off else None,
                    )
                )
    return found

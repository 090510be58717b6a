"""A GitHub Actions workflow's structure around a step: the step itself, its matrix, shell and directory.

:class:`Step` is one step with the job's and workflow's ``env:``; :func:`_combos` expands a static
``strategy.matrix`` (``include``/``exclude`` applied) and :func:`_subst_matrix` fills
``${{ matrix.x }}`` from one entry; :func:`_shell_of` and :func:`_workdir` read ``defaults.run``.
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING

from refactor.codecache import regex
from refactor.records import dataclass

from . import yamlutil as Y

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node


_MATRIX_REF = regex(r"\$\{\{\s*matrix\.([A-Za-z0-9_.-]+)\s*\}\}")
_WS_REF = regex(r"\$\{\{\s*github\.workspace\s*\}\}")


@dataclass
class Step:
    job: str
    index: int
    node: Node
    key: str  # a stable key for the step (its start offset)
    outer_env: tuple[Node | None, ...] = ()  # the job's and the workflow's env: mappings


def _combos(strategy: Node | None) -> list[dict[str, str]] | None:
    """Static matrix entries, None for a dynamic matrix, [{}] without a matrix."""
    matrix = Y.get(strategy, "matrix") if Y.is_map(strategy) else None
    if matrix is None:
        return [{}]
    if Y.is_scalar(matrix):
        return None
    if not Y.is_map(matrix):
        return None
    dims: list[tuple[str, list[str]]] = []
    include = exclude = None
    for k, v in Y.items(matrix):
        key = k.value
        if key == "include":
            include = v
            continue
        if key == "exclude":
            exclude = v
            continue
        if not Y.is_seq(v):
            return None
        vals = [it.value for it in v.value if Y.is_scalar(it)]
        if len(vals) != len(v.value):
            vals = [it.value for it in v.value if Y.is_scalar(it)]
            if not vals:
                continue
        dims.append((key, [str(x) for x in vals]))
    combos = [dict(zip([d[0] for d in dims], vals)) for vals in itertools.product(*[d[1] for d in dims])] if dims else []
    if exclude is not None and Y.is_seq(exclude):
        for ex in exclude.value:
            exd = {k.value: str(v.value) for k, v in Y.items(ex) if Y.is_scalar(v)}
            combos = [c for c in combos if not all(c.get(k) == v for k, v in exd.items())]
    if include is not None:
        if not Y.is_seq(include):
            return None
        orig = {d[0] for d in dims}
        product = list(combos)  # include entries extend these; those that fit none become new jobs
        for inc in include.value:
            ind = {k.value: str(v.value) for k, v in Y.items(inc) if Y.is_scalar(v)}
            matched = False
            for c in product:
                if all(c.get(k) == v for k, v in ind.items() if k in orig) and not any(k in orig and c.get(k) != v for k, v in ind.items()):
                    c.update({k: v for k, v in ind.items() if k not in orig})
                    matched = True
            if not matched:
                combos.append(dict(ind))
    return combos or [{}]


def _subst_matrix(s: str, combo: dict[str, str] | None) -> str | None:
    if combo is None:
        return None

    def sub(m: re.Match) -> str:
        if m.group(1) not in combo:
            raise KeyError(m.group(1))
        return combo[m.group(1)]

    try:
        return _MATRIX_REF.sub(sub, s)
    except KeyError:
        return None


def _shell_of(step: Node, job: Node, root: Node) -> str | None:
    sh = Y.sval(Y.get(step, "shell"))
    if sh:
        return sh
    for holder in (job, root):
        d = Y.get(Y.get(holder, "defaults"), "run")
        sh = Y.sval(Y.get(d, "shell"))
        if sh:
            return sh
    runs_on = Y.get(job, "runs-on")
    label = Y.sval(runs_on) or ""
    if Y.is_seq(runs_on):
        label = " ".join(str(it.value) for it in runs_on.value if Y.is_scalar(it))
    if "windows" in label.lower():
        return "pwsh"
    return None


def _workdir(step: Node, job: Node, root: Node) -> str | None:
    wd = Y.sval(Y.get(step, "working-directory"))
    if wd:
        return wd
    for holder in (job, root):
        d = Y.get(Y.get(holder, "defaults"), "run")
        wd = Y.sval(Y.get(d, "working-directory"))
        if wd:
            return wd
    return None


def _env_names(*holders: Node | None) -> set[str]:
    out = set()
    for h in holders:
        env = Y.get(h, "env")
        for k, _v in Y.items(env):
            if Y.is_scalar(k):
                out.add(str(k.value))
    return out

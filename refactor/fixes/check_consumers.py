"""Files the rewrite takes from the steps that used them: a clean-up the rewrite adds to a RUN
(``&& rm -f ~/.npmrc``) removes a file the original kept for later steps, so each later step that
may read it must get it another way. A later RUN of the stage, or of a stage built ``FROM`` it, that
may read the file must write it again itself (the planner's fold); a ``COPY --from`` or a
``RUN --mount=type=bind,from=`` of that stage must not name it (session 9's red team: writer and
reader in parent and child stages, a ``COPY --from`` and a bind mount of the file, all applied as
safe and all failing the build with 401 or "not found").
"""

from __future__ import annotations

import posixpath

from refactor.fixes.check_align import _derives, removes_only
from refactor.fixes.check_effects import _run_effects
from refactor.fixes.check_model import _Model
from refactor.fixes.check_values import Violation

# what tools write and never read back: npm's debug logs (dfix's npm clean-up removes them)
_WRITE_ONLY = ("/.npm/_logs",)


def _under(p: str, root: str) -> bool:
    return p == root or p.startswith(root.rstrip("/") + "/")


def taken_files(o: _Model, r: _Model, pairs: dict, info: list) -> list[Violation]:
    """Violations for files a rewritten RUN newly removes that a later step of the original used."""
    out: list[Violation] = []
    for i, run in enumerate(o.runs):  # a dropped RUN's files: the RUNs that read them are _dropped's
        if i not in pairs:
            for p in sorted({p for op, p in _run_effects(run) if op == "add"}):
                v = _copied(o, run, p, False)
                if v:
                    out.append(Violation("value", run.line, f"line {run.line}: the rewrite drops this RUN, but {v}"))
                    break
    for i, j in sorted(pairs.items()):
        run = o.runs[i]
        gone = {p for op, p in _run_effects(run) if op != "add"}
        new = sorted({(p, op) for op, p in _run_effects(r.runs[j]) if op != "add" and p not in gone and not p.endswith(_WRITE_ONLY)})
        for p, op in new:
            v = _first_user(o, r, pairs, info, i, p, op == "deltree")
            if v:
                out.append(Violation("value", run.line, f"line {run.line}: the rewrite removes {p} after this RUN, but {v}"))
                break  # one is enough to refuse the rewrite
    return out


def _first_user(o: _Model, r: _Model, pairs: dict, info: list, i: int, p: str, tree: bool) -> str | None:
    """How a later step of the original uses ``p`` (a directory's contents when ``tree``) without
    the rewrite giving it back, or None."""
    run = o.runs[i]
    v = _copied(o, run, p, tree)
    if v:
        return v
    for k in range(i + 1, len(o.runs)):
        c = o.runs[k]
        if c.onbuild != run.onbuild or not _derives(o, c.stage, run.stage):
            continue
        effects = _run_effects(c)
        mentions = posixpath.basename(p) in c.key
        if info[k][1] or info[k][2] or (mentions and not removes_only(c)):
            j = pairs.get(k)
            if j is None or not any(op == "add" and q == p for op, q in _run_effects(r.runs[j])):
                return f"the RUN at line {c.line} may read it and does not write it again"
        if any((op != "add" and _under(p, q)) or (op == "add" and q == p) for op, q in effects):
            return None  # the original removes it there itself, or writes it anew: later steps get that one
    return None


def _copied(o: _Model, run, p: str, tree: bool) -> str | None:
    """A later ``COPY --from`` / bind mount of ``run``'s stage (or one built FROM it) that takes ``p``."""
    hits = (lambda q: _under(q, p) or _under(p, q)) if tree else (lambda q: _under(p, q))
    for line, _st, source, sp in o.copies + o.binds:
        if line > run.line and _derives(o, source, run.stage) and hits(sp):
            return f"line {line} copies or mounts {sp} from that stage"
    return None

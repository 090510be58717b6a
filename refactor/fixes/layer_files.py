"""Secrets written into files that outlive their RUN (DF007): fold the write into the RUNs that need the file."""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING

from refactor.analysis.facts import Facts
from refactor.analysis.shell import analyze_shell
from refactor.codecache import regex
from refactor.fixes.edit import Applicability
from refactor.fixes.edits import append_blocker
from refactor.fixes.plan import Finding, Fold, SecretPlan

if TYPE_CHECKING:
    from refactor.fixes.mounts import Carriers


# --------------------------------------------------------------------------------------------
# Secrets written into files that outlive their RUN (DF007)

FILE_TOOLS = {
    ".npmrc": {"npm", "npx", "yarn", "pnpm", "corepack"},
    ".netrc": {"curl", "wget", "git", "pip", "pip3", "go", "uv", "poetry", "pipenv"},
    "pip.conf": {"pip", "pip3", "pipenv", "uv"},
    ".gitconfig": {"git", "go", "npm", "yarn", "pnpm", "cargo", "pip", "pip3", "poetry", "bundle", "composer"},
    "gitconfig": {"git", "go", "npm", "yarn", "pnpm", "cargo", "pip", "pip3", "poetry", "bundle", "composer"},
    ".git-credentials": {"git", "go"},
    ".pypirc": {"twine"},
    "settings.xml": {"mvn"},
    "config.json": {"docker", "helm"},
    "credentials": {"aws"},
    "auth.json": {"composer"},
    "auth.toml": {"poetry"},
    "token": {"huggingface-cli"},
    ".yarnrc.yml": {"yarn"},
}


# credential files that build tools read (and nothing else should): a write of the secret into one
# may be folded into the RUNs that need it; any other file is data the image keeps
_TOOL_CREDENTIAL_FILES = frozenset(FILE_TOOLS) | {"pip.ini", "pip.conf", "credentials", "config.json", "auth.toml", "token"}


# shell_writes.undone_after's pattern without its left boundary: what it finds (and a write's own
# `rm …` clean-up text wherever it sits) is among what this finds
_RM_ARGS = regex(r"(?:rm|shred|unlink)\s+([^;&|\n]*)")


def _readers(path: str) -> frozenset:
    return frozenset(FILE_TOOLS.get(path.rstrip("/").rsplit("/", 1)[-1], ()))


def needs_file(run, path: str) -> bool:
    """Whether a RUN may read the file ``path``: it runs a tool that reads a file of that name, or
    what it runs cannot be known."""
    readers = _readers(path)
    if not run.shell_ok:
        argv0 = run.exec_argv[0].rsplit("/", 1)[-1] if run.exec_argv else ""
        return argv0 in readers
    info = analyze_shell(run.script)
    return bool(readers.intersection(info.commands)) or info.opaque


def _left_behind(facts: Facts) -> dict[str, dict[int, list[int]]]:
    """{file name: {stage: the steps that may leave a file of that name behind, ascending}}: RUNs
    writing it (and not removing it in the same RUN; any credential file an exec-form RUN names),
    COPY/ADD naming it. Computed once per Dockerfile."""
    from refactor.analysis.shell import file_writes, undone_after

    cache: dict[str, dict[int, list[int]]] | None = facts.df._extra.get("left_behind")
    if cache is not None:
        return cache
    out: dict[str, dict[int, list[int]]] = {}
    for j, ins in enumerate(facts.df.instructions):
        cmd = ins.effective
        names: set[str] = set()
        if cmd.cmd == "run" and j in facts.runs:
            run = facts.runs[j]
            if run.shell_ok:
                names = {w.path.rstrip("/").rsplit("/", 1)[-1] for w in file_writes(run.script) if not undone_after(run.script, w)}
            else:
                names = {f for f in _TOOL_CREDENTIAL_FILES if f in run.script}
        elif cmd.cmd in ("copy", "add"):
            names = {f for f in _TOOL_CREDENTIAL_FILES if f in cmd.args}
        for n in names:
            out.setdefault(n, {}).setdefault(facts.stage_of[j], []).append(j)
    facts.df._extra["left_behind"] = out
    return out


def _earlier_copy(facts: Facts, base: str, idx: int) -> bool:
    """Whether a step before ``idx`` in its stage chain may leave a file named ``base`` behind."""
    per = _left_behind(facts).get(base)
    if not per:
        return False
    for s in facts.stage_chain(facts.stage_of[idx]):
        lst = per.get(s, ())
        if lst and lst[0] < idx:
            return True
    return False


_READERS = frozenset().union(*FILE_TOOLS.values())


def _later_reader(facts: Facts, idx: int, base: str) -> bool:
    """Whether a RUN after ``idx`` (in its stage or a stage built on it) may read a credential file
    named ``base``: it names the file, runs a program that reads credential files, or one whose
    reads cannot be known."""
    stage = facts.stage_of[idx]
    for k, run in facts.runs.items():
        if k <= idx or stage not in facts.stage_chain(facts.stage_of[k]):
            continue
        if base in run.script or not run.shell_ok:
            return True
        info = analyze_shell(run.script)
        if info.opaque or set(info.commands) & _READERS:
            return True
    return False


def _writes_first(run) -> set[str]:
    """The paths the RUN's first statement overwrites (``echo … > ~/.npmrc && …``): what it reads
    of such a file after that is its own."""
    from refactor.analysis.shell import file_writes

    if not run.shell_ok:
        return set()
    return {w.path for w in file_writes(run.script) if w.kind in ("redirect", "tee") and not run.script[: w.start].strip()}


def plan_layer_files(facts: Facts, plan: SecretPlan, carriers: Carriers, findings: list[Finding]) -> None:
    from refactor.analysis.shell import FileWrite, file_writes, undone_after

    df = facts.df
    run_ids = sorted(facts.runs)
    # which RUNs of each stage undo / need a file, computed once per file (not once per write: a
    # file of 4,000 RUNs writing the same file asked 16 million questions; nor once per secret: a
    # file of 1,000 secrets each written by its own RUN asked a million)
    memo = facts.memo.setdefault("layer_files", {})
    undo_by: dict[tuple, dict[int, list[int]]] = memo.setdefault("undo_by", {})
    needs_by: dict[frozenset, dict[int, list[int]]] = memo.setdefault("needs_by", {})
    odd_by: dict[frozenset, dict[int, list[int]]] = memo.setdefault("odd_by", {})  # readers that are exec-form or heredoc RUNs
    anew_by: dict[str, dict[int, list[int]]] | None = memo.get("anew_by")  # path -> {stage: RUNs whose first statement writes it}

    def per_stage(pred, among: list[int] | None = None) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for j in run_ids if among is None else among:
            if pred(j):
                out.setdefault(facts.stage_of[j], []).append(j)
        return out

    removers: dict[str, list[int]] | None = memo.get("removers")  # file name -> the RUNs with an rm naming it

    def may_undo(path: str, cleanup: str | None, kind: str) -> list[int] | None:
        """The RUNs that can undo a write (a superset; None: any can). undone_after matches only
        an rm/shred/unlink naming the file, or the write's own clean-up text (an rm too, unless a
        config write's), so an index of the names each RUN removes is enough for those."""
        nonlocal removers
        if kind == "config" or (cleanup and not cleanup.startswith("rm ")):
            return None
        if removers is None:
            removers = {}
            for j in run_ids:
                if facts.runs[j].shell_ok:
                    for m in _RM_ARGS.finditer(facts.runs[j].script):
                        for a in m.group(1).split():
                            name = a.strip("'\"").rstrip("/").rsplit("/", 1)[-1]
                            # every prefix: a write's own clean-up text is matched as a substring
                            # (`rm -f /root/.npmrc)` in a subshell, `…/.npmrc.bak`)
                            for k in range(1, len(name) + 1):
                                lst = removers.setdefault(name[:k], [])
                                if not lst or lst[-1] != j:
                                    lst.append(j)
            memo["removers"] = removers
        return removers.get(path.rstrip("/").rsplit("/", 1)[-1], [])

    def after(lst: list[int], idx: int, stop: int | None = None) -> list[int]:
        lo = bisect.bisect_right(lst, idx)
        hi = len(lst) if stop is None else bisect.bisect_right(lst, stop)
        return lst[lo:hi]

    def earlier_copy(path: str, idx: int) -> bool:
        return _earlier_copy(facts, path.rstrip("/").rsplit("/", 1)[-1], idx)

    # only RUNs with a write that names a carrier (or writes every variable): an index per file
    if "writers" not in memo:
        by_ref: dict[str, list[int]] = {}
        every: list[int] = []
        named_by: dict[int, set[str]] = {}  # RUN -> the names its writes write
        for j in run_ids:
            if facts.runs[j].shell_ok:
                refs = named_by[j] = {r for w in file_writes(facts.runs[j].script) for r in w.refs}
                for r in refs:
                    by_ref.setdefault(r, []).append(j)
                if "*" in refs:
                    every.append(j)
        memo["writers"] = (by_ref, every, named_by)
    by_ref, every, named_by = memo["writers"]
    writers = set(every)
    for n in carriers.names:
        writers.update(by_ref.get(n, ()))
    for idx in sorted(writers):
        run = facts.runs[idx]
        if not run.shell_ok:
            continue
        vis = facts.visible_at(idx)
        named = named_by[idx]  # (only these carriers can be written)
        live = set(carriers.live(vis, None if "*" in named else named))
        if not live:
            continue
        ins = df.instructions[idx]
        for w in file_writes(run.script):
            used = set(live) if "*" in w.refs else w.refs & live
            if not used or undone_after(run.script, w):
                continue
            stage = facts.stage_of[idx]
            key = (w.path, w.cleanup, w.kind)
            if key not in undo_by:
                probe = FileWrite(0, 0, w.path, frozenset(), w.cleanup, w.kind)
                undo_by[key] = per_stage(
                    lambda j, probe=probe: facts.runs[j].shell_ok and undone_after(facts.runs[j].script, probe), may_undo(*key)
                )
            removal = after(undo_by[key].get(stage, []), idx)
            stop = removal[0] if removal else None
            readers = _readers(w.path)  # needs_file depends on the path only through these
            if readers not in needs_by:
                needs_by[readers] = per_stage(lambda j, path=w.path: needs_file(facts.runs[j], path))
            # a later RUN that writes the file anew before anything else reads this one no more,
            # nor does any after it (repeating every earlier write in each was quadratic)
            if anew_by is None:  # once per file
                anew_by = {}
                memo["anew_by"] = anew_by
                for j in run_ids:
                    for path in _writes_first(facts.runs[j]):
                        anew_by.setdefault(path, {}).setdefault(facts.stage_of[j], []).append(j)
            anew = after(anew_by.get(w.path, {}).get(stage, []), idx)
            limit = stop if not anew or (stop is not None and stop < anew[0]) else anew[0] - 1
            consumers = after(needs_by[readers].get(stage, []), idx, limit)
            msg = f"RUN writes secret {plan.name} into {w.path}, which stays in the image layer"
            if removal:
                msg += f"; the removal on line {df.instructions[removal[0]].start_line} is ineffective: the earlier layer keeps the file"
            findings.append(Finding("DF007", plan.name, msg, ins.command.kw_start, ins.logical_end, plan.fix))
            reasons = []
            base = w.path.rstrip("/").rsplit("/", 1)[-1]
            if w.kind in ("inplace", "derived") or base not in _TOOL_CREDENTIAL_FILES:
                reasons.append(
                    f"the secret{' (hashed)' if w.kind == 'derived' else ''} is written into {w.path}, which the image keeps and "
                    "the application may read at run time: a secret mount cannot fix that, and removing the file would change "
                    "the image; render it at container start from a runtime secret instead"
                )
            elif w.cleanup is None:
                reasons.append(f"dfix knows no command that undoes this write to {w.path}")
            if w.kind == "append":
                reasons.append(f"{w.path} is appended to and may have existed before: removing it could change the build")
            if ins.heredocs:
                reasons.append("the write is inside a heredoc RUN")
            if not w.path.startswith(("/", "~", "$HOME")) and consumers:
                between = range(idx + 1, max(consumers))
                if any(df.instructions[k].cmd == "workdir" for k in between):
                    reasons.append(f"{w.path} is relative and a WORKDIR change sits between the write and its use")
            if readers not in odd_by:
                odd_by[readers] = per_stage(
                    lambda j, path=w.path: (
                        (facts.runs[j].exec_argv is not None or bool(df.instructions[j].heredocs)) and needs_file(facts.runs[j], path)
                    )
                )
            odd = odd_by[readers].get(stage, [])
            lo, hi = bisect.bisect_right(odd, idx), (len(odd) if stop is None else bisect.bisect_right(odd, stop))
            if hi > lo:  # the first names the problem: one reason per write, not one per pair
                more = f" (and {hi - lo - 1:,} later ones)" if hi - lo > 1 else ""
                reasons.append(f"line {df.instructions[odd[lo]].start_line} is an exec-form or heredoc RUN{more}")
            if reasons:
                for r in reasons:
                    plan.fix.lower(Applicability.DISPLAY_ONLY, r)
                continue
            # a later RUN that removes the file would now fail on a missing file unless it uses -f
            drop_runs: list[int] = []
            for j in removal:
                script = facts.runs[j].script
                only = re.fullmatch(r"\s*rm\s+(?:-[a-zA-Z]+\s+)*" + re.escape(w.path) + r"\s*;?\s*", script)
                if only and j not in consumers:
                    drop_runs.append(j)
                elif not re.search(r"\brm\s+(?:-[a-zA-Z]*f[a-zA-Z]*\s+)", script) and j not in consumers:
                    plan.fix.lower(
                        Applicability.DISPLAY_ONLY,
                        f"line {df.instructions[j].start_line} removes {w.path} without -f; after the fix the file no longer exists",
                    )
            if plan.fix.applicability == Applicability.DISPLAY_ONLY:
                continue
            whole = run.script.strip().rstrip(";").strip() == w.text.strip()
            if (
                whole
                and (
                    (not consumers and (earlier_copy(w.path, idx) or _later_reader(facts, idx, base)))
                    or any(f != base and earlier_copy(f, idx) and needs_file(run, f) for f in FILE_TOOLS)
                )
                and append_blocker(facts, idx) is None
            ):
                # The RUN stays, writing and removing the file, where dropping it would
                # - bring back the file an earlier step left there (another credential, a copied
                #   config): the image would keep that one instead of none;
                # - leave a later RUN that may read the file (to the rewrite check, which cannot
                #   tell what a program reads) without it, though no RUN needs it to the planner;
                # - remove a RUN that may read a credential file an earlier step writes: another
                #   secret's fold of that file repeats its write in this RUN.
                # Each is a RUN a second run keeps too (it is no longer the write alone), so one run
                # reaches the text a second would (and never leaves a second run a fix this one
                # refused only because the RUN was there)
                whole = False
            plan.folds.append(Fold(idx, w, consumers, whole, drop_runs))
            plan.removed_files.append(w.path)
            plan.notes.append(
                f"runtime: {w.path} (written with {plan.name} on line {ins.start_line}) is no longer in the image; "
                "it held the credential, and each RUN that needs it now writes and removes it"
            )
            for j in consumers:
                vis_j = facts.visible_at(j)
                for n in sorted(used):
                    if n in vis_j:
                        carriers.need(plan, j, n, f"needs {w.path}, folded from line {ins.start_line}", vis_j)
            if whole:
                plan.mounts.pop(idx, None)
                plan.exports.pop(idx, None)

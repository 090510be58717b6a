"""Secrets written into files that outlive their RUN (DF007): fold the write into the RUNs that need the file."""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING

from refactor.analysis.facts import Facts
from refactor.analysis.shell import analyze_shell
from refactor.fixes.edit import Applicability
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


def needs_file(run, path: str) -> bool:
    if not run.shell_ok:
        argv0 = run.exec_argv[0].rsplit("/", 1)[-1] if run.exec_argv else ""
        return argv0 in FILE_TOOLS.get(path.rstrip("/").rsplit("/", 1)[-1], set())
    info = analyze_shell(run.script)
    readers = FILE_TOOLS.get(path.rstrip("/").rsplit("/", 1)[-1], set())
    return bool(set(info.commands) & readers) or info.opaque


def plan_layer_files(facts: Facts, plan: SecretPlan, carriers: Carriers, findings: list[Finding]) -> None:
    from refactor.analysis.shell import FileWrite, file_writes, undone_after

    df = facts.df
    run_ids = sorted(facts.runs)
    # which RUNs of each stage undo / need a file, computed once per file (not once per write: a
    # file of 4,000 RUNs writing the same file asked 16 million questions)
    undo_by: dict[tuple, dict[int, list[int]]] = {}
    needs_by: dict[str, dict[int, list[int]]] = {}

    def per_stage(pred) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for j in run_ids:
            if pred(j):
                out.setdefault(facts.stage_of[j], []).append(j)
        return out

    def after(lst: list[int], idx: int, stop: int | None = None) -> list[int]:
        lo = bisect.bisect_right(lst, idx)
        hi = len(lst) if stop is None else bisect.bisect_right(lst, stop)
        return lst[lo:hi]

    for idx in run_ids:
        run = facts.runs[idx]
        if not run.shell_ok:
            continue
        vis = facts.visible_at(idx)
        live = set(carriers.live(vis))
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
                undo_by[key] = per_stage(lambda j, probe=probe: facts.runs[j].shell_ok and undone_after(facts.runs[j].script, probe))
            removal = after(undo_by[key].get(stage, []), idx)
            stop = removal[0] if removal else None
            if w.path not in needs_by:
                needs_by[w.path] = per_stage(lambda j, path=w.path: needs_file(facts.runs[j], path))
            consumers = after(needs_by[w.path].get(stage, []), idx, stop)
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
            for j in consumers:
                if facts.runs[j].exec_argv is not None or df.instructions[j].heredocs:
                    reasons.append(f"line {df.instructions[j].start_line} is an exec-form or heredoc RUN")
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

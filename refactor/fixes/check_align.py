"""Aligning the RUNs of the original with those of the rewrite, and judging dropped RUNs: a RUN may
disappear only when it merely wrote credential files that later RUNs receive another way (folds,
``~/.ssh`` keys replaced by ``--mount=type=ssh``).
"""

from __future__ import annotations

import posixpath

from refactor.fixes._check_shell import (
    Script,
    cmd_writes,
    unwrap,
)
from refactor.fixes.check_effects import _redirect_paths, _run_effects, _words
from refactor.fixes.check_leaks import reassigned
from refactor.fixes.check_model import _Model
from refactor.fixes.check_values import _KEY_STRIP, Violation, _norm, _Run, describe

# --------------------------------------------------------------------------------------------
# Alignment


def _align(orig: list[_Run], rew: list[_Run], foldable) -> dict[int, int]:
    """Original RUN index -> rewrite RUN index. The rewrite keeps RUNs in order, may drop some
    (folded credential writes) and insert some (multistage); a rewrite RUN contains the text of
    its original (mounts and exports are flags and prefixes, clean-ups are suffixes)."""

    def match(i: int, j: int) -> bool:
        o, r = orig[i], rew[j]
        return o.onbuild == r.onbuild and (o.key in r.key if o.key else not r.key)

    pairs: dict[int, int] = {}
    i = j = 0
    n, m = len(orig), len(rew)
    while i < n and j < m:
        if match(i, j):
            k = i
            while k + 1 < n and match(k + 1, j) and foldable(k):  # folded writes come before their consumer
                k += 1
            pairs[k] = j
            i, j = k + 1, j + 1
            continue
        for d in range(1, 9):
            if j + d < m and match(i, j + d):
                j += d
                break
            if i + d < n and match(i + d, j):
                i += d
                break
        else:
            pairs[i] = j  # modified in place
            i, j = i + 1, j + 1
    return pairs


# --------------------------------------------------------------------------------------------
# Dropped RUNs (folds)

_FOLD_OK = {"rm", "mkdir", "chmod", "chown", "true", ":", "set", "cd", "touch", "umask"}
_CONFIG_TOOLS = {"npm", "yarn", "pnpm", "git", "pip", "pip3", "poetry", "docker", "aws", "huggingface-cli"}


def _stmt_key(cmd) -> str:
    start = (cmd.pipe_prev.node if cmd.pipe_prev is not None else cmd.node).start_byte
    end = max([cmd.node.end_byte] + [r.end_byte for r in cmd.redirects if r.start_byte >= cmd.node.start_byte])
    return _KEY_STRIP.sub("", cmd.src[start:end].decode("utf-8", "replace"))


def _fold_writes(run: _Run) -> list | None:
    """The file-writing commands of a RUN that does nothing but write (or remove) files, else None."""
    if run.script.error or run.script.dynamic:
        return None
    writes = []
    feeders = {id(c.pipe_prev) for c in run.script.cmds if c.pipe_prev is not None}
    for cmd in run.script.cmds:
        if cmd.kind in ("assign", "declare", "test") or cmd.in_subst:
            continue
        argv = unwrap(_words(run, cmd))
        base = (argv[0] or "").rsplit("/", 1)[-1] if argv else ""
        if (
            (base in ("echo", "printf", "cat") and _redirect_paths(cmd))
            or base == "tee"
            or (base in _CONFIG_TOOLS and cmd_writes(argv, run.home, run.cwd))
        ):
            writes.append(cmd)
        elif base not in _FOLD_OK and not (base in ("echo", "printf", "cat") and id(cmd) in feeders):
            return None
    return writes


def _write_paths(run: _Run, cmd) -> set:
    one = _Run(run.line, run.stage, run.onbuild, run.env, Script(cmds=[cmd]), "", {}, run.cwd, run.home)
    return {p for op, p in _run_effects(one) if op == "add"}


def _derives(m: _Model, s: int | None, ancestor: int) -> bool:
    while s is not None:
        if s == ancestor:
            return True
        s = m.stages[s].parent
    return False


def removes_only(run: _Run) -> bool:
    """The RUN runs nothing but ``rm``: naming a file, it does not read it."""
    return all((unwrap(_words(run, x)) or [""])[0] in ("rm", None) for x in run.script.cmds if x.kind == "cmd")


def _stmt_refs(cmd) -> set:
    names = set()
    stack = [cmd.node] + list(cmd.redirects) + ([cmd.pipe_prev.node] if cmd.pipe_prev is not None else [])
    while stack:
        n = stack.pop()
        if n.type == "variable_name" and n.parent is not None and n.parent.type in ("simple_expansion", "expansion"):
            names.add(n.text.decode("utf-8", "replace"))
        stack.extend(n.children)
    return names


_SSH_USERS = {
    "git",
    "ssh",
    "scp",
    "sftp",
    "rsync",
    "go",
    "cargo",
    "npm",
    "yarn",
    "pnpm",
    "pip",
    "pip3",
    "bundle",
    "composer",
    "gem",
    "poetry",
    "uv",
    "pipenv",
    "git-lfs",
}


def _ssh_exempt(o: _Model, r: _Model, pairs: dict, i: int, info: list) -> tuple[set, frozenset]:
    """Key writes (``echo "$KEY" > ~/.ssh/id_x``) the rewrite replaced by ``--mount=type=ssh``:
    (their commands, the variables read only there). Accepted only when every RUN that may use
    the key before it is removed runs decidable programs and, where one of them speaks ssh
    (git, ssh, go, npm, pip, …), carries the ssh mount in the rewrite."""
    run = o.runs[i]
    cmds: set = set()
    names: set = set()
    j0 = pairs.get(i)
    for cmd in run.script.cmds:
        if cmd.kind != "cmd" or (unwrap([cmd.name]) or [""])[0] not in ("echo", "printf", "cat"):
            continue
        paths = {p for p in _write_paths(run, cmd) if "/.ssh/" in p and posixpath.basename(p) not in ("known_hosts", "config")}
        if not paths or (j0 is not None and _stmt_key(cmd) in r.runs[j0].key):
            continue
        ok = True
        for k in range(i, len(o.runs)):
            c = o.runs[k]
            if c.onbuild != run.onbuild or not _derives(o, c.stage, run.stage):
                continue
            if info[k][1]:  # a script could read the key file itself
                ok = False
                break
            speaks = any((unwrap(_words(c, x)) or [""])[0] in _SSH_USERS for x in c.script.cmds if x.kind == "cmd")
            if speaks and (pairs.get(k) is None or not r.runs[pairs[k]].ssh):
                ok = False
                break
            if any(op != "add" and p in paths for op, p in _run_effects(c)):
                break
        if ok:
            cmds.add(id(cmd))
            names |= _stmt_refs(cmd)
    if not names:
        return cmds, frozenset()
    elsewhere = set().union(*(_stmt_refs(x) for x in run.script.cmds if id(x) not in cmds and not x.in_subst))
    return cmds, frozenset(names - elsewhere)


def _dropped(o: _Model, r: _Model, pairs: dict, i: int, info: list, migrated: frozenset) -> list[Violation]:
    run = o.runs[i]
    writes = _fold_writes(run)
    if writes is None:
        names = ", ".join(sorted(info[i][0])) or "no variable"
        return [Violation("value", run.line, f"line {run.line}: RUN (reads {names}) has no counterpart in the rewrite")]
    out: list[Violation] = []
    exempt = _ssh_exempt(o, r, pairs, i, info)[0]
    only_rm: dict[int, bool] = o.__dict__.setdefault("_only_rm", {})  # per RUN, shared by every dropped RUN
    local = reassigned(run.script)  # what the RUN sets itself
    for cmd in writes:
        if id(cmd) in exempt:
            continue
        paths = _write_paths(run, cmd)
        key = _stmt_key(cmd)
        found = len(out)
        for k in range(i + 1, len(o.runs)):
            if len(out) > found:  # one violation per dropped write is enough to refuse the rewrite
                break
            c = o.runs[k]
            if c.onbuild != run.onbuild or not paths or not _derives(o, c.stage, run.stage):
                continue
            effects = _run_effects(c)
            mentions = any(posixpath.basename(p) in c.key for p in paths)
            if mentions and k not in only_rm:
                only_rm[k] = removes_only(c)
            if info[k][1] or info[k][2] or (mentions and not only_rm[k]):
                j = pairs.get(k)
                if j is None or key not in r.runs[j].key:
                    shown = ", ".join(sorted(paths))
                    out.append(
                        Violation(
                            "value",
                            run.line,
                            f"line {run.line}: the RUN writing {shown} is gone from the rewrite, "
                            f"but the RUN at line {c.line} that may read it does not repeat the write",
                        )
                    )
                    continue
                # the repeated write must see the same values: those of ENV/ARG (unset ones too: an
                # ENV between the two sets it) and none its own RUN set (the fold moves the write alone)
                for v in sorted(_stmt_refs(cmd)):
                    ov, rv = _norm(run.env.get(v), migrated), _norm(r.runs[j].env.get(v), frozenset())
                    if v in local:
                        out.append(
                            Violation(
                                "value",
                                run.line,
                                f"line {run.line}: the write moved into the RUN at line {r.runs[j].line} reads {v}, set in its own RUN",
                            )
                        )
                    elif ov != rv:
                        out.append(
                            Violation(
                                "value",
                                run.line,
                                f"line {run.line}: the write moved into the RUN at line "
                                f"{r.runs[j].line} reads {v} ({describe(ov)}) but there {v} is {describe(rv)}",
                            )
                        )
            if any(op != "add" and p in paths for op, p in effects):
                break
    return out

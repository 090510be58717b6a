"""git clone keeps credentials in the clone's .git/config: scrub them in the same RUN."""

from __future__ import annotations

import posixpath
import re
import shlex

from refactor.analysis.facts import Facts
from refactor.analysis.shell import analyze_shell
from refactor.analysis.workdir import workdir_at
from refactor.codecache import regex
from refactor.fixes.edit import Applicability, Edit
from refactor.fixes.edits import append_blocker
from refactor.fixes.plan import SecretPlan

# --------------------------------------------------------------------------------------------
# git clone keeps credentials in the clone's .git/config

GIT_CLONE_VALUE_OPTS = {
    "-b",
    "--branch",
    "--depth",
    "-o",
    "--origin",
    "-c",
    "--config",
    "--filter",
    "--reference",
    "-j",
    "--jobs",
    "--template",
    "--separate-git-dir",
    "-u",
    "--upload-pack",
    "--shallow-since",
    "--shallow-exclude",
    "--reference-if-able",
    "--server-option",
    "--bundle-uri",
}
_VAR_NAME = regex(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


_URL_USERINFO = regex(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/@]*)@(.*)$")


def _clone_configs(rest: list[str]) -> list[str]:
    """The ``key=value`` settings of ``git clone -c``/``--config`` (they persist in the clone)."""
    out = []
    for k, a in enumerate(rest):
        if a in ("-c", "--config") and k + 1 < len(rest):
            out.append(rest[k + 1])
        elif a.startswith("--config="):
            out.append(a.split("=", 1)[1])
    return out


def clone_carries(rest: list[str], url: str, carries) -> bool:
    """Does this clone put something ``carries`` (a text predicate) into the clone's config?"""
    m = _URL_USERINFO.match(url)
    return bool(m and carries(m.group(2))) or any(carries(kv) for kv in _clone_configs(rest))


def _remote_name(rest: list[str]) -> str | None:
    """The name ``git clone`` gives the remote: ``-o``/``--origin``, else ``-c
    clone.defaultRemoteName=…``, else ``origin``; None when it is written with a variable."""
    given = None
    for k, a in enumerate(rest):
        if a in ("-o", "--origin") and k + 1 < len(rest):
            given = rest[k + 1]
        elif a.startswith("--origin="):
            given = a.partition("=")[2]
        elif a.startswith("-o") and len(a) > 2:
            given = a[2:]
    configured = [kv.partition("=")[2] for kv in _clone_configs(rest) if kv.lower().startswith("clone.defaultremotename=")]
    name = given or (configured[-1] if configured else "origin")
    return None if "$" in name or "`" in name else name


def clone_cleanup_steps(rest: list[str], url: str, dest: str, carries) -> tuple[list[str], str | None]:
    """git commands that take what ``carries`` flags out of DEST/.git/config: the remote URL
    without its user-info, and the clone's -c settings unset. (steps, problem)."""
    q = shlex.quote
    steps: list[str] = []
    m = _URL_USERINFO.match(url)
    if m and carries(m.group(2)):
        clean = m.group(1) + m.group(3)
        if "$" in clean:
            return [], "a clone stores the credential in its .git/config, and its clean URL uses variables"
        remote = _remote_name(rest)
        if remote is None:
            return [], "a clone stores the credential in its .git/config, under a remote whose name dfix cannot read"
        steps.append(f"git -C {q(dest)} remote set-url {q(remote)} {q(clean)}")
    steps += [f"git -C {q(dest)} config --unset-all {q(kv.split('=', 1)[0])}" for kv in _clone_configs(rest) if carries(kv)]
    return steps, None


def clone_scrubs(script: str, workdir: str | None, names: set[str]) -> tuple[list[str], str | None]:
    """Commands that remove the credentials ``git clone`` stores in the new repository's
    ``.git/config``: the URL exactly as given (user-info included) and the clone's ``-c``
    settings. Only clones using one of ``names`` count. Returns (commands, problem): a problem
    when such a clone's directory cannot be located."""
    cmds: list[str] = []
    cd_seen = False
    for argv in analyze_shell(script).argv:
        if not argv:
            continue
        tool = posixpath.basename(argv[0])
        if tool == "cd":
            cd_seen = True
            continue
        if tool in ("pip", "pip3", "python", "python3", "uv"):
            # an editable VCS install clones into src/<name> and keeps the URL in its .git/config
            words = list(argv[1:])
            for k, a in enumerate(words):
                url = (
                    words[k + 1]
                    if a in ("-e", "--editable") and k + 1 < len(words)
                    else a.split("=", 1)[1]
                    if a.startswith("--editable=")
                    else None
                )
                um = re.match(r"^git\+[A-Za-z][A-Za-z0-9+.-]*://([^/@]*)@", url or "")
                if um and names & set(_VAR_NAME.findall(um.group(1))):
                    return cmds, "an editable install (pip -e git+URL) clones with the credential and keeps it in the clone's .git/config"
            continue
        if tool != "git":
            continue
        args, i, cwd = list(argv[1:]), 0, None
        while i < len(args) and args[i].startswith("-"):
            if args[i] in ("-c", "-C") and i + 1 < len(args):
                if args[i] == "-C":
                    cwd = args[i + 1]
                i += 2
                continue
            i += 1
        if i >= len(args) or args[i] != "clone":
            continue
        rest = args[i + 1 :]
        pos = [a for k, a in enumerate(rest) if not a.startswith("-") and not (k and rest[k - 1] in GIT_CLONE_VALUE_OPTS)]
        if not pos:
            continue
        url = pos[0]
        carries = lambda t: bool(names & set(_VAR_NAME.findall(t)))  # noqa: E731
        if not clone_carries(rest, url, carries):
            continue
        dest = pos[1] if len(pos) > 1 else url.rstrip("/").rsplit("/", 1)[-1].split(":")[-1].removesuffix(".git")
        if not dest.startswith("/"):
            base = cwd if cwd and cwd.startswith("/") else posixpath.join(workdir or "", cwd) if cwd else workdir
            if cd_seen or workdir is None or base is None:
                return (
                    cmds,
                    "a clone stores the credential in its .git/config, and its directory cannot be located (cd or a variable WORKDIR)",
                )
            dest = posixpath.join(base, dest)
        dest = posixpath.normpath(dest)
        if "$" in dest:
            return cmds, "a clone stores the credential in its .git/config, and its directory uses variables"
        steps, problem = clone_cleanup_steps(rest, url, dest, carries)
        if problem:
            return cmds, problem
        # the guard: a RUN that clones, builds and deletes the clone has nothing left to clean
        q = shlex.quote
        body = steps[0] if len(steps) == 1 else "{ " + " && ".join(steps) + "; }"
        cmds.append(f"{{ [ ! -d {q(dest + '/.git')} ] || {body}; }}")
    return cmds, None


def scrub_clones(facts: Facts, plan: SecretPlan, names: set[str]) -> None:
    """Append the clone clean-up to every mounted RUN whose ``git clone`` uses the secret (or an
    alias or composite of it, ``names``): the mount ends with the RUN, but the clone's
    .git/config stays in the layer."""
    for idx in sorted(plan.mounts):
        run = facts.runs.get(idx)
        ins = facts.df.instructions[idx]
        if run is None or not run.shell_ok:
            continue
        if "clone" not in run.script and "git+" not in run.script:
            continue
        cmds, problem = clone_scrubs(run.script, workdir_at(facts, idx), names)
        if problem or (cmds and ins.heredocs):
            plan.fix.lower(Applicability.UNSAFE, f"line {ins.start_line}: {problem or 'a heredoc RUN clones with the credential'}")
            continue
        if cmds:
            blocker = append_blocker(facts, idx)
            if blocker:
                plan.fix.lower(Applicability.DISPLAY_ONLY, f"line {ins.start_line}: {blocker} (the clone clean-up)")
                continue
            end = ins.logical_end
            plan.extra_edits.append(Edit(end, end, " && " + " && ".join(cmds)))
            plan.notes.append(
                f"{plan.name}: line {ins.start_line} clones with it, and git keeps it in the clone's .git/config;"
                " the RUN now removes it from there before its layer is committed"
            )

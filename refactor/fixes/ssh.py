"""SSH private keys passed as build args: RUN --mount=type=ssh."""

from __future__ import annotations

from typing import TYPE_CHECKING

from refactor.analysis.facts import Facts
from refactor.analysis.shell import analyze_shell
from refactor.fixes.edit import Edit
from refactor.fixes.plan import SecretPlan

if TYPE_CHECKING:
    from refactor.fixes.mounts import Carriers


# --------------------------------------------------------------------------------------------
# SSH private keys passed as build args: RUN --mount=type=ssh

SSH_CLIENTS = {"git", "ssh", "scp", "sftp", "rsync", "go", "npm", "yarn", "pnpm", "pip", "pip3", "cargo", "bundle", "composer", "poetry"}


def is_ssh_key(name: str, value: str | None) -> bool:
    up = name.upper()
    if value and "PRIVATE KEY-----" in value:
        return True
    return "SSH" in up and any(t in up for t in ("KEY", "PRIVATE", "ID_RSA", "ID_ED25519", "ID_ECDSA"))


def plan_ssh(facts: Facts, plan: SecretPlan, carriers: Carriers) -> bool:
    """Replace writes of the key with an ssh mount; False when the RUNs do anything else with it."""
    from refactor.analysis.shell import statements

    df = facts.df
    edits_before = len(plan.extra_edits)
    key_files: set[str] = set()
    drops: dict[int, tuple] = {}
    live_runs: list[int] = []
    for idx, run in sorted(facts.runs.items()):
        vis = facts.visible_at(idx)
        live = set(carriers.live(vis))
        if not live:
            continue
        if not run.shell_ok or df.instructions[idx].heredocs or run.exec_argv is not None:
            if not run.shell_ok or live & analyze_shell(run.script).refs:
                return False
            continue
        sts, simple = statements(run.script)
        if not any(st.refs & live for st in sts):
            continue
        if not simple:
            return False
        drop = []
        for i, st in enumerate(sts):
            if st.refs & live:
                if st.writes and all("/.ssh/" in w or w.startswith("~/.ssh") for w in st.writes):
                    key_files.update(st.writes)
                    drop.append(i)
                elif st.argv[:1] == ("ssh-add",) or "ssh-add" in st.text:
                    drop.append(i)
                else:
                    return False
        drops[idx] = (sts, drop)
        live_runs.append(idx)
    if not live_runs:
        return False
    first = live_runs[0]
    stage_ids = {facts.stage_of[i] for i in live_runs}
    for idx, run in sorted(facts.runs.items()):
        if idx < first or facts.stage_of[idx] not in stage_ids or not run.shell_ok or df.instructions[idx].heredocs:
            continue
        sts, drop = drops.get(idx) or (statements(run.script)[0], [])
        drop = list(drop)
        for i, st in enumerate(sts):
            if i in drop or not st.argv:
                continue
            if (st.argv[0] in ("chmod", "chown", "rm", "shred") and any(a in key_files for a in st.argv[1:])) or (
                st.argv[0] in ("eval", "ssh-agent") and "ssh-agent" in st.text
            ):
                drop.append(i)
        if drop:
            drops[idx] = (sts, sorted(set(drop)))
    for idx, (sts, drop) in drops.items():
        ins = df.instructions[idx]
        cmd = ins.effective
        if len(drop) == len(sts):
            plan.extra_edits.append(Edit(ins.start, ins.end, ""))
            continue
        base = cmd.args_lstart
        k = 0
        while k < len(sts):
            if k not in drop:
                k += 1
                continue
            j = k
            while j + 1 < len(sts) and (j + 1) in drop:
                j += 1
            if j + 1 < len(sts):
                lo = ins.logical.to_source(base + sts[k].start)
                hi = ins.logical.to_source(base + sts[j + 1].start)
            else:
                lo = ins.logical.to_source_end(base + sts[k - 1].end)
                hi = ins.logical.to_source_end(base + sts[j].end)
            plan.extra_edits.append(Edit(lo, hi, ""))
            k = j + 1
        keep = [st for i, st in enumerate(sts) if i not in drop]
        if any(st.argv and st.argv[0] in SSH_CLIENTS for st in keep) or any(
            st.argv and st.argv[0] not in SSH_CLIENTS and analyze_shell(st.text).opaque for st in keep
        ):
            plan.ssh_mounts.add(idx)
    for idx, run in sorted(facts.runs.items()):
        if idx > first and facts.stage_of[idx] in stage_ids and idx not in drops and run.shell_ok:
            info = analyze_shell(run.script)
            if set(info.commands) & SSH_CLIENTS:
                plan.ssh_mounts.add(idx)
    if not plan.ssh_mounts:
        # no build step uses the key: it is written for the container (an image with SSH access),
        # and dropping the write would change the image; the layer-file rules explain that
        del plan.extra_edits[edits_before:]
        return False
    plan.mounts.clear()
    plan.exports.clear()
    return True

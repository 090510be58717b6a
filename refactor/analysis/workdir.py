"""Stage queries about the image filesystem: the WORKDIR and USER in effect at an instruction."""

from __future__ import annotations

import os

from refactor.analysis.facts import Facts


def workdir_at(facts: Facts, idx: int) -> str | None:
    """The absolute WORKDIR in effect at instruction ``idx`` (None if it uses variables)."""
    stage = facts.stage_of[idx]
    wd = "/"
    for s_ in facts.stage_chain(stage):
        st = facts.stages[s_]
        stop = idx if s_ == stage else st.end
        for j in range(st.start, stop):
            ins = facts.df.instructions[j]
            if ins.cmd == "workdir":
                arg = ins.args.strip().strip("\"'")
                if "$" in arg:
                    return None
                wd = os.path.normpath(os.path.join(wd, arg))
    return wd


def user_set(facts: Facts, idx: int) -> bool:
    stage = facts.stage_of[idx]
    for s_ in facts.stage_chain(stage):
        st = facts.stages[s_]
        for j in range(st.start, st.end):
            ins = facts.df.instructions[j]
            if ins.cmd == "user" and ins.args.strip() not in ("root", "0", "0:0", "root:root"):
                return True
    return False

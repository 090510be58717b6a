"""The image sites of a Dockerfile for digest pinning (:mod:`refactor.supply.pin`): every ``FROM``
and ``COPY --from`` image word (``_Site``: as written, expanded, where a digest goes, its variables
and ``--platform``), the file's stage names and whether a site names a stage.
"""

from __future__ import annotations

from refactor.records import dataclass
from refactor.supply.pin_args import _expand, _GlobalArg
from refactor.syntax.dockerfile import Dockerfile, Instruction
from refactor.syntax.words import find_refs, parse_words, unquote


@dataclass
class _Site:
    instr: int
    ins: Instruction
    kind: str  # "from" | "copy"
    raw: str  # the raw image word as written
    expanded: str | None
    insert_at: int  # source offset just after the raw word
    var_offsets: tuple[int, ...] = ()  # source offsets of the variable names referenced
    platform: str | None = None  # concrete platform, or None
    platform_dynamic: bool = False
    problem: str | None = None  # unparsable


def _stage_names(df: Dockerfile, gargs: dict[str, _GlobalArg] | None = None) -> dict[str, int]:
    """Stage name (lower-case) -> index of the FROM that names it. ``AS ${NAME}`` is expanded
    through the global ARG defaults, as BuildKit expands stage names."""
    env = {name: ga.value for name, ga in (gargs or {}).items()}
    names: dict[str, int] = {}
    for idx, ins in enumerate(df.instructions):
        if ins.cmd != "from":
            continue
        words = parse_words(ins.command.args, df.escape)
        if len(words) == 3 and words[1].raw.lower() == "as":
            raw = words[2].raw
            name = _expand(raw, env, df.escape) if "$" in raw else unquote(raw, df.escape)
            if name:
                names.setdefault(name.lower(), idx)
    return names


def _is_stage(site: _Site, stages: dict[str, int]) -> bool:
    """The site names a build stage: for FROM an earlier one (a FROM cannot name its own stage:
    ``FROM gcc AS gcc`` is the gcc image), for COPY --from any stage of the file."""
    image = (site.expanded or "").lower()
    if image not in stages:
        return False
    return site.kind == "copy" or stages[image] < site.instr


def _var_name_offsets(ins: Instruction, lstart: int, raw: str, escape: str) -> tuple[int, ...]:
    offs = []
    for r in find_refs(raw, escape):
        k = 2 if raw.startswith("${", r.start) else 1
        offs.append(ins.logical.to_source(lstart + r.start + k))
    return tuple(offs)


def _sites(df: Dockerfile, gargs: dict[str, _GlobalArg]) -> list[_Site]:
    env = {name: ga.value for name, ga in gargs.items()}
    sites: list[_Site] = []
    for idx, ins in enumerate(df.instructions):
        cmd = ins.command
        if ins.cmd == "from":
            words = parse_words(cmd.args, df.escape)
            problem = None
            if not (len(words) == 1 or (len(words) == 3 and words[1].raw.lower() == "as")):
                problem = "FROM is not `FROM [--platform=…] image [AS name]`"
                if not words:
                    continue
            w = words[0]
            lstart = cmd.args_lstart + w.start
            site = _Site(
                idx,
                ins,
                "from",
                w.raw,
                _expand(w.raw, env, df.escape),
                ins.logical.to_source_end(cmd.args_lstart + w.end),
                _var_name_offsets(ins, lstart, w.raw, df.escape),
                problem=problem,
            )
            for fl in cmd.flags:
                if fl.name == "platform" and fl.value is not None:
                    p = _expand(fl.value, env, df.escape)
                    if p is None or not p:
                        site.platform_dynamic = True
                    else:
                        site.platform = p
            sites.append(site)
        elif ins.cmd == "copy" and ins.sub is None:
            for fl in cmd.flags:
                if fl.name != "from" or not fl.value:
                    continue
                # the raw word is "--from=<value>"; the value's variable names are located in it
                raw_word = df.text[fl.start : fl.end]
                eq = raw_word.find("=")
                raw_value = raw_word[eq + 1 :] if eq >= 0 else fl.value
                offs = []
                for r in find_refs(raw_value, df.escape):
                    k = 2 if raw_value.startswith("${", r.start) else 1
                    offs.append(fl.start + eq + 1 + r.start + k)
                expanded = None if find_refs(fl.value, df.escape) else fl.value
                sites.append(_Site(idx, ins, "copy", raw_value, expanded, fl.end, tuple(offs)))
    return sites

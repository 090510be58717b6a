"""Global ARGs for digest pinning (:mod:`refactor.supply.pin`): the ARGs BuildKit sets per build
(``AUTOMATIC_ARGS``), each global ARG's default and where it is written (``_GlobalArg``,
``_global_args``), and :func:`_expand`, BuildKit's expansion of ``$V``/``${V}`` and the
``:-``/``-``/``:+``/``+`` forms, None when the value is not known before the build.
"""

from __future__ import annotations

from refactor.records import dataclass
from refactor.syntax.dockerfile import Dockerfile
from refactor.syntax.words import find_refs, name_values, unquote

# ARGs BuildKit defines automatically in the global scope (values decided per build/platform)
AUTOMATIC_ARGS = frozenset("TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDOS BUILDARCH BUILDVARIANT".split())


@dataclass
class _GlobalArg:
    name: str
    raw: str | None  # raw default (quotes kept) or None
    value: str | None  # expanded default, None when not concrete
    instr: int
    name_offset: int  # source offset of the name
    value_end: int | None  # source offset just after the raw default
    literal: bool  # default present and without any variable reference
    count: int = 1


def _global_args(df: Dockerfile) -> dict[str, _GlobalArg]:
    out: dict[str, _GlobalArg] = {}
    env: dict[str, str | None] = {}
    for idx, ins in enumerate(df.instructions):
        if ins.cmd == "from":
            break
        if ins.cmd != "arg":
            continue
        cmd = ins.command
        for item in name_values(cmd.args, df.escape, legacy_env=False):
            name_off = ins.logical.to_source(cmd.args_lstart + item.start)
            if item.value is None:
                value = env.get(item.name) if item.name in env else None
                raw = None
                end = None
                literal = False
            else:
                raw = item.value
                value = _expand(raw, env, df.escape)
                end = ins.logical.to_source_end(cmd.args_lstart + item.end)
                if len(raw) >= 2 and raw[-1] in "\"'" and raw[0] == raw[-1]:
                    end -= 1  # ARG V="20" -> ARG V="20@sha256:…": inside the quotes
                literal = not find_refs(raw, df.escape) and "$" not in raw
            prev = out.get(item.name)
            ga = _GlobalArg(item.name, raw, value, idx, name_off, end, literal, (prev.count + 1) if prev else 1)
            if item.value is None and prev is not None:  # ARG V after ARG V=x keeps the value
                ga.value, ga.raw, ga.literal, ga.value_end = prev.value, prev.raw, prev.literal, prev.value_end
            out[item.name] = ga
            env[item.name] = ga.value
    return out


def _expand(raw: str, env: dict[str, str | None], escape: str) -> str | None:
    """Expand ``raw`` like BuildKit's lexer for the forms listed in the module doc.

    ``env`` maps a declared name to its value (None: declared without a concrete value). Returns
    None when the result is not known before the build.
    """
    refs = find_refs(raw, escape)
    out: list[str] = []
    pos = 0
    for r in refs:
        if r.start < pos:  # nested in an operand already handled
            continue
        out.append(raw[pos : r.start])
        pos = r.end
        if r.name in AUTOMATIC_ARGS:
            return None
        declared = r.name in env
        value = env.get(r.name)
        if declared and value is None:
            return None
        if r.modifier == "":
            if not declared:
                return None  # BuildKit expands it to nothing: not what the author meant
            rep = value
        elif r.modifier in (":-", "-"):
            use_default = (not declared) or (r.modifier == ":-" and value == "")
            rep = _expand(r.word, env, escape) if use_default else value
        elif r.modifier in (":+", "+"):
            use_word = declared and (r.modifier == "+" or value != "")
            rep = _expand(r.word, env, escape) if use_word else ""
        else:
            return None
        if rep is None or any(c in rep for c in "'\"") or escape in rep:
            return None
        out.append(rep)
    out.append(raw[pos:])
    return unquote("".join(out), escape)

"""Facts about one Dockerfile, computed once and shared by every rule and fix.

- stages (FROM … AS name, parents through ``FROM <stage>``), global ARGs before the first FROM;
- every ARG/ENV/LABEL item with its raw and unquoted value and the variables its value references;
- for every RUN: the shell text it runs (shell form, ``sh -c`` exec form, heredoc bodies) and the
  variables visible to it, following BuildKit's scoping (a stage sees its own ARGs from their
  declaration on, ENV, and everything its parent stage had; global ARGs only when re-declared);
- build-time uses: variables the Dockerfile itself expands (FROM, COPY/ADD incl. ``--chown`` and
  unquoted heredocs, WORKDIR, USER, LABEL, ENV, EXPOSE, VOLUME, STOPSIGNAL, ...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import field
from functools import cached_property

from refactor.analysis import visibility
from refactor.codecache import regex
from refactor.records import dataclass
from refactor.syntax.dockerfile import Dockerfile, Instruction
from refactor.syntax.words import NameValue, find_refs, name_values, unquote

_WORD = regex(r"[A-Za-z_][A-Za-z0-9_]*")

PROXY_ARGS = frozenset(n for p in ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY") for n in (p, p.lower()))
PLATFORM_ARGS = frozenset(
    """TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDOS BUILDARCH BUILDVARIANT
    TARGETSTAGE BUILDKIT_SYNTAX BUILDKIT_INLINE_CACHE BUILDKIT_MULTI_PLATFORM BUILDKIT_SANDBOX_HOSTNAME
    BUILDKIT_CONTEXT_KEEP_GIT_DIR SOURCE_DATE_EPOCH""".split()
)
# instructions whose arguments BuildKit expands at build time
BUILD_TIME_EXPANDED = frozenset(
    {"from", "add", "copy", "env", "expose", "label", "stopsignal", "user", "volume", "workdir", "arg", "onbuild"}
)


@dataclass(frozen=True)
class VarItem:
    kind: str  # "ARG" | "ENV" | "LABEL"
    name: str
    raw: str | None  # raw value text (quotes kept); None for ``ARG NAME``
    value: str | None  # unquoted value
    refs: tuple[str, ...]  # variables the value references
    instr: int  # instruction index
    stage: int  # -1 for global ARGs
    item: NameValue
    start: int  # source span of the item
    end: int
    onbuild: bool = False

    @property
    def is_reference(self) -> bool:
        """The value is exactly one variable reference (``$X`` / ``${X}``)."""
        if self.raw is None:
            return False
        v = self.value or ""
        refs = find_refs(v)
        return len(refs) == 1 and refs[0].start == 0 and refs[0].end == len(v) and refs[0].modifier in ("", ":-", "-")


@dataclass(frozen=True)
class Stage:
    index: int
    start: int  # instruction index of its FROM
    end: int  # exclusive
    name: str | None
    base: str
    parent: int | None  # stage index when FROM names an earlier stage


@dataclass(frozen=True)
class RunInfo:
    instr: int
    script: str  # shell text analysed (args + heredoc bodies)
    exec_argv: tuple[str, ...] | None  # exec form argv
    shell_ok: bool  # False when exec form without a shell: no text to analyse


@dataclass
class Facts:
    df: Dockerfile
    stages: list[Stage] = field(default_factory=list)
    items: list[VarItem] = field(default_factory=list)
    stage_of: list[int] = field(default_factory=list)  # per instruction
    windows: bool = False
    shell_instr: dict[int, list[str]] = field(default_factory=dict)  # stage -> SHELL argv
    # the planners' indexes over this file (computed once per file, not once per secret)
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def global_args(self) -> list[VarItem]:
        return [i for i in self.items if i.kind == "ARG" and i.stage == -1]

    def items_named(self, name: str, kind: str | None = None) -> list[VarItem]:
        return [i for i in self._items_by_name.get(name, ()) if kind is None or i.kind == kind]

    # Indexes built once (the facts are complete when the planner runs): the planner asks per
    # secret, and scanning every item or RUN for each of thousands of secrets was quadratic.
    @cached_property
    def _items_by_name(self) -> dict[str, list[VarItem]]:
        out: dict[str, list[VarItem]] = {}
        for it in self.items:
            out.setdefault(it.name, []).append(it)
        return out

    @cached_property
    def _items_by_ref(self) -> dict[str, list[VarItem]]:
        out: dict[str, list[VarItem]] = {}
        for it in self.items:
            for r in dict.fromkeys(it.refs):
                out.setdefault(r, []).append(it)
        return out

    def items_referencing(self, name: str) -> list[VarItem]:
        """The items whose value references ``name``, in file order."""
        return self._items_by_ref.get(name, [])

    @cached_property
    def _runs_by_word(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for idx, run in self.runs.items():
            for w in dict.fromkeys(_WORD.findall(run.script)):
                out.setdefault(w, []).append(idx)
        return out

    @cached_property
    def run_readers(self) -> tuple[dict[str, list[int]], list[int]]:
        """(name -> the shell RUNs whose script references it, the RUNs that may read a variable
        they do not name: exec form, an opaque program, a tool that reads variables or config files
        by itself, a requirements reader), each in instruction order. A RUN in neither can need no
        secret: the planner asks only these (asking every RUN about every secret was quadratic)."""
        from refactor.analysis import implicit
        from refactor.analysis.shell import analyze_shell

        by_name: dict[str, list[int]] = {}
        other: list[int] = []
        for idx, run in sorted(self.runs.items()):
            if not run.shell_ok:
                other.append(idx)
                continue
            info = analyze_shell(run.script)
            for n in info.refs:
                by_name.setdefault(n, []).append(idx)
            if info.opaque or "*" in info.refs or any(c in implicit.TOOLS or c in implicit.REQUIREMENT_READERS for c in info.commands):
                other.append(idx)
        return by_name, other

    def runs_mentioning(self, name: str) -> list[int]:
        """The RUNs (in ``runs`` order) whose script holds ``name`` as a whole word: every RUN in
        which ``$name`` can appear."""
        return self._runs_by_word.get(name, [])

    @cached_property
    def runs(self) -> dict[int, RunInfo]:
        out = {}
        for idx, ins in enumerate(self.df.instructions):
            if ins.effective.cmd == "run":
                out[idx] = run_info(self.df, idx, ins)
        return out

    def stage_chain(self, stage: int) -> list[int]:
        chain = []
        seen = set()
        s: int | None = stage
        while s is not None and s >= 0 and s not in seen:
            seen.add(s)
            chain.append(s)
            s = self.stages[s].parent
        return chain[::-1]

    def visible_at(self, instr: int) -> Mapping[str, VarItem]:
        """Variables a RUN at ``instr`` sees (name -> the item that defines it): a read-only view
        (:mod:`refactor.analysis.visibility`), built per stage once, bisected per lookup."""
        stage = self.stage_of[instr]
        if stage < 0:
            return visibility.EMPTY
        mode = visibility.TRIGGER if self.df.instructions[instr].sub is not None else visibility.NORMAL
        return self._layer(stage, mode).at(instr)

    def _layer(self, stage: int, mode: str) -> visibility.Layer:
        """The stage's layer over its ancestors' (as :func:`visibility.build` makes it), each layer
        built once and shared: a chain of 2,000 stages builds 2,000 layers, not 2 million."""
        layers: dict[tuple[int, str], visibility.Layer] = self.__dict__.setdefault("_layers", {})
        got = layers.get((stage, mode))
        if got is not None:
            return got
        above = visibility.NORMAL if mode == visibility.NORMAL else visibility.ENV_ONLY
        todo: list[tuple[int, str]] = []
        parent: visibility.Layer | None = None
        s: int | None = stage
        m = mode
        seen: set[int] = set()
        while s is not None and s >= 0 and s not in seen:
            seen.add(s)
            got = layers.get((s, m))
            if got is not None:
                parent = got
                break
            todo.append((s, m))
            s, m = self.stages[s].parent, above
        for s2, m2 in reversed(todo):
            parent = layers[s2, m2] = visibility.Layer(parent, self._items_by_stage.get(s2, ()), m2)
        assert parent is not None
        return parent

    @cached_property
    def _items_by_stage(self) -> dict[int, list[VarItem]]:
        out: dict[int, list[VarItem]] = {}
        for it in self.items:
            out.setdefault(it.stage, []).append(it)
        return out

    @cached_property
    def context_copies_by_stage(self) -> dict[int, list[tuple[int, str]]]:
        """(instruction index, source) of every COPY/ADD from the build context, per stage."""
        out: dict[int, list[tuple[int, str]]] = {}
        for j, ins in enumerate(self.df.instructions):
            cmd = ins.effective
            if cmd.cmd not in ("copy", "add") or any(f.name == "from" for f in cmd.flags):
                continue
            args = cmd.args
            if args.startswith("["):
                try:
                    words = [w for w in json.loads(args) if isinstance(w, str)]
                except ValueError:
                    words = args.split()
            else:
                words = [w for w in args.split() if not w.startswith("--")]
            out.setdefault(self.stage_of[j], []).extend((j, w) for w in words[:-1] if "://" not in w)
        return out

    @cached_property
    def runs_by_stage(self) -> dict[int, list[RunInfo]]:
        out: dict[int, list[RunInfo]] = {}
        for j, run in self.runs.items():
            out.setdefault(self.stage_of[j], []).append(run)
        return out

    def build_time_refs(self) -> list[tuple[int, str, str]]:
        """(instruction index, variable, where) for every build-time expansion (computed once: it
        is asked for each secret; the list is shared, never mutate it)."""
        got = self.__dict__.get("_build_time_refs")
        if got is None:
            got = self.__dict__["_build_time_refs"] = self._build_time_refs()
        return got

    def _build_time_refs(self) -> list[tuple[int, str, str]]:
        out = []
        df = self.df
        for idx, ins in enumerate(df.instructions):
            cmd = ins.effective
            c = cmd.cmd
            if c == "run":
                for fl in cmd.flags:
                    for r in find_refs(fl.value or "", df.escape):
                        out.append((idx, r.name, f"RUN --{fl.name}"))
                continue
            if c not in BUILD_TIME_EXPANDED or c in ("arg", "env", "label", "onbuild"):
                continue
            for fl in cmd.flags:
                for r in find_refs(fl.value or "", df.escape):
                    out.append((idx, r.name, f"{c.upper()} --{fl.name}"))
            if c in ("copy", "add") and _is_json(cmd.args):
                texts = [cmd.args]
            else:
                texts = [cmd.args]
            for t in texts:
                for r in find_refs(t, df.escape):
                    out.append((idx, r.name, c.upper()))
            if c in ("copy", "add"):
                for h in ins.heredocs:
                    if h.expand:
                        body = df.text[h.body_start : h.body_end]
                        for r in find_refs(body, df.escape):
                            out.append((idx, r.name, f"{c.upper()} heredoc"))
        return out


def _is_json(args: str) -> bool:
    if not args.startswith("["):
        return False
    try:
        v = json.loads(args)
    except (ValueError, RecursionError):
        return False
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def run_info(df: Dockerfile, idx: int, ins: Instruction) -> RunInfo:
    cmd = ins.effective
    args = cmd.args
    if _is_json(args):
        argv = tuple(json.loads(args))
        from refactor.analysis.shell import exec_form_script

        script = exec_form_script(list(argv))
        if script is None:
            return RunInfo(idx, " ".join(argv), argv, False)
        return RunInfo(idx, script, argv, True)
    parts = [args]
    for h in ins.heredocs:
        parts.append(df.text[h.body_start : h.body_end])
    return RunInfo(idx, "\n".join(parts), None, True)


def build_facts(df: Dockerfile) -> Facts:
    facts = Facts(df)
    escape = df.escape
    stage = -1
    names: dict[str, int] = {}
    stage_start = 0
    instrs = df.instructions
    windows = escape == "`"
    for idx, ins in enumerate(instrs):
        cmd = ins.command
        if cmd.cmd == "from":
            if stage >= 0:
                prev = facts.stages[stage]
                facts.stages[stage] = Stage(prev.index, prev.start, idx, prev.name, prev.base, prev.parent)
            stage += 1
            words = cmd.args.split()
            base = words[0] if words else ""
            alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            parent = names.get(base.lower())
            facts.stages.append(Stage(stage, idx, len(instrs), alias, base, parent))
            if alias:
                names[alias.lower()] = stage
            low = base.lower()
            if "windows" in low or "nanoserver" in low or "servercore" in low:
                windows = True
            stage_start = idx
        facts.stage_of.append(stage)
        eff = ins.effective
        onbuild = ins.sub is not None
        if eff.cmd in ("arg", "env", "label"):
            if ins.sub is not None:
                # the inner command's args live at an offset inside the logical line
                base_l = ins.sub.args_lstart
            else:
                base_l = cmd.args_lstart
            args_text = eff.args
            for nv in name_values(args_text, escape, legacy_env=eff.cmd != "arg"):
                raw = nv.value
                value = unquote(raw, escape) if raw is not None else None
                refs = tuple(r.name for r in find_refs(raw or "", escape))
                # map the item span back to source offsets (args are stripped; find their start)
                l0 = base_l + nv.start
                l1 = base_l + nv.end
                start = ins.logical.to_source(l0)
                end = ins.logical.to_source_end(l1)
                facts.items.append(
                    VarItem(
                        kind=eff.cmd.upper(),
                        name=nv.name,
                        raw=raw,
                        value=value,
                        refs=refs,
                        instr=idx,
                        stage=stage,
                        item=nv,
                        start=start,
                        end=end,
                        onbuild=onbuild,
                    )
                )
        if eff.cmd == "shell" and stage >= 0:
            try:
                argv = json.loads(eff.args)
            except ValueError:
                argv = []
            facts.shell_instr[stage] = argv
            if argv and any(a.lower().startswith(("powershell", "pwsh", "cmd")) for a in argv[:1]):
                windows = True
    del stage_start
    facts.windows = windows
    return facts

"""The rewrite check's model of a Dockerfile (:class:`_Model`): per stage, the RUNs with the symbolic
environment each RUN sees (ARG, ENV, inherited build args, secret mounts, leading exports), built
from the lossless syntax layer and tree-sitter-bash only.
"""

from __future__ import annotations

import csv
import posixpath
from collections.abc import Mapping

from refactor.fixes._check_shell import (
    Arg,
    Base,
    Script,
    Secret,
    exec_script,
    value,
)
from refactor.fixes.check_effects import _run_effects, _subst
from refactor.fixes.check_values import (
    _HEREDOC_ONLY,
    _KEY_STRIP,
    _SHELL_NAMES,
    _apply,
    _expand,
    _Files,
    _home,
    _join,
    _json_argv,
    _Run,
    _script,
    _Stage,
)
from refactor.syntax.dockerfile import Dockerfile
from refactor.syntax.words import find_refs, name_values, parse_words, unquote


class _Model:
    def __init__(self, df: Dockerfile, ids: Mapping[str, str], context_files, scripts: dict | None = None):
        self.df, self.ids, self.context = df, ids, context_files
        # RUN text -> Script, shared by the original's model and the rewrite's: most RUNs are the
        # same text on both sides, and cached_script's bound (512) is smaller than a big file
        self.scripts: dict = {} if scripts is None else scripts
        self.stages: list[_Stage] = []
        self._named: dict[str, _Stage] = {}  # stage name -> the last stage of that name
        self.runs: list[_Run] = []
        self.arg_decls: list[tuple[int, str, int | None]] = []  # (line, name, stage)
        self.carriers: list[tuple[int, str, str, tuple, frozenset, int | None]] = []  # ENV/LABEL
        self.copies: list[tuple[int, int, int, str]] = []  # (line, stage, source stage, source path)
        self.copy_lines: set[int] = set()  # lines of COPY/ADD (a file they put there is no RUN's)
        self.binds: list[tuple[int, int, int, str]] = []  # RUN --mount=type=bind,from=: like copies
        self.quoted: set[str] = set()  # $NAME written where the shell does not expand it
        self.global_args: dict = {}
        for ins in df.instructions:
            if ins.cmd == "from":
                self._from(ins)
            elif not self.stages:
                if ins.cmd == "arg":
                    for nv in name_values(ins.args, df.escape, legacy_env=False):

                        def look(n: str) -> tuple[Arg | Base]:
                            return (Arg(n, self.global_args.get(n)),) if n in self.global_args else (Base(n),)

                        self.global_args[nv.name] = None if nv.value is None else _expand(nv.value, look, df.escape)
                        self.arg_decls.append((ins.start_line, nv.name, None))
            else:
                self._instr(ins, ins.command, self.stages[-1], False)
                if ins.cmd == "onbuild" and ins.sub is not None:
                    self._instr(ins, ins.sub, self.stages[-1], True)

    def _from(self, ins) -> None:
        words = [unquote(w.raw, self.df.escape) for w in parse_words(ins.args, self.df.escape)]
        image = words[0].lower() if words else ""
        name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
        parent = self._named.get(image)
        st = _Stage(len(self.stages), name, parent.index if parent else None, dict(parent.env) if parent else {})
        if parent is not None:
            st.workdir, st.user, st.shell_ok = parent.workdir, parent.user, parent.shell_ok
            st.files = _Files(parent.files)
            # BuildKit hands a `FROM <stage>` child its parent's build args too (verified on
            # Engine 28.5: `ARG FOO` in the parent, `RUN echo $FOO` in the child prints the value)
            st.args = dict(parent.args)
        self.stages.append(st)
        if name is not None:
            self._named[name] = st

    def _instr(self, ins, command, st: _Stage, onbuild: bool) -> None:
        c, args, esc = command.cmd, command.args, self.df.escape
        env = {**st.env, **st.ob_env} if onbuild else st.env
        argd = st.ob_args if onbuild else st.args

        def look(n: str) -> tuple:
            v = env.get(n)
            if v is None:
                v = argd.get(n)
            return v if v is not None else (Base(n),)

        if c == "arg":
            for nv in name_values(args, esc, legacy_env=False):
                default = self.global_args.get(nv.name) if nv.value is None else _expand(nv.value, look, esc)
                argd[nv.name] = (Arg(nv.name, default),)
                self.arg_decls.append((ins.start_line, nv.name, st.index))
        elif c in ("env", "label"):
            new = {}
            for nv in name_values(args, esc):
                v = _expand(nv.value or "", look, esc)
                refs = frozenset(r.name for r in find_refs(nv.value or "", esc))
                self.carriers.append((ins.start_line, c.upper(), nv.name, v, refs, st.index))
                new[nv.name] = v
            if c == "env":
                (st.ob_env if onbuild else st.env).update(new)
        elif onbuild:
            if c == "run":
                self._run(ins, command, st, True, {**st.ob_args, **st.env, **st.ob_env})
        elif c == "workdir":
            v = _expand(args, look, esc)
            lit = "".join(v) if all(isinstance(p, str) for p in v) else None
            st.workdir = _join(st.workdir, _no_tilde(lit), "/") if lit is not None else None
            if st.workdir:
                _apply(st.files, "add", st.workdir, ins.start_line, None)  # BuildKit creates it
        elif c == "user":
            v = _expand(args, look, esc)
            st.user = "".join(v).split(":")[0] if all(isinstance(p, str) for p in v) else "?"
        elif c == "shell":
            argv = _json_argv(args) or []
            # a POSIX shell taking the script as its last word (`SHELL ["/bin/sh", "-c", "cd /tmp && eval \"$1\"", "x"]` is not)
            st.shell_ok = bool(argv) and argv[0].rsplit("/", 1)[-1] in _SHELL_NAMES and argv[-1].startswith("-") and "c" in argv[-1]
        elif c == "run":
            self._run(ins, command, st, False, {**st.args, **st.env})
        elif c in ("copy", "add"):
            self._copy(ins, command, st, look)

    # RUN ------------------------------------------------------------------------------------
    def _from_stage(self, ref: str) -> _Stage | None:
        """The earlier stage a ``--from=`` names (its name or index), None for an image."""
        ref = ref.lower()
        return next((s for s in self.stages[:-1] if s.name == ref or str(s.index) == ref), None)

    def _script(self, text: str) -> Script:
        got = self.scripts.get(text)
        if got is None:
            got = self.scripts[text] = _script(text)
        return got

    def _run(self, ins, command, st: _Stage, onbuild: bool, scope: dict) -> None:
        cwd = st.workdir
        home = _home(scope, st.user)
        secret_files: dict = {}
        ssh = False
        for f in command.flags:
            if f.name != "mount" or not f.value:
                continue
            try:
                fields = next(csv.reader([f.value]))
            except (csv.Error, StopIteration):
                continue
            opts = {k.strip().lower(): v for k, _, v in (x.partition("=") for x in fields)}
            ssh = ssh or opts.get("type") == "ssh"
            if opts.get("type", "bind") == "bind" and opts.get("from"):  # a bind mount of another stage's file
                source = self._from_stage(opts["from"])
                if source is not None:
                    sp = posixpath.normpath("/" + (opts.get("source") or opts.get("src") or "/").lstrip("/"))
                    self.binds.append((ins.start_line, st.index, source.index, sp))
            if opts.get("type") != "secret":
                continue
            target = opts.get("target") or opts.get("dst") or opts.get("destination")
            sid = opts.get("id") or opts.get("source") or opts.get("src") or (target or "").rsplit("/", 1)[-1]
            val = (Secret(self.ids[sid]),) if sid in self.ids else (Secret(f"id={sid}"),)
            if opts.get("env"):
                scope[opts["env"]] = val
            if target or not opts.get("env"):
                p = _join(cwd, target or f"/run/secrets/{sid}", home)
                if p:
                    secret_files[p] = val
        argv = _json_argv(command.args)
        if argv is not None:
            script, text = exec_script(argv), " ".join(argv)
        else:
            text = command.args
            if ins.heredocs:
                bodies = [self.df.text[h.body_start : h.body_end] for h in ins.heredocs]
                if len(bodies) == 1 and _HEREDOC_ONLY.fullmatch(command.args.strip()):
                    text = bodies[0]
                    if text.startswith("#!"):
                        interp = text[2:].split("\n", 1)[0].split()
                        if interp and interp[-1].rsplit("/", 1)[-1] not in _SHELL_NAMES:
                            text = " ".join(interp)
                else:
                    text += "\n" + "".join(self.df.text[h.body_start : h.end] for h in ins.heredocs)
            text = text.replace("\r\n", "\n")
            script = self._script(text) if st.shell_ok else Script(dynamic=["SHELL is not a POSIX shell"])
        self.quoted |= script.quoted
        env = dict(scope)

        def look(n: str) -> tuple:
            v = env.get(n)
            return v if v is not None else (Base(n),)

        for cmd in script.cmds[: script.prefix]:
            for name, node in cmd.assigns:
                env[name] = ("",) if node is None else value(node, cmd.src, look, _subst(cmd.src, cwd, home, secret_files))
        run = _Run(ins.start_line, st.index, onbuild, env, script, _KEY_STRIP.sub("", text), secret_files, cwd, home, ssh)
        self.runs.append(run)
        if not onbuild:
            for op, p in _run_effects(run):
                _apply(st.files, op, p, run.line, None)

    # COPY / ADD --------------------------------------------------------------------------
    def _copy(self, ins, command, st: _Stage, look) -> None:
        flags = {f.name: f.value for f in command.flags}
        argv = _json_argv(command.args)
        if argv is None:
            argv = [w.raw for w in parse_words(command.args, self.df.escape)]
        if len(argv) < 2:
            return
        dv = _expand(argv[-1], look, self.df.escape)
        if not all(isinstance(p, str) for p in dv):
            return
        dest_raw = "".join(dv)
        dest = _join(st.workdir, _no_tilde(dest_raw), "/")
        if dest is None:
            return
        srcs = [unquote(s, self.df.escape) for s in argv[:-1]]
        multiple = len(srcs) > 1 or dest_raw.endswith("/")
        self.copy_lines.add(ins.start_line)
        _apply(st.files, "add", dest, ins.start_line, None)
        source = None
        if flags.get("from"):
            source = self._from_stage(flags["from"])
        for src in srcs:
            if src.startswith("<<"):
                _apply(st.files, "add", posixpath.join(dest, src.lstrip("<-").strip("'\"")) if multiple else dest, ins.start_line, None)
                continue
            if source is not None:
                sp = posixpath.normpath("/" + src.lstrip("/"))
                self.copies.append((ins.start_line, st.index, source.index, sp))
                for p in ([sp] if sp in source.files.paths else []) + source.files.below(sp):
                    t = (
                        (posixpath.join(dest, posixpath.basename(sp)) if multiple else dest)
                        if p == sp
                        else posixpath.join(dest, p[len(sp.rstrip("/")) + 1 :])
                    )
                    _apply(st.files, "add", t, ins.start_line, None)
                continue
            if flags.get("from") or any(ch in src for ch in "*?[") or "://" in src:
                continue
            cs = posixpath.normpath(src.lstrip("/")) if src.strip("/") else "."
            under = [p for p in (self.context or {}) if cs == "." or p.startswith(cs + "/")]
            if under:
                for p in under:
                    rel = p if cs == "." else p[len(cs) + 1 :]
                    _apply(st.files, "add", posixpath.join(dest, rel), ins.start_line, posixpath.normpath(p))
            elif cs != ".":
                t = posixpath.join(dest, posixpath.basename(cs)) if multiple else dest
                _apply(st.files, "add", t, ins.start_line, cs)


def _no_tilde(path: str) -> str:
    """A WORKDIR or COPY/ADD destination as BuildKit reads it: no shell, so a leading ``~`` is a
    directory called ``~`` (``WORKDIR ~`` is ``/~``), not HOME."""
    return "./" + path if path.startswith("~") else path

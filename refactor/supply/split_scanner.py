"""The credential-split scanner (:mod:`refactor.supply.split`): ``_Scanner`` walks a repository's
relevant files and records every read and publish of a variable, from Dockerfiles (or their
events), compose files, GitHub workflows and actions (YAML-aware) and line-oriented scripts and CI.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from refactor.supply.split_files import SKIP_DIRS, _config_kind, _relevant, dockerfile_events, scanned_text
from refactor.supply.split_patterns import (
    _ANY_EXPR,
    _BUILD,
    _ENV_EXPR,
    _LOGIN,
    _PUBLISH_TOOLS,
    _PUSHES,
    _READ_TOOLS,
    _SECRET_EXPR,
    _env_map,
    _implicit,
    _locate_lines,
    _shell_refs,
    _split_commands,
    _strip_yaml,
    may_match,
)
from refactor.supply.split_sites import EPHEMERAL, Site, _Scope
from refactor.walk import below, walk

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap


class PackedEvents(Protocol):
    """A Dockerfile's events a bulk run keeps packed (refactor.run_packed.Packed): decoded here,
    one file at a time."""

    def events(self) -> list[tuple]: ...


class _Scanner:
    def __init__(self, root: str, known: dict[str, list[tuple] | PackedEvents] | None = None):
        self.root = os.path.abspath(root)
        # variable -> its sites, in the order first seen (an ordered set: no search per site added)
        self.reads: dict[str, dict[Site, None]] = {}
        self.publishes: dict[str, dict[Site, None]] = {}
        self._whats: dict[str, str] = {}  # one string for each description, however many sites share it
        self.config_refs: dict[str, set[str]] = {}
        self.known = known or {}  # absolute path -> dockerfile_events of Dockerfiles parsed already

    def files(self) -> Iterator[tuple[str, str, list[tuple] | PackedEvents | None]]:
        """The files to scan as ``(relative path, full path, the events a worker already found)``, in
        walk order, unread: a text is read when scanned and dropped after (the listings are the
        run's, ``refactor.walk``: walking twice reads no directory twice)."""
        for dirpath, dirnames, filenames in walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info"))
            for fn in sorted(filenames):
                if not _relevant(fn):
                    continue
                full = os.path.join(dirpath, fn)
                known = self.known.get(full)
                yield below(full, self.root), full, known if known is not None and not os.path.islink(full) else None

    def run(self) -> tuple[dict[str, dict[Site, None]], dict[str, dict[Site, None]]]:
        """Scan every file: ``(reads, publishes)``, each variable -> its sites."""
        from refactor.discovery import is_dockerfile_name

        configs: dict[str, str | None] = {}
        # first pass: what tool configs expand (read by both installs and publishes)
        for rel, full, known in self.files():
            base = rel.rsplit("/", 1)[-1].lower()
            kind = _config_kind(rel, base) if known is None else None
            if kind is None:
                continue
            text = configs[full] = scanned_text(full)
            if text is None:
                continue
            if kind in ("npm", "pip"):
                self.config_refs.setdefault(kind, set()).update(_shell_refs(text))
            elif kind == "maven":
                self.config_refs.setdefault("maven", set()).update(re.findall(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)\}", text))
            else:
                self.config_refs.setdefault("gradle", set()).update(
                    re.findall(r"(?:getenv|environmentVariable)\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']", text)
                )
        for rel, full, known in self.files():
            if known is not None:
                self.dockerfile_from(rel, known)
                continue
            text = configs.pop(full) if full in configs else scanned_text(full)
            if text is not None:
                self._scan(rel, text, is_dockerfile_name)
        return self.reads, self.publishes

    def _scan(self, rel: str, text: str, is_dockerfile_name) -> None:
        base = rel.rsplit("/", 1)[-1]
        low = base.lower()
        if is_dockerfile_name(base):
            self.dockerfile(rel, text)
        elif low.endswith((".yml", ".yaml")) and (
            rel.startswith(".github/workflows/") or (rel.startswith(".github/") and low in ("action.yml", "action.yaml"))
        ):
            if not self.github(rel, text):
                self.lines(rel, text)
        elif low.endswith((".yml", ".yaml")) and (low.startswith(("docker-compose", "compose"))):
            self.compose(rel, text)
        elif (
            low.endswith((".yml", ".yaml", ".sh", ".bash", ".mk", ".ps1", ".groovy"))
            or low in ("makefile", "gnumakefile", "jenkinsfile", "justfile", ".gitlab-ci.yml")
            or (low.endswith(".jenkinsfile"))
        ) or ("." not in base and text.startswith("#!") and re.match(r"#!.*\b(?:sh|bash|zsh|dash|ash)\b", text)):
            self.lines(rel, text)

    def add(self, var: str, kind: str, rel: str, line: int, what: str) -> None:
        if var and var not in EPHEMERAL:
            what = self._whats.setdefault(what, what)
            (self.reads if kind == "read" else self.publishes).setdefault(var, {})[Site(rel, line, what)] = None

    # -- Dockerfiles -------------------------------------------------------------------------
    def dockerfile(self, rel: str, text: str) -> None:
        from refactor.source import SourceFile
        from refactor.syntax.dockerfile import ParseError, parse

        try:
            df = parse(SourceFile.from_text(rel, text))
        except (ParseError, Exception):  # noqa: BLE001 - an unparsable Dockerfile is just not scanned
            return
        self.dockerfile_from(rel, dockerfile_events(df))

    def dockerfile_from(self, rel: str, packed_or_events: list[tuple] | PackedEvents) -> None:
        events: list[tuple] = packed_or_events if isinstance(packed_or_events, list) else packed_or_events.events()
        visible: dict[str, str] = {}  # ARG/ENV names a RUN of the current stage sees in its environment
        for ev in events:
            if ev[0] == "from":
                visible = {}
            elif ev[0] == "arg":
                for name in ev[2]:
                    self.add(name, "read", rel, ev[1], f"Dockerfile ARG {name} (a build argument the build reads)")
                    visible[name] = name
            elif ev[0] == "env":
                for name, value in ev[2]:
                    refs = _shell_refs(value)
                    visible[name] = refs[0] if len(refs) == 1 else name
            elif ev[0] == "secret-mount":
                for n in ev[2]:
                    self.add(n, "read", rel, ev[1], f"Dockerfile RUN --mount=type=secret ({n})")
            elif ev[0] == "run":
                self.shell(rel, ev[1], ev[2], _Scope(dict(visible)), in_dockerfile=True)

    # -- compose -----------------------------------------------------------------------------
    def compose(self, rel: str, text: str) -> None:
        in_args = None
        for i, line in enumerate(text.split("\n"), 1):
            stripped = line.strip()
            indent = len(line) - len(line.lstrip())
            if re.match(r"args\s*:", stripped):
                in_args = indent
                rest = stripped.split(":", 1)[1]
                for n in _shell_refs(rest):
                    self.add(n, "read", rel, i, f"compose build arg ${n}")
                continue
            if in_args is not None:
                if stripped and indent <= in_args:
                    in_args = None
                else:
                    for n in _shell_refs(stripped):
                        self.add(n, "read", rel, i, f"compose build arg ${n}")
                    m = re.match(r"-\s*([A-Za-z_][A-Za-z0-9_]*)\s*$", stripped)
                    if m:  # "- NAME": the value comes from the environment
                        self.add(m.group(1), "read", rel, i, f"compose build arg {m.group(1)}")

    # -- line-oriented files (scripts, Makefiles, generic CI YAML) ------------------------------
    def lines(self, rel: str, text: str, scope: _Scope | None = None) -> None:
        pushes = bool(_PUSHES.search(text)) or "push: true" in text
        scope = scope or _Scope()
        phys = text.split("\n")
        i = 0
        while i < len(phys):
            start = i
            line = phys[i]
            while line.rstrip().endswith("\\") and i + 1 < len(phys):
                i += 1
                line = line.rstrip()[:-1] + " " + phys[i].strip()
            i += 1
            s = line.strip()
            if not s or s.startswith("#") or s.startswith("//"):
                continue
            s = _strip_yaml(s)
            self.shell(rel, start + 1, s, scope, pushes=pushes)

    def shell(
        self,
        rel: str,
        line: int,
        text: str,
        scope: _Scope,
        *,
        pushes: bool = False,
        in_dockerfile: bool = False,
        lines_of: list[int] | None = None,
    ) -> None:
        """Scan shell text (one or more lines) for reads and publishes."""
        if not may_match(text):
            return
        physical = text.split("\n")
        for k, raw in enumerate(physical):
            s = raw.strip()
            if not s or s.startswith("#") or not may_match(s):
                continue
            ln = lines_of[k] if lines_of and k < len(lines_of) else line + k
            cmds = _split_commands(s)
            for j, cmd in enumerate(cmds):
                self._command(rel, ln, cmd, cmds[j - 1] if j and cmds[j - 1].endswith("|") else "", scope, pushes, in_dockerfile, s)

    def _vars(self, text: str, scope: _Scope) -> list[str]:
        out = []
        for m in _SECRET_EXPR.finditer(text):
            out.append(m.group(1) or m.group(2))
        for m in _ENV_EXPR.finditer(text):
            out.append(scope.ident(m.group(1)))
        for n in _shell_refs(_ANY_EXPR.sub("", text)):
            out.append(scope.ident(n))
        return out

    def _command(self, rel, ln, cmd, piped_from, scope: _Scope, pushes: bool, in_dockerfile: bool, whole: str) -> None:
        c = cmd.rstrip("|").strip()
        # registry logins
        m = _LOGIN.search(c)
        if m:
            tool = m.group(1)
            vars_ = []
            pw = re.search(r"(?:\s-p|\s--password)(?:\s+|=)(\S+)", c)
            if pw:
                vars_ = self._vars(pw.group(1), scope)
            elif "--password-stdin" in c:
                feed = piped_from or ""
                here = re.search(r"<<<\s*(\S+)", c)
                vars_ = self._vars(here.group(1) if here else feed, scope)
            kind = "publish" if pushes else "read"
            why = "the same file pushes" if pushes else "no push in this file: a pull login"
            for v in dict.fromkeys(vars_):
                self.add(v, kind, rel, ln, f"{tool} login password ({why})")
            return
        # publishing tools
        for family, label, pat in _PUBLISH_TOOLS:
            if pat.search(c):
                self._tool_vars(rel, ln, c, family, label, "publish", scope)
                return
        # builds: --build-arg / --secret
        build = _BUILD.search(c)
        if build:
            tool = re.sub(r"\s+", " ", build.group(0).strip(" ;&|(/'\"`"))
            for mm in re.finditer(r"--build-arg(?:\s+|=)(\S+)", c):
                word = mm.group(1).strip("'\"")
                name, eq, value = word.partition("=")
                names = self._vars(value, scope) if eq else [scope.ident(name)]
                for v in dict.fromkeys(names):
                    self.add(v, "read", rel, ln, f"{tool} --build-arg {name}")
            for mm in re.finditer(r"--secret(?:\s+|=)(\S+)", c):
                spec = mm.group(1).strip("'\"")
                opts: dict[str, str] = {}
                for kv in spec.split(","):
                    key, _eq, val = kv.partition("=")
                    opts[key] = val
                if opts.get("src") or opts.get("source"):
                    continue
                env = opts.get("env") or opts.get("id")
                if env:
                    self.add(scope.ident(env), "read", rel, ln, f"{tool} --secret {spec}")
            return
        for family, pat in _READ_TOOLS:
            if (hit := pat.search(c)) is not None:
                label = re.sub(r"\s+", " ", hit.group(0).strip(" ;&|(/"))
                self._tool_vars(rel, ln, c, family, label, "read", scope, dockerfile=in_dockerfile)
                return

    def _tool_vars(self, rel, ln, c, family, label, kind, scope: _Scope, dockerfile: bool = False) -> None:
        names = self._vars(c, scope)
        implicit = _implicit(family, scope.env.keys(), {})
        names += [scope.ident(n) for n in sorted(implicit)]
        names += [scope.ident(n) for n in sorted(self.config_refs.get(family, set())) if not scope.github or n in scope.env]
        if not names and scope.step_secret_env:
            names = sorted(set(scope.step_secret_env.values()))
        where = " in a Dockerfile RUN" if dockerfile else ""
        for v in dict.fromkeys(names):
            self.add(v, kind, rel, ln, f"{label}{where}")

    # -- GitHub workflows ----------------------------------------------------------------------
    def github(self, rel: str, text: str) -> bool:
        from refactor.callers.yamlutil import refusal

        if refusal(text) is not None:
            return False  # too deep, an alias bomb: never given to ruamel's constructor; scanned line by line instead
        try:
            from ruamel.yaml import YAML
            from ruamel.yaml.comments import CommentedMap

            doc = YAML(typ="rt").load(text)
        except Exception:  # noqa: BLE001 - unparsable YAML: scanned line by line instead
            return False
        if not isinstance(doc, dict):
            return False
        phys = text.split("\n")
        pushes = bool(_PUSHES.search(text))
        jobs = doc.get("jobs")
        step_lists = []
        if isinstance(jobs, dict):
            for job in jobs.values():
                if isinstance(job, dict) and isinstance(job.get("steps"), list):
                    step_lists.append((job, job["steps"]))
        runs = doc.get("runs")
        if isinstance(runs, dict) and isinstance(runs.get("steps"), list):  # composite action
            step_lists.append(({}, runs["steps"]))
        for _job, steps in step_lists:
            for st in steps:
                if isinstance(st, dict) and str(st.get("uses", "")).split("@")[0].lower() == "docker/build-push-action":
                    w = st.get("with") or {}
                    if isinstance(w, dict) and str(w.get("push", "false")).strip().lower() not in ("false", ""):
                        pushes = True
                    if isinstance(w, dict) and str(w.get("outputs", "")).find("push=true") >= 0:
                        pushes = True
                if isinstance(st, dict) and str(st.get("uses", "")).split("@")[0].lower() == "docker/bake-action":
                    w = st.get("with") or {}
                    if isinstance(w, dict) and str(w.get("push", "false")).strip().lower() not in ("false", ""):
                        pushes = True
        top_env = _env_map(doc.get("env"))
        for job, steps in step_lists:
            job_env = dict(top_env)
            job_env.update(_env_map(job.get("env") if isinstance(job, dict) else None))
            for st in steps:
                if not isinstance(st, CommentedMap):  # the round-trip loader builds every mapping as one
                    continue
                own = _env_map(st.get("env"))
                env = dict(job_env)
                env.update(own)
                own_secret = {k: v for k, v in own.items() if v != k}
                scope = _Scope(env, own_secret, github=True)
                run = st.get("run")
                if isinstance(run, str):
                    key_line = st.lc.key("run")[0] + 1
                    body = run
                    lines_of = _locate_lines(phys, key_line, body.split("\n"))
                    self.shell(rel, key_line, body, scope, pushes=pushes, lines_of=lines_of)
                uses = str(st.get("uses") or "")
                if uses:
                    self._action(rel, st, uses.split("@")[0].lower(), scope, pushes, phys)
        return True

    def _action(self, rel: str, st: CommentedMap, action: str, scope: _Scope, pushes: bool, phys: list[str]) -> None:
        from ruamel.yaml.comments import CommentedMap

        w = st.get("with")
        if not isinstance(w, CommentedMap):
            return

        def line_of(key: str) -> int:
            try:
                return w.lc.key(key)[0] + 1
            except Exception:  # noqa: BLE001
                return st.lc.key("with")[0] + 1

        def secrets_in(value) -> list[str]:
            return self._vars(str(value), scope) if value is not None else []

        if action == "docker/login-action" and "password" in w:
            kind = "publish" if pushes else "read"
            why = "the workflow pushes" if pushes else "no push in this workflow: a pull login"
            for v in dict.fromkeys(secrets_in(w.get("password"))):
                self.add(v, kind, rel, line_of("password"), f"docker/login-action password ({why})")
        elif action == "pypa/gh-action-pypi-publish" and "password" in w:
            for v in dict.fromkeys(secrets_in(w.get("password"))):
                self.add(v, "publish", rel, line_of("password"), "pypa/gh-action-pypi-publish password")
        elif action in ("js-devtools/npm-publish",) and "token" in w:
            for v in dict.fromkeys(secrets_in(w.get("token"))):
                self.add(v, "publish", rel, line_of("token"), "npm-publish token")
        elif action in ("docker/build-push-action", "docker/bake-action"):
            for key in ("build-args", "secrets", "secret-envs", "set"):
                if key not in w:
                    continue
                entries = str(w.get(key)).split("\n")
                lines = _locate_lines(phys, line_of(key), entries)
                for entry, entry_line in zip(entries, lines):
                    entry = entry.strip()
                    if not entry:
                        continue
                    name, _, value = entry.partition("=")
                    if key == "secret-envs":
                        names = [scope.ident(value.strip())] if value.strip() else []
                    else:
                        names = self._vars(value, scope)
                    for v in dict.fromkeys(names):
                        self.add(v, "read", rel, entry_line, f"{action} {key} {name.strip()}")

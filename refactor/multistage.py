"""``--strategy multistage``: move secret-consuming steps into a builder stage.

A stage that consumes a secret is split into three:

1. **base** — the original ``FROM`` and the setup before the first secret-consuming RUN (the
   stage's secret ARG/ENV declarations move out of it);
2. **builder** — ``FROM base``: the secret declarations and the secret-consuming RUNs;
3. **runtime** — ``FROM base`` (keeping the original stage name): ``COPY --from=builder`` of the
   builder's results, the image config the builder part declared, then the rest of the stage.

Results are known per ecosystem: npm/yarn/pnpm → ``node_modules``; pip → a virtualenv
(``/opt/venv``) built in the builder; go → the ``-o`` binary or the module cache; maven/gradle →
``target``/``build/libs``; ``git clone`` → the cloned directory; ``curl -o``/``wget -O`` → the
downloaded file (and ``tar -C``/``unzip -d`` directories). Anything else makes the split
display-only: a ``COPY --from=builder / /`` fallback would drop the base image's config and copy
any secret file the builder wrote.

The split alone is weaker than secret mounts: build args still reach the builder's history and
BuildKit's build record, max-mode provenance records them (docker/build-push-action defaults to
``mode=max`` on public repositories), and ``--cache-to … mode=max`` exports the builder's layers.
Running plain ``dfix --write`` afterwards turns the builder's ARGs into secret mounts as well.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from refactor.analysis.shell import TRANSPARENT, analyze_shell
from refactor.fixes.edit import Applicability, Edit, Fix

WARNINGS = (
    "build args still reach the builder stage's history and BuildKit's build record",
    "max-mode provenance records build args (docker/build-push-action uses mode=max on public repositories)",
    "`--cache-to … mode=max` exports the builder's layers, secrets included",
)
CONFIG_CMDS = ("env", "workdir", "user", "expose", "cmd", "entrypoint", "label", "healthcheck", "stopsignal", "volume", "shell")
PRODUCERS = {"npm", "yarn", "pnpm", "pip", "pip3", "go", "mvn", "gradle", "gradlew", "git", "curl", "wget", "tar", "unzip", "python", "python3"}
HARMLESS = TRANSPARENT - {"tar", "unzip", "cd"}


class SplitError(Exception):
    """The stage cannot be split safely; the message says why."""


@dataclass
class Split:
    stage: int
    base_alias: str
    builder_alias: str
    outputs: list[str]
    venv: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunContext:
    """What a RUN's outputs depend on besides its argv: the working directory, the ENV values in
    effect (literal ones only), the base image of the stage chain and the USER."""

    workdir: str
    env: dict[str, str] = field(default_factory=dict)
    image: str = ""
    user: str | None = None

    def home(self) -> str | None:
        if "HOME" in self.env:
            return self.env["HOME"]
        if self.user in (None, "", "root", "0") or (self.user or "").startswith(("root:", "0:")):
            return "/root"
        return None

    def image_is(self, *names: str) -> bool:
        repo = self.image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0].lower()
        return repo in names

    def path(self, p: str) -> str:
        return posixpath.join(self.workdir, p)


_MVN_BUILD_GOALS = {"compile", "test-compile", "test", "package", "verify", "install", "deploy", "integration-test"}
_MVN_HARMLESS = {"clean", "validate", "-v", "--version"}
_GRADLE_JAR_TASKS = {"build", "assemble", "jar", "bootJar", "shadowJar", "war", "bootWar"}
_GRADLE_DEP_TASKS = {"dependencies", "resolveDependencies", "downloadDependencies", "--refresh-dependencies"}
_GO_HARMLESS = {"vet", "test", "version", "env", "fmt", "list", "generate", "clean"}


def _opt(args: list[str], *names: str, attached: bool = False) -> str | None:
    """The value of the last ``-o VALUE`` / ``--name VALUE`` / ``-o=VALUE`` / ``--name=VALUE``
    option; with ``attached``, also ``-oVALUE`` (curl, tar: single-letter options take their value
    glued on)."""
    found = None
    for i, a in enumerate(args):
        for n in names:
            if a == n and i + 1 < len(args):
                found = args[i + 1]
            elif a.startswith(n + "="):
                found = a[len(n) + 1 :]
            elif attached and len(n) == 2 and a.startswith(n) and len(a) > 2:
                found = a[2:]
    return found


def _outputs_for_run(argvs, ctx: RunContext | str) -> tuple[list[str], bool]:
    """Paths a RUN produces, from its simple commands; (paths, needs_venv)."""
    if isinstance(ctx, str):
        ctx = RunContext(ctx)
    out: list[str] = []
    venv = False
    for argv in argvs:
        if not argv:
            continue
        tool, args = posixpath.basename(argv[0]), list(argv[1:])
        if tool == "cd":
            raise SplitError("the RUN changes directory with cd; its outputs cannot be located")
        if tool in ("npm", "yarn", "pnpm"):
            sub = args[0] if args else "install"
            if tool == "yarn" and (not args or args[0].startswith("-")):
                sub = "install"
            if sub in ("ci", "install", "i", "add"):
                if "-g" in args or "--global" in args:
                    raise SplitError(f"{tool} installs globally; copy its prefix by hand")
                out.append(ctx.path("node_modules"))
            elif sub in ("run", "build", "exec", "test"):
                raise SplitError(f"`{tool} {sub}` runs project scripts whose outputs are unknown")
        elif tool in ("python", "python3") and args[:2] in (["-m", "venv"], ["-m", "virtualenv"]):
            dirs = [a for a in args[2:] if not a.startswith("-")]
            if not dirs:
                raise SplitError("python -m venv without a directory")
            out.append(ctx.path(dirs[-1]))
        elif tool in ("pip", "pip3") or (tool in ("python", "python3") and args[:2] == ["-m", "pip"]):
            if tool.startswith("python"):
                args = args[2:]
            own_venv = None
            if "/bin/" in argv[0]:  # /opt/venv/bin/pip: that venv's pip
                own_venv = posixpath.dirname(posixpath.dirname(ctx.path(argv[0])))
                if own_venv in ("/", "/usr", "/usr/local"):
                    own_venv = None
            if args and args[0] in ("install",):
                target = _opt(args, "-t", "--target")
                prefix = _opt(args, "--prefix")
                if target:
                    out.append(ctx.path(target))
                elif prefix:
                    out.append(ctx.path(prefix))
                elif "--user" in args:
                    home = ctx.home()
                    if home is None:
                        raise SplitError(f"pip install --user as USER {ctx.user}: its home directory is unknown")
                    out.append(posixpath.join(home, ".local"))
                elif own_venv:
                    out.append(own_venv)
                elif ctx.env.get("VIRTUAL_ENV"):
                    out.append(ctx.env["VIRTUAL_ENV"])  # the stage already uses a venv: copy it
                else:
                    venv = True
            elif args and args[0] in ("download", "wheel"):
                d = _opt(args, "-d", "--dest", "-w", "--wheel-dir")
                if d is None:
                    raise SplitError("pip download/wheel without -d")
                out.append(ctx.path(d))
        elif tool == "go":
            sub = args[0] if args else ""
            if sub == "build":
                o = _opt(args, "-o")
                if not o:
                    raise SplitError("go build without -o: the binary's name depends on the module")
                out.append(ctx.path(o))
            elif sub == "install":
                gobin = ctx.env.get("GOBIN") or (ctx.env.get("GOPATH", "/go" if ctx.image_is("golang") else "") + "/bin")
                if gobin == "/bin" or "$" in gobin:
                    raise SplitError("go install: GOBIN/GOPATH unknown (declare ENV GOBIN)")
                out.append(gobin)
            elif args[:2] == ["mod", "download"] or sub == "get":
                out.append(_gomodcache(ctx))
            elif args[:2] == ["mod", "vendor"]:
                out.append(ctx.path("vendor"))
            elif sub == "mod" or sub in _GO_HARMLESS:
                continue
            else:
                raise SplitError(f"`go {sub}` has unknown outputs")
        elif tool in ("mvn", "mvnw"):
            pom = _opt(args, "-f", "--file")
            base = ctx.path(pom) if pom else ctx.workdir
            if pom and pom.endswith(".xml"):
                base = posixpath.dirname(base)
            goals = [a for i, a in enumerate(args) if not a.startswith("-") and not (i and args[i - 1] in _MVN_VALUE_OPTS)]
            if not goals:
                raise SplitError("mvn without goals")
            if any(g in _MVN_BUILD_GOALS for g in goals):
                out.append(posixpath.join(base, "target"))
            elif all(g.startswith("dependency:") or g in _MVN_HARMLESS or g.endswith(":go-offline") for g in goals):
                local = next((a.split("=", 1)[1] for a in args if a.startswith("-Dmaven.repo.local=")), None)
                home = ctx.home()
                if local is None and home is None:
                    raise SplitError(f"mvn as USER {ctx.user}: the local repository's location is unknown")
                out.append(ctx.path(local) if local else posixpath.join(home, ".m2", "repository"))
            else:
                raise SplitError(f"mvn goals {' '.join(goals)} have unknown outputs")
        elif tool in ("gradle", "gradlew"):
            proj = _opt(args, "-p", "--project-dir")
            base = ctx.path(proj) if proj else ctx.workdir
            tasks = [a for i, a in enumerate(args) if not a.startswith("-") and not (i and args[i - 1] in _GRADLE_VALUE_OPTS)]
            tasks = [t.rsplit(":", 1)[-1] for t in tasks]
            if any(t in _GRADLE_JAR_TASKS for t in tasks):
                out.append(posixpath.join(base, "build", "libs"))
            elif "installDist" in tasks:
                out.append(posixpath.join(base, "build", "install"))
            elif tasks and all(t in _GRADLE_DEP_TASKS or t == "clean" for t in tasks) or "--refresh-dependencies" in args and not tasks:
                home = ctx.env.get("GRADLE_USER_HOME") or (posixpath.join(ctx.home(), ".gradle") if ctx.home() else None)
                if home is None:
                    raise SplitError(f"gradle as USER {ctx.user}: GRADLE_USER_HOME is unknown")
                out.append(home)
            else:
                raise SplitError(f"gradle tasks {' '.join(tasks) or '(default)'} have unknown outputs")
        elif tool == "git":
            if args[:1] != ["clone"]:
                if args[:1] == ["config"]:
                    continue
                raise SplitError(f"git {args[:1]} has unknown outputs")
            pos = [a for i, a in enumerate(args[1:], 1) if not a.startswith("-") and args[i - 1] not in _GIT_CLONE_VALUE_OPTS]
            if not pos:
                raise SplitError("git clone without a URL")
            dest = pos[1] if len(pos) > 1 else pos[0].rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
            out.append(ctx.path(dest))
        elif tool == "curl":
            o, remote_name = _curl_output(args)
            if o:
                out.append(ctx.path(o))
            elif remote_name:
                url = next((a for a in args if "://" in a), "")
                out.append(ctx.path(url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]))
            else:
                raise SplitError("curl without -o/-O writes to stdout")
        elif tool == "wget":
            o = _opt(args, "-O", "--output-document")
            if o == "-":
                raise SplitError("wget -O - writes to stdout")
            if o:
                out.append(ctx.path(o))
            else:
                url = next((a for a in args if "://" in a), "")
                out.append(ctx.path(url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]))
        elif tool == "tar":
            c = _opt(args, "-C", "--directory", attached=True)
            if c:
                out.append(ctx.path(c))
            elif any(a.startswith("-") and "x" in a for a in args) or any(a.startswith("x") for a in args[:1]):
                raise SplitError("tar extracts into the working directory; outputs unknown")
        elif tool == "unzip":
            if "-d" in args:
                out.append(ctx.path(args[args.index("-d") + 1]))
            else:
                raise SplitError("unzip without -d")
        elif tool in HARMLESS:
            continue
        else:
            raise SplitError(f"`{tool}` has unknown outputs")
    return [posixpath.normpath(p) for p in out if "$" not in p], venv


_MVN_VALUE_OPTS = {"-s", "--settings", "-gs", "--global-settings", "-f", "--file", "-P", "--activate-profiles", "-pl",
                   "--projects", "-T", "--threads", "-rf", "--resume-from", "-l", "--log-file", "-t", "--toolchains", "-D",
                   "-b", "--builder"}
_GRADLE_VALUE_OPTS = {"-p", "--project-dir", "-g", "--gradle-user-home", "-x", "--exclude-task", "-b", "--build-file",
                      "-c", "--settings-file", "-I", "--init-script", "-P", "-D", "--console", "--warning-mode"}


_GIT_CLONE_VALUE_OPTS = {"-b", "--branch", "--depth", "-o", "--origin", "-c", "--config", "--filter", "--reference",
                         "-j", "--jobs", "--template", "--separate-git-dir", "-u", "--upload-pack", "--shallow-since",
                         "--shallow-exclude", "--reference-if-able", "--server-option", "--bundle-uri"}
# curl's short options that take a value (so a cluster like -sSfo FILE ends at the value-taker)
_CURL_VALUE_SHORT = set("oudHXAeEbcCFKmrTwxyYzQ")


def _curl_output(args: list[str]) -> tuple[str | None, bool]:
    """(the -o/--output file, whether -O/--remote-name is set) as curl parses its arguments."""
    out, remote = None, False
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--output",) and i + 1 < len(args):
            out = args[i + 1]
            i += 2
            continue
        if a.startswith("--output="):
            out = a.split("=", 1)[1]
        elif a in ("--remote-name", "--remote-name-all"):
            remote = True
        elif a.startswith("-") and not a.startswith("--") and len(a) > 1:
            for k, ch in enumerate(a[1:], 1):
                if ch == "O":
                    remote = True
                elif ch in _CURL_VALUE_SHORT:
                    value = a[k + 1 :] or (args[i + 1] if i + 1 < len(args) else None)
                    if not a[k + 1 :]:
                        i += 1
                    if ch == "o":
                        out = value
                    break
        i += 1
    return out, remote


def _gomodcache(ctx: RunContext) -> str:
    if ctx.env.get("GOMODCACHE"):
        return ctx.env["GOMODCACHE"]
    if ctx.env.get("GOPATH"):
        return posixpath.join(ctx.env["GOPATH"].split(":", 1)[0], "pkg", "mod")
    if ctx.image_is("golang"):
        return "/go/pkg/mod"  # the official golang images set GOPATH=/go
    raise SplitError("the Go module cache's location is unknown (declare ENV GOMODCACHE or GOPATH)")


def plan_split(analysis, plans, keyword_case_upper: bool, other_secrets: frozenset[str] = frozenset()) -> tuple[Fix, list[Split]]:
    """Build one fix splitting every stage that consumes a migrated secret. ``other_secrets``:
    names of secrets fixed otherwise (removed declarations): never re-declared either."""
    facts = analysis.facts
    df = analysis.df
    text = df.text
    nl = df.source.default_newline
    kw = (lambda s: s.upper()) if keyword_case_upper else (lambda s: s.lower())
    fix = Fix("Split secret-consuming steps into a builder stage (multistage strategy)", [])
    fix.reasons.extend(WARNINGS)
    splits: list[Split] = []
    by_stage: dict[int, list[int]] = {}
    decl_by_stage: dict[int, set[int]] = {}
    for p in plans:
        for idx in p.mounts:
            by_stage.setdefault(facts.stage_of[idx], []).append(idx)
        for r in p.removals:
            if r.item.stage >= 0:
                decl_by_stage.setdefault(r.item.stage, set()).add(r.instr)
    if not by_stage:
        fix.lower(Applicability.DISPLAY_ONLY, "no RUN consumes the secret: nothing to move into a builder")
        return fix, splits
    if facts.windows:
        fix.lower(Applicability.DISPLAY_ONLY, "Windows-container Dockerfile")
        return fix, splits
    taken = {s.name.lower() for s in facts.stages if s.name}
    for s_idx, runs in sorted(by_stage.items()):
        stage = facts.stages[s_idx]
        runs = sorted(set(runs))
        first, last = runs[0], runs[-1]
        if _already_builder(facts, s_idx, last):
            fix.lower(
                Applicability.DISPLAY_ONLY,
                f"stage {stage.name or s_idx} is already a builder stage; run dfix with the mount strategy to stop passing the build arg too",
            )
            continue
        decls = sorted(i for i in decl_by_stage.get(s_idx, ()) if i < first or i <= last)
        try:
            outputs: list[str] = []
            venv = False
            from refactor.analyze import _workdir_at

            for j in range(first, last + 1):
                ins = df.instructions[j]
                if j in decls:
                    continue
                if ins.cmd == "run":
                    run = facts.runs[j]
                    if not run.shell_ok or ins.heredocs:
                        raise SplitError(f"line {ins.start_line}: exec-form or heredoc RUN")
                    wd = _workdir_at(facts, j)
                    if wd is None:
                        raise SplitError("WORKDIR uses variables")
                    info = analyze_shell(run.script)
                    if info.uncertain:
                        raise SplitError(f"line {ins.start_line}: the shell text could not be fully analysed")
                    o, v = _outputs_for_run(info.argv, _context(facts, j, wd))
                    outputs += o
                    venv |= v
                elif ins.cmd == "arg" or ins.cmd in CONFIG_CMDS:  # re-declared in the runtime stage
                    continue
                else:
                    raise SplitError(f"line {ins.start_line}: {ins.keyword.upper()} between secret-consuming RUNs")
            if not outputs and not venv:
                raise SplitError("the builder would produce nothing the runtime stage needs")
        except SplitError as exc:
            fix.lower(Applicability.DISPLAY_ONLY, f"stage {stage.name or s_idx}: {exc}")
            continue
        base_alias = _alias(f"{stage.name or 'dfix'}-base", taken)
        builder_alias = _alias(f"{stage.name or 'dfix'}-builder", taken)
        outputs = sorted(set(outputs))
        split = Split(s_idx, base_alias, builder_alias, outputs, venv)
        splits.append(split)
        # --- edits -------------------------------------------------------------------------
        from_ins = df.instructions[stage.start]
        # base: rename the original FROM's stage (or name it)
        words = from_ins.args.split()
        if len(words) >= 3 and words[1].lower() == "as":
            m = re.search(r"(?i)\bas\s+(\S+)\s*$", text[from_ins.command.args_start : from_ins.logical_end])
            a0 = from_ins.command.args_start + m.start(1)
            fix.edits.append(Edit(a0, a0 + len(m.group(1)), base_alias))
        else:
            end = from_ins.logical_end
            fix.edits.append(Edit(end, end, f" {kw('as')} {base_alias}"))
        # move secret declarations from before the first RUN into the builder
        moved = [i for i in decls if i < first]
        builder_lines = [f"{kw('from')} {base_alias} {kw('as')} {builder_alias}{nl}"]
        if venv:
            builder_lines.append(f"{kw('env')} VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH{nl}")
            builder_lines.append(f"{kw('run')} python3 -m venv /opt/venv{nl}")
        for i in moved:
            ins = df.instructions[i]
            fix.edits.append(Edit(ins.start, ins.end, ""))
            builder_lines.append(_with_nl(text[ins.start : ins.end], nl))
        # the builder starts right before the first secret-consuming RUN
        first_ins = df.instructions[first]
        insert_at = first_ins.start
        # preceding comment lines belong to that RUN
        for c in reversed(first_ins.comments):
            if c.end == insert_at:
                insert_at = c.start
        blank = "" if text[:insert_at].endswith(nl + nl) or insert_at == 0 else nl
        fix.edits.append(Edit(insert_at, insert_at, blank + "".join(builder_lines)))
        # runtime: after the last secret-consuming RUN
        last_ins = df.instructions[last]
        rt = [nl, f"{kw('from')} {base_alias}" + (f" {kw('as')} {stage.name}" if stage.name else "") + nl]
        if venv:
            rt.append(f"{kw('env')} VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH{nl}")
            rt.append(f"{kw('copy')} --from={builder_alias} /opt/venv /opt/venv{nl}")
        for o in outputs:
            rt.append(f"{kw('copy')} --from={builder_alias} {o} {o}{nl}")
        # image config (and non-secret ARGs, which later instructions may reference) declared
        # inside the builder part is re-declared for the runtime stage
        secret_names = {p.name for p in plans} | {r.item.name for p in plans for r in p.removals} | set(other_secrets)
        for j in range(first, last + 1):
            ins = df.instructions[j]
            if (ins.cmd in CONFIG_CMDS or ins.cmd == "arg") and j not in decls:
                if ins.cmd in ("env", "arg") and any(it.name in secret_names for it in facts.items if it.instr == j):
                    continue
                rt.append(_with_nl(text[ins.command.kw_start : ins.end], nl))
        end = last_ins.end
        if not text[:end].endswith(("\n",)):
            rt.insert(0, nl)
        fix.edits.append(Edit(end, end, "".join(rt)))
        split.notes.append(f"stage {stage.name or s_idx}: builder '{builder_alias}' copies {', '.join(outputs) or '/opt/venv'} into the runtime stage")
    return fix, splits


def _context(facts, j: int, workdir: str) -> RunContext:
    """The RunContext of instruction ``j``: literal ENV values, the chain's base image, USER."""
    env = {name: it.value for name, it in facts.visible_at(j).items()
           if it.kind == "ENV" and it.value is not None and "$" not in it.value}
    chain = facts.stage_chain(facts.stage_of[j])
    user = None
    for s_ in chain:
        st = facts.stages[s_]
        for k in range(st.start, min(st.end, j)):
            ins = facts.df.instructions[k]
            if ins.cmd == "user":
                user = ins.args.strip()
    return RunContext(workdir, env, facts.stages[chain[0]].base if chain else "", user)


def _already_builder(facts, s_idx: int, last: int) -> bool:
    """The stage ends with its last secret-consuming RUN and a later stage copies from it."""
    stage = facts.stages[s_idx]
    if s_idx == len(facts.stages) - 1 or not stage.name:
        return False
    tail = [facts.df.instructions[j] for j in range(last + 1, stage.end)]
    if any(i.cmd not in ("arg", "label") for i in tail):
        return False
    for ins in facts.df.instructions[stage.end :]:
        if any(f.name == "from" and (f.value or "").lower() == stage.name.lower() for f in ins.effective.flags):
            return True
        if ins.cmd == "from" and ins.args.split()[0].lower() == stage.name.lower():
            return False  # FROM <builder>: it is a base, not a builder
    return False


def _with_nl(chunk: str, nl: str) -> str:
    return chunk if chunk.endswith("\n") else chunk + nl


def _alias(base: str, taken: set[str]) -> str:
    name = re.sub(r"[^a-z0-9_.-]", "-", base.lower())
    cand, n = name, 2
    while cand in taken:
        cand = f"{name}{n}"
        n += 1
    taken.add(cand)
    return cand


def image_config(analysis) -> list[str]:
    """``--change`` instructions that re-apply the final stage's config after docker import."""
    facts = analysis.facts
    df = analysis.df
    if not facts.stages:
        return []
    final = len(facts.stages) - 1
    secret_names = {f.variable for f in analysis.findings if f.secret and f.variable}
    out: list[str] = []
    for s in facts.stage_chain(final):
        st = facts.stages[s]
        for j in range(st.start, st.end):
            ins = df.instructions[j]
            if ins.cmd in ("env", "workdir", "user", "expose", "cmd", "entrypoint", "label", "stopsignal", "volume", "healthcheck", "onbuild", "shell"):
                if ins.cmd == "env" and any(it.name in secret_names for it in facts.items if it.instr == j):
                    continue
                out.append(f"{ins.cmd.upper()} {ins.args}")
    return out

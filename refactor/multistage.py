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

from refactor.analysis.shell import analyze_shell, file_writes
from refactor.fixes.clones import GIT_CLONE_VALUE_OPTS
from refactor.fixes.edit import Applicability, Edit, Fix

WARNINGS = (
    "build args still reach the builder stage's history and BuildKit's build record",
    "max-mode provenance records build args (docker/build-push-action uses mode=max on public repositories)",
    "`--cache-to … mode=max` exports the builder's layers, secrets included",
)
CONFIG_CMDS = ("env", "workdir", "user", "expose", "cmd", "entrypoint", "label", "healthcheck", "stopsignal", "volume", "shell")
# Commands that change nothing the runtime stage could need (they print, test or set shell state).
# Package managers, useradd, mkdir, mv, cp, sh SCRIPT ... are not here: their effects would stay in
# the builder, so a RUN using them is split only when the simulation below accounts for them.
SIDE_EFFECT_FREE = frozenset(
    """echo printf true false : test [ [[ ls cat head tail grep egrep fgrep wc sort uniq cut tr id whoami
    which type pwd sleep date uname hostname export set unset exit return readlink realpath
    dirname basename stat sha256sum sha1sum sha512sum md5sum cksum""".split()
)


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
        if p == "~" or p.startswith("~/"):
            home = self.home()
            if home is None:
                raise SplitError(f"{p}: the home directory of USER {self.user} is unknown")
            return posixpath.join(home, p[2:]) if p != "~" else home
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


def _outputs_for_run(
    argvs,
    ctx: RunContext | str,
    writes: tuple[str, ...] = (),
    scrubs: list[str] | None = None,
    prior: list[str] | None = None,
    replay: list[str] | None = None,
) -> tuple[list[str], bool]:
    """Paths a RUN produces, from its simple commands; (paths, needs_venv).

    The RUN is simulated: files it writes by redirection (``writes``) or downloads and then
    removes or moves are followed, and every effect must end up either in a copied output or in
    a credential file deliberately left behind in the builder. Anything else raises SplitError.
    ``scrubs`` receives builder commands that strip credentials from copied outputs (a clone's
    ``.git/config``). ``prior``: the outputs of the builder's earlier RUNs (a later RUN may move
    or remove them); the result includes them. ``replay`` receives credential files the base stage
    holds and the RUN removes: the runtime stage removes them too."""
    if isinstance(ctx, str):
        ctx = RunContext(ctx)
    out: list[str] = list(prior or [])
    venv = False
    scratch: set[str] = set()  # files written, not (yet) outputs
    carrying: set[str] = set()  # files written with the secret in them
    for w in writes:
        # "out:PATH": a download redirected into a file, or a write carrying no secret: an output
        path = w[4:] if w.startswith("out:") else w
        if "$" in path:
            raise SplitError(f"the RUN writes to a path held in a variable ({path})")
        if w.startswith("out:") and not _is_credential_path(ctx.path(path)):
            out.append(ctx.path(path))
        else:
            scratch.add(ctx.path(path))
            if not w.startswith("out:"):
                carrying.add(posixpath.normpath(ctx.path(path)))
    stdout_download = False
    made: list[str] = []  # mkdir'd directories
    extracted = False  # a tar -x into a directory (a piped download's destination)
    for argv in argvs:
        if not argv:
            continue
        tool, args = posixpath.basename(argv[0]), list(argv[1:])
        pos = [a for a in args if not a.startswith("-")]
        if tool == "cd":
            raise SplitError("the RUN changes directory with cd; its outputs cannot be located")
        if tool in ("npm", "yarn", "pnpm"):
            sub = args[0] if args else "install"
            if tool == "yarn" and (not args or args[0].startswith("-")):
                sub = "install"
            if tool == "yarn" and sub == "global":
                raise SplitError("yarn global installs into its global prefix; copy it by hand")
            if sub in ("ci", "install", "i", "add"):
                if "-g" in args or "--global" in args or "--location=global" in args:
                    raise SplitError(f"{tool} installs globally; copy its prefix by hand")
                project = _opt(args, "--prefix") if tool == "npm" else _opt(args, "--cwd") if tool == "yarn" else _opt(args, "-C", "--dir")
                out.append(posixpath.join(ctx.path(project or "."), "node_modules"))
            elif sub in ("config", "set", "cache", "-v", "--version", "whoami", "ping", "view", "info", "audit"):
                # config writes are credential files (.npmrc), left in the builder on purpose,
                # unless an output would carry them (checked below)
                if sub in ("config", "set") and (home := ctx.home()):
                    scratch.add(posixpath.join(home, ".yarnrc" if tool == "yarn" else ".npmrc"))
            else:
                raise SplitError(f"`{tool} {sub}` has unknown outputs")
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
                editable = _opt(args, "-e", "--editable") or ""
                if re.match(r"^git\+[A-Za-z][A-Za-z0-9+.-]*://[^/@]*\$[^/@]*@", editable):
                    raise SplitError("an editable install from a git URL with credentials keeps them in the clone the runtime would get")
                target = _opt(args, "-t", "--target") or ctx.env.get("PIP_TARGET")
                prefix = _opt(args, "--prefix") or ctx.env.get("PIP_PREFIX")
                if ctx.env.get("PIP_USER", "").lower() in ("1", "true", "yes", "on"):
                    args = [*args, "--user"]
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
                    if ctx.user and ctx.user.split(":")[0] not in ("root", "0"):
                        raise SplitError(
                            f"pip installs system-wide as USER {ctx.user}; dfix would create /opt/venv, which that user cannot"
                        )
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
            if _opt(args, "-pl", "--projects") is not None or any(a in ("-am", "--also-make") for a in args):
                raise SplitError("a multi-module maven build: each module has its own target directory")
            if any(g in _MVN_BUILD_GOALS or g in ("dependency:copy-dependencies", "dependency:unpack-dependencies") for g in goals):
                out.append(posixpath.join(base, "target"))
            elif all(g.startswith("dependency:") or g in _MVN_HARMLESS or g.endswith(":go-offline") for g in goals):
                local = next((a.split("=", 1)[1] for a in args if a.startswith("-Dmaven.repo.local=")), None)
                home = ctx.home()
                if local is None and home is None:
                    raise SplitError(f"mvn as USER {ctx.user}: the local repository's location is unknown")
                if local:
                    out.append(ctx.path(local))
                elif home is not None:
                    out.append(posixpath.join(home, ".m2", "repository"))
                else:  # -Dmaven.repo.local= (empty) with no known home
                    raise SplitError(f"mvn as USER {ctx.user}: the local repository's location is unknown")
            else:
                raise SplitError(f"mvn goals {' '.join(goals)} have unknown outputs")
        elif tool in ("gradle", "gradlew"):
            proj = _opt(args, "-p", "--project-dir")
            base = ctx.path(proj) if proj else ctx.workdir
            paths = [a for i, a in enumerate(args) if not a.startswith("-") and not (i and args[i - 1] in _GRADLE_VALUE_OPTS)]
            # :app:bootJar is the app subproject's task: its outputs are under app/build
            subs = {t.rsplit(":", 1)[0].strip(":").replace(":", "/") for t in paths if ":" in t.strip(":")}
            if len(subs) > 1:
                raise SplitError("gradle tasks of several subprojects: each has its own build directory")
            if subs:
                base = posixpath.join(base, subs.pop())
            tasks = [t.rsplit(":", 1)[-1] for t in paths]
            if any(t in _GRADLE_JAR_TASKS for t in tasks):
                out.append(posixpath.join(base, "build", "libs"))
            elif "installDist" in tasks:
                out.append(posixpath.join(base, "build", "install"))
            elif (tasks and all(t in _GRADLE_DEP_TASKS or t == "clean" for t in tasks)) or ("--refresh-dependencies" in args and not tasks):
                home = ctx.env.get("GRADLE_USER_HOME") or (posixpath.join(user_home, ".gradle") if (user_home := ctx.home()) else None)
                if home is None:
                    raise SplitError(f"gradle as USER {ctx.user}: GRADLE_USER_HOME is unknown")
                out.append(posixpath.join(home, "caches"))  # not gradle.properties/init.d: credentials live there
            else:
                raise SplitError(f"gradle tasks {' '.join(tasks) or '(default)'} have unknown outputs")
        elif tool == "git":
            if args[:1] != ["clone"]:
                if args[:1] == ["config"]:
                    if "--global" in args and (home := ctx.home()):
                        scratch.add(posixpath.join(home, ".gitconfig"))  # a credential file (checked below)
                    elif "--system" in args:
                        scratch.add("/etc/gitconfig")
                    continue
                raise SplitError(f"git {args[:1]} has unknown outputs")
            pos = [a for i, a in enumerate(args[1:], 1) if not a.startswith("-") and args[i - 1] not in GIT_CLONE_VALUE_OPTS]
            if not pos:
                raise SplitError("git clone without a URL")
            url = pos[0]
            dest = pos[1] if len(pos) > 1 else url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
            if "$" in dest or not dest:
                raise SplitError("git clone into a directory named by a variable")
            out.append(ctx.path(dest))
            _scrub_clone(args, url, ctx.path(dest), scrubs)
        elif tool == "curl":
            outs, remote_name, outdir = _curl_output(args)
            urls = [a for a in args if "://" in a]
            base = ctx.path(outdir) if outdir else ctx.workdir
            if outs:
                out.extend(posixpath.join(base, o) if outdir else ctx.path(o) for o in outs)
            elif remote_name:
                if not urls:
                    raise SplitError("curl -O of a URL held in a variable: the file name is unknown")
                for url in urls:
                    out.append(posixpath.join(base, _url_basename(url)))
            else:
                stdout_download = True  # fine when piped into tar -x or redirected (checked below)
        elif tool == "wget":
            o = _opt(args, "-O", "--output-document")
            if o == "-":
                raise SplitError("wget -O - writes to stdout")
            prefix = _opt(args, "-P", "--directory-prefix")
            base = ctx.path(prefix) if prefix else ctx.workdir
            if o:
                out.append(posixpath.join(base, o) if prefix and not o.startswith("/") else ctx.path(o))
            else:
                urls = [a for a in args if "://" in a]
                if not urls:
                    raise SplitError("wget of a URL held in a variable: the file name is unknown")
                if any("?" in u.rsplit("/", 1)[-1] for u in urls):
                    raise SplitError("wget names the file after the URL, query included (it may hold the key): use -O")
                for url in urls:
                    out.append(posixpath.join(base, _url_basename(url)))
        elif tool == "tar":
            cluster = args[0].lstrip("-") if args and not args[0].startswith("--") else ""
            create = (
                "c" in cluster or "--create" in args or any(a.startswith("-") and not a.startswith("--") and "c" in a for a in args[:2])
            )
            if create:
                f = _opt(args, "-f", "--file", attached=True)
                if f is None and "f" in cluster:
                    f = next((a for a in args[1:] if not a.startswith("-")), None)
                if not f or f == "-":
                    raise SplitError("tar -c without an archive file writes to stdout")
                out.append(ctx.path(f))
            else:
                c = _opt(args, "-C", "--directory", attached=True)
                if c:
                    out.append(ctx.path(c))
                    extracted = True
                elif any(a.startswith("-") and "x" in a for a in args) or any(a.startswith("x") for a in args[:1]):
                    raise SplitError("tar extracts into the working directory; outputs unknown")
        elif tool == "unzip":
            d = _opt(args, "-d")
            if not d:
                raise SplitError("unzip without -d")
            out.append(ctx.path(d))
        elif tool == "rm":
            for t in pos:
                p = posixpath.normpath(ctx.path(t))
                if scrubs and any(f" {p} " in f" {c} " or f"'{p}'" in c for c in scrubs):
                    raise SplitError(f"`rm {t}`: the clone whose .git/config is cleaned would not be there")
                if p in out:
                    out = [x for x in out if x != p]
                elif p in scratch:
                    scratch.discard(p)
                elif _is_credential_path(p):
                    if replay is None:
                        raise SplitError(f"`rm {t}`: the runtime stage, built from the base, would still have it")
                    replay.append(p)  # a credential file from the base (COPY .npmrc): gone in the runtime too
                else:
                    raise SplitError(f"`rm {t}`: the runtime stage, built from the base, would still have it")
        elif tool in ("mv", "cp"):
            if len(pos) != 2 or any("$" in x or "*" in x for x in pos):
                raise SplitError(f"`{tool} {' '.join(pos)}` cannot be followed")
            src, dst = (posixpath.normpath(ctx.path(x)) for x in pos)
            if scrubs and any(f" {src} " in f" {c} " or f"'{src}'" in c for c in scrubs):
                raise SplitError(f"`{tool} {' '.join(pos)}`: a clone whose .git/config holds the credential moves")
            if pos[1].endswith("/"):
                dst = posixpath.join(dst, posixpath.basename(src))
            if src in out:
                out = [x for x in out if x != src] if tool == "mv" else out
                out.append(dst)
            elif src in scratch:
                if tool == "mv":
                    scratch.discard(src)
                scratch.add(dst)
            else:
                raise SplitError(f"`{tool} {' '.join(pos)}`: the runtime stage would not get {pos[1]}")
        elif tool == "mkdir":
            made.extend(posixpath.normpath(ctx.path(d)) for d in pos)
        elif tool == "touch":
            scratch.update(posixpath.normpath(ctx.path(f)) for f in pos)
        elif tool in ("chmod", "chown", "chgrp"):
            for t in pos[1:]:
                p = posixpath.normpath(ctx.path(t))
                if not (p in scratch or _is_credential_path(p) or any(_under(p, o) for o in out)):
                    raise SplitError(f"`{tool} {' '.join(pos)}`: the runtime stage would not get the change")
        elif tool in ("env", "command") and not [a for a in args if not a.startswith("-") and "=" not in a]:
            continue  # prints the environment / `command -v x`
        elif tool in SIDE_EFFECT_FREE:
            continue
        else:
            raise SplitError(f"`{tool}` has unknown outputs")
    if stdout_download and not extracted and not any(w.startswith("out:") for w in writes):
        raise SplitError("curl without -o/-O writes to stdout")
    outputs = [posixpath.normpath(p) for p in out]
    for p in outputs:
        if "$" in p:
            raise SplitError(f"an output path uses a variable ({p})")
        if p in ("/", ".") or p == posixpath.normpath(ctx.workdir):
            raise SplitError(f"the builder's output is {p} as a whole: copying it would carry everything the builder wrote")
    for f in sorted(scratch):
        if any(_under(f, o) for o in outputs):
            if _is_credential_path(f) or posixpath.normpath(f) in carrying:
                what = "the credential file" if _is_credential_path(f) else "the file holding the secret"
                raise SplitError(f"{what} {f} lies inside the copied {next(o for o in outputs if _under(f, o))}")
            continue
        if not _is_credential_path(f):
            raise SplitError(f"the RUN writes {f}, which the runtime stage would not get")
    for d in made:
        if not any(_under(o, d) or _under(d, o) for o in outputs) and not any(_under(f, d) for f in scratch):
            raise SplitError(f"`mkdir {d}`: the runtime stage would not get it")
    return outputs, venv


_MVN_VALUE_OPTS = {
    "-s",
    "--settings",
    "-gs",
    "--global-settings",
    "-f",
    "--file",
    "-P",
    "--activate-profiles",
    "-pl",
    "--projects",
    "-T",
    "--threads",
    "-rf",
    "--resume-from",
    "-l",
    "--log-file",
    "-t",
    "--toolchains",
    "-D",
    "-b",
    "--builder",
}
_GRADLE_VALUE_OPTS = {
    "-p",
    "--project-dir",
    "-g",
    "--gradle-user-home",
    "-x",
    "--exclude-task",
    "-b",
    "--build-file",
    "-c",
    "--settings-file",
    "-I",
    "--init-script",
    "-P",
    "-D",
    "--console",
    "--warning-mode",
}


# curl's short options that take a value (so a cluster like -sSfo FILE ends at the value-taker)
_CURL_VALUE_SHORT = set("oudHXAeEbcCFKmrTwxyYzQ")


def _curl_output(args: list[str]) -> tuple[list[str], bool, str | None]:
    """(every -o/--output file, whether -O/--remote-name is set, --output-dir) as curl parses its
    arguments."""
    outs: list[str] = []
    remote, outdir = False, None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--output", "--output-dir") and i + 1 < len(args):
            if a == "--output":
                outs.append(args[i + 1])
            else:
                outdir = args[i + 1]
            i += 2
            continue
        if a.startswith("--output="):
            outs.append(a.split("=", 1)[1])
        elif a.startswith("--output-dir="):
            outdir = a.split("=", 1)[1]
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
                    if ch == "o" and value is not None:
                        outs.append(value)
                    break
        i += 1
    return outs, remote, outdir


def _classify_write(w, secrets: set[str]) -> str:
    """A redirect target as the simulation sees it: "out:PATH" for a file that becomes an output
    (a download redirected into it, or a write whose text expands no secret), else PATH (a file
    that holds the secret: a credential file, left in the builder)."""
    head = w.text.lstrip().split(None, 1)[0] if w.text.strip() else ""
    if posixpath.basename(head) in ("curl", "wget"):
        return "out:" + w.path  # the network's bytes, not the command line's
    if w.refs & secrets:
        return w.path
    return "out:" + w.path


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _is_credential_path(path: str) -> bool:
    """A file the credential-file rules know (.npmrc, .netrc, pip.conf, settings.xml, id_rsa, ...),
    plus git/gradle/docker client configs that commonly hold credentials."""
    from refactor.analysis.credfiles import cred_kind

    if cred_kind(path):
        return True
    base = posixpath.basename(path)
    return base in (".gitconfig", ".git-credentials", "gradle.properties", ".pip", "netrc", ".yarnrc") or (
        "/.gradle/init.d/" in path or path.endswith("/.docker/config.json")
    )


def _url_basename(url: str) -> str:
    name = url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    if not name or "$" in name or "://" in url.rstrip("/").rsplit("/", 1)[-1]:
        raise SplitError("the download's file name comes from a variable or is empty: its output is unknown")
    return name


def _scrub_clone(args: list[str], url: str, dest: str, scrubs: list[str] | None) -> None:
    """git keeps the clone URL (user-info included) and ``clone -c`` settings in DEST/.git/config,
    which the runtime copies: queue builder commands that remove credentials from it."""
    from refactor.fixes.clones import clone_cleanup_steps

    steps, problem = clone_cleanup_steps(args, url, dest, lambda t: "$" in t or ":" in t)
    if problem:
        raise SplitError(problem)
    if steps:
        if scrubs is None:
            raise SplitError("the clone's .git/config would carry the credential")
        scrubs.extend(steps)


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
        # every RUN that reads the secret: mounted ones, and those writing or using a credential
        # file (the mount plan folds a separate write into its users)
        touched = set(p.mounts) | set(p.file_mounts) | set(p.ssh_mounts) | set(p.exports)
        for fold in p.folds:
            touched |= {fold.write_run, *fold.consumers, *fold.drop_runs}
        for idx in touched:
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
    secret_names_all = {p.name for p in plans} | {r.item.name for p in plans for r in p.removals} | set(other_secrets)
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
        scrubs: list[str] = []
        replay: list[str] = []  # base files the builder removed: the runtime removes them too
        owners: dict[str, str] = {}  # output -> the non-root USER the builder wrote it as
        try:
            outputs: list[str] = []
            venv = False
            from refactor.analysis.workdir import workdir_at

            if any(
                p.specs and any(sp.type == "file" for sp in p.specs) and any(facts.stage_of[j] == s_idx for j in p.file_mounts)
                for p in plans
            ):
                raise SplitError(
                    "a credential file copied from the build context would stay in the base stage; use the mount strategy for it"
                )
            _check_stage(facts, s_idx, decls, first, last, secret_names_all)
            parents = set(facts.stage_chain(s_idx)) - {s_idx}
            inherited = sorted({facts.stages[st].name or str(st) for st in decl_by_stage if st in parents})
            if inherited:
                raise SplitError(
                    f"the secret is declared in the parent stage {', '.join(inherited)}, which the runtime stage would inherit it from"
                )
            for j in range(first, last + 1):
                ins = df.instructions[j]
                if j in decls:
                    continue
                if ins.cmd == "run":
                    run = facts.runs[j]
                    if not run.shell_ok or ins.heredocs:
                        raise SplitError(f"line {ins.start_line}: exec-form or heredoc RUN")
                    wd = workdir_at(facts, j)
                    if wd is None:
                        raise SplitError("WORKDIR uses variables")
                    info = analyze_shell(run.script)
                    if info.uncertain:
                        raise SplitError(f"line {ins.start_line}: the shell text could not be fully analysed")
                    writes = tuple(_classify_write(w, secret_names_all) for w in file_writes(run.script))
                    rctx = _context(facts, j, wd)
                    before = set(outputs)
                    outputs, v = _outputs_for_run(info.argv, rctx, writes, scrubs, prior=outputs, replay=replay)
                    if rctx.user and rctx.user.split(":")[0] not in ("root", "0"):
                        for o in outputs:
                            if o not in before:
                                owners[o] = rctx.user  # written as that user: COPY keeps it so
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
            assert m is not None  # FROM image AS name: the parser accepts no words after the name
            a0 = from_ins.command.args_start + m.start(1)
            fix.edits.append(Edit(a0, a0 + len(m.group(1)), base_alias))
        else:
            end = from_ins.logical_end
            fix.edits.append(Edit(end, end, f" {kw('as')} {base_alias}"))
        # move secret declarations from before the first RUN into the builder
        moved = [i for i in decls if i < first]
        builder_lines = [f"{kw('from')} {base_alias} {kw('as')} {builder_alias}{nl}"]
        # non-secret ARGs of the base part: BuildKit passes them to stages built FROM it, the
        # classic builder and kaniko (the builders this strategy is for) do not
        base_args = [
            _with_nl(text[df.instructions[j].command.kw_start : df.instructions[j].end], nl)
            for j in range(stage.start + 1, first)
            if df.instructions[j].cmd == "arg"
            and j not in decls
            and not any(it.name in secret_names_all for it in facts.items if it.instr == j)
        ]
        builder_lines += base_args
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
        rt = [f"{kw('run')} {cmd}{nl}" for cmd in dict.fromkeys(scrubs)]
        rt += [nl, f"{kw('from')} {base_alias}" + (f" {kw('as')} {stage.name}" if stage.name else "") + nl]
        rt += base_args
        if venv:
            rt.append(f"{kw('env')} VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH{nl}")
            rt.append(f"{kw('copy')} --from={builder_alias} /opt/venv /opt/venv{nl}")
        for o in outputs:
            # COPY --from keeps the files' owners but creates a missing destination directory as
            # root; --chown gives it (and the files, already theirs) to the user that wrote them
            chown = f" --chown={owners[o]}" if o in owners and re.fullmatch(r"[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)?", owners[o]) else ""
            rt.append(f"{kw('copy')} --from={builder_alias}{chown} {o} {o}{nl}")
        if replay:
            import shlex

            rt.append(f"{kw('run')} rm -f {' '.join(shlex.quote(x) for x in dict.fromkeys(replay))}{nl}")
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
        split.notes.append(
            f"stage {stage.name or s_idx}: builder '{builder_alias}' copies {', '.join(outputs) or '/opt/venv'} into the runtime stage"
        )
    return fix, splits


_FROM_IN_MOUNT = re.compile(r"(?:^|,)from=(\d+)(?:,|$)")


def _check_stage(facts, s_idx: int, decls: list[int], first: int, last: int, secret_names: set[str]) -> None:
    """Refuse splits that would change the meaning of other instructions."""
    df = facts.df
    stage = facts.stages[s_idx]
    for j in range(stage.start, stage.end):
        if df.instructions[j].cmd == "onbuild":
            raise SplitError(f"line {df.instructions[j].start_line}: ONBUILD triggers would fire in the builder and the runtime stage")
    for ins in df.instructions:
        for f in ins.effective.flags:
            refs = [f.value] if f.name == "from" and f.value else _FROM_IN_MOUNT.findall(f.value or "") if f.name == "mount" else []
            if any(r.isdigit() and int(r) >= s_idx for r in refs):
                raise SplitError(f"line {ins.start_line}: a stage referenced by number ({f.word}) would change after the split")
    for j in set(decls) | set(range(first, last + 1)):
        ins = df.instructions[j]
        if ins.cmd not in ("env", "arg"):
            continue
        names = [it.name for it in facts.items if it.instr == j]
        if any(n in secret_names for n in names) and not all(n in secret_names for n in names):
            raise SplitError(f"line {ins.start_line}: {ins.cmd.upper()} declares secret and non-secret variables together")


def _context(facts, j: int, workdir: str) -> RunContext:
    """The RunContext of instruction ``j``: literal ENV values, the chain's base image, USER."""
    env = {name: it.value for name, it in facts.visible_at(j).items() if it.kind == "ENV" and it.value is not None and "$" not in it.value}
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
    if any(i.cmd not in ("arg", "label", "run", "env", "workdir") for i in tail):
        return False  # image config after the secret steps: the stage is an image, not only a builder
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

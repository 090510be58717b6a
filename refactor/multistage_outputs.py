"""The multistage RUN simulation (:func:`_outputs_for_run`): which paths a secret-consuming RUN
produces, per tool (npm/yarn/pnpm, pip and venvs, go, maven, gradle, git clone, curl/wget, tar,
unzip) and following the files it removes, moves, creates or changes, so that every effect ends up
in an output the runtime stage copies or in a credential file deliberately left in the builder.
"""

from __future__ import annotations

import posixpath
import re

from refactor.fixes.clones import GIT_CLONE_VALUE_OPTS
from refactor.multistage_context import RunContext, SplitError
from refactor.multistage_tools import (
    _GO_HARMLESS,
    _GRADLE_DEP_TASKS,
    _GRADLE_JAR_TASKS,
    _GRADLE_VALUE_OPTS,
    _MVN_BUILD_GOALS,
    _MVN_HARMLESS,
    _MVN_VALUE_OPTS,
    SIDE_EFFECT_FREE,
    _curl_output,
    _gomodcache,
    _is_credential_path,
    _opt,
    _scrub_clone,
    _under,
    _url_basename,
)


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

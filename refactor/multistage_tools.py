"""What the multistage RUN simulation (:mod:`refactor.multistage_outputs`) knows of each tool:
the commands that change nothing, the maven/gradle/go goal and option vocabularies, the option
readers (``_opt``, curl's outputs), how a redirect target is classified, the path helpers
(``_under``, credential files, a download's file name) and the places a clone's credentials or the
Go module cache live.
"""

from __future__ import annotations

import posixpath

from refactor.multistage_context import RunContext, SplitError

# Commands that change nothing the runtime stage could need (they print, test or set shell state).
# Package managers, useradd, mkdir, mv, cp, sh SCRIPT ... are not here: their effects would stay in
# the builder, so a RUN using them is split only when the simulation (multistage_outputs) accounts for them.
SIDE_EFFECT_FREE = frozenset(
    """echo printf true false : test [ [[ ls cat head tail grep egrep fgrep wc sort uniq cut tr id whoami
    which type pwd sleep date uname hostname export set unset exit return readlink realpath
    dirname basename stat sha256sum sha1sum sha512sum md5sum cksum""".split()
)


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

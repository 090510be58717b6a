"""The rewrite check follows a secret past the first file it lands in (session 8's red team): copies
of a secret-holding file, writes through symbolic links, clean-ups that may not run, directories a
subshell changed, and commands that print the environment. Each shape was built on the engine before
this check existed: the mounted-secret rewrite dfix applied left the canary in a layer. Each must now
fail the check, so dfix shows the fix instead of applying it; the sound variants beside them pass."""

from __future__ import annotations

import pytest

from helpers import run
from refactor.fixes._check_shell import parse_script
from refactor.fixes.check import check_rewrite

NPM = {"npm_token": "NPM_TOKEN"}
MOUNT = "--mount=type=secret,id=npm_token,env=NPM_TOKEN"
RC = 'echo "//registry.npmjs.org/:_authToken=$NPM_TOKEN"'


def pair(*runs: str, head: tuple[str, ...] = ("FROM ubuntu:22.04",), tail: tuple[str, ...] = ()) -> tuple[str, str]:
    """(original with the build arg, the rewrite that mounts it into every RUN)."""
    original = [*head, "ARG NPM_TOKEN", *(f"RUN {r}" for r in runs), *tail]
    rewrite = [*head, *(f"RUN {MOUNT} {r}" for r in runs), *tail]
    return "\n".join(original) + "\n", "\n".join(rewrite) + "\n"


LEAKS = {
    # copies of the file that holds the secret
    "cp-then-rm-original": pair(f"{RC} > /root/.npmrc && cp /root/.npmrc /tmp/npmrc.bak && rm -f /root/.npmrc"),
    "cat-into-another-file": pair(f"{RC} > /root/.npmrc && cat /root/.npmrc > /etc/npmrc && rm -f /root/.npmrc"),
    "mv-then-rm-source-name": pair(f"{RC} > /tmp/npmrc && mv /tmp/npmrc /root/.npmrc && rm -f /tmp/npmrc"),
    "cp-a-directory": pair(f"{RC} > /root/.npmrc && cp -r /root /backup && rm -f /root/.npmrc"),
    "tar-a-directory": pair(f"{RC} > /root/.npmrc && tar czf /keep.tgz /root && rm -f /root/.npmrc"),
    "hard-link": pair(f"{RC} > /root/.npmrc && ln /root/.npmrc /srv/npmrc && rm -f /root/.npmrc"),
    "heredoc-cp": (
        "FROM ubuntu:22.04\nARG NPM_TOKEN\nRUN <<EOT\n" + RC + " > /root/.npmrc\ncp /root/.npmrc /tmp/keep\nrm -f /root/.npmrc\nEOT\n",
        f"FROM ubuntu:22.04\nRUN {MOUNT} <<EOT\n" + RC + " > /root/.npmrc\ncp /root/.npmrc /tmp/keep\nrm -f /root/.npmrc\nEOT\n",
    ),
    "read-back-into-a-variable": pair(f'{RC} > /root/.npmrc && T=$(cat /root/.npmrc) && rm -f /root/.npmrc && echo "$T" > /srv/t'),
    "copied-out-of-a-builder": pair(
        f"{RC} > .npmrc && mkdir out && cp .npmrc out/ && rm -f .npmrc",
        head=("FROM ubuntu:22.04 AS build", "WORKDIR /src"),
        tail=("FROM ubuntu:22.04", "COPY --from=build /src/out /app"),
    ),
    # writes through a link: removing the link leaves the target
    "symlink-made-earlier": pair(
        "mkdir -p /opt/cfg && ln -s /opt/cfg/npmrc /root/.npmrc", f"{RC} > /root/.npmrc && npm ci && rm -f /root/.npmrc"
    ),
    "symlinked-directory": pair("ln -s /opt/cfg /root/.config", 'pip config set global.index-url "https://u:$NPM_TOKEN@x/simple" && '
                                "pip install x && rm -rf /root/.config"),  # removes the link, not /opt/cfg/pip/pip.conf
    # clean-ups that may not run
    "rm-in-if": pair(f'{RC} > /root/.npmrc && npm ci; if [ -n "$CLEANUP" ]; then rm -f /root/.npmrc; fi'),
    "rm-in-case": pair(f'{RC} > /root/.npmrc; case "$KEEP" in yes) ;; *) rm -f /root/.npmrc ;; esac'),
    "rm-in-empty-for": pair(f"{RC} > /root/.npmrc && for f in; do rm -f /root/.npmrc; done"),
    "rm-in-while": pair(f"{RC} > /root/.npmrc && while false; do rm -f /root/.npmrc; done"),
    "rm-after-false-swallowed": pair(f"{RC} > /root/.npmrc && false && rm -f /root/.npmrc || true"),
    "rm-after-and-then-more": pair(f"{RC} > /root/.npmrc && npm ci && rm -f /root/.npmrc; echo done"),
    "rm-after-a-test-that-is-not-about-the-file": pair(f'{RC} > /root/.npmrc && npm ci; [ -n "$KEEP" ] || rm -f /root/.npmrc'),
    "rm-in-background": pair(f"{RC} > /root/.npmrc && npm ci && rm -f /root/.npmrc &"),
    "rm-after-exec": pair(f"{RC} > /root/.npmrc; exec true; rm -f /root/.npmrc"),
    "rm-in-a-function-never-called": pair(f"cleanup() {{ rm -f /root/.npmrc; }}; {RC} > /root/.npmrc && npm ci"),
    # a cd that ends with its subshell, or may not happen
    "cd-in-subshell": pair(f"(cd /tmp && {RC} > .npmrc && npm ci) && rm -f .npmrc", head=("FROM ubuntu:22.04", "WORKDIR /app")),
    "cd-in-command-substitution": pair(f"D=$(cd /tmp && pwd) && {RC} > .npmrc && npm ci && rm -f /tmp/.npmrc"),
    "cd-in-a-pipeline": pair(f"cd /tmp | true; {RC} > .npmrc && npm ci && rm -f /tmp/.npmrc"),
    "cd-that-may-not-run": pair(f"[ -d /x ] || cd /tmp; {RC} > .npmrc && npm ci && rm -f /tmp/.npmrc"),
    "cd-in-a-function": pair(f"go() {{ cd /tmp; }}; go; {RC} > .npmrc && npm ci && rm -f .npmrc"),
    # the environment printed into a file
    "env-dump": pair('env > /tmp/build-env.txt && curl -H "Authorization: Bearer $NPM_TOKEN" https://x'),
    "printenv-name": pair("printenv NPM_TOKEN > /tmp/tok"),
    "printenv-all": pair("printenv | sort > /tmp/env && npm ci"),
    "set-dump": pair('set > /tmp/vars && echo "$NPM_TOKEN" | wc -c'),
    "export-p": pair("export -p > /tmp/exports && npm ci"),
    "declare-p-name": pair("declare -p NPM_TOKEN > /tmp/decl"),
    "proc-environ": pair("cat /proc/self/environ > /tmp/environ"),
    "dd-of": pair('echo "$NPM_TOKEN" | dd of=/tmp/tok'),
    # round two: a review of the check's first version, and a second red team (built on the engine)
    "unless-on-an-if-body": pair(f'{RC} > /root/.npmrc && npm ci; [ ! -e /root/.npmrc ] || if [ -n "$C" ]; then rm -f /root/.npmrc; fi'),
    "unless-after-a-negated-test": pair(f"{RC} > /root/.npmrc && npm ci; ! [ ! -e /root/.npmrc ] || rm -f /root/.npmrc"),
    "unless-after-a-test-in-a-substitution": pair(f"{RC} > /root/.npmrc && npm ci; echo $([ ! -e /root/.npmrc ]) || rm -f /root/.npmrc"),
    "unless-d-on-a-file": pair(f"{RC} > /root/.npmrc && npm ci; [ ! -d /root/.npmrc ] || rm -f /root/.npmrc"),
    "exit-in-an-if-condition": pair(f"{RC} > /root/.npmrc; if exit 0; then :; fi; rm -f /root/.npmrc"),
    "nested-shell-after-exec": pair(f"{RC} > /root/.npmrc; exec true; sh -c 'rm -f /root/.npmrc'"),
    "command-exec": pair(f"{RC} > /root/.npmrc; command exec true; rm -f /root/.npmrc"),
    "symlink-into-a-directory": pair("ln -s /opt/cfg/npmrc /root", f"{RC} > /root/npmrc && npm ci && rm -f /root/npmrc"),
    "symlink-with-t": pair("ln -s -t /root /opt/cfg/npmrc", f"{RC} > /root/npmrc && npm ci && rm -f /root/npmrc"),
    "cp-t": pair(f"{RC} > /root/.npmrc && cp -t /backup /root/.npmrc && rm -f /root/.npmrc"),
    "cp-glob": pair(f"{RC} > /root/.npmrc && cp /root/.npm* /srv/ && rm -f /root/.npmrc"),
    "tar-through-a-pipe": pair(f"{RC} > /root/.npmrc && tar -C /root -cf - . | tar -C /backup -xf - && rm -f /root/.npmrc"),
    "environ-redirected-in": pair("tr '\\0' '\\n' < /proc/self/environ > /tmp/e"),
    "environ-of-this-shell": pair("cat /proc/$$/environ > /tmp/e"),
    "fd-opened-by-exec": pair('exec 3>/root/tok; echo "$NPM_TOKEN" >&3'),
    "stdout-redirected-by-exec": pair('exec > /root/log; echo "$NPM_TOKEN"'),
    "function-output-redirected": pair('f() { echo "$NPM_TOKEN"; }; f > /root/tok'),
    "piped-into-a-subshell": pair('echo "$NPM_TOKEN" | (cat > /root/tok)'),
    "piped-into-read": pair('echo "$NPM_TOKEN" | { read x; echo "$x" > /root/tok; }'),
    "piped-into-sh": pair('echo "echo $NPM_TOKEN > /root/tok" | sh'),
    "piped-into-awk-printing-to-a-file": pair('echo "$NPM_TOKEN" | awk "{print > \\"/root/tok\\"}"'),
    "piped-into-cp-dev-stdin": pair('echo "$NPM_TOKEN" | cp /dev/stdin /root/tok'),
    "eval": pair('eval "echo \\$NPM_TOKEN > /root/tok"'),
    "redirect-and-file-descriptor": pair('echo "$NPM_TOKEN" >& /root/tok'),
    "read-from-the-file": pair(f"{RC} > /root/.npmrc && cat < /root/.npmrc > /srv/log && rm -f /root/.npmrc"),
    "while-read-from-the-file": pair(f'{RC} > /root/.npmrc && while read l; do echo "$l"; done < /root/.npmrc > /srv/x && rm -f /root/.npmrc'),
    "grep-the-file": pair(f"{RC} > /root/.npmrc && grep auth /root/.npmrc > /srv/x && rm -f /root/.npmrc"),
    "sort-o": pair(f"{RC} > /root/.npmrc && sort /root/.npmrc -o /srv/x && rm -f /root/.npmrc"),
    "find-exec-cp": pair(f"{RC} > /root/.npmrc && find /root -name .npmrc -exec cp {{}} /srv/x \\; && rm -f /root/.npmrc"),
    "busybox-cp-relative": pair(f"{RC} > .npmrc && busybox cp .npmrc /srv/x && rm -f .npmrc", head=("FROM ubuntu:22.04", "WORKDIR /app")),
    "busybox-cp": pair(f"{RC} > /root/.npmrc && busybox cp /root/.npmrc /srv/x && rm -f /root/.npmrc"),
    "xargs-cp": pair(f"{RC} > /root/.npmrc && echo /root/.npmrc | xargs -I{{}} cp {{}} /srv/x && rm -f /root/.npmrc"),
    "variable-assigned-again": pair(f"F=/root/.npmrc; {RC} > $F && F=/tmp/x && rm -f $F"),
    "home-assigned-first": pair(f"HOME=/tmp; {RC} > ~/.npmrc && cat ~/.npmrc && rm -f /root/.npmrc"),
    "home-assigned-later": pair(f"{RC} > /root/.npmrc && HOME=/srv && rm -f ~/.npmrc"),
    "rm-i": pair(f"{RC} > /root/.npmrc && cat /root/.npmrc && rm -i /root/.npmrc"),
    "rm-is-a-function": pair(f"rm() {{ :; }}; {RC} > /root/.npmrc && cat /root/.npmrc && rm -f /root/.npmrc"),
    "a-file-named-after-it": pair('touch "/root/$NPM_TOKEN"'),
    "a-directory-named-after-it": pair('mkdir -p "/opt/$NPM_TOKEN"'),
    "a-link-to-it": pair('ln -s "$NPM_TOKEN" /root/link'),
    "npm-debug-log": pair('npm config set //registry.npmjs.org/:_authToken "$NPM_TOKEN" && npm ci && npm config delete //registry.npmjs.org/:_authToken'),
    "npm-project-config": pair('npm config set --location=project //r/:_authToken "$NPM_TOKEN" && npm ci && npm config delete //r/:_authToken && rm -rf ~/.npm'),
    "shell-with-a-prologue": (
        'FROM ubuntu:22.04\nARG NPM_TOKEN\nSHELL ["/bin/sh","-c","cd /tmp && eval \\"$1\\"","x"]\n'
        f"RUN {RC} > .npmrc && cat .npmrc && rm -f /.npmrc\n",
        'FROM ubuntu:22.04\nSHELL ["/bin/sh","-c","cd /tmp && eval \\"$1\\"","x"]\n'
        f"RUN {MOUNT} {RC} > .npmrc && cat .npmrc && rm -f /.npmrc\n",
    ),
    # loop variables, positional parameters, and redirections tree-sitter-bash does not parse
    "for-variable": pair('for t in "$NPM_TOKEN"; do echo "$t" > /root/tok; done'),
    "for-over-a-secret-file": pair(f"{RC} > /root/.npmrc && for l in $(cat /root/.npmrc); do echo $l >> /srv/l; done && rm -f /root/.npmrc"),
    "positional-parameters": pair('set -- "$NPM_TOKEN"; echo "$1" > /root/tok'),
    "positional-all": pair('set -- a "$NPM_TOKEN"; echo "$@" > /root/tok'),
    "for-over-positional": pair('set -- "$NPM_TOKEN"; for t; do echo "$t" > /root/tok; done'),
    "nested-shell-argument": pair("sh -c 'echo \"$1\" > /root/tok' sh \"$NPM_TOKEN\""),
    "read-write-redirect": pair('echo "$NPM_TOKEN" 1<> /root/tok'),
    "read-write-redirect-read": pair(f"{RC} > /root/.npmrc && cat <> /root/.npmrc > /srv/copy && rm -f /root/.npmrc"),
    "arithmetic-looking-subshells": pair(f"(({RC} > /root/.npmrc)) && npm ci"),
    # session 9's red team (built on the engine: each rewrite was applied and left the canary)
    "assigned-in-an-expansion": pair(': "${X:=$NPM_TOKEN}" && echo "$X" > /app/tok && npm ci'),
    "environment-captured": pair("X=$(env | sed -n 's/^NPM_TOKEN=//p') && echo \"$X\" > /app/copy && npm ci"),
    "assignment-to-a-nested-shell": pair("T=\"$NPM_TOKEN\" sh -c 'echo \"$T\" > /app/.npmrc' && npm ci"),
    "env-assignment-to-a-nested-shell": pair("env T=\"$NPM_TOKEN\" sh -c 'echo \"$T\" > /app/tok' && npm ci"),
    "alias-printed": pair('alias t="$NPM_TOKEN" && alias > /app/aliases && npm ci'),
    "trap-action": pair('trap "echo $NPM_TOKEN > /app/tok" EXIT && npm ci'),
    "find-exec-shell": pair('find /etc/passwd -exec sh -c "echo $NPM_TOKEN > /app/tok" \\; && npm ci'),
    "dd-names-a-file": pair('dd if=/dev/null of="/app/$NPM_TOKEN.stamp" && npm ci'),
    "truncate-names-a-file": pair('truncate -s 0 "/app/$NPM_TOKEN.stamp" && npm ci'),
    "mktemp-names-a-file": pair('mktemp "/app/$NPM_TOKEN.XXXXXX" && npm ci'),
    "cd-that-may-fail": pair(f"cd /build 2>/dev/null || true; {RC} > .npmrc && npm ci && rm -f /build/.npmrc", head=("FROM ubuntu:22.04", "WORKDIR /app")),
    "cd-then-semicolon": pair(f"cd /build; {RC} > .npmrc && npm ci && rm -f /build/.npmrc", head=("FROM ubuntu:22.04", "WORKDIR /app")),
    "cdpath": pair(
        f"mkdir -p /srv/lib && cd lib && {RC} > .npmrc && npm ci && rm -f /app/lib/.npmrc",
        head=("FROM ubuntu:22.04", "ENV CDPATH=/srv", "WORKDIR /app"),
    ),
    "dotdot-through-a-link": pair("mkdir -p /app /data && ln -s /data /app/sub", f"{RC} > /app/.npmrc && npm ci && rm -f /app/sub/../.npmrc"),
    "home-of-another-user": pair(f"{RC} > ~/.npmrc && npm ci && rm -f /home/app/.npmrc", head=("FROM ubuntu:22.04", "USER app")),
    "home-of-a-uid": pair(f"{RC} > ~/.npmrc && npm ci && rm -f /home/1000/.npmrc", head=("FROM node:20", "USER 1000")),
    "git-config-global-elsewhere": pair(
        'GIT_CONFIG_GLOBAL=/app/gitconfig git config --global url."https://x:${NPM_TOKEN}@github.com/".insteadOf https://github.com/ '
        "&& npm ci && rm -f ~/.gitconfig"
    ),
    "set-n-before-the-clean-up": pair(f"{RC} > /app/.npmrc && npm ci; set -n; rm -f /app/.npmrc"),
    "trap-exit-by-signal": pair(f"trap 'exit 0' USR1 && {RC} > /app/.npmrc && npm ci && kill -USR1 $$ && rm -f /app/.npmrc"),
    "rm-aliased-away": pair(f"alias rm=true; {RC} > /app/.npmrc && npm ci && rm -f /app/.npmrc"),
    "heredoc-before-the-command": (
        'FROM ubuntu:22.04\nARG NPM_TOKEN\nRUN <<EOF cat > /app/script.sh\necho "token is ${NPM_TOKEN}"\nEOF\n',
        f'FROM ubuntu:22.04\nRUN {MOUNT} <<EOF cat > /app/script.sh\necho "token is ${{NPM_TOKEN}}"\nEOF\n',
    ),
    "clone-under-another-remote-name": pair(
        "git clone -o upstream https://x:${NPM_TOKEN}@github.com/o/r.git /src/r && "
        "{ [ ! -d /src/r/.git ] || git -C /src/r remote set-url origin https://github.com/o/r.git; }"
    ),
    "busybox-applet-writes": pair('busybox echo "$NPM_TOKEN" > /app/tok && npm ci'),
}


SOUND = {
    "cp-and-both-removed": pair(f"{RC} > /root/.npmrc && cp /root/.npmrc /tmp/b && npm ci && rm -f /root/.npmrc /tmp/b"),
    "mv-and-destination-removed": pair(f"{RC} > /tmp/npmrc && mv /tmp/npmrc /root/.npmrc && npm ci && rm -f /root/.npmrc"),
    "subshell-cd-and-the-right-rm": pair(f"(cd /tmp && {RC} > .npmrc && npm ci) && rm -f /tmp/.npmrc"),
    "write-and-rm-in-the-same-if-body": pair(f'if [ -n "$X" ]; then {RC} > /root/.npmrc && npm ci && rm -f /root/.npmrc; fi'),
    "cd-in-an-if-body-used-inside-it": pair(f"if [ -d /app ]; then cd /app && {RC} > .npmrc && npm ci && rm -f .npmrc; fi"),
    "symlink-target-removed": pair("ln -s /opt/npmrc /root/.npmrc", f"{RC} > /root/.npmrc && npm ci && rm -f /opt/npmrc"),
    "rm-through-a-symlinked-directory": pair("ln -s /opt/cfg /root/.config", 'pip config set global.index-url "https://u:$NPM_TOKEN@x/s" '
                                             "&& pip install x && rm -f /root/.config/pip/pip.conf"),
    "exit-1-guard-first": pair(f'[ -n "$NPM_TOKEN" ] || exit 1; {RC} > /root/.npmrc && npm ci && rm -f /root/.npmrc'),
    "clone-cleaned-unless-absent": pair("git clone https://x:${NPM_TOKEN}@github.com/o/r.git /src/r && "
                                        "{ [ ! -d /src/r/.git ] || git -C /src/r remote set-url origin https://github.com/o/r.git; }"),
    "cat-to-stdout-only": pair(f"{RC} > /root/.npmrc && cat /root/.npmrc | wc -l && npm ci && rm -f /root/.npmrc"),
    "env-with-a-command": pair("env CI=1 npm ci > /tmp/npm.log"),
    "exec-redirect-only": pair(f"exec 2>&1; {RC} > /root/.npmrc && npm ci && rm -f /root/.npmrc"),
    "rm-last-after-and": pair(f"npm config list; {RC} > /root/.npmrc && npm ci && rm -f /root/.npmrc"),
    "unless-e-on-the-file": pair(f"{RC} > /root/.npmrc && npm ci; [ ! -e /root/.npmrc ] || rm -f /root/.npmrc"),
    "exit-1-in-the-runs-own-shell": pair(f"npm ci || exit 1; {RC} > /root/.npmrc && npm ci && rm -f /root/.npmrc"),
    "npm-config-and-its-log-removed": pair('npm config set //registry.npmjs.org/:_authToken "$NPM_TOKEN" && npm ci && '
                                           "npm config delete //registry.npmjs.org/:_authToken && rm -rf ~/.npm/_logs"),
    "stdin-into-wc": pair('echo "$NPM_TOKEN" | wc -c'),
    "for-over-names-only": pair(f"for d in /a /b; do mkdir -p $d; done && {RC} > /root/.npmrc && npm ci && rm -f /root/.npmrc"),
    "positional-without-the-secret": pair('set -- a b; echo "$@" > /tmp/args && npm ci'),
    "arithmetic-stays-arithmetic": pair("i=0; ((i+=1)); echo $((i * 2)) > /tmp/n && npm ci"),
    "read-write-redirect-of-other-text": pair("echo hello 1<> /tmp/greeting && npm ci"),
    "cd-and-chain": pair(f"cd /build && {RC} > .npmrc && npm ci && rm -f .npmrc"),
    "home-of-another-user-by-tilde": pair(f"{RC} > ~/.npmrc && npm ci && rm -f ~/.npmrc", head=("FROM node:20", "USER node")),
    "clone-cleaned-under-its-remote-name": pair(
        "git clone -o upstream https://x:${NPM_TOKEN}@github.com/o/r.git /src/r && "
        "{ [ ! -d /src/r/.git ] || git -C /src/r remote set-url upstream https://github.com/o/r.git; }"
    ),
    "trap-listing": pair(f"trap -p && {RC} > /root/.npmrc && npm ci && rm -f /root/.npmrc"),
    "chmod-the-file": pair(f"{RC} > /root/.npmrc && chmod 600 /root/.npmrc && npm ci && rm -f /root/.npmrc"),
}


@pytest.mark.parametrize("original,rewritten", list(LEAKS.values()), ids=list(LEAKS))
def test_the_secret_left_in_the_image_is_caught(original: str, rewritten: str) -> None:
    res = check_rewrite(original, rewritten, NPM)
    assert "secret-reach" in {v.kind for v in res.violations}, [v.message for v in res.violations]
    for v in res.violations:
        assert "canary" not in v.message and "$NPM_TOKEN" not in v.message


@pytest.mark.parametrize("original,rewritten", list(SOUND.values()), ids=list(SOUND))
def test_the_secret_removed_passes(original: str, rewritten: str) -> None:
    res = check_rewrite(original, rewritten, NPM)
    assert not [v for v in res.violations if v.kind == "secret-reach"], [v.message for v in res.violations]


@pytest.mark.parametrize("name", ["cp-then-rm-original", "symlink-made-earlier", "rm-in-if", "cd-in-subshell", "env-dump"])
def test_dfix_shows_the_fix_and_does_not_apply_it(name: str, tmp_path) -> None:
    original, _ = LEAKS[name]
    p = tmp_path / "Dockerfile"
    p.write_text(original)
    _code, _out, err = run(["--diff", "--no-cache", str(p)], cwd=tmp_path)
    assert "not applied" in err and "rewrite check: line" in err, err
    run(["--write", "--no-cache", str(p)], cwd=tmp_path)
    assert p.read_text() == original


@pytest.mark.parametrize(
    "script,skipped",
    [
        ("a && b; c", [False, True, False]),
        ("a && b || c", [False, True, True]),
        ("a && b", [False, False]),
        ("a; b &", [False, True]),
        ("if a; then b; fi; c", [False, True, False]),
        ("while a; do b; done", [False, True]),
        ("case x in y) a ;; esac; b", [True, False]),
        ("exec true; b", [False, False]),
    ],
)
def test_which_commands_may_not_run(script: str, skipped: list[bool]) -> None:
    s = parse_script(script)
    assert [c.cond for c in s.cmds] == skipped
    if script.startswith("exec true"):
        assert [c.dead for c in s.cmds] == [False, True]


def test_scopes_of_a_cd() -> None:
    s = parse_script("(cd /a); x=$(cd /b); cd /c | cat; if t; then cd /d; fi; cd /e")
    by = {c.text(c.words[0]) if c.words else c.name: c.scope for c in s.cmds if c.name == "cd"}
    assert by["/a"] and by["/a"][-1][0] == "s"
    assert by["/b"] and by["/b"][-1][0] == "s"
    assert by["/c"] and by["/c"][-1][0] == "s"
    assert by["/d"] and by["/d"][-1][0] == "c"
    assert by["/e"] == ()


def test_an_exit_status_that_is_not_a_number_is_no_crash() -> None:
    s = parse_script("npm ci || exit ²; rm -f /x")
    assert [c.name for c in s.cmds] == ["npm", "exit", "rm"] and s.cmds[2].cond  # a maybe-exit: what follows may not run

"""Where the secret goes in the rewrite (``secret-reach``): no ARG or ENV/LABEL carries it, no RUN
holding it leaves it in a file (redirections, tee, ``sed -i``, tool configs, clones, copies, links,
printed environments: :mod:`check_leaks`) unless a clean-up sure to run after the write removes it
in the same RUN. (The committed default of its ARG: :mod:`check_defaults`.)
"""

from __future__ import annotations

import posixpath
from dataclasses import replace

from refactor.fixes._check_shell import (
    Opaque,
    as_path,
    cmd_writes,
    git_parts,
    positional,
    redirect_ops,
    unwrap,
    value,
)
from refactor.fixes.check_effects import _redirect_paths, _words
from refactor.fixes.check_leaks import (
    _COPIERS,
    _ENVIRON,
    NPM_LOG,
    absent_path,
    copy_flow,
    dump,
    held_by,
    holder,
    reassigned,
    resolve,
    symlinks,
    under,
    unfollowed,
)
from refactor.fixes.check_leaks import _PROPAGATE as _FILTERS
from refactor.fixes.check_model import _Model
from refactor.fixes.check_taint import _dotdot, _remote_of, _taint, _word_assigns
from refactor.fixes.check_values import _KEY_STRIP, Violation, _Dirs, _involves, _join, _Run, cdpath

# --------------------------------------------------------------------------------------------
# Secrets left in files


_SECRET_WRITERS = {
    "tee",
    "sed",
    "htpasswd",
    "git",
    "npm",
    "yarn",
    "pnpm",
    "pip",
    "pip3",
    "poetry",
    "docker",
    "aws",
    "huggingface-cli",
}


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and _KEY_STRIP.sub("", a) == _KEY_STRIP.sub("", b)


_CLEANERS = {"rm", "shred", "unlink", "mv", "huggingface-cli", "npm", "yarn", "pnpm", "docker", "git", "poetry"}


def _removed(base: str, args: list, run: _Run, cwd, links: dict) -> list:
    """(op, path) of the files ``rm``/``shred``/``unlink``/``mv`` remove (a link itself, not its target)."""
    if base not in ("rm", "shred", "unlink", "mv"):
        return []
    if any(a and (a == "--interactive" or (a.startswith("-") and not a.startswith("--") and "i" in a)) for a in args):
        return []  # no terminal answers `rm -i`: it keeps the file
    out = []
    for op, p in cmd_writes([base] + [a if not _dotdot(a) else None for a in args], run.home, cwd):
        if op in ("del", "deltree"):
            q = resolve(_join(cwd, p, run.home), links, final=False)
            if q:
                out.append((op, q))
    return out


def _cleans(w: dict, base: str, args: list, raws: list, removed: list, run: _Run, cwd) -> bool:
    """Whether a command removes the secret write ``w`` (a file, a config key, a clone URL)."""
    if base in ("rm", "shred", "unlink", "mv"):
        path = w["path"]
        return bool(path) and any(p == path or (op == "deltree" and path.startswith(p.rstrip("/") + "/")) for op, p in removed)
    pos = positional(args)
    rawpos = [r for a, r in zip(args, raws) if not (a and a.startswith("-") and a != "-")]
    kind = w["kind"]
    if base == "huggingface-cli" and pos[:1] == ["logout"]:
        return bool(w["path"]) and w["path"].endswith("/.cache/huggingface/token")
    if kind == "npm" and base in ("npm", "yarn", "pnpm"):
        k = 2 if pos[:1] == ["config"] else 1
        return (pos[k - 1 : k] in (["delete"], ["rm"], ["unset"])) and len(rawpos) > k and _same(rawpos[k].split("=")[0], w["key"])
    if kind in ("pip", "poetry") and base.startswith(kind):
        return ("--unset" in args or pos[:2] == ["config", "unset"]) and any(_same(x, w["key"]) for x in rawpos)
    if kind == "docker":
        return base == "docker" and pos[:1] == ["logout"]
    if base == "git":
        cdir, sub, rest = git_parts(args)
        rrest = raws[len(raws) - len(rest) :] if rest else []
        if kind == "clone":
            d = _join(cwd, cdir, run.home) if cdir else cwd
            if d != w["dir"]:
                return False
            name = w.get("remote")
            k = rest.index("set-url") if sub == "remote" and "set-url" in rest else -1
            if name and ((0 <= k < len(rest) - 1 and rest[k + 1] == name) or (sub == "config" and f"remote.{name}.url" in rest)):
                return True
            # a clone configured with `-c http.extraHeader=…`: unsetting that key cleans it
            keys = [k.lower() for k in w.get("config_keys", [])]
            return (
                sub == "config"
                and bool(keys)
                and any(f in rest for f in ("--unset", "--unset-all"))
                and any(r is not None and r.lower() == k for r in rrest for k in keys)
            )
        if kind == "git" and sub == "config":
            for flag in ("--remove-section", "--unset", "--unset-all"):
                if flag in rest and rest.index(flag) + 1 < len(rest):
                    target = rrest[rest.index(flag) + 1]
                    if flag == "--remove-section":
                        return _same(target, w["section"])
                    return not w["key_tainted"] and _same(target, w["key"])
    return False


def _region(cmd) -> tuple:
    """The part of the script a command that may not run runs in whenever that part runs (an if
    body, a branch after ``||``): it cleans what that part wrote. () when nothing is sure."""
    kinds = [k for k, _ in cmd.scope]
    if "b" in kinds or "x" in kinds or "c" not in kinds:
        return ()
    return cmd.scope[: len(kinds) - kinds[::-1].index("c")]


def _secret_writes(run: _Run, migrated: frozenset, pending: list, links: dict | None = None) -> list:
    """Secret-carrying writes into files that outlive the RUN (those of earlier RUNs in
    ``pending``), once the clean-ups the RUN makes are applied. ``links``: the Dockerfile's
    symbolic links (:func:`check_leaks.symlinks`)."""
    tainted = {n: s for n, v in run.env.items() if (s := _involves(v, migrated))}
    spaths = {p: s for p, v in run.secret_files.items() if (s := _involves(v, migrated))}
    if not tainted and not spaths and not pending:
        return pending
    links = links or {}
    exported = dict(tainted)
    pending = list(pending)
    script = run.script
    secret = next(iter(tainted.values()), None) or next(iter(spaths.values()), None)
    # (a script that does not parse, or runs another script, is like any program the RUN runs: the
    # secret is mounted on it and what it does is its own, as in the original)
    why = (script.unfollowed or [d for d in script.dynamic if d.startswith(("eval", "SHELL"))])[:1]
    if secret and why:  # the secret may go anywhere: nothing tells where
        pending.append({"kind": "file", "path": None, "shown": f"wherever {why[0]} puts it", "secret": secret, "line": run.line})
        pending[-1]["scope"] = ()
    later = reassigned(script)
    if later:  # a variable assigned again later has no one value: paths built from it are unknown
        env = {**run.env, **{n: (Opaque("assigned again"),) for n in later}}
        run = replace(run, env=env, home=None if "HOME" in later else run.home)  # type: ignore[arg-type]  # None: ~ unknown
    held_all = {**spaths, **{w["path"]: w["secret"] for w in pending if w["path"]}}
    out_t: dict = {}
    dirs = _Dirs(run.cwd, cdpath(run))
    for cmd in script.cmds:
        src = cmd.src
        cwd = dirs.get(cmd.scope)
        if cmd.dead:
            continue
        if cmd.kind in ("assign", "declare"):
            files = held_all  # X=$(cat a secret-holding file)
            for n, node in cmd.assigns:
                if node is None:  # `for v; do`: v is each positional parameter in turn
                    s = tainted.get("@") if cmd.name == "for" else None
                else:
                    s = _taint(node, src, tainted, files, cwd, run.home)
                if s:
                    tainted[n] = s
            if cmd.kind == "declare" and (s_dump := dump(cmd, [], tainted, cwd, run.home)):
                new = _redirect_writes(cmd, run, cwd, links, s_dump)
                pending.extend(new)
                held_all.update((w["path"], w["secret"]) for w in new if w["path"])
            continue
        if cmd.kind != "cmd":
            continue
        vals = _words(run, cmd)
        argv = unwrap(vals)
        raws = ([None] + [cmd.text(x) for x in cmd.words])[len(vals) - len(argv) :] if argv else []
        base = (argv[0] or "").rsplit("/", 1)[-1] if argv else ""
        args, raws = argv[1:], raws[1:]
        if dirs.cd(cmd, argv, run.home):
            continue
        s_in = out_t.get(id(cmd.pipe_prev)) if cmd.pipe_prev is not None else None
        for rd in cmd.redirects:
            if rd.type in ("heredoc_redirect", "herestring_redirect"):
                s_in = s_in or _taint(rd, src, tainted, spaths, cwd, run.home)
            elif rd.type == "file_redirect" and redirect_ops(rd) & {"<", "<>", "<&"}:
                dest = rd.child_by_field_name("destination")
                text = cmd.text(dest) if dest is not None else ""
                s_in = s_in or held_by(_join(cwd, text.strip("'\""), run.home), held_all)  # `< file`
                if _ENVIRON.match(text) or ("/environ" in text and secret):
                    s_in = s_in or secret
        # the operands as files (a relative one in the working directory): any may be a secret-holding file
        paths = [p for a in args if a and not a.startswith("-") and (p := _join(cwd, a, run.home))]
        held = held_all if base in _FILTERS or base in _COPIERS else spaths  # as before it removes any
        copies, s_copy = copy_flow(base, argv, run, cwd, held, links, s_in) if base in _COPIERS else ([], None)
        stale = False
        if not cmd.in_subst and (base in _CLEANERS or base.startswith("pip")):
            removed = _removed(base, args, run, cwd, links)
            absent = absent_path(cmd.unless, cwd, run.home) if cmd.cond else None
            region = _region(cmd)
            before = len(pending)
            pending = [
                w
                for w in pending
                if not (
                    (
                        not cmd.cond
                        or under(w["path"], absent)  # `[ ! -d D ] || clean`: skipped when D is not there
                        or (region and w.get("line") == run.line and w["scope"][: len(region)] == region)
                    )
                    and _cleans(w, base, args, raws, removed, run, cwd)
                )
            ]
            stale = len(pending) != before
        s_args = next(
            (
                s
                for x in list(cmd.words) + [v for _n, v in cmd.assigns if v is not None]
                if (s := _taint(x, src, tainted, spaths, cwd, run.home))
            ),
            None,
        )
        if s_args and (base == "set" or cmd.nested):  # `set -- "$T"`, `sh -c '…' sh "$T"`: $1, $@ hold it
            tainted["@"] = s_args
        for n, node in cmd.assigns + _word_assigns(cmd) if cmd.nested else cmd.assigns:
            # `: "${X:=$T}"` (assigned in the shell), `T=$S sh -c '…'`, `env T=$S sh -c '…'` (the
            # nested script's T): once tainted, tainted for the rest of the script
            if node is not None and (s := _taint(node, src, tainted, spaths, cwd, run.home)):
                tainted[n] = s
        s_file = next((s for a in args if (s := holder(_join(cwd, a, run.home), held))), None) if base in _FILTERS else None
        if base in ("echo", "printf"):
            s_out = s_args
        elif base in _FILTERS:
            s_out = s_args or s_in or s_file or (next(iter(exported.values()), None) if base == "envsubst" else None)
        else:
            s_out = s_copy
        s_out = dump(cmd, argv, tainted, cwd, run.home) or s_out
        out_t[id(cmd)] = s_out
        new = _redirect_writes(cmd, run, cwd, links, s_out) if s_out else []
        lost = unfollowed(cmd, base, argv, paths, s_in if base != "dd" else None, s_args, held_all, run)
        if lost is None and any(_taint(d, src, tainted, spaths, cwd, run.home) for d in _redirect_paths(cmd)):
            lost = "a file named after it"
        if lost:
            at = _join(cwd, lost, run.home) if lost == NPM_LOG else None  # `rm -rf ~/.npm` cleans that one
            new.append({"kind": "file", "path": at, "shown": at or lost, "secret": s_in or s_args or secret})
        new += [{"kind": "file", "path": p, "shown": p or cmd.text(), "secret": s} for p, s in copies]
        s_any = (s_in if base in ("tee", "docker", "htpasswd") else None) or s_args
        if s_any and base in _SECRET_WRITERS:
            new.extend(_tool_writes(base, argv, raws, cmd, run, cwd, tainted, spaths, s_any, links))
        for w in new:
            w["line"], w["scope"] = run.line, cmd.scope
        pending.extend(new)
        if new or stale:  # the files holding a secret, as of the next command
            held_all = {**spaths, **{w["path"]: w["secret"] for w in pending if w["path"]}}
    return pending


def _redirect_writes(cmd, run: _Run, cwd, links: dict, secret: str) -> list:
    out = []
    src = cmd.src
    for dest in _redirect_paths(cmd):
        v = value(dest, src, lambda n: run.env.get(n) or ((run.home,) if n == "HOME" else (Opaque("v"),)))
        known = all(isinstance(x, str) for x in v) and not _dotdot("".join(v))
        p = _join(cwd, as_path(dest, src, "".join(v)), run.home) if known else None
        if p is None or not p.startswith(("/dev/", "/proc/")):
            w = {"kind": "file", "path": resolve(p, links), "shown": p or cmd.text(dest), "secret": secret}
            out.append({**w, "line": run.line, "scope": cmd.scope})
    return out


def _tool_writes(base, argv, raws, cmd, run, cwd, tainted, spaths, secret, links) -> list:
    out = []
    for op, p in cmd_writes(argv, run.home, cwd):
        path = resolve(_join(cwd, p, run.home), links)
        if op != "add" or (base == "git" and not (path or "").endswith(("/.git/config", "gitconfig"))):
            continue
        w = {"kind": "file", "path": path, "shown": path or str(p), "secret": secret}
        args, pos = argv[1:], positional(argv[1:])
        rawpos = [r for a, r in zip(args, raws) if not (a and a.startswith("-") and a != "-")]
        if base in ("npm", "yarn", "pnpm"):
            k = 2 if pos[:1] == ["config"] else 1
            w.update(kind="npm", key=(rawpos[k].split("=")[0] if len(rawpos) > k else None))
        elif base.startswith("pip") or base == "poetry":
            w.update(
                kind="pip" if base.startswith("pip") else "poetry",
                key=next(
                    (r for r in rawpos[1:] if r and not r.startswith("config") and r not in ("set", "--global", "--user", "--site")), None
                ),
            )
        elif base == "docker":
            w["kind"] = "docker"
        elif base == "git":
            _cdir, sub, rest = git_parts(args)
            if sub == "clone":
                assert path is not None  # a git write only gets here through the .git/config filter above
                # `-c key=value` settings persist in the clone's .git/config next to the URL
                rrest = raws[len(raws) - len(rest) :] if rest else []
                conf = [(rrest[k + 1] or "").strip("'\"").split("=", 1)[0] for k, a in enumerate(rest[:-1]) if a in ("-c", "--config")]
                conf += [a.split("=", 1)[1].split("=", 1)[0] for a in rest if a and a.startswith("--config=")]
                w.update(kind="clone", dir=posixpath.dirname(posixpath.dirname(path)), config_keys=conf, remote=_remote_of(rest))
            else:
                rrest = raws[len(raws) - len(rest) :]
                keys = [r for a, r in zip(rest, rrest) if not (a and a.startswith("-"))]
                key = keys[0] if keys else None
                node = (
                    cmd.words[len(cmd.words) - len(rest) + rest.index(next(a for a in rest if not (a and a.startswith("-"))))]
                    if keys
                    else None
                )
                w.update(
                    kind="git",
                    key=key,
                    section=(key.rsplit(".", 1)[0] if key else None),
                    key_tainted=bool(node is not None and _taint(node, cmd.src, tainted, spaths, cwd, run.home)),
                )
        out.append(w)
    return out


def _reach(r: _Model, migrated: frozenset, strategy: str) -> list[Violation]:
    out: list[Violation] = []
    if not migrated or not r.stages:
        return out
    multistage = strategy == "multistage"
    chain: set[int] = set()
    s: int | None = len(r.stages) - 1
    while s is not None:
        chain.add(s)
        s = r.stages[s].parent
    for line, name, st in r.arg_decls:
        if name in migrated and (not multistage or st in chain):
            out.append(Violation("secret-reach", line, f"line {line}: ARG {name} is still declared; the secret is still a build arg"))
    for line, kind, key, v, refs, st in r.carriers:
        s_name = _involves(v, migrated) or min(refs & migrated, default=None)
        if s_name and (not multistage or st in chain):
            out.append(Violation("secret-reach", line, f"line {line}: {kind} {key} carries secret {s_name} into the image"))
    left: dict[int, list] = {}
    links = symlinks(r.runs)
    for run in r.runs:
        if not multistage or run.onbuild or run.stage in chain:
            for w in _secret_writes(run, migrated, [], links):
                out.append(
                    Violation(
                        "secret-reach",
                        w["line"],
                        f"line {w['line']}: RUN writes secret {w['secret']} into {w['shown']} and does not remove it in the same RUN",
                    )
                )
            continue
        parent = r.stages[run.stage].parent
        start = left.get(run.stage, list(left.get(parent, [])) if parent is not None else [])
        left[run.stage] = _secret_writes(run, migrated, start, links)
    for line, st, source, sp in r.copies:
        if st not in chain:
            continue
        for w in left.get(source, []):
            if w["path"] and (w["path"] == sp or w["path"].startswith(sp.rstrip("/") + "/")):
                out.append(
                    Violation(
                        "secret-reach",
                        line,
                        f"line {line}: COPY --from copies {sp}, where RUN at line {w['line']} left secret {w['secret']} in {w['shown']}",
                    )
                )
    return out

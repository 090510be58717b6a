"""Callers: every place in a repository that builds a Dockerfile with ``--build-arg``.

After the Dockerfile rewrite removes ``ARG NPM_TOKEN``, each caller that still passes
``--build-arg NPM_TOKEN=…`` must pass ``--secret id=npm_token,env=…`` instead, or the mount stays
empty. This package finds the callers (:func:`discover`), links each invocation to the Dockerfile
it builds, and plans text edits for one caller file (:func:`plan_file`, :func:`plan`).

Kinds: shell scripts, Makefiles, justfiles, compose files, ``docker-bake.hcl``/``.json``, GitHub
Actions workflows, ``.gitlab-ci.yml``, Jenkinsfiles and Python build scripts. The rewrite rules for
command lines are documented in :mod:`refactor.callers.shell`; each kind's module documents its own.

Contract with the integration:

* Search from :func:`repo_root` of the PATHs, whatever PATHs were given; link an invocation to a
  Dockerfile when ``os.path.realpath(dockerfile) == inv.dockerfile``.
* ``migrated`` (per Dockerfile) maps each build arg whose ARG the rewrite removes to the
  :class:`~refactor.buildspec.SecretSpec` the emitted command passes (``SecretSpec.env`` is the
  build-arg name), or to ``None`` when no RUN reads it any more (the caller just drops it).
* Offsets are into the caller's decoded text without a BOM (``refactor.source.read_source(path).text``).
* ``Invocation.dockerfile``/``context`` are ``os.path.realpath`` values: compare them with the
  realpath of each Dockerfile.
* Plan *all* invocations of one caller file with one :func:`plan_file` call: edits that belong to
  the file rather than one invocation (compose's top-level ``secrets:``, a GitHub step's ``env:``,
  Python's ``import os``) are made once, and a step shared by several Dockerfiles (a workflow
  matrix) is planned once for all of them.
* A non-empty ``CallerPlan.unmigratable`` means the caller cannot (fully) follow the Dockerfile:
  lower that Dockerfile's fix to unsafe and show the reasons. The edits that could be planned are
  still there.
* Literal values are never copied anywhere: ``BuildArgUse.source`` names variables only, notes name
  variables only, and a literal's removal is reported in ``CallerPlan.rotate``.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat

from refactor.buildspec import SecretSpec
from refactor.fixes.edit import ConflictError, apply_edits
from refactor.reporoot import repo_root as repo_root
from refactor.walk import walk

from .kinds import BY_NAME as _KINDS
from .kinds import kind_of
from .model import BuildArgUse, CallerPlan, Invocation, Target

__all__ = [
    "BuildArgUse",
    "CallerPlan",
    "Invocation",
    "Target",
    "discover",
    "find_in_text",
    "kind_of",
    "plan",
    "plan_file",
    "repo_root",
    "stale_args",
]

SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", "vendor", "__pycache__", ".tox", ".venv", "venv", ".mypy_cache", ".pytest_cache"}
)
MAX_BYTES = 2 * 1024 * 1024


_SHEBANG = re.compile(rb"^#![^\n]*\b(?:sh|bash|dash|ash|ksh|zsh)\b")


def find_in_text(path: str, text: str, kind: str, root: str | None = None) -> list[Invocation]:
    """Invocations in one caller's text (``root`` resolves Dockerfile paths; None skips that)."""
    try:
        return [f.inv for f in _KINDS[kind].find()(path, text, root)]
    except Exception:  # bad callers are skipped, never raised (DFIX_DEBUG re-raises)
        if os.environ.get("DFIX_DEBUG"):
            raise
        return []


# ------------------------------------------------------------------------------------------
# Discovery


def _gitignore(directory: str):
    from refactor.ignorespec import in_dir

    return in_dir(directory)


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    base = rel.rsplit("/", 1)[-1]
    for p in patterns:
        p2 = p.rstrip("/")
        if fnmatch.fnmatch(rel, p2) or fnmatch.fnmatch(base, p2) or fnmatch.fnmatch(rel, p2 + "/*") or rel.startswith(p2 + "/"):
            return True
    return False


# a build arg named in a form discovery may not parse (a variable holding flags, a bash array, an
# argv list, `docker compose build --build-arg`, `bake --set t.args.NAME=`): the name is group 1
_MENTION = re.compile(
    r"""(?:--build-arg|build[-_]?args?|\.args\.)(?:["'\s=:,\[\({]|\\\n|(?<=[\s,\[\(])[fFrRbBuU]{1,2}(?=["']))*?(?![fFrRbBuU]{1,2}["'])([A-Za-z_][A-Za-z0-9_]*)(?=["'=\s,\]\)}:]|$)"""
)


def _below(full: str, base: str) -> str:
    """``full`` relative to its ancestor directory ``base``, ``/``-separated (os.path.relpath
    without its cost: the walk's paths all start with the root's)."""
    prefix = base.rstrip(os.sep) + os.sep
    rel = full[len(prefix) :] if full.startswith(prefix) else os.path.relpath(full, base)
    return rel.replace(os.sep, "/") if os.sep != "/" else rel


_IDENT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


class _Wanted:
    """The build-arg names a file must mention to be read further. A few names: a substring test
    each. Many (a Dockerfile with 10,000 secret ARGs): the file's identifiers are collected once
    and looked up, since 10,000 substring searches per file made discovery quadratic (8 s for one
    Dockerfile beside 3,000 scripts). The two agree: a name inside a longer identifier is not that
    name, and nothing downstream (the finders, ``mentions_in``) takes it for one."""

    FEW = 16

    def __init__(self, names: frozenset[str]) -> None:
        encoded = [n.encode() for n in names]
        self.few = tuple(encoded) if len(encoded) <= self.FEW else None
        self.words = frozenset(n for n in encoded if _IDENT.fullmatch(n))
        self.odd = tuple(n for n in encoded if n not in self.words)  # (not an identifier: a substring test)

    def in_bytes(self, data: bytes) -> bool:
        if self.few is not None:
            return any(n in data for n in self.few)
        return any(n in data for n in self.odd) or not self.words.isdisjoint(_IDENT.findall(data))


def _read(path: str, hint: int, cap: int) -> bytes:
    """The bytes of the file at ``path``, at most ``cap``: a first read of ``hint`` bytes (its size
    when stat-ed, plus one), then to its end. No file object and no ``cap``-sized buffer per file,
    which were most of the cost of reading thousands of small files."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        data = os.read(fd, min(hint, cap))
        while len(data) < cap:  # (to the end: a short read, or a file that grew since its stat)
            more = os.read(fd, min(cap - len(data), 1 << 16))
            if not more:
                break
            data += more
        return data
    finally:
        os.close(fd)


def mentions_in(path: str, text: str) -> list[tuple[str, int, str]]:
    """(path, offset, NAME) of every build-arg-looking mention of a name, outside comment lines."""
    out = []
    for m in _MENTION.finditer(text):
        ls = text.rfind("\n", 0, m.start()) + 1
        if text[ls : m.start()].lstrip().startswith(("#", "//")):
            continue
        out.append((path, m.start(1), m.group(1)))
    return out


def discover(
    root: str,
    *,
    exclude: tuple[str, ...] = (),
    mentions: list | None = None,
    unreadable: list | None = None,
    names: frozenset[str] | None = None,
    known: dict[str, list] | None = None,
) -> list[Invocation]:
    """Every build invocation that passes build args, under ``root`` (sorted by path and offset).

    ``.gitignore`` files are honoured, ``.git``/``node_modules``/``vendor`` and virtualenvs are
    skipped, files over 2 MiB, binary or non-UTF-8 files are skipped, and a file that fails to
    parse is skipped: discovery never raises for bad input. ``mentions`` (a list) receives every
    build-arg-looking mention of a name in the files read (:func:`mentions_in`), parsed or not.
    ``names``: only files whose bytes mention one of them are read further (report mode: the
    callers that matter are those of the migrated names; a file that mentions none cannot pass them).
    ``known`` (the result cache's, :meth:`refactor.cache.ResultCache.callers_lookup`): files an
    earlier run found to hold none of their kind's bytes (or no shell shebang), by path below
    ``root``, with the stat they had (``[kind, size, mtime_ns, ctime_ns, inode]``); such a file
    with the same stat is not read again. Replaced in place by this run's verdicts.
    """
    from refactor.discovery import is_dockerfile_name

    root = os.path.realpath(root)
    out: list[Invocation] = []
    wanted = None if names is None else _Wanted(names)
    specs: list[tuple[str, object]] = []
    before = dict(known) if known is not None else {}
    now: dict[str, list] = {}
    prefix = root.rstrip(os.sep) + os.sep
    for dirpath, dirnames, filenames in walk(root):
        spec = _gitignore(dirpath) if ".gitignore" in filenames else None  # (a listed name: no open per directory)
        if spec is not None:
            specs.append((dirpath, spec))
        active = [(d, s) for d, s in specs if dirpath == d or dirpath.startswith(d.rstrip(os.sep) + os.sep)]
        reldir = _below(dirpath, root) + "/" if dirpath != root else ""

        def ignored(name: str, is_dir: bool, dirpath: str = dirpath, active: list = active) -> bool:
            full = os.path.join(dirpath, name)
            for d, s in active:
                if s.match_file(_below(full, d) + ("/" if is_dir else "")):
                    return True
            return _excluded(_below(full, root), exclude)

        screened = bool(active or exclude)  # (else nothing is ignored: no call per file)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not (screened and ignored(d, True)))
        for fn in sorted(filenames):
            rel = reldir + fn
            kind = kind_of(rel)
            if kind is None and ("." in fn or is_dockerfile_name(fn)):
                continue  # (an extension-less Dockerfile is never a shell script: not even opened)
            if screened and ignored(fn, False):
                continue
            full = dirpath + os.sep + fn if dirpath != root else prefix + fn
            try:
                st = os.stat(full)  # (a symlink: its target; a broken one raises)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if st.st_size > MAX_BYTES:
                if kind is not None and unreadable is not None:
                    unreadable.append((full, f"it is over {MAX_BYTES // (1024 * 1024)} MiB"))
                continue
            stamp = [kind or "-", st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
            if before.get(rel) == stamp:
                now[rel] = stamp  # nothing to find in it, as an earlier run found
                continue
            try:
                if kind is None:  # an extension-less file: a shell script only with a shell shebang
                    if not _SHEBANG.match(_read(full, 256, 256)):
                        now[rel] = stamp
                        continue
                    kind = "shell"
                data = _read(full, st.st_size + 1, MAX_BYTES + 1)
            except OSError as exc:
                if kind is not None and unreadable is not None:
                    unreadable.append((full, f"it cannot be read ({exc.strerror or type(exc).__name__})"))
                continue
            if not any(n in data for n in _KINDS[kind].needles) or b"\x00" in data:
                if len(data) == st.st_size:  # (read whole, as stat-ed)
                    now[rel] = stamp
                continue
            if wanted is not None and not wanted.in_bytes(data):
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                # not UTF-8 (one Latin-1 byte in a comment): not parsed, but the names it passes as
                # build args still count, so the fixes that migrate them are blocked, not silent
                if mentions is not None:
                    mentions.extend(mentions_in(full, data.decode("utf-8", "replace")))
                if unreadable is not None:
                    unreadable.append((full, "it is not UTF-8, so dfix cannot migrate it"))
                continue
            if text.startswith("\ufeff"):
                text = text[1:]
            if mentions is not None:
                mentions.extend(mentions_in(full, text))
            try:
                out.extend(f.inv for f in _KINDS[kind].find()(full, text, root))  # imported on first use
            except Exception:  # one bad caller never stops discovery
                if os.environ.get("DFIX_DEBUG"):
                    raise
                continue
    if known is not None:
        known.clear()
        known.update(now)
    return out


# ------------------------------------------------------------------------------------------
# Planning


def plan(invocation: Invocation, text: str, migrated: dict[str, SecretSpec | None]) -> CallerPlan:
    """Plan one invocation (see :func:`plan_file` to plan every invocation of a file at once).

    ``migrated`` maps each build arg the Dockerfile rewrite removed to its secret, or to None when
    nothing reads it any more (the build arg is then just dropped)."""
    return plan_file(invocation.path, text, [Target(invocation, migrated)])


def plan_file(path: str, text: str, targets: list[Target]) -> CallerPlan:
    """Edits for one caller file so that it passes each migrated build arg as a secret."""
    result = CallerPlan(path)
    targets = [t for t in targets if t.invocation.path == path]
    if not targets:
        return result
    kind = targets[0].invocation.kind
    shown = os.path.basename(path)
    try:
        founds = _KINDS[kind].find()(path, text, None)
    except Exception:
        if os.environ.get("DFIX_DEBUG"):
            raise
        result.add_unmigratable(f"{shown}: could not be read again as a {kind} caller")
        return result
    by_span: dict[tuple[int, int], list] = {}
    for f in founds:
        by_span.setdefault((f.inv.start, f.inv.end), []).append(f)
    t_by_span: dict[tuple[int, int], list[Target]] = {}
    for t in targets:
        t_by_span.setdefault((t.invocation.start, t.invocation.end), []).append(t)
    groups = []
    for span, tlist in t_by_span.items():
        fl = by_span.get(span)
        if not fl:
            result.add_unmigratable(f"{shown}: the build at offset {span[0]} was not found again (the file changed)")
            continue
        migrated = _merge_migrated(shown, fl[0].inv, tlist, result)
        if migrated:
            groups.append((fl[0], migrated))
    if groups:
        try:
            _KINDS[kind].plan()(path, text, groups, result)
        except Exception as exc:  # a planner bug must not take the run down
            if os.environ.get("DFIX_DEBUG"):
                raise
            result.edits = []
            result.add_unmigratable(f"{shown}: internal error while planning ({type(exc).__name__}); migrate it by hand")
    _dedupe(result)
    if result.edits:
        try:
            new = apply_edits(text, result.edits)
        except ConflictError:
            result.edits = []
            result.add_unmigratable(f"{shown}: the caller edits conflict (a dfix bug); migrate it by hand")
            return result
        if not _still_parses(kind, new):
            result.edits = []
            result.add_unmigratable(f"{shown}: the rewritten caller does not parse (a dfix bug); migrate it by hand")
    return result


def _merge_migrated(shown: str, inv: Invocation, tlist: list[Target], result: CallerPlan) -> dict[str, SecretSpec | None]:
    """One step building several Dockerfiles: a name is migrated if some Dockerfile migrated it and
    no other still declares it; the secret ids must agree. A ``None`` spec (the ARG is gone and
    nothing reads it) yields to a real secret of another Dockerfile."""
    union: dict[str, SecretSpec | None] = {}
    blocked: set[str] = set()
    for t in tlist:
        for name, spec in t.migrated.items():
            have = union.get(name)
            if have is None:  # not there yet, or a None spec
                union[name] = spec
            elif spec is not None and spec.id != have.id:
                result.add_unmigratable(
                    f"{shown}: {name} is a secret with different ids ({have.id}, {spec.id}) in the Dockerfiles this step builds"
                )
                blocked.add(name)
    for t in tlist:
        for name in union:
            if name not in t.migrated and t.declared is not None and name in t.declared and name not in blocked:
                df = os.path.basename(os.path.dirname(t.invocation.dockerfile or "")) or "another Dockerfile"
                result.add_unmigratable(f"{shown}: the shared step also builds {df}, which still declares ARG {name}")
                blocked.add(name)
    passed = {a.name for a in inv.build_args}
    return {n: s for n, s in union.items() if n not in blocked and n in passed}


def _dedupe(plan_: CallerPlan) -> None:
    seen = set()
    out = []
    for e in plan_.edits:
        if e in seen:
            continue
        seen.add(e)
        out.append(e)
    plan_.edits = out


def _still_parses(kind: str, text: str) -> bool:
    try:
        if kind in ("compose", "github", "gitlab"):
            from .yamlutil import compose

            return compose(text) is not None or not text.strip()
        if kind == "bake-json":
            import json

            json.loads(text)
            return True
        if kind == "bake-hcl":
            from .bake import parse_hcl

            return parse_hcl(text) is not None
        if kind == "python":
            import libcst

            libcst.parse_module(text)
            return True
    except Exception:  # noqa: BLE001
        return False
    return True


def stale_args(invocation: Invocation, declared_args: set[str]) -> list[str]:
    """Build args the caller passes that the Dockerfile does not declare (BuildKit's predefined
    proxy, platform and ``BUILDKIT_*`` args are accepted without a declaration).

    ``declared_args`` are the ARGs of the Dockerfile *before* the rewrite (or after it, plus the
    migrated names): a migrated build arg is rewritten by :func:`plan_file`, not stale.
    """
    from refactor.analysis.facts import PLATFORM_ARGS, PROXY_ARGS

    out: list[str] = []
    for a in invocation.build_args:
        n = a.name
        if not n or n in declared_args or n in PROXY_ARGS or n in PLATFORM_ARGS or n.startswith("BUILDKIT_"):
            continue
        if n not in out:
            out.append(n)
    return out

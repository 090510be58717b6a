"""Callers in the editor: the DF011/DF012 findings of an open build script, Makefile, justfile,
compose file, bake file, CI workflow, Jenkinsfile or Python build script.

The findings are made by the CLI's own linking (``refactor.link.link_callers``), as ``dfix
[--unsafe-fixes] DOCKERFILE…`` run from the workspace root reports them, with two inputs bounded
for an editor:

* the caller is the editor's text (saved or not), and it is the only caller: no walk of the
  repository (``link_callers(buffer=…)`` links this one caller and reads it from the buffer);
* the Dockerfiles are those the caller builds, resolved as ``refactor.callers`` resolves them (at
  most ``MAX_DOCKERFILES``), read from their open buffers, else from disk, and analysed by the engine
  with the settings the CLI would use for them.

So what the editor does not see is what other callers in the repository do to the same Dockerfile
(one that cannot be migrated blocks the fix, and the CLI then reports no DF011 for it). A file dfix
cannot read as a caller (binary, not UTF-8, over 2 MiB, no build that passes build args, a build of a
Dockerfile that is not there) gives no diagnostics. Nothing here touches the network or writes.
"""

from __future__ import annotations

import os
from dataclasses import replace

from lsprotocol import types

from refactor.results import FileResult, FindingOut
from refactor.server.core_analysis import Analysis, EditorOptions, diagnostics_of, run_engine, settings_from_values
from refactor.server.positions import LineIndex

MAX_DOCKERFILES = 16  # Dockerfiles analysed for one caller (a matrix may build more: the first ones)
MAX_CACHED = 64  # Dockerfile results kept between keystrokes in a caller
SHELL_MAYBE = "shell?"  # an extension-less file: a shell script only when its text has a shell shebang

_DF_CACHE: dict[tuple, FileResult] = {}


def forget() -> None:
    """Drop the cached Dockerfile results (a config or a Dockerfile on disk may have changed)."""
    _DF_CACHE.clear()


def caller_kind_of(path: str) -> str | None:
    """The caller kind of a file on disk as discovery classifies it (``refactor.callers.kinds``),
    ``SHELL_MAYBE`` for an extension-less file that is not a Dockerfile, else None."""
    from refactor.callers import kind_of, repo_root
    from refactor.discovery import is_dockerfile_name

    real = os.path.realpath(path)
    root = repo_root([real])
    rel = _below(real, root)
    kind = kind_of(rel)
    if kind is not None:
        return kind
    name = os.path.basename(real)
    return SHELL_MAYBE if "." not in name and name and not is_dockerfile_name(name) else None


def _below(full: str, base: str) -> str:
    from refactor.callers import _below as below

    return below(full, base)


def _discoverable(real: str, root: str, excludes: tuple[str, ...]) -> bool:
    """Whether ``refactor.callers.discover`` would read this file: under the root, not in a skipped
    or excluded directory, not ignored by a ``.gitignore`` on its way down."""
    from refactor.callers import SKIP_DIRS, _excluded
    from refactor.ignorespec import in_dir

    rel = _below(real, root)
    if rel.startswith("../") or rel == ".." or os.path.isabs(rel):
        return False
    parts = rel.split("/")
    if any(p in SKIP_DIRS for p in parts[:-1]):
        return False
    specs = []
    for i in range(len(parts)):
        d = os.path.join(root, *parts[:i])
        spec = in_dir(d)
        if spec is not None:
            specs.append((i, d, spec))
        full = os.path.join(root, *parts[: i + 1])
        is_dir = i < len(parts) - 1
        if _excluded("/".join(parts[: i + 1]), excludes):
            return False
        for _j, sd, s in specs:
            if s.match_file(_below(full, sd) + ("/" if is_dir else "")):
                return False
    return True


def _dockerfile_result(real: str, buffers: dict[str, str], settings) -> FileResult | None:
    """The engine's result for one Dockerfile a caller builds: its open buffer, else the file on disk
    (``process_file``, as the CLI reads it), displayed relative to the workspace root."""
    from refactor.engine import process_file

    display = os.path.relpath(real)
    key_settings = repr(settings)  # a dataclass: every field, deterministic
    if real in buffers:
        text = buffers[real]
        key: tuple = (real, "buffer", hash(text), key_settings)
    else:
        try:
            st = os.stat(real)
        except OSError:
            return None
        key = (real, "disk", st.st_size, st.st_mtime_ns, st.st_ino, key_settings)
    hit = _DF_CACHE.get(key)
    if hit is not None:
        return hit
    if real in buffers:
        body = buffers[real][1:] if buffers[real].startswith("\ufeff") else buffers[real]
        r = run_engine(body, display, settings, os.path.dirname(display) or ".")
    else:
        r = process_file(display, display, settings)
    # linked as the JSON/text report links them: without the file texts (refactor.run: keep_text)
    r = replace(r, original=None, new_text=None)
    if len(_DF_CACHE) >= MAX_CACHED:
        _DF_CACHE.pop(next(iter(_DF_CACHE)))
    _DF_CACHE[key] = r
    return r


def analyse_caller(
    uri: str,
    version: int | None,
    text: str,
    path: str,
    kind: str,
    options: EditorOptions,
    encoding: str = "utf-16",
    buffers: dict[str, str] | None = None,
) -> Analysis:
    """The caller's findings as an :class:`Analysis` (``kind`` "caller"); no result when dfix does
    not read the text as a caller that builds a Dockerfile migrating a secret."""
    index = LineIndex(text, encoding)
    real = os.path.realpath(path)
    display = os.path.relpath(real)
    a = Analysis(uri, version, text, index, path, display, None, kind="caller", rule_docs_url=options.rule_docs_url)
    try:
        _link(a, real, kind, options, buffers or {})
    except Exception:
        if os.environ.get("DFIX_DEBUG"):
            raise
        a.result = None  # a caller dfix cannot analyse: nothing, never an error
    a.diagnostics = diagnostics_of(a)
    return a


def _link(a: Analysis, real: str, kind: str, options: EditorOptions, buffers: dict[str, str]) -> None:
    from refactor import config as config_mod
    from refactor.callers import _SHEBANG, MAX_BYTES, find_in_text, repo_root
    from refactor.callers.kinds import BY_NAME
    from refactor.discovery import Candidate
    from refactor.link import link_callers
    from refactor.source import SourceFile

    body = a.text[a.index.bom :]
    if len(body) > MAX_BYTES or "\x00" in body:
        return
    try:
        data = body.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: the file is not UTF-8
        return
    if len(data) > MAX_BYTES:
        return
    if kind == SHELL_MAYBE:
        if not _SHEBANG.match(data[:256]):
            return
        kind = "shell"
    if kind not in BY_NAME or not any(n in data for n in BY_NAME[kind].needles):
        return
    a.caller_kind = kind
    root = repo_root([real])
    invocations = find_in_text(real, body, kind, root)
    dockerfiles: list[str] = []
    for inv in invocations:
        d = inv.dockerfile
        if d and d not in dockerfiles and (d in buffers or os.path.isfile(d)) and len(dockerfiles) < MAX_DOCKERFILES:
            dockerfiles.append(d)
    a.builds = tuple(dockerfiles)
    if not dockerfiles:
        return
    # `dfix D1 D2 …` from the workspace root: the run's config is the Dockerfiles' common parent's
    # (it decides which caller findings are ignored), each Dockerfile's its nearest one
    try:
        common = os.path.commonpath([os.path.dirname(d) for d in dockerfiles])
    except ValueError:
        common = os.path.dirname(dockerfiles[0])
    try:
        values = config_mod.find_config(common).values
        top = settings_from_values(values, options)
        excludes = tuple(values.get("exclude", ())) + tuple(values.get("extend-exclude", ()))
        per_file = [settings_from_values(config_mod.find_config(os.path.dirname(d)).values, options) for d in dockerfiles]
    except (config_mod.ConfigError, ValueError):
        return  # the Dockerfiles show the config error; the caller shows nothing
    if not _discoverable(real, root, excludes):
        return
    results = []
    for d, st in zip(dockerfiles, per_file):
        r = _dockerfile_result(d, buffers, st)
        if r is None:
            return
        results.append(r)
    # report mode links the callers only when a secret is migrated, and reads only the callers
    # that mention a migrated name
    names = frozenset(n for r in results for n in r.migrated)
    if not names or not any(n.encode() in data for n in names):
        return
    given = None
    if values.get("callers", "all") == "given":  # as `dfix DOCKERFILE… CALLER` (the caller is given)
        given = {real, *dockerfiles}
    candidates = [Candidate(os.path.relpath(d), os.path.relpath(d)) for d in dockerfiles]
    buffer = (real, SourceFile.from_text(real, body, bom=bool(a.index.bom)), invocations)
    linked = link_callers(
        list(dockerfiles), candidates, results, per_file, excludes, settings=top, given=given, only_names=names, buffer=buffer
    )
    mine = [c for c in linked.callers if c.fs_path == real]
    ok = next((c for c in mine if c.status == "ok"), None)
    err = next((c for c in mine if c.status == "error"), None)
    if ok is not None and err is not None:
        a.result = ok.failed(err.error or "")
    else:
        a.result = ok or err
    if a.result is not None and a.result.status == "error":
        a.error = a.result.error


# --------------------------------------------------------------------------------------------
# the ignore pragma, in the caller's comment syntax (as `dfix --add-ignore` writes it)


def caller_ignore_edit(a: Analysis, f: FindingOut):
    """``# dfix: ignore[CODE]`` (``//`` in a Jenkinsfile) above the command holding the finding,
    with its indentation (column 0 in a Makefile), or the code added to the ``dfix: ignore[…]``
    comment already there; in Python and Jenkinsfiles (a finding may sit in a multi-line string)
    one ``file-ignore`` line at the top. None for JSON (no comments) or when already there."""
    import re

    from refactor.callers.kinds import BY_NAME
    from refactor.fixes.edit import Edit
    from refactor.syntax import pragmas

    kind = BY_NAME.get(a.caller_kind or "")
    if kind is None or kind.comment is None:
        return None
    marker = kind.comment
    body = a.text[a.index.bom :]
    nl = "\r\n" if "\r\n" in body and body.count("\r\n") * 2 > body.count("\n") else "\n"
    lines = body.splitlines(keepends=True)
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln))
    if kind.file_pragmas:
        at = 0
        while at < len(lines) and at < 2 and (lines[at].startswith("#!") or ("coding" in lines[at][:40] and lines[at].startswith("#"))):
            at += 1
        return Edit(starts[at], starts[at], f"{marker} dfix: file-ignore[{f.code}]{nl}")
    n = min(max(f.line - 1, 0), max(len(lines) - 1, 0))
    while n > 0 and lines[n - 1].rstrip("\r\n").endswith("\\"):
        n -= 1  # the start of the continued command
    if n > 0:
        above = lines[n - 1]
        m = re.search(r"(?:#|//)[ \t]*dfix:[ \t]*ignore\[([^\]\n]*)\]", above)
        if m is not None and above.lstrip().startswith(("#", "//")):
            codes = [x.strip() for x in m.group(1).split(",") if x.strip()]
            if pragmas.suppressed(f.code, {x.upper() for x in codes}):
                return None
            at = starts[n - 1] + m.end(1)
            return Edit(at, at, ("," if codes else "") + f.code)
    first = lines[n] if n < len(lines) else ""
    indent = "" if kind.name == "make" else first[: len(first) - len(first.lstrip(" \t"))]
    return Edit(starts[n], starts[n], f"{indent}{marker} dfix: ignore[{f.code}]{nl}")


def caller_code_actions(a: Analysis, rng: types.Range, only: list[str] | None, versioned: bool, overlaps, kind_wanted) -> list:
    """Quick fixes on a caller: the ignore pragma only. The caller's migration goes with its
    Dockerfile's fix (``dfix --write`` changes both together), so it is not offered alone."""
    from refactor.server.core_analysis import finding_range
    from refactor.server.core_edits import _text_edits, workspace_edit

    out: list[types.CodeAction] = []
    r = a.result
    if r is None or not r.findings or not kind_wanted(types.CodeActionKind.QuickFix, only):
        return out
    seen: set = set()
    for i, f in enumerate(r.findings):
        if not overlaps(finding_range(a.index, f), rng):
            continue
        e = caller_ignore_edit(a, f)
        if e is None or (f.code, e) in seen:
            continue
        seen.add((f.code, e))
        at = i + (1 if r.status == "error" else 0)  # a DF900 comes first
        diag = a.diagnostics[at] if at < len(a.diagnostics) else None
        kind = a.caller_kind or ""
        where = "in this file" if kind in ("python", "jenkins") else "for this command"
        out.append(
            types.CodeAction(
                title=f"Ignore {f.code} {where}",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diag] if diag is not None else None,
                edit=workspace_edit(a, _text_edits(a, [e]), versioned),
            )
        )
    return out

"""The rewrite check: an independent second opinion on a dfix rewrite, run before it is written.

It plays the part black's "equivalent AST" check plays: it compares the original Dockerfile with
the rewrite using nothing the planner decided: neither it nor any of its parts imports
``refactor/analyze.py``, ``analysis/facts.py``, ``analysis/implicit.py``, ``analysis/shell.py``,
``multistage.py`` or the planner's fix modules ``refactor/fixes/{plan,mounts,layer_files,ssh,
clones,credential_copies,edits,apply,split_apply}.py`` (``tests/test_rewrite_check.py`` walks the
imports to hold this). It uses the lossless syntax layer and tree-sitter-bash (through
:mod:`refactor.fixes._check_shell`). Its parts: :mod:`~refactor.fixes.check_values` (verdicts and
symbolic values), :mod:`~refactor.fixes.check_effects` (what a RUN writes and reads),
:mod:`~refactor.fixes.check_model` (stages and RUNs), :mod:`~refactor.fixes.check_align` (aligned
and dropped RUNs) and :mod:`~refactor.fixes.check_reach` (where the secret goes).

The model
---------
1. **What each build step reads** (``value``). Every RUN (``ONBUILD RUN``, heredocs, exec form,
   ``sh -c``) gets a symbolic environment: ARG (global ARGs only where a bare ``ARG X`` re-declares
   them), ENV (values expanded like BuildKit does), ENV and build args inherited through ``FROM <stage>``
   (BuildKit passes a parent stage's ARGs to its children), secret mounts (``env=V`` and the file form ``export V="$(cat /run/secrets/ID)"``) and the
   leading ``export A="…" &&`` assignments of the script. Values are tuples of literals,
   ``Arg(name)``, ``Secret(name)``, ``Base(name)`` (not set here: the base image's), ``Opaque`` and
   undecidable ``${X<op>…}``. What a RUN *reads* is what its script expands plus what its programs
   read implicitly: env-blind utilities read only proxy/locale/PATH/HOME variables, known tools a
   documented prefix (``npm_config_*``, ``PIP_*``, ``GIT_*``, …) and the ``${VAR}`` of their config
   files in the build context, and anything else (scripts, interpreters, ``make``, package scripts,
   unknown programs) reads every variable in scope: such RUNs are listed in ``undecidable``. Every
   variable a RUN of the original reads (and can see) must have an equal value in the rewrite's RUN
   aligned with it, ``Arg(S)`` of a migrated secret counting as ``Secret(S)``. RUNs are aligned
   in order by text containment (a rewritten RUN contains its original's script). A RUN the
   rewrite dropped is accepted only when it did nothing but write credential files (or remove
   them) and each write reappears, reading equal values, in every later RUN that may read the
   file (the planner's "fold"). A key written into ``~/.ssh/`` may disappear when every later RUN
   that may use it runs decidable programs and those that speak ssh carry ``--mount=type=ssh``.
   A clean-up the rewrite adds to a RUN (``&& rm -f ~/.npmrc``) must not take a file a later step
   of the original used: a later RUN of the stage or of a stage built FROM it that may read the
   file must write it again itself, no ``COPY --from``/``--mount=type=bind,from=`` may name it
   (:mod:`~refactor.fixes.check_consumers`), and a moved write must see the values the original
   write saw (ENV/ARG set between the two count, unset ones too; a variable its own RUN set fails).
   ``$VAR`` written inside single quotes (``echo '…${NPM_TOKEN}' > .npmrc``, a git credential
   helper) counts as read by the tools that expand such files later (npm, git, pip, …).
2. **What the final image keeps** (``image-file``). Files of the final stage (the last FROM) and the
   stages it derives from: COPY/ADD destinations and the writes the check can see in RUN scripts
   (redirections, tee, sed -i, cp/mv/install, mkdir, touch, ln, htpasswd, ``git config``,
   ``npm config set``, ``git clone``, ``curl -o``/``wget -O``, tool logins) minus removals
   (``rm``, ``mv``). A path the original keeps must be kept by the rewrite unless the caller allows
   its removal (``~/…`` and relative entries are the final stage's HOME and WORKDIR; an allowed
   removal is of a file a RUN wrote, never one a COPY/ADD put at that path after it); COPY
   destinations of credential files that became file secrets are allowed.
3. **Where the secret goes** (``secret-reach``). In the rewrite no ``ARG S`` remains and no
   ENV/LABEL carries S; a RUN that holds the secret (a mount, or a variable derived from one) does
   not leave it in a file after the RUN (redirections of echo/printf/cat/…, tee, ``sed -i``,
   ``htpasswd -b``, ``envsubst``, ``npm``/``git``/``pip``/``poetry`` config, ``git clone`` with
   the token, ``docker login``) unless the same RUN removes it later, in a place that runs (not in
   a comment, not after ``exit``, not only when a command fails). A credential committed as the
   default of ``ARG S=…`` (12+ characters, letters and digits, no expansion) leaves with the ARG: the
   rewrite holds that literal no more often than the original holds it outside S's ARGs (a copy
   that is a literal of its own, ``ENV X=<same value>``, may stay; an inlined or added one may not).
   With ``strategy="multistage"`` only the final stage chain must be free of S (ARG, ENV/LABEL, and
   ``COPY --from`` of a file the builder left the secret in); the builder keeps the ARG and its
   default.
4. **Parse** (``parse``). The rewrite must parse, and a rewritten RUN script must not have a shell
   syntax error its original did not have.

What it cannot see: programs whose reads cannot be known are assumed to read everything in scope
(never fewer reads than real); files written by programs it does not model (``npm ci``, apt,
``tar -x``…) are absent from the file model; paths built from unknown values are skipped; network
and remote effects, base-image contents and a base image's ONBUILD triggers are out of reach;
build-time expansion in FROM/COPY/WORKDIR of a changed ARG is not compared; variables only the
rewrite sets are not compared (a RUN is checked on what the original could see); ``${…}`` nested
more than 40 deep is compared as its text over the values of the variables it names. Messages
never hold a variable's value: values are described by structure
(``literal(7 chars) + secret A_TOKEN``). Cost: linear in the file (a children index for removals,
bounded alignment look-ahead, bounded nesting), a few ms for an ordinary Dockerfile.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Mapping

from refactor.fixes.check_align import _align, _dropped, _fold_writes, _ssh_exempt
from refactor.fixes.check_consumers import taken_files
from refactor.fixes.check_defaults import _defaults_kept
from refactor.fixes.check_effects import _reads
from refactor.fixes.check_model import _Model
from refactor.fixes.check_reach import _reach
from refactor.fixes.check_values import CheckResult, Violation, _home, _join, _norm, describe
from refactor.source import SourceFile
from refactor.syntax.dockerfile import ParseError, parse

# --------------------------------------------------------------------------------------------
# The check


def _files(o: _Model, r: _Model, file_secrets: Mapping[str, str], allowed: Collection[str]) -> tuple[tuple, list]:
    if not o.stages or not r.stages:
        return (), []
    kept = r.stages[-1].files.paths
    final = o.stages[-1]  # "~/.npmrc" and relative paths are the final stage's
    allowed_n = {_join(final.workdir, p, _home(final.env, final.user)) for p in allowed}
    from_secrets = {posixpath.normpath(p.lstrip("/")) for p in file_secrets.values()}
    removed, out = [], []
    for p, (line, source) in sorted(o.stages[-1].files.paths.items()):
        if p in kept:
            continue
        removed.append(p)
        # an allowed removal is of the file a RUN wrote (the secret's): not of one a COPY put there after
        if (p not in allowed_n or line in o.copy_lines) and source not in from_secrets:
            out.append(Violation("image-file", line, f"line {line}: the original image keeps {p} (written here) but the rewrite does not"))
    return tuple(removed), out


def check_rewrite(
    original: str,
    rewritten: str,
    secrets: Mapping[str, str],
    *,
    file_secrets: Mapping[str, str] = {},
    context_files: Mapping[str, str | None] | None = None,
    allowed_removals: Collection[str] = (),
    strategy: str = "mount",
    path: str = "Dockerfile",
) -> CheckResult:
    """Compare ``original`` with ``rewritten`` (the model is in the module docstring).

    ``secrets`` maps a secret id of the rewrite's mounts to the original build-arg name;
    ``file_secrets`` a file secret's id to its context path; ``context_files`` the build context
    (path -> text, None when unreadable; None when unknown); ``allowed_removals`` final-image paths
    the fix removes on purpose; ``strategy`` is "mount" or "multistage".
    """
    try:
        odf = parse(SourceFile.from_text(path, original))
    except ParseError as exc:
        return CheckResult((Violation("parse", exc.line or 1, f"line {exc.line or 1}: the original does not parse"),), (), ())
    try:
        rdf = parse(SourceFile.from_text(path, rewritten))
    except ParseError as exc:
        return CheckResult((Violation("parse", exc.line or 1, f"line {exc.line or 1}: the rewrite does not parse"),), (), ())
    migrated = frozenset(secrets.values())
    scripts: dict = {}
    o, r = _Model(odf, secrets, context_files, scripts), _Model(rdf, secrets, context_files, scripts)
    both = strategy == "multistage"  # the builder keeps the build arg: Arg(S) is Secret(S) on both sides
    out: list[Violation] = []
    info = [_reads(run, o.quoted, context_files) for run in o.runs]
    pairs = _align(o.runs, r.runs, lambda i: _fold_writes(o.runs[i]) is not None)
    for i, run in enumerate(o.runs):
        j = pairs.get(i)
        if j is None:
            out.extend(_dropped(o, r, pairs, i, info, migrated))
            continue
        rr = r.runs[j]
        reads = info[i][0]
        skip = _ssh_exempt(o, r, pairs, i, info)[1] if not info[i][1] else frozenset()
        if skip:
            reads = _reads(run, o.quoted, context_files, skip)[0]
        for v in sorted(reads):
            ov, rv = _norm(run.env.get(v), migrated), _norm(rr.env.get(v), migrated if both else frozenset())
            if ov != rv:
                out.append(
                    Violation(
                        "value",
                        run.line,
                        f"line {run.line}: RUN reads {v} ({describe(ov)}) but after the rewrite (line {rr.line}) {v} is {describe(rv)}",
                    )
                )
        if rr.script.error and not run.script.error:
            out.append(
                Violation(
                    "parse",
                    rr.line,
                    f"line {rr.line}: the rewritten RUN has a shell syntax error that the original (line {run.line}) does not have",
                )
            )
    paired = set(pairs.values())
    for j, rr in enumerate(r.runs):
        if j not in paired and rr.script.error:
            out.append(Violation("parse", rr.line, f"line {rr.line}: a RUN the rewrite added has a shell syntax error"))
    out.extend(taken_files(o, r, pairs, info))
    removed, file_violations = _files(o, r, file_secrets, allowed_removals)
    out.extend(file_violations)
    out.extend(_reach(r, migrated, strategy))
    if not both:  # (the multistage builder keeps the build arg, and so its default)
        out.extend(_defaults_kept(odf, rdf, migrated))
    undecidable = tuple(sorted({run.line for run, (_r, u, _t) in zip(o.runs, info) if u}))
    return CheckResult(tuple(out), removed, undecidable)

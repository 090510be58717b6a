"""Build commands on shell command lines, wherever they are written.

Shell scripts, Makefile and justfile recipes, CI ``run:``/``script:`` lines, Jenkins ``sh`` steps
and Python command strings all hold shell text, each wrapped in its host's own quoting. A
:class:`View` is the shell text as the shell sees it (host escapes decoded) with a map back to
source offsets and an encoder for text written back into the host. The lexer is small but
lossless enough for edits: words keep their segments (unquoted, '…', "…", expansions) with the
decoded position of every character, so a ``--build-arg`` occurrence maps to an exact source span
and the value's own source text can be moved, unchanged, into a prefix assignment.

Rewrite rules for one ``--build-arg NAME[=VALUE]`` whose ARG the Dockerfile rewrite removed:

* ``--build-arg NAME`` (passthrough): docker reads ``NAME`` from its environment, which is by
  definition exported → ``--secret id=<id>,env=NAME``, no prefix.
* ``NAME=$X`` where ``X`` is *certainly exported* → ``--secret id=<id>,env=X``, no prefix. Certain
  means: exported explicitly (``export X``, ``declare -x``, ``set -a``), or never assigned in the
  script and the script sources/evals nothing (so it was inherited from the environment, and
  inherited variables are always exported); ``${{ env.X }}`` in GitHub Actions; ``env.X``,
  ``environment {}`` and ``withCredentials`` bindings in Jenkins; just's ``env_var('X')``.
* A Makefile ``$(X)`` → ``--secret id=<id>,env=X`` and one ``export X`` line in the Makefile: make
  prints each recipe line after expanding it, so a prefix ``NAME="$(X)"`` would print the value.
* Anything else that is not a literal (a shell local, a just ``{{x}}``, a
  Groovy variable, ``$(cmd)``, ``${X:-d}``, a mix) → the value's own source text moves into a prefix
  assignment ``NAME="…" docker build … --secret id=<id>,env=NAME``: an assignment prefix exports
  the value to docker alone, with the same expansions as before (and no word splitting).
* GitHub ``${{ … }}`` expressions in ``run:`` (``secrets.X``, ``vars.X``, …) move to the step's
  ``env:`` (``NAME: ${{ secrets.X }}``) so the value is no longer pasted into the script.
* A literal value is removed and never written anywhere; the name is reported for rotation and the
  plan says where to define the secret now.
"""

from __future__ import annotations

from refactor.buildspec import SecretSpec
from refactor.fixes.edit import Edit

from .model import CallerPlan
from .shell_build import (
    BUILD_TOOLS,
    BUILD_VALUE_FLAGS,
    NO_SECRETS,
    ArgOcc,
    BuildCmd,
    build_commands,
    resolve_paths,
    resolve_pattern,
    resolve_word,
)
from .shell_cmds import KEYWORDS, WRAPPERS, Cmd, Scope, commands, scope_of
from .shell_lex import Lexer
from .shell_values import Host, Value, arg_uses, classify
from .shell_words import IDENT, Seg, Tok, View, Word, encode

# The parts live in shell_words (View, words), shell_lex (the lexer), shell_cmds (simple commands,
# scope), shell_build (build commands, paths) and shell_values (values, Host); this module plans the
# rewrite and is the public face of them all.
__all__ = [
    "BUILD_TOOLS",
    "BUILD_VALUE_FLAGS",
    "IDENT",
    "KEYWORDS",
    "NO_SECRETS",
    "WRAPPERS",
    "ArgOcc",
    "BuildCmd",
    "Cmd",
    "Host",
    "Lexer",
    "Scope",
    "Seg",
    "Tok",
    "Value",
    "View",
    "Word",
    "arg_uses",
    "build_commands",
    "classify",
    "commands",
    "encode",
    "plan_build",
    "resolve_paths",
    "resolve_pattern",
    "resolve_word",
    "scope_of",
]


def plan_build(
    view: View,
    text: str,
    bc: BuildCmd,
    migrated: dict[str, SecretSpec],
    host: Host,
    plan: CallerPlan,
) -> None:
    """Rewrite the migrated build args of one build command (edits are added to ``plan``)."""
    where = host.where or "caller"
    todo = [a for a in bc.args if a.name in migrated]
    for a in bc.args:
        if a.name == "" and migrated:
            plan.add_note(
                f"{where}: a build arg is computed at run time ({view.text[a.start : a.end].split()[0]} …); "
                f"check that it does not pass {', '.join(sorted(migrated))}"
            )
    if not todo:
        return
    if bc.tool in NO_SECRETS:
        plan.add_unmigratable(f"{where}: passes {', '.join(sorted({a.name for a in todo}))} as a build arg; {NO_SECRETS[bc.tool]}")
        return
    if bc.buildkit_off:
        plan.add_unmigratable(f"{where}: DOCKER_BUILDKIT=0 disables BuildKit, and --secret needs it")
        return
    sudo = any(w in ("sudo", "doas") for w in bc.cmd.wrappers)
    prefixes: list[str] = []
    edits: list[Edit] = []
    done_ids = set(bc.secret_ids)
    # docker keeps the last of repeated --build-arg NAME=…: that value is the one to carry over
    effective = {a.name: a for a in todo}
    for a in todo:
        spec = migrated[a.name]
        if spec is None:  # the ARG is gone and nothing reads it: the build arg just goes
            edits.append(_delete(view, text, a))
            if classify(a.value, host).kind == "literal" and not classify(a.value, host).empty:
                plan.add_rotate(a.name)
                plan.add_note(f"{where}: the committed value of {a.name} was removed (it must be rotated)")
            continue
        if spec.id in done_ids:
            edits.append(_delete(view, text, a))
            continue
        done_ids.add(spec.id)
        eff = effective[a.name]
        v = classify(eff.value, host)
        env_name = a.name
        prefix = None
        if v.kind == "passthrough":
            pass
        elif v.kind == "literal":
            if not v.empty:
                plan.add_rotate(a.name)
                plan.add_note(
                    f"{where}: the committed value of {a.name} was removed (it must be rotated); "
                    + (host.literal_note(a.name) if host.literal_note else f"export {a.name} before this build runs")
                )
            if host.kind == "github" and host.add_env is not None:
                host.add_env(a.name, "${{ secrets." + a.name + " }}")
        elif v.literal_default:
            plan.add_unmigratable(
                f"{where}: the value of {a.name} falls back to a committed literal (${{{v.source}:-…}}); remove the"
                " fallback (rotate it if it is a real credential) and migrate"
            )
            continue
        elif v.kind == "env" and v.certain and v.simple and v.source and not sudo:
            env_name = v.source
        elif v.expr is not None and host.add_env is not None and host.add_env(a.name, v.expr):
            pass
        elif (
            host.flavor == "make"
            and v.kind == "local"
            and v.source
            and IDENT.fullmatch(v.source)
            and not sudo
            and host.add_export is not None
            and host.add_export(v.source)
        ):
            env_name = v.source  # make echoes a prefix NAME="$(X)" expanded: the value would be in the log
        else:
            prefix = _prefix(view, text, eff)
            if host.kind == "jenkins" and v.kind == "local":
                plan.add_note(
                    f"{where}: {a.name} comes from the Groovy variable {v.source or 'expression'} and is still interpolated into "
                    "the command; binding it with withCredentials or withEnv keeps it out of the command line"
                )
        flag = f"--secret id={spec.id},env={env_name}" if spec.type == "env" else f"--secret {spec.cli()}"
        edits.append(Edit(view.src(a.start), view.src(a.end), view.encode(flag)))
        if prefix is not None:
            prefixes.append(prefix)
    if prefixes and not host.allow_prefix:
        plan.add_unmigratable(
            f"{where}: {', '.join(a.name for a in todo)} must be put in the environment of the build "
            "(this caller cannot take a VAR=value prefix)"
        )
        return
    if prefixes:
        at = view.src(bc.cmd.prefix_at)
        edits.append(Edit(at, at, " ".join(prefixes) + " "))
        if sudo:
            plan.add_note(f"{where}: sudo may refuse VAR=value without SETENV in sudoers; use sudo --preserve-env=… if so")
    elif sudo:
        plan.add_note(f"{where}: sudo resets the environment; run it with sudo --preserve-env so docker sees the secret variables")
    plan.edits.extend(edits)


def _prefix(view: View, text: str, a: ArgOcc) -> str:
    """``NAME=<value's own source text>`` in host syntax."""
    raw_dec = view.text[a.vstart : a.vend]
    raw_src = text[view.src(a.vstart) : view.src(a.vend)] if a.vend > a.vstart else ""
    q = a.quote
    if q:
        val = view.encode(q) + raw_src
    elif raw_dec and not any(ch in raw_dec for ch in "\"'\\"):
        val = view.encode('"') + raw_src + view.encode('"')
    else:
        val = raw_src
    return view.encode(f"{a.name}=") + val


def _delete(view: View, text: str, a: ArgOcc) -> Edit:
    s, e = view.src(a.start), view.src(a.end)
    ls = text.rfind("\n", 0, s) + 1
    le = text.find("\n", e)
    le = len(text) if le < 0 else le
    before = text[ls:s]
    after = text[e:le].rstrip("\r")
    if before.strip() == "" and after.strip() in ("", "\\") and le < len(text):
        return Edit(ls, le + 1, "")
    k = s
    while k > 0 and text[k - 1] in " \t":
        k -= 1
    return Edit(k, e, "")

"""Shell scripts, Makefiles and justfiles.

* Shell scripts: the whole file is shell text. A variable never assigned in the script (and the
  script sources/evals nothing) was inherited from the environment and is exported; see
  :mod:`refactor.callers.shell` for the rewrite rules. Relative ``-f``/context paths resolve against
  the script's directory and the repository root; the first that names an existing Dockerfile wins
  (the script directory is tried first when the script ``cd``s there or is not in a ``scripts/``,
  ``bin/``, ``ci/``, ``tools/`` or ``hack/`` directory).
* Makefiles: each tab-indented recipe line (with its ``\\`` continuations) is one shell command
  line; ``$(X)``/``${X}`` are make variables (not exported: always moved into a prefix
  ``NAME="$(X)"``), ``$$X`` is a shell variable. Paths resolve against the Makefile's directory.
* justfiles: recipe bodies; ``{{x}}`` is a just variable (a prefix), ``{{env_var('X')}}`` and
  ``$X`` are environment variables. Paths resolve against the justfile's directory.
"""

from __future__ import annotations

import os
import re

from refactor.codecache import regex

from .common import Found, cd_bases, cd_index, cli_founds, loop_values, rel
from .shell import Host, Lexer, View, build_commands, commands, scope_of

_ROOTISH_DIRS = frozenset({"scripts", "script", "bin", "ci", "tools", "hack", ".ci", "build", ".github", "dev"})
_CD_SCRIPT_DIR = regex(r"""cd\s+["']?\$\(\s*dirname\s+["']?\$(?:0|\{?BASH_SOURCE(?:\[0\])?\}?)["']?\s*\)""")


def _script_subst(path: str) -> dict[str, str]:
    d = os.path.dirname(path)
    return {
        "$PWD": ".",
        "${PWD}": ".",
        "$(pwd)": ".",
        '$(dirname"$0")': d,
        "$(dirname$0)": d,
        '$(dirname"${BASH_SOURCE[0]}")': d,
        '$(dirname"$BASH_SOURCE")': d,
    }


def find_shell(path: str, text: str, root: str | None) -> list[Found]:
    view = View(text)
    cmds = commands(Lexer(view, "sh"))
    bcs = [b for b in build_commands(cmds) if b.args]
    if not bcs:
        return []
    host = Host(
        "shell",
        "sh",
        scope_of(cmds),
        where=rel(path, root),
        literal_note=lambda n: f"export {n} in the environment that runs {os.path.basename(path)} (or define it as a CI secret)",
    )
    bases = None
    if root is not None:
        d = os.path.dirname(path)
        script_first = bool(_CD_SCRIPT_DIR.search(text)) or os.path.basename(d) not in _ROOTISH_DIRS
        bases = [d, root] if script_first else [root, d]
    loops = loop_values(cmds)
    cds = cd_index(cmds)
    return [
        f
        for bc in bcs
        for f in cli_founds(path, "shell", view, bc, host, cd_bases(cmds, bc, bases, index=cds), _script_subst(path), loops=loops)
    ]


# ------------------------------------------------------------------------------------------
# Makefiles


def _logical_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each logical line; ``end`` excludes the final line break."""
    out = []
    i = 0
    n = len(text)
    while i < n:
        s = i
        while True:
            j = text.find("\n", i)
            e = n if j < 0 else j
            line = text[i:e].rstrip("\r")
            bs = len(line) - len(line.rstrip("\\"))
            i = n if j < 0 else j + 1
            if bs % 2 == 1 and i < n:
                continue
            break
        out.append((s, e if not text[s:e].endswith("\r") else e - 1))
    return out


def find_make(path: str, text: str, root: str | None) -> list[Found]:
    found: list[Found] = []
    in_define = False
    d = os.path.dirname(path)
    subst = {"$(CURDIR)": ".", "${CURDIR}": ".", "$(shellpwd)": ".", "$(PWD)": ".", "${PWD}": "."}
    for s, e in _logical_lines(text):
        line = text[s:e]
        stripped = line.strip()
        if re.match(r"(override\s+)?define\b", stripped):
            in_define = True
            continue
        if in_define:
            if stripped == "endef":
                in_define = False
            continue
        if not line.startswith("\t"):
            continue
        k = s + 1
        while k < e and text[k] in "@-+ \t":
            k += 1
        if "build" not in text[k:e]:
            continue
        view = View(text[k:e], base=k)
        cmds = commands(Lexer(view, "make"))
        bcs = [b for b in build_commands(cmds) if b.args]
        if not bcs:
            continue
        host = Host(
            "make",
            "make",
            scope_of(cmds),
            where=rel(path, root),
            literal_note=lambda n: (
                f"pass {n} from the environment (export it, or define it as a CI secret) and reference it as $$${n} or $({n})"
            ),
        )
        for bc in bcs:
            found.extend(cli_founds(path, "make", view, bc, host, cd_bases(cmds, bc, [d] if root is not None else None), subst))
    return found


# ------------------------------------------------------------------------------------------
# justfiles

# A recipe header: ``name [params…]:`` but not ``name :=``. Possessive, so each character is read
# once: the old ``(?:\s+[^:=]*?)?\s*:`` split a run of blanks three ways (cubic; hardening #20).
_JUST_HEADER = regex(r"^@?[A-Za-z_][A-Za-z0-9_-]*+(?:\s++[^:=]*+)?:(?!=)")
_JUST_SHELL = regex(r"^set\s+(?:windows-)?shell\s*:=\s*\[\s*['\"]([^'\"]+)['\"]", re.M)


def find_just(path: str, text: str, root: str | None) -> list[Found]:
    found: list[Found] = []
    d = os.path.dirname(path)
    m = _JUST_SHELL.search(text)
    posix = not (m and re.search(r"pwsh|powershell|cmd", m.group(1)))
    lines = _logical_lines(text)
    idx = 0
    while idx < len(lines):
        s, e = lines[idx]
        line = text[s:e]
        idx += 1
        if not _JUST_HEADER.match(line) or line.startswith((" ", "\t")):
            continue
        body: list[tuple[int, int]] = []
        while idx < len(lines):
            bs, be = lines[idx]
            bl = text[bs:be]
            if bl.strip() and not bl.startswith((" ", "\t")):
                break
            if bl.strip():
                body.append((bs, be))
            idx += 1
        if not body:
            continue
        first = text[body[0][0] : body[0][1]].lstrip()
        if first.startswith("#!"):
            if not re.search(r"\b(sh|bash|dash|zsh|ash|ksh)\b", first):
                continue
            units = [(body[0][1], body[-1][1])]
        else:
            units = []
            for bs, be in body:
                k = bs
                while k < be and text[k] in " \t@-":
                    k += 1
                units.append((k, be))
        for us, ue in units:
            if "build" not in text[us:ue]:
                continue
            view = View(text[us:ue], base=us)
            cmds = commands(Lexer(view, "just"))
            bcs = [b for b in build_commands(cmds) if b.args]
            if not bcs:
                continue
            host = Host(
                "just",
                "just",
                scope_of(cmds),
                allow_prefix=posix,
                where=rel(path, root),
                literal_note=lambda n: f"pass {n} from the environment (export it, or define it as a CI secret)",
            )
            for bc in bcs:
                found.extend(
                    cli_founds(path, "just", view, bc, host, [d] if root is not None else None, {"{{invocation_directory()}}": "."})
                )
    return found


# ------------------------------------------------------------------------------------------
# Makefiles: planning

_MAKE_DEF = r"^[ \t]*(?:override[ \t]+)?(?:export[ \t]+)?{name}[ \t]*(?:::=|:::=|[:?+!]?=)"


def plan_make(path: str, text: str, groups, plan) -> None:
    """Plan a Makefile's builds. A make variable ``$(X)`` that carried a secret is handed to docker
    by ``export X`` (one line, after the variable's definition), not by a ``X="$(X)"`` prefix on
    the recipe line: make echoes each recipe line after expanding it, so the prefix would print the
    value into the build log."""
    from .common import plan_cli

    exports: list[str] = []

    def add_export(name: str) -> bool:
        if name not in exports:
            exports.append(name)
        return True

    for found, migrated in groups:
        found.data.host.add_export = add_export
        plan_cli(text, found.data, migrated, plan)
    for name in exports:
        plan.edits.append(_export_line(text, name))


def _export_line(text: str, name: str):
    """``export NAME`` after the last top-level definition of NAME (with its continuation lines),
    else after the file's leading comment block."""
    from refactor.fixes.edit import Edit

    nl = "\r\n" if "\r\n" in text else "\n"
    line = f"export {name}{nl}"
    at = None
    for m in re.finditer(_MAKE_DEF.format(name=re.escape(name)), text, re.M):
        end = text.find("\n", m.end())
        while end != -1 and text[:end].rstrip("\r").endswith("\\"):
            end = text.find("\n", end + 1)
        at = len(text) if end == -1 else end + 1
    if at is None:
        at = 0
        for ln in text.splitlines(keepends=True):
            if ln.strip() and not ln.lstrip().startswith("#"):
                break
            at += len(ln)
    if at == len(text) and text and not text.endswith("\n"):
        line = nl + line
    return Edit(at, at, line)

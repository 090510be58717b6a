"""What a build arg's value is: passthrough, environment, local, CI secret, literal or unknown.

:class:`Host` describes the text around a build command (its caller kind, lexer flavour, scope
and the hooks that add step env entries or Makefile exports); :func:`classify` reads one value in
that host's syntax, and :func:`arg_uses` summarises a build command's args for an Invocation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import field

from refactor.codecache import regex
from refactor.records import dataclass

from .model import BuildArgUse
from .shell_build import BuildCmd
from .shell_cmds import Scope
from .shell_words import IDENT, Seg, View

# ------------------------------------------------------------------------------------------
# Values


@dataclass
class Value:
    kind: str  # passthrough | env | local | ci-secret | literal | unknown
    source: str | None = None
    simple: bool = False  # a plain reference (no operators, no default)
    certain: bool = False  # certainly exported in the environment docker runs in
    expr: str | None = None  # a GitHub ${{ }} expression (decoded text)
    empty: bool = False
    literal_default: bool = False  # ${T:-committed literal}: a fallback that may be the secret itself


@dataclass
class Host:
    """What the text around a build command means."""

    kind: str  # Invocation.kind
    flavor: str = "sh"  # lexer flavor
    scope: Scope = field(default_factory=Scope)
    groovy_env: frozenset[str] = frozenset()  # Jenkins: names bound as environment variables
    allow_prefix: bool = True  # False where a VAR=value prefix is not shell syntax (pwsh, docker.build args)
    add_env: Callable[[str, str], bool] | None = None  # GitHub run steps: add NAME: value to the step env
    add_export: Callable[[str], bool] | None = None  # Makefiles: `export X` hands make's $(X) to docker
    literal_note: Callable[[str], str] | None = None
    where: str = ""  # human name of the caller, for notes


_SH_SIMPLE = regex(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$")
_SH_OP = regex(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?)([-=?+])(.*)\}$", re.S)
_MAKE_VAR = regex(r"\$[({]\s*([A-Za-z_][A-Za-z0-9_]*)\s*[)}]$")
_JUST_VAR = regex(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}$")
_JUST_ENV = regex(r"""\{\{\s*env(?:_var)?(?:_or_default)?\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\)\s*\}\}$""")
_GH_EXPR = regex(r"\$\{\{\s*(.*?)\s*\}\}$", re.S)
_GH_CTX = regex(r"(secrets|env|vars)\.([A-Za-z_][A-Za-z0-9_-]*)$|(secrets|env|vars)\[\s*'([^']+)'\s*\]$")
_GROOVY = regex(r"\$\{?\s*(?:(env)\.)?([A-Za-z_][A-Za-z0-9_]*)\s*\}?$")
_GROOVY_ENV_IDX = regex(r"""\$\{\s*env\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]\s*\}$""")
_PY_ENV = regex(
    r"""(?:os\.)?(?:environ\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]|getenv\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\)|environ\.get\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\))$"""
)
_GROOVY_PARAM = regex(r"\$\{?\s*(params\.[A-Za-z_][A-Za-z0-9_]*)\s*\}?$")


def classify(segs: list[Seg] | None, host: Host) -> Value:
    if segs is None:
        return Value("passthrough", None, True, True)
    exps = [s for s in segs if s.kind == "exp"]
    text = [s for s in segs if s.kind != "exp" and s.text]
    if not exps:
        cooked = "".join(s.text for s in segs)
        return Value("literal", None, empty=cooked == "")
    if len(exps) != 1 or text:
        return Value("unknown")
    e = exps[0]
    raw = e.text
    if e.flavor == "sh":
        if raw.startswith("$$"):
            raw = raw[1:]
        m = _SH_SIMPLE.match(raw)
        simple = True
        name = None
        if m:
            name = m.group(1) or m.group(2)
        else:
            m2 = _SH_OP.match(raw)
            if m2:
                name = m2.group(1)
                op, rest = m2.group(3), m2.group(4)
                simple = op == "?" or (op == "-" and rest == "")
        if name is None:
            return Value("unknown")
        certain = host.scope.certain_env(name)
        kind = "local" if (name in host.scope.assigned and not certain) else "env"
        m2 = None if m else _SH_OP.match(raw)
        lit_default = False
        if m2 is not None and m2.group(3) in "-=" and m2.group(4) != "" and "$" not in m2.group(4):
            from refactor.analysis.secrets import is_placeholder

            lit_default = not is_placeholder(m2.group(4).strip("'\""))  # ${T:-none} is no secret
        return Value(kind, name, simple, certain, literal_default=lit_default)
    if e.flavor == "make":
        m = _MAKE_VAR.match(raw)
        if m:
            return Value("local", m.group(1))
        return Value("unknown")
    if e.flavor == "just":
        m = _JUST_ENV.match(raw)
        if m and "default" not in raw:
            return Value("env", m.group(1), True, True)
        m = _JUST_VAR.match(raw)
        if m:
            return Value("local", m.group(1))
        return Value("unknown")
    if e.flavor == "gh":
        m = _GH_EXPR.match(raw)
        expr = m.group(1) if m else None
        if expr is not None:
            c = _GH_CTX.match(expr)
            if c:
                ctx, name = (c.group(1), c.group(2)) if c.group(1) else (c.group(3), c.group(4))
                if ctx == "secrets":
                    return Value("ci-secret", name, True, False, raw)
                if ctx == "env":
                    return Value("env", name, True, True, raw)
                return Value("unknown", f"vars.{name}", False, False, raw)
        return Value("unknown", None, False, False, raw)
    if e.flavor == "pyf":
        inner = raw[1:-1].strip()
        m = _PY_ENV.match(inner)
        if m:
            return Value("env", next(g for g in m.groups() if g), True, True, inner)
        if re.fullmatch(r"[A-Za-z_][\w.]*(?:\[[^\]]*\])?", inner):
            return Value("local", inner if IDENT.fullmatch(inner) else None, False, False, inner)
        return Value("unknown")
    if e.flavor == "groovy":
        m = _GROOVY_ENV_IDX.match(raw)
        if m:
            return Value("env", m.group(1), True, True)
        m = _GROOVY.match(raw)
        if m:
            name = m.group(2)
            if m.group(1) or name in host.groovy_env:
                return Value("env", name, True, True)
            return Value("local", name)
        m = _GROOVY_PARAM.match(raw)
        if m:
            return Value("local", m.group(1))
        return Value("unknown")
    return Value("unknown")


def arg_uses(view: View, bc: BuildCmd, host: Host) -> tuple[BuildArgUse, ...]:
    out = []
    for a in bc.args:
        v = classify(a.value, host)
        out.append(BuildArgUse(a.name, v.kind, v.source, view.src(a.start), view.src(a.end)))
    return tuple(out)

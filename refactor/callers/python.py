"""Python build scripts (libcst): ``subprocess`` calls and the docker SDK.

``subprocess.run/call/check_call/check_output/Popen`` (however imported) whose argv carries
``--build-arg``:

* a list/tuple literal (or a name bound once to one, extended with ``+=``/``.extend([...])``)::

      subprocess.run(["docker", "build", "--build-arg", f"NPM_TOKEN={token}", "."], check=True)
      subprocess.run(["docker", "build", "--secret", "id=npm_token,env=NPM_TOKEN", "."], check=True,
                     env={**os.environ, "NPM_TOKEN": token})

  The value expression (``token``, ``"NPM_TOKEN=" + token`` → ``token``, ``f"NPM_TOKEN={a}-{b}"``
  → ``f"{a}-{b}"``) moves into ``env=``: merged into an existing ``env={…}`` dict, wrapped as
  ``{**expr, …}`` around another ``env=`` expression, or added as ``{**os.environ, …}`` (a bare
  dict would drop PATH, HOME and DOCKER_HOST); ``import os`` is added when missing.
  ``os.environ["X"]``/``os.getenv("X")`` values are already in the environment → ``env=X``.
* a command string (``shell=True``, ``os.system``, ``shlex.split``): shell text with f-string
  ``{expr}`` placeholders; placeholders go through ``env=`` like list values (``os.system`` has no
  ``env=``, so the shell prefix form is used there).

The docker SDK's ``images.build(buildargs=…)`` / ``APIClient.build(buildargs=…)`` talks to the
classic builder API and cannot pass BuildKit secrets: it is reported as not migratable, with the
python-on-whales equivalent ``docker.buildx.build(…, secrets=[…])``.

Formatting is kept: edits are text splices at libcst positions (code-point columns).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from refactor.build import SecretSpec
from refactor.fixes.edit import Edit

from .common import Found, delete_list_item, rel
from .model import BuildArgUse, CallerPlan, Invocation
from .shell import BUILD_TOOLS, Host, Lexer, View, build_commands, classify, commands, plan_build, resolve_paths, scope_of

if TYPE_CHECKING:
    from libcst import Call, CSTNode
    from libcst.metadata import CodePosition, CodeRange

_SUBPROCESS_FUNCS = frozenset({"run", "call", "check_call", "check_output", "Popen"})
_PY_ENV_CALL = re.compile(
    r"""^(?:os\.)?(?:environ\[\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\1\s*\]|getenv\(\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\3\s*\)|environ\.get\(\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\5\s*\))$"""
)
_PREFILTER_CALL = re.compile(r"\bsubprocess\b|\bsystem\s*\(|\bbuildargs\b")  # every call form needs one of these
_PREFILTER_TOOL = re.compile(r"docker|podman|buildah|nerdctl")
_STR_START = re.compile(r"""^([rRbBuUfF]{0,2})('''|\"\"\"|'|")""")


@dataclass
class El:
    """One argv element."""

    node: CSTNode
    start: int
    end: int
    static: str | None  # the string value when it is a plain literal
    code: str


@dataclass
class PyArg:
    name: str
    kind: str
    source: str | None
    expr: str | None  # Python expression for the value (None: passthrough/literal)
    elements: list[El]  # the flag element(s) and the value element
    single: bool  # --build-arg=NAME=… in one element


@dataclass
class PyCall:
    call: Call
    func: str
    start: int
    end: int
    args: list[PyArg] = field(default_factory=list)
    lists: list = field(default_factory=list)
    shell_units: list = field(default_factory=list)  # (view, BuildCmd, host)
    env_ok: bool = True
    sdk: bool = False
    sdk_path: str | None = None
    sdk_dockerfile: str | None = None


class _Offsets:
    def __init__(self, text: str) -> None:
        self.starts = [0]
        for i, c in enumerate(text):
            if c == "\n":
                self.starts.append(i + 1)

    def __call__(self, pos: CodePosition) -> int:
        return self.starts[pos.line - 1] + pos.column


def _dotted(node) -> str:
    import libcst as cst

    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else ""
    if isinstance(node, cst.Call):
        base = _dotted(node.func)
        return f"{base}()" if base else ""
    return ""


def _static(node) -> str | None:
    import libcst as cst

    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        try:
            v = node.evaluated_value
        except Exception:  # noqa: BLE001
            return None
        return v if isinstance(v, str) else None
    return None


def _value_kind(code: str | None, node) -> tuple[str, str | None]:
    import libcst as cst

    if code is None:
        return "unknown", None
    m = _PY_ENV_CALL.match(code.strip())
    if m:
        return "env", m.group(2) or m.group(4) or m.group(6)
    if isinstance(node, cst.Name):
        return "local", node.value
    return "unknown", None


def _strip_name(code: str, name: str) -> str | None:
    """The element's code with the leading ``NAME=`` removed from its first string literal."""
    m = _STR_START.match(code)
    if not m:
        return None
    at = m.end()
    if not code.startswith(name + "=", at):
        return None
    return code[:at] + code[at + len(name) + 1 :]


def _analyse_value(module, el: El, skip: str = "") -> tuple[str, str, str | None, str | None]:
    """(name, kind, source, expr) for a ``[skip]NAME=value`` element; name '' when not static."""
    import libcst as cst

    node = el.node
    st = el.static
    ident = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    if st is not None:
        if not st.startswith(skip):
            return "", "unknown", None, None
        name, eq, _value = st[len(skip) :].partition("=")
        if not ident.fullmatch(name):
            return "", "unknown", None, None
        return (name, "literal", None, None) if eq else (name, "passthrough", None, None)
    if isinstance(node, cst.FormattedString):
        parts = node.parts
        if not parts or not isinstance(parts[0], cst.FormattedStringText) or not parts[0].value.startswith(skip):
            return "", "unknown", None, None
        head = parts[0].value[len(skip) :]
        name, eq, rest = head.partition("=")
        if not eq or not ident.fullmatch(name):
            return "", "unknown", None, None
        if (
            rest == ""
            and len(parts) == 2
            and isinstance(parts[1], cst.FormattedStringExpression)
            and parts[1].conversion is None
            and parts[1].format_spec is None
        ):
            expr_node = parts[1].expression
            code = module.code_for_node(expr_node)
            kind, src = _value_kind(code, expr_node)
            return name, kind, src, code
        return name, "unknown", None, _strip_name(el.code, skip + name)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left = _static(node.left)
        if left is not None and left.startswith(skip):
            name, eq, rest = left[len(skip) :].partition("=")
            if eq and ident.fullmatch(name):
                if rest == "":
                    code = module.code_for_node(node.right)
                    kind, src = _value_kind(code, node.right)
                    return name, kind, src, code
                return name, "unknown", None, _strip_name(el.code, skip + name)
    if isinstance(node, (cst.Call, cst.BinaryOperation)):
        m = _STR_START.match(el.code)
        if m:
            after = el.code[m.end() :]
            mm = re.match(re.escape(skip) + r"([A-Za-z_][A-Za-z0-9_]*)=", after)
            if mm:
                return mm.group(1), "unknown", None, _strip_name(el.code, skip + mm.group(1))
    return "", "unknown", None, None


class _Collector:
    """One parse of a module: imports, assignments and calls with their scope (a visitor stack, no
    metadata); positions are resolved lazily, only for files that hold a candidate call."""

    def __init__(self, text: str) -> None:
        import libcst as cst

        self.text = text
        self.cst = cst
        self.module = cst.parse_module(text)
        self._positions: tuple[Mapping[CSTNode, CodeRange], _Offsets] | None = None
        self.subprocess_names: set[str] = set()  # aliases of the subprocess module
        self.func_names: dict[str, str] = {}  # from subprocess import run as r -> {"r": "run"}
        self.os_imported = False
        self.assigns: dict[tuple[int, str], list] = {}  # (scope id, name) -> [(op, value node)]
        self.calls: list = []
        self.scope: dict[int, int] = {}  # id(call) -> id(enclosing function or module)
        self._scan(self.module)

    def _resolved(self) -> tuple[Mapping[CSTNode, CodeRange], _Offsets]:
        if self._positions is None:
            from libcst.metadata import MetadataWrapper, PositionProvider

            pos = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
            self._positions = pos, _Offsets(self.text)
        return self._positions

    @property
    def pos(self) -> Mapping[CSTNode, CodeRange]:
        return self._resolved()[0]

    def span(self, node: CSTNode) -> tuple[int, int]:
        pos, off = self._resolved()
        p = pos[node]
        return off(p.start), off(p.end)

    def _scan(self, module) -> None:
        import libcst as cst

        coll = self
        stack = [id(module)]

        class V(cst.CSTVisitor):
            def visit_FunctionDef(self, node):
                stack.append(id(node))

            def leave_FunctionDef(self, original_node):
                stack.pop()

            def visit_Import(self, node):
                for a in node.names:
                    name = _dotted(a.name)
                    alias = a.asname.name.value if a.asname and isinstance(a.asname.name, cst.Name) else None
                    if name == "subprocess":
                        coll.subprocess_names.add(alias or "subprocess")
                    if name == "os" and alias is None:
                        coll.os_imported = True

            def visit_ImportFrom(self, node):
                if node.module is not None and _dotted(node.module) == "subprocess" and not isinstance(node.names, cst.ImportStar):
                    for a in node.names:
                        n = a.name.value if isinstance(a.name, cst.Name) else ""
                        alias = a.asname.name.value if a.asname and isinstance(a.asname.name, cst.Name) else n
                        if n in _SUBPROCESS_FUNCS:
                            coll.func_names[alias] = n

            def visit_Assign(self, node):
                if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
                    coll.assigns.setdefault((stack[-1], node.targets[0].target.value), []).append(("=", node.value))

            def visit_AugAssign(self, node):
                if isinstance(node.target, cst.Name) and isinstance(node.operator, cst.AddAssign):
                    coll.assigns.setdefault((stack[-1], node.target.value), []).append(("+=", node.value))

            def visit_Call(self, node):
                coll.calls.append(node)
                coll.scope[id(node)] = stack[-1]
                f = node.func
                # name.extend([...]) counts as +=
                if isinstance(f, cst.Attribute) and f.attr.value == "extend" and isinstance(f.value, cst.Name) and len(node.args) == 1:
                    coll.assigns.setdefault((stack[-1], f.value.value), []).append(("+=", node.args[0].value))

        module.visit(V())


def _kw(call, name: str):
    for a in call.args:
        if a.keyword is not None and a.keyword.value == name:
            return a
    return None


def _first_arg(call):
    for a in call.args:
        if a.keyword is None and a.star == "":
            return a
    return _kw(call, "args")


def _elements(c: _Collector, node, scope: int) -> tuple[list[El], list] | None:
    cst = c.cst
    if isinstance(node, (cst.List, cst.Tuple)):
        lists = [node]
    elif isinstance(node, cst.Name):
        vals = c.assigns.get((scope, node.value)) or c.assigns.get((id(c.module), node.value))
        if not vals or vals[0][0] != "=" or sum(1 for op, _ in vals if op == "=") != 1:
            return None
        lists = [v for _op, v in vals]
        if not all(isinstance(v, (cst.List, cst.Tuple)) for v in lists):
            return None
    else:
        return None
    values = []
    for lst in lists:
        for e in lst.elements:
            if not isinstance(e, cst.Element):
                return None
            values.append(e.value)
    if not _is_build([_static(v) for v in values[:6]]) or not any("build-arg" in (c.module.code_for_node(v)) for v in values):
        return None
    els: list[El] = []
    for v in values:  # positions only now: resolving them is the expensive part
        s, t = c.span(v)
        els.append(El(v, s, t, _static(v), c.module.code_for_node(v)))
    return els, lists


def _unresolved_build(c: _Collector, node, scope: int, depth: int = 0) -> bool:
    """An argv that starts like a docker build but holds parts dfix cannot resolve statically."""
    cst = c.cst
    if depth > 8:
        return False
    if isinstance(node, cst.Name):
        vals = c.assigns.get((scope, node.value)) or c.assigns.get((id(c.module), node.value))
        if not vals:
            return False
        return any(_unresolved_build(c, v, scope, depth + 1) for _op, v in vals) or (
            len(vals) > 1 and any(_unresolved_build_prefix(c, v) for _op, v in vals)
        )
    if isinstance(node, cst.BinaryOperation):
        return _unresolved_build_prefix(c, node.left) or _unresolved_build(c, node.left, scope, depth + 1)
    if isinstance(node, (cst.List, cst.Tuple)):
        if not _unresolved_build_prefix(c, node):
            return False
        return any(not isinstance(e, cst.Element) or _static(e.value) is None for e in node.elements)
    return False


def _unresolved_build_prefix(c: _Collector, node) -> bool:
    cst = c.cst
    while isinstance(node, cst.BinaryOperation):
        node = node.left
    if not isinstance(node, (cst.List, cst.Tuple)):
        return False
    statics = [_static(e.value) if isinstance(e, cst.Element) else None for e in node.elements[:6]]
    return _is_build(statics) or (
        bool(statics)
        and statics[0] is not None
        and statics[0].rsplit("/", 1)[-1] in BUILD_TOOLS
        and len(statics) >= 2
        and statics[1] in ("build", "buildx", "bud")
    )


def _is_build(statics: list[str | None]) -> bool:
    if not statics or statics[0] is None:
        return False
    tool = statics[0].rsplit("/", 1)[-1]
    if tool not in BUILD_TOOLS:
        return False
    rest = [s for s in statics[1:6] if s is not None and not s.startswith("-")]
    if not rest:
        return False
    if tool == "buildah":
        return rest[0] in ("bud", "build", "build-using-dockerfile")
    return rest[0] == "build" or (rest[0] in ("buildx", "image", "builder") and len(rest) > 1 and rest[1] in ("build", "b"))


def _string_shell(c: _Collector, node) -> tuple[View, str] | None:
    """A view over a (f-)string literal's body, when it has no backslash escapes."""
    cst = c.cst
    if not isinstance(node, (cst.SimpleString, cst.FormattedString)):
        return None
    s, e = c.span(node)
    code = c.text[s:e]
    m = _STR_START.match(code)
    if not m or "b" in m.group(1).lower():
        return None
    q = m.group(2)
    body_s, body_e = s + m.end(), e - len(q)
    body = c.text[body_s:body_e]
    if "\\" in body:
        return None
    f = "f" in m.group(1).lower()
    enc = ("pyf-" if f else "py-") + ("sq" if q[0] == "'" else "dq")
    return View(body, base=body_s, enc=enc), "pyf" if f else "sh"


def find(path: str, text: str, root: str | None) -> list[Found]:
    if not _PREFILTER_CALL.search(text) or not _PREFILTER_TOOL.search(text):
        return []
    calls = _may_call(text)
    if calls == "none":
        return []  # CPython reads it and no call in it can run a build: libcst is not needed
    import libcst

    why = _too_complex(text)
    if why is not None and calls == "not-builds":
        return []  # too large for libcst, but CPython shows no call that could be a build
    if why is None:
        try:
            c = _Collector(text)
            return _find(c, path, root)
        except libcst.ParserSyntaxError:
            return []  # not Python dfix can read: skipped
        except (RecursionError, MemoryError):
            why = "it nests too deeply for dfix's Python parser"
    return [_unparsed(path, root, text, why)]


# ------------------------------------------------------------------------------------------
# Guards around libcst
#
# libcst's native parser recurses once per nesting level: about 2,000 nested brackets (or 5,000
# chained lambdas, 20,000 unary minuses) overflow the C stack, a segfault that loses the whole run;
# a few hundred levels overflow Python's recursion limit in its visitors; and it costs about 50 µs
# per token. So a candidate file is measured first by a linear scanner and refused, with a reason,
# when it is deeper or larger than these limits; a refused file blocks the fixes it may concern
# (an unresolved caller) instead of being skipped. CPython refuses 200 nested brackets itself, so no
# runnable script comes near the bracket limit.

MAX_BRACKET_DEPTH = 100  # nested (), [] and {} (replacement fields of f-strings included)
MAX_NESTING = 1000  # brackets plus the operators and operands chained at each level
MAX_TOKENS = 20_000  # about 75 KB of ordinary code, about a second of libcst

_PY_SCAN = re.compile(
    r"(?P<s>[rRbBuUfF]{0,2}(?:\'\'\'|\"\"\"|\'|\"))"
    r"|(?P<c>#[^\r\n]*+)"
    r"|(?P<o>[(\[{])"
    r"|(?P<x>[)\]}])"
    r"|(?P<sep>[,;])"
    r"|(?P<nl>\r\n?|\n)"
    r"|(?P<cont>\\(?:\r\n?|\n))"
    r"|(?P<w>[ \t\f]++)"
    r"|(?P<t>\w++|.)",
    re.S,
)
_PY_STR_END = {
    '"""': re.compile(r'(?:[^"\\]++|\\.|"(?!""))*+"""', re.S),
    "'''": re.compile(r"(?:[^'\\]++|\\.|'(?!''))*+'''", re.S),
    '"': re.compile(r'(?:[^"\\\r\n]++|\\(?:\r\n|.))*+"', re.S),
    "'": re.compile(r"(?:[^'\\\r\n]++|\\(?:\r\n|.))*+'", re.S),
}
_PY_FSTR_BRACKETS = re.compile(r"\{\{|\}\}|[(\[{)\]}]")
_PY_LINE_REST = re.compile(r"[^\r\n]*+")


def measure(text: str) -> tuple[int, int, int]:
    """(deepest bracket nesting, deepest nesting estimate, tokens) of Python source, in one linear
    pass that never parses: strings and comments are skipped (the replacement fields of f-strings
    are counted), and the estimate adds, at every open bracket level, the tokens chained since the
    last ``,``/``;``/logical line end (``a + b + …``, ``not not …``, ``x.a.b…`` and ``f()()…`` nest
    in a syntax tree as brackets do). Over-estimates are fine: it only decides what libcst sees."""
    depth = maxdepth = maxnest = tokens = 0
    stack: list[int] = []  # the segment length of each enclosing level
    enclosing = cur = 0  # sum(stack); the current segment's length
    pos, n = 0, len(text)
    scan = _PY_SCAN.match

    def open_() -> None:
        nonlocal enclosing, cur, depth, maxdepth
        stack.append(cur)
        enclosing += cur
        cur = 0
        depth += 1
        maxdepth = max(maxdepth, depth)

    def close() -> None:
        nonlocal enclosing, cur, depth
        if stack:
            cur = stack.pop()
            enclosing -= cur
            depth -= 1
        cur += 1

    while pos < n:
        m = scan(text, pos)
        if m is None:
            break  # never: the last alternative matches any character
        kind = m.lastgroup
        pos = m.end()
        if kind in ("w", "c", "cont"):
            continue
        if kind == "nl":
            if depth == 0:
                cur = 0  # a logical line ends
            continue
        tokens += 1
        if kind == "o":
            open_()
        elif kind == "x":
            close()
        elif kind == "sep":
            cur = 0
        else:
            cur += 1
            if kind == "s":
                prefix = m.group("s")
                q = prefix.lstrip("rRbBuUfF")
                e = _PY_STR_END[q].match(text, pos)
                if e is not None:
                    end = e.end()
                elif len(q) == 3:
                    end = n
                else:
                    rest = _PY_LINE_REST.match(text, pos)  # always matches (maybe empty)
                    end = n if rest is None else rest.end()
                if "f" in prefix[: -len(q)].lower():
                    # brackets inside replacement fields count; literal text and {{ }} do not, and an
                    # unbalanced field does not leak out of its string
                    base = len(stack)
                    for b in _PY_FSTR_BRACKETS.finditer(text, pos, end):
                        pair = b.group()
                        if len(stack) == base and (pair != "{"):
                            continue
                        for ch in pair:
                            tokens += 1
                            if ch in "([{":
                                open_()
                            else:
                                close()
                            maxnest = max(maxnest, enclosing + cur + depth)
                    while len(stack) > base:
                        close()
                pos = end
        maxnest = max(maxnest, enclosing + cur + depth)
    return maxdepth, maxnest, tokens


def _too_complex(text: str) -> str | None:
    """Why libcst must not parse ``text`` (None: it may)."""
    depth, nest, tokens = measure(text)
    if depth > MAX_BRACKET_DEPTH:
        return f"brackets nested {depth} deep, more than the {MAX_BRACKET_DEPTH} dfix parses"
    if nest > MAX_NESTING:
        return f"expressions nested about {nest} deep, more than the {MAX_NESTING} dfix parses"
    if tokens > MAX_TOKENS:
        return f"{tokens} tokens, more than the {MAX_TOKENS} dfix parses"
    return None


def _unparsed(path: str, root: str | None, text: str, why: str) -> Found:
    """A candidate file dfix refuses to parse: an unresolved caller that blocks every fix that
    migrates a build arg (it may pass any to any Dockerfile)."""
    e = len(text)
    reason = f"{rel(path, root)} is a Python build script dfix does not parse ({why}); it may pass this build arg: migrate it by hand"
    return Found(
        Invocation(path, "python", None, None, (BuildArgUse("*", "unknown", None, 0, e),), 0, e, migratable=False, reason=reason), None
    )


def _may_call(text: str) -> str:
    """What CPython's parser (a fraction of libcst's time) tells about the calls :func:`_find`
    looks at (a ``subprocess`` function, ``os.system``, ``….build(buildargs=…)``): "none" (there is
    none: libcst is not needed), "not-builds" (each has literal arguments none of which says
    ``build``/``bud``, so none can be a build), or "maybe" (some could be, or CPython cannot parse
    the text: newer syntax, or nesting CPython itself refuses)."""
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except Exception:  # noqa: BLE001 - SyntaxError, ValueError, RecursionError, MemoryError
        return "maybe"

    def dotted(node) -> str:
        parts = []
        while True:  # iterative: an attribute chain can be long
            if isinstance(node, ast.Name):
                parts.append(node.id)
                break
            if isinstance(node, ast.Attribute):
                parts.append("." + node.attr)
                node = node.value
            elif isinstance(node, ast.Call):
                parts.append("()")
                node = node.func
            else:
                return ""
        return "".join(reversed(parts))

    def says_build(node) -> bool:
        for n in ast.walk(node):
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and ("build" in n.value or "bud" in n.value):
                return True
            if isinstance(n, ast.Attribute) and n.attr == "build":
                return True
        return False

    def literal(node) -> bool:
        if isinstance(node, (ast.List, ast.Tuple)):
            return all(isinstance(e, (ast.Constant, ast.JoinedStr)) for e in node.elts)
        return isinstance(node, (ast.Constant, ast.JoinedStr))

    subprocess_names: set[str] = set()
    func_names: set[str] = set()
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            calls.append(node)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "subprocess":
                    subprocess_names.add(a.asname or "subprocess")
        elif isinstance(node, ast.ImportFrom) and node.module == "subprocess" and not any(a.name == "*" for a in node.names):
            func_names.update(a.asname or a.name for a in node.names if a.name in _SUBPROCESS_FUNCS)
    found = "none"
    anywhere = "build" in text or "bud" in text  # an argv in a variable says it where it is built
    for call in calls:
        fname = dotted(call.func)
        base, _, attr = fname.rpartition(".")
        if not (
            (base in subprocess_names and attr in _SUBPROCESS_FUNCS)
            or (not base and fname in func_names)
            or fname == "os.system"
            or (attr == "build" and any(k.arg == "buildargs" for k in call.keywords))
        ):
            continue
        found = "not-builds"
        argv = list(call.args) + [k.value for k in call.keywords if k.arg == "args"]
        if says_build(call) or (anywhere and not all(literal(a) for a in argv)):
            return "maybe"
    return found


def _find(c: _Collector, path: str, root: str | None) -> list[Found]:
    cst = c.cst
    shown = rel(path, root)
    out: list[Found] = []
    for call in c.calls:
        fname = _dotted(call.func)
        base, _, attr = fname.rpartition(".")
        kind = None
        if base in c.subprocess_names and attr in _SUBPROCESS_FUNCS:
            kind = attr
        elif not base and fname in c.func_names:
            kind = c.func_names[fname]
        elif fname in ("os.system",):
            kind = "system"
        elif attr == "build" and _kw(call, "buildargs") is not None:
            out.extend(_find_sdk(c, path, root, call))
            continue
        if kind is None:
            continue
        first = _first_arg(call)
        if first is None:
            continue
        val = first.value
        if isinstance(val, cst.Call) and _dotted(val.func) in ("shlex.split", "split") and val.args:
            val = val.args[0].value
        res = _elements(c, val, c.scope.get(id(call), id(c.module)))
        if res is None and _unresolved_build(c, val, c.scope.get(id(call), id(c.module))):
            # a docker build whose argv holds a *splat, a variable or a computed list: it may pass
            # any build arg to any Dockerfile, so it blocks every fix that migrates one
            s, e = c.span(call)
            line = c.pos[call].start.line
            reason = (
                f"{shown}:{line} runs a docker build whose arguments dfix cannot resolve (a *splat, a variable or a"
                " computed list); it may pass this build arg: migrate it by hand, or make the argv a literal list"
            )
            out.append(
                Found(
                    Invocation(
                        path, "python", None, None, (BuildArgUse("*", "unknown", None, s, e),), s, e, migratable=False, reason=reason
                    ),
                    None,
                )
            )
            continue
        if res is None and not (isinstance(val, (cst.SimpleString, cst.FormattedString)) and "build-arg" in c.module.code_for_node(val)):
            continue
        s, e = c.span(call)
        pc = PyCall(call, kind, s, e, env_ok=kind != "system")
        where = f"{shown} {fname}() line {c.pos[call].start.line}"
        if res is not None:
            els, lists = res
            if not _is_build([el.static for el in els]):
                continue
            pc.lists = lists
            _collect_list_args(c, els, pc)
            if not pc.args:
                continue
            uses = tuple(BuildArgUse(a.name, a.kind, a.source, a.elements[0].start, a.elements[-1].end) for a in pc.args)
            df, ctx = _list_paths(c, els, call, path, root)
            tool = (els[0].static or "docker").rsplit("/", 1)[-1] if els else "docker"
            out.append(Found(Invocation(path, "python", df, ctx, uses, s, e, tool=tool), (pc, where, c)))
            continue
        sv = _string_shell(c, val)
        if sv is None:
            continue
        view, flavor = sv
        cmds = commands(Lexer(view, flavor))
        host = Host(
            "python",
            flavor,
            scope_of(cmds),
            where=where,
            literal_note=lambda n: f"set {n} in the environment that runs {os.path.basename(path)} (or define it as a CI secret)",
        )
        for bc in build_commands(cmds):
            if not bc.args:
                continue
            pc2 = PyCall(call, kind, s, e, env_ok=kind != "system")
            pc2.shell_units.append((view, bc, host))
            uses = tuple(
                BuildArgUse(a.name, (v := classify(a.value, host)).kind, v.source, view.src(a.start), view.src(a.end)) for a in bc.args
            )
            df = ctx = None
            if root is not None:
                df, ctx = resolve_paths(bc, _bases(c, call, path, root))
            out.append(Found(Invocation(path, "python", df, ctx, uses, s, e, tool=bc.tool), (pc2, where, c)))
    return out


def _bases(c: _Collector, call, path: str, root: str) -> list[str]:
    d = os.path.dirname(path)
    cwd = _kw(call, "cwd")
    if cwd is not None:
        v = _static(cwd.value)
        if v is not None:
            return [os.path.join(root, v), os.path.join(d, v)]
    return [root, d]


def _collect_list_args(c: _Collector, els: list[El], pc: PyCall) -> None:
    i = 0
    while i < len(els):
        el = els[i]
        st = el.static
        if st == "--build-arg" and i + 1 < len(els):
            nxt = els[i + 1]
            name, kind, src, expr = _analyse_value(c.module, nxt)
            pc.args.append(PyArg(name, kind, src, expr, [el, nxt], False))
            i += 2
            continue
        if (st is not None and st.startswith("--build-arg=")) or (st is None and re.match(r"""^[fF]?(['"])--build-arg=""", el.code)):
            name, kind, src, expr = _analyse_value(c.module, el, "--build-arg=")
            pc.args.append(PyArg(name, kind, src, expr, [el], True))
        i += 1


def _list_paths(c: _Collector, els: list[El], call, path: str, root: str | None) -> tuple[str | None, str | None]:
    if root is None:
        return None, None
    statics = [el.static for el in els]
    fil = ctx = None
    positional: list[str | None] = []
    k = 1
    while k < len(statics):
        s = statics[k]
        if s is None:
            positional.append(None)
            k += 1
            continue
        if s in ("-f", "--file") and k + 1 < len(statics):
            fil = statics[k + 1] or "\0"
            k += 2
            continue
        if s.startswith("--file="):
            fil = s[len("--file=") :]
        elif s.startswith("-") and "=" not in s and s in _VALUE_FLAGS:
            k += 2
            continue
        elif not s.startswith("-"):
            positional.append(s)
        k += 1
    positional = [p for p in positional if p not in ("build", "buildx", "image", "bud", "b", "builder")]
    if positional:
        ctx = positional[-1]
    if ctx is None or fil == "\0":
        return None, None
    for b in _bases(c, call, path, root):
        f = os.path.join(b, fil) if fil else os.path.join(b, ctx, "Dockerfile")
        if os.path.isfile(f):
            return os.path.realpath(f), os.path.realpath(os.path.join(b, ctx))
    b = _bases(c, call, path, root)[0]
    return os.path.realpath(os.path.join(b, fil) if fil else os.path.join(b, ctx, "Dockerfile")), os.path.realpath(os.path.join(b, ctx))


from .shell import BUILD_VALUE_FLAGS as _VALUE_FLAGS  # noqa: E402


def _find_sdk(c: _Collector, path: str, root: str | None, call) -> list[Found]:
    cst = c.cst
    ba = _kw(call, "buildargs")
    s, e = c.span(call)
    uses = []
    if isinstance(ba.value, cst.Dict):
        for el in ba.value.elements:
            if not isinstance(el, cst.DictElement):
                continue
            key = _static(el.key)
            if key is None:
                continue
            vcode = c.module.code_for_node(el.value)
            if _static(el.value) is not None:
                kind, src = "literal", None
            else:
                kind, src = _value_kind(vcode, el.value)
            ks, _ = c.span(el.key)
            _, ve = c.span(el.value)
            uses.append(BuildArgUse(key, kind, src, ks, ve))
    if not uses:
        return []
    pth = _kw(call, "path")
    dfk = _kw(call, "dockerfile")
    p = _static(pth.value) if pth is not None else None
    d = _static(dfk.value) if dfk is not None else "Dockerfile"
    df = ctx = None
    if root is not None and p is not None and d is not None:
        for b in (root, os.path.dirname(path)):
            cand = os.path.join(b, p, d)
            if os.path.isfile(cand):
                df, ctx = os.path.realpath(cand), os.path.realpath(os.path.join(b, p))
                break
        else:
            df, ctx = os.path.realpath(os.path.join(root, p, d)), os.path.realpath(os.path.join(root, p))
    pc = PyCall(call, "sdk", s, e, env_ok=False, sdk=True, sdk_path=p, sdk_dockerfile=d if dfk is not None else None)
    reason = (
        "the docker SDK's build(buildargs=…) uses the classic builder API, which cannot pass BuildKit secrets; "
        "use python-on-whales: docker.buildx.build("
        + (repr(p) if p else "context")
        + (f", file={d!r}" if dfk is not None else "")
        + ', secrets=["id=<id>,env=<NAME>"]) with NAME exported'
    )
    where = f"{rel(path, root)} line {c.pos[call].start.line}"
    return [Found(Invocation(path, "python", df, ctx, tuple(uses), s, e, migratable=False, reason=reason), (pc, where, c))]


# ------------------------------------------------------------------------------------------
# planning


def plan(path: str, text: str, groups: list, result: CallerPlan) -> None:
    c = groups[0][0].data[2] if groups else _Collector(text)
    need_os = False
    nl = "\r\n" if "\r\n" in text else "\n"
    for found, migrated in groups:
        pc, where, _c = found.data
        if pc.sdk:
            ids = ", ".join(f'"{migrated[a.name].cli()}"' for a in found.inv.build_args if migrated.get(a.name) is not None)
            if not ids:
                continue  # only build args nothing reads any more: harmless
            p = repr(pc.sdk_path) if pc.sdk_path else "context"
            f = f", file={pc.sdk_dockerfile!r}" if pc.sdk_dockerfile else ""
            result.add_unmigratable(
                f"{where}: the docker SDK's build(buildargs=…) cannot pass BuildKit secrets; use python-on-whales "
                f"docker.buildx.build({p}{f}, secrets=[{ids}]) with the variables exported"
            )
            continue
        env_entries: dict[str, str] = {}
        if pc.shell_units:
            for view, bc, host in pc.shell_units:
                host.add_env = _adder(env_entries) if pc.env_ok else None
                plan_build(view, text, bc, migrated, host, result)
        else:
            _plan_list(c, pc, migrated, env_entries, result, where)
        if env_entries and _add_env(c, pc.call, env_entries, nl, result, where):
            need_os = True
    if need_os and not c.os_imported:
        _import_os(c, nl, result)


def _adder(entries: dict[str, str]):
    def add(name: str, expr: str) -> bool:
        if name in entries and entries[name] != expr:
            return False
        entries[name] = expr
        return True

    return add


def _quote_of(el: El) -> str:
    m = _STR_START.match(el.code)
    return m.group(2)[0] if m and m.group(2) in ("'", '"') else '"'


def _plan_list(c: _Collector, pc: PyCall, migrated: dict[str, SecretSpec], env: dict[str, str], result: CallerPlan, where: str) -> None:
    done: set[str] = set()
    for a in pc.args:
        if a.name == "":
            if migrated:
                result.add_note(f"{where}: a build arg is computed at run time; check that it does not pass {', '.join(sorted(migrated))}")
            continue
        if a.name not in migrated:
            continue
        spec = migrated[a.name]
        if spec is None:  # the ARG is gone and nothing reads it: the build arg just goes
            if a.kind == "literal":
                result.add_rotate(a.name)
                result.add_note(f"{where}: the committed value of {a.name} was removed (it must be rotated)")
            result.edits.append(_delete_elements(c.text, a.elements))
            continue
        env_name = a.name
        if a.kind == "passthrough":
            pass
        elif a.kind == "literal":
            result.add_rotate(a.name)
            result.add_note(
                f"{where}: the committed value of {a.name} was removed (it must be rotated); set {a.name} in the environment that runs the script"
            )
        elif a.kind == "env" and a.source:
            env_name = a.source
        elif a.expr is not None and pc.env_ok:
            if a.name in env and env[a.name] != a.expr:
                result.add_unmigratable(f"{where}: {a.name} is passed twice with different values")
                continue
            env[a.name] = a.expr
        else:
            result.add_unmigratable(f"{where}: the value of {a.name} cannot be moved into the environment; migrate it by hand")
            continue
        secret = f"id={spec.id},env={env_name}" if spec.type == "env" else spec.cli()
        if spec.id in done:
            result.edits.append(_delete_elements(c.text, a.elements))
            continue
        done.add(spec.id)
        q = _quote_of(a.elements[0])
        if a.single:
            el = a.elements[0]
            result.edits.append(Edit(el.start, el.end, f"{q}--secret={secret}{q}"))
        else:
            flag, value = a.elements
            result.edits.append(Edit(flag.start, flag.end, f"{q}--secret{q}"))
            result.edits.append(Edit(value.start, value.end, f"{q}{secret}{q}"))


def _delete_elements(text: str, els: list[El]) -> Edit:
    s, e = els[0].start, els[-1].end
    return delete_list_item(text, s, e, after_ws=" \t\r\n", before_ws=" \t\r\n")


def _add_env(c: _Collector, call, entries: dict[str, str], nl: str, result: CallerPlan, where: str) -> bool:
    """Merge ``entries`` into the call's ``env=``; True when ``os.environ`` is referenced."""
    cst = c.cst
    items = ", ".join(f'"{k}": {v}' for k, v in entries.items())
    kw = _kw(call, "env")
    if kw is not None:
        v = kw.value
        if isinstance(v, cst.Dict):
            if v.elements:
                _, last_end = c.span(v.elements[-1].value)
                result.edits.append(Edit(last_end, last_end, ", " + items))
            else:
                s, e = c.span(v)
                result.edits.append(Edit(s + 1, s + 1, items))
            return False
        s, e = c.span(v)
        if isinstance(v, cst.Name) and v.value == "None":
            result.edits.append(Edit(s, e, "{**os.environ, " + items + "}"))
            return True
        code = c.text[s:e]
        if not isinstance(v, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
            code = f"({code})"
        result.edits.append(Edit(s, e, "{**" + code + ", " + items + "}"))
        return False
    new = "env={**os.environ, " + items + "}"
    args = [a for a in call.args]
    if not args:
        return False
    last = args[-1]
    _, last_end = c.span(last.value)
    close = c.span(call)[1] - 1  # the ')'
    between = c.text[last_end:close]
    if "\n" in between:
        first_of_last = c.span(last.keyword)[0] if last.keyword is not None else c.span(last.value)[0]
        ls = c.text.rfind("\n", 0, first_of_last) + 1
        ind = c.text[ls:first_of_last]
        if ind.strip() != "":
            ind = " " * (len(ind) - len(ind.lstrip()))
        comma_at = between.find(",")
        if comma_at >= 0:
            at = last_end + comma_at + 1
            result.edits.append(Edit(at, at, f"{nl}{ind}{new},"))
        else:
            result.edits.append(Edit(last_end, last_end, f",{nl}{ind}{new}"))
    else:
        comma_at = between.find(",")
        if comma_at >= 0:
            at = last_end + comma_at + 1
            result.edits.append(Edit(at, at, f" {new}"))
        else:
            result.edits.append(Edit(last_end, last_end, f", {new}"))
    return True


def _import_os(c: _Collector, nl: str, result: CallerPlan) -> None:
    cst = c.cst
    body = c.module.body
    anchor = None
    after_future = None
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine) and stmt.body and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom)):
            first = stmt.body[0]
            if isinstance(first, cst.ImportFrom) and first.module is not None and _dotted(first.module) == "__future__":
                after_future = stmt
                continue
            anchor = stmt
            break
    if anchor is not None:
        s, _ = c.span(anchor)
        ls = c.text.rfind("\n", 0, s) + 1
        result.edits.append(Edit(ls, ls, f"import os{nl}"))
        return
    prev = after_future
    if (
        prev is None
        and body
        and isinstance(body[0], cst.SimpleStatementLine)
        and body[0].body
        and isinstance(body[0].body[0], cst.Expr)
        and isinstance(body[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    ):
        prev = body[0]
    if prev is not None:
        _, e = c.span(prev)
        at = c.text.find("\n", e)
        at = len(c.text) if at < 0 else at + 1
        result.edits.append(Edit(at, at, f"import os{nl}" if at < len(c.text) or c.text.endswith("\n") else f"{nl}import os{nl}"))
        return
    if body:
        s, _ = c.span(body[0])
        ls = c.text.rfind("\n", 0, s) + 1
        result.edits.append(Edit(ls, ls, f"import os{nl}"))

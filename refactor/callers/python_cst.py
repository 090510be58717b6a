"""One libcst parse of a Python build script, and the nodes dfix reads from it.

:class:`_Collector` parses a module once and records its ``subprocess`` imports, assignments and
calls with their scope (positions resolved lazily); :class:`El`, :class:`PyArg` and
:class:`PyCall` hold an argv element, a ``--build-arg`` and a candidate call; the helpers read
static strings, dotted names and the value of a ``NAME=value`` element.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from typing import TYPE_CHECKING

from refactor.codecache import regex
from refactor.records import dataclass

if TYPE_CHECKING:
    from libcst import Call, CSTNode
    from libcst.metadata import CodePosition, CodeRange


_SUBPROCESS_FUNCS = frozenset({"run", "call", "check_call", "check_output", "Popen"})
_PY_ENV_CALL = regex(
    r"""^(?:os\.)?(?:environ\[\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\1\s*\]|getenv\(\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\3\s*\)|environ\.get\(\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\5\s*\))$"""
)


_STR_START = regex(r"""^([rRbBuUfF]{0,2})('''|\"\"\"|'|")""")


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

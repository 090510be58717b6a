"""Linear checks that decide whether libcst may parse a Python file at all.

:func:`measure` scans nesting depth and tokens without parsing, :func:`_too_complex` compares
them with the limits (``MAX_BRACKET_DEPTH``, ``MAX_NESTING``, ``MAX_TOKENS``), and
:func:`_may_call` asks CPython's fast parser whether any call could run a build.
"""

from __future__ import annotations

import re

from refactor.codecache import regex

from .python_cst import _SUBPROCESS_FUNCS

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

_PY_SCAN = regex(
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
_PY_FSTR_BRACKETS = regex(r"\{\{|\}\}|[(\[{)\]}]")
_PY_LINE_REST = regex(r"[^\r\n]*+")


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

"""The layout rules of issue #18, kept true: no module over 400 lines, no import cycle between
refactor modules at import time (function-level and TYPE_CHECKING imports are how the code breaks
them on purpose, so they do not count)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "refactor"
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = p.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _module_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    deps: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            continue
        body = node.body if isinstance(node, ast.Try) else [node]
        for n in body:
            if isinstance(n, ast.Import):
                deps |= {a.name for a in n.names}
            elif isinstance(n, ast.ImportFrom):
                if n.level:
                    base = package.split(".")[: len(package.split(".")) - (n.level - 1)]
                    mod = ".".join(base + ([n.module] if n.module else []))
                else:
                    mod = n.module or ""
                deps.add(mod)
                deps |= {f"{mod}.{a.name}" for a in n.names}
    return {d for d in deps if d in known and d != name}


def test_no_module_is_over_the_limit() -> None:
    long = {
        str(p.relative_to(ROOT.parent)): n for p in ROOT.rglob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, "split these into a face and parts (see CONTRIBUTING.md)"


def test_no_import_cycle() -> None:
    mods = _modules()
    graph = {name: _module_level_imports(name, path, set(mods)) for name, path in mods.items()}
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(v: str, trail: list[str]) -> None:
        state[v] = 1
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail[trail.index(w) :], v, w]))
            if w not in state:
                visit(w, [*trail, v] if w not in trail else trail)
        state[v] = 2

    for v in sorted(graph):
        if v not in state:
            visit(v, [])

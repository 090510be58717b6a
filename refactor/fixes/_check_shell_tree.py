"""Reading a RUN script into a tree for the rewrite check: the tree-sitter-bash parser (guarded
against pathological texts), the re-readings of what dash runs and tree-sitter-bash cannot parse,
and the variables a tree expands."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from refactor.codecache import regex
from refactor.fixes._check_shell_tools import _ARITH_PARENTS

# --------------------------------------------------------------------------------------------
# Parser


@lru_cache(maxsize=1)
def _parser():
    from tree_sitter import Parser

    from refactor.syntax.shell_guard import bash_language

    return Parser(bash_language())


_DOUBLE_OPEN = regex(r"(?<![$(])\(\(")
_READ_WRITE = regex(r"(\d*)<>")
# `<<EOF cat > f` (a heredoc before the command name, as `RUN <<EOF cat > f` gives the shell)
_HEREDOC_FIRST = regex(r"^([ \t]*)(<<-?[ \t]*(?:'[^'\n]*'|\"[^\"\n]*\"|[A-Za-z0-9_]+))[ \t]+([^\n]+)", re.M)


def _spaced(m: re.Match) -> str:
    return m.group(1) + ("< " if m.group(1) in ("", "0") else "> ")


def parse_tree(text: str) -> tuple[bytes, Any]:
    """``text`` as bytes and its tree, or None when parsing it would be pathologically slow
    (:func:`refactor.syntax.shell_guard.guarded_parse`, shared with the analysis reader).

    tree-sitter-bash errs on three things dash runs: a command starting ``((`` that is not
    arithmetic (``((cmd > f))``: two subshells to ``/bin/sh``), the read-write redirect ``N<> f``,
    and a heredoc written before its command (``<<EOF cat > f``). When the text has an error and
    reads again without one with such ``((`` spaced, ``<>`` as ``<`` (fd 0) or ``>`` (any other fd:
    what it writes there lands in the file) and the heredoc moved after its command, that reading
    is the tree."""
    from refactor.syntax.shell_guard import guarded_parse

    src = text.encode("utf-8", "surrogatepass")
    tree = guarded_parse(_parser(), src)
    if tree is not None and tree.root_node.has_error and (b"((" in src or b"<>" in src or b"<<" in src):
        fixed = _READ_WRITE.sub(_spaced, _DOUBLE_OPEN.sub("( (", text))
        alt = _HEREDOC_FIRST.sub(lambda m: f"{m.group(1)}{m.group(3)} {m.group(2)}", fixed).encode("utf-8", "surrogatepass")
        again = guarded_parse(_parser(), alt) if alt != src else None
        if again is not None and not again.root_node.has_error:
            return alt, again
    return src, tree


_QUOTED_REF = regex(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def scan_refs(root, refs: set, dynamic: list) -> dict:
    """Every variable the shell expands in the tree (into ``refs``; ``${!x}`` into ``dynamic``), and
    the single-quoted texts that name ``$VAR`` (returned: (start, end) -> names), which some program
    may expand later."""
    quoted: dict = {}
    stack = [root]
    while stack:
        n = stack.pop()
        t = n.type
        if t == "variable_name":
            p = n.parent
            pt = p.type if p is not None else ""
            if (
                pt in ("simple_expansion", "expansion")
                or pt in _ARITH_PARENTS
                or (pt == "subscript" and p.parent is not None and p.parent.type == "expansion")
            ):
                refs.add(n.text.decode("utf-8", "replace"))
                if pt == "expansion" and any(c.type == "!" for c in p.children):
                    dynamic.append("indirect expansion ${!…}")
        elif t in ("raw_string", "ansi_c_string") or (t == "heredoc_body" and n.named_child_count == 0):
            found = _QUOTED_REF.findall(n.text.decode("utf-8", "replace"))
            if found:
                quoted[(n.start_byte, n.end_byte)] = found
        stack.extend(n.children)
    return quoted

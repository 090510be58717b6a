"""Parsing a RUN's shell text with tree-sitter-bash (imported lazily, error tolerant):
:func:`analyze_shell` walks the tree, recursing into ``sh -c '…'`` strings and heredoc bodies, and
returns the variables expanded and assigned and the commands run; :func:`exec_form_script` turns an
exec-form argv into script text.
"""

from __future__ import annotations

from functools import lru_cache

from refactor.analysis.shell_commands import _SHELLS, ShellInfo, project_code
from refactor.memo import per_file
from refactor.syntax.shell_guard import guarded_parse


@lru_cache(maxsize=1)
def _parser():
    from tree_sitter import Parser

    from refactor.syntax.shell_guard import bash_language

    return Parser(bash_language())


_SHORT_TEXT = 4_096  # texts up to this long are kept per file, 1 MB of text at most (~40 MB of trees)
_LONG_TEXT = 262_144  # longer ones 4 at a time; longer still, parsed per call


def bounded_parse(data: bytes):
    """tree-sitter's tree of ``data``, or None when parsing it would be pathologically slow
    (:func:`refactor.syntax.shell_guard.guarded_parse`, the same guard as the rewrite check's)."""
    return guarded_parse(_parser(), data)


# per text, for the file being analysed: analyze_shell, file_writes, statements share one parse
# (an lru_cache of 256 trees parsed a file of thousands of RUNs twice); at most 1 MB of text held
@per_file(1 << 20, size=len)
def _cached_tree(script: str):
    return bounded_parse(script.encode("utf-8", "surrogatepass"))


@lru_cache(maxsize=4)  # the few long texts (a tree keeps ~40 bytes per byte: at most ~40 MB here)
def _cached_long_tree(script: str):
    return bounded_parse(script.encode("utf-8", "surrogatepass"))


def shell_tree(script: str):
    """The tree of a shell text (parsed once per text while it is cached), or None when the text
    is too pathological to parse (see :func:`bounded_parse`): treat None as a parse error."""
    if len(script) <= _SHORT_TEXT:
        return _cached_tree(script)
    if len(script) <= _LONG_TEXT:
        return _cached_long_tree(script)
    return bounded_parse(script.encode("utf-8", "surrogatepass"))


def _text(node) -> str:
    return node.text.decode("utf-8", "replace")


def _word_value(node) -> str:
    """The literal text of a word-like node, quotes removed (expansions kept as written)."""
    t = node.type
    raw = _text(node)
    if t == "raw_string":
        return raw[1:-1]
    if t == "string":
        return raw[1:-1].replace('\\"', '"').replace("\\$", "$").replace("\\\\", "\\")
    if t == "concatenation":
        return "".join(_word_value(c) for c in node.children)
    return raw


@per_file()  # per script text, for the file being analysed (refactor.memo)
def analyze_shell(script: str) -> ShellInfo:
    refs: set[str] = set()
    assigned: set[str] = set()
    commands: list[str] = []
    argvs: list[tuple[str, ...]] = []
    uncertain = [False]
    _analyze(script, refs, assigned, commands, argvs, uncertain, depth=0)
    return ShellInfo(frozenset(refs), frozenset(assigned), tuple(commands), uncertain[0], tuple(argvs))


def _analyze(script, refs, assigned, commands, argvs, uncertain, depth) -> None:
    if depth > 4:
        uncertain[0] = True
        return
    tree = shell_tree(script)
    if tree is None or tree.root_node.has_error:
        uncertain[0] = True
        # fall back to a lexical scan so nothing is missed
        from refactor.syntax.words import find_refs

        refs.update(r.name for r in find_refs(script))
        if tree is None:  # too pathological to parse: nothing more to learn from it
            return
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        t = node.type
        if t in ("simple_expansion", "expansion"):
            for c in node.children:
                if c.type in ("variable_name", "special_variable_name"):
                    refs.add(_text(c))
                    break
                if c.type == "subscript":
                    for cc in c.children:
                        if cc.type == "variable_name":
                            refs.add(_text(cc))
                            break
                    break
        elif (
            t == "variable_name"
            and node.parent is not None
            and node.parent.type
            in (
                "binary_expression",
                "unary_expression",
                "arithmetic_expansion",
                "parenthesized_expression",
                "postfix_expression",
            )
        ):
            refs.add(_text(node))
        elif t == "variable_assignment":
            for c in node.children:
                if c.type == "variable_name":
                    assigned.add(_text(c))
                    break
        elif t == "command":
            _command(node, refs, assigned, commands, argvs, uncertain, depth)
        stack.extend(reversed(node.children))


def _command(node, refs, assigned, commands, argvs, uncertain, depth) -> None:
    name_node = None
    words = []
    for c in node.children:
        if c.type == "command_name":
            name_node = c
        elif name_node is not None and c.type not in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
            words.append(c)
    if name_node is None:
        return
    name = _word_value(name_node.children[0]) if name_node.children else _text(name_node)
    base = name.rsplit("/", 1)[-1]
    if "$" in name:
        uncertain[0] = True
    commands.append(base)
    argv = (base, *(_word_value(w) for w in words))
    argvs.append(argv)
    label = project_code(argv)
    if label:
        commands.append(f"<{label}>")  # runs project code: opaque
    if base in ("eval",) or base in (".", "source"):
        uncertain[0] = True
    if base == "export" or base == "declare" or base == "readonly":
        for w in words:
            v = _word_value(w)
            if v and not v.startswith("-"):
                assigned.add(v.split("=", 1)[0])
    # sh -c 'script' / bash -ec "script": analyse the script argument too
    if name in _SHELLS or base in ("sh", "bash", "dash", "ash", "zsh"):
        vals = [_word_value(w) for w in words]
        for i, v in enumerate(vals):
            if v.startswith("-") and not v.startswith("--") and "c" in v[1:]:
                if i + 1 < len(vals):
                    _analyze(vals[i + 1], refs, assigned, commands, argvs, uncertain, depth + 1)
                break
        else:
            if vals and not vals[0].startswith("-"):
                commands.append("<script>")  # sh script.sh: opaque
    if base in ("env",):
        # env FOO=bar cmd args: the command after the assignments runs
        for w in words:
            v = _word_value(w)
            if "=" in v or v.startswith("-"):
                continue
            commands.append(v.rsplit("/", 1)[-1])
            break
    if base in ("xargs", "sudo", "gosu", "su", "tini", "chroot", "nice", "timeout", "exec", "command"):
        for w in words:
            v = _word_value(w)
            if v.startswith("-") or "=" in v:
                continue
            commands.append(v.rsplit("/", 1)[-1])
            break


def exec_form_script(argv: list[str]) -> str | None:
    """For exec-form RUN ``["sh", "-c", "script"]`` return the script; else None."""
    if len(argv) >= 3 and argv[0].rsplit("/", 1)[-1] in ("sh", "bash", "dash", "ash", "zsh"):
        for i, a in enumerate(argv[1:], 1):
            if a.startswith("-") and "c" in a[1:] and i + 1 < len(argv):
                return argv[i + 1]
    return None

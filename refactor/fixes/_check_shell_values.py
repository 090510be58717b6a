"""Symbolic values of the rewrite check's shell layer: the value parts (:class:`Arg`, :class:`Secret`,
:class:`Base`, :class:`Opaque`, :class:`Op`, :class:`Deep`), the bounded resolution of
``${X<op>word}``, and the symbolic evaluation of tree-sitter-bash words into tuples of literals and
parts (nothing is executed).
"""

from __future__ import annotations

from refactor.codecache import regex
from refactor.records import dataclass

# --------------------------------------------------------------------------------------------
# Symbolic values


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    default: tuple | None = None  # the declared default (a value), None without one


@dataclass(frozen=True, slots=True)
class Secret:
    name: str  # the original build-arg name (or "id=<id>" for a mount dfix did not create)


@dataclass(frozen=True, slots=True)
class Base:
    name: str


@dataclass(frozen=True, slots=True)
class Opaque:
    what: str  # a fixed description; never text from the file


@dataclass(frozen=True, slots=True)
class Op:
    op: str
    subject: tuple
    word: tuple


@dataclass(frozen=True, slots=True)
class Deep:
    """A ``${…}`` nested deeper than :data:`MAX_DEPTH`: its exact text and the value of every
    variable it names (the same text over the same values expands to the same string)."""

    text: str
    refs: tuple  # ((name, value), …) sorted by name


_REF_NAMES = regex(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
MAX_DEPTH = 40  # ${…} nesting beyond this is kept as text (bounded time and stack)


def deep(text: str, lookup) -> tuple:
    return (Deep(text, tuple((n, lookup(n)) for n in sorted(set(_REF_NAMES.findall(text))))),)


def resolve_op(op: str, subject: tuple, word: tuple) -> tuple:
    """``${X<op>word}`` where X's value is ``subject``: decided when the subject is literal."""
    if op in ("", None):
        return subject
    if all(isinstance(p, str) for p in subject) and op in (":-", "-", ":+", "+", ":?", "?", ":=", "="):
        empty = not "".join(subject)
        if op in (":-", ":=", ":?"):
            return word if empty else subject
        if op in ("-", "=", "?"):
            return subject
        if op == ":+":
            return () if empty else word
        return word  # "+": the variable is set
    return (Op(op, subject, word),)


_EXPANDING = {
    "simple_expansion",
    "expansion",
    "command_substitution",
    "arithmetic_expansion",
    "process_substitution",
    "string",
    "raw_string",
    "ansi_c_string",
    "translated_string",
}


def _assignment(node, src: bytes) -> tuple:
    name = node.child_by_field_name("name")
    value = node.child_by_field_name("value")
    n = src[name.start_byte : name.end_byte].decode() if name is not None else ""
    return n, value


# --------------------------------------------------------------------------------------------
# Words


def _unescape(text: str, quoted: bool) -> str:
    if "\\" not in text:
        return text
    out = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "\n":
                i += 2
                continue
            if not quoted or nxt in '$`"\\':
                out.append(nxt)
                i += 2
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def value(node, src: bytes, lookup, subst=None, depth: int = 0) -> tuple:
    """The symbolic value of a word node. ``lookup(name)`` gives a variable's value (a tuple);
    ``subst(node)`` the value of a command substitution (default: unknown output); ``depth`` is
    the ``${…}`` nesting."""
    t = node.type
    text = src[node.start_byte : node.end_byte].decode("utf-8", "replace")
    if t in ("word", "number", "regex", "extglob_pattern", "test_operator", "heredoc_content", "string_content"):
        return (_unescape(text, False),) if t == "word" else (text,)
    if t == "raw_string":
        return (text[1:-1],)
    if t == "ansi_c_string":
        return (text[2:-1],)
    if t == "simple_expansion":
        c = node.named_children[0] if node.named_child_count else None
        if c is None or c.type != "variable_name":
            return (Opaque("special parameter"),)
        return lookup(c.text.decode("utf-8", "replace"))
    if t == "expansion":
        if depth >= MAX_DEPTH:
            return deep(text, lookup)
        return _expansion(node, src, lookup, subst, depth)
    if t in ("command_substitution", "process_substitution"):
        return subst(node) if subst is not None else (Opaque("command output"),)
    if t == "arithmetic_expansion":
        return (Opaque("arithmetic"),)
    if t in ("string", "translated_string"):
        start = node.start_byte + (2 if t == "translated_string" else 1)
        return _gapped(node, start, node.end_byte - 1, src, lookup, subst, True, depth)
    if t == "concatenation":
        return _gapped(node, node.start_byte, node.end_byte, src, lookup, subst, False, depth)
    return (Opaque("shell construct"),)


def _gapped(node, start: int, end: int, src: bytes, lookup, subst, quoted: bool, depth: int = 0) -> tuple:
    parts: list = []
    pos = start
    for c in node.children:
        if c.type in _EXPANDING or (not quoted and c.type in ("concatenation",)):
            if c.start_byte > pos:
                parts.append(_unescape(src[pos : c.start_byte].decode("utf-8", "replace"), quoted))
            parts.extend(value(c, src, lookup, subst, depth))
            pos = c.end_byte
    if end > pos:
        parts.append(_unescape(src[pos:end].decode("utf-8", "replace"), quoted))
    return tuple(parts)


def _expansion(node, src: bytes, lookup, subst, depth: int = 0) -> tuple:
    children = node.children
    name = None
    op = ""
    op_end = None
    special = ""
    for c in children:
        if c.type == "variable_name" and name is None:
            name = c.text.decode("utf-8", "replace")
        elif c.type == "subscript" and name is None:
            return (Opaque("array element"),)
        elif c.type in ("!", "#") and name is None:
            special = c.type
        elif name is not None and not c.is_named and c.type != "}" and op_end is None:
            op, op_end = c.type, c.end_byte
    if name is None:
        return (Opaque("special parameter"),)
    if special == "!":
        return (Opaque("indirect expansion"),)
    subject = lookup(name)
    if special == "#":
        return (Op("len", subject, ()),)
    if op_end is None:
        return subject
    close = children[-1].start_byte if children and children[-1].type == "}" else node.end_byte
    word = _gapped(node, op_end, close, src, lookup, subst, False, depth + 1)
    return resolve_op(op, subject, word)


def _no_lookup(_name: str) -> tuple:
    return (Opaque("variable"),)


def as_path(node, src: bytes, text: str) -> str:
    """``text``, the value of word ``node``, as a path: a leading ``~`` the shell does not expand
    (quoted or escaped: ``"~/.npmrc"``, ``\\~``; exec form is quoted the same way) names a
    directory called ``~`` under the working directory, not HOME."""
    if text.startswith("~") and src[node.start_byte : node.start_byte + 1] != b"~":
        return "./" + text
    return text


def literal(node, src: bytes) -> str | None:
    """The word's text when it expands nothing, else None."""
    if node is None:
        return None
    if node.type == "word":
        return _unescape(src[node.start_byte : node.end_byte].decode("utf-8", "replace"), False)
    v = value(node, src, _no_lookup)
    return "".join(v) if all(isinstance(p, str) for p in v) else None


def raw_unquoted(node, src: bytes) -> str:
    text = src[node.start_byte : node.end_byte].decode("utf-8", "replace")
    if node.type == "raw_string":
        return text[1:-1]
    if node.type == "string":
        return _unescape(text[1:-1], True)
    return text


def nested_script(real: list, words: list, redirects: list, src: bytes) -> str | None:
    """The script a shell runs: the word after ``-c``, or a heredoc fed to a bare shell."""
    args = real[1:]
    for i, a in enumerate(args):
        if a is not None and a.startswith("-") and not a.startswith("--") and "c" in a[1:]:
            if i + 1 < len(args):
                # the script word: take its text with the outer quoting removed (expansions kept)
                w = words[len(words) - len(args) + i + 1] if len(words) >= len(args) else None
                if args[i + 1] is not None:
                    return args[i + 1]
                return raw_unquoted(w, src) if w is not None else None
            return None
    if not any(a is not None and not a.startswith("-") for a in args):
        for r in redirects:
            if r.type == "heredoc_redirect":
                body = next((c for c in r.children if c.type == "heredoc_body"), None)
                if body is not None:
                    return src[body.start_byte : body.end_byte].decode("utf-8", "replace")
    return None

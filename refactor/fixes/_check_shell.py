"""Shell layer of the rewrite check (:mod:`refactor.fixes.check`).

Written independently of :mod:`refactor.analysis.shell` (only the tree-sitter parser setup is the
same): a RUN script is flattened into :class:`Cmd` records in execution order, with bash's
precedence restored (tree-sitter-bash 0.25 parses ``a && b > f`` as ``(a && b) > f`` and
``a && b | c`` as ``(a && b) | c``). Words are evaluated *symbolically* into values: tuples of
literal strings and the parts below; nothing is ever executed.

Value parts: ``str`` (literal), :class:`Arg` (a build-arg value, unknown at analysis time),
:class:`Secret` (a secret given to the build through a mount), :class:`Base` (a variable this
Dockerfile never sets: whatever the base image has), :class:`Opaque` (command output, arithmetic,
…), :class:`Op` (``${X<op>word}`` that cannot be decided). A variable that is not set is ``None``.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node

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


_REF_NAMES = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
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


# --------------------------------------------------------------------------------------------
# Parser


@lru_cache(maxsize=1)
def _parser():
    import tree_sitter_bash
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bash.language()))


_OPS = {"&&", "||", ";", "&", "|", "|&", ";;", "\n"}
_REDIRECTS = ("file_redirect", "heredoc_redirect", "herestring_redirect")
_COMPOUND = {
    "compound_statement",
    "subshell",
    "if_statement",
    "elif_clause",
    "else_clause",
    "while_statement",
    "for_statement",
    "c_style_for_statement",
    "case_statement",
    "case_item",
    "do_group",
    "function_definition",
    "negated_command",
}
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
_SHELLS = {"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"}
_QUOTED_REF = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_ARITH_PARENTS = {
    "binary_expression",
    "unary_expression",
    "postfix_expression",
    "parenthesized_expression",
    "arithmetic_expansion",
    "ternary_expression",
}


@dataclass(eq=False)
class Cmd:
    node: Node  # the command (or declaration/assignment/test) node
    src: bytes
    kind: str  # cmd | assign | declare | test
    name: str | None  # the command word (literal), None when dynamic
    words: list  # argument nodes
    assigns: list  # (name, value node | None)
    redirects: list  # redirect nodes: its own and those of enclosing groups
    pos: tuple  # ordering key (nested scripts sort right after the command that runs them)
    pipe_prev: Cmd | None = None  # the command whose stdout feeds this one
    cond: bool = False  # runs only when something failed (after ||) or when a function is called
    dead: bool = False  # after an unconditional exit
    in_subst: bool = False  # runs inside $(…): its output is captured
    nested: bool = False  # a shell whose script (sh -c '…', a heredoc) was parsed into the Script

    def text(self, node: Node | None = None) -> str:
        n = node if node is not None else self.node
        return self.src[n.start_byte : n.end_byte].decode("utf-8", "replace")


@dataclass(eq=False)
class Script:
    cmds: list = field(default_factory=list)
    refs: set = field(default_factory=set)  # every variable the shell expands
    quoted: set = field(default_factory=set)  # $NAME in single quotes / quoted heredocs, not a sh -c script
    error: bool = False  # tree-sitter found a syntax error
    dynamic: list = field(default_factory=list)  # reasons the reads cannot be known (eval, ${!x}, …)
    prefix: int = 0  # number of leading assignment statements (``export A="…" &&``)


def parse_script(text: str) -> Script:
    """Flatten ``text`` into commands; nested ``sh -c '…'`` scripts are spliced in."""
    script = Script()
    _parse_into(text, script, (), 0)
    cmds = script.cmds
    k = 0
    while k < len(cmds) and (cmds[k].in_subst or (cmds[k].kind in ("assign", "declare") and not cmds[k].cond)) and len(cmds[k].pos) == 1:
        k += 1
    script.prefix = k
    return script


def exec_script(argv: list[str]) -> Script:
    """An exec-form RUN: ``sh -c SCRIPT`` is that script; anything else runs with no expansion."""
    if argv and argv[0].rsplit("/", 1)[-1] in _SHELLS:
        for i, a in enumerate(argv[1:], 1):
            if a.startswith("-") and "c" in a[1:] and i + 1 < len(argv):
                return parse_script(argv[i + 1])
    return parse_script(shlex.join(argv) if argv else "")


def _parse_into(text: str, script: Script, pos: tuple, depth: int, redirects: Sequence = (), cond: bool = False) -> None:
    src = text.encode("utf-8", "surrogatepass")
    tree = _parser().parse(src)
    root = tree.root_node
    if root.has_error:
        script.error = True
    quoted: dict = {}  # single-quoted text naming $VARs: (start, end) -> names
    # variable references (every place the shell expands a name)
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
                script.refs.add(n.text.decode("utf-8", "replace"))
                if pt == "expansion" and any(c.type == "!" for c in p.children):
                    script.dynamic.append("indirect expansion ${!…}")
        elif t in ("raw_string", "ansi_c_string") or (t == "heredoc_body" and n.named_child_count == 0):
            found = _QUOTED_REF.findall(n.text.decode("utf-8", "replace"))
            if found:
                quoted[(n.start_byte, n.end_byte)] = found
        stack.extend(n.children)
    walker = _Walker(src, script, pos, depth)
    walker.quoted = quoted
    walker.block(root.children, list(redirects), cond)
    for names in quoted.values():  # what is left is text some program may expand later
        script.quoted.update(names)


class _Walker:
    def __init__(self, src: bytes, script: Script, pos: tuple, depth: int):
        self.src, self.script, self.pos, self.depth = src, script, pos, depth
        self.dead = False
        self.in_subst = False
        self.nest = 0
        self.quoted: dict = {}

    # a sequence of statements (children of program / a group body)
    def block(self, children, redirects: list, cond: bool) -> None:
        self.nest += 1
        try:
            if self.nest > MAX_DEPTH:
                self.script.dynamic.append("too deeply nested to follow")
                return
            self._block(children, redirects, cond)
        finally:
            self.nest -= 1

    def _block(self, children, redirects: list, cond: bool) -> None:
        tokens: list = []
        for c in children:
            if c.type in _OPS or (
                not c.is_named and c.type in ("then", "do", "done", "fi", "else", "elif", "esac", "{", "}", "(", ")", "in")
            ):
                if c.type in _OPS:
                    tokens.append(("op", c.type))
                continue
            if not c.is_named or c.type in ("comment", "heredoc_body", "heredoc_end", "heredoc_start"):
                continue
            if tokens and tokens[-1][0] == "item":
                tokens.append(("op", ";"))
            self._stream(c, tokens)
        self._run_tokens(tokens, redirects, cond)

    def _stream(self, node, tokens: list) -> None:
        """Append ``("item", node, redirects)`` / ``("op", op)`` tokens in source order (iterative:
        a long ``a > f && b > g && …`` chain nests as deep as it is long)."""
        stack: list = [("node", node)]
        while stack:
            kind, x = stack.pop()
            if kind == "op":
                tokens.append(("op", x))
                continue
            if kind == "attach":  # bash: a redirect after a list belongs to its last command
                start, reds = x
                for k in range(len(tokens) - 1, start - 1, -1):
                    if tokens[k][0] == "item":
                        tokens[k] = ("item", tokens[k][1], tokens[k][2] + reds)
                        break
                continue
            t = x.type
            if t in ("list", "pipeline"):
                for c in reversed(x.children):
                    if c.type in _OPS or c.type == "|&":
                        stack.append(("op", "|" if c.type in ("|", "|&") else c.type))
                    elif c.is_named and c.type != "comment":
                        stack.append(("node", c))
            elif t == "redirected_statement":
                body = x.child_by_field_name("body")
                reds = [c for c in x.children if c.type in _REDIRECTS]
                if body is not None and body.type in ("list", "pipeline"):
                    stack.append(("attach", (len(tokens), reds)))
                    stack.append(("node", body))
                else:
                    tokens.append(("item", body if body is not None else x, reds))
            else:
                tokens.append(("item", x, []))

    def _run_tokens(self, tokens: list, outer: list, cond: bool) -> None:
        prev_op = ";"
        prev_last: Cmd | None = None
        prev_test = False
        pipe_cond = cond
        for tok in tokens:
            if tok[0] == "op":
                prev_op = tok[1]
                continue
            _, node, reds = tok
            if prev_op == "|":
                c_cond = pipe_cond
                feed = prev_last
            else:
                c_cond = cond or (prev_op == "||" and not prev_test)
                pipe_cond = c_cond
                feed = None
            before = len(self.script.cmds)
            self.item(node, reds + outer, c_cond, feed)
            made = self.script.cmds[before:]
            prev_last = made[-1] if made else None
            prev_test = node.type == "test_command" or (prev_last is not None and prev_last.name in ("[", "test"))
            prev_op = ";"

    def item(self, node, redirects: list, cond: bool, feed) -> None:
        t = node.type
        if t in _COMPOUND:
            func = t == "function_definition"
            saved = self.dead
            self.block(node.children, redirects, cond or func)
            if func or t == "subshell":
                self.dead = saved
            return
        if t in ("command", "declaration_command", "variable_assignment", "variable_assignments", "test_command", "unset_command"):
            self.command(node, redirects, cond, feed)
            return
        if node.named_child_count:  # anything else (an error node, …): the statements inside it
            self.block(node.children, redirects, cond)

    def command(self, node, redirects: list, cond: bool, feed) -> None:
        t = node.type
        src = self.src
        own = [c for c in node.children if c.type in _REDIRECTS]
        redirects = list(redirects)
        for group in (own, redirects):  # a heredoc_redirect nests the file redirect written after it
            group.extend([c for r in group if r.type == "heredoc_redirect" for c in r.children if c.type == "file_redirect"])
        name = None
        words: list = []
        assigns: list = []
        kind = "cmd"
        if t == "command":
            for c in node.children:
                if c.type == "command_name":
                    inner = c.named_children[0] if c.named_child_count else c
                    name = literal(inner, src)
                    if name is None:
                        self.script.dynamic.append("a command whose name is computed")
                elif c.type == "variable_assignment":
                    assigns.append(_assignment(c, src))
                elif c.type not in _REDIRECTS and c.is_named and c.type != "comment":
                    words.append(c)
        elif t in ("variable_assignment", "variable_assignments"):
            kind = "assign"
            targets = [node] if t == "variable_assignment" else [c for c in node.children if c.type == "variable_assignment"]
            assigns = [_assignment(c, src) for c in targets]
        elif t == "declaration_command":
            kind = "declare"
            name = src[node.children[0].start_byte : node.children[0].end_byte].decode()
            for c in node.children[1:]:
                if c.type == "variable_assignment":
                    assigns.append(_assignment(c, src))
                elif c.is_named:
                    words.append(c)
        elif t == "unset_command":
            name = "unset"
            words = [c for c in node.children[1:] if c.is_named]
        else:
            kind, name = "test", "["
        cmd = Cmd(
            node, src, kind, name, words, assigns, own + redirects, self.pos + (node.start_byte,), feed, cond, self.dead, self.in_subst
        )
        self.script.cmds.append(cmd)
        # commands inside $(…) / <(…) run too
        stack = list(words) + [v for _n, v in assigns if v is not None] + own
        while stack:
            n = stack.pop()
            if n.type in ("command_substitution", "process_substitution"):
                saved, self.in_subst = self.in_subst, True
                self.block(n.children, [], cond)
                self.in_subst = saved
            else:
                stack.extend(n.children)
        if name in ("eval", "source", ".") and kind == "cmd":
            self.script.dynamic.append(f"{name} runs text the check cannot see")
        # a nested shell: sh -c 'script', bash <<EOF … EOF
        real = unwrap([name] + [literal(w, src) for w in words]) if kind == "cmd" else []
        if real and real[0] is not None and real[0].rsplit("/", 1)[-1] in _SHELLS and self.depth < 4:
            for w in words + [b for r in cmd.redirects for b in r.children if b.type == "heredoc_body"]:
                self.quoted.pop((w.start_byte, w.end_byte), None)  # a script (parsed below), not deferred text
            nested = _nested_script(real, words, cmd.redirects, src)
            if nested is not None:
                cmd.nested = True
                _parse_into(nested, self.script, cmd.pos, self.depth + 1, cmd.redirects, cond)
        if name == "exit" and kind == "cmd" and not cond:
            self.dead = True


def _nested_script(real: list, words: list, redirects: list, src: bytes) -> str | None:
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


# --------------------------------------------------------------------------------------------
# Commands: wrappers and what a program reads


_WRAPPERS = {
    # wrapper: options that take a value, number of positional words before the command
    "env": ({"-u", "--unset", "-C", "--chdir", "-S"}, 0),
    "sudo": ({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-R"}, 0),
    "exec": ({"-a"}, 0),
    "time": (set(), 0),
    "nohup": (set(), 0),
    "command": (set(), 0),
    "builtin": (set(), 0),
    "nice": ({"-n"}, 0),
    "ionice": ({"-c", "-n"}, 0),
    "timeout": ({"-s", "-k", "--signal", "--kill-after"}, 1),
    "gosu": (set(), 1),
    "su-exec": (set(), 1),
    "chroot": (set(), 1),
    "setsid": (set(), 0),
    "stdbuf": ({"-i", "-o", "-e"}, 0),
    "tini": (set(), 0),
    "dumb-init": (set(), 0),
    "xargs": ({"-I", "-n", "-P", "-L", "-d", "-s", "-a", "-E", "-i"}, 0),
    "catchsegv": (set(), 0),
    "unbuffer": (set(), 0),
    "fakeroot": (set(), 0),
    "doas": ({"-u"}, 0),
}


def unwrap(words: list) -> list:
    """The argv that actually runs, past ``env``/``sudo``/``exec``/… (``None`` = a computed word)."""
    for _ in range(8):
        if not words or words[0] is None:
            return words
        base = words[0].rsplit("/", 1)[-1]
        if base not in _WRAPPERS or (base == "command" and len(words) > 1 and words[1] in ("-v", "-V")):
            return words
        takes, positional = _WRAPPERS[base]
        i = 1
        while i < len(words):
            w = words[i]
            if w is None:
                break
            if w == "--":
                i += 1
                break
            if w.startswith("-") and len(w) > 1:
                i += 2 if w in takes else 1
                continue
            if base == "env" and "=" in w:
                i += 1
                continue
            break
        i += positional
        if i >= len(words):
            return [base] if base == "env" else []  # a bare `env` prints the environment
        words = words[i:]
    return words


@dataclass(frozen=True, slots=True)
class Use:
    """What one program reads from the environment."""

    kind: str  # blind | tool | all (cannot be known: runs project code, a script, …) | dump (prints it all)
    #           | shell (runs the script on its stdin: blind when that is a heredoc the check parsed)
    label: str = ""
    prefixes: tuple = ()
    names: tuple = ()
    config: str = ""  # context files whose ${VAR} the tool expands: "npm"
    files: tuple = ()  # files named on the command line that the tool expands ${VAR} in (pip -r)


# read by every program that is not a shell builtin: proxies, locale, search path, home, CA bundle
COMMON = frozenset(
    "PATH HOME LANG LANGUAGE LC_ALL LC_CTYPE TMPDIR TZ SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE "
    "http_proxy https_proxy ftp_proxy no_proxy all_proxy HTTP_PROXY HTTPS_PROXY FTP_PROXY NO_PROXY ALL_PROXY".split()
)
BUILTINS = frozenset(
    "cd echo printf true false : test [ [[ export set unset umask shift read wait exit return local "
    "declare readonly typeset trap pwd type hash ulimit getopts let alias unalias shopt".split()
)
ENV_BLIND = BUILTINS | frozenset(
    """
    mkdir cp mv rm ln chmod chown chgrp cat ls touch sleep tar gzip gunzip zcat bzip2 bunzip2 xz unxz zstd unzstd
    unzip zip sed grep egrep fgrep head tail sort uniq wc cut tr find tee install rmdir mktemp dirname basename
    realpath readlink stat sha256sum sha1sum sha512sum md5sum cksum base64 date uname hostname id whoami groups
    getent nproc du df free ps kill truncate split seq yes tac rev nl paste join comm fold fmt expand od hexdump
    xxd cmp diff patch file iconv dos2unix unix2dos sync which
    apt apt-get apt-cache apt-key apt-mark dpkg dpkg-reconfigure dpkg-query apk yum dnf microdnf zypper rpm tdnf
    pacman emerge add-apt-repository update-ca-certificates update-alternatives ldconfig locale-gen update-locale
    useradd userdel usermod adduser addgroup deluser delgroup groupadd groupdel groupmod chpasswd passwd chsh
    htpasswd setcap strip gpgconf ssh-keygen tzdata systemctl service a2enmod a2ensite a2dismod a2dissite
    """.split()
)
_ALL = frozenset(
    """
    python python2 python3 node nodejs ruby perl php java bun deno Rscript lua luajit tclsh pwsh powershell
    dotnet nuget msbuild mono mvn mvnw gradle gradlew make gmake cmake ninja bazel bazelisk ant sbt meson scons
    rake npx pnpx bunx su runuser eval source . chroot ansible-playbook ansible
    """.split()
)
_PYVER = re.compile(r"(python|pip)\d+(\.\d+)*$")
_SSH = ("SSH_AUTH_SOCK", "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", "DISPLAY")
_TOOLS = {
    # tool: (prefixes, names, config)
    "npm": (("npm_config_", "NPM_CONFIG_", "NODE_"), ("NODE_AUTH_TOKEN",), "npm"),
    "yarn": (("npm_config_", "NPM_CONFIG_", "YARN_", "NODE_"), ("NODE_AUTH_TOKEN",), "npm"),
    "pnpm": (("npm_config_", "NPM_CONFIG_", "PNPM_", "NODE_"), ("NODE_AUTH_TOKEN",), "npm"),
    "corepack": (("COREPACK_", "npm_config_", "NPM_CONFIG_"), (), "npm"),
    "pip": (("PIP_",), ("PYTHONPATH", "VIRTUAL_ENV"), ""),  # pip.conf does not expand ${VAR}; requirements do
    "uv": (("UV_", "PIP_"), ("VIRTUAL_ENV",), ""),
    "poetry": (("POETRY_", "PIP_"), ("VIRTUAL_ENV",), ""),
    "pipenv": (("PIPENV_", "PIP_"), (), ""),
    "pipx": (("PIPX_", "PIP_"), (), ""),
    "twine": (("TWINE_",), (), ""),
    "git": (("GIT_",), ("SSH_AUTH_SOCK", "SSH_ASKPASS"), ""),
    "git-lfs": (("GIT_",), ("SSH_AUTH_SOCK",), ""),
    "go": (("GO", "CGO_"), (), ""),
    "cargo": (("CARGO_", "RUSTUP_", "RUSTFLAGS"), (), ""),
    "rustup": (("RUSTUP_",), (), ""),
    "composer": (("COMPOSER_",), (), ""),
    "bundle": (("BUNDLE_", "GEM_"), (), ""),
    "bundler": (("BUNDLE_", "GEM_"), (), ""),
    "gem": (("GEM_", "BUNDLE_"), (), ""),
    "aws": (("AWS_",), (), ""),
    "gcloud": (("CLOUDSDK_", "GOOGLE_", "BOTO_"), (), ""),
    "gsutil": (("CLOUDSDK_", "GOOGLE_", "BOTO_"), (), ""),
    "bq": (("CLOUDSDK_", "GOOGLE_"), (), ""),
    "az": (("AZURE_", "AZ_"), (), ""),
    "docker": (("DOCKER_", "BUILDKIT_", "COMPOSE_"), (), ""),
    "helm": (("HELM_",), ("KUBECONFIG",), ""),
    "kubectl": ((), ("KUBECONFIG",), ""),
    "conda": (("CONDA_", "MAMBA_"), (), ""),
    "mamba": (("CONDA_", "MAMBA_"), (), ""),
    "micromamba": (("CONDA_", "MAMBA_"), (), ""),
    "huggingface-cli": (("HF_", "HUGGINGFACE_", "HUGGING_FACE_"), (), ""),
    "curl": (("CURL_",), ("CURL_HOME", "CURL_CA_BUNDLE"), ""),
    "wget": ((), ("WGETRC",), ""),
    "ssh": ((), _SSH, ""),
    "scp": ((), _SSH, ""),
    "sftp": ((), _SSH, ""),
    "ssh-keyscan": ((), _SSH, ""),
    "ssh-add": ((), _SSH, ""),
    "rsync": (("RSYNC_",), _SSH, ""),
    "gpg": (("GNUPG",), (), ""),
    "vault": (("VAULT_",), (), ""),
    "terraform": (("TF_",), (), ""),
    "openssl": (("OPENSSL_",), (), ""),
}
_NPM_SCRIPTS = {
    "run",
    "run-script",
    "rum",
    "urn",
    "test",
    "t",
    "tst",
    "start",
    "stop",
    "restart",
    "exec",
    "x",
    "explore",
    "rebuild",
    "rb",
    "install-test",
    "it",
    "install-ci-test",
    "cit",
}
_NPM_INSTALL = {
    "install",
    "i",
    "in",
    "ins",
    "inst",
    "insta",
    "instal",
    "isnt",
    "isnta",
    "isntal",
    "isntall",
    "add",
    "ci",
    "clean-install",
    "ic",
    "install-clean",
    "isntall-clean",
    "update",
    "up",
    "upgrade",
    "udpate",
    "link",
    "ln",
    "pack",
    "publish",
    "uninstall",
    "remove",
    "rm",
    "r",
    "un",
    "unlink",
    "dedupe",
    "ddp",
    "prune",
    "version",
    "init",
    "create",
}
_YARN_QUIET = {
    "config",
    "cache",
    "info",
    "--version",
    "-v",
    "policies",
    "licenses",
    "why",
    "list",
    "outdated",
    "audit",
    "help",
    "--help",
    "login",
    "logout",
    "npm",
}
_PNPM_QUIET = {
    "config",
    "store",
    "fetch",
    "list",
    "ls",
    "why",
    "outdated",
    "audit",
    "--version",
    "-v",
    "help",
    "login",
    "logout",
    "get",
    "set",
    "env",
}


def _sub(args: list) -> str:
    return next((a for a in args if a is not None and not a.startswith("-")), "")


_PIP_VALUED = {
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--src",
    "--cache-dir",
    "--trusted-host",
    "--python-version",
    "--platform",
    "--only-binary",
    "--no-binary",
    "--upgrade-strategy",
    "--log",
    "--proxy",
    "--retries",
    "--timeout",
    "--exists-action",
    "--cert",
    "--client-cert",
    "--implementation",
    "--abi",
    "-d",
    "--dest",
    "--report",
    "--progress-bar",
    "-w",
    "--wheel-dir",
}


def _pip_local(args: list) -> bool:
    """pip install/wheel/download of a local project runs its build code."""
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a is None:
            return True
        if a in ("-e", "--editable") or a.startswith(("-e.", "-e/", "--editable=")):
            return True
        if a in _PIP_VALUED:
            skip = True
            continue
        if a.startswith("-"):
            continue
        if a in (".", "..") or a.startswith(("./", "../", "/", "file:", "~")) or ("/" in a and a.endswith((".tar.gz", ".zip", ".whl"))):
            return True
        if a.endswith("setup.py"):
            return True
    return False


def _pip_use(label: str, args: list, prefixes: tuple, names: tuple, config: str) -> Use:
    sub = _sub(args)
    rest = args[args.index(sub) + 1 :] if sub in args else args
    if sub in ("install", "wheel", "download", "sync") and _pip_local(rest):
        return Use("all", f"{label} {sub} of a local project")
    files = []
    for i, a in enumerate(args):
        if a is None:
            continue
        if a in ("-r", "--requirement", "-c", "--constraint"):
            if i + 1 < len(args) and args[i + 1]:
                files.append(args[i + 1])
        elif a.startswith(("--requirement=", "--constraint=")):
            files.append(a.split("=", 1)[1])
        elif a.startswith(("-r", "-c")) and len(a) > 2 and not a.startswith("--"):
            files.append(a[2:])
    return Use("tool", label, prefixes, names, config, tuple(files))


def classify(argv: list) -> Use:
    """How the program ``argv`` (after :func:`unwrap`; words are literal strings or None) reads the
    environment. Unknown programs, scripts and tools that run project code read everything."""
    if not argv:
        return Use("blind")
    name = argv[0]
    if name is None:
        return Use("all", "a computed command")
    base = name.rsplit("/", 1)[-1]
    args = list(argv[1:])
    if "/" in name and not name.startswith("/"):
        return Use("all", f"{name} (a script)")
    if _PYVER.fullmatch(base):
        base = re.sub(r"[\d.]+$", "", base) if base.startswith("pip") else base
    if base.startswith("python") and len(args) >= 2 and args[0] == "-m":
        mod = args[1]
        if mod == "pip":
            return _pip_use("pip", args[2:], *_TOOLS["pip"])
        if mod in ("venv", "ensurepip", "virtualenv"):
            return Use("tool", f"python -m {mod}", ("PIP_",), ("VIRTUAL_ENV",))
        return Use("all", f"python -m {mod}")
    if base.startswith("python") or base in _ALL:
        return Use("all", base)
    if base in _SHELLS:
        # sh -c SCRIPT and sh <<EOF: the script's own commands are classified; sh FILE runs a script
        if any(a is not None and a.startswith("-") and not a.startswith("--") and "c" in a[1:] for a in args):
            return Use("blind", base)
        if not any(a is not None and not a.startswith("-") for a in args):
            return Use("shell", base)  # reads its script from stdin: known only when it is a heredoc
        return Use("all", f"{base} {_sub(args)} (a script)")
    if base in ("env", "printenv") or (base in ("export", "declare", "set", "typeset") and not args):
        return Use("dump", base)
    if base == "envsubst":
        return Use("dump", base)
    if base in ("awk", "gawk", "mawk", "nawk"):
        return Use("all", base) if any(a is None or "ENVIRON" in a for a in args) else Use("blind", base)
    if base in ("jq", "yq", "gojq"):
        return Use("dump", base) if any(a is None or "env" in a or "ENV" in a for a in args) else Use("blind", base)
    if base == "find":
        for i, a in enumerate(args):
            if a in ("-exec", "-execdir", "-ok", "-okdir") and i + 1 < len(args):
                end = next((k for k in range(i + 1, len(args)) if args[k] in (";", "+", "\\;")), len(args))
                return classify(unwrap(args[i + 1 : end]))
        return Use("blind", base)
    if base in ENV_BLIND:
        return Use("blind", base)
    sub = _sub(args)
    ignore = any(a is not None and a.startswith("--ignore-scripts") for a in args)
    if base == "npm":
        if sub in _NPM_SCRIPTS or (sub in _NPM_INSTALL and not ignore):
            return Use("all", f"npm {sub} (runs package scripts)")
    elif base == "yarn":
        if not (sub in _YARN_QUIET or (sub in ("", "install", "add") and ignore)):
            return Use("all", f"yarn {sub} (runs package scripts)".replace("  ", " "))
    elif base == "pnpm":
        if not (sub in _PNPM_QUIET or (sub in ("", "install", "i", "add") and ignore)):
            return Use("all", f"pnpm {sub} (runs package scripts)")
    elif base in ("pip", "pipenv", "pipx") or (base == "uv" and sub == "pip"):
        if base == "pipenv" and sub in ("install", "sync", "run", "shell", "update"):
            return Use("all", f"pipenv {sub}")
        if base == "uv":
            return _pip_use("uv pip", args[args.index("pip") + 1 :], *_TOOLS["uv"])
        return _pip_use(base, args, *_TOOLS[base])
    elif base == "uv":
        if sub in ("run", "sync", "build", "tool", "publish"):
            return Use("all", f"uv {sub}")
    elif base == "poetry":
        if sub in ("run", "shell", "build", "publish") or (sub in ("install", "sync") and "--no-root" not in args):
            return Use("all", f"poetry {sub}")
    elif base == "go":
        if sub in ("generate", "run", "test", "vet", "tool"):
            return Use("all", f"go {sub}")
    elif base == "cargo":
        if sub in ("build", "b", "run", "r", "test", "t", "bench", "install", "check", "c", "doc", "clippy", "publish"):
            return Use("all", f"cargo {sub} (build scripts)")
    elif base == "composer":
        if "--no-scripts" not in args and sub in (
            "run",
            "run-script",
            "exec",
            "install",
            "i",
            "update",
            "u",
            "upgrade",
            "require",
            "r",
            "dump-autoload",
            "dumpautoload",
            "create-project",
            "",
        ):
            return Use("all", f"composer {sub} (runs scripts)".replace("  ", " "))
    elif base in ("bundle", "bundler"):
        if sub == "exec":
            return Use("all", "bundle exec")
    elif base == "openssl":
        names = tuple(a.split("env:", 1)[1] for a in args if a and "env:" in a)
        return Use("tool", base, ("OPENSSL_",), names)
    if base in _TOOLS:
        prefixes, names, config = _TOOLS[base]
        return Use("tool", base, prefixes, names, config)
    return Use("all", f"{base} (unknown program)" if "/" not in name else f"{name} (unknown program)")


# --------------------------------------------------------------------------------------------
# What a program writes


def positional(args: list, valued: Collection[str] = frozenset()) -> list:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a is not None and a.startswith("-") and a != "-":
            skip = a in valued
        else:
            out.append(a)
    return out


def cmd_writes(argv: list, home: str, cwd: str | None) -> list[tuple[str, str | None]]:
    """(op, path) for what a program writes/removes: op is add | del | deltree."""
    if not argv or argv[0] is None:
        return []
    base, args = argv[0].rsplit("/", 1)[-1], argv[1:]
    pos = positional(args)
    flags = "".join(a[1:] for a in args if a and a.startswith("-") and not a.startswith("--"))
    if base in ("tee", "touch") or (base == "mkdir"):
        return [("add", p) for p in positional(args, {"-m", "--mode"})]
    if base == "sed" and ("i" in flags or any(a and a.startswith("--in-place") for a in args)):
        has_script = any(a in ("-e", "-f", "--expression", "--file") for a in args)
        files = positional(args, {"-e", "-f", "--expression", "--file"})
        return [("add", p) for p in (files if has_script else files[1:])]
    if base in ("cp", "mv", "install", "ln"):
        pos = positional(args, {"-m", "-o", "-g", "-t", "--mode", "--owner", "--group", "-S", "--suffix"})
        if base == "install" and "d" in flags:
            return [("add", p) for p in pos]
        if len(pos) < 2:
            return []
        dest, srcs = pos[-1], pos[:-1]
        multi = len(srcs) > 1 or (dest or "").endswith("/")
        out = [("add", (dest.rstrip("/") + "/" + s.rstrip("/").rsplit("/", 1)[-1]) if multi and dest and s else dest) for s in srcs]
        if base == "mv":
            out += [("deltree", s) for s in srcs]
        return out
    if base in ("rm", "rmdir", "shred", "unlink"):
        rec = "r" in flags.lower() or "--recursive" in args or base == "rmdir"
        if base == "shred" and "u" not in flags:
            return []
        return [("deltree" if rec else "del", p) for p in pos]
    if base == "htpasswd" and "n" not in flags and pos:
        return [("add", positional(args, {"-C", "-r"})[0])]
    if base == "git":
        return [("add", p) for p in git_file(args, home, cwd)]
    if base in ("npm", "yarn", "pnpm") and (pos[:2] == ["config", "set"] or pos[:1] == ["set"]):
        glob = any(a in ("-g", "--global", "--location=global") for a in args)
        return [("add", "/usr/local/etc/npmrc" if glob else f"{home}/.npmrc")]
    if base.startswith("pip") and pos[:2] == ["config", "set"]:
        return [("add", "/etc/pip.conf" if "--global" in args else f"{home}/.config/pip/pip.conf")]
    if base == "poetry" and pos[:1] == ["config"] and len(pos) >= 3 and "--unset" not in args:
        return [
            (
                "add",
                f"{home}/.config/pypoetry/" + ("auth.toml" if (pos[1] or "").startswith(("http-basic.", "pypi-token.")) else "config.toml"),
            )
        ]
    if base == "docker" and pos[:1] == ["login"]:
        return [("add", f"{home}/.docker/config.json")]
    if base == "huggingface-cli" and pos[:1] == ["login"]:
        return [("add", f"{home}/.cache/huggingface/token")]
    if base == "aws" and pos[:2] == ["configure", "set"] and len(pos) >= 3:
        return [
            (
                "add",
                f"{home}/.aws/" + ("credentials" if (pos[2] or "").startswith(("aws_access", "aws_secret", "aws_session")) else "config"),
            )
        ]
    if base == "curl" or base == "wget":
        opts = ("-o", "--output") if base == "curl" else ("-O", "--output-document")
        out = []
        for i, a in enumerate(args):
            if a in opts and i + 1 < len(args) and args[i + 1] != "-":
                out.append(("add", args[i + 1]))
            elif a and a.startswith(opts[1] + "="):
                out.append(("add", a.split("=", 1)[1]))
        return out
    if base == "ssh-keygen" and "-f" in args:
        f = args[args.index("-f") + 1] if args.index("-f") + 1 < len(args) else None
        return [("add", f), ("add", f + ".pub")] if f else []
    return []


GIT_VALUED = {
    "-b",
    "--branch",
    "-c",
    "--config",
    "--depth",
    "-o",
    "--origin",
    "--reference",
    "--separate-git-dir",
    "-j",
    "--jobs",
    "--filter",
    "-u",
    "--upload-pack",
    "--template",
    "--shallow-since",
    "--shallow-exclude",
    "-C",
    "--file",
    "-f",
    "--type",
    "--git-dir",
    "--work-tree",
}
GIT_ACTIONS = {
    "--unset",
    "--unset-all",
    "--remove-section",
    "--rename-section",
    "--get",
    "--get-all",
    "--get-regexp",
    "--get-urlmatch",
    "--list",
    "-l",
    "--edit",
    "-e",
}


def git_parts(args: list) -> tuple[str | None, str | None, list]:
    """(git -C dir, sub-command, the sub-command's arguments)."""
    i, cdir = 0, None
    while i < len(args) and args[i] is not None and args[i].startswith("-"):
        if args[i] in ("-C", "-c", "--git-dir", "--work-tree") and i + 1 < len(args):
            if args[i] == "-C":
                cdir = args[i + 1]
            i += 2
        else:
            i += 1
    return cdir, (args[i] if i < len(args) else None), args[i + 1 :]


def git_file(args: list, home: str, cwd: str | None) -> list:
    cdir, sub, rest = git_parts(args)
    if sub == "config" and not any(a in GIT_ACTIONS for a in rest) and len(positional(rest, GIT_VALUED)) >= 2:
        if "--global" in rest:
            return [f"{home}/.gitconfig"]
        if "--system" in rest:
            return ["/etc/gitconfig"]
        for k in ("--file", "-f"):
            if k in rest and rest.index(k) + 1 < len(rest):
                return [rest[rest.index(k) + 1]]
        return [posixpath.join(cdir, ".git/config") if cdir else ".git/config"]
    if sub == "clone":
        pos = positional(rest, GIT_VALUED)
        if len(pos) > 1:
            d = pos[1]
        elif pos and pos[0] is not None:
            d = pos[0].rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
        else:
            return []
        return [d, d + "/.git/config"] if d else []
    return []

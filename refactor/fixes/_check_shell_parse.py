"""Parsing of RUN scripts for the rewrite check: the tree-sitter-bash parser, and the flattening of a
script into :class:`Cmd` records in execution order with bash's precedence restored (``a && b > f``,
``a && b | c``), nested ``sh -c`` scripts, heredocs and exec-form RUNs included.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import field
from functools import lru_cache
from typing import TYPE_CHECKING

from refactor.fixes._check_shell_tools import (
    _BODIES,
    _COMPOUND,
    changes_the_shell,
    default_assigns,
    ending,
    is_fd,
    may_skip,
    stops_rest,
    unwrap,
)
from refactor.fixes._check_shell_tree import parse_tree, scan_refs
from refactor.fixes._check_shell_values import MAX_DEPTH, _assignment, literal, nested_script
from refactor.records import dataclass

if TYPE_CHECKING:
    from tree_sitter import Node

_OPS = {"&&", "||", ";", "&", "|", "|&", ";;", "\n"}
_REDIRECTS = ("file_redirect", "heredoc_redirect", "herestring_redirect")


_SHELLS = {"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"}


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
    # may not run: after ||, after a && whose failure a later || swallows, in the body of if / case /
    # for / while, in a function (calls are not followed), in the background (``&``)
    cond: bool = False
    dead: bool = False  # after an unconditional exit or exec
    in_subst: bool = False  # runs inside $(…): its output is captured
    # ("s"|"b"|"c", offset) per enclosing subshell ($(…), pipeline member, nested shell), background
    # list, and part that may not run (a branch, a body, after ||): where a cd holds, what a rm cleans
    scope: tuple = ()
    unless: Cmd | None = None  # the test whose success skips it (`[ ! -d D ] || …`)
    nested: bool = False  # a shell whose script (sh -c '…', a heredoc) was parsed into the Script
    stops: bool = False  # what runs after it in its shell runs only when it succeeded (stops_rest)

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
    unfollowed: list = field(default_factory=list)  # why where a value goes cannot be followed
    prefix: int = 0  # number of leading assignment statements (``export A="…" &&``)
    # what the script adds and removes, per (cwd, HOME), when no variable can change it (no ``$``
    # in any of its sources): RUNs of the same text share it (check_effects._run_effects)
    effects: dict = field(default_factory=dict)


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


@lru_cache(maxsize=128)  # per text, bounded: 512 trees held ~3 MiB more per worker at 20,000 files, for no more hits
def cached_script(text: str) -> Script:
    """:func:`parse_script`, once per text (the original and the rewrite share their RUNs' texts);
    callers must not mutate the Script."""
    return parse_script(text)


def exec_script(argv: list[str]) -> Script:
    """An exec-form RUN: ``sh -c SCRIPT`` is that script; anything else runs with no expansion."""
    if argv and argv[0].rsplit("/", 1)[-1] in _SHELLS:
        for i, a in enumerate(argv[1:], 1):
            if a.startswith("-") and "c" in a[1:] and i + 1 < len(argv):
                return cached_script(argv[i + 1])
    return cached_script(shlex.join(argv) if argv else "")


def _parse_into(
    text: str,
    script: Script,
    pos: tuple,
    depth: int,
    redirects: Sequence = (),
    cond: bool = False,
    scope: tuple = (),
    survives: bool = False,
    dead: bool = False,
    exited: bool = False,
) -> None:
    src, tree = parse_tree(text)
    if tree is None:  # too pathological to parse: a parse error, nothing else known
        script.error = True
        return
    root = tree.root_node
    if root.has_error:
        script.error = True
    quoted = scan_refs(root, script.refs, script.dynamic)  # single-quoted text naming $VARs: (start, end) -> names
    walker = _Walker(src, script, pos, depth)
    walker.quoted = quoted
    walker.scope, walker.survives = scope, survives
    walker.dead, walker.exited = dead, exited  # a nested shell after `exec` / a maybe-exit
    walker.block(root.children, list(redirects), cond, own=True)
    for names in quoted.values():  # what is left is text some program may expand later
        script.quoted.update(names)


class _Walker:
    def __init__(self, src: bytes, script: Script, pos: tuple, depth: int):
        self.src, self.script, self.pos, self.depth = src, script, pos, depth
        self.dead = False
        self.in_subst = False
        self.nest = 0
        self.quoted: dict = {}
        self.scope: tuple = ()
        self.survives = False  # the script goes on when the block being walked fails
        self.exited = False  # an exit (break, …) that may have run: nothing after is sure to

    # a sequence of statements (children of program / a group body)
    def block(self, children, redirects: list, cond: bool, own: bool = False) -> None:
        """``own``: the block is a whole shell's (the script's, a subshell's, a ``$(…)``'s)."""
        self.nest += 1
        try:
            if self.nest > MAX_DEPTH:
                self.script.dynamic.append("too deeply nested to follow")
                return
            self._block(children, redirects, cond, own)
        finally:
            self.nest -= 1

    def _block(self, children, redirects: list, cond: bool, own: bool) -> None:
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
        self._run_tokens(tokens, redirects, cond, own)

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

    def _run_tokens(self, tokens: list, outer: list, cond: bool, own: bool) -> None:
        maybe, survivable = may_skip(tokens, self.survives)
        stops = stops_rest(tokens) if own else [False] * len(tokens)
        prev_op = ";"
        prev_last: Cmd | None = None
        prev_test: Cmd | None = None
        pipe_cond, pipe_guard = cond, False
        for k, tok in enumerate(tokens):
            if tok[0] == "op":
                prev_op = tok[1]
                continue
            _, node, reds = tok
            if prev_op == "|":
                c_cond, guard = pipe_cond, pipe_guard
                feed = prev_last
            else:
                guard = prev_op == "||" or maybe[k] == "or"
                c_cond = cond or guard or maybe[k] == "bg"
                pipe_cond, pipe_guard = c_cond, guard
                feed = None
            saved, saved_survives = self.scope, self.survives
            if guard:  # may be skipped: a cd here may or may not hold after it
                self.scope += (("c", node.start_byte),)
            if maybe[k] == "bg":  # a subshell the RUN need not wait for
                self.scope += (("b", node.start_byte),)
            if prev_op == "|" or (k + 1 < len(tokens) and tokens[k + 1] == ("op", "|")):
                self.scope += (("s", node.start_byte),)  # each member of a pipeline runs in a subshell
            self.survives = survivable[k]
            before = len(self.script.cmds)
            self.item(node, reds + outer, c_cond, feed)
            self.scope, self.survives = saved, saved_survives
            made = self.script.cmds[before:]
            for c in made if feed is not None and node.type in _COMPOUND else ():
                c.pipe_prev = c.pipe_prev or feed  # `… | { read x; …; }`: any of them may read the pipe
            simple = len(made) == 1 and made[0].node is node and not made[0].in_subst and not made[0].dead
            if simple:
                made[0].stops = stops[k]
            if prev_op == "||" and prev_test is not None and not cond and not maybe[k] and simple:
                # `[ ! -e D ] || clean D`: a simple command right after a plain test is skipped only
                # when the test finds nothing to clean
                made[0].unless = prev_test
            prev_last = made[-1] if made else None
            # a plain test (not negated, not inside $(…), not a group): its status is the test's
            prev_test = made[0] if simple and (node.type == "test_command" or made[0].name in ("[", "test")) else None
            prev_op = ";"

    def item(self, node, redirects: list, cond: bool, feed) -> None:
        t = node.type
        if t in _COMPOUND:
            func = t == "function_definition"
            if func:
                self.script.unfollowed.append("a shell function")
            saved, saved_scope, saved_survives, saved_exited = self.dead, self.scope, self.survives, self.exited
            if t == "subshell":
                self.scope = saved_scope + (("s", node.start_byte),)
            elif t in _BODIES or func:
                self.scope = saved_scope + (("c", node.start_byte),)
            if func or t == "do_group":  # a loop goes on after a failing pass; a function is not followed
                self.survives = True
            if t == "for_statement":
                self._loop_variable(node, cond)
            try:
                if t == "if_statement":  # the condition runs (and may fail); what follows `then` may not run
                    kids = node.children
                    then = next((i for i, c in enumerate(kids) if c.type == "then"), len(kids))
                    self.survives = True
                    self.block(kids[:then], redirects, cond)
                    saved = self.dead  # an exit in the condition always runs
                    self.scope, self.survives = saved_scope + (("c", node.start_byte),), saved_survives
                    self.block(kids[then:], redirects, True, own=True)  # (a cd there leaves the rest unknown)
                else:
                    self.block(node.children, redirects, cond or func or t in _BODIES, own=t == "subshell" or t in _BODIES)
            finally:
                self.scope, self.survives = saved_scope, saved_survives
            if func or t == "subshell" or t in _BODIES or t == "if_statement":
                self.dead = saved
            if t == "subshell":
                self.exited = saved_exited
            return
        if t in ("command", "declaration_command", "variable_assignment", "variable_assignments", "test_command", "unset_command"):
            self.command(node, redirects, cond, feed)
            return
        if node.named_child_count:  # anything else (an error node, …): the statements inside it
            self.block(node.children, redirects, cond)

    def _loop_variable(self, node, cond: bool) -> None:
        """``for v in WORDS`` assigns each word to ``v`` (``for v;``: each positional parameter), as
        an assignment that may not run (never one the check takes the value of)."""
        var = node.child_by_field_name("variable")
        if var is None:
            return
        name = var.text.decode("utf-8", "replace")
        assigns = [(name, v) for v in node.children_by_field_name("value")] or [(name, None)]
        cmd = Cmd(node, self.src, "assign", "for", [], assigns, [], self.pos + (node.start_byte,), None, True, self.dead, self.in_subst)
        cmd.scope = self.scope
        self.script.cmds.append(cmd)

    def command(self, node, redirects: list, cond: bool, feed) -> None:
        t = node.type
        cond = cond or self.exited
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
            assigns += default_assigns(words)  # `: "${X:=$T}"` assigns X
            lits = [literal(w, src) for w in words]
            if why := changes_the_shell(name, lits):
                self.script.unfollowed.append(why)
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
        cmd.scope = self.scope + ((("x", 0),) if self.exited else ())
        self.script.cmds.append(cmd)
        # commands inside $(…) / <(…) run too
        stack = list(words) + [v for _n, v in assigns if v is not None] + own
        while stack:
            n = stack.pop()
            if n.type in ("command_substitution", "process_substitution"):
                saved, self.in_subst = self.in_subst, True
                saved_scope, saved_survives = self.scope, self.survives
                self.scope, self.survives = self.scope + (("s", n.start_byte),), True
                self.block(n.children, [], cond, own=True)
                self.in_subst, self.scope, self.survives = saved, saved_scope, saved_survives
            else:
                stack.extend(n.children)
        if name in ("eval", "source", ".") and kind == "cmd":
            self.script.dynamic.append(f"{name} runs text the check cannot see")
        # a nested shell: sh -c 'script', bash <<EOF … EOF
        real = unwrap([name] + [literal(w, src) for w in words]) if kind == "cmd" else []
        if real and real[0] is not None and real[0].rsplit("/", 1)[-1] in _SHELLS and self.depth < 4:
            for w in words + [b for r in cmd.redirects for b in r.children if b.type == "heredoc_body"]:
                self.quoted.pop((w.start_byte, w.end_byte), None)  # a script (parsed below), not deferred text
            nested = nested_script(real, words, cmd.redirects, src)
            if nested is not None:
                cmd.nested = True
                inherit = {"survives": self.survives, "dead": self.dead, "exited": self.exited}
                _parse_into(
                    nested, self.script, cmd.pos, self.depth + 1, cmd.redirects, cond, self.scope + (("s", node.start_byte),), **inherit
                )
        if name == "exec" and kind == "cmd" and not real and any(not is_fd(r.child_by_field_name("destination")) for r in own + redirects):
            self.script.unfollowed.append("exec redirecting the shell's own input or output")  # `exec 3>f`, not `exec 2>&1`
        # `exit`, `exec CMD`, a maybe-exit: what follows does not or may not run (see ending())
        ends = ending(name, [literal(w, src) for w in words], kind, bool(real), cond, self.scope) if kind == "cmd" else None
        if ends == "dead":
            self.dead = True
        elif ends == "exited":
            self.exited = True

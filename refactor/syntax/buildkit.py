"""BuildKit's per-instruction argument parsers and its AST dump format.

The span scanner in :mod:`refactor.syntax.dockerfile` reproduces BuildKit's *line* handling. This
module reproduces what BuildKit does with each joined instruction line afterwards (its
``newNodeFromLine``: split off the keyword and the leading ``--flags``, then run the instruction's
argument parser), so that

* :func:`node_values` builds the same tree BuildKit's ``Node`` holds (value / next / children /
  attributes),
* :func:`dump` prints it exactly like ``Node.Dump()`` (used by BuildKit's own parser tests), and
* :func:`validate` rejects the argument errors BuildKit's parser rejects.

Go strings are byte strings, and a few BuildKit routines walk them byte by byte (flag extraction
and the HEALTHCHECK type split treat the bytes 0x85 and 0xA0 as spaces, even inside a multi-byte
character). To stay faithful, text here is a Python ``str`` in which a raw byte that is not valid
UTF-8 is carried as the lone surrogate U+DC80..U+DCFF (Python's ``surrogateescape`` convention).
Such characters only arise from those byte-wise splits; :func:`go_quote` prints them as ``\\xNN``
exactly like Go's ``strconv.Quote``.

This module is the public face and holds the per-file entry points (:func:`node_values`,
:func:`nodes`, :func:`dump`, :func:`validate`); the parts are ``buildkit_go`` (Go string and JSON
semantics), ``buildkit_node`` (the AST node and its dump) and ``buildkit_args`` (the line parsers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from refactor.memo import per_file
from refactor.syntax.buildkit_args import _DISPATCH, node_from_line, parse_words, split_command
from refactor.syntax.buildkit_go import NOT_STRING_ARRAY, ArgumentError, go_lower, go_quote
from refactor.syntax.buildkit_node import Node, dump_node
from refactor.syntax.dockerfile import ParseError

if TYPE_CHECKING:
    from refactor.syntax.dockerfile import Dockerfile, Instruction


__all__ = [
    "NOT_STRING_ARRAY",
    "ArgumentError",
    "Node",
    "dump",
    "dump_node",
    "go_lower",
    "go_quote",
    "node_from_line",
    "node_values",
    "nodes",
    "parse_words",
    "split_command",
    "validate",
]


def node_values(instruction: Instruction, escape: str = "\\") -> Node:
    """The BuildKit AST node of one scanned instruction.

    Pass the file's escape token (``df.escape``) for files with ``# escape=```; :func:`nodes`
    does that for a whole file.
    """
    node = node_from_line(instruction.logical.text, escape)
    node.start_line = instruction.start_line
    node.end_line = instruction.end_line
    return node


def nodes(df: Dockerfile) -> list[Node]:
    """The BuildKit AST node of every instruction; :class:`ParseError` on an argument error."""
    out = []
    for ins in df.instructions:
        try:
            out.append(node_values(ins, df.escape))
        except ArgumentError as exc:
            raise ParseError(str(exc), ins.start_line) from None
    return out


def dump(df: Dockerfile) -> list[str]:
    """One line per instruction, as BuildKit's ``result.AST.Dump()`` prints them."""
    return ["(" + dump_node(node) + ")" for node in nodes(df)]


# Line parsers that never return an error, and those that can only for a JSON array
_NEVER_FAILS = frozenset({"from", "expose", "user", "workdir", "maintainer", "stopsignal", "arg"})
_FAILS_ONLY_AS_JSON = frozenset({"run", "cmd", "entrypoint", "shell", "add", "copy", "volume"})


def validate(df: Dockerfile) -> None:
    """Raise :class:`ParseError` for the argument errors BuildKit's parser rejects.

    Same verdict as building every node (:func:`nodes`), without building the nodes that cannot
    fail: on an ASCII line the scanner's keyword and arguments are BuildKit's (both come from
    :func:`~refactor.syntax.dockerfile.scan_flag_words`), so an instruction whose line parser
    never errs, or a JSON-capable one whose arguments do not start with ``[``, is skipped.
    """
    for ins in df.instructions:
        c = ins.command
        if ins.logical.text.isascii():
            if c.cmd in _NEVER_FAILS or c.cmd not in _DISPATCH:
                continue
            if c.cmd in _FAILS_ONLY_AS_JSON and not c.args.startswith("["):
                continue
        err = _line_error(ins.logical.text, df.escape)
        if err is not None:
            raise ParseError(err, ins.start_line)


@per_file()  # the rewrite repeats most of the original's lines: each is judged once per file
def _line_error(text: str, escape: str) -> str | None:
    try:
        node_from_line(text, escape)
    except ArgumentError as exc:
        return str(exc)
    return None

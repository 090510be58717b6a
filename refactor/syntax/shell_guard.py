"""The guard around tree-sitter-bash, shared by the analysis reader
(refactor/analysis/shell_parse.py) and the rewrite check's parser (refactor/fixes/_check_shell_parse.py):
texts whose parse would be pathologically slow are not parsed (:func:`guarded_parse` returns None,
which both callers take as a parse error: the analysis is uncertain, the check refuses).

tree-sitter-bash's error recovery is quadratic on some texts: its lexer reads a run like ``|||…``,
``)))…``, ``a)a)…`` or ``f() f() …`` again from each error in it (``echo `` + 30,000 ``|`` took
1.8 s per parse), and its stack recovery is quadratic in the stages of an unfinished pipeline
(``a|a|…|``: 16,000 stages, 4.5 s) and in chained backtick substitutions (``> f `> f `…``: 4,000,
1.3 s). So: at most :data:`MAX_PIPES` pipes and :data:`MAX_BACKTICKS` backticks, and the lexer reads
through a :class:`_Reader` that ends the text once it has read it ``_LEX_READS`` times over (linear,
deterministic).

Every error also costs about 50 µs (it tries every token of the grammar as a missing one), against
about 0.15 µs per byte of well-formed text: a 1 MB RUN of ``} (<`` repeated holds 500,000 errors and
took 15 s per parse. The scanner below counts the errors anyone can see without a grammar: a ``)``
or ``}`` that closes nothing, a redirection with no word after it, an operator with no command
before it. A long text with more of them than :data:`MAX_ERRORS` allows is not parsed. Short texts
are never scanned (they cost little), so no ordinary RUN is judged by this approximation; quoting,
comments, ``$(``/``${``, ``case`` patterns and heredoc bodies are followed so that a well-formed
script counts no error.

This module is syntax, not planning: the check may import it (it imports nothing of the planner).
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import Any

SCAN_FROM = 4_096  # texts up to this long are parsed whatever they hold (at most ~60 ms of errors)
MAX_ERRORS = 64  # errors a long text may hold, plus one per KB of it (about 50 µs each)

_SEP = " \t\n;&|()<>"
_STRUCTURE = ";&|()<>}"
_CLOSERS = {")", "}", "|", "||", "&&", ";", ";;", "&", "\n", ""}


def too_erroneous(text: str) -> bool:
    """Whether ``text`` is long and holds more obvious syntax errors than a parse may afford."""
    n = len(text)
    if n <= SCAN_FROM:
        return False
    limit = MAX_ERRORS + n // 1024
    if sum(text.count(c) for c in _STRUCTURE) <= limit:  # every error counted is at one of these
        return False
    return _too_erroneous(text, limit)


@lru_cache(maxsize=8)  # the analysis and both sides of the rewrite check ask about the same texts
def _too_erroneous(text: str, limit: int) -> bool:
    return obvious_errors(text, limit) > limit


def obvious_errors(text: str, limit: int) -> int:
    """How many obvious syntax errors ``text`` holds (counting stops past ``limit``)."""
    errors = 0
    stack: list[str] = []  # open ( { $( ${
    case = 0  # open case … esac (a ``)`` there ends a pattern)
    prev = "\n"  # the previous token: "\n" (a command may start), "w" (a word), "r" (a redirection), or an operator
    heredocs: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    while i < n and errors <= limit:
        c = text[i]
        if c in " \t":
            i += 1
            continue
        if c == "\n":
            if prev == "r":
                errors += 1
            i += 1
            for word, strip in heredocs:  # skip each pending heredoc body to its delimiter line
                while i < n:
                    end = text.find("\n", i)
                    line = text[i : end if end != -1 else n]
                    i = end + 1 if end != -1 else n
                    if (line.lstrip("\t") if strip else line) == word:
                        break
            heredocs.clear()
            prev = "\n"
            continue
        if c == "#":  # at a token's start: a comment
            end = text.find("\n", i)
            i = end if end != -1 else n
            continue
        if c in ")}" and (c == ")" or prev != "w"):
            if stack and stack[-1] in (("{",) if c == "}" else ("(", "$(", "()")):
                if prev == stack.pop():  # ``( )``, ``{ }``: an empty subshell or group
                    errors += 1
            elif not (c == ")" and case):
                errors += 1
            if prev == "r":
                errors += 1
            prev = c
            i += 1
            continue
        if c in "|&;":
            op = text[i : i + 2] if text[i : i + 2] in ("||", "&&", ";;", "|&", "&>", ";&") else c
            if op == "&>":
                prev = "r"
                i += 2
                continue
            if (
                prev == "r"
                or (op in ("|", "||", "&&", "|&") and prev in _CLOSERS - {")", "}"})
                or (op == ";" and prev in (";", "&&", "||", "|"))
            ):
                errors += 1
            prev = op
            i += len(op)
            continue
        if c in "<>":
            if text.startswith(("<(", ">("), i):
                stack.append("(")
                prev = "w"
                i += 2
                continue
            if prev == "r":
                errors += 1
            if text.startswith("<<", i) and not text.startswith("<<<", i):
                j = i + 2
                strip = text.startswith("-", j)
                j += strip
                while j < n and text[j] in " \t":
                    j += 1
                k = j
                while k < n and text[k] not in _SEP:
                    k += 1
                word = text[j:k].replace("'", "").replace('"', "").replace("\\", "")
                if word:
                    heredocs.append((word, strip))
                    prev = "w"
                    i = k
                    continue
            while i < n and text[i] in "<>&|":
                i += 1
            prev = "r"
            continue
        if c == "(":
            if prev == "r":
                errors += 1
            stack.append("()" if prev == "w" else "(")  # ``name()``: a function's empty parentheses
            prev = "("
            i += 1
            continue
        # a word (quotes, escapes, $( and ${ followed)
        start = i
        while i < n and errors <= limit:
            c = text[i]
            if c == "\\":
                i += 2
            elif c == "'":
                end = text.find("'", i + 1)
                i = end + 1 if end != -1 else n
            elif c == '"':
                j = i + 1
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                i = j + 1
            elif text.startswith("$(", i):
                stack.append("$(")
                i += 2
                break
            elif text.startswith("${", i):
                end = text.find("}", i)
                i = end + 1 if end != -1 else n
            elif c in _SEP:
                break
            else:
                i += 1
        word = text[start:i]
        if word == "{" and prev == "r":
            errors += 1
        if word == "{" and prev != "w":
            stack.append("{")
            prev = "{"
            continue
        if prev != "w":
            if word == "case":
                case += 1
            elif word == "esac" and case:
                case -= 1
        prev = "w"
    return errors


# --------------------------------------------------------------------------------------------
# The parse, bounded

MAX_PIPES = 512  # ``|`` characters in one text (512 stages ``a|a|…|`` ending in an error: ~10 ms)
MAX_BACKTICKS = 128  # backticks in one text (the worst chains: ~5 ms at 128)
_CHUNK = 64  # bytes handed to the lexer per read
_SERVE_CHUNK = 256  # bytes handed per read once parsed (node.text)
_LEX_READS = 16  # reads per chunk of text the lexer may make (1 to 4 on real scripts)
_LEX_SLACK = 64  # reads any text may make besides (a short text is never cut)


class _Reader:
    """The text handed to tree-sitter's lexer piece by piece, counting the reads: past ``budget`` it
    ends the text. The tree keeps its reader for ``node.text`` (hence slots: a closure cost a
    50,000-RUN file 20 MiB more)."""

    __slots__ = ("budget", "chunk", "reads", "src")

    def __init__(self, src: bytes, budget: int) -> None:
        self.src, self.budget, self.reads, self.chunk = src, budget, 0, _CHUNK

    def __call__(self, offset: int, _point) -> bytes:
        self.reads += 1
        return self.src[offset : offset + self.chunk] if self.reads <= self.budget else b""  # past the budget: end of text


def guarded_parse(parser, data: bytes):
    """``parser``'s tree of ``data``, or None when parsing it would be pathologically slow: too
    many pipes or backticks or obvious syntax errors (checked before parsing), or a lexer that
    keeps reading the text over (cut once it has read it ``_LEX_READS`` times)."""
    if data.count(b"|") > MAX_PIPES or data.count(b"`") > MAX_BACKTICKS:
        return None
    if len(data) > SCAN_FROM and too_erroneous(data.decode("utf-8", "surrogatepass")):
        return None
    read = _Reader(data, _LEX_SLACK + _LEX_READS * (len(data) // _CHUNK))
    tree = parser.parse(read)
    if read.reads > read.budget:
        return None
    # the tree reads its text through ``read`` again (node.text): no budget, larger pieces (parsing
    # the bytes again instead would double the cost of a text full of errors)
    read.budget, read.chunk = 1 << 62, _SERVE_CHUNK
    return tree


@lru_cache(maxsize=1)
def bash_language() -> Any:
    """tree-sitter-bash's ``Language``, for the two parsers (each module keeps its own ``Parser``).

    The grammar's extension module is loaded directly: the package's ``__init__`` imports
    ``importlib.resources`` (and with it ``tempfile``, ``random`` and ``shutil``: 6-7 ms of every
    run that reads a RUN) only to serve ``HIGHLIGHTS_QUERY``, which dfix does not use. Anything
    unexpected in the package's layout falls back to importing the package."""
    from tree_sitter import Language

    try:
        binding = _grammar_binding()
    except Exception:  # noqa: BLE001 - the package's own import is the reference path
        import tree_sitter_bash

        return Language(tree_sitter_bash.language())
    return Language(binding.language())


def _grammar_binding() -> Any:
    import importlib.machinery
    import importlib.util
    import os

    name = "tree_sitter_bash._binding"
    if name in sys.modules:
        return sys.modules[name]
    package = importlib.util.find_spec("tree_sitter_bash")  # (finds it; runs nothing)
    for directory in (package.submodule_search_locations or []) if package else []:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(directory, "_binding" + suffix)
            if os.path.isfile(path):
                spec = importlib.util.spec_from_file_location(name, path)
                if spec is None or spec.loader is None:
                    break
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                sys.modules[name] = module  # (a later import of the package reuses it)
                return module
    raise ImportError(f"no {name} extension module")

"""A linear count of the obvious syntax errors in a shell text, before tree-sitter sees it.

tree-sitter-bash's error recovery costs about 50 µs per error (it tries every token of the
grammar as a missing one), against about 0.15 µs per byte of well-formed text: a 1 MB RUN of
``} (<`` repeated holds 500,000 errors and took 15 s per parse. This scanner finds the errors
anyone can see without a grammar: a ``)`` or ``}`` that closes nothing, a redirection with no
word after it, an operator with no command before it. A long text with more of them than
:data:`MAX_ERRORS` allows is not parsed: its callers take it as a parse error (the analysis is
uncertain, the rewrite check refuses). It lives with the check, which may import nothing of the
planner; the analysis reader (refactor/analysis/shell_parse.py) imports it from here (it belongs
with refactor/syntax/, a parse guard both sides share). Short texts are never scanned (they cost little), so no
ordinary RUN is judged by this approximation; quoting, comments, ``$(``/``${``, ``case`` patterns
and heredoc bodies are followed so that a well-formed script counts no error.
"""

from __future__ import annotations

from functools import lru_cache

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

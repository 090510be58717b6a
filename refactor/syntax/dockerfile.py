"""A lossless Dockerfile model that follows BuildKit's line rules.

This module owns the *span layer*: every instruction knows the exact text offsets of its keyword,
flags, arguments, heredoc bodies and the comments around it. It ports the line loop of BuildKit's
``frontend/dockerfile/parser`` (BOM, parser directives in any order, the escape-aware continuation
regex, comment and empty lines inside continuations, heredoc detection). It never rewrites text;
edits are splices computed elsewhere against these offsets.

dockerfile-parse is used as a cross-check in tests only (it has no heredoc support and gets empty
continuation lines, BOMs and ``# check`` before ``# escape`` wrong).

This module holds :func:`parse` and :func:`segments`; the records are in ``dockerfile_model`` and
the pieces of the line loop (trimming, continuations, directives, words, flags) in
``dockerfile_scan``.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from refactor.source import SourceFile
from refactor.syntax.dockerfile_model import (
    GO_SPACE,
    HEREDOC_COMMANDS,
    MAX_LINE,
    VALID_DIRECTIVES,
    Command,
    Comment,
    Directive,
    Dockerfile,
    Flag,
    Heredoc,
    Instruction,
    Logical,
    ParseError,
)
from refactor.syntax.dockerfile_scan import (
    _continuation_cut,
    _DirectiveState,
    _is_json_array,
    _parse_command,
    _trim_newline,
    heredoc_words,
    scan_flag_words,
    shell_words,
)
from refactor.syntax.dockerfile_scan import _directive as _directive

__all__ = [
    "GO_SPACE",
    "HEREDOC_COMMANDS",
    "MAX_LINE",
    "VALID_DIRECTIVES",
    "Command",
    "Comment",
    "Directive",
    "Dockerfile",
    "Flag",
    "Heredoc",
    "Instruction",
    "Logical",
    "ParseError",
    "heredoc_words",
    "parse",
    "scan_flag_words",
    "segments",
    "shell_words",
]


_RECENT: dict[tuple[str, bool], Dockerfile] = {}  # (text, check) -> model, the last few parsed
_RECENT_SIZE = 4
_RECENT_LOCK = threading.Lock()


def parse(source: SourceFile, check: bool = True) -> Dockerfile:
    """Scan ``source`` into a :class:`Dockerfile`; raise :class:`ParseError` as BuildKit would.
    ``check=False`` skips the argument checks of BuildKit's line parsers (tests compare them).

    The model depends on the text alone, and one run parses the same text several times (the
    engine, the directive guard, the verifying parse, the rewrite check for each subset it tries):
    the last few models are kept and a repeat returns a copy of the frozen records with this
    ``source`` and an empty per-model cache, so no caller sees another's derived data. A 1 MB file
    parsed six times spent 2.7 s there."""
    key = (source.text, check)
    seen = _RECENT.get(key)
    if seen is None:
        seen = _parse(source, check)
        with _RECENT_LOCK:  # (the language server parses from more than one thread)
            _RECENT[key] = seen
            while len(_RECENT) > _RECENT_SIZE:
                del _RECENT[next(iter(_RECENT))]
        return seen
    return replace(seen, source=source, _extra={})


def _parse(source: SourceFile, check: bool) -> Dockerfile:
    text = source.text
    starts = source.line_starts
    nlines = len(starts)
    if nlines and starts[-1] == len(text):  # a final newline does not open an empty last line
        nlines -= 1

    # BuildKit's scanner rejects any physical line longer than its 64 KiB buffer.
    for k in range(nlines if len(text) > MAX_LINE // 4 else 0):  # no line can be longer than the text
        e = starts[k + 1] if k + 1 < len(starts) else len(text)
        line = text[starts[k] : e].rstrip("\r\n")
        if len(line) > MAX_LINE and len(line.encode("utf-8")) > MAX_LINE:
            raise ParseError(f"dockerfile line greater than max allowed size of {MAX_LINE - 1}", k + 1)

    def line_bounds(k: int) -> tuple[int, int, int]:
        """(start, content_end, end_with_eol) of physical line k (0-based)."""
        s = starts[k]
        e = starts[k + 1] if k + 1 < len(starts) else len(text)
        content = _trim_newline(text[s:e])
        return s, s + len(content), e

    dstate = _DirectiveState()
    directives: list[Directive] = []
    instructions: list[Instruction] = []
    all_comments: list[Comment] = []
    pending_comments: list[Comment] = []
    warnings: list[str] = []

    ntext = len(text)
    k = 0
    while k < nlines:
        # (line_bounds inlined: this loop runs once per physical line)
        s = starts[k]
        e = starts[k + 1] if k + 1 < len(starts) else ntext
        raw = text[s:e].rstrip("\r\n")
        token = raw.lstrip(GO_SPACE)
        lead = len(raw) - len(token)
        if not dstate.done:
            d = dstate.feed(token, k + 1, s, e)
            if d is not None:
                directives.append(d)
                k += 1
                pending_comments = []
                continue
        escape = dstate.escape
        if token.startswith("#"):
            c = Comment(s, e, token[1:].strip(GO_SPACE), k + 1)
            all_comments.append(c)
            pending_comments.append(c)
            k += 1
            continue
        cut = _continuation_cut(token, escape)
        if cut is None and token == "":
            pending_comments = []  # a blank line separates a comment block from what follows
            k += 1
            continue
        start_line = k
        pieces: list[tuple[int, int]] = []
        chunks: list[str] = []
        length = 0
        seg = token if cut is None else token[:cut]
        pieces.append((0, s + lead))
        chunks.append(seg)
        length += len(seg)
        empty_cont = False
        end_of_line = cut is None
        k += 1
        while not end_of_line and k < nlines:
            s2 = starts[k]
            _e2 = starts[k + 1] if k + 1 < len(starts) else ntext
            raw2 = text[s2:_e2].rstrip("\r\n")
            k += 1
            stripped = raw2.lstrip(GO_SPACE)
            if stripped.startswith("#"):
                all_comments.append(Comment(s2, _e2, stripped[1:].strip(GO_SPACE), k))
                continue
            if stripped == "":
                empty_cont = True
                continue
            cut2 = _continuation_cut(raw2, escape)
            seg = raw2 if cut2 is None else raw2[:cut2]
            pieces.append((length, s2))
            chunks.append(seg)
            length += len(seg)
            end_of_line = cut2 is None
        logical = Logical("".join(chunks), tuple(pieces))
        command = _parse_command(logical, 0)
        sub = None
        if command.cmd == "onbuild" and command.args:
            sub = _parse_command(logical, command.args_lstart)
        heredocs: list[Heredoc] = []
        eff = sub or command
        if eff.cmd in HEREDOC_COMMANDS and not _is_json_array(eff.args):
            for name, expand, chomp, fd in heredoc_words(logical.text):
                body_start = starts[k] if k < nlines else len(text)
                terminated = False
                while k < nlines:
                    hs, hce, he = line_bounds(k)
                    k += 1
                    cand = text[hs:hce]
                    if chomp:
                        cand = cand.lstrip("\t")
                    if cand == name:
                        heredocs.append(Heredoc(name, expand, chomp, fd, body_start, hs, he))
                        terminated = True
                        break
                if not terminated:
                    raise ParseError("unterminated heredoc", start_line + 1)
        if empty_cont:
            warnings.append(f"line {start_line + 1}: empty continuation line")
        end = starts[k] if k < len(starts) else len(text)
        instructions.append(
            Instruction(
                command=command,
                start=s,
                end=end,
                start_line=start_line + 1,
                end_line=k,
                logical=logical,
                heredocs=tuple(heredocs),
                sub=sub,
                comments=tuple(pending_comments),
                empty_continuation=empty_cont,
            )
        )
        pending_comments = []

    if not instructions:
        raise ParseError("file with no instructions", None)
    df = Dockerfile(
        source=source,
        escape=dstate.escape,
        directives=tuple(directives),
        instructions=tuple(instructions),
        comments=tuple(all_comments),
        warnings=tuple(warnings),
    )
    if check:
        from refactor.syntax.buildkit import validate  # lazy: buildkit imports this module

        validate(df)
    return df


def segments(df: Dockerfile) -> list[tuple[int, int, str]]:
    """Partition the text into ``(start, end, kind)`` pieces; used to prove losslessness."""
    out: list[tuple[int, int, str]] = []
    pos = 0
    for ins in df.instructions:
        if ins.start > pos:
            out.append((pos, ins.start, "trivia"))
        out.append((ins.start, ins.end, ins.cmd))
        pos = ins.end
    if pos < len(df.text):
        out.append((pos, len(df.text), "trivia"))
    return out

"""Byte-exact round trips, and edits that touch only their own span."""

from __future__ import annotations

import pytest

from refactor.fixes.edit import Edit, apply_edits
from refactor.source import SourceFile
from refactor.syntax.dockerfile import ParseError, parse, segments

CASES = {
    "crlf": b"FROM a\r\nARG NPM_TOKEN\r\nRUN npm ci && \\\r\n    echo done\r\n",
    "mixed-endings": b"FROM a\nARG NPM_TOKEN\r\nRUN npm ci\n",
    "bom": b"\xef\xbb\xbfFROM a\nARG NPM_TOKEN\nRUN npm ci\n",
    "no-final-newline": b"FROM a\nARG NPM_TOKEN\nRUN npm ci",
    "backtick-escape": b"# escape=`\nFROM a\nARG NPM_TOKEN\nRUN echo a `\n    b\n",
    "check-before-escape": b"# check=skip=all\n# escape=`\nFROM a\nARG NPM_TOKEN\nRUN echo a `\n    b\n",
    "heredoc": b"FROM a\nARG NPM_TOKEN\nRUN <<EOF\necho $NPM_TOKEN\nEOF\nCOPY <<-EOT /x\n\thi\n\tEOT\n",
    "two-heredocs": b"FROM a\nARG NPM_TOKEN\nRUN <<A cat && <<'B' cat\n$NPM_TOKEN\nA\nraw $X\nB\n",
    "comments-in-continuation": b"FROM a\nARG NPM_TOKEN\nRUN echo a \\\n# comment\n\n    && npm ci\n",
}


@pytest.mark.parametrize("name", CASES)
def test_round_trip(name: str) -> None:
    data = CASES[name]
    src = SourceFile.from_bytes("Dockerfile", data)
    df = parse(src)
    assert "".join(src.text[s:e] for s, e, _ in segments(df)) == src.text
    assert src.to_bytes() == data


@pytest.mark.parametrize("name", CASES)
def test_edit_next_to_feature_changes_only_its_span(name: str) -> None:
    """Insert a mount after each RUN keyword: every other byte stays identical."""
    data = CASES[name]
    src = SourceFile.from_bytes("Dockerfile", data)
    df = parse(src)
    edits = []
    for ins in df.instructions:
        if ins.cmd == "run":
            edits.append(Edit(ins.command.kw_end, ins.command.kw_end, " --mount=type=secret,id=x"))
    new = apply_edits(src.text, edits)
    out = src.to_bytes(new)
    marker = b" --mount=type=secret,id=x"
    assert out.replace(marker, b"") == data
    parse(SourceFile.from_text("Dockerfile", new, bom=src.bom))


def test_escape_directive_after_check_is_honoured() -> None:
    df = parse(SourceFile.from_bytes("D", CASES["check-before-escape"]))
    assert df.escape == "`"
    run = [i for i in df.instructions if i.cmd == "run"][0]
    assert run.start_line == 5 and run.end_line == 6


def test_heredoc_spans_and_quoting() -> None:
    df = parse(SourceFile.from_bytes("D", CASES["two-heredocs"]))
    run = df.instructions[2]
    assert [(h.name, h.expand) for h in run.heredocs] == [("A", True), ("B", False)]
    assert run.end_line == 7


def test_chomp_heredoc_terminator_with_tabs() -> None:
    df = parse(SourceFile.from_bytes("D", CASES["heredoc"]))
    copy = df.instructions[3]
    assert copy.heredocs[0].chomp and copy.end_line == 8


def test_continuation_backslash_at_eof_is_accepted() -> None:
    df = parse(SourceFile.from_bytes("D", b"FROM a\nRUN echo \\"))
    assert df.instructions[-1].cmd == "run"


def test_escaped_escape_is_not_a_continuation() -> None:
    df = parse(SourceFile.from_bytes("D", b"FROM a\nRUN echo a\\\\\nRUN echo b\n"))
    assert [i.cmd for i in df.instructions] == ["from", "run", "run"]


@pytest.mark.parametrize(
    "data,msg",
    [
        (b"", "no instructions"),
        (b"# only\n# comments\n", "no instructions"),
        (b"FROM a\nRUN <<EOF\necho\n", "unterminated heredoc"),
        (b"# escape=x\nFROM a\n", "invalid escape"),
    ],
)
def test_parse_errors(data: bytes, msg: str) -> None:
    with pytest.raises(ParseError, match=msg):
        parse(SourceFile.from_bytes("D", data))


def test_flags_are_structured() -> None:
    df = parse(SourceFile.from_bytes("D", b"FROM --platform=$BUILDPLATFORM a AS b\nRUN --mount=type=cache,target=/x --network=none \\\n  make\nCOPY --from=b /x /y\nONBUILD RUN --mount=type=secret,id=t make\n"))
    frm, run, copy, onb = df.instructions
    assert [(f.name, f.value) for f in frm.flags] == [("platform", "$BUILDPLATFORM")]
    assert [(f.name, f.value) for f in run.flags] == [("mount", "type=cache,target=/x"), ("network", "none")]
    assert [(f.name, f.value) for f in copy.flags] == [("from", "b")]
    assert onb.sub is not None and [(f.name, f.value) for f in onb.sub.flags] == [("mount", "type=secret,id=t")]
    assert df.text[run.flags[1].start : run.flags[1].end] == "--network=none"

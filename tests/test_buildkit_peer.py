"""BuildKit's own parser test suite, run against our scanner and ``refactor.syntax.buildkit``.

The corpus (``buildkit-parser-testfiles``) holds BuildKit's ``testfiles`` (Dockerfile + expected
``Node.Dump()`` output), ``testfiles-negative`` (must fail) and ``testfile-line`` (line numbers);
see its README. The unit tests at the bottom pin Go-specific behaviour that the suite does not
reach (``strconv.Quote``, byte-wise flag splitting, ``encoding/json`` quirks).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import require_corpus

from refactor.source import SourceFile
from refactor.syntax.buildkit import (
    NOT_STRING_ARRAY,
    ArgumentError,
    dump,
    go_lower,
    go_quote,
    node_from_line,
    parse_words,
    split_command,
)
from refactor.syntax.dockerfile import ParseError, parse

SUB = "buildkit-parser-testfiles"


def _params(kind: str) -> list:
    try:
        root = require_corpus(SUB)
    except (pytest.skip.Exception, pytest.fail.Exception):
        # Collected anyway so that the test itself skips (or fails under CI) with the reason.
        return [pytest.param(None, id="corpus-missing")]
    if kind == "cases":
        names = [d.name for d in root.iterdir() if (d / "Dockerfile").is_file() and (d / "result").is_file()]
    else:
        names = [d.name for d in (root / "_negative").iterdir() if (d / "Dockerfile").is_file()]
    return [pytest.param(name, id=name) for name in sorted(names)]


def _parse_path(path: Path):
    return parse(SourceFile.from_bytes(str(path), path.read_bytes()))


@pytest.mark.corpus
def test_suite_is_complete():
    root = require_corpus(SUB)
    cases = [p for p in _params("cases") if p.values[0] is not None]
    negative = [p for p in _params("negative") if p.values[0] is not None]
    assert len(cases) == 33, "BuildKit's testfiles/ has 33 cases at the pinned commit"
    assert len(negative) == 4
    assert (root / "_line" / "Dockerfile").is_file()


@pytest.mark.corpus
@pytest.mark.parametrize("case", _params("cases"))
def test_dump_matches_buildkit(case):
    root = require_corpus(SUB)
    df = _parse_path(root / case / "Dockerfile")
    expected = (root / case / "result").read_bytes().decode("utf-8").replace("\r\n", "\n")
    got = "\n".join(dump(df)) + "\n"
    if got != expected:  # show the first differing line, not two walls of text
        for i, (g, e) in enumerate(zip(got.splitlines(), expected.splitlines()), 1):
            assert g == e, f"{case}: line {i} of the dump differs"
    assert got == expected


@pytest.mark.corpus
@pytest.mark.parametrize("case", _params("negative"))
def test_negative_cases_are_rejected(case):
    root = require_corpus(SUB)
    with pytest.raises(ParseError):
        _parse_path(root / "_negative" / case / "Dockerfile")


@pytest.mark.corpus
def test_line_numbers():
    root = require_corpus(SUB)
    df = _parse_path(root / "_line" / "Dockerfile")
    spans = [(ins.start_line, ins.end_line) for ins in df.instructions]
    assert spans == [(5, 5), (11, 12), (17, 31)]


# ---------------------------------------------------------------------------------------------
# Go behaviour the suite does not cover


def _dump(text: str) -> list[str]:
    return dump(parse(SourceFile.from_text("Dockerfile", text)))


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("plain", '"plain"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("\a\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"'),
        ("\x00\x1b\x7f", '"\\x00\\x1b\\x7f"'),
        ("é♥☃😀", '"é♥☃😀"'),
        ("\u00a0\u00ad\u0085", '"\\u00a0\\u00ad\\u0085"'),  # non-ASCII spaces, soft hyphen, NEL
        ("\u2028\ufeff\u200b", '"\\u2028\\ufeff\\u200b"'),
        ("\U000e0001", '"\\U000e0001"'),  # a format character outside the BMP
        ("\ufffd", '"\ufffd"'),
        ("a\udcc3b", '"a\\xc3b"'),  # a raw invalid byte
    ],
    ids=lambda v: v.encode("unicode_escape", "backslashreplace").decode()[:30],
)
def test_go_quote(value, quoted):
    assert go_quote(value) == quoted


def test_go_lower_is_per_rune():
    assert go_lower("RUN") == "run"
    assert go_lower("ONBUİLD") == "onbuild"  # Go's simple mapping: U+0130 -> "i"
    assert go_lower("ΑΣ") == "ασ"  # no final-sigma context


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("foo", ["foo"]),
        ("foo bar", ["foo", "bar"]),
        ("foo\\ bar", ["foo\\ bar"]),
        ("foo=bar", ["foo=bar"]),
        ("foo bar 'abc xyz'", ["foo", "bar", "'abc xyz'"]),
        ('foo bar "abc xyz"', ["foo", "bar", '"abc xyz"']),
        ("àöû", ["àöû"]),
        ('föo bàr "âbc xÿz"', ["föo", "bàr", '"âbc xÿz"']),
        ("a\u3000b\u2000c", ["a", "b", "c"]),  # every Unicode space separates
        ("a\\", ["a"]),  # a trailing escape is dropped
        ('"a\\', ['"a']),
        ("\\", []),
    ],
)
def test_parse_words(text, words):
    assert parse_words(text) == words


def test_parse_words_backtick_escape():
    assert parse_words("a` b c", "`") == ["a` b", "c"]
    assert parse_words("a\\ b", "`") == ["a\\", "b"]


@pytest.mark.parametrize(
    ("line", "values"),
    [
        ("LABEL foo bar", ["foo", "bar", ""]),
        ("LABEL foo=bar thing=star", ["foo", "bar", "=", "thing", "star", "="]),
        ("ENV a  b\tc", ["a", "b\tc", ""]),
        ("ARG a b=c", ["a", "b=c"]),
        ("FROM a\u00a0b c", ["a\u00a0b", "c"]),
        ("HEALTHCHECK NONE", ["NONE"]),
        ("ADD [] x", ["[]", "x"]),
    ],
)
def test_line_parsers(line, values):
    assert node_from_line(line).values == values


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ENV foo", "ENV must have two arguments"),
        ("LABEL foo", "LABEL must have two arguments"),
        ("ENV a=1 b", 'Syntax error - can\'t find = in "b". Must be of the form: name=value'),
        ("ENV a=1 \"b\tc\"", 'Syntax error - can\'t find = in "\\"b\\tc\\"". Must be of the form: name=value'),
        ('CMD [ "echo", [ "nested json" ] ]', NOT_STRING_ARRAY),
        ("ONBUILD RUN [1]", NOT_STRING_ARRAY),
        ("HEALTHCHECK CMD [true]", NOT_STRING_ARRAY),
    ],
)
def test_argument_errors(line, message):
    with pytest.raises(ArgumentError) as info:
        node_from_line(line)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "bad",
    ['["a",42,"b"]', '["a",123.456,"b"]', '["a",{},"b"]', '["a",{"c": "d"},"b"]', '["a",["c"],"b"]',
     '["a",true,"b"]', '["a",false,"b"]', '["a",null,"b"]'],
)
def test_json_non_string_elements(bad):
    with pytest.raises(ArgumentError, match="comprised of strings only"):
        node_from_line("CMD " + bad)


@pytest.mark.parametrize(
    ("args", "values", "is_json"),
    [
        ("[]", [], True),
        ('[""]', [""], True),
        ('[\t"a",\t"b"\t]', ["a", "b"], True),
        ('["\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000"]', ['" \\ / \b \f \n \r \t \x00'], True),
        ('["\\ud83d\\ude00", "\\ud800", "\\udc00x"]', ["😀", "\ufffd", "\ufffdx"], True),
        # Not JSON for Go's decoder, so the text is kept as one string:
        ('["a", NaN]', ['["a", NaN]'], False),
        ('["a", 1e999]', ['["a", 1e999]'], False),  # float64 overflow: a decode error
        ('["a"] trailing', ['["a"] trailing'], False),  # json.Unmarshal rejects trailing data
        ('["a",]', ['["a",]'], False),
        ("['a']", ["['a']"], False),
        ('["a\tb"]', ['["a\tb"]'], False),  # raw control character in a string
        ("[" * 10001 + "]" * 10001, ["[" * 10001 + "]" * 10001], False),  # over Go's max depth
    ],
    ids=range(12),
)
def test_json_like_go(args, values, is_json):
    node = node_from_line("CMD " + args)
    assert node.values == values
    assert node.json is is_json


def test_deep_json_within_go_depth_is_a_nested_array_error():
    with pytest.raises(ArgumentError, match="comprised of strings only"):
        node_from_line("CMD " + "[" * 10000 + "]" * 10000)


def test_flags_are_split_byte_wise():
    # BuildKit walks flag words byte by byte: each byte becomes the rune of that value, and the
    # bytes 0x85/0xA0 (here the second byte of "à") end a word.
    assert split_command("COPY --from=é a b") == ("COPY", ["--from=Ã©"], "a b")
    assert split_command("COPY --chown=à:b a b") == ("COPY", ["--chown=Ã"], ":b a b")
    assert split_command("COPY --a='b c' --d \"--e\" f") == ("COPY", ["--a=b c", "--d"], '"--e" f')
    assert split_command("COPY --a -- --b") == ("COPY", ["--a"], "--b")
    assert split_command("run --x\\") == ("run", ["--x"], "")


def test_dump_details():
    text = (
        "FROM a\n"
        "FOO bar\n"
        "ONBUILD ONBUILD COPY --from=x a b\n"
        "ONBUILD\n"
        "HEALTHCHECK CMDà x\n"
        "COPY --chown=é a b\n"
        "Run --mount=type=cache,target=/x echo\n"
    )
    assert _dump(text) == [
        '(from "a")',
        '(foo "")',
        '(onbuild (onbuild (copy ["--from=x"] "a" "b")))',
        "(onbuild)",
        '(healthcheck "CMD\\xc3" "x")',
        '(copy ["--chown=Ã©"] "a" "b")',
        '(run ["--mount=type=cache,target=/x"] "echo")',
    ]


def test_validate_reports_the_instruction_line():
    with pytest.raises(ParseError) as info:
        parse(SourceFile.from_text("Dockerfile", "FROM a\nENV A=1 \\\n  B\n"))
    assert info.value.line == 2
    assert "can't find = in \"B\"" in info.value.message

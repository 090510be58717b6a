"""Cross-check the span scanner on the real-world corpora (``real/`` and ``secrets/``).

(a) losslessness: instruction spans plus trivia re-join to the exact text, bytes round-trip;
(b) BuildKit's Go parser (the ``dockerfile`` package, x86_64 Linux only) agrees on instruction
    kind, lines, flags and accept/reject, and ``refactor.syntax.buildkit`` agrees on the
    argument values;
(c) dockerfile-parse agrees on instruction lines where it is known to be right.
"""

from __future__ import annotations

import functools
import io
import pytest
from conftest import require_corpus

from refactor.source import SourceFile
from refactor.syntax.buildkit import go_lower, node_values
from refactor.syntax.dockerfile import ParseError, parse, segments

SUBDIRS = ("real", "secrets")

pytestmark = pytest.mark.corpus


def _files() -> list:
    params = []
    for sub in SUBDIRS:
        try:
            root = require_corpus(sub)
        except (pytest.skip.Exception, pytest.fail.Exception):
            return [pytest.param(None, id="corpus-missing")]
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix not in (".tsv", ".md"):
                rel = f"{sub}/{path.relative_to(root).as_posix()}"
                params.append(pytest.param(rel, id=rel))
    return params


FILES = _files()


@functools.lru_cache(maxsize=None)
def _load(rel: str):
    """``(data, source, Dockerfile or None, ParseError or None)`` for a corpus file."""
    sub, _, name = rel.partition("/")
    data = (require_corpus(sub) / name).read_bytes()
    src = SourceFile.from_bytes(rel, data)
    try:
        return data, src, parse(src), None
    except ParseError as exc:
        return data, src, None, exc


def _require(rel):
    if rel is None:  # corpus missing: skip, or fail under CI
        for sub in SUBDIRS:
            require_corpus(sub)
    return _load(rel)


# --- (a) ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", FILES)
def test_lossless(rel):
    data, src, df, _err = _require(rel)
    assert src.to_bytes() == data
    if df is None:
        return
    text = src.text
    pos = 0
    for start, end, _kind in segments(df):
        assert start == pos and end > start
        pos = end
    assert pos == len(text)
    assert "".join(text[s:e] for s, e, _ in segments(df)) == text
    assert src.to_bytes(df.text) == data
    for ins in df.instructions:
        assert src.position(ins.start)[0] == ins.start_line
        assert src.position(ins.end - 1)[0] == ins.end_line


# --- (b) ---------------------------------------------------------------------------------------


def _go(rel):
    gopkg = pytest.importorskip("dockerfile", reason="BuildKit's Go parser wheel is x86_64 Linux only")
    data, _src, _df, _err = _require(rel)
    # from_bytes decoded strictly, so the text holds no lone surrogates (which would crash the
    # extension); a BOM is passed through because BuildKit strips it itself.
    try:
        return gopkg.parse_string(data.decode("utf-8")), None
    except gopkg.GoParseError as exc:
        return None, exc
    except UnicodeDecodeError:  # pragma: no cover - Go output that is not UTF-8
        pytest.skip("the Go parser's result is not valid UTF-8")


@pytest.mark.parametrize("rel", FILES)
def test_spans_match_buildkit_go(rel):
    go, go_err = _go(rel)
    _data, _src, df, err = _load(rel)
    assert (err is None) == (go_err is None), f"{rel}: ours={err!r} go={go_err!r}"
    if df is None:
        return
    ours = [(ins.cmd, ins.start_line, ins.end_line, tuple(f.word for f in ins.flags)) for ins in df.instructions]
    theirs = [((c.cmd or "").lower(), c.start_line, c.end_line, tuple(c.flags)) for c in go]
    assert ours == theirs, rel


def _without_separators(values: list[str]) -> list[str]:
    # BuildKit >= 0.13 adds a separator node ("=" or "") after each ENV/LABEL pair; older
    # releases (the wheel may embed one) do not.
    return [v for i, v in enumerate(values) if i % 3 != 2]


@pytest.mark.parametrize("rel", FILES)
def test_node_values_match_buildkit_go(rel):
    go, _go_err = _go(rel)
    _data, _src, df, _err = _load(rel)
    if df is None:
        return
    for ins, cmd in zip(df.instructions, go, strict=True):
        node = node_values(ins, df.escape)
        sub = node.next.children[0] if node.next is not None and node.next.children else None
        target = sub or node
        values = target.values
        alternatives = [tuple(values)]
        if go_lower(target.value) in ("env", "label"):
            alternatives.append(tuple(_without_separators(values)))
        got = (node.value, sub.value if sub else None, target.json, node.flags)
        assert got == (cmd.cmd, cmd.sub_cmd, cmd.json, tuple(cmd.flags)), f"{rel}:{ins.start_line}"
        assert tuple(cmd.value) in alternatives, f"{rel}:{ins.start_line}"


# --- (c) ---------------------------------------------------------------------------------------


def _dockerfile_parse_blind_spot(df, src) -> str | None:
    """Why dockerfile-parse's line numbers are not comparable for this file (None if they are)."""
    if src.bom:
        return "BOM"
    if any(ins.heredocs for ins in df.instructions):
        return "heredocs"
    if any(ins.empty_continuation for ins in df.instructions):
        return "empty continuation lines"
    # dockerfile-parse continues a line that ends in an escaped escape ("C:\\Windows\\\\").
    esc2 = df.escape * 2
    if any(line.rstrip(" \t\r").endswith(esc2) for line in src.text.split("\n")):
        return "a line ending in an escaped escape character"
    return None


@pytest.mark.parametrize("rel", FILES)
def test_lines_match_dockerfile_parse(rel):
    from dockerfile_parse import DockerfileParser

    data, src, df, _err = _require(rel)
    if df is None:
        pytest.skip("BuildKit rejects the file")
    reason = _dockerfile_parse_blind_spot(df, src)
    if reason:
        pytest.skip(f"dockerfile-parse cannot handle: {reason}")
    parser = DockerfileParser(fileobj=io.BytesIO(data), env_replace=False)
    theirs = [
        (item["instruction"].lower(), item["startline"], item["endline"])
        for item in parser.structure
        if item["instruction"] != "COMMENT"
    ]
    ours = [(ins.cmd, ins.start_line - 1, ins.end_line - 1) for ins in df.instructions]
    assert ours == theirs, rel

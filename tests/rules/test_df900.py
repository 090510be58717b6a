"""DF900 unprocessable-file: a file dfix could not read or parse is reported and skipped."""

from __future__ import annotations

import pytest
from rulecheck import check_noop, errors, write_project

CODE = "DF900"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"Dockerfile": "FROM alpine:3.20\nRUN <<EOF\necho hi\n"}, [("Dockerfile", "unterminated heredoc")], id="unterminated heredoc"
        ),
        pytest.param({"Dockerfile": "# just a comment\n"}, [("Dockerfile", "no instructions")], id="no instructions"),
        pytest.param({"Dockerfile": "FROM alpine:3.20\nRUN true\n\x00\n"}, [("Dockerfile", "NUL bytes")], id="NUL bytes"),
        pytest.param(
            {"Dockerfile": b"FROM alpine:3.20\nRUN echo caf\xe9\n"}, [("Dockerfile", "not valid UTF-8")], id="not UTF-8"
        ),
        pytest.param(
            {"Dockerfile": "FROM alpine:3.20\nRUN true\n", "app/Dockerfile": "FROM alpine:3.20\nRUN <<EOF\n"},
            [("app/Dockerfile", "unterminated heredoc")],
            id="only the bad file",
        ),
    ],
)
def test_findings(tmp_path, files, expected):
    write_project(tmp_path, files)
    got = errors(tmp_path)
    assert [path for path, _ in got] == [path for path, _ in expected]
    for (_, message), (_, fragment) in zip(got, expected):
        assert fragment in message


@pytest.mark.parametrize(
    "files",
    [
        pytest.param({"Dockerfile": "FROM alpine:3.20\nRUN <<EOF\necho hi\nEOF\n"}, id="terminated heredoc"),
        pytest.param(
            {"Dockerfile": "FROM alpine:3.20\nRUN true\n", "data.bin": "\x00\x01"}, id="binary file that is no Dockerfile"
        ),
    ],
)
def test_noop(tmp_path, files):
    check_noop(tmp_path, CODE, files)

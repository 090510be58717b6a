"""DF004 secret-build-time-use: the Dockerfile itself expands a secret; no fix exists."""

from __future__ import annotations

import pytest
from rulecheck import check_findings, check_fixed, check_noop

CODE = "DF004"

HEREDOC = (
    "FROM alpine:3.20\n"
    "ARG NPM_TOKEN\n"
    "COPY <<EOF /root/.npmrc\n"
    "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"
    "EOF\n"
    "RUN npm ci\n"
)


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        pytest.param(
            "ARG REGISTRY_TOKEN\nFROM registry.example.com/${REGISTRY_TOKEN}/base:1\nRUN true\n",
            [("Dockerfile", 2)],
            id="FROM",
        ),
        pytest.param("FROM alpine:3.20\nARG NPM_TOKEN\nWORKDIR /app/$NPM_TOKEN\nRUN npm ci\n", [("Dockerfile", 3)], id="WORKDIR"),
        pytest.param(HEREDOC, [("Dockerfile", 3)], id="unquoted COPY heredoc"),
    ],
)
def test_findings(tmp_path, src, expected):
    check_findings(tmp_path, CODE, src, expected)


def test_file_is_left_as_is(tmp_path):
    check_fixed(tmp_path, CODE, HEREDOC, HEREDOC)


@pytest.mark.parametrize(
    "src",
    [
        pytest.param(HEREDOC.replace("<<EOF", "<<'EOF'"), id="quoted heredoc is not expanded"),
        pytest.param("FROM alpine:3.20\nARG APP_DIR=/app\nWORKDIR $APP_DIR\n", id="not a secret"),
    ],
)
def test_noop(tmp_path, src):
    check_noop(tmp_path, CODE, src)

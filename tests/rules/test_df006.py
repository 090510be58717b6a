"""DF006 secret-label: a LABEL expands a secret; it goes with the DF001 fix."""

from __future__ import annotations

import pytest
from rulecheck import check_fixed, check_noop

CODE = "DF006"


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        pytest.param(
            "FROM alpine:3.20\n"
            "ARG NPM_TOKEN\n"
            "LABEL npm.token=$NPM_TOKEN\n"
            "RUN npm ci\n",
            "FROM alpine:3.20\n"
            "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n",
            id="label removed",
        ),
    ],
)
def test_fixed(tmp_path, src, expected):
    check_fixed(tmp_path, CODE, src, expected)


@pytest.mark.parametrize(
    "src",
    [
        pytest.param("FROM alpine:3.20\nARG VERSION\nLABEL version=$VERSION\n", id="not a secret"),
        pytest.param(
            "FROM alpine:3.20\nARG NPM_TOKEN\nLABEL org.opencontainers.image.title=app\nRUN npm ci\n",
            id="a label that does not expand it",
        ),
    ],
)
def test_noop(tmp_path, src):
    check_noop(tmp_path, CODE, src)

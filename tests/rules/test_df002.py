"""DF002 secret-env: ENV keeps a secret in the image configuration."""

from __future__ import annotations

import pytest
from rulecheck import check_findings, check_fixed, check_noop

CODE = "DF002"


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        pytest.param(
            "FROM alpine:3.20\n"
            "ARG NPM_TOKEN\n"
            "ENV NPM_TOKEN=$NPM_TOKEN\n"
            "RUN npm ci\n",
            "FROM alpine:3.20\n"
            "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n",
            id="copy of a secret build arg goes with it",
        ),
        pytest.param(
            "FROM python:3.12\n"
            "ARG PIP_TOKEN\n"
            "ENV PIP_INDEX_URL=https://user:${PIP_TOKEN}@pypi.example.com/simple\n"
            "RUN pip install -r requirements.txt\n",
            "FROM python:3.12\n"
            "RUN --mount=type=secret,id=pip_token,env=PIP_TOKEN"
            " export PIP_INDEX_URL=\"https://user:${PIP_TOKEN}@pypi.example.com/simple\" && pip install -r requirements.txt\n",
            id="composite value is rebuilt inside the RUN",
        ),
        pytest.param(
            "FROM alpine:3.20\n"
            "ENV DB_PASSWORD=changeme\n",
            "FROM alpine:3.20\n"
            "ENV DB_PASSWORD=changeme\n",
            id="credential slot without a build arg is display-only",
        ),
    ],
)
def test_fixed(tmp_path, src, expected):
    check_fixed(tmp_path, CODE, src, expected)


def test_credential_slot_is_reported_on_its_line(tmp_path):
    check_findings(tmp_path, CODE, "FROM alpine:3.20\nENV DB_PASSWORD=changeme\n", [("Dockerfile", 2)])


@pytest.mark.parametrize(
    "src",
    [
        pytest.param("FROM alpine:3.20\nENV API_TOKEN=$API_TOKEN\n", id="ENV X=$X with no ARG X is empty"),
        pytest.param("FROM alpine:3.20\nENV APP_ENV=production\n", id="not a credential"),
        pytest.param("FROM alpine:3.20\nARG VERSION\nENV VERSION=$VERSION\n", id="copy of a plain build arg"),
    ],
)
def test_noop(tmp_path, src):
    check_noop(tmp_path, CODE, src)

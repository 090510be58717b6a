"""DF001 secret-build-arg: a secret build arg becomes a secret mount on the RUNs that read it."""

from __future__ import annotations

import pytest
from rulecheck import check_fixed, check_noop

CODE = "DF001"


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        pytest.param(
            "FROM alpine:3.20\n"
            "ARG NPM_TOKEN\n"
            "RUN npm ci\n",
            "FROM alpine:3.20\n"
            "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n",
            id="a RUN whose use cannot be decided gets the mount",
        ),
        pytest.param(
            "FROM alpine:3.20\n"
            "ARG DB_PASSWORD\n"
            "RUN psql \"postgres://app:${DB_PASSWORD}@db/app\" -c 'select 1'\n"
            "RUN echo done\n",
            "FROM alpine:3.20\n"
            "RUN --mount=type=secret,id=db_password,env=DB_PASSWORD psql \"postgres://app:${DB_PASSWORD}@db/app\" -c 'select 1'\n"
            "RUN echo done\n",
            id="only the RUN that reads it gets the mount",
        ),
        pytest.param(
            "ARG NPM_TOKEN\n"
            "FROM node:20\n"
            "ARG NPM_TOKEN\n"
            "RUN npm ci\n",
            "FROM node:20\n"
            "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n",
            id="global and stage declarations both go",
        ),
        pytest.param(
            "FROM alpine:3.20\n"
            "ARG NPM_TOKEN=changeme\n"
            "RUN npm ci\n",
            "FROM alpine:3.20\n"
            "ARG NPM_TOKEN=changeme\n"
            "RUN npm ci\n",
            id="a literal default is an unsafe fix: kept without --unsafe-fixes",
        ),
    ],
)
def test_fixed(tmp_path, src, expected):
    check_fixed(tmp_path, CODE, src, expected)


def test_fixed_unsafe(tmp_path):
    check_fixed(
        tmp_path,
        CODE,
        "FROM alpine:3.20\nARG NPM_TOKEN=changeme\nRUN npm ci\n",
        "FROM alpine:3.20\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n",
        "--unsafe-fixes",
    )


@pytest.mark.parametrize(
    "src",
    [
        pytest.param("FROM alpine:3.20\nARG APP_VERSION\nRUN echo $APP_VERSION\n", id="not a credential name"),
        pytest.param("FROM alpine:3.20\nARG GPG_KEY\nRUN echo $GPG_KEY\n", id="GPG_KEY is a key id"),
        pytest.param(
            "FROM alpine:3.20\nARG PUBLIC_KEY\nRUN echo $PUBLIC_KEY >> /root/.ssh/authorized_keys\n",
            id="a public key",
        ),
        pytest.param("FROM alpine:3.20\n# dfix: ignore[DF001]\nARG NPM_TOKEN\nRUN npm ci\n", id="ignored by pragma"),
        pytest.param("FROM alpine:3.20\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n", id="already a mount"),
    ],
)
def test_noop(tmp_path, src):
    check_noop(tmp_path, CODE, src)

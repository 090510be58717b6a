"""DF007 secret-layer-file: a RUN leaves a secret in a file of its layer."""

from __future__ import annotations

import pytest
from rulecheck import check_fixed, check_noop

CODE = "DF007"


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        pytest.param(
            "FROM node:20\n"
            "ARG NPM_TOKEN\n"
            "RUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > /root/.npmrc\n"
            "RUN npm ci\n"
            "RUN rm /root/.npmrc\n",
            "FROM node:20\n"
            "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN"
            " echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > /root/.npmrc && npm ci && rm -f /root/.npmrc\n",
            id="write folded into the RUN that reads it",
        ),
        pytest.param(
            "FROM node:20\n"
            "ARG NPM_TOKEN\n"
            "RUN npm config set //registry.npmjs.org/:_authToken $NPM_TOKEN\n"
            "RUN npm ci\n",
            "FROM node:20\n"
            "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN"
            " npm config set //registry.npmjs.org/:_authToken $NPM_TOKEN && npm ci"
            " && npm config delete //registry.npmjs.org/:_authToken && rm -rf ~/.npm/_logs\n",
            id="npm config set is undone",
        ),
        pytest.param(
            "FROM node:20\n"
            "ARG NPM_TOKEN\n"
            "RUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" >> /root/.npmrc\n"
            "RUN npm ci\n",
            "FROM node:20\n"
            "ARG NPM_TOKEN\n"
            "RUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" >> /root/.npmrc\n"
            "RUN npm ci\n",
            id="an appended write is display-only",
        ),
    ],
)
def test_fixed(tmp_path, src, expected):
    check_fixed(tmp_path, CODE, src, expected)


@pytest.mark.parametrize(
    "src",
    [
        pytest.param(
            "FROM node:20\n"
            "ARG NPM_TOKEN\n"
            "RUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc && npm ci && rm .npmrc\n",
            id="written, used and removed in one RUN",
        ),
        pytest.param("FROM node:20\nARG VERSION\nRUN echo $VERSION > /version\n", id="not a secret"),
    ],
)
def test_noop(tmp_path, src):
    check_noop(tmp_path, CODE, src)

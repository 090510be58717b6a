"""DF008 credential-file-copy: COPY puts a credential file from the build context in the image
(file contents here are fakes)."""

from __future__ import annotations

import pytest
from rulecheck import check_findings, check_fixed, check_noop, fake

CODE = "DF008"
NPMRC = "//registry.npmjs.org/:_authToken=" + fake("npm_") + "\n"
NETRC = "machine example.com login u password " + fake(n=16) + "\n"
KEY_MARKER = "OPENSSH " + "PRIVATE KEY-----"
ID_RSA = f"-----BEGIN {KEY_MARKER}\n{fake(n=64)}\n-----END {KEY_MARKER}\n"


def test_fixed_npmrc_becomes_a_secret_file_mount(tmp_path):
    check_fixed(
        tmp_path,
        CODE,
        {
            "Dockerfile": "FROM node:20\nWORKDIR /app\nCOPY .npmrc package.json ./\nRUN npm ci\n",
            ".npmrc": NPMRC,
            "package.json": "{}\n",
        },
        {
            "Dockerfile": "FROM node:20\n"
            "WORKDIR /app\n"
            "COPY package.json ./\n"
            "RUN --mount=type=secret,id=npmrc,target=/app/.npmrc npm ci\n",
        },
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {
                "Dockerfile": "FROM alpine:3.20\nCOPY id_rsa /root/.ssh/id_rsa\nRUN git clone git@github.com:o/r.git\n",
                "id_rsa": ID_RSA,
            },
            [("Dockerfile", 2)],
            id="SSH private key",
        ),
        pytest.param(
            {"Dockerfile": "FROM python:3.12\nCOPY .env /app/.env\n", ".env": "DB_PASSWORD=" + fake(n=16) + "\n"},
            [("Dockerfile", 2)],
            id=".env file",
        ),
        pytest.param(
            {"Dockerfile": "FROM node:20\nCOPY . .\nRUN npm ci\n", ".netrc": NETRC},
            [("Dockerfile", 2)],
            id="COPY . . with a .netrc in the context",
        ),
    ],
)
def test_findings(tmp_path, files, expected):
    check_findings(tmp_path, CODE, files, expected)


@pytest.mark.parametrize(
    "files",
    [
        pytest.param(
            {
                "Dockerfile": "FROM node:20\nCOPY .npmrc ./\nRUN npm ci\n",
                ".npmrc": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
            },
            id=".npmrc template",
        ),
        pytest.param(
            {"Dockerfile": "FROM node:20\nCOPY . .\nRUN npm ci\n", ".netrc": NETRC, ".dockerignore": ".netrc\n"},
            id="excluded by .dockerignore",
        ),
        pytest.param(
            {"Dockerfile": "FROM node:20\nCOPY .env.example /app/.env\n", ".env.example": "DB_PASSWORD=\n"}, id="example file"
        ),
    ],
)
def test_noop(tmp_path, files):
    check_noop(tmp_path, CODE, files)

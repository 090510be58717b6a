"""DF005 public-bundle-variable: a credential-named variable a front-end build inlines."""

from __future__ import annotations

import pytest
from rulecheck import check_findings, check_noop

CODE = "DF005"


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        pytest.param("FROM node:20\nARG VITE_API_KEY\nRUN npm run build\n", [("Dockerfile", 2)], id="Vite ARG"),
        pytest.param(
            "FROM node:20\nENV NEXT_PUBLIC_SECRET_TOKEN=abc\nRUN npm run build\n", [("Dockerfile", 2)], id="Next.js ENV"
        ),
        pytest.param("FROM node:20\nARG REACT_APP_AUTH_TOKEN\nRUN npm run build\n", [("Dockerfile", 2)], id="CRA ARG"),
    ],
)
def test_findings(tmp_path, src, expected):
    check_findings(tmp_path, CODE, src, expected)


@pytest.mark.parametrize(
    "src",
    [
        pytest.param("FROM node:20\nARG VITE_API_URL\nRUN npm run build\n", id="not a credential name"),
        pytest.param("FROM node:20\nARG REACT_APP_VERSION\nRUN npm run build\n", id="a version"),
        pytest.param("FROM node:20\nARG API_KEY\nRUN npm run build\n", id="no public prefix: DF001, not DF005"),
    ],
)
def test_noop(tmp_path, src):
    check_noop(tmp_path, CODE, src)

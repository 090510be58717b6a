"""DF003 committed-secret: a literal credential in the Dockerfile (values here are fakes)."""

from __future__ import annotations

import pytest
from rulecheck import check_findings, check_fixed, check_noop, fake

CODE = "DF003"
GHP = fake("ghp_")


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        pytest.param(
            f"FROM alpine:3.20\nRUN git clone https://{GHP}@github.com/o/r.git\n",
            [("Dockerfile", 2)],
            id="token in a URL",
        ),
        pytest.param(f"FROM alpine:3.20\n# token: {GHP}\nRUN true\n", [("Dockerfile", 2)], id="token in a comment"),
        pytest.param(
            f"FROM alpine:3.20\nENV MYSQL_ROOT_PASSWORD={fake(n=16)}\n",
            [("Dockerfile", 2)],
            id="literal of a password-named ENV",
        ),
        pytest.param(f"FROM alpine:3.20\nARG GH_TOKEN={GHP}\nRUN gh auth status\n", [("Dockerfile", 2)], id="ARG default"),
    ],
)
def test_findings(tmp_path, src, expected):
    check_findings(tmp_path, CODE, src, expected)


def test_arg_default_is_removed_with_unsafe_fixes(tmp_path):
    check_fixed(
        tmp_path,
        CODE,
        f"FROM alpine:3.20\nARG GH_TOKEN={GHP}\nRUN gh auth status\n",
        "FROM alpine:3.20\nRUN --mount=type=secret,id=gh_token,env=GH_TOKEN gh auth status\n",
        "--unsafe-fixes",
    )


@pytest.mark.parametrize(
    "src",
    [
        pytest.param("FROM alpine:3.20\nRUN curl -u admin:admin https://example.com\n", id="well-known default"),
        pytest.param("FROM alpine:3.20\nRUN curl -u user:$PASS https://example.com\n", id="an expansion"),
        pytest.param("FROM alpine:3.20\nENV DB_PASSWORD=changeme\n", id="a placeholder"),
        pytest.param("FROM alpine:3.20\nRUN curl -u u:%PASS% https://example.com\n", id="a template marker"),
    ],
)
def test_noop(tmp_path, src):
    check_noop(tmp_path, CODE, src)

"""DF012 stale-build-arg: a caller passes a build arg the Dockerfile does not declare.

Cases run with ``--check``: in the default report mode dfix links callers only when some
Dockerfile has something to migrate."""

from __future__ import annotations

import pytest
from rulecheck import check_findings, check_noop

CODE = "DF012"
DOCKERFILE = "FROM alpine:3.20\nARG VERSION\nRUN echo $VERSION\n"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {
                "Dockerfile": DOCKERFILE,
                "build.sh": "#!/bin/sh\ndocker build --build-arg VERSION=1.2 --build-arg OLD_FLAG=1 -t app .\n",
            },
            [("build.sh", 2)],
            id="shell script",
        ),
        pytest.param(
            {
                "Dockerfile": DOCKERFILE,
                "compose.yaml": "services:\n  app:\n    build:\n      context: .\n      args:\n        VERSION: '1'\n        LEGACY: 'x'\n",
            },
            [("compose.yaml", 7)],
            id="compose build.args",
        ),
    ],
)
def test_findings(tmp_path, files, expected):
    check_findings(tmp_path, CODE, files, expected, "--check")


@pytest.mark.parametrize(
    "files",
    [
        pytest.param(
            {"Dockerfile": DOCKERFILE, "build.sh": "#!/bin/sh\ndocker build --build-arg VERSION=1.2 -t app .\n"},
            id="declared",
        ),
        pytest.param(
            {
                "Dockerfile": DOCKERFILE,
                "build.sh": "#!/bin/sh\ndocker build --build-arg HTTP_PROXY=http://proxy:3128 -t app .\n",
            },
            id="predefined proxy arg",
        ),
        pytest.param(
            {
                "Dockerfile": DOCKERFILE,
                "build.sh": "#!/bin/sh\n# dfix: ignore[DF012]\ndocker build --build-arg OLD_FLAG=1 -t app .\n",
            },
            id="ignored by pragma",
        ),
    ],
)
def test_noop(tmp_path, files):
    check_noop(tmp_path, CODE, files, "--check")

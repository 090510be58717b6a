"""DF010 shared-read-write-credential: one secret feeds builds and also publishes; reported on the
build's read."""

from __future__ import annotations

import pytest
from rulecheck import check_findings, check_noop

CODE = "DF010"
DOCKERFILE = "FROM node:20\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n"
BUILD = "#!/bin/sh\ndocker build --secret id=npm_token,env=NPM_TOKEN .\n"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"Dockerfile": DOCKERFILE, "build.sh": BUILD, "release.sh": "#!/bin/sh\nNODE_AUTH_TOKEN=$NPM_TOKEN npm publish\n"},
            [("Dockerfile", 2)],
            id="npm publish",
        ),
        pytest.param(
            {
                "Dockerfile": DOCKERFILE,
                "build.sh": BUILD,
                "release.sh": "#!/bin/sh\necho \"$NPM_TOKEN\" | docker login -u bot --password-stdin registry.example.com\n"
                "docker push registry.example.com/app\n",
            },
            [("Dockerfile", 2)],
            id="docker login before a push",
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
                "Dockerfile": DOCKERFILE,
                "build.sh": BUILD,
                "release.sh": "#!/bin/sh\necho \"$REGISTRY_PASSWORD\" | docker login -u bot --password-stdin registry.example.com\n"
                "docker push registry.example.com/app\n",
            },
            id="publishing uses its own credential",
        ),
        pytest.param({"Dockerfile": DOCKERFILE, "build.sh": BUILD + "npm publish\n"}, id="publish without the build's token"),
    ],
)
def test_noop(tmp_path, files):
    check_noop(tmp_path, CODE, files)

"""DF011 secret-build-arg-caller: a caller passes the secret as --build-arg; it changes with the
Dockerfile."""

from __future__ import annotations

import pytest
from rulecheck import check_fixed, check_noop

CODE = "DF011"
DOCKERFILE = "FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n"
MIGRATED = "FROM node:20\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"Dockerfile": DOCKERFILE, "build.sh": "#!/bin/sh\ndocker build --build-arg NPM_TOKEN=\"$NPM_TOKEN\" -t app .\n"},
            {"Dockerfile": MIGRATED, "build.sh": "#!/bin/sh\ndocker build --secret id=npm_token,env=NPM_TOKEN -t app .\n"},
            id="shell script, NAME=value",
        ),
        pytest.param(
            {"Dockerfile": DOCKERFILE, "build.sh": "#!/bin/sh\ndocker build --build-arg NPM_TOKEN -t app .\n"},
            {"Dockerfile": MIGRATED, "build.sh": "#!/bin/sh\ndocker build --secret id=npm_token,env=NPM_TOKEN -t app .\n"},
            id="shell script, passthrough",
        ),
        pytest.param(
            {
                "Dockerfile": DOCKERFILE,
                "compose.yaml": "services:\n  app:\n    build:\n      context: .\n      args:\n        NPM_TOKEN: ${NPM_TOKEN}\n",
            },
            {
                "Dockerfile": MIGRATED,
                "compose.yaml": "services:\n  app:\n    build:\n      context: .\n      secrets:\n        - npm_token\n"
                "secrets:\n  npm_token:\n    environment: NPM_TOKEN"
                "  # read from the environment of `docker compose build`; Compose >= 2.39.3 ignores .env here\n",
            },
            id="compose build.args",
        ),
    ],
)
def test_fixed(tmp_path, files, expected):
    check_fixed(tmp_path, CODE, files, expected)


@pytest.mark.parametrize(
    "files",
    [
        pytest.param(
            {
                "Dockerfile": "FROM alpine:3.20\nARG VERSION\nRUN echo $VERSION\n",
                "build.sh": "#!/bin/sh\ndocker build --build-arg VERSION=1.2 -t app .\n",
            },
            id="not a secret",
        ),
        pytest.param(
            {"Dockerfile": MIGRATED, "build.sh": "#!/bin/sh\ndocker build --secret id=npm_token,env=NPM_TOKEN -t app .\n"},
            id="already passes --secret",
        ),
    ],
)
def test_noop(tmp_path, files):
    check_noop(tmp_path, CODE, files)

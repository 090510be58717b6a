"""The independent rewrite check (refactor/fixes/check.py): correct rewrites pass, broken ones are
caught with the right kind, messages never hold values, and every golden rewrite passes."""

from __future__ import annotations

import ast
import io
import json
import os
import re
import shutil
import tomllib
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import CANARY_FORMATS, _canary

from refactor.fixes._check_shell import classify, parse_script, unwrap
from refactor.fixes.check import CheckResult, Violation, check_rewrite

NPM = {"npm_token": "NPM_TOKEN"}


def kinds(res: CheckResult) -> set[str]:
    return {v.kind for v in res.violations}


def lines(*xs: str) -> str:
    return "\n".join(xs) + "\n"


# --------------------------------------------------------------------------------------------
# Correct rewrites pass

PASS = {
    "identity": (
        lines("FROM node:20", "ARG APP=1", "ENV X=$APP", "RUN make && echo $X > /x"),
        lines("FROM node:20", "ARG APP=1", "ENV X=$APP", "RUN make && echo $X > /x"),
        {},
    ),
    "env-mount": (
        lines("FROM node:20", "ARG NPM_TOKEN", "COPY package.json ./",
              'RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc'),
        lines("FROM node:20", "COPY package.json ./",
              'RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc'),
        NPM,
    ),
    "file-form-mount-export": (
        lines("FROM node:20", "ARG NPM_TOKEN",
              'RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc'),
        lines("FROM node:20",
              'RUN --mount=type=secret,id=npm_token export NPM_TOKEN="$(cat /run/secrets/npm_token)" && '
              'echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc'),
        NPM,
    ),
    "file-form-target": (
        lines("FROM alpine", "ARG API_TOKEN", 'RUN curl -H "Authorization: Bearer $API_TOKEN" -o /tmp/d https://x'),
        lines("FROM alpine", 'RUN --mount=type=secret,id=api_token,target=/tmp/tok export API_TOKEN="$(cat /tmp/tok)" && '
                             'curl -H "Authorization: Bearer $API_TOKEN" -o /tmp/d https://x'),
        {"api_token": "API_TOKEN"},
    ),
    "composite-env-export": (
        lines("FROM python:3.12", "ARG PYPI_TOKEN", "ENV PIP_INDEX_URL=https://__token__:${PYPI_TOKEN}@pypi.example.com/simple",
              "RUN pip install internal-lib", "RUN echo done > /done"),
        lines("FROM python:3.12",
              'RUN --mount=type=secret,id=pypi_token,env=PYPI_TOKEN export PIP_INDEX_URL="https://__token__:${PYPI_TOKEN}@pypi.example.com/simple" && pip install internal-lib',
              "RUN echo done > /done"),
        {"pypi_token": "PYPI_TOKEN"},
    ),
    "env-chain-rebuilt": (
        lines("FROM alpine", "ARG A_TOKEN", "ENV B=$A_TOKEN", 'ENV C="Bearer ${B}"', 'RUN curl -H "Authorization: $C" -o /tmp/x https://x'),
        lines("FROM alpine", 'RUN --mount=type=secret,id=a_token,env=A_TOKEN export B="${A_TOKEN}" && export C="Bearer ${B}" && '
                             'curl -H "Authorization: $C" -o /tmp/x https://x'),
        {"a_token": "A_TOKEN"},
    ),
    "two-stages-same-secret": (
        lines("FROM node:20 AS deps", "ARG NPM_TOKEN", 'RUN echo "t=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc', "",
              "FROM node:20", "ARG NPM_TOKEN", "COPY --from=deps /node_modules /app/node_modules",
              'RUN echo "t=${NPM_TOKEN}" > /root/.npmrc && npm install -g tool && rm /root/.npmrc'),
        lines("FROM node:20 AS deps", 'RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "t=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc', "",
              "FROM node:20", "COPY --from=deps /node_modules /app/node_modules",
              'RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "t=${NPM_TOKEN}" > /root/.npmrc && npm install -g tool && rm /root/.npmrc'),
        NPM,
    ),
    "tilde-written-and-removed-unquoted": (
        lines("FROM node:20", "ARG NPM_TOKEN", "WORKDIR /app", 'RUN echo "t=${NPM_TOKEN}" > ~/.npmrc', "RUN npm ci",
              "RUN rm ~/.npmrc"),
        lines("FROM node:20", "WORKDIR /app",
              'RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "t=${NPM_TOKEN}" > ~/.npmrc && npm ci && rm -f "$HOME"/.npmrc'),
        NPM,
    ),
    "fold-into-consumer": (
        lines("FROM node:20", "ARG NPM_TOKEN", "WORKDIR /app", 'RUN echo "t=${NPM_TOKEN}" > /root/.npmrc', "RUN npm ci",
              "RUN rm /root/.npmrc"),
        lines("FROM node:20", "WORKDIR /app",
              'RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "t=${NPM_TOKEN}" > /root/.npmrc && npm ci && rm -f /root/.npmrc'),
        NPM,
    ),
    "exec-form-to-shell-form": (
        lines("FROM node:20", "ARG NPM_TOKEN", 'RUN ["npm", "ci"]'),
        lines("FROM node:20", 'RUN --mount=type=secret,id=npm_token export NPM_TOKEN="$(cat /run/secrets/npm_token)" && npm ci'),
        NPM,
    ),
    "exec-form-sh-c-kept": (
        lines("FROM alpine", "ARG API_TOKEN", 'RUN ["sh", "-c", "curl -H \\"Authorization: Bearer $API_TOKEN\\" -o /tmp/d https://x"]'),
        lines("FROM alpine", 'RUN --mount=type=secret,id=api_token,env=API_TOKEN ["sh", "-c", "curl -H \\"Authorization: Bearer $API_TOKEN\\" -o /tmp/d https://x"]'),
        {"api_token": "API_TOKEN"},
    ),
    "unused-secret-dropped": (
        lines("FROM ubuntu:22.04", "ARG AWS_SECRET_ACCESS_KEY", "RUN mkdir -p /app && echo ready > /app/state && apt-get update"),
        lines("FROM ubuntu:22.04", "RUN mkdir -p /app && echo ready > /app/state && apt-get update"),
        {"aws_secret_access_key": "AWS_SECRET_ACCESS_KEY"},
    ),
    "heredoc-run": (
        lines("FROM alpine", "ARG NEXUS_PASSWORD", "RUN <<EOF", 'curl -u "ci:${NEXUS_PASSWORD}" -o /tmp/a https://n/a', "EOF"),
        lines("FROM alpine", "RUN --mount=type=secret,id=nexus_password,env=NEXUS_PASSWORD <<EOF",
              'curl -u "ci:${NEXUS_PASSWORD}" -o /tmp/a https://n/a', "EOF"),
        {"nexus_password": "NEXUS_PASSWORD"},
    ),
    "onbuild-run": (
        lines("FROM node:20", "ONBUILD ARG NPM_TOKEN", "ONBUILD COPY . .", 'ONBUILD RUN echo "t=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc'),
        lines("FROM node:20", "ONBUILD COPY . .",
              'ONBUILD RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "t=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc'),
        NPM,
    ),
    # BuildKit passes the parent's build args to a `FROM base` child as well as its ENV
    "child-stage-inherits-alias": (
        lines("FROM alpine AS base", "ARG GH_TOKEN", "ENV GIT_AUTH=$GH_TOKEN", "", "FROM base", "RUN ./fetch.sh"),
        lines("FROM alpine AS base", "", "FROM base",
              "RUN --mount=type=secret,id=gh_token,env=GH_TOKEN --mount=type=secret,id=gh_token,env=GIT_AUTH ./fetch.sh"),
        {"gh_token": "GH_TOKEN"},
    ),
    "git-clone-cleanup": (
        lines("FROM alpine", "ARG GITHUB_TOKEN", "RUN git clone https://${GITHUB_TOKEN}@github.com/example/lib.git /src/lib"),
        lines("FROM alpine", "RUN --mount=type=secret,id=github_token,env=GITHUB_TOKEN git clone https://${GITHUB_TOKEN}@github.com/example/lib.git /src/lib"
                             " && { [ ! -d /src/lib/.git ] || git -C /src/lib remote set-url origin https://github.com/example/lib.git; }"),
        {"github_token": "GITHUB_TOKEN"},
    ),
    "git-config-remove-section": (
        lines("FROM golang", "ARG GH_TOKEN", 'RUN git config --global url."https://${GH_TOKEN}@github.com/".insteadOf "https://github.com/"',
              "RUN go mod download"),
        lines("FROM golang", 'RUN --mount=type=secret,id=gh_token,env=GH_TOKEN git config --global url."https://${GH_TOKEN}@github.com/".insteadOf '
                             '"https://github.com/" && go mod download && git config --global --remove-section url."https://${GH_TOKEN}@github.com/"'),
        {"gh_token": "GH_TOKEN"},
    ),
    "npm-config-set-deleted": (
        lines("FROM node:20", "ARG NPM_TOKEN", "RUN npm config set //registry.npmjs.org/:_authToken ${NPM_TOKEN}", "RUN npm ci"),
        lines("FROM node:20", "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm config set //registry.npmjs.org/:_authToken ${NPM_TOKEN}"
                              " && npm ci && npm config delete //registry.npmjs.org/:_authToken && rm -rf ~/.npm/_logs"),
        NPM,
    ),
    "docker-login-logout": (
        lines("FROM docker:27", "ARG REGISTRY_PASSWORD", 'RUN echo "$REGISTRY_PASSWORD" | docker login -u ci --password-stdin r.example.com',
              "RUN docker pull r.example.com/tools:1"),
        lines("FROM docker:27", 'RUN --mount=type=secret,id=registry_password,env=REGISTRY_PASSWORD echo "$REGISTRY_PASSWORD" | docker login -u ci '
                                '--password-stdin r.example.com && docker pull r.example.com/tools:1 && docker logout r.example.com'),
        {"registry_password": "REGISTRY_PASSWORD"},
    ),
    "bash-heredoc-script": (
        lines("FROM node:20", "ARG NPM_TOKEN", "RUN bash <<'EOF'", "set -e", "npm ci", "EOF"),
        lines("FROM node:20", "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN bash <<'EOF'", "set -e", "npm ci", "EOF"),
        NPM,
    ),
    "deeply-nested-composite": (
        lines("FROM node:20", "ARG NPM_TOKEN", "ENV NPM_CONFIG_X=" + "${a:-" * 300 + "$NPM_TOKEN" + "}" * 300, "RUN npm ci"),
        lines("FROM node:20", 'RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN export NPM_CONFIG_X="' + "${a:-" * 300 + "$NPM_TOKEN"
              + "}" * 300 + '" && npm ci'),
        NPM,
    ),
    "ssh-key-to-ssh-mount": (
        lines("FROM golang:1.22", "ARG SSH_KEY", 'RUN mkdir -p /root/.ssh && echo "$SSH_KEY" > /root/.ssh/id_ed25519 && chmod 600 /root/.ssh/id_ed25519',
              "RUN ssh-keyscan github.com >> /root/.ssh/known_hosts", "RUN go mod download", "RUN rm /root/.ssh/id_ed25519"),
        lines("FROM golang:1.22", "RUN mkdir -p /root/.ssh", "RUN ssh-keyscan github.com >> /root/.ssh/known_hosts",
              "RUN --mount=type=ssh go mod download"),
        {},
    ),
}


@pytest.mark.parametrize("original,rewritten,secrets", list(PASS.values()), ids=list(PASS))
def test_correct_rewrites_pass(original: str, rewritten: str, secrets: dict) -> None:
    res = check_rewrite(original, rewritten, secrets)
    assert res.ok, [v.message for v in res.violations]


def test_child_stage_inherits_build_args() -> None:
    """Verified on Engine 28.5: `FROM one` sees `ARG FOO` of stage one. A child RUN that reads
    the inherited arg must keep it through a mount."""
    o = lines("FROM a:1 AS one", "ARG NPM_TOKEN", 'RUN curl -H "Authorization: Bearer $NPM_TOKEN" https://x',
              "FROM one AS three", 'RUN curl -H "Authorization: Bearer $NPM_TOKEN" https://x')
    mount = "--mount=type=secret,id=npm_token,env=NPM_TOKEN"
    good = lines("FROM a:1 AS one", f'RUN {mount} curl -H "Authorization: Bearer $NPM_TOKEN" https://x',
                 "FROM one AS three", f'RUN {mount} curl -H "Authorization: Bearer $NPM_TOKEN" https://x')
    bad = good.rsplit(f"RUN {mount} ", 1)[0] + "RUN " + good.rsplit(f"RUN {mount} ", 1)[1]
    assert check_rewrite(o, good, NPM).ok
    assert [v.kind for v in check_rewrite(o, bad, NPM).violations] == ["value"]


def test_undecidable_lines_are_reported() -> None:
    orig, new, secrets = PASS["child-stage-inherits-alias"]
    assert check_rewrite(orig, new, secrets).undecidable == (6,)
    orig, new, secrets = PASS["composite-env-export"]
    assert check_rewrite(orig, new, secrets).undecidable == ()


# --------------------------------------------------------------------------------------------
# Broken rewrites are caught

MUTANTS = {
    "mount-dropped": (
        lines("FROM alpine", "ARG API_TOKEN", 'RUN curl -H "Authorization: Bearer $API_TOKEN" -o /tmp/d https://x'),
        lines("FROM alpine", 'RUN curl -H "Authorization: Bearer $API_TOKEN" -o /tmp/d https://x'),
        {"api_token": "API_TOKEN"}, "value",
    ),
    "composite-export-dropped": (
        PASS["composite-env-export"][0],
        lines("FROM python:3.12", "RUN --mount=type=secret,id=pypi_token,env=PYPI_TOKEN pip install internal-lib", "RUN echo done > /done"),
        {"pypi_token": "PYPI_TOKEN"}, "value",
    ),
    "env-name-renamed": (
        lines("FROM alpine", "ARG API_TOKEN", 'RUN curl -H "Authorization: Bearer $API_TOKEN" -o /tmp/d https://x'),
        lines("FROM alpine", 'RUN --mount=type=secret,id=api_token,env=API_KEY curl -H "Authorization: Bearer $API_TOKEN" -o /tmp/d https://x'),
        {"api_token": "API_TOKEN"}, "value",
    ),
    "file-form-wrong-id": (
        PASS["file-form-mount-export"][0],
        lines("FROM node:20",
              'RUN --mount=type=secret,id=npm_token export NPM_TOKEN="$(cat /run/secrets/npm)" && '
              'echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc'),
        NPM, "value",
    ),
    "alias-dropped-not-rebuilt": (  # export C="Bearer ${B}" with B unset: dfix's bug class
        PASS["env-chain-rebuilt"][0],
        lines("FROM alpine", 'RUN --mount=type=secret,id=a_token,env=A_TOKEN export C="Bearer ${B}" && '
                             'curl -H "Authorization: $C" -o /tmp/x https://x'),
        {"a_token": "A_TOKEN"}, "value",
    ),
    "arg-left": (
        PASS["env-mount"][0],
        PASS["env-mount"][1].replace("FROM node:20\n", "FROM node:20\nARG NPM_TOKEN\n"),
        NPM, "secret-reach",
    ),
    "env-left": (
        lines("FROM alpine", "ARG API_TOKEN", "ENV X=$API_TOKEN", 'RUN curl -H "Authorization: $X" -o /tmp/d https://x'),
        lines("FROM alpine", "ENV X=$API_TOKEN", 'RUN --mount=type=secret,id=api_token,env=X curl -H "Authorization: $X" -o /tmp/d https://x'),
        {"api_token": "API_TOKEN"}, "secret-reach",
    ),
    "label-left": (
        lines("FROM alpine", "ARG CI_JOB_TOKEN", "LABEL t=$CI_JOB_TOKEN", 'RUN curl -H "JOB-TOKEN: $CI_JOB_TOKEN" -o /tmp/p https://g'),
        lines("FROM alpine", "LABEL t=$CI_JOB_TOKEN", 'RUN --mount=type=secret,id=ci_job_token,env=CI_JOB_TOKEN curl -H "JOB-TOKEN: $CI_JOB_TOKEN" -o /tmp/p https://g'),
        {"ci_job_token": "CI_JOB_TOKEN"}, "secret-reach",
    ),
    "cleanup-in-comment": (
        PASS["fold-into-consumer"][0],
        lines("FROM node:20", "WORKDIR /app",
              'RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "t=${NPM_TOKEN}" > /root/.npmrc && npm ci # deps && rm -f /root/.npmrc'),
        NPM, "secret-reach",
    ),
    "cleanup-after-exit": (
        PASS["fold-into-consumer"][0],
        lines("FROM node:20", "WORKDIR /app",
              'RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "t=${NPM_TOKEN}" > /root/.npmrc && npm ci; exit 0; rm -f /root/.npmrc'),
        NPM, "secret-reach",
    ),
    "cleanup-only-on-failure": (
        PASS["fold-into-consumer"][0],
        lines("FROM node:20", "WORKDIR /app",
              'RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "t=${NPM_TOKEN}" > /root/.npmrc && npm ci || rm -f /root/.npmrc'),
        NPM, "secret-reach",
    ),
    "cleanup-syntax-error": (
        lines("FROM node:20", "ARG NPM_TOKEN", 'RUN echo "t=${NPM_TOKEN}" > /root/.npmrc; npm ci;'),
        lines("FROM node:20", 'RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "t=${NPM_TOKEN}" > /root/.npmrc; npm ci; && rm -f /root/.npmrc'),
        NPM, "parse",
    ),
    "sed-in-place": (
        lines("FROM alpine", "ARG KEY", 'RUN sed -i "s/x/${KEY}/" /etc/app.conf'),
        lines("FROM alpine", 'RUN --mount=type=secret,id=key,env=KEY sed -i "s/x/${KEY}/" /etc/app.conf'),
        {"key": "KEY"}, "secret-reach",
    ),
    "htpasswd": (
        lines("FROM httpd", "ARG P", 'RUN htpasswd -bc /auth/htpasswd admin "$P"'),
        lines("FROM httpd", 'RUN --mount=type=secret,id=p,env=P htpasswd -bc /auth/htpasswd admin "$P"'),
        {"p": "P"}, "secret-reach",
    ),
    "git-config-unset-leaves-header": (
        PASS["git-config-remove-section"][0],
        PASS["git-config-remove-section"][1].replace('--remove-section url."https://${GH_TOKEN}@github.com/"',
                                                     '--unset url."https://${GH_TOKEN}@github.com/".insteadOf'),
        {"gh_token": "GH_TOKEN"}, "secret-reach",
    ),
    "clone-without-cleanup": (
        PASS["git-clone-cleanup"][0],
        lines("FROM alpine", "RUN --mount=type=secret,id=github_token,env=GITHUB_TOKEN git clone https://${GITHUB_TOKEN}@github.com/example/lib.git /src/lib"),
        {"github_token": "GITHUB_TOKEN"}, "secret-reach",
    ),
    "htpasswd-run-deleted": (
        lines("FROM httpd", "ARG P", 'RUN mkdir -p /auth && htpasswd -bc /auth/htpasswd admin "$P"', "RUN echo ok > /ok"),
        lines("FROM httpd", "RUN echo ok > /ok"),
        {"p": "P"}, "image-file",
    ),
    "non-secret-env-dropped": (
        lines("FROM node:20", "ARG NPM_TOKEN", "ENV NODE_ENV=production", "RUN npm ci"),
        lines("FROM node:20", "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci"),
        NPM, "value",
    ),
    "second-stage-lost-mount": (
        PASS["two-stages-same-secret"][0],
        PASS["two-stages-same-secret"][1].replace(
            'RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "t=${NPM_TOKEN}" > /root/.npmrc', 'RUN echo "t=${NPM_TOKEN}" > /root/.npmrc'),
        NPM, "value",
    ),
    "onbuild-lost-mount": (
        PASS["onbuild-run"][0],
        PASS["onbuild-run"][1].replace("--mount=type=secret,id=npm_token,env=NPM_TOKEN ", ""),
        NPM, "value",
    ),
    "child-stage-alias-lost": (
        PASS["child-stage-inherits-alias"][0],
        lines("FROM alpine AS base", "", "FROM base", "RUN --mount=type=secret,id=gh_token,env=GH_TOKEN ./fetch.sh"),
        {"gh_token": "GH_TOKEN"}, "value",
    ),
    "fold-write-not-repeated": (
        PASS["fold-into-consumer"][0],
        lines("FROM node:20", "WORKDIR /app", "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci"),
        NPM, "value",
    ),
    "run-dropped": (
        lines("FROM alpine", "ARG APP=1", "RUN apk add curl", "RUN echo $APP > /v"),
        lines("FROM alpine", "ARG APP=1", "RUN echo $APP > /v"),
        {}, "value",
    ),
    "rewrite-does-not-parse": (
        PASS["env-mount"][0],
        "FROM node:20\nRUN <<EOF\nnpm ci\n",
        NPM, "parse",
    ),
    "envsubst-into-file": (
        lines("FROM alpine", "ARG TOKEN", "COPY cfg.tpl /cfg.tpl", "RUN envsubst < /cfg.tpl > /etc/cfg"),
        lines("FROM alpine", "COPY cfg.tpl /cfg.tpl", "RUN --mount=type=secret,id=token,env=TOKEN envsubst < /cfg.tpl > /etc/cfg"),
        {"token": "TOKEN"}, "secret-reach",
    ),
    "secret-file-copied": (
        lines("FROM alpine", "ARG NPMRC", 'RUN echo "$NPMRC" > /root/.npmrc && npm ci && rm /root/.npmrc'),
        lines("FROM alpine", "RUN --mount=type=secret,id=npmrc,target=/run/secrets/npmrc export NPMRC=\"$(cat /run/secrets/npmrc)\" && "
                             "cp /run/secrets/npmrc /root/.npmrc && npm ci"),
        {"npmrc": "NPMRC"}, "secret-reach",
    ),
    "npm-config-not-deleted": (
        PASS["npm-config-set-deleted"][0],
        PASS["npm-config-set-deleted"][1].replace(" && npm config delete //registry.npmjs.org/:_authToken && rm -rf ~/.npm/_logs", ""),
        NPM, "secret-reach",
    ),
    "docker-login-no-logout": (
        PASS["docker-login-logout"][0],
        PASS["docker-login-logout"][1].replace(" && docker logout r.example.com", ""),
        {"registry_password": "REGISTRY_PASSWORD"}, "secret-reach",
    ),
    "bash-heredoc-lost-mount": (
        PASS["bash-heredoc-script"][0],
        PASS["bash-heredoc-script"][1].replace("--mount=type=secret,id=npm_token,env=NPM_TOKEN ", ""),
        NPM, "value",
    ),
    "curl-pipe-sh-lost-mount": (
        lines("FROM alpine", "ARG DEPLOY_TOKEN", "RUN curl -fsSL https://example.com/install.sh | sh"),
        lines("FROM alpine", "RUN curl -fsSL https://example.com/install.sh | sh"),
        {"deploy_token": "DEPLOY_TOKEN"}, "value",
    ),
    "deeply-nested-lost-mount": (
        PASS["deeply-nested-composite"][0],
        PASS["deeply-nested-composite"][1].replace("--mount=type=secret,id=npm_token,env=NPM_TOKEN ", ""),
        NPM, "value",
    ),
    "deferred-npmrc-text": (  # '${NPM_TOKEN}' written literally into .npmrc; npm expands it later
        lines("FROM node:20", "ARG NPM_TOKEN", "RUN echo '//registry.npmjs.org/:_authToken=${NPM_TOKEN}' > /root/.npmrc",
              "RUN npm ci --ignore-scripts"),
        lines("FROM node:20", "RUN echo '//registry.npmjs.org/:_authToken=${NPM_TOKEN}' > /root/.npmrc", "RUN npm ci --ignore-scripts"),
        NPM, "value",
    ),
    "heredoc-write-left": (
        lines("FROM node:20", "ARG NPM_TOKEN", "RUN cat <<EOF > /root/.npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}", "EOF",
              "RUN npm ci"),
        lines("FROM node:20", "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN cat <<EOF > /root/.npmrc",
              "//registry.npmjs.org/:_authToken=${NPM_TOKEN}", "EOF", "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci"),
        NPM, "secret-reach",
    ),
    "ssh-mount-missing": (
        PASS["ssh-key-to-ssh-mount"][0],
        PASS["ssh-key-to-ssh-mount"][1].replace("--mount=type=ssh ", ""),
        {}, "value",
    ),
    "ssh-key-read-by-a-script": (  # a script could read the key file itself: the agent is no substitute
        PASS["ssh-key-to-ssh-mount"][0].replace("RUN go mod download", "RUN ./deploy.sh"),
        PASS["ssh-key-to-ssh-mount"][1].replace("RUN --mount=type=ssh go mod download", "RUN --mount=type=ssh ./deploy.sh"),
        {}, "value",
    ),
}

UNDECIDABLE = {
    "npm-run-build": "npm run build",
    "script": "./build.sh",
    "make": "make",
    "bundle-exec-rake": "bundle exec rake assets:precompile",
    "sh-script": "sh /usr/local/bin/fetch.sh",
    "npm-ci": "npm ci",
    "pip-install-local": "pip install -e .",
    "python": "python3 setup.py build",
}
# a quoted or escaped ~ is not HOME: the file written is /app/~/.npmrc, the one removed /root/.npmrc
for _name, _target in (("quoted", '"~/.npmrc"'), ("escaped", "\\~/.npmrc")):
    MUTANTS[f"{_name}-tilde-is-not-home"] = (
        PASS["fold-into-consumer"][0],
        lines("FROM node:20", "WORKDIR /app",
              f'RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo "t=${{NPM_TOKEN}}" > {_target} && npm ci && rm -f ~/.npmrc'),
        NPM, "secret-reach",
    )
for _name, _cmd in UNDECIDABLE.items():
    MUTANTS[f"undecidable-{_name}"] = (
        lines("FROM node:20", "ARG DEPLOY_TOKEN", f"RUN {_cmd}"),
        lines("FROM node:20", f"RUN {_cmd}"),
        {"deploy_token": "DEPLOY_TOKEN"}, "value",
    )


@pytest.mark.parametrize("original,rewritten,secrets,kind", list(MUTANTS.values()), ids=list(MUTANTS))
def test_broken_rewrites_are_caught(original: str, rewritten: str, secrets: dict, kind: str) -> None:
    res = check_rewrite(original, rewritten, secrets)
    assert not res.ok
    assert kind in kinds(res), [(v.kind, v.message) for v in res.violations]
    for v in res.violations:
        assert re.match(rf"line {v.line}: ", v.message), v.message


@pytest.mark.parametrize("name", list(UNDECIDABLE))
def test_undecidable_runs_listed(name: str) -> None:
    orig, new, secrets, _ = MUTANTS[f"undecidable-{name}"]
    assert check_rewrite(orig, new, secrets).undecidable == (3,)
    # mounted, the same rewrite is fine
    fixed = new.replace("RUN ", "RUN --mount=type=secret,id=deploy_token,env=DEPLOY_TOKEN ")
    assert check_rewrite(orig, fixed, secrets).ok


def test_value_message_names_structure_not_text() -> None:
    orig, new, secrets, _ = MUTANTS["alias-dropped-not-rebuilt"]
    res = check_rewrite(orig, new, secrets)
    msgs = [v.message for v in res.violations if v.kind == "value"]
    assert any(m.startswith("line 5: RUN reads C (literal(7 chars) + secret A_TOKEN) but after the rewrite") for m in msgs), msgs
    assert any("B of the base image" in m for m in msgs), msgs


def test_image_file_removal_allowed_when_declared() -> None:
    orig, new, secrets, _ = MUTANTS["htpasswd-run-deleted"]
    res = check_rewrite(orig, new, secrets, allowed_removals=["/auth/htpasswd", "/auth"])
    assert "image-file" not in kinds(res)
    assert res.removed_files == ("/auth", "/auth/htpasswd")


def test_allowed_removals_resolve_home_and_workdir() -> None:
    orig = lines("FROM ubuntu", "ARG T", "USER app", "WORKDIR /w", 'RUN echo "$T" > ~/.tok && echo x > rel.txt', "RUN ./use.sh")
    new = lines("FROM ubuntu", "USER app", "WORKDIR /w",
                'RUN --mount=type=secret,id=t,env=T echo "$T" > ~/.tok && echo x > rel.txt && ./use.sh && rm -f ~/.tok rel.txt')
    assert kinds(check_rewrite(orig, new, {"t": "T"})) == {"image-file"}
    res = check_rewrite(orig, new, {"t": "T"}, allowed_removals=["~/.tok", "rel.txt"])
    assert res.ok and res.removed_files == ("/w/rel.txt", "/~app/.tok")  # (app's HOME: whatever /etc/passwd says)


def test_requirements_file_not_seen_is_unknown() -> None:
    orig = lines("FROM python:3.12", "ARG REPO_TOKEN", "ARG OTHER", "COPY req.txt .", "RUN pip install -r req.txt")
    new = lines("FROM python:3.12", "ARG OTHER", "COPY req.txt .", "RUN pip install -r req.txt")
    secrets = {"repo_token": "REPO_TOKEN"}
    assert check_rewrite(orig, new, secrets, context_files={"req.txt": "lib==1\n"}).ok  # names no variable
    assert "value" in kinds(check_rewrite(orig, new, secrets, context_files={"req.txt": "--index-url https://u:${REPO_TOKEN}@x\n"}))
    assert "value" in kinds(check_rewrite(orig, new, secrets, context_files={}))  # not seen: any variable


def test_file_secret_copy_is_an_allowed_removal() -> None:
    orig = lines("FROM node:20", "WORKDIR /app", "COPY .npmrc package.json ./", "RUN npm ci", "RUN echo built > /app/done")
    new = lines("FROM node:20", "WORKDIR /app", "COPY package.json ./", "RUN --mount=type=secret,id=npmrc,target=/app/.npmrc npm ci",
                "RUN echo built > /app/done")
    res = check_rewrite(orig, new, {}, file_secrets={"npmrc": ".npmrc"})
    assert res.ok, [v.message for v in res.violations]
    assert res.removed_files == ("/app/.npmrc",)
    res = check_rewrite(orig, new, {})  # not declared as a file secret: the removal is a violation
    assert kinds(res) == {"image-file"}


def test_rewrite_keeps_what_the_original_keeps() -> None:
    orig = lines("FROM alpine", "ARG T", 'RUN curl -H "X: $T" -o /opt/tool.tgz https://x && touch /opt/ready')
    new = lines("FROM alpine", 'RUN --mount=type=secret,id=t,env=T curl -H "X: $T" -o /opt/tool.tgz https://x')
    res = check_rewrite(orig, new, {"t": "T"})
    assert [(v.kind, v.line) for v in res.violations] == [("image-file", 3)]  # /opt/ready is gone (and the RUN was edited)


def test_context_files_decide_npmrc_reads() -> None:
    orig = lines("FROM node:20", "ARG NPM_TOKEN", "ARG OTHER", "COPY .npmrc ./", "RUN npm ci --ignore-scripts")
    new = lines("FROM node:20", "ARG OTHER", "COPY .npmrc ./", "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci --ignore-scripts")
    ctx = {".npmrc": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"}
    res = check_rewrite(orig, new, NPM, context_files=ctx)
    assert res.ok and res.undecidable == ()
    dropped = new.replace("--mount=type=secret,id=npm_token,env=NPM_TOKEN ", "")
    assert "value" in kinds(check_rewrite(orig, dropped, NPM, context_files=ctx))
    # the .npmrc does not name the token: npm (scripts off) does not read it
    assert check_rewrite(orig, dropped, NPM, context_files={".npmrc": "registry=https://r\n"}).ok
    # unknown context: any variable may be in the .npmrc
    assert check_rewrite(orig, dropped, NPM).undecidable == (5,)


def test_multistage_strategy() -> None:
    orig = lines("FROM node:20 AS app", "ARG NPM_TOKEN", "ENV NODE_ENV=production", "WORKDIR /app", "COPY package.json ./",
                 'RUN echo "t=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc', "COPY server.js ./")
    new = lines("FROM node:20 AS app-base", "ENV NODE_ENV=production", "WORKDIR /app", "COPY package.json ./", "",
                "FROM app-base AS app-builder", "ARG NPM_TOKEN", 'RUN echo "t=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc', "",
                "FROM app-base AS app", "COPY --from=app-builder /app/node_modules /app/node_modules", "COPY server.js ./")
    assert check_rewrite(orig, new, NPM, strategy="multistage").ok
    leak = new.replace("&& rm .npmrc", "").replace("/app/node_modules /app/node_modules", "/app /app")
    res = check_rewrite(orig, leak, NPM, strategy="multistage")
    assert "secret-reach" in kinds(res), [v.message for v in res.violations]
    in_final = new.replace("FROM app-base AS app\n", "FROM app-base AS app\nARG NPM_TOKEN\n")
    assert "secret-reach" in kinds(check_rewrite(orig, in_final, NPM, strategy="multistage"))
    # the mount strategy forbids the builder's ARG too
    assert "secret-reach" in kinds(check_rewrite(orig, new, NPM, strategy="mount"))


def test_original_that_does_not_parse() -> None:
    res = check_rewrite("RUN <<EOF\n", "FROM a\n", {})
    assert [v.kind for v in res.violations] == ["parse"]


# --------------------------------------------------------------------------------------------
# Shell layer


@pytest.mark.parametrize(
    "script,expected",
    [
        ("a && b > f", [("a", []), ("b", ["> f"])]),
        ("a && b | tee f", [("a", []), ("b", []), ("tee", [])]),
        ("sh -c 'echo $X > /q'", [("sh", []), ("echo", ["> /q"])]),
    ],
    ids=["redirect-binds-last", "pipe-binds-tighter", "sh-c-nested"],
)
def test_shell_flattening(script: str, expected: list) -> None:
    s = parse_script(script)
    assert [(c.name, [c.text(r) for r in c.redirects]) for c in s.cmds] == expected


def test_shell_pipe_and_conditions() -> None:
    s = parse_script("a || rm x; [ -d d ] || rm d; echo $T | docker login --password-stdin; exit 0; rm y")
    by = [(c.name, c.cond, c.dead, c.pipe_prev.name if c.pipe_prev else None) for c in s.cmds]
    # an rm after `[ … ] ||` may not run: it names the test that skips it (cleaning only what that test finds absent)
    assert by == [("a", False, False, None), ("rm", True, False, None), ("[", False, False, None), ("rm", True, False, None),
                  ("echo", False, False, None), ("docker", False, False, "echo"), ("exit", False, False, None), ("rm", False, True, None)]
    assert s.cmds[3].unless is s.cmds[2] and s.cmds[1].unless is None


@pytest.mark.parametrize(
    "argv,kind",
    [
        (["npm", "ci"], "all"), (["npm", "ci", "--ignore-scripts"], "tool"), (["npm", "config", "set", "k", "v"], "tool"),
        (["yarn"], "all"), (["pnpm", "fetch"], "tool"), (["pip", "install", "-r", "r.txt"], "tool"), (["pip", "install", "."], "all"),
        (["python3", "-m", "pip", "install", "x"], "tool"), (["./build.sh"], "all"), (["/usr/bin/git", "clone", "u"], "tool"),
        (["sudo", "-u", "node", "make"], "all"), (["env", "A=1", "curl", "x"], "tool"), (["env"], "dump"), (["go", "generate"], "all"),
        (["cargo", "fetch"], "tool"), (["apt-get", "install", "-y", "x"], "blind"), (["find", ".", "-exec", "./x", ";"], "all"),
        (["awk", "BEGIN{print ENVIRON[\"X\"]}"], "all"), (["frobnicate"], "all"), (["bundle", "exec", "rake"], "all"),
    ],
    ids=lambda x: " ".join(x) if isinstance(x, list) else x,
)
def test_classify(argv: list, kind: str) -> None:
    assert classify(unwrap(argv)).kind == kind


# --------------------------------------------------------------------------------------------
# Property: dropping any one secret mount from a RUN that uses the secret is caught

_MOUNT = re.compile(r" ?--mount=type=secret,[^ \t]*")
_WITH_MOUNTS = [k for k, (o, n, s) in PASS.items() if _MOUNT.search(n) and s]


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(_WITH_MOUNTS), data=st.data())
def test_dropping_a_mount_is_always_caught(name: str, data) -> None:
    orig, new, secrets = PASS[name]
    spots = list(_MOUNT.finditer(new))
    m = data.draw(st.sampled_from(spots))
    mutated = new[: m.start()] + new[m.end() :]
    res = check_rewrite(orig, mutated, secrets)
    assert not res.ok, (name, mutated)


# --------------------------------------------------------------------------------------------
# A migrated ARG's committed default leaves with the ARG; a copy committed on its own may stay
# (the fuzz case of tests/test_fuzz_shapes.py: `ARG NPM_TOKEN=<c>` beside `ENV GITHUB_TOKEN=<c>`)

DEFAULT = _canary(CANARY_FORMATS[0], 20)  # a GitHub-format canary, generated (never a real token)
MOUNTED = "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci"


@pytest.mark.parametrize("original,rewritten", [
    (lines("FROM node:20", "ARG NPM_TOKEN={c}", "RUN npm ci"), lines("FROM node:20", "ENV NPM_TOKEN={c}", MOUNTED)),
    (lines("FROM node:20", "ARG NPM_TOKEN={c}", "RUN npm ci"),
     lines("FROM node:20", "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN echo {c} > /etc/t && npm ci")),
    (lines("FROM node:20", "ARG NPM_TOKEN={c}", "ENV GITHUB_TOKEN=${NPM_TOKEN}", "RUN apt-get update"),
     lines("FROM node:20", "ENV GITHUB_TOKEN={c}", "RUN apt-get update")),  # the ENV's copy inlined: no RUN reads it
    (lines("ARG NPM_TOKEN={c}", "FROM node:20", "ARG NPM_TOKEN", "RUN npm ci"), lines("FROM node:20", "# {c}", MOUNTED)),
    (lines("FROM node:20", 'ONBUILD ARG NPM_TOKEN="{c}"', "RUN npm ci"), lines("FROM node:20", "LABEL t={c}", MOUNTED)),
    (lines("FROM node:20", "ENV GITHUB_TOKEN={c}", "ARG NPM_TOKEN={c}", "RUN npm ci"),  # one copy of its own, two kept
     lines("FROM node:20", "ENV GITHUB_TOKEN={c}", "ENV NPM_TOKEN={c}", MOUNTED)),
], ids=["kept-as-env", "kept-in-run", "inlined-into-env", "global-default-in-comment", "onbuild-default-as-label", "one-copy-too-many"])
def test_a_migrated_default_left_in_the_rewrite_is_caught(original: str, rewritten: str) -> None:
    res = check_rewrite(original.replace("{c}", DEFAULT), rewritten.replace("{c}", DEFAULT), NPM)
    kept = [v for v in res.violations if v.kind == "secret-reach" and "committed default of secret NPM_TOKEN" in v.message]
    assert kept, [(v.kind, v.message) for v in res.violations]
    assert all(DEFAULT not in v.message and DEFAULT[4:16] not in v.message for v in res.violations)
    assert re.match(rf"line {kept[0].line}: ", kept[0].message)


@pytest.mark.parametrize("original,rewritten", [
    # the fuzz case: the ENV holds the same credential as a literal of its own (DF003 on its line)
    (lines("ARG NPM_TOKEN", "FROM node:20", "ARG NPM_TOKEN", "ENV GITHUB_TOKEN={c}", "ARG NPM_TOKEN={c}", "RUN npm ci"),
     lines("FROM node:20", "ENV GITHUB_TOKEN={c}", MOUNTED)),
    (lines("FROM node:20", "# token: {c}", "ARG NPM_TOKEN={c}", "RUN npm ci"), lines("FROM node:20", "# token: {c}", MOUNTED)),
    # a placeholder default may reappear as text the rewrite adds (the secret id)
    (lines("FROM node:20", "ARG NPM_TOKEN=npm_token", "RUN npm ci"), lines("FROM node:20", MOUNTED)),
])
def test_a_copy_committed_on_its_own_may_stay(original: str, rewritten: str) -> None:
    res = check_rewrite(original.replace("{c}", DEFAULT), rewritten.replace("{c}", DEFAULT), NPM)
    assert res.ok, [(v.kind, v.message) for v in res.violations]


def test_dfix_migrates_the_arg_and_reports_the_copy_it_keeps(tmp_path: Path) -> None:
    """The minimal input of the fuzz failure: the migrated ARG's default is gone, the ENV's own copy
    of the same credential stays, reported as DF003 on its line and masked in every output; the ARG
    fix is unsafe (its default is removed), so only --unsafe-fixes applies it."""
    text = lines("ARG NPM_TOKEN", "FROM node:20", "ARG NPM_TOKEN", f"ENV GITHUB_TOKEN={DEFAULT}", f"ARG NPM_TOKEN={DEFAULT}",
                 'RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > /root/.npmrc', "RUN npm ci")
    p = tmp_path / "Dockerfile"
    p.write_text(text)
    safe = _run_dfix(["--write", "--format", "json", "Dockerfile"], tmp_path)
    assert p.read_text() == text and not safe["files"][0]["changed"]  # no safe fix claims it
    out, err = io.StringIO(), io.StringIO()
    from refactor.cli import main

    with redirect_stdout(out), redirect_stderr(err):
        main(["--diff", "--unsafe-fixes", str(p)])
    doc = _run_dfix(["--write", "--unsafe-fixes", "--format", "json", "Dockerfile"], tmp_path)
    findings = doc["files"][0]["findings"]
    new = p.read_text()
    assert {f["variable"] for f in findings if f["code"] == "DF001" and f["fix"]["applied"]} == {"NPM_TOKEN"}
    assert "ARG NPM_TOKEN" not in new and new.count(DEFAULT) == 1 and f"ENV GITHUB_TOKEN={DEFAULT}" in new
    assert "id=npm_token" in new
    assert any(f["code"] == "DF003" and f["line"] == 4 for f in findings), findings
    printed = out.getvalue() + err.getvalue() + json.dumps(doc)
    assert DEFAULT not in printed and DEFAULT[4:16] not in printed


# --------------------------------------------------------------------------------------------
# Message hygiene: values never appear

CANARY = "npm_abcdefghijklmnopqrstuvwxyz0123456789"


def test_messages_never_hold_values() -> None:
    orig = lines(
        "FROM node:20 AS base",
        f"ARG NPM_TOKEN={CANARY}",
        "ENV DB_URL=postgres://admin:hunter2pw@db/x",
        'ENV AUTH="Bearer ${NPM_TOKEN}"',
        "ENV PLAIN=hunter3plain",
        'RUN curl -H "Authorization: $AUTH" -u "u:$DB_URL" -o /tmp/x https://x && echo $PLAIN > /p',
        "RUN make",
        "FROM base",
        "RUN ./build.sh",
    )
    broken = [
        lines("FROM node:20 AS base", f"ARG NPM_TOKEN={CANARY}", "ENV AUTH=x", "RUN curl -o /tmp/x https://x", "FROM base", "RUN true"),
        lines("FROM node:20 AS base", 'RUN export AUTH="Bearer ${NPM_TOKEN}" && curl -H "Authorization: $AUTH" -u "u:$DB_URL" -o /tmp/x https://x',
              "FROM base", f"ENV LEAK={CANARY}", "RUN ./build.sh"),
        lines("FROM node:20 AS base", "ENV DB_URL=postgres://admin:hunter2pw@db/y", "RUN make", "FROM base"),
    ]
    for new in broken:
        res = check_rewrite(orig, new, NPM)
        assert not res.ok
        for v in res.violations:
            for secret in (CANARY, "hunter2pw", "hunter3plain", "Bearer", "admin"):
                assert secret not in v.message, v.message


def test_violation_and_result_types() -> None:
    v = Violation("value", 3, "line 3: x")
    assert CheckResult((v,), (), ()).ok is False and CheckResult((), (), ()).ok is True


# --------------------------------------------------------------------------------------------
# The check stays independent of the planner

REPO = Path(__file__).resolve().parent.parent
_PLANNER_FACES = {
    "refactor.analyze",
    "refactor.analysis.facts",
    "refactor.analysis.implicit",
    "refactor.analysis.shell",
    "refactor.multistage",
    *(
        f"refactor.fixes.{m}"
        for m in ("plan", "mounts", "layer_files", "ssh", "clones", "credential_copies", "edits", "apply", "split_apply")
    ),
}
# with their parts (``refactor/multistage_outputs.py`` is part of ``refactor.multistage``)
PLANNER = _PLANNER_FACES | {
    f"{face.rpartition('.')[0]}.{p.stem}"
    for face in _PLANNER_FACES
    for p in REPO.joinpath(*face.split(".")[:-1]).glob(face.rpartition(".")[2] + "_*.py")
}


def _module_file(name: str) -> Path | None:
    base = REPO.joinpath(*name.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def _imports_of(name: str, path: Path) -> set[str]:
    """Every refactor module ``path`` imports (anywhere in the file, TYPE_CHECKING blocks and
    function-level imports included), with the packages whose ``__init__`` that import runs."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            found = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for m in found:
            parts = m.split(".")
            for i in range(1, len(parts) + 1):
                sub = ".".join(parts[:i])
                if sub.startswith("refactor") and _module_file(sub) is not None:
                    out.add(sub)
    return out


def test_the_check_imports_nothing_of_the_planner() -> None:
    """check.py and its parts (check_*.py, _check_shell*.py) reach none of the planner's modules,
    directly or through any module of refactor/ they import (the check is a second opinion)."""
    fixes = REPO / "refactor" / "fixes"
    roots = {f"refactor.fixes.{p.stem}" for pat in ("check.py", "check_*.py", "_check_shell*.py") for p in fixes.glob(pat)}
    assert {"refactor.fixes.check", "refactor.fixes._check_shell"} <= roots
    seen: dict[str, str | None] = dict.fromkeys(roots)
    todo = sorted(roots)
    while todo:
        name = todo.pop()
        path = _module_file(name)
        assert path is not None, name
        for dep in sorted(_imports_of(name, path)):
            if dep not in seen:
                seen[dep] = name
                todo.append(dep)
    reached = {}
    for bad in PLANNER & set(seen):
        chain, m = [bad], seen[bad]
        while m is not None:
            chain.append(m)
            m = seen[m]
        reached[bad] = " <- ".join(chain)
    assert not reached, reached


# --------------------------------------------------------------------------------------------
# Every golden rewrite passes the check

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
CASES = sorted(p for p in GOLDEN.iterdir() if (p / "case.toml").is_file()) if GOLDEN.is_dir() else []
# planner behaviours the check rejects (see the report of tests/test_rewrite_check.py)
KNOWN: dict[str, str] = {
    # case name -> why the check rejects the planner's rewrite (a real bug class); none at present.
    # (Before b74328b the ssh-key cases were rewritten to --mount=type=ssh and failed "value": the RUN
    # that wrote the key no longer read it.)
}


def _run_dfix(args: list[str], cwd: Path) -> dict:
    from refactor.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main(args)
    finally:
        os.chdir(old)
    return json.loads(out.getvalue())


def _golden_params():
    for case in CASES:
        with open(case / "case.toml", "rb") as fh:
            meta = tomllib.load(fh)
        if meta.get("skip_harness") or meta.get("target", "Dockerfile") == "." or meta.get("errors"):
            continue  # (a case that does not parse has no rewrite to check)
        marks = [pytest.mark.xfail(reason=KNOWN[case.name], strict=True)] if case.name in KNOWN else []
        yield pytest.param(case, meta, id=case.name, marks=marks)


@pytest.mark.parametrize("case,meta", list(_golden_params()))
def test_golden_rewrites_pass_check(case: Path, meta: dict, tmp_path: Path) -> None:
    from refactor.analyze import Options, analyze  # the planner, only to learn what the fix declares
    from refactor.source import SourceFile

    target = meta.get("target", "Dockerfile")
    for p in case.rglob("*"):
        rel = p.relative_to(case)
        if p.is_file() and rel.parts[0] != "expected" and rel.name != "case.toml":
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(p, tmp_path / rel)
    original = (tmp_path / target).read_text(encoding="utf-8")
    args = list(meta.get("args", ["--write"]))
    doc = _run_dfix(args + ["--format", "json", target], tmp_path)
    fd = next(f for f in doc["files"] if f["kind"] == "dockerfile")
    rewritten = (tmp_path / target).read_text(encoding="utf-8")
    strategy = "multistage" if "multistage" in args else "mount"
    secrets, file_secrets, allowed = {}, {}, set()
    if fd["changed"]:
        if strategy == "multistage":  # the builder keeps the build arg
            secrets = {n.lower(): n for n in meta.get("secrets", [])}
        else:
            secrets = {s["id"]: s["env"] for s in fd["build"]["secrets"] if s["type"] == "env"}
            file_secrets = {s["id"]: s["src"] for s in fd["build"]["secrets"] if s["type"] == "file"}
            analysis = analyze(SourceFile.from_text(target, original), Options(context_dir=str(tmp_path)))
            # the fix declares the credential files it folds ("runtime: … is no longer in the image")
            allowed = {f.write.path for p in analysis.plans for f in p.folds}
    context = {str(p.relative_to(tmp_path)): p.read_text(encoding="utf-8", errors="replace")
               for p in tmp_path.rglob("*") if p.is_file() and p.name != target}
    res = check_rewrite(original, rewritten, secrets, file_secrets=file_secrets, context_files=context,
                        allowed_removals=allowed, strategy=strategy)
    assert res.ok, [(v.kind, v.message) for v in res.violations]
    # without the context the check is more conservative, never less
    assert check_rewrite(original, rewritten, secrets, file_secrets=file_secrets, allowed_removals=allowed,
                         strategy=strategy).ok


def test_the_check_reads_a_tilde_in_workdir_and_copy_literally() -> None:
    """BuildKit does no shell expansion in WORKDIR or a COPY destination: ``~`` is a directory
    called ``~`` (moby/buildkit#6937), so the check must not take ``COPY .npmrc ~/.npmrc`` for HOME."""
    from refactor.fixes.check_model import _Model
    from refactor.source import SourceFile
    from refactor.syntax.dockerfile import parse

    text = "FROM node:20\nWORKDIR ~\nCOPY a ~/.npmrc\nWORKDIR /app\nCOPY b ~/.pypirc\nRUN touch ~/x\n"
    model = _Model(parse(SourceFile.from_text("Dockerfile", text)), {}, {"a": "x", "b": "y"})
    files = set(model.stages[-1].files.paths)
    assert {"/~", "/~/~/.npmrc", "/app/~/.pypirc", "/root/x"} <= files, files
    assert not {"/root/.npmrc", "/root/.pypirc"} & files

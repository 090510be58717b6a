"""Canary secrets planted in every position never appear in any output format."""

from __future__ import annotations

import secrets

import pytest

from helpers import run


def _canaries():
    rnd = secrets.token_hex(8)
    return {
        "ghp": "ghp_" + secrets.token_urlsafe(27)[:36].replace("-", "a").replace("_", "b"),
        "url": f"s3cr3t{rnd}",
        "env": f"envcanary{rnd}",
        "glpat": "glpat-" + secrets.token_hex(10),
    }


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "markdown", "gitlab", "checkstyle", "junit"])
@pytest.mark.parametrize("mode", [[], ["--diff"], ["--check"], ["--write"], ["--write", "--unsafe-fixes"], ["--diff", "--unsafe-fixes"]])
def test_no_canary_in_any_output(tmp_path, fmt, mode) -> None:
    c = _canaries()
    df = (
        "FROM ubuntu:22.04\n"
        f"ARG GITHUB_TOKEN={c['ghp']}\n"
        f"ARG PIP_INDEX_URL=https://user:{c['url']}@pypi.example.com/simple\n"
        f"ENV DB_PASSWORD={c['env']}\n"
        f"ARG GITLAB_TOKEN={c['glpat']}\n"
        "RUN git clone https://${GITHUB_TOKEN}@github.com/x/y && pip install z\n"
        "RUN curl -H \"PRIVATE-TOKEN: $GITLAB_TOKEN\" https://gitlab.example.com/x\n"
    )
    p = tmp_path / "Dockerfile"
    p.write_text(df)
    code, out, err = run(mode + ["--format", fmt, "--emit", "docker", "--emit", "github", "--verbose", str(p)])
    leaked = [k for k, v in c.items() if v in out or v in err]
    assert not leaked, f"canaries {leaked} appeared in {fmt} output (mode {mode})"
    if "--write" in mode and "--unsafe-fixes" in mode:
        written = p.read_text()
        assert c["ghp"] not in written and c["glpat"] not in written


def test_error_messages_never_echo_content(tmp_path) -> None:
    c = "ghp_" + secrets.token_hex(18)
    p = tmp_path / "Dockerfile"
    p.write_bytes(f"FROM a\nRUN <<EOF\necho {c}\n".encode() + b"\xff")
    code, out, err = run([str(p)])
    assert code == 2 and c not in out and c not in err


def test_token_formats_are_masked_whatever_the_findings(tmp_path) -> None:
    """A literal in a known credential format is never printed, even where no rule flags it: in
    diff context, in the flatten recipe (which reads the config at run time and holds no value) and in
    SARIF fixes."""
    import json as _json
    import random as _random
    import string as _string

    from helpers import run

    rng = _random.Random(7)
    token = "ghp_" + "".join(rng.choice(_string.ascii_letters + _string.digits) for _ in range(36))
    bearer = "".join(rng.choice(_string.ascii_letters + _string.digits) for _ in range(24))
    (tmp_path / "Dockerfile").write_text(
        f'FROM node:20\nLABEL vcs.token="{token}"\nARG NPM_TOKEN\n'
        f'RUN curl -fsS -H "Authorization: Bearer {bearer}" https://x.example/a -o /a\nRUN npm ci\n'
    )
    for args in (["--diff"], ["--diff", "--emit", "flatten"], ["--format", "json", "--emit", "flatten"],
                 ["--format", "sarif"], ["--format", "markdown"], ["--write", "--format", "json"],
                 ["--format", "sarif", "--unsafe-fixes"], ["--format", "gitlab"], ["--format", "checkstyle"],
                 ["--format", "junit"]):
        code, out, err = run(args + ["Dockerfile"], cwd=tmp_path)
        assert token not in out + err and bearer not in out + err, args
    # nothing was lost: the file still holds both values
    text = (tmp_path / "Dockerfile").read_text()
    assert token in text and bearer in text


def test_a_secret_committed_in_a_caller_variable_is_masked_and_reported(tmp_path) -> None:
    import subprocess as _sp

    from helpers import run

    value_sh, value_mk = "lit-5Gd8QwZrT1x", "lit-7Hk2PqLmN4y"
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n")
    (tmp_path / "build.sh").write_text(f'#!/bin/sh\ntoken="{value_sh}"\ndocker build --build-arg NPM_TOKEN="$token" svc\n')
    (tmp_path / "Makefile").write_text(f"TOKEN ?= {value_mk}\nbuild:\n\tdocker build --build-arg NPM_TOKEN=$(TOKEN) svc\n")
    _sp.run(["git", "init", "-q", str(tmp_path)], check=True)
    for args in ([], ["--diff"], ["--format", "markdown"], ["--format", "sarif"], ["--format", "json", "--check"],
                 ["--format", "gitlab"], ["--format", "checkstyle"], ["--format", "junit"]):
        code, out, err = run(args + ["."], cwd=tmp_path)
        assert value_sh not in out + err and value_mk not in out + err, args
    code, out, err = run(["."], cwd=tmp_path)
    assert out.count("is assigned a committed literal in this file") == 2


@pytest.mark.parametrize("name,text", [
    (".gitlab-ci.yml", 'variables:\n  NPM_TOKEN: "{v}"\nbuild:\n  script:\n    - docker build --build-arg NPM_TOKEN=$NPM_TOKEN svc\n'),
    (".github/workflows/ci.yml", "on: push\nenv:\n  NPM_TOKEN: {v}\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
                                 "      - run: docker build --build-arg NPM_TOKEN=${{{{ env.NPM_TOKEN }}}} svc\n"),
    ("docker-bake.hcl", 'variable "NPM_TOKEN" {{\n  default = "{v}"\n}}\ntarget "app" {{\n  context = "svc"\n'
                        "  args = {{ NPM_TOKEN = NPM_TOKEN }}\n}}\n"),
])
def test_a_secret_committed_in_ci_or_bake_variables_is_masked(tmp_path, name, text) -> None:
    import subprocess as _sp

    from helpers import run

    value = "lit-9Pq3Wx7Lm2Kd"
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n")
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text.format(v=value))
    _sp.run(["git", "init", "-q", str(tmp_path)], check=True)
    for args in ([], ["--diff"], ["--format", "markdown"], ["--format", "sarif"], ["--format", "json", "--check"],
                 ["--format", "gitlab"], ["--format", "checkstyle"], ["--format", "junit"]):
        code, out, err = run(args + ["."], cwd=tmp_path)
        assert value not in out + err, args
    code, out, err = run(["."], cwd=tmp_path)
    assert "committed literal" in out

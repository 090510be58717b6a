"""Use evidence (data flow) and mount scoping, through the CLI's JSON output."""

from __future__ import annotations

import json

import pytest

from helpers import run


def _findings(tmp_path, dockerfile: str, *extra: str) -> list[dict]:
    p = tmp_path / "Dockerfile"
    p.write_text(dockerfile)
    _code, out, _ = run(["--format", "json", *extra, str(p)])
    return json.loads(out)["files"][0]["findings"]


def _secret_vars(tmp_path, dockerfile: str) -> set[str]:
    return {f["variable"] for f in _findings(tmp_path, dockerfile) if f["secret"] and f["code"] == "DF001"}


FLAG = [
    pytest.param("ARG CREDS\nRUN curl -u \"$CREDS\" https://x.example.com/a", "CREDS", id="curl -u whole"),
    pytest.param("ARG BLOB\nRUN curl -u \"ci:$BLOB\" https://x.example.com/a", "BLOB", id="curl -u password half"),
    pytest.param("ARG K\nRUN pip install -i https://u:${K}@pypi.example.com/simple x", "K", id="URL password"),
    pytest.param("ARG VAL\nRUN curl -H \"Authorization: Bearer $VAL\" https://x.example.com", "VAL", id="Authorization header"),
    pytest.param("ARG VAL\nRUN curl -H \"X-JFrog-Art-Api: $VAL\" https://x.example.com", "VAL", id="JFrog header"),
    pytest.param("ARG VAL\nRUN curl -H \"PRIVATE-TOKEN: ${VAL}\" https://x.example.com", "VAL", id="GitLab header"),
    pytest.param("ARG P\nRUN docker login -u me -p \"$P\" registry.example.com", "P", id="docker login -p"),
    pytest.param("ARG P\nRUN echo \"$P\" | docker login -u me --password-stdin r.example.com", "P", id="password-stdin"),
    pytest.param("ARG T\nRUN echo \"//r.example.com/:_authToken=${T}\" > .npmrc && npm ci && rm .npmrc", "T", id=".npmrc authToken"),
    pytest.param("ARG T\nRUN echo \"machine h login u password $T\" > /root/.netrc && go mod download && rm /root/.netrc", "T", id="netrc password"),
    pytest.param("ARG CI_GIT_AUTH\nRUN git clone https://${CI_GIT_AUTH}@github.com/org/repo.git", "CI_GIT_AUTH", id="token as URL user (with a weak name)"),
    pytest.param("ARG V\nENV PIP_INDEX_URL=https://u:${V}@pypi.example.com/simple\nRUN pip install x", "V", id="composite ENV"),
]
NOFLAG = [
    pytest.param("ARG GIT_USER\nRUN git clone https://${GIT_USER}@git.example.com/org/repo.git", "GIT_USER", id="username-only URL"),
    pytest.param("ARG REPO_USER\nRUN curl -u \"$REPO_USER:pass\" https://x.example.com", "REPO_USER", id="curl -u user half"),
    pytest.param("ARG U\nARG PW\nRUN git clone https://$U:$PW@github.com/x", "U", id="URL username"),
    pytest.param("ARG HOSTNAME_X\nRUN curl https://$HOSTNAME_X/a", "HOSTNAME_X", id="URL host"),
    pytest.param("ARG REL\nRUN curl https://x.example.com/$REL/a.tgz", "REL", id="URL path"),
    pytest.param("ARG MSG\nRUN echo \"$MSG\"", "MSG", id="echo"),
    pytest.param("ARG REGISTRY\nRUN docker login $REGISTRY", "REGISTRY", id="login host"),
    pytest.param("ARG SHA\nRUN curl -H \"X-Commit: $SHA\" https://x.example.com", "SHA", id="non-auth header"),
    pytest.param("ARG FLAVOR\nRUN echo $FLAVOR > /flavor", "FLAVOR", id="file write of a non-secret"),
    pytest.param("ARG LEVEL\nRUN curl --retry $LEVEL https://x.example.com", "LEVEL", id="other curl option"),
    pytest.param("ARG N\nRUN pip install -i https://pypi.example.com/simple pkg==$N", "N", id="version pin"),
    pytest.param("ARG SECRET_KEY_FILE=/run/secrets/key\nRUN cat $SECRET_KEY_FILE", "SECRET_KEY_FILE", id="path to a secret"),
    pytest.param("ARG GPG_KEY=B42F6819007F00F88E364FD4036A9C25BF357DD4\nRUN gpg --recv-keys $GPG_KEY", "GPG_KEY", id="GPG fingerprint"),
    pytest.param("ARG NODE_VERSION=20.11.1\nRUN curl -fsSL https://nodejs.org/dist/v$NODE_VERSION/x.tgz", "NODE_VERSION", id="version in URL"),
]


@pytest.mark.parametrize("body,name", FLAG)
def test_use_makes_a_secret(tmp_path, body, name) -> None:
    assert name in _secret_vars(tmp_path, "FROM a:1\n" + body + "\n")


@pytest.mark.parametrize("body,name", NOFLAG)
def test_no_authenticating_use_no_secret(tmp_path, body, name) -> None:
    assert name not in _secret_vars(tmp_path, "FROM a:1\n" + body + "\n")


def test_balance() -> None:
    assert len(NOFLAG) >= len(FLAG)


def _rewrite(tmp_path, dockerfile: str, *extra: str) -> str:
    p = tmp_path / "Dockerfile"
    p.write_text(dockerfile)
    run(["--write", *extra, str(p)])
    return p.read_text()


def test_mounts_only_where_the_value_is_visible(tmp_path) -> None:
    out = _rewrite(
        tmp_path,
        "FROM a:1 AS one\n"
        "RUN echo before && curl -H \"Authorization: Bearer $NPM_TOKEN\" https://x\n"  # before the ARG: unset
        "ARG NPM_TOKEN\n"
        "RUN curl -H \"Authorization: Bearer $NPM_TOKEN\" https://x\n"
        "RUN mkdir /x\n"  # cannot read it
        "FROM a:1 AS two\n"
        "RUN curl -H \"Authorization: Bearer $NPM_TOKEN\" https://x\n"  # other stage, no ARG
        "FROM one AS three\n"
        "RUN curl -H \"Authorization: Bearer $NPM_TOKEN\" https://x\n",  # child stage inherits
    )
    lines = out.splitlines()
    mounted = [i for i, ln in enumerate(lines) if "--mount=type=secret" in ln]
    assert mounted == [2, 7], out  # stage one after the ARG, and stage three (FROM one)


def test_global_arg_not_redeclared_does_not_reach_runs(tmp_path) -> None:
    out = _rewrite(tmp_path, "ARG NPM_TOKEN\nFROM a:1\nRUN npm ci\n")
    assert out == "FROM a:1\nRUN npm ci\n"


def test_env_alias_is_mounted_under_the_name_the_run_reads(tmp_path) -> None:
    out = _rewrite(tmp_path, "FROM a:1\nARG NPM_TOKEN\nENV NODE_AUTH_TOKEN=$NPM_TOKEN\nRUN curl -H \"Authorization: Bearer $NODE_AUTH_TOKEN\" https://x\n")
    assert "--mount=type=secret,id=npm_token,env=NODE_AUTH_TOKEN curl" in out and "ENV" not in out


def test_undecided_script_is_mounted_and_reported(tmp_path) -> None:
    fs = _findings(tmp_path, "FROM a:1\nARG DEPLOY_TOKEN\nRUN ./deploy.sh\nRUN apt-get install -y x\n")
    assert any(f["code"] == "DF001" for f in fs)
    out = _rewrite(tmp_path, "FROM a:1\nARG DEPLOY_TOKEN\nRUN ./deploy.sh\nRUN apt-get install -y x\n")
    assert out == "FROM a:1\nRUN --mount=type=secret,id=deploy_token,env=DEPLOY_TOKEN ./deploy.sh\nRUN apt-get install -y x\n"


@pytest.mark.parametrize(
    "tool,var",
    [("pip install x", "PIP_EXTRA_INDEX_URL"), ("aws s3 ls", "AWS_SECRET_ACCESS_KEY"), ("poetry install", "POETRY_HTTP_BASIC_REPO_PASSWORD"),
     ("composer install", "COMPOSER_AUTH"), ("bundle install", "BUNDLE_GEMS__EXAMPLE__COM"), ("uv sync", "UV_INDEX_PRIVATE_PASSWORD"),
     ("gradle build", "ORG_GRADLE_PROJECT_repoPassword"), ("mvn package", "NEXUS_PASSWORD")],
)
def test_implicit_consumers_get_the_mount(tmp_path, tool, var) -> None:
    out = _rewrite(tmp_path, f"FROM a:1\nARG {var}\nRUN {tool}\nRUN mkdir /x\n")
    assert f"RUN --mount=type=secret,id={var.lower()},env={var} {tool}" in out
    assert "RUN mkdir /x" in out


def test_build_time_use_is_display_only(tmp_path) -> None:
    src = "FROM a:1\nARG NPM_TOKEN\nWORKDIR /srv/$NPM_TOKEN\nRUN npm ci\n"
    assert _rewrite(tmp_path, src) == src
    fs = _findings(tmp_path, src)
    assert {f["code"] for f in fs} >= {"DF001", "DF004"}


def test_copied_ssh_directory_and_key_named_by_a_variable_are_df008(tmp_path) -> None:
    """Without the files at hand the names are the evidence: an .ssh directory, or a COPY source
    held in a variable named like a private key (the ARG itself, a path, is not a secret)."""
    from helpers import run

    (tmp_path / "Dockerfile").write_text(
        "FROM node:20\nADD .ssh /root/.ssh\nARG SSL_PRIVATE_KEY_FILE=server.key\nCOPY $SSL_PRIVATE_KEY_FILE /etc/ssl/\n"
        "ARG CONFIG_FILE=app.yaml\nCOPY $CONFIG_FILE /etc/app/\nCOPY .sshd_config /etc/ssh/\n"
    )
    code, out, err = run(["--format", "json", "Dockerfile"], cwd=tmp_path)
    import json as _json

    got = sorted((f["code"], f["line"]) for f in _json.loads(out)["files"][0]["findings"])
    assert got == [("DF008", 2), ("DF008", 4)]


def test_editable_vcs_install_with_the_secret_makes_the_mount_fix_unsafe(tmp_path) -> None:
    from helpers import run

    (tmp_path / "Dockerfile").write_text("FROM python:3.12\nARG GH_TOKEN\nRUN pip install -e git+https://${GH_TOKEN}@github.com/a/b.git#egg=b\n")
    code, out, err = run(["Dockerfile"], cwd=tmp_path)
    assert "fix (unsafe)" in out and "editable install" in out

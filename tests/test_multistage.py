"""``--strategy multistage``: what each ecosystem's step leaves for the runtime stage to copy.

Golden cases (``golden/multistage-*``) pin whole rewrites and are built on a real engine; these
tests pin the per-command rules, including the ones that make a split display-only because the
outputs cannot be located.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from refactor.multistage import RunContext, SplitError, _outputs_for_run

from helpers import run

ROOT_CTX = RunContext("/app", {}, "node:20", None)


def outputs(cmd: str, ctx: RunContext = ROOT_CTX) -> tuple[list[str], bool]:
    return _outputs_for_run([shlex.split(part) for part in cmd.split(" && ")], ctx)


@pytest.mark.parametrize(
    "cmd,ctx,expected",
    [
        ("npm ci", ROOT_CTX, ["/app/node_modules"]),
        ("yarn --frozen-lockfile", ROOT_CTX, ["/app/node_modules"]),
        ("pnpm install", RunContext("/srv/web"), ["/srv/web/node_modules"]),
        # pip: --target/--prefix/--user, an existing venv (by path or by ENV), wheels
        ("pip install -t deps -r requirements.txt", ROOT_CTX, ["/app/deps"]),
        ("pip install --target=/opt/deps x", ROOT_CTX, ["/opt/deps"]),
        ("pip install --prefix /install -r r.txt", ROOT_CTX, ["/install"]),
        ("pip install --user -r r.txt", ROOT_CTX, ["/root/.local"]),
        ("pip install --user -r r.txt", RunContext("/app", {"HOME": "/home/app"}, "", "app"), ["/home/app/.local"]),
        ("/opt/venv/bin/pip install -r r.txt", ROOT_CTX, ["/opt/venv"]),
        ("pip install -r r.txt", RunContext("/app", {"VIRTUAL_ENV": "/venv"}), ["/venv"]),
        ("python3 -m venv /opt/v && /opt/v/bin/pip install x", ROOT_CTX, ["/opt/v", "/opt/v"]),
        ("pip wheel -w /wheels -r r.txt", ROOT_CTX, ["/wheels"]),
        ("python -m pip download -d wheels x", ROOT_CTX, ["/app/wheels"]),
        # go: the -o binary, GOBIN/GOPATH for install, the module cache from ENV or the image
        ("go build -o /out/app ./cmd/app", ROOT_CTX, ["/out/app"]),
        ("go build -trimpath -o=bin/app .", ROOT_CTX, ["/app/bin/app"]),
        ("go mod download", RunContext("/src", {}, "golang:1.22-alpine"), ["/go/pkg/mod"]),
        ("go mod download", RunContext("/src", {"GOPATH": "/gopath"}, "alpine:3.20"), ["/gopath/pkg/mod"]),
        ("go mod download", RunContext("/src", {"GOMODCACHE": "/cache/mod"}, "golang:1.22"), ["/cache/mod"]),
        ("go install ./cmd/tool", RunContext("/src", {}, "golang:1.22"), ["/go/bin"]),
        ("go install ./cmd/tool", RunContext("/src", {"GOBIN": "/usr/local/bin"}, "alpine"), ["/usr/local/bin"]),
        ("go mod download && go build -o /bin/app .", RunContext("/src", {}, "golang:1.22"), ["/go/pkg/mod", "/bin/app"]),
        ("go mod vendor", RunContext("/src"), ["/src/vendor"]),
        # maven: target of the project (-f), or the local repository for dependency-only goals
        ("mvn -B -s settings.xml package", RunContext("/build"), ["/build/target"]),
        ("./mvnw -q verify", RunContext("/build"), ["/build/target"]),
        ("mvn -f service/pom.xml package", RunContext("/build"), ["/build/service/target"]),
        ("mvn -f service package", RunContext("/build"), ["/build/service/target"]),
        ("mvn dependency:go-offline", RunContext("/build"), ["/root/.m2/repository"]),
        ("mvn -Dmaven.repo.local=/m2 dependency:resolve", RunContext("/build"), ["/m2"]),
        # gradle: build/libs of the project (-p), build/install, or the user home for dependencies
        ("gradle build --no-daemon", RunContext("/home/gradle/app"), ["/home/gradle/app/build/libs"]),
        ("./gradlew :bootJar -x test", RunContext("/w"), ["/w/build/libs"]),
        ("gradle -p service assemble", RunContext("/w"), ["/w/service/build/libs"]),
        ("gradle installDist", RunContext("/w"), ["/w/build/install"]),
        ("gradle dependencies", RunContext("/w"), ["/root/.gradle/caches"]),
        ("gradle dependencies", RunContext("/w", {"GRADLE_USER_HOME": "/cache/gradle"}), ["/cache/gradle/caches"]),
        # git, downloads
        ("git clone https://github.com/acme/lib.git", RunContext("/opt"), ["/opt/lib"]),
        ("git clone --depth 1 https://github.com/acme/lib.git vendor/lib", RunContext("/opt"), ["/opt/vendor/lib"]),
        ("curl -fsSL -o /tmp/t.tgz https://x.test/t.tgz && tar -xzf /tmp/t.tgz -C /opt/tool", RunContext("/"), ["/tmp/t.tgz", "/opt/tool"]),
        ("curl -fsSLO https://x.test/dl/tool.tgz", RunContext("/opt"), ["/opt/tool.tgz"]),
        ("curl -sSfo tool.bin https://x.test/tool", RunContext("/opt"), ["/opt/tool.bin"]),
        ("wget -q https://x.test/a/file.zip", RunContext("/d"), ["/d/file.zip"]),
        ("wget -q -O file.zip https://x.test/a/file.zip?sig=1", RunContext("/d"), ["/d/file.zip"]),
        ("tar -czf /out/app.tgz -C /src .", ROOT_CTX, ["/out/app.tgz"]),
        ("gradle :app:bootJar", RunContext("/w"), ["/w/app/build/libs"]),
        ("mvn dependency:copy-dependencies", RunContext("/b"), ["/b/target"]),
        ("pip install -r r.txt", RunContext("/app", {"PIP_TARGET": "/deps"}), ["/deps"]),
        ("npm config set //r/:_authToken x && npm ci", ROOT_CTX, ["/app/node_modules"]),
        ("curl -o ~/tool https://x.test/tool", ROOT_CTX, ["/root/tool"]),
    ],
)
def test_outputs(cmd, ctx, expected):
    paths, venv = outputs(cmd, ctx)
    assert paths == expected
    assert not venv


def test_plain_pip_install_gets_a_venv():
    assert outputs("pip install -r requirements.txt") == ([], True)
    assert outputs("python3 -m pip install .") == ([], True)


@pytest.mark.parametrize(
    "cmd,ctx,reason",
    [
        ("cd sub && npm ci", ROOT_CTX, "changes directory"),
        ("npm run build", ROOT_CTX, "unknown outputs"),
        ("npm pack", ROOT_CTX, "unknown outputs"),
        ("yarn global add x", ROOT_CTX, "global"),
        ("npm install --location=global x", ROOT_CTX, "globally"),
        ("wget -q https://x.test/a/file.zip?sig=1", ROOT_CTX, "query"),
        ("env FOO=1 npm run build", ROOT_CTX, "`env`"),
        ("mvn -pl app -am package", RunContext("/b"), "multi-module"),
        ("gradle :a:jar :b:jar", RunContext("/w"), "several subprojects"),
        ("pip install -r r.txt", RunContext("/app", {}, "python:3.12", "app"), "/opt/venv"),
        ("curl -o ~/tool https://x.test/t", RunContext("/app", {}, "", "app"), "home directory"),
        ("npm install -g pnpm", ROOT_CTX, "globally"),
        ("pip download x", ROOT_CTX, "without -d"),
        ("pip install --user x", RunContext("/app", {}, "", "app"), "home directory is unknown"),
        ("go build ./...", ROOT_CTX, "without -o"),
        ("go mod download", RunContext("/src", {}, "alpine:3.20"), "module cache"),
        ("go install ./x", RunContext("/src", {}, "alpine:3.20"), "GOBIN"),
        ("go run ./gen", ROOT_CTX, "unknown outputs"),
        ("mvn", RunContext("/b"), "without goals"),
        ("mvn deploy:deploy-file", RunContext("/b"), "unknown outputs"),
        ("mvn dependency:go-offline", RunContext("/b", {}, "", "builder"), "local repository"),
        ("gradle publish", RunContext("/w"), "unknown outputs"),
        ("gradle dependencies", RunContext("/w", {}, "", "gradle"), "GRADLE_USER_HOME"),
        ("curl -fsSL https://x.test/install.sh", ROOT_CTX, "stdout"),
        ("wget -O - https://x.test/a", ROOT_CTX, "stdout"),
        ("tar -xzf a.tgz", ROOT_CTX, "working directory"),
        ("unzip a.zip", ROOT_CTX, "without -d"),
        ("git pull", ROOT_CTX, "unknown outputs"),
        ("make install", ROOT_CTX, "unknown outputs"),
    ],
)
def test_unlocatable_outputs_refuse_the_split(cmd, ctx, reason):
    with pytest.raises(SplitError, match=reason):
        outputs(cmd, ctx)


def _split(tmp_path: Path, dockerfile: str) -> tuple[int, str]:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    code, out, err = run(["--diff", "--strategy", "multistage", "--unsafe-fixes", "Dockerfile"], cwd=tmp_path)
    assert code in (0, 1), err
    return code, out


def test_context_comes_from_the_dockerfile(tmp_path):
    # GOPATH declared in the stage locates the module cache on a non-golang base
    _, out = _split(tmp_path, "FROM alpine:3.20\nENV GOPATH=/gopath\nARG GOPROXY_TOKEN\nWORKDIR /src\nCOPY . .\n"
                              "RUN GOPROXY=https://ci:${GOPROXY_TOKEN}@proxy.acme.test go mod download\nCMD [\"/bin/sh\"]\n")
    assert "+COPY --from=dfix-builder /gopath/pkg/mod /gopath/pkg/mod" in out
    # an existing venv (ENV VIRTUAL_ENV) is copied as it is; no second venv is made
    _, out = _split(tmp_path, "FROM python:3.12\nRUN python3 -m venv /venv\nENV VIRTUAL_ENV=/venv PATH=/venv/bin:$PATH\n"
                              "ARG PIP_INDEX_URL\nCOPY r.txt .\nRUN pip install -r r.txt\nCMD [\"python\", \"app.py\"]\n")
    assert "+COPY --from=dfix-builder /venv /venv" in out
    assert "-m venv /opt/venv" not in out


def test_user_without_home_makes_the_split_display_only(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM maven:3.9\nUSER builder\nARG NEXUS_PASSWORD\nWORKDIR /b\nCOPY . .\n"
                                         "RUN mvn -s settings.xml dependency:go-offline\n")
    code, out, err = run(["--strategy", "multistage", "Dockerfile"], cwd=tmp_path)
    assert "local repository" in out + err
    code, out, err = run(["--diff", "--strategy", "multistage", "Dockerfile"], cwd=tmp_path)
    assert "dfix-builder" not in out


def test_config_and_args_between_secret_runs_are_redeclared(tmp_path):
    """ARG/ENV/USER/EXPOSE between two secret-consuming RUNs stay in the builder (its later RUNs
    need them) and are declared again in the runtime stage (later instructions need them)."""
    _, out = _split(tmp_path, "FROM node:20\nARG NPM_TOKEN\nWORKDIR /app\nCOPY package.json .npmrc ./\nRUN npm ci\n"
                              "ARG V=1\nENV A=b\nUSER node\nEXPOSE 80\nRUN npm install\nLABEL v=$V\nCMD [\"node\", \"s.js\"]\n")
    runtime = out.split("+FROM dfix-base\n", 1)[1].split("# build", 1)[0]
    for line in ("+ARG V=1", "+ENV A=b", "+USER node", "+EXPOSE 80"):
        assert line in runtime
    assert "NPM_TOKEN" not in runtime


def test_a_secret_arg_is_never_redeclared_in_the_runtime(tmp_path):
    _, out = _split(tmp_path, "FROM node:20\nWORKDIR /app\nCOPY package.json ./\nARG NPM_TOKEN\n"
                              "RUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc && npm ci && rm .npmrc\n"
                              "ARG NPM_TOKEN\nRUN npm ci\nCMD [\"node\", \"s.js\"]\n")
    runtime = out.split("+FROM dfix-base\n", 1)[1].split("# build", 1)[0]
    assert "NPM_TOKEN" not in runtime


def test_copy_between_secret_runs_refuses_the_split(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM node:20\nARG NPM_TOKEN\nWORKDIR /app\nCOPY package.json .npmrc ./\n"
                                         "RUN npm ci\nCOPY . .\nRUN npm install\n")
    code, out, err = run(["--strategy", "multistage", "Dockerfile"], cwd=tmp_path)
    assert "COPY between secret-consuming RUNs" in out + err


def test_secrets_no_step_reads_are_removed_without_a_builder(tmp_path):
    """A secret only declared (or copied into ENV) needs no builder: the multistage strategy drops
    the declarations as the mount strategy does, and splits only for the consumed secret.
    (`npm ci` without --ignore-scripts runs the project's lifecycle scripts, which could read any
    variable: there SENTRY_AUTH_TOKEN would count as read.)"""
    _, out = _split(tmp_path, "FROM python:3.12\nWORKDIR /app\nARG AWS_SECRET_ACCESS_KEY\n"
                              "ENV AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY\nCOPY . .\nCMD [\"python\", \"a.py\"]\n")
    assert "-ARG AWS_SECRET_ACCESS_KEY" in out and "-ENV AWS_SECRET_ACCESS_KEY" in out
    assert "dfix-builder" not in out
    _, out = _split(tmp_path, "FROM node:20\nARG SENTRY_AUTH_TOKEN\nARG NPM_TOKEN\nWORKDIR /app\nCOPY package.json ./\n"
                              "RUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc && npm ci --ignore-scripts && rm .npmrc\n"
                              "ARG SENTRY_AUTH_TOKEN\nCMD [\"node\", \"s.js\"]\n")
    assert "-ARG SENTRY_AUTH_TOKEN" in out
    runtime = out.split("+FROM dfix-base\n", 1)[1].split("# build", 1)[0]
    assert "SENTRY_AUTH_TOKEN" not in runtime.replace("-ARG SENTRY_AUTH_TOKEN", "")
    assert "+COPY --from=dfix-builder /app/node_modules /app/node_modules" in out


# -- the RUN simulation: every effect must reach the runtime or be a credential left behind ----

@pytest.mark.parametrize(
    "cmd,writes,expected",
    [
        # download, unpack, delete the archive: only the unpacked directory is copied
        ("curl -fsSL -o /tmp/t.tgz https://x.test/t.tgz && tar -xzf /tmp/t.tgz -C /opt/tool && rm /tmp/t.tgz", (), ["/opt/tool"]),
        ("curl -fsSLo /tmp/tool https://x.test/tool && chmod +x /tmp/tool && mv /tmp/tool /usr/local/bin/tool", (),
         ["/usr/local/bin/tool"]),
        ("curl -o /opt/a.jar https://x.test/a.jar -o /opt/b.jar https://x.test/b.jar", (), ["/opt/a.jar", "/opt/b.jar"]),
        ("curl --output-dir /opt/tools -O https://x.test/tool.jar", (), ["/opt/tools/tool.jar"]),
        ("wget -q -P /opt/tools https://x.test/tool.jar", (), ["/opt/tools/tool.jar"]),
        ("npm ci --prefix frontend", (), ["/app/frontend/node_modules"]),
        ("yarn --cwd web install", (), ["/app/web/node_modules"]),
        ("mkdir -p /opt/tool && curl -o /opt/tool/t https://x.test/t", (), ["/opt/tool/t"]),
        # a credential file written and removed, or left behind in the builder on purpose
        ("npm ci && rm .npmrc", (".npmrc",), ["/app/node_modules"]),
        ("npm ci", (".npmrc",), ["/app/node_modules"]),
        ("mkdir -p /root/.ssh && chmod 600 /root/.ssh/id_rsa && git clone git@github.com:a/b.git /src/b", ("/root/.ssh/id_rsa",),
         ["/src/b"]),
    ],
)
def test_followed_effects(cmd, writes, expected):
    assert _outputs_for_run([shlex.split(p) for p in cmd.split(" && ")], ROOT_CTX, writes)[0] == expected


@pytest.mark.parametrize(
    "cmd,writes,reason",
    [
        ("apt-get install -y libpq5 && pip install -r r.txt", (), "apt-get"),
        ("useradd -m app && npm ci", (), "useradd"),
        ("curl -o /tmp/install.sh https://x.test/i.sh && sh /tmp/install.sh", (), "`sh`"),
        ("curl -fsS -o /tmp/r.tgz https://x.test/r.tgz && tar -xzf /tmp/r.tgz -C /", (), "as a whole"),
        ("curl -fsSLO $TOOL_URL", (), "variable"),
        ("wget $URL", (), "variable"),
        ("rm -rf /etc/apt/sources.list.d/internal.list && npm ci", (), "would still have it"),
        ("npm ci && echo done", ("/etc/app.conf",), "/etc/app.conf"),
        ("mkdir -p /data && npm ci", (), "mkdir /data"),
        ("unzip /tmp/t.zip -d", (), "without -d"),
        ("npm ci", ("/app/node_modules/.npmrc",), "inside the copied"),
        ("git clone https://x.test/a/b.git $DEST", (), "variable"),
    ],
)
def test_effects_the_runtime_would_miss_refuse_the_split(cmd, writes, reason):
    with pytest.raises(SplitError, match=reason):
        _outputs_for_run([shlex.split(p) for p in cmd.split(" && ")], ROOT_CTX, writes)


def test_outputs_carry_over_between_runs():
    first, _ = _outputs_for_run([["curl", "-o", "/tmp/t.tgz", "https://x.test/t.tgz"]], ROOT_CTX)
    second, _ = _outputs_for_run([["tar", "-xzf", "/tmp/t.tgz", "-C", "/opt/t"], ["rm", "/tmp/t.tgz"]], ROOT_CTX, prior=first)
    assert second == ["/opt/t"]


@pytest.mark.parametrize(
    "dockerfile,reason",
    [
        ("FROM node:20\nARG NPM_TOKEN\nWORKDIR /app\nCOPY package.json .npmrc ./\nRUN npm ci\n"
         "FROM node:20-slim\nCOPY --from=0 /app/node_modules ./node_modules\n", "referenced by number"),
        ("FROM node:20\nARG NPM_TOKEN\nWORKDIR /app\nCOPY package.json .npmrc ./\nRUN npm ci\n"
         "FROM node:20-slim\nRUN --mount=type=bind,from=0,source=/app,target=/x cp -r /x /app\n", "referenced by number"),
        ("FROM node:20\nARG NPM_TOKEN\nENV NODE_ENV=production NPM_TOKEN=${NPM_TOKEN}\nWORKDIR /app\n"
         "COPY package.json .npmrc ./\nRUN npm ci\n", "secret and non-secret"),
        ("FROM node:20\nONBUILD RUN echo hi\nARG NPM_TOKEN\nWORKDIR /app\nCOPY package.json .npmrc ./\nRUN npm ci\n", "ONBUILD"),
    ],
)
def test_splits_that_would_change_other_instructions_are_refused(tmp_path, dockerfile, reason):
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / ".npmrc").write_text("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n")
    code, out, err = run(["--strategy", "multistage", "Dockerfile"], cwd=tmp_path)
    assert reason in out + err
    code, out, err = run(["--diff", "--strategy", "multistage", "Dockerfile"], cwd=tmp_path)
    assert "dfix-builder" not in out


def test_gradle_dependencies_copy_only_the_caches():
    assert outputs("gradle dependencies", RunContext("/w"))[0] == ["/root/.gradle/caches"]


def test_a_clone_with_the_token_is_cleaned_in_the_builder(tmp_path):
    _, out = _split(tmp_path, "FROM ubuntu:22.04\nARG GITHUB_TOKEN\nWORKDIR /opt\n"
                              "RUN git clone -c http.extraHeader=\"Authorization: Bearer ${GITHUB_TOKEN}\" https://github.com/a/b.git lib\n"
                              "CMD [\"ls\"]\n")
    assert "+RUN git -C /opt/lib config --unset-all http.extraHeader" in out


def test_editable_vcs_install_with_credentials_refuses_the_split():
    with pytest.raises(SplitError, match="editable install"):
        outputs("pip install -e git+https://${GH_TOKEN}@github.com/a/b.git#egg=b")


def test_outputs_written_by_a_non_root_user_keep_their_owner(tmp_path):
    _, out = _split(tmp_path, "FROM node:20\nWORKDIR /home/node/app\nCOPY package.json .npmrc ./\nUSER node\nARG NPM_TOKEN\n"
                              "RUN npm ci\nCMD [\"node\", \"s.js\"]\n")
    assert "+COPY --from=dfix-builder --chown=node /home/node/app/node_modules /home/node/app/node_modules" in out


def test_a_run_that_only_writes_the_credential_file_moves_into_the_builder(tmp_path):
    """The mount plan folds `git config --global url…insteadOf` into the RUN that clones; the
    split must move the writing RUN too, or it runs in the base without the ARG."""
    df = ("FROM ubuntu:22.04\nARG GH_TOKEN\nWORKDIR /src\n"
          "RUN git config --global url.\"https://${GH_TOKEN}@github.com/\".insteadOf \"https://github.com/\"\n"
          "RUN git clone https://github.com/acme/lib.git lib\nCMD [\"ls\"]\n")
    (tmp_path / "Dockerfile").write_text(df)
    code, out, err = run(["--write", "--strategy", "multistage", "Dockerfile"], cwd=tmp_path)
    new = (tmp_path / "Dockerfile").read_text()
    base = new.split("FROM dfix-base AS dfix-builder", 1)[0]
    assert "git config" not in base and "GH_TOKEN" not in base
    code, out, err = run(["--write", "--strategy", "multistage", "Dockerfile"], cwd=tmp_path)
    assert (tmp_path / "Dockerfile").read_text() == new  # idempotent


def test_a_secret_declared_in_a_parent_stage_refuses_the_split(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM node:20 AS base\nARG NPM_TOKEN\nFROM base AS app\nWORKDIR /app\n"
                                         "COPY package.json .npmrc ./\nRUN npm ci\nRUN echo built\n")
    (tmp_path / ".npmrc").write_text("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n")
    code, out, err = run(["--strategy", "multistage", "Dockerfile"], cwd=tmp_path)
    assert "parent stage base" in out


def test_base_args_are_declared_again_for_builders_that_do_not_inherit_them(tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM alpine:3.20\nARG EDITION=pro\nARG NPM_TOKEN\nWORKDIR /opt\n"
        "RUN curl -fsS -H \"Authorization: Bearer ${NPM_TOKEN}\" -o /opt/tool.tgz https://x.test/${EDITION}/tool.tgz\n"
        "CMD [\"ls\"]\n")
    run(["--write", "--strategy", "multistage", "Dockerfile"], cwd=tmp_path)
    stages = (tmp_path / "Dockerfile").read_text().split("\nFROM ")
    assert len(stages) == 3 and all("ARG EDITION=pro" in st for st in stages)


def test_a_base_credential_file_the_builder_removes_is_removed_in_the_runtime(tmp_path):
    _, out = _split(tmp_path, "FROM node:20\nWORKDIR /app\nCOPY package.json .npmrc ./\nARG NPM_TOKEN\n"
                              "RUN npm ci && rm -f .npmrc\nCMD [\"node\", \"s.js\"]\n")
    runtime = out.split("+FROM dfix-base\n", 1)[1]
    assert "+RUN rm -f /app/.npmrc" in runtime


def test_a_credential_file_from_the_context_refuses_the_split(tmp_path):
    (tmp_path / ".npmrc").write_text("//registry.npmjs.org/:_authToken=npm_" + "a" * 36 + "\n")
    (tmp_path / "Dockerfile").write_text("FROM node:20\nWORKDIR /app\nCOPY package.json .npmrc ./\nRUN npm ci\n")
    code, out, err = run(["--strategy", "multistage", "Dockerfile"], cwd=tmp_path)
    assert "build context would stay in the base" in out


def test_a_tool_written_credential_file_inside_an_output_refuses_the_split():
    ctx = RunContext("/app")
    with pytest.raises(SplitError, match="gitconfig"):
        outputs('git config --global url.https://x@h/.insteadOf https://h/ && curl -o /tmp/r.tgz https://x.test/r.tgz'
                ' && tar -xzf /tmp/r.tgz -C /root && rm /tmp/r.tgz', ctx)
    with pytest.raises(SplitError, match="npmrc"):
        outputs("npm config set //r/:_authToken x && tar -xzf /tmp/a.tgz -C /root", ctx)


@pytest.mark.parametrize("cmd,writes,expected", [
    ("curl -fsSL https://x.test/t.tgz | tar -xz -C /opt/tool", (), ["/opt/tool"]),
    ("curl -fsSL https://x.test/tool && chmod +x /usr/local/bin/tool", ("out:/usr/local/bin/tool",), ["/usr/local/bin/tool"]),
    ("npm ci && echo built", ("out:/app/BUILD_INFO",), ["/app/BUILD_INFO", "/app/node_modules"]),
])
def test_downloads_to_stdout_and_plain_writes_are_outputs(cmd, writes, expected):
    argvs = [shlex.split(p) for p in cmd.replace(" | ", " && ").split(" && ")]
    assert sorted(_outputs_for_run(argvs, ROOT_CTX, writes)[0]) == sorted(expected)


def test_a_redirect_that_expands_the_secret_is_a_credential_file(tmp_path):
    """`echo "…${NPM_TOKEN}" > /app/config.json` holds the secret: never copied; a download
    redirected into a file is copied (its bytes come from the network, not the command line)."""
    from refactor.analysis.shell import file_writes
    from refactor.multistage import _classify_write

    w1, = file_writes('echo "token=${NPM_TOKEN}" > /app/config.json')
    w2, = file_writes('curl -H "Authorization: Bearer ${NPM_TOKEN}" https://x.test/t > /opt/t')
    w3, = file_writes("echo registry=https://r.test/ > /app/.npmrc")
    assert _classify_write(w1, {"NPM_TOKEN"}) == "/app/config.json"
    assert _classify_write(w2, {"NPM_TOKEN"}) == "out:/opt/t"
    assert _classify_write(w3, {"NPM_TOKEN"}) == "out:/app/.npmrc"  # and then a credential path: kept back
    with pytest.raises(SplitError, match="config.json"):
        _outputs_for_run([["npm", "ci"]], ROOT_CTX, ("/app/config.json",))
    assert _outputs_for_run([["npm", "ci"]], ROOT_CTX, ("out:/app/.npmrc",))[0] == ["/app/node_modules"]

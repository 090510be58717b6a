"""The real-build harness proves itself: stand-in tools against the artifact server, the leak
scanner on known leaks and on a clean secret mount, and ``dfix verify`` end to end.

No assertion message here contains a value: values are :class:`Canary` strings (masked repr),
and checks go through the value-free helpers in conftest.
"""

from __future__ import annotations

import secrets as _secrets

import pytest
from click.testing import CliRunner

from refactor.leakscan import Matcher, encodings, mask_values

from .conftest import assert_absent, assert_built, assert_clean, assert_failed, assert_leaked, assert_saw
from .engine import Canary

WRONG = "not-the-right-token-000000"

# A check script runs inside the build. `ok LABEL CMD...` must succeed, `bad LABEL CMD...` must
# fail; labels only are printed, never the commands (they could show a value).
CHECK_LIB = r"""
set -u
fails=0
ok()  { l=$1; shift; if "$@"; then echo "PASS $l"; else echo "FAIL (expected success) $l"; fails=$((fails+1)); fi; }
bad() { l=$1; shift; if "$@" >/dev/null 2>&1; then echo "FAIL (expected failure) $l"; fails=$((fails+1)); else echo "PASS (refused) $l"; fi; }
"""
CHECK_END = '\n[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }\n'


def _tool_build(e2e, tool: str, script: str, base: str, secret_env: str = "TOK"):
    tok = e2e.canary(secret_env)
    ctx = e2e.context({
        "Dockerfile": f"FROM {base}\nWORKDIR /app\nCOPY check.sh /check.sh\n"
                      f"RUN --mount=type=secret,id=tok,env={secret_env} sh /check.sh\n",
        "check.sh": CHECK_LIB + script + CHECK_END,
    }, name=tool)
    result = e2e.build(ctx, secrets={"tok": secret_env}, env_values={secret_env: tok})
    return tok, result


# -- stand-in tools ----------------------------------------------------------------------------

NPM_SCRIPT = r"""
W=/tmp/w; mkdir -p $W
# .npmrc in the project, ${VAR} expanded by npm (the classic setup)
mkdir -p $W/a && cd $W/a && printf '//registry.npmjs.org/:_authToken=${TOK}\n' > .npmrc
ok "npm ci with .npmrc _authToken" npm ci
ok "npm marker written" test -s node_modules/.dfix-fetched
bad "npm ci with a wrong token" env TOK=not-the-right-token-000000 npm ci
bad "npm ci without the variable" env -u TOK npm ci
# scoped registry, token set with `npm config set` into the user config
mkdir -p $W/b && cd $W/b && printf '@acme:registry=https://npm.pkg.github.com/\n' > .npmrc
ok "npm config set" env HOME=$W/home npm config set //npm.pkg.github.com/:_authToken "$TOK"
ok "npm install, scoped registry, user .npmrc" env HOME=$W/home npm install
bad "npm install without the user .npmrc" env HOME=$W/empty npm install
# NPM_CONFIG_USERCONFIG
printf '//npm.pkg.github.com/:_authToken=${TOK}\n' > $W/userrc
ok "npm i with NPM_CONFIG_USERCONFIG" env HOME=$W/empty NPM_CONFIG_USERCONFIG=$W/userrc npm i
# yarn berry: .yarnrc.yml
mkdir -p $W/c && cd $W/c && printf 'npmRegistryServer: "https://npm.acme.test"\nnpmAuthToken: "${TOK}"\n' > .yarnrc.yml
ok "yarn install with .yarnrc.yml" yarn install --immutable
bad "yarn with a wrong token" env TOK=not-the-right-token-000000 yarn
# pnpm with legacy _auth (Basic user:password)
mkdir -p $W/d && cd $W/d && printf 'registry=https://art.acme.test/api/npm/\n_auth=%s\n' "$(printf 'ci:%s' "$TOK" | base64 -w 0)" > .npmrc
ok "pnpm install with _auth" pnpm install --frozen-lockfile
# NPM_TOKEN is not read by npm itself
mkdir -p $W/e && cd $W/e && printf 'registry=https://npm.acme.test/\n' > .npmrc
bad "npm ignores NPM_TOKEN without .npmrc" env NPM_TOKEN="$TOK" npm ci
ok "public registry needs no token" sh -c 'mkdir -p /tmp/w/f && cd /tmp/w/f && npm ci'
cd / && rm -rf $W
"""

PIP_SCRIPT = r"""
W=/tmp/w; mkdir -p $W
ok "pip install, PIP_INDEX_URL user-info" env PIP_INDEX_URL="https://ci:$TOK@pypi.acme.test/simple" pip install requests
bad "pip install, wrong password" env PIP_INDEX_URL="https://ci:not-the-right-token-000000@pypi.acme.test/simple" pip install requests
bad "private index without credentials" pip install -i https://pypi.acme.test/simple requests
ok "pip3 -i URL with user-info" pip3 install -i "https://ci:$TOK@pypi.acme.test/simple" requests
ok "--extra-index-url" pip install --extra-index-url "https://ci:$TOK@pypi.acme.test/simple" requests
printf -- '--extra-index-url https://ci:${TOK}@pypi.acme.test/simple\nrequests\n' > $W/req.txt
ok "-r requirements with \${TOK} expanded" pip install -r $W/req.txt
mkdir -p $W/home/.config/pip && printf '[global]\nindex-url = https://pypi.acme.test/simple\n' > $W/home/.config/pip/pip.conf
printf 'machine pypi.acme.test\n  login ci\n  password %s\n' "$TOK" > $W/home/.netrc
ok "pip.conf index + ~/.netrc" env HOME=$W/home pip install requests
bad "pip.conf index without .netrc" sh -c 'rm /tmp/w/home/.netrc && HOME=/tmp/w/home pip install requests'
ok "python -m pip, PIP_EXTRA_INDEX_URL" env PIP_EXTRA_INDEX_URL="https://ci:$TOK@pypi.acme.test/simple" python3 -m pip download -d $W/dl requests
ok "pip download marker" test -s $W/dl/.dfix-fetched
ok "public index needs no credentials" pip install --upgrade pip
rm -rf $W
"""

CURL_SCRIPT = r"""
ok "curl -H Authorization: Bearer" curl -fsSL -H "Authorization: Bearer $TOK" https://files.acme.test/a.tgz -o /tmp/a.tgz
ok "curl -o wrote the body" test -s /tmp/a.tgz
bad "curl -f with a wrong token" curl -fsSL -H "Authorization: Bearer not-the-right-token-000000" https://files.acme.test/a.tgz
ok "curl -u user:pass" curl -sSf -u "ci:$TOK" https://files.acme.test/b
ok "curl --user, --output" curl --fail --silent --user "ci:$TOK" --output /tmp/b https://files.acme.test/b
ok "curl X-JFrog-Art-Api" curl -fs -H "X-JFrog-Art-Api: $TOK" https://art.acme.test/artifactory/c
ok "curl --header PRIVATE-TOKEN" curl -f --header "PRIVATE-TOKEN: $TOK" https://gitlab.acme.test/api/v4/projects/1/packages
ok "curl URL user-info, -O" sh -c 'cd /tmp && curl -fsSLO "https://ci:$TOK@files.acme.test/dl/tool.tar.gz" && test -s tool.tar.gz'
bad "curl -f without credentials" curl -fsS https://files.acme.test/d
ok "curl without -f exits 0 on 401, like real curl" curl -s https://files.acme.test/d -o /tmp/d
rm -f /tmp/a.tgz /tmp/b /tmp/tool.tar.gz /tmp/d
"""

GIT_SCRIPT = r"""
W=/tmp/w; mkdir -p $W/home $W/h2 && cd $W
ok "git clone https://user:token@host" git clone "https://x-access-token:$TOK@github.com/acme/lib.git"
ok "clone created the directory" test -s lib/README.dfix
bad "git clone with a wrong token" git clone "https://x-access-token:not-the-right-token-000000@github.com/acme/lib2.git"
bad "git clone without credentials" git clone https://github.com/acme/lib3.git
ok "url.insteadOf in ~/.gitconfig" env HOME=$W/home git config --global url."https://$TOK@github.com/".insteadOf "https://github.com/"
ok "clone through insteadOf" env HOME=$W/home git clone https://github.com/acme/lib4 out4
ok "git -c http.extraHeader" git -c http.extraHeader="Authorization: Bearer $TOK" clone https://git.acme.test/acme/lib5.git
ok "credential.helper store" sh -c 'HOME=/tmp/w/h2 git config --global credential.helper store && printf "https://ci:%s@github.com\n" "$TOK" > /tmp/w/h2/.git-credentials && HOME=/tmp/w/h2 git clone https://github.com/acme/lib6'
bad "ssh clone without an agent" git clone git@github.com:acme/private.git
cd / && rm -rf $W
"""


PYTHON_SCRIPT = r"""
W=/tmp/w; mkdir -p $W && cd $W
printf 'internal-lib==1.0\n' > req.txt && printf 'import internal_lib\n' > app.py
ok "python3 -m venv" python3 -m venv /opt/venv
ok "venv layout" test -x /opt/venv/bin/pip -a -f /opt/venv/pyvenv.cfg
ok "venv pip installs into the venv" env PIP_EXTRA_INDEX_URL="https://ci:$TOK@pypi.acme.test/simple" /opt/venv/bin/pip install -r req.txt
ok "package in the venv" test -f /opt/venv/lib/python3.12/site-packages/internal_lib/__init__.py
bad "not in the system site-packages" test -e /usr/local/lib/python3.12/site-packages/internal_lib
ok "venv python imports it" sh -c '/opt/venv/bin/python app.py | grep -q internal_lib'
bad "system python does not" sh -c 'python app.py | grep -q internal_lib'
bad "python with a missing script fails" python missing.py
ok "pip wheel -w" env PIP_INDEX_URL="https://ci:$TOK@pypi.acme.test/simple" pip wheel -w $W/wheels -r req.txt
ok "install --no-index from the wheels" pip install --no-index --find-links $W/wheels -r req.txt
bad "--no-index without the wheel" pip install --no-index --find-links $W/wheels other-lib
cd / && rm -rf $W /opt/venv
"""

GO_SCRIPT = r"""
W=/tmp/w; mkdir -p $W && cd $W
printf 'module example.com/app\n\ngo 1.22\n\nrequire (\n\texample.com/internal/lib v1.0.0\n)\n' > go.mod
ok "go build, GOPROXY user-info" env GOPROXY="https://ci:$TOK@goproxy.acme.test" go build -o /tmp/out/app ./cmd/app
ok "the binary runs" sh -c '/tmp/out/app | grep -q example.com/internal/lib@v1.0.0'
ok "module cache under GOPATH" test -f /go/pkg/mod/example.com/internal/lib@v1.0.0/go.mod
rm -rf /go/pkg/mod
bad "go mod download, wrong token" env GOPROXY="https://ci:not-the-right-token-000000@goproxy.acme.test" go mod download
bad "private proxy without credentials" env GOPROXY=https://goproxy.acme.test go mod download
printf 'machine goproxy.acme.test\n  login ci\n  password %s\n' "$TOK" > $W/netrc
ok "GOPROXY + NETRC" env NETRC=$W/netrc GOPROXY=https://goproxy.acme.test,direct go mod download
rm -rf /go/pkg/mod
printf 'module example.com/app\nrequire github.com/acme/private v1.2.3\n' > go.mod
ok "GOPRIVATE + git insteadOf" sh -c 'HOME=/tmp/w/h git config --global url."https://$TOK@github.com/".insteadOf "https://github.com/" && HOME=/tmp/w/h GOPRIVATE=github.com/acme go mod download'
rm -rf /go/pkg/mod
bad "GOPRIVATE without git credentials" env HOME=$W/empty GOPRIVATE=github.com/acme go mod download
cd / && rm -rf $W /go/pkg/mod /tmp/out
"""

MVN_SCRIPT = r"""
W=/tmp/w; mkdir -p $W/src/main/java/com/acme && cd $W
echo 'class Main {}' > src/main/java/com/acme/Main.java
printf '<project><artifactId>app</artifactId><version>1.0</version><dependencies><dependency><groupId>com.acme</groupId><artifactId>lib</artifactId><version>2.1</version></dependency></dependencies></project>\n' > pom.xml
printf '<settings><servers><server><id>nexus</id><username>ci</username><password>${env.NEXUS_PASSWORD}</password></server></servers><mirrors><mirror><id>nexus</id><mirrorOf>*</mirrorOf><url>https://nexus.acme.test/repository/maven-public/</url></mirror></mirrors></settings>\n' > settings.xml
ok "mvn -s settings.xml package, \${env.X}" env NEXUS_PASSWORD="$TOK" mvn -B -s settings.xml package
ok "the jar runs" sh -c 'java -jar target/app-1.0.jar | grep -q "1 class"'
ok "dependency in the local repository" test -f /root/.m2/repository/com/acme/lib/2.1/lib-2.1.jar
rm -rf /root/.m2 target
bad "mvn, wrong password" env NEXUS_PASSWORD=not-the-right-token-000000 mvn -s settings.xml package
bad "mvn, variable unset" mvn -s settings.xml package
mkdir -p $W/home/.m2 && sed 's/${env.NEXUS_PASSWORD}/${nexus.pw}/' settings.xml > $W/home/.m2/settings.xml
ok "~/.m2/settings.xml with a -D property" env HOME=$W/home mvn -Dnexus.pw="$TOK" dependency:go-offline
printf '<project><artifactId>app</artifactId><repositories><repository><id>gl</id><url>https://gitlab.acme.test/api/v4/packages/maven</url></repository></repositories><dependencies><dependency><groupId>com.acme</groupId><artifactId>lib</artifactId><version>3</version></dependency></dependencies></project>\n' > pom.xml
printf '<settings><servers><server><id>gl</id><configuration><httpHeaders><property><name>Private-Token</name><value>${env.GL_TOKEN}</value></property></httpHeaders></configuration></server></servers></settings>\n' > gl.xml
ok "pom repository + httpHeaders server" env GL_TOKEN="$TOK" mvn -s gl.xml -Dmaven.repo.local=$W/repo package
bad "java -jar of a missing jar" java -jar /nope.jar
cd / && rm -rf $W /root/.m2
"""

GRADLE_SCRIPT = r"""
W=/tmp/w; mkdir -p $W/src/main/java && cd $W
echo 'class A {}' > src/main/java/A.java
printf "rootProject.name = 'svc'\n" > settings.gradle
printf "plugins { id 'java' }\nrepositories {\n  mavenCentral()\n  maven {\n    url 'https://nexus.acme.test/repository/releases/'\n    credentials {\n      username = 'ci'\n      password = repoPassword\n    }\n  }\n}\ndependencies { implementation 'com.acme:lib:2.1' }\n" > build.gradle
ok "gradle build, ORG_GRADLE_PROJECT_" env ORG_GRADLE_PROJECT_repoPassword="$TOK" gradle build --no-daemon
ok "the jar runs" sh -c 'java -jar build/libs/svc.jar | grep -q "1 class"'
rm -rf build /root/.gradle
ok "gradle -P" gradle -PrepoPassword="$TOK" assemble
rm -rf build /root/.gradle
bad "gradle, wrong password" gradle -PrepoPassword=not-the-right-token-000000 build
bad "gradle, property missing" gradle build
mkdir -p $W/gh && printf 'repoPassword=%s\n' "$TOK" > $W/gh/gradle.properties
ok "GRADLE_USER_HOME/gradle.properties" env GRADLE_USER_HOME=$W/gh gradle build
rm -rf build $W/gh/caches
printf 'plugins { java }\nrepositories {\n  maven {\n    url = uri("https://gitlab.acme.test/api/v4/projects/1/packages/maven")\n    credentials(HttpHeaderCredentials::class) {\n      name = "Private-Token"\n      value = findProperty("glToken") as String? ?: System.getenv("GL_TOKEN")\n    }\n  }\n}\ndependencies { implementation("com.acme:lib:3") }\ntasks.jar { archiveFileName.set("app.jar") }\n' > build.gradle.kts
rm build.gradle
ok "kts: HttpHeaderCredentials from System.getenv" env GL_TOKEN="$TOK" gradle build
ok "kts: archiveFileName" test -f build/libs/app.jar
cd / && rm -rf $W /root/.gradle
"""


@pytest.mark.parametrize(
    "tool,script,base,min_accepted",
    [
        ("npm", NPM_SCRIPT, "node:20", 5),
        ("pip", PIP_SCRIPT, "python:3.12-slim", 6),
        ("curl", CURL_SCRIPT, "ubuntu:22.04", 6),
        ("git", GIT_SCRIPT, "debian:bookworm", 4),
        ("python", PYTHON_SCRIPT, "python:3.12-slim", 2),
        ("go", GO_SCRIPT, "golang:1.22", 3),
        ("mvn", MVN_SCRIPT, "maven:3.9", 5),
        ("gradle", GRADLE_SCRIPT, "gradle:8-jdk17", 4),
    ],
)
def test_standin_authenticates_like_the_real_tool(e2e, tool, script, base, min_accepted):
    tok, result = _tool_build(e2e, tool, script, base)
    assert_built(result)
    assert_saw(e2e.server, tok, "the secret")
    accepted = e2e.server.accepted(tok)
    assert accepted >= min_accepted, f"only {accepted} requests authenticated with the secret: {e2e.server.requests!r}"
    # the secret mount and the stand-ins leave nothing behind
    assert_clean(e2e.scan(result.tag))


def test_wrong_secret_fails_the_build(e2e):
    e2e.canary("NPM_TOKEN")  # what the server expects
    wrong = Canary("NPM_TOKEN")  # what the build gets
    ctx = e2e.context({
        ".npmrc": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
        "Dockerfile": "FROM node:20-alpine\nWORKDIR /app\nCOPY .npmrc .\n"
                      "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n",
    })
    result = e2e.build(ctx, secrets={"npm_token": "NPM_TOKEN"}, env_values={"NPM_TOKEN": wrong})
    assert_failed(result)
    assert "E401" in result.log


# -- this run's base image -----------------------------------------------------------------------

def test_base_names_resolve_to_this_runs_image(e2e):
    """Every way a Dockerfile names a base (FROM, through an ARG, COPY --from, RUN --mount=from)
    starts from this session's own base image, whatever the engine's shared tags hold: the
    result carries this run's label and the address of this session's artifact server."""
    from .baseimage import RUN_LABEL

    ctx = e2e.context({"Dockerfile": (
        "ARG BASE=node:20\n"
        "FROM ubuntu:22.04 AS one\nRUN cp /etc/dfix-artifact-server /one\n"
        "FROM ${BASE} AS two\nRUN cp /etc/dfix-artifact-server /two\n"
        "FROM busybox\nCOPY --from=one /one /one\nCOPY --from=two /two /two\n"
        "COPY --from=python:3.12-slim /etc/dfix-artifact-server /three\n"
        "RUN --mount=from=golang:1.22,target=/g cp /g/etc/dfix-artifact-server /four\n"
        "CMD cat /one /two /three /four\n")})
    result = e2e.build(ctx)
    assert_built(result)
    labels = e2e.engine.run("image", "inspect", "--format", "{{json .Config.Labels}}", result.tag).stdout
    assert f'"{RUN_LABEL}":"{e2e.base.run.id}"' in labels, labels
    out = e2e.engine.run("run", "--rm", "--network", "none", result.tag).stdout
    assert out.split() == [e2e.server.address] * 4, out
    assert result.tag.startswith(e2e.base.run.namespace + "/")


# -- the leak scanner --------------------------------------------------------------------------

def test_leakscan_finds_build_arg_in_history_and_env(e2e):
    tok = e2e.canary("T")
    ctx = e2e.context({"Dockerfile": (
        "FROM busybox\nARG T\n"
        f'RUN wget -q -O /tmp/pkg --header "Authorization: Bearer $T" {e2e.server.url}/pkg\n'
        "ENV X=$T\n")})
    result = e2e.build(ctx, build_args={"T": tok})
    assert_built(result)
    assert_saw(e2e.server, tok, "the build arg")
    report = e2e.scan(result.tag)
    assert_leaked(report, "T", "history")
    assert_leaked(report, "T", "env")
    run_line = any(l.location.startswith("entry") and "RUN |1 T=<T>" in l.location for l in report.leaks_for("T", "history"))
    assert run_line, report.render_text()
    env_x = any(l.location.endswith(" X") for l in report.leaks_for("T", "env"))
    assert env_x, report.render_text()
    assert_absent(report.render_text(), tok, "the rendered report")


def test_leakscan_finds_values_in_layer_files(e2e):
    tok = e2e.canary("T")
    odd = e2e.canary("Q")
    odd_value = Canary("Q", str(odd) + "/+@:=x")  # needs URL-quoting
    e2e.values["Q"] = odd_value
    ctx = e2e.context({"Dockerfile": (
        "FROM busybox\n"
        "RUN --mount=type=secret,id=t,env=T --mount=type=secret,id=q,env=Q "
        'echo "$T" > /raw && printf "ci:%s" "$T" | base64 > /b64 && '
        """printf '%s' "$Q" | sed 's|/|%2F|g; s|+|%2B|g; s|@|%40|g; s|:|%3A|g; s|=|%3D|g' > /quoted && """
        "mkdir -p /etc/app && cp /raw /etc/app/conf\n")})
    result = e2e.build(ctx, secrets={"t": "T", "q": "Q"}, env_values={"T": tok, "Q": odd_value})
    assert_built(result)
    report = e2e.scan(result.tag)
    layers = {(l.secret, l.location.rsplit(" ", 1)[-1], l.encoding) for l in report.leaks_for(channel="layers")}
    for expected in [("T", "/raw", "raw"), ("T", "/etc/app/conf", "raw"), ("T", "/b64", "base64"), ("Q", "/quoted", "url-quoted")]:
        found = expected in layers
        assert found, f"missing {expected}:\n{report.render_text()}"
    for channel in ("history", "env", "labels", "config"):  # a secret mount keeps these clean
        clean = report.status("T", channel) == "clean" and report.status("Q", channel) == "clean"
        assert clean, report.render_text()
    layer_loc = any(l.location.startswith("layer 2/2 ") for l in report.leaks_for("T", "layers"))
    assert layer_loc, report.render_text()


def test_encodings_and_masking_never_show_the_value():
    value = Canary("V")
    needles = {label for label, _ in encodings(value)}
    assert {"raw", "base64", "url-quoted"} <= needles or {"raw", "base64"} <= needles
    odd = {label for label, _ in encodings("a?>?~~ b>>>?/+=")}  # base64 with + and /: a distinct URL-safe form
    assert {"raw", "base64", "base64url", "url-quoted"} <= odd
    import base64
    embedded = base64.b64encode(b"user:" + str(value).encode()).decode()
    text = f"a {value} b {embedded} c"
    m = Matcher({"V": value})
    assert {enc for _, enc in m.find_text(text)} >= {"raw", "base64"}
    masked = mask_values(text, {"V": value})
    assert_absent(masked, value, "masked text")
    assert "<V>" in masked
    assert repr(value) == "<canary V>"


# -- dfix verify -------------------------------------------------------------------------------

def _fake_plan(original: str, fixed: str, secret_args=("NPM_TOKEN",), secrets_=None):
    from refactor.api import Planned
    from refactor.buildspec import BuildSpec, SecretSpec

    def plan(path, *, mount_style="env", unsafe_fixes=False):
        specs = secrets_ or tuple(SecretSpec(a.lower(), "env", env=a) for a in secret_args)
        return Planned(path, original, fixed, BuildSpec(path, ".", specs), tuple(secret_args), ())
    return plan


@pytest.fixture
def verify_run(e2e, monkeypatch, docker_shim):
    """Run `dfix verify` in-process; every value it generates is recorded and accepted by the server.
    `docker` on PATH is the session's shim: the base names map to this run's base image."""
    import os

    from refactor import verify as verify_mod

    monkeypatch.setenv("PATH", f"{docker_shim}{os.pathsep}{os.environ.get('PATH', '')}")

    generated: list[Canary] = []
    real = _secrets.token_hex

    def token_hex(n=None):
        value = real(n)
        if n == 16:
            generated.append(Canary("verify", value))
            e2e.server.expect(value)
        return value

    monkeypatch.setattr(verify_mod.secrets, "token_hex", token_hex)

    def run(*args):
        result = CliRunner().invoke(verify_mod.verify, [*args, "--network", "host"])
        for value in generated:
            assert_absent(result.output, value, "dfix verify output")
        return result
    run.generated = generated
    return run


# Each test fetches its own path: BuildKit runs identical RUN steps of concurrent builds once (a
# secret is not part of the step's identity, even with --no-cache). Concurrent sessions build on
# different base images (one per run), so this only matters within one session.
LEAKY = "FROM busybox\nARG NPM_TOKEN\nRUN wget -q -O /tmp/pkg --header \"Authorization: Bearer $NPM_TOKEN\" {url}/{path}\n"
FIXED = ("FROM busybox\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN "
         "wget -q -O /tmp/pkg --header \"Authorization: Bearer $NPM_TOKEN\" {url}/{path}\n")


def test_verify_machinery_with_a_given_plan(e2e, verify_run, monkeypatch, tmp_path):
    """`dfix verify` against a hand-written plan: --original leaks (1), the rewrite is clean (0)."""
    import refactor.api

    url = e2e.server.url
    df = tmp_path / "Dockerfile"
    leaky_text, fixed_text = LEAKY.format(url=url, path="given-plan"), FIXED.format(url=url, path="given-plan")
    df.write_text(leaky_text)
    monkeypatch.setattr(refactor.api, "plan_file", _fake_plan(leaky_text, fixed_text))

    leaky = verify_run(str(df), "--original")
    assert leaky.exit_code == 1, leaky.output
    assert "LEAK" in leaky.output and "RUN |1 NPM_TOKEN=<NPM_TOKEN>" in leaky.output, leaky.output
    assert "only dfix command that runs anything" in leaky.output

    clean = verify_run(str(df))
    assert clean.exit_code == 0, clean.output
    assert "result: PASS" in clean.output and "--secret id=npm_token,env=NPM_TOKEN" in clean.output, clean.output
    saw = e2e.server.saw(verify_run.generated[-1])
    assert saw, (f"the rewritten build did not authenticate with the secret ({len(verify_run.generated)} values,"
                 f" accepted {e2e.server.accepted(verify_run.generated[-1])}, {e2e.server!r} {e2e.server.requests!r})")
    import re

    tags = re.findall(r"-t (dfix-verify-[0-9a-f]+)", leaky.output + clean.output)
    assert len(tags) == 2, leaky.output + clean.output
    left = [t for t in tags if e2e.engine.run("image", "inspect", t, check=False).returncode == 0]
    assert not left, f"dfix verify left images behind: {left}"


def test_verify_build_failure_masks_values(e2e, verify_run, monkeypatch, tmp_path):
    import refactor.api

    broken = ("FROM busybox\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN "
              "sh -c 'echo \"token is $NPM_TOKEN\"; echo \"b64 $(printf %s $NPM_TOKEN | base64)\"; exit 3'\n")
    df = tmp_path / "Dockerfile"
    df.write_text(broken)
    monkeypatch.setattr(refactor.api, "plan_file", _fake_plan(broken, broken))
    result = verify_run(str(df))
    assert result.exit_code == 2, result.output
    assert "token is <NPM_TOKEN>" in result.output and "build FAILED" in result.output, result.output


def test_verify_without_builder_exits_2(tmp_path, monkeypatch):
    from refactor import verify as verify_mod

    monkeypatch.setattr(verify_mod, "_works", lambda cmd: False)
    df = tmp_path / "Dockerfile"
    df.write_text("FROM busybox\n")
    result = CliRunner().invoke(verify_mod.verify, [str(df)])
    assert result.exit_code == 2 and "no builder" in result.output, result.output


def test_verify_catches_leak_and_passes_clean(e2e, verify_run, tmp_path):
    """With the real rewrite engine: the original leaks, `dfix --write`'s file is clean."""
    from refactor.api import plan_file

    df = tmp_path / "Dockerfile"
    df.write_text(LEAKY.format(url=e2e.server.url, path="real-plan"))
    try:
        plan_file(str(df))
    except NotImplementedError:
        pytest.skip("refactor.api.plan_file is still a stub")

    leaky = verify_run(str(df), "--original")
    assert leaky.exit_code == 1, leaky.output
    assert "RUN |1 NPM_TOKEN=<NPM_TOKEN>" in leaky.output, leaky.output

    clean = verify_run(str(df))
    assert clean.exit_code == 0, clean.output
    saw = e2e.server.saw(verify_run.generated[-1])
    assert saw, "the rewritten build did not authenticate with the secret"


def test_verify_on_buildah(e2e, verify_run, tmp_path, monkeypatch):
    """The second builder: buildah 1.28 gets the file form of the mount; verify scans its image."""
    import os
    import shutil
    import subprocess

    from .conftest import REQUIRE

    if shutil.which("buildah") is None:
        if REQUIRE:
            pytest.fail("buildah is not installed (CI installs it: apt-get install buildah)")
        pytest.skip("buildah is not installed")
    store = tmp_path / "containers"
    conf = tmp_path / "storage.conf"
    conf.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{store}/root"\nrunroot = "{store}/run"\n')
    monkeypatch.setenv("CONTAINERS_STORAGE_CONF", str(conf))
    monkeypatch.setenv("BUILDAH_ISOLATION", "chroot")
    archive = tmp_path / "base.tar"
    e2e.engine.run("save", "-o", str(archive), e2e.base.image)  # this run's base image, as `busybox` below
    pulled = subprocess.run(["buildah", "pull", "-q", f"docker-archive:{archive}"], capture_output=True, text=True,
                            timeout=300, env=dict(os.environ))
    assert pulled.returncode == 0, pulled.stderr
    subprocess.run(["buildah", "tag", pulled.stdout.strip(), "docker.io/library/busybox:latest"], check=True,
                   capture_output=True, timeout=60)

    df = tmp_path / "Dockerfile"
    df.write_text(LEAKY.format(url=e2e.server.url, path="buildah"))
    leaky = verify_run(str(df), "--builder", "buildah", "--original")
    assert leaky.exit_code == 1, leaky.output
    assert "|1 NPM_TOKEN=<NPM_TOKEN>" in leaky.output, leaky.output

    clean = verify_run(str(df), "--builder", "buildah")
    assert clean.exit_code == 0, clean.output
    assert "file form" in clean.output, clean.output
    saw = e2e.server.saw(verify_run.generated[-1])
    assert saw, "the buildah build did not authenticate with the secret"

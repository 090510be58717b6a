"""Issue 16, class 1: credentials committed anywhere in a Dockerfile (DF003), never printed.

Token-format values are generated at run time from a fixed seed (format-valid, obviously fake), so
no credential-looking literal is committed here. Every case is a whole Dockerfile judged by
``analyze``; a "hit" is a DF003 finding on the given line.
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run
from refactor.analysis.literals import mask_values, scan
from refactor.analysis.secrets import literal_tokens
from refactor.analyze import analyze
from refactor.source import SourceFile

RNG = random.Random(16)
ALNUM = string.ascii_letters + string.digits


def _r(n: int, alphabet: str = ALNUM) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


GHP = "ghp_" + _r(36)
GH_FINE = "github_pat_" + _r(22) + "_" + _r(59)
GLPAT = "glpat-" + _r(20)
NPM = "npm_" + _r(36)
SLACK = "xoxb-" + _r(12, string.digits) + "-" + _r(24)
AKIA = "AKIA" + _r(16, string.ascii_uppercase + string.digits)
STRIPE = "sk_live_" + _r(24)
TELEGRAM = _r(9, string.digits[1:]) + ":AA" + _r(33)
BEARER = _r(40)
PEM_BODY = "\\n".join(_r(64, ALNUM + "+/") for _ in range(4))
PASSWORD = "Hq7" + _r(9)  # a real-looking password


def _df003_lines(text: str) -> list[int]:
    a = analyze(SourceFile.from_text("Dockerfile", text))
    src = a.source
    return sorted(src.position(f.start)[0] for f in a.findings if f.code == "DF003" and f.variable is None)


def _df(*lines: str) -> str:
    return "FROM alpine:3.20\n" + "\n".join(lines) + "\n"


# (id, instruction lines, expected DF003 line)
MUST_FLAG = [
    ("github-token-in-clone-url", [f"RUN git clone https://x-access-token:{GHP}@github.com/o/r"], 2),
    ("github-fine-grained-in-header", [f'RUN curl -H "Authorization: token {GH_FINE}" https://api.github.com/x'], 2),
    ("gitlab-token-as-url-password", [f"RUN git clone https://oauth2:{GLPAT}@gitlab.example.com/g/p.git"], 2),
    ("npm-token-in-npmrc-echo", [f'RUN echo "//registry.npmjs.org/:_authToken={NPM}" > ~/.npmrc && npm ci'], 2),
    ("slack-token-in-curl", [f'RUN curl -d "token={SLACK}" https://slack.com/api/chat.postMessage'], 2),
    ("aws-key-id-in-run", [f"RUN aws configure set aws_access_key_id {AKIA}"], 2),
    ("stripe-live-key", [f"RUN curl -u {STRIPE}: https://api.stripe.com/v1/charges"], 2),
    ("telegram-bot-token-in-url", [f"RUN curl https://api.telegram.org/bot{TELEGRAM}/sendMessage"], 2),
    ("pem-private-key-in-run", [f"RUN echo '-----BEGIN RSA PRIVATE KEY-----\\n{PEM_BODY}\\n-----END RSA PRIVATE KEY-----' > /k"], 2),
    ("url-password-pip-index", [f"RUN pip install -i https://ci:{PASSWORD}@pypi.example.com/simple app"], 2),
    ("url-password-pip-config", [f"RUN pip config set global.index-url https://ci:{PASSWORD}@pypi.example.com/simple"], 2),
    ("url-password-git-clone", [f"RUN git clone https://bob:{PASSWORD}@git.example.com/o/r.git"], 2),
    ("curl-u-user-password", [f"RUN curl -fsSL -u admin:{PASSWORD} https://repo.example.com/a.tgz -o /a.tgz"], 2),
    ("curl-user-long-option", [f"RUN curl --user 'deploy:{PASSWORD}' https://repo.example.com/a"], 2),
    ("bearer-header", [f'RUN curl -H "Authorization: Bearer {BEARER}" https://api.example.com/x'], 2),
    ("basic-header", [f'RUN curl -H "Authorization: Basic {base64.b64encode(f"bob:{PASSWORD}".encode()).decode()}" https://x.example.com'], 2),
    ("jfrog-header", [f'RUN curl -H "X-JFrog-Art-Api: {BEARER}" https://art.example.com/x'], 2),
    ("npm-config-set-authtoken", [f"RUN npm config set //npm.example.com/:_authToken {BEARER}"], 2),
    ("docker-login-p", [f"RUN docker login -u bob -p {PASSWORD} registry.example.com"], 2),
    ("password-stdin-literal", [f"RUN echo {PASSWORD} | docker login -u bob --password-stdin registry.example.com"], 2),
    ("mysql-glued-p", [f"RUN mysql -uroot -p{PASSWORD} -e 'select 1'"], 2),
    ("htpasswd-b", [f"RUN htpasswd -bc /etc/nginx/.htpasswd admin {PASSWORD}"], 2),
    ("password-option", [f"RUN /opt/install.sh --admin-user root --password {PASSWORD} -y"], 2),
    ("pgpassword-assignment", [f"RUN PGPASSWORD={PASSWORD} psql -h db -U app -c 'select 1'"], 2),
    ("sql-identified-by", [f"RUN mysql -e \"CREATE USER 'app'@'%' IDENTIFIED BY '{PASSWORD}';\""], 2),
    ("continued-line", ["RUN curl -fsSL \\", f"    -u ci:{PASSWORD} \\", "    https://repo.example.com/a"], 3),
    ("wget-password-equals", [f"RUN wget --user=bob --password={PASSWORD} https://repo.example.com/a"], 2),
    ("dotted-long-option", [f"RUN java -jar /app.jar --spring.datasource.password={PASSWORD}"], 2),
    ("netrc-line", [f'RUN echo "machine git.example.com login bob password {PASSWORD}" > /root/.netrc'], 2),
    # issue #20 round two, point 1: a password printf/echo writes into .netrc, .pypirc, .npmrc
    ("netrc-printf-trailing-escape", [f"RUN printf 'machine repo.example.com login deploy password {PASSWORD}\\n' > /root/.netrc"], 2),
    ("netrc-printf-one-token-a-line", [f"RUN printf 'machine repo.example.com\\nlogin deploy\\npassword {PASSWORD}\\n' > /root/.netrc"], 2),
    ("netrc-printf-indented-lines", [f"RUN printf 'machine h.example.com\\n  login u\\n  password {PASSWORD}\\n' > /root/.netrc"], 2),
    ("netrc-printf-format-argument", [f"RUN printf '%s\\n' 'machine h.example.com login u password {PASSWORD}' > .netrc"], 2),
    ("netrc-password-before-login", [f"RUN printf 'machine h.example.com password {PASSWORD} login u\\n' >> ~/.netrc"], 2),
    ("netrc-account-then-password", [f"RUN printf 'machine h.example.com login u account ops password {PASSWORD}\\n' > ~/.netrc"], 2),
    ("netrc-echo-tab-escapes", [f"RUN echo -e 'machine h.example.com\\tlogin u\\tpassword {PASSWORD}' > /root/.netrc"], 2),
    ("netrc-continued-lines", ["RUN echo machine h.example.com \\", "    login u \\", f"    password {PASSWORD} > /root/.netrc"], 4),
    ("netrc-heredoc", ["RUN cat > /root/.netrc <<EOF", "machine h.example.com", "login u", f"password {PASSWORD}", "EOF"], 5),
    ("pypirc-printf", [f"RUN printf '[pypi]\\nusername = deploy\\npassword = {PASSWORD}\\n' > /root/.pypirc"], 2),
    ("npmrc-printf-authtoken", [f"RUN printf '//npm.example.com/:_authToken={BEARER}\\n' > /root/.npmrc"], 2),
    ("pip-conf-url-printf", [f"RUN printf '[global]\\nindex-url = https://ci:{PASSWORD}@pypi.example.com/simple\\n' > /etc/pip.conf"], 2),
    ("sshpass-p", [f"RUN sshpass -p '{PASSWORD}' scp bob@h.example.com:/a /a"], 2),
    ("mongosh-p", [f"RUN mongosh admin -u root -p {PASSWORD} --eval 'db.stats()'"], 2),
    ("chpasswd-echo", [f"RUN echo 'root:{PASSWORD}' | chpasswd"], 2),
    ("windows-net-user", [f"RUN net user builder {PASSWORD} /ADD"], 2),
    ("label-with-token", [f'LABEL ci.token="{GHP}"'], 2),
    ("token-in-comment", [f"# old: git clone https://{GHP}@github.com/o/r", "RUN true"], 2),
]

MUST_NOT_FLAG = [
    ("placeholder-password-word", ["RUN curl -u user:password https://x.example.com"]),
    ("default-admin-admin", ["RUN curl -u admin:admin https://x.example.com"]),
    ("variables-in-curl-u", ["RUN curl -u $USER:$PASS https://x.example.com"]),
    ("url-changeme", ["RUN pip install -i https://user:changeme@pypi.example.com/simple app"]),
    ("url-angle-placeholders", ["RUN git clone https://<user>:<token>@github.com/o/r"]),
    ("url-upper-placeholders", ["RUN git clone https://USER:PASS@github.com/o/r"]),
    ("url-variable-password", ["RUN git clone https://bob:${GIT_TOKEN}@github.com/o/r"]),
    ("url-command-substitution", ["RUN git clone https://bob:$(cat /run/secrets/t)@github.com/o/r"]),
    ("url-user-equals-password", ["ENV BROKER=amqp://guest:guest@rabbitmq:5672/"]),
    ("db-url-without-password", ["ENV DATABASE_URL=postgres://db:5432/app"]),
    ("url-without-userinfo", ["RUN curl -fsSL https://github.com/o/r/archive/v1.tar.gz | tar -xz"]),
    ("ssh-url-user-only", ["RUN git clone ssh://git@github.com/o/r.git"]),
    ("scp-style-git", ["RUN git clone git@github.com:o/r.git"]),
    ("bearer-variable", ['RUN curl -H "Authorization: Bearer $TOKEN" https://api.example.com']),
    ("bearer-placeholder", ['RUN curl -H "Authorization: Bearer <your-token>" https://api.example.com']),
    ("basic-of-placeholder", [f'RUN curl -H "Authorization: Basic {base64.b64encode(b"user:pass").decode()}" https://x']),
    ("npmrc-reference", ['RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > ~/.npmrc']),
    ("docker-login-variable", ["RUN docker login -u bob -p $REGISTRY_PASSWORD registry.example.com"]),
    ("mysql-prompt", ["RUN mysql -uroot -p -e 'select 1'"]),
    ("mysql-root-root", ["RUN mysql -uroot -proot -e 'select 1'"]),
    ("mysql-package-name", ["RUN apt-get install -y php-mysql mysql-client default-mysql-client"]),
    ("htpasswd-default", ["RUN htpasswd -bc /etc/nginx/.htpasswd admin admin"]),
    ("password-stdin-variable", ['RUN echo "$PW" | docker login -u bob --password-stdin r.example.com']),
    ("disabled-password-flag", ["RUN adduser --disabled-password --gecos '' appuser"]),
    ("disabled-password-then-user", ["RUN adduser --disabled-password appuser"]),
    ("password-from-urandom", ["RUN useradd --password $(head -c32 /dev/urandom | base64) penguin"]),
    ("password-empty-hash", ['RUN useradd nopasswd -p ""']),
    ("password-argon-configure-flag", ["RUN ./configure --with-password-argon2 --with-sodium"]),
    ("aws-example-key", ["RUN aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE"]),
    ("fake-github-token", ["RUN git clone https://ghp_" + "x" * 36 + "@github.com/o/r"]),
    ("sed-password-template", ["RUN sed -i 's/^password=.*/password=${PW}/' /etc/app.conf"]),
    ("keytool-changeit", ["RUN keytool -importcert -noprompt -storepass changeit -file /ca.crt -alias ca"]),
    ("option-taking-a-file", ["RUN curl -sSL https://x.example.com/s > proxy-secret && app --aes-pwd proxy-secret"]),
    ("windows-env-reference", ["RUN msiexec /i app.msi PASSWORD=%ADMIN_PASSWORD%"]),
    ("helm-template-marker", ["RUN echo 'password: {{ .Values.dbPassword }}' > /values.yaml"]),
    ("pem-header-then-variable", ['RUN echo "-----BEGIN OPENSSH PRIVATE KEY-----" > /k && echo "$KEY" >> /k']),
    ("certificate-block", [f"RUN echo '-----BEGIN CERTIFICATE-----\\n{PEM_BODY}\\n-----END CERTIFICATE-----' > /ca.crt"]),
    ("env-runtime-reference", ["ENV DB_PASSWORD=${DB_PASSWORD}"]),
    ("contextual-literal-in-comment", [f"# example: curl -u admin:{PASSWORD} https://x.example.com", "RUN true"]),
    ("sha256-digest", ["RUN echo 'a3f5b9c1d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f  x.tgz' | sha256sum -c"]),
    ("gpg-fingerprint", ["RUN gpg --batch --keyserver keyserver.ubuntu.com --recv-keys B42F6819007F00F88E364FD4036A9C25BF357DD4"]),
    ("chpasswd-default", ["RUN echo 'root:root' | chpasswd"]),
    ("chpasswd-placeholder-words", ['RUN echo "someuser:somepasswd" | chpasswd']),
    ("mongod-port-flag", ["RUN mongod --port 27017 --bind_ip_all"]),
    ("dotted-option-not-password", ["RUN java -jar /app.jar --spring.profiles.active=prod"]),
    ("net-user-leet-default", ["RUN net user /add builder Passw0rd"]),
    ("netrc-changeme", ["RUN printf 'machine h.example.com login u password changeme\\n' > ~/.netrc"]),
    ("netrc-variable", ['RUN echo "machine h.example.com login u password $NETRC_PASSWORD" > ~/.netrc']),
    ("netrc-braced-variable", ["RUN printf 'machine h.example.com\\nlogin u\\npassword ${PW}\\n' > ~/.netrc"]),
    ("netrc-angle-placeholder", ['RUN echo "machine h.example.com login u password <password>" > ~/.netrc']),
    ("netrc-printf-format-directive", ["RUN printf 'machine h.example.com login u password %s\\n' \"$PW\" > ~/.netrc"]),
    ("netrc-command-substitution", ['RUN echo "machine h.example.com login u password $(cat /run/secrets/pw)" > ~/.netrc']),
    ("netrc-heredoc-variable", ["RUN cat > /root/.netrc <<EOF", "machine h.example.com", "login u", "password ${NETRC_PASSWORD}", "EOF"]),
    ("netrc-escaped-backslash", ["RUN printf 'machine h.example.com login u password Hq7xk2\\\\n' > ~/.netrc"]),
    ("pypirc-variable", ["RUN printf '[pypi]\\nusername = __token__\\npassword = ${PYPI_TOKEN}\\n' > /root/.pypirc"]),
    ("pypirc-placeholder", ["RUN printf '[pypi]\\nusername = deploy\\npassword = <your-password>\\n' > /root/.pypirc"]),
    ("http-auth-rewrite-rule", ["RUN echo 'RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]' >> /etc/apache2/a.conf"]),
]


@pytest.mark.parametrize(("lines", "line"), [pytest.param(c[1], c[2], id=c[0]) for c in MUST_FLAG])
def test_committed_literal_is_flagged(lines, line) -> None:
    assert _df003_lines(_df(*lines)) == [line]


@pytest.mark.parametrize("lines", [pytest.param(c[1], id=c[0]) for c in MUST_NOT_FLAG])
def test_stand_in_is_not_flagged(lines) -> None:
    assert _df003_lines(_df(*lines)) == []


def test_more_must_not_than_must() -> None:
    assert len(MUST_NOT_FLAG) > len(MUST_FLAG)


def test_arg_default_literal_is_reported_with_its_variable_once() -> None:
    """A literal inside an ARG/ENV value is judged with its variable (DF003 names it), never twice."""
    a = analyze(SourceFile.from_text("Dockerfile", _df(f'ENV JAVA_OPTS="-Dnexus.password={PASSWORD}"')))
    df003 = [f for f in a.findings if f.code == "DF003"]
    assert [f.variable for f in df003] == ["JAVA_OPTS"]
    assert any(f.code == "DF002" and f.variable == "JAVA_OPTS" for f in a.findings)


def test_password_named_variable_with_a_real_literal_is_committed() -> None:
    a = analyze(SourceFile.from_text("Dockerfile", _df(f"ENV MYSQL_ROOT_PASSWORD={PASSWORD}", "ENV POSTGRES_PASSWORD=postgres")))
    assert {(f.code, f.variable) for f in a.findings if f.code == "DF003"} == {("DF003", "MYSQL_ROOT_PASSWORD")}


def test_fix_is_display_only_with_rotation_advice() -> None:
    a = analyze(SourceFile.from_text("Dockerfile", _df(f"RUN curl -u admin:{PASSWORD} https://x.example.com")))
    (f,) = [f for f in a.findings if f.code == "DF003"]
    assert f.fix is not None and f.fix.applicability.label == "display-only"
    assert "rotate" in f.message and "rotate" in f.fix.title.lower()


def test_messages_never_hold_the_value() -> None:
    lines = [c[1] for c in MUST_FLAG]
    text = _df(*[ln for group in lines for ln in group])
    a = analyze(SourceFile.from_text("Dockerfile", text))
    for f in a.findings:
        for lit in scan(text):
            value = text[lit.start:lit.end]
            assert value not in f.message and (f.fix is None or all(value not in r for r in f.fix.reasons))


def test_every_flagged_literal_is_masked() -> None:
    """``literal_tokens`` (what outputs mask) covers every span a DF003 reports."""
    text = _df(*[ln for c in MUST_FLAG for ln in c[1]])
    masks = literal_tokens(text)
    a = analyze(SourceFile.from_text("Dockerfile", text))
    for f in a.findings:
        if f.code != "DF003":
            continue
        for piece in text[f.start:f.end].split("\\n"):
            piece = piece.strip().strip("\\").strip("'\"")
            if len(piece) >= 4:
                assert any(piece in m or m in piece for m in masks), f.message
    assert set(mask_values(text)) <= set(masks)


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "markdown"])
@pytest.mark.parametrize("mode", [[], ["--diff"], ["--write", "--unsafe-fixes"]])
def test_canaries_in_run_never_reach_any_output(tmp_path, fmt, mode) -> None:
    pw = "Cx" + _r(14)
    tok = "ghp_" + _r(36)
    bearer = _r(32)
    df = (
        "FROM node:20\n"
        "ARG NPM_TOKEN\n"
        f"RUN curl -u deploy:{pw} https://repo.example.com/a -o /a\n"
        f"RUN git clone https://x-access-token:{tok}@github.com/o/r /r\n"
        f'RUN curl -H "Authorization: Bearer {bearer}" https://api.example.com/x\n'
        "RUN npm ci\n"
    )
    p = tmp_path / "Dockerfile"
    p.write_text(df)
    code, out, err = run(mode + ["--format", fmt, "--verbose", str(p)])
    for v in (pw, tok, bearer):
        assert v not in out and v not in err, (fmt, mode)
    if fmt == "json":
        doc = json.loads(out)
        assert sum(f["code"] == "DF003" for f in doc["files"][0]["findings"]) == 3


@pytest.mark.parametrize("text", [
    pytest.param("curl " * 40000, id="curl-repeated"),
    pytest.param("://a:" * 40000, id="url-colons"),
    pytest.param("-----BEGIN RSA PRIVATE KEY-----" * 5000, id="key-headers"),
    pytest.param("a" * 200000 + "=" + "b" * 200000, id="long-assignment"),
    pytest.param("--password " * 30000, id="password-options"),
    pytest.param("mysql " + "x " * 100000 + "-p", id="mysql-long-command"),
    pytest.param("htpasswd -b " + "a " * 100000, id="htpasswd-long"),
    pytest.param("PASSWORD" * 50000, id="cred-word-run"),
    pytest.param("echo a:b " * 40000 + "| chpasswd", id="chpasswd-long"),
    pytest.param("net user " * 40000, id="net-user-repeated"),
    pytest.param("mongo " + "-u x " * 50000, id="mongo-long-command"),
    pytest.param("machine h login u " * 30000, id="netrc-repeated"),
    pytest.param("https://" + "a" * 100000 + ":" + "b" * 100000, id="url-without-at"),
])
def test_scanning_is_linear(text) -> None:
    """No catastrophic backtracking on long repetitive input.

    HANG GUARD, NOT A PERFORMANCE ASSERTION: the scan runs in a child process that is killed after
    ``SCAN_HANG_GUARD`` seconds. A linear scan of these inputs (0.2-0.5 MB) takes well under a
    second; exponential backtracking, or quadratic work at these sizes (10^10 steps and more),
    does not finish in that time. The timings themselves, and how they grow when the input
    doubles, are measured by ``bench/scan_linearity.py``."""
    try:
        proc = subprocess.run([sys.executable, "-c", _SCAN_CHILD], input=text, capture_output=True, text=True,
                              timeout=SCAN_HANG_GUARD, env=dict(os.environ, PYTHONPATH=_PYTHONPATH))
    except subprocess.TimeoutExpired:
        pytest.fail(f"scan() did not finish within the {SCAN_HANG_GUARD} s hang guard: catastrophic backtracking")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().isdigit(), proc.stdout[-500:]


SCAN_HANG_GUARD = 120  # seconds; see test_scanning_is_linear
_SCAN_CHILD = "import sys; from refactor.analysis.literals import scan; print(len(scan(sys.stdin.read())))"
_PYTHONPATH = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH")]))

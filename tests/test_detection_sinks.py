"""Issue 16, class 3: a bland name becomes a secret when its value flows into a credential sink.

Every case names its build arg blandly (``V``, ``DEPLOY``, ``BLOB``), so only the use can decide.
"""

from __future__ import annotations

import pytest

from refactor.analysis.shell import _USE_PATTERNS, _auth_index, auth_uses
from refactor.analyze import analyze
from refactor.source import SourceFile


def _secret(text: str, name: str) -> bool:
    a = analyze(SourceFile.from_text("Dockerfile", "FROM alpine:3.20\n" + text + "\n"))
    return any(f.code == "DF001" and f.variable == name for f in a.findings)


MUST_FLAG = [
    # private keys
    ("ssh-identity-file", 'ARG DEPLOY\nRUN mkdir -p /root/.ssh && echo "$DEPLOY" > /root/.ssh/id_ed25519 && chmod 600 /root/.ssh/id_ed25519'),
    ("identity-file-via-base64", 'ARG BLOB\nRUN echo "$BLOB" | base64 -d > ~/.ssh/id_rsa'),
    ("between-key-markers", 'ARG BODY\nRUN printf -- "-----BEGIN RSA PRIVATE KEY-----\\n%s\\n-----END RSA PRIVATE KEY-----\\n" "$BODY" > /k && echo "-----BEGIN OPENSSH PRIVATE KEY-----\n$BODY" > /k2'),
    ("tls-key-file", 'ARG TLS\nRUN echo "$TLS" > /etc/ssl/private/server.key'),
    ("pem-key-file", 'ARG PK\nRUN echo "$PK" > /app/privkey.pem'),
    ("server-pem-file", 'ARG X\nRUN echo "$X" > /app/server.pem'),
    ("pkcs12-file", 'ARG STORE\nRUN echo "$STORE" | base64 -d > /app/keystore.p12'),
    # password options and clients
    ("db-password-option", "ARG V\nRUN /opt/setup --db-password=$V --db-host db"),
    ("admin-password-option", 'ARG V\nRUN ./install.sh --admin-password "$V"'),
    ("htpasswd-b", 'ARG V\nRUN htpasswd -bc /etc/nginx/.htpasswd admin "$V"'),
    ("htpasswd-nb", "ARG V\nRUN htpasswd -nb admin $V > /etc/nginx/.htpasswd"),
    ("mysql-glued-p", 'ARG V\nRUN mysql -uroot -p"$V" -e "select 1"'),
    ("mysqladmin-password", "ARG V\nRUN mysqladmin -uroot password $V"),
    ("redis-cli-a", "ARG V\nRUN redis-cli -a $V ping"),
    ("sql-identified-by", "ARG V\nRUN mysql -e \"CREATE USER 'app'@'%' IDENTIFIED BY '$V'\""),
    ("chpasswd", 'ARG V\nRUN echo "root:$V" | chpasswd'),
    ("keytool-storepass", "ARG V\nRUN keytool -importcert -noprompt -storepass $V -file /ca.crt"),
    ("openssl-pass", "ARG V\nRUN openssl pkcs12 -export -passout pass:$V -out /x.p12"),
    # package sources of other ecosystems
    ("nuget-sources-password", "ARG V\nRUN nuget sources add -Name n -Source https://n.example.com/v3/index.json -UserName u -Password $V"),
    ("dotnet-nuget-p", "ARG V\nRUN dotnet nuget add source https://n.example.com/v3/index.json -n n -u u -p $V --store-password-in-clear-text"),
    ("dotnet-restore-source-url", "ARG V\nRUN dotnet restore -s https://u:$V@n.example.com/v3/index.json"),
    ("gem-sources-url", "ARG V\nRUN gem sources -a https://u:$V@gems.example.com/"),
    ("bundle-config-host", "ARG V\nRUN bundle config gems.example.com u:$V"),
    ("bundle-config-token", "ARG V\nRUN bundle config set --global gems.contribsys.com $V"),
    ("composer-http-basic", "ARG V\nRUN composer config --global http-basic.repo.example.com u $V"),
    ("composer-github-oauth", "ARG V\nRUN composer config -g github-oauth.github.com $V"),
    ("cargo-login", "ARG V\nRUN cargo login $V"),
    ("cargo-credentials-toml", 'ARG V\nRUN printf \'[registry]\\ntoken = "%s"\\n\' "$V" > ~/.cargo/credentials.toml && echo "token = \\"$V\\"" >> /x'),
    ("goproxy-with-credentials", "ARG V\nENV GOPROXY=https://u:${V}@proxy.example.com,direct\nRUN go mod download"),
    ("url-token-user-oauth-basic", 'ARG V\nRUN git config --global url."https://$V:x-oauth-basic@github.com/".insteadOf https://github.com/'),
    ("url-token-user", "ARG V\nRUN git clone https://${V}@github.com/o/r.git"),
    ("sshpass", 'ARG V\nRUN sshpass -p "$V" scp bob@h.example.com:/a /a'),
    ("mongosh-p", 'ARG V\nRUN mongosh admin -u root -p "$V" --eval 1'),
    ("ssh-add-pipe", 'ARG V\nRUN eval $(ssh-agent) && echo "$V" | tr -d "\\r" | ssh-add - && git clone git@h.example.com:o/r'),
    ("service-account-json-write", 'ARG V\nRUN echo "$V" > /app/credentials.json && gcloud auth activate-service-account --key-file /app/credentials.json'),
    ("netrc-write", 'ARG V\nRUN echo "$V" > /root/.netrc'),
    ("kubeconfig-write", 'ARG V\nRUN mkdir -p /root/.kube && echo "$V" | base64 -d > /root/.kube/config'),
    ("dotted-option", "ARG V\nRUN java -jar /app.jar --spring.datasource.password=$V"),
    # copied into a credential-named variable
    ("pgpassword", "ARG V\nRUN PGPASSWORD=$V psql -h db -U app -c 'select 1'"),
    ("export-db-password", 'ARG V\nRUN export DB_PASSWORD="$V" && ./migrate'),
    ("env-credential-name", "ARG V\nENV MYSQL_ROOT_PASSWORD=$V"),
    ("maven-property", "ARG V\nRUN mvn -B deploy -Dnexus.password=$V"),
]

MUST_NOT_FLAG = [
    ("authorized-keys", 'ARG KEYS\nRUN echo "$KEYS" >> /root/.ssh/authorized_keys'),
    ("known-hosts", 'ARG HOSTLINE\nRUN echo "$HOSTLINE" >> /root/.ssh/known_hosts'),
    ("public-key-file", 'ARG K\nRUN echo "$K" > /root/.ssh/id_rsa.pub'),
    ("certificate-file", 'ARG CA\nRUN echo "$CA" > /usr/local/share/ca-certificates/corp.crt'),
    ("certificate-pem-in-certs", 'ARG CA\nRUN echo "$CA" > /etc/ssl/certs/corp-ca.pem'),
    ("download-into-key-file", "ARG HOST\nRUN curl -fsSL https://$HOST/repo.key > /etc/apt/keyrings/repo.key"),
    ("ssh-config", 'ARG HOST\nRUN echo "Host $HOST" >> /root/.ssh/config'),
    ("password-file-option", "ARG V\nRUN rsync --password-file $V rsync://h/x /x"),
    ("disabled-password-flag", "ARG NAME\nRUN adduser --disabled-password $NAME"),
    ("password-stdin-flag-only", "ARG REGISTRY\nRUN docker login --password-stdin $REGISTRY < /dev/null"),
    ("htpasswd-user-not-password", "ARG ADMIN\nRUN htpasswd -bc /etc/nginx/.htpasswd $ADMIN letmein"),
    ("mysql-prompt-and-host", "ARG DB_HOST\nRUN mysql -h $DB_HOST -u root -p -e 'select 1'"),
    ("mysql-user", "ARG DB_USER\nRUN mysql -u $DB_USER -pX7kq2LmZp9 -e 'select 1'"),
    ("bundle-config-path", "ARG VENDOR\nRUN bundle config set --local path $VENDOR"),
    ("composer-config-timeout", "ARG T\nRUN composer config --global process-timeout $T"),
    ("goproxy-without-credentials", "ARG PROXY\nENV GOPROXY=$PROXY\nRUN go mod download"),
    ("gonosumdb-pattern", "ARG PRIVATE\nENV GONOSUMDB=$PRIVATE GOPRIVATE=$PRIVATE\nRUN go mod download"),
    ("url-user-name", "ARG GIT_USER\nRUN git clone https://${GIT_USER}@bitbucket.org/o/r.git"),
    ("ssh-url-user", "ARG DEPLOY_ACCOUNT\nRUN git clone ssh://$DEPLOY_ACCOUNT@git.example.com/o/r.git"),
    ("url-host", "ARG MIRROR\nRUN pip install -i https://$MIRROR/simple app"),
    ("env-path-copy", "ARG TOOLS\nENV PATH=$TOOLS/bin:$PATH"),
    ("env-url-copy", "ARG SITE\nENV APP_URL=$SITE"),
    ("pghost", "ARG DB\nRUN PGHOST=$DB psql -U app -c 'select 1'"),
    ("password-length-setting", "ARG N\nRUN PASSWORD_MIN_LENGTH=$N ./configure"),
    ("token-url-setting", "ARG ISSUER\nENV TOKEN_URL=$ISSUER/oauth/token"),
    ("echo-to-motd", 'ARG MOTD\nRUN echo "$MOTD" > /etc/motd'),
    ("openssl-subject", 'ARG CN\nRUN openssl req -x509 -nodes -subj "/CN=$CN" -keyout /k.key -out /c.crt'),
    ("gpg-recv-keys", "ARG FPR\nRUN gpg --batch --recv-keys $FPR"),
    ("keyserver", "ARG KS\nRUN gpg --keyserver $KS --recv-keys 0x1234"),
    ("sed-config", "ARG PORT\nRUN sed -i \"s/^port=.*/port=$PORT/\" /etc/app.conf"),
    ("key-file-path-in-command", "ARG KEYPATH\nRUN ssh-keygen -y -f $KEYPATH > /root/.ssh/id_rsa.pub"),
    ("license-accept-flag", "ARG ACCEPT\nRUN ./installer --accept-license $ACCEPT"),
    ("token-type-option", "ARG KIND\nRUN ./cli --token-type $KIND login"),
    ("no-password-flag", "ARG NAME\nRUN ./mkuser --no-password $NAME"),
    ("user-option", "ARG APP_UID\nRUN useradd -u $APP_UID app"),
    ("plain-config-json-write", 'ARG CFG\nRUN echo "$CFG" > /app/config.json'),
    ("hostname-write", 'ARG NAME\nRUN echo "$NAME" > /etc/hostname'),
    ("ssh-add-of-a-path", "ARG KEYPATH\nRUN ssh-add $KEYPATH"),
    ("npmrc-registry-line", 'ARG REG\nRUN echo "registry=$REG" > /root/.npmrc'),
    ("kubeconfig-server-line", 'ARG API_SERVER\nRUN echo "    server: $API_SERVER" >> /root/.kube/config'),
    ("known-hosts-line", 'ARG HOST\nRUN echo "$HOST ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" >> /root/.ssh/known_hosts'),
    ("version-file", "ARG N\nRUN printf '%s\\n' \"$N\" > /app/VERSION"),
    ("my-cnf-user-line", 'ARG DB_USER\nRUN echo "user=$DB_USER" >> /root/.my.cnf'),
    ("fullchain-pem", 'ARG CHAIN\nRUN echo "$CHAIN" > /etc/nginx/fullchain.pem'),
    ("certs-dir-pem", 'ARG CA\nRUN echo "$CA" > /etc/ssl/certs/server.pem'),
    ("version-in-url", "ARG VER\nRUN curl -fsSL https://example.com/v$VER/tool.tgz | tar -xz"),
]


@pytest.mark.parametrize("body", [pytest.param(b, id=i) for i, b in MUST_FLAG])
def test_flow_into_a_sink_makes_a_secret(body) -> None:
    name = body.split("\n", 1)[0].split()[1]
    assert _secret(body, name)


@pytest.mark.parametrize("body", [pytest.param(b, id=i) for i, b in MUST_NOT_FLAG])
def test_no_sink_no_secret(body) -> None:
    name = body.split("\n", 1)[0].split()[1]
    assert not _secret(body, name)


def test_more_must_not_than_must() -> None:
    assert len(MUST_NOT_FLAG) > len(MUST_FLAG)


def test_authorized_keys_is_negative_evidence() -> None:
    uses = auth_uses('echo "$SSH_KEY" >> ~/.ssh/authorized_keys', "SSH_KEY")
    assert uses and all(w < 0 for _r, w in uses)


def test_user_named_token_user_is_weak() -> None:
    idx = _auth_index("git clone https://${GIT_USERNAME}@github.com/o/r && git clone https://${PAYLOAD}@github.com/o/r")
    assert max(w for _r, w in idx["GIT_USERNAME"]) < 2.0
    assert max(w for _r, w in idx["PAYLOAD"]) >= 2.0


def test_reasons_never_quote_the_script() -> None:
    """Use reasons come from a fixed vocabulary: nothing of the script is echoed."""
    vocabulary = {p[1] for p in _USE_PATTERNS} | {
        "is written into a private key file",
        "is written into a credential file",
        "is written into authorized_keys, known_hosts, a .pub file or a certificate (public)",
    }
    for _i, body in MUST_FLAG + MUST_NOT_FLAG:
        for reasons in _auth_index(body).values():
            for reason, _w in reasons:
                assert reason in vocabulary

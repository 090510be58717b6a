"""Per-class synthetic suites for issue 16 (bench/detection.py), and the literal scan of the real corpus.

Each suite generates labelled Dockerfiles from templates crossed with values (a fixed seed, so runs
are comparable), runs ``refactor.analyze.analyze`` in process, and scores one yes/no question per
case. The templates are not the unit tests' cases: they combine commands, names and values the
tests do not list, so the suites measure how the rules generalise.

Nothing here prints a value: cases are reported by id, literals by kind and length.
"""

from __future__ import annotations

import random
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path

from refactor.analyze import Options, analyze
from refactor.source import SourceFile

ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    positive: bool
    question: str  # "df003" | "secret:NAME" | "df008"
    files: tuple[tuple[str, str], ...] = ()


def _pw(rng: random.Random) -> str:
    """A real-looking password: letters and digits, no dictionary word, 10-16 chars."""
    while True:
        s = rng.choice(string.ascii_uppercase) + "".join(rng.choice(ALNUM) for _ in range(rng.randint(9, 15)))
        if any(c.isdigit() for c in s) and any(c.islower() for c in s):
            return s


def _tok(rng: random.Random, n: int = 36) -> str:
    return "".join(rng.choice(ALNUM) for _ in range(n))


STAND_INS = ["changeme", "password", "secret", "<password>", "<token>", "${PASSWORD}", "$DB_PASS", "xxxxxxxx",
             "your_password_here", "dummy", "admin", "root", "guest", "example", "test123", "password123",
             "P@ssw0rd", "$(cat /run/secrets/pw)", "%PASSWORD%", "{{ .Values.password }}", "123456", "qwerty",
             "__PASSWORD__", "REPLACE_ME", "s3cr3t", "mysecretpassword", "TODO", "notset", "CHANGE_ME_PLEASE"]
USERS = ["ci", "deploy", "admin", "bob", "jenkins", "svc-build", "app"]
HOSTS = ["repo.internal.example", "pypi.corp.example", "git.example.org", "nexus.example.net", "registry.example.io"]


def _class1(rng: random.Random) -> list[Case]:
    """Committed literals in RUN: positional templates x (real password | stand-in), plus formats."""
    templates = [
        "RUN curl -fsSL -u {u}:{v} https://{h}/pkg.tgz -o /tmp/p.tgz",
        "RUN curl --user \"{u}:{v}\" https://{h}/a",
        "RUN git clone https://{u}:{v}@{h}/team/app.git /src",
        "RUN pip install --index-url https://{u}:{v}@{h}/simple app",
        "RUN pip config set global.extra-index-url https://{u}:{v}@{h}/simple",
        "RUN gem sources -a https://{u}:{v}@{h}/",
        "RUN docker login -u {u} -p {v} {h}",
        "RUN echo {v} | docker login -u {u} --password-stdin {h}",
        "RUN mysql -u{u} -p{v} -h db -e 'select 1'",
        "RUN htpasswd -bc /etc/nginx/.htpasswd {u} {v}",
        "RUN /opt/app/install --admin {u} --password {v} --yes",
        "RUN ./configure --db-user={u} --db-password={v}",
        "RUN PGPASSWORD={v} psql -h db -U {u} -c 'select 1'",
        "RUN mysql -e \"CREATE USER '{u}'@'%' IDENTIFIED BY '{v}'\"",
        "RUN composer config --global http-basic.{h} {u} {v}",
        "RUN mvn -B deploy -Drepo.password={v}",
        "RUN redis-cli -a {v} ping",
    ]
    out: list[Case] = []
    for i, t in enumerate(templates):
        for k in range(3):
            out.append(Case(f"c1-t{i}-real{k}", t.format(u=rng.choice(USERS), v=_pw(rng), h=rng.choice(HOSTS)), True, "df003"))
        for k in range(4):
            v = rng.choice(STAND_INS)
            out.append(Case(f"c1-t{i}-standin{k}", t.format(u=rng.choice(USERS), v=v, h=rng.choice(HOSTS)), False, "df003"))
    formats = [
        lambda: "ghp_" + _tok(rng), lambda: "glpat-" + _tok(rng, 20), lambda: "npm_" + _tok(rng),
        lambda: "xoxb-" + "".join(rng.choice(string.digits) for _ in range(12)) + "-" + _tok(rng, 24),
        lambda: "AKIA" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16)),
        lambda: "sk_live_" + _tok(rng, 24), lambda: "hf_" + _tok(rng, 34),
        lambda: "".join(rng.choice("123456789") for _ in range(9)) + ":AA" + _tok(rng, 33),
    ]
    placements = ['RUN curl -H "Authorization: Bearer {v}" https://{h}/x', "RUN echo {v} > /opt/app/token",
                  "LABEL build.token={v}", 'RUN curl "https://{h}/hook?token={v}"']
    for i, f in enumerate(formats):
        for j, p in enumerate(placements):
            out.append(Case(f"c1-fmt{i}-p{j}", p.format(v=f(), h=rng.choice(HOSTS)), True, "df003"))
    negatives = [
        "RUN curl -fsSL https://{h}/pkg.tgz | tar -xz", "RUN git clone ssh://git@{h}/team/app.git",
        "RUN git clone https://{h}/team/app.git", "ENV SERVICE_URL=https://{h}/api",
        "RUN adduser --disabled-password --gecos '' {u}", "RUN curl -u {u} https://{h}/a",
        "RUN pip install -i https://{h}/simple app", "RUN mysql -u{u} -p -h db",
        "RUN echo 'sha256:{t}' > /digest", "RUN gpg --recv-keys {t}",
        "RUN curl -H \"Authorization: Bearer $TOKEN\" https://{h}/x",
        "RUN echo \"//{h}/:_authToken=${{NPM_TOKEN}}\" > ~/.npmrc",
    ]
    for i, t in enumerate(negatives):
        for k in range(3):
            text = t.format(u=rng.choice(USERS), h=rng.choice(HOSTS), t="".join(rng.choice("0123456789abcdef") for _ in range(40)))
            out.append(Case(f"c1-neg{i}-{k}", text, False, "df003"))
    return out


def _class2(rng: random.Random) -> list[Case]:
    """Glued credential words in names, against English words and flags that end the same way."""
    owners = ["ROOT", "DB", "MY", "ADMIN", "SMTP", "LDAP", "MAIL", "FTP", "VNC", "REDIS", "MONGO", "SA", "KEYSTORE",
              "APP", "WEB", "MQ", "PG", "SQL", "PROXY", "REPO"]
    sufs = ["PASS", "PWD", "PW", "PASSWD", "PASSWORD"]
    out = [Case(f"c2-{o}{s}", f"ARG {o}{s}", True, f"secret:{o}{s}") for o in owners for s in sufs if rng.random() < 0.6]
    out += [Case(f"c2-{o}_{s}", f"ARG {o}_{s}", True, f"secret:{o}_{s}") for o in owners[:6] for s in ("PASS", "PWD")]
    negatives = ["PASSPORT", "PASSPORT_STRATEGY", "BYPASS", "BYPASS_PROXY", "COMPASS", "COMPASS_VERSION", "ENCOMPASS_URL",
                 "PASSTHROUGH", "PASS_THROUGH", "PASSTHRU_MODE", "LOWPASS", "HIGHPASS", "BANDPASS_HZ", "MULTIPASS",
                 "MULTIPASS_VERSION", "TWOPASS", "SINGLE_PASS", "FIRST_PASS", "PASSENGER_VERSION", "PASSIVE_PORTS",
                 "KEEPASS_VERSION", "PWD", "OLDPWD", "SKIP_PASS", "PASS_RATE", "PASS_COUNT", "TRESPASS", "SURPASS",
                 "AUTHORIZED_KEYS", "SSH_PUB_KEY", "PUBLIC_KEY_PATH", "KEY_ID", "GPG_KEY_FINGERPRINT", "PASSWORD_FILE",
                 "DB_PASSWORD_FILE", "PASSWORD_MIN_LENGTH", "MAX_PASS_AGE", "SSH_KNOWN_HOSTS"]
    out += [Case(f"c2-neg-{n}", f"ARG {n}\nRUN make", False, f"secret:{n}") for n in negatives]
    return out


def _class3(rng: random.Random) -> list[Case]:
    """Bland names flowing into credential sinks, against the same names in harmless positions."""
    names = ["V", "BLOB", "VALUE", "DATA", "PAYLOAD", "X1", "ITEM", "CFG"]
    sinks = [
        'RUN echo "${n}" > /root/.ssh/id_ed25519', 'RUN echo "${n}" | base64 -d > /etc/ssl/private/app.key',
        'RUN printf "%s" "${n}" > /app/privkey.pem',
        "RUN ./setup --db-password=${n}", 'RUN ./setup --admin-password "${n}"',
        'RUN htpasswd -bc /etc/nginx/.htpasswd admin "${n}"', 'RUN mysql -uroot -p"${n}" -e "select 1"',
        "RUN nuget sources add -Name n -Source https://h.example/v3/index.json -UserName u -Password ${n}",
        "RUN dotnet nuget add source https://h.example/v3/index.json -n n -u u -p ${n}",
        "RUN dotnet restore -s https://u:${n}@h.example/v3/index.json",
        "RUN bundle config gems.example.com u:${n}", "RUN composer config -g http-basic.h.example u ${n}",
        "RUN cargo login ${n}", "ENV GOPROXY=https://u:${n}@goproxy.example\nRUN go mod download",
        'RUN git config --global url."https://${n}:x-oauth-basic@github.com/".insteadOf https://github.com/',
        "RUN PGPASSWORD=${n} psql -h db -c 'select 1'", "ENV DB_PASSWORD=${n}",
        "RUN curl --oauth2-bearer ${n} https://h.example/x", 'RUN echo "root:${n}" | chpasswd',
    ]
    harmless = [
        'RUN echo "${n}" >> /root/.ssh/authorized_keys', 'RUN echo "${n}" >> /root/.ssh/known_hosts',
        'RUN echo "${n}" > /usr/local/share/ca-certificates/corp.crt', "RUN curl -fsSL https://${n}/k.key > /etc/apt/k.key",
        'RUN echo "${n}" > /etc/motd', "RUN ./setup --db-host=${n}", "RUN bundle config set --local path ${n}",
        "RUN composer config --global process-timeout ${n}", "ENV GOPROXY=${n}\nRUN go mod download",
        "RUN git clone https://${n}@github.com/o/r.git".replace("${n}", "${GIT_USER}"), "RUN PGHOST=${n} psql -c 'select 1'",
        "ENV APP_HOME=${n}", "RUN mkdir -p ${n} && cd ${n}", "RUN ./configure --prefix=${n}",
        'RUN sed -i "s/PORT/${n}/" /etc/app.conf', "RUN adduser --disabled-password ${n}",
        "RUN rsync --password-file ${n} rsync://h/x /x", "RUN curl -fsSL https://h.example/v${n}/a.tgz -o /a.tgz",
        'RUN openssl req -subj "/CN=${n}" -x509 -nodes -keyout /k.key -out /c.crt', "RUN useradd -u ${n} app",
    ]
    out: list[Case] = []
    for i, t in enumerate(sinks):
        n = rng.choice(names)
        out.append(Case(f"c3-sink{i}", f"ARG {n}\n" + t.replace("{n}", n), True, f"secret:{n}"))
    for i, t in enumerate(harmless):
        n = rng.choice(names)
        body = t.replace("{n}", n)
        if "GIT_USER" in body:
            n = "GIT_USER"
        out.append(Case(f"c3-harmless{i}", f"ARG {n}\n" + body, False, f"secret:{n}"))
    return out


def _class4(rng: random.Random) -> list[Case]:
    """Credential files copied into the image, against templates, examples and ordinary files."""
    secret_files = [
        (".env.production", "DB_PASSWORD=" + _pw(rng) + "\n"), ("staging.env", "API_TOKEN=" + _tok(rng, 24) + "\n"),
        ("secrets/admin.password", _pw(rng)), ("config/db-password.txt", _pw(rng) + "\n"),
        ("credentials.json", '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n"}'),
        ("gcp-sa-key.json", '{"client_secret": "' + _tok(rng, 24) + '"}'),
        ("kubeconfig", "users:\n- user:\n    token: " + _tok(rng, 32) + "\n"),
        (".pgpass", "db:5432:app:app:" + _pw(rng) + "\n"), (".my.cnf", "[client]\npassword=" + _pw(rng) + "\n"),
        ("certs/client.p12", "\x30\x82binary"), ("tls/server.key", "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"),
    ]
    harmless = [
        (".env.example", "DB_PASSWORD=\n"), (".env.template", "DB_PASSWORD=${DB_PASSWORD}\n"),
        (".env", "DB_PASSWORD=${DB_PASSWORD}\n"), (".env", "PORT=3000\nNODE_ENV=production\n"),
        ("credentials.json", '{"private_key": "${KEY}"}'), ("package.json", '{"name": "x"}'),
        ("tls/server.crt", "-----BEGIN CERTIFICATE-----\nMIIE\n"), ("tls/ca.pem", "-----BEGIN CERTIFICATE-----\nMIIE\n"),
        ("keys/signing.key", "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQEN\n"), ("kubeconfig", "users:\n- user:\n    exec:\n      command: aws\n"),
        ("password-policy.json", '{"min": 12}'), ("id_ed25519.pub", "ssh-ed25519 AAAAC3Nz ci@x\n"),
        ("config.json", '{"debug": false}'), ("db_password.txt", "${DB_PASSWORD}\n"),
    ]
    out = [Case(f"c4-file-{p}", f"COPY {p} /app/", True, "df008", ((p, c),)) for p, c in secret_files]
    out += [Case(f"c4-neg-{i}-{p}", f"COPY {p} /app/", False, "df008", ((p, c),)) for i, (p, c) in enumerate(harmless)]
    out += [Case("c4-unread-.env.local", "COPY .env.local /app/", True, "df008"),
            Case("c4-unread-service-account.json", "COPY service-account.json /app/", True, "df008"),
            Case("c4-unread-server.key", "COPY server.key /app/", False, "df008"),
            Case("c4-unread-settings.xml", "COPY settings.xml /root/.m2/", False, "df008")]
    return out


def _class5(rng: random.Random) -> list[Case]:
    """Not secrets: URLs without user-info, public keys, key ids, fingerprints, paths to secrets."""
    neg = [
        ("DATABASE_URL", "postgres://db:5432/app"), ("REDIS_URL", "redis://cache:6379/0"), ("MONGO_URL", "mongodb://mongo:27017/app"),
        ("SSH_PUBLIC_KEY", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + _tok(rng, 30) + " ci@x"), ("SSH_KEY", "ssh-rsa AAAAB3NzaC1yc2E" + _tok(rng, 60)),
        ("DEPLOY_KEY_ID", "0x" + "".join(rng.choice("0123456789ABCDEF") for _ in range(16))),
        ("GPG_KEY_FINGERPRINT", "".join(rng.choice("0123456789ABCDEF") for _ in range(40))),
        ("JWT_PUBLIC_KEY_FILE", "/etc/jwt/public.pem"), ("TLS_KEY_FILE", "/run/secrets/tls.key"),
        ("GOOGLE_APPLICATION_CREDENTIALS", "/secrets/sa.json"), ("SSH_AUTH_SOCK", "/run/ssh.sock"),
        ("AUTHORIZED_KEYS", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + _tok(rng, 30)), ("PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----"),
        ("CA_CERT", "-----BEGIN CERTIFICATE-----"), ("KEYCLOAK_URL", "https://auth.example.com/realms/x"),
    ]
    pos = [("DATABASE_URL", f"postgres://app:{_pw(rng)}@db:5432/app"), ("SSH_PRIVATE_KEY", None), ("DB_PASSWORD", None)]
    out = [Case(f"c5-neg-{n}", f'ENV {n}="{v}"', False, f"secret:{n}") for n, v in neg]
    out += [Case(f"c5-pos-{n}", f'ENV {n}="{v}"' if v else f"ARG {n}", True, f"secret:{n}") for n, v in pos]
    return out


def _class6(rng: random.Random) -> list[Case]:
    """ENV X=$X: a leak only when something declares X before it."""
    names = ["DB_PASSWORD", "API_TOKEN", "SECRET_KEY", "NPM_TOKEN", "GITHUB_TOKEN", "STRIPE_SECRET_KEY"]
    out = []
    for n in names:
        out.append(Case(f"c6-undeclared-{n}", f"ENV {n}=${n}", False, f"df002:{n}"))
        out.append(Case(f"c6-undeclared-braced-{n}", f"ENV {n}=${{{n}}}", False, f"df002:{n}"))
        out.append(Case(f"c6-global-only-{n}", f"ENV {n}=${n}", False, f"df002:{n}"))  # global ARG added below
        out.append(Case(f"c6-declared-{n}", f"ARG {n}\nENV {n}=${n}", True, f"df002:{n}"))
        out.append(Case(f"c6-declared-earlier-env-{n}", f"ENV {n}=lit-{_pw(rng)}\nENV {n}_COPY=${n}", True, f"df002:{n}"))
    return out


SUITES = {
    "1 committed literals (DF003)": _class1,
    "2 glued names": _class2,
    "3 flow into credential sinks": _class3,
    "4 credential files (DF008)": _class4,
    "5 not secrets": _class5,
    "6 ENV X=$X runtime slots": _class6,
}


def _flagged(case: Case) -> bool:
    text = "FROM alpine:3.20\n" + case.text + "\nCMD [\"app\"]\n"
    if case.id.startswith("c6-global-only-"):
        text = "ARG " + case.question.split(":", 1)[1] + "\n" + text
    with tempfile.TemporaryDirectory(prefix="dfix-synth-") as ctx:
        for rel, content in case.files:
            p = Path(ctx) / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content, encoding="utf-8", errors="surrogateescape")
        a = analyze(SourceFile.from_text("Dockerfile", text), Options(context_dir=ctx))
    if case.question == "df003":
        return any(f.code == "DF003" for f in a.findings)
    if case.question == "df008":
        return any(f.code == "DF008" for f in a.findings)
    kind, name = case.question.split(":", 1)
    codes = ("DF002",) if kind == "df002" else ("DF001", "DF002", "DF003")
    return any(f.variable == name and f.code in codes for f in a.findings)


def run_suites(seed: int = 16) -> dict:
    out: dict = {}
    for title, gen in SUITES.items():
        cases = gen(random.Random(seed))
        tp = fp = fn = tn = 0
        wrong: list[str] = []
        for c in cases:
            hit = _flagged(c)
            if c.positive and hit:
                tp += 1
            elif c.positive:
                fn += 1
                wrong.append(f"FN {c.id}")
            elif hit:
                fp += 1
                wrong.append(f"FP {c.id}")
            else:
                tn += 1
        p = tp / (tp + fp) if tp + fp else None
        r = tp / (tp + fn) if tp + fn else None
        out[title] = {"cases": len(cases), "positive": tp + fn, "negative": fp + tn, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
                      "precision": p, "recall": r, "wrong": wrong}
    return out


def real_corpus_literals(root: Path) -> dict:
    """Every DF003 over ``root`` (the real corpus), by file, line and kind, with the literal's
    length and whether it is a stand-in (it must never be): for review. No value is returned."""
    from refactor.analysis.literals import in_dockerfile
    from refactor.analysis.secrets import is_stand_in
    from refactor.syntax.dockerfile import ParseError, parse

    hits, files, errors = [], 0, 0
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name == "SOURCES.tsv":
            continue
        files += 1
        try:
            src = SourceFile.from_text(str(p), p.read_text(encoding="utf-8"))
            a = analyze(src, Options(context_dir=str(p.parent)))
        except (ParseError, UnicodeDecodeError, ValueError):
            errors += 1
            continue
        kinds = {(lit.start, lit.end): lit for lit, _i, _c in in_dockerfile(parse(src))}
        items = {(it.start, it.end): it for it in a.facts.items}
        for f in a.findings:
            if f.code != "DF003":
                continue
            lit = kinds.get((f.start, f.end))
            item = items.get((f.start, f.end))
            value = (item.value or "") if item is not None else src.text[f.start:f.end]
            hits.append({
                "file": str(p.relative_to(root)), "line": src.position(f.start)[0],
                "variable": f.variable, "kind": lit.kind if lit else "ARG/ENV value",
                "length": len(value), "stand_in": bool(is_stand_in(value)),
            })
    return {"files": files, "unparsed": errors, "hits": hits}

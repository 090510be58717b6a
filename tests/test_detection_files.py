"""Issue 16, class 4: credential files copied or added into the image (DF008).

Each case writes a build context (or none: the file is generated in CI) and a one-line COPY/ADD.
Templates (only ``${VAR}`` references) and example files are left alone.
"""

from __future__ import annotations

import json

import pytest

from helpers import run
from refactor.analyze import Options, analyze
from refactor.source import SourceFile

PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"
PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQsw\n-----END CERTIFICATE-----\n"
SA_JSON = json.dumps({"type": "service_account", "client_email": "ci@p.iam.gserviceaccount.com",
                      "private_key": PEM_KEY})
SA_TEMPLATE = json.dumps({"type": "service_account", "private_key": "${GCP_PRIVATE_KEY}"})
KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: kq8WzP3mL0vXr7TnB2sYd5\n"
KUBECONFIG_EXEC = "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    exec:\n      command: aws\n"


def _df008(tmp_path, instr: str, files: dict[str, str | bytes] | None, dockerignore: str | None = None) -> list[str]:
    if files is not None:
        for name, content in files.items():
            p = tmp_path / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content if isinstance(content, bytes) else content.encode())
    if dockerignore is not None:
        (tmp_path / ".dockerignore").write_text(dockerignore)
    text = f"FROM alpine:3.20\nWORKDIR /app\n{instr}\nCMD [\"app\"]\n"
    a = analyze(SourceFile.from_text("Dockerfile", text), Options(context_dir=str(tmp_path)))
    return [f.variable for f in a.findings if f.code == "DF008"]


# (id, instruction, context files or None when the file is not in the context, expected variable)
MUST_FLAG = [
    ("dotenv-production", "COPY .env.production ./", {".env.production": "DB_PASSWORD=Zq8mW2kLx9\n"}, ".env.production"),
    ("dotenv-suffix", "COPY prod.env ./", {"prod.env": "API_TOKEN=Kq7mZ2xWvLp0Rt5\n"}, "prod.env"),
    ("dotenv-not-in-context", "COPY .env .", None, ".env"),
    ("password-file", "COPY db_password.txt /run/", {"db_password.txt": "Zq8mW2kLx9\n"}, "db_password.txt"),
    ("dot-password-file", "ADD admin.password /etc/app/", {"admin.password": "Zq8mW2kLx9"}, "admin.password"),
    ("credentials-json", "COPY credentials.json /app/", {"credentials.json": SA_JSON}, "credentials.json"),
    ("service-account-not-in-context", "COPY gcp-service-account.json /secrets/", None, "gcp-service-account.json"),
    ("kubeconfig", "COPY kubeconfig /root/.kube/config", {"kubeconfig": KUBECONFIG}, "kubeconfig"),
    ("kube-dir-config", "COPY .kube/config /root/.kube/config", {".kube/config": KUBECONFIG}, ".kube/config"),
    ("pgpass", "COPY .pgpass /root/", {".pgpass": "db:5432:app:app:Zq8mW2kLx9\n"}, ".pgpass"),
    ("my-cnf", "COPY .my.cnf /root/", {".my.cnf": "[client]\nuser=root\npassword=Zq8mW2kLx9\n"}, ".my.cnf"),
    ("docker-config", "COPY .docker/config.json /root/.docker/", {".docker/config.json": '{"auths":{"r.example.com":{"auth":"Ym9iOlpxOG1XMmtMeDk="}}}'}, ".docker/config.json"),
    ("pfx", "COPY cert.pfx /app/", {"cert.pfx": b"\x30\x82\x0a\x01binary"}, "cert.pfx"),
    ("p12-not-in-context", "COPY keystore.p12 /app/", None, "keystore.p12"),
    ("private-key-file", "COPY server.key /etc/ssl/private/", {"server.key": PEM_KEY}, "server.key"),
    ("private-key-pem", "COPY tls/privkey.pem /etc/ssl/", {"tls/privkey.pem": PEM_KEY}, "tls/privkey.pem"),
]

MUST_NOT_FLAG = [
    ("dotenv-example", "COPY .env.example ./", {".env.example": "DB_PASSWORD=\n"}),
    ("dotenv-sample", "COPY .env.sample ./", None),
    ("dotenv-template-suffix", "COPY .env.template ./", None),
    ("dotenv-dist", "COPY .env.dist ./", None),
    ("dotenv-only-references", "COPY .env .", {".env": "DB_PASSWORD=${DB_PASSWORD}\nAPI_TOKEN=$API_TOKEN\n"}),
    ("dotenv-no-secrets", "COPY .env .", {".env": "NODE_ENV=production\nPORT=3000\n"}),
    ("password-file-template", "COPY db_password.txt /run/", {"db_password.txt": "${DB_PASSWORD}\n"}),
    ("credentials-template", "COPY credentials.json /app/", {"credentials.json": SA_TEMPLATE}),
    ("kubeconfig-exec-plugin", "COPY kubeconfig /root/.kube/config", {"kubeconfig": KUBECONFIG_EXEC}),
    ("package-json", "COPY package.json ./", {"package.json": '{"name":"x","version":"1.0.0"}'}),
    ("tsconfig", "COPY tsconfig.json ./", None),
    ("plain-config-json", "COPY config.json ./", None),
    ("certificate-crt", "COPY server.crt /etc/ssl/certs/", {"server.crt": PEM_CERT}),
    ("ca-pem", "ADD ca.pem /etc/ssl/certs/", None),
    ("cert-pem-content", "COPY tls.pem /etc/ssl/", {"tls.pem": PEM_CERT}),
    ("public-signing-key", "ADD nginx_signing.key /tmp/", {"nginx_signing.key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQENBE5OMmIBCAD\n-----END PGP PUBLIC KEY BLOCK-----\n"}),
    ("key-not-in-context", "COPY server.key /etc/ssl/private/", None),
    ("etc-passwd", "COPY passwd /etc/passwd", None),
    ("public-ssh-key", "COPY id_rsa.pub /root/.ssh/", None),
    ("password-policy-json", "COPY password-policy.json /app/", None),
    ("dockerignored-env", "COPY .env .", {".env": "DB_PASSWORD=Zq8mW2kLx9\n"}, ".env\n"),
    ("from-another-stage", "COPY --from=build /src/.env /app/.env", None),
    ("requirements", "COPY requirements.txt .", None),
]


@pytest.mark.parametrize(("instr", "files", "var"), [pytest.param(c[1], c[2], c[3], id=c[0]) for c in MUST_FLAG])
def test_credential_file_copy_is_flagged(tmp_path, instr, files, var) -> None:
    assert _df008(tmp_path, instr, files) == [var]


@pytest.mark.parametrize(("instr", "files", "ignore"), [pytest.param(c[1], c[2], c[3] if len(c) > 3 else None, id=c[0]) for c in MUST_NOT_FLAG])
def test_not_a_credential_file(tmp_path, instr, files, ignore) -> None:
    assert _df008(tmp_path, instr, files, ignore) == []


def test_more_must_not_than_must() -> None:
    assert len(MUST_NOT_FLAG) > len(MUST_FLAG)


def test_copy_dot_finds_new_kinds_in_the_context(tmp_path) -> None:
    (tmp_path / "app.py").write_text("print(1)\n")
    (tmp_path / ".env.production").write_text("DB_PASSWORD=Zq8mW2kLx9\n")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "kubeconfig").write_text(KUBECONFIG)
    (tmp_path / ".env.example").write_text("DB_PASSWORD=\n")
    found = _df008(tmp_path, "COPY . .", None)
    assert sorted(found) == [".env.production", "deploy/kubeconfig"]


def test_new_kinds_are_display_only_and_keep_the_file(tmp_path) -> None:
    (tmp_path / "credentials.json").write_text(SA_JSON)
    df = tmp_path / "Dockerfile"
    df.write_text("FROM alpine:3.20\nCOPY credentials.json /app/\nRUN ls /app\n")
    code, out, _ = run(["--write", "--unsafe-fixes", "--format", "json", str(df)])
    doc = json.loads(out)
    (f,) = [f for f in doc["files"][0]["findings"] if f["code"] == "DF008"]
    assert f["fix"]["applicability"] == "display-only"
    assert "COPY credentials.json" in df.read_text()
    assert "BEGIN PRIVATE KEY" not in out

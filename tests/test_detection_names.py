"""Issue 16, classes 2, 5 and 6: names with glued credential words, things that are not secrets,
and ``ENV X=$X`` with no ARG (a runtime slot, not a leak)."""

from __future__ import annotations

import pytest

from helpers import run
from refactor.analysis.secrets import judge, name_tokens
from refactor.analyze import analyze
from refactor.source import SourceFile


def _secret_names(text: str) -> set[str]:
    a = analyze(SourceFile.from_text("Dockerfile", text))
    return {f.variable for f in a.findings if f.secret and f.code in ("DF001", "DF002") and f.variable}


# ------------------------------------------------------------------------------------------------
# Class 2: glued suffixes

GLUED_MUST_FLAG = [
    ("ROOTPASS", ("root", "pass")),
    ("DBPWD", ("db", "pwd")),
    ("MYPASS", ("my", "pass")),
    ("ADMINPASS", ("admin", "pass")),
    ("MYSQLROOTPASS", ("mysqlroot", "pass")),
    ("SMTPPASS", ("smtp", "pass")),
    ("LDAPPASS", ("ldap", "pass")),
    ("ROOTPW", ("root", "pw")),
    ("SSHPASS", ("ssh", "pass")),
    ("DB_PASS", ("db", "pass")),
    ("SMTP_PWD", ("smtp", "pwd")),
]

GLUED_MUST_NOT_FLAG = [
    "PASSPORT", "PASSPORT_STRATEGY", "BYPASS", "BYPASS_CACHE", "COMPASS", "COMPASS_VERSION", "ENCOMPASS",
    "PASSTHROUGH", "PASS_THROUGH", "PASSTHRU", "LOWPASS", "HIGHPASS_FILTER", "BANDPASS", "MULTIPASS",
    "MULTIPASS_VERSION", "TWOPASS", "FIRST_PASS", "TWO_PASS", "KEEPASS_VERSION", "PASSENGER_VERSION",
    "PASSIVE_MODE", "PWD", "OLDPWD", "SURPASS", "TRESPASS",
]


@pytest.mark.parametrize(("name", "tokens"), GLUED_MUST_FLAG, ids=[n for n, _ in GLUED_MUST_FLAG])
def test_glued_password_names_are_secret(name, tokens) -> None:
    assert name_tokens(name) == tokens
    assert judge(name, None).secret
    assert name in _secret_names(f"FROM alpine:3.20\nARG {name}\nRUN ./configure --with-db\n")


@pytest.mark.parametrize("name", GLUED_MUST_NOT_FLAG)
def test_pass_words_that_are_not_passwords(name) -> None:
    assert not judge(name, None).secret
    assert name not in _secret_names(f"FROM alpine:3.20\nARG {name}\nRUN make\n")


def test_glued_name_reasons_use_vocabulary_only() -> None:
    v = judge("ROOTPASS", None)
    assert all("ROOTPASS" not in e.reason and "ROOT" not in e.reason for e in v.evidence)


# ------------------------------------------------------------------------------------------------
# Class 5: not secrets (public keys, key ids, fingerprints, paths, URLs without a password)

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq1Qm8ZfK3tBvN0pXw7yH2jLcR5sD9uE4gT6iY8oP1a ci@example"

NOT_SECRET = [
    pytest.param("ARG SSH_PUBLIC_KEY\nRUN echo \"$SSH_PUBLIC_KEY\" >> /root/.ssh/authorized_keys", "SSH_PUBLIC_KEY", id="public-key-name"),
    pytest.param("ARG AUTHORIZED_KEYS\nRUN echo \"$AUTHORIZED_KEYS\" > /home/a/.ssh/authorized_keys", "AUTHORIZED_KEYS", id="authorized-keys-name"),
    pytest.param("ARG SSH_AUTHORIZED_KEYS\nRUN true", "SSH_AUTHORIZED_KEYS", id="ssh-authorized-keys-name"),
    pytest.param("ARG SSH_KEY\nRUN echo \"$SSH_KEY\" >> /root/.ssh/authorized_keys", "SSH_KEY", id="key-written-to-authorized-keys"),
    pytest.param(f"ARG SSH_KEY=\"{PUBLIC_KEY}\"\nRUN true", "SSH_KEY", id="ssh-public-key-value"),
    pytest.param("ENV JWT_PUBLIC_KEY=/etc/jwt/public.pem", "JWT_PUBLIC_KEY", id="public-key-path"),
    pytest.param("ARG GPG_KEY_ID=0x12345678ABCDEF00\nRUN true", "GPG_KEY_ID", id="key-id"),
    pytest.param("ARG SIGNING_KEY_FINGERPRINT=B42F6819007F00F88E364FD4036A9C25BF357DD4\nRUN true", "SIGNING_KEY_FINGERPRINT", id="fingerprint"),
    pytest.param("ARG DB_PASSWORD_FILE=/run/secrets/db\nRUN true", "DB_PASSWORD_FILE", id="password-file-path"),
    pytest.param("ARG SSH_KEY_FILE=/root/.ssh/id_rsa\nRUN true", "SSH_KEY_FILE", id="key-file-path"),
    pytest.param("ENV DATABASE_URL=postgres://db:5432/app", "DATABASE_URL", id="database-url-without-password"),
    pytest.param("ENV REDIS_URL=redis://cache:6379/0", "REDIS_URL", id="redis-url-without-password"),
    pytest.param("ENV SSH_KNOWN_HOSTS=/etc/ssh/ssh_known_hosts", "SSH_KNOWN_HOSTS", id="known-hosts"),
    pytest.param("ARG ID_RSA_PUB\nRUN true", "ID_RSA_PUB", id="id-rsa-pub"),
    pytest.param("ARG CA_CERT\nRUN echo \"$CA_CERT\" > /usr/local/share/ca-certificates/ca.crt", "CA_CERT", id="certificate-write"),
]

SECRET_NEIGHBOURS = [
    pytest.param("ARG SSH_KEY\nRUN echo \"$SSH_KEY\" > /root/.ssh/id_ed25519", "SSH_KEY", id="key-written-to-identity"),
    pytest.param("ENV DATABASE_URL=postgres://app:Zq8mW2kLx9@db:5432/app", "DATABASE_URL", id="database-url-with-password"),
    pytest.param("ARG DB_PASSWORD\nRUN true", "DB_PASSWORD", id="password-slot"),
    pytest.param("ARG ID_RSA\nRUN true", "ID_RSA", id="id-rsa-content"),
]


@pytest.mark.parametrize(("body", "name"), NOT_SECRET)
def test_not_a_secret(body, name) -> None:
    assert name not in _secret_names("FROM alpine:3.20\n" + body + "\n")


@pytest.mark.parametrize(("body", "name"), SECRET_NEIGHBOURS)
def test_secret_neighbours_stay_secret(body, name) -> None:
    assert name in _secret_names("FROM alpine:3.20\n" + body + "\n")


# ------------------------------------------------------------------------------------------------
# Class 6: ENV X=$X with no ARG: empty at build time, a runtime slot; nothing leaks


def _analysis(text: str):
    return analyze(SourceFile.from_text("Dockerfile", text))


def test_env_copy_of_undeclared_variable_is_not_a_leak() -> None:
    a = _analysis("FROM alpine:3.20\nENV DB_PASSWORD=$DB_PASSWORD\nCMD [\"app\"]\n")
    assert not [f for f in a.findings if f.secret]
    assert any("DB_PASSWORD" in n and "run time" in n and "nothing leaks" in n for n in a.notes)


def test_env_copy_braced_with_default_of_undeclared_variable() -> None:
    a = _analysis("FROM alpine:3.20\nENV API_TOKEN=${API_TOKEN:-}\n")
    assert not [f for f in a.findings if f.secret]


def test_env_copy_of_a_non_credential_gets_no_note() -> None:
    a = _analysis("FROM alpine:3.20\nENV APP_HOME=$APP_HOME\n")
    assert not a.notes and not a.findings


def test_env_copy_of_a_declared_arg_is_still_a_leak() -> None:
    a = _analysis("FROM alpine:3.20\nARG DB_PASSWORD\nENV DB_PASSWORD=$DB_PASSWORD\n")
    codes = {(f.code, f.variable) for f in a.findings}
    assert ("DF001", "DB_PASSWORD") in codes and ("DF002", "DB_PASSWORD") in codes


def test_env_copy_of_a_global_arg_not_redeclared_is_empty() -> None:
    """A global ARG is not visible in a stage until re-declared: the ENV copies an empty value."""
    a = _analysis("ARG DB_PASSWORD\nFROM alpine:3.20\nENV DB_PASSWORD=$DB_PASSWORD\n")
    assert not [f for f in a.findings if f.code == "DF002"]


def test_env_copy_of_an_earlier_env_is_judged_as_before() -> None:
    a = _analysis("FROM alpine:3.20\nENV A_TOKEN=x\nENV B_TOKEN=$A_TOKEN\n")
    assert not any("B_TOKEN" in n for n in a.notes)


def test_explain_documents_the_runtime_slot() -> None:
    code, out, _ = run(["--explain", "DF002"])
    assert code == 0 and "ENV X=$X" in out and "run time" in out

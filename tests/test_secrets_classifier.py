"""Unit tests for ``refactor.analysis.secrets``: name, value, use and config evidence.

Every false positive / false negative of the incumbent detectors listed in
``../shared/research/detectors.md`` is a case here.  Token-format values are generated at run time
from a fixed seed (format-valid, obviously fake), so no credential-looking literal is committed.
"""

from __future__ import annotations

import csv
import random
import string

import pytest

from refactor.analysis.secrets import (
    THRESHOLD,
    Evidence,
    Policy,
    describe_value,
    is_literal_secret,
    is_placeholder,
    judge,
    name_evidence,
    name_tokens,
    public_bundle_prefix,
    token_format,
    value_evidence,
)

# ------------------------------------------------------------------------------------------------
# Names

# (name, why) -- judged with no default value and no uses
NAME_MUST_FLAG = [
    ("NPM_TOKEN", "*_TOKEN, known npm name"),
    ("NPM_AUTH_TOKEN", "known npm name"),
    ("GH_PAT", "PAT token (FN of every incumbent)"),
    ("PAT", "PAT alone"),
    ("GITHUB_PAT", "PAT"),
    ("DB_PASS", "PASS token (FN of BuildKit/Trivy/hadolint)"),
    ("PASSWD", "PASSWD (FN of hadolint/semgrep)"),
    ("DB_PWD", "PWD token"),
    ("NPMRC", "whole .npmrc content (FN of all)"),
    ("PIP_INDEX_URL", "index URL carries credentials (FN of all)"),
    ("PIP_EXTRA_INDEX_URL", "index URL carries credentials"),
    ("UV_INDEX_URL", "index URL carries credentials"),
    ("UV_EXTRA_INDEX_URL", "index URL carries credentials"),
    ("githubToken", "camelCase (FN of BuildKit/Trivy)"),
    ("npmAuthToken", "camelCase"),
    ("faToken", "camelCase, short prefix"),
    ("MY-TOKEN", "hyphenated (FN of BuildKit/Trivy)"),
    ("my.secret", "dotted"),
    ("SOME_PSW", "Jenkins *_PSW (moby/buildkit#6064)"),
    ("CREDENTIALS_JSON", "credential content, JSON-encoded"),
    ("CREDS", "CREDS"),
    ("CLOUDFLARE_ACCESS_KEY_ID", "S3-style access key id: half of a credential pair, like AWS_ACCESS_KEY_ID"),
    ("AWS_ACCESS_KEY_ID", "known credential beats the *_ID shape"),
    ("AWS_SECRET_ACCESS_KEY", "known"),
    ("AWS_SESSION_TOKEN", "known"),
    ("CI_JOB_TOKEN", "known"),
    ("ARTIFACTORY_PASSWORD", "artifact repository credential"),
    ("ARTIFACTORY_API_KEY", "artifact repository credential"),
    ("ARTIFACTORY_APIKEY", "artifact repository credential"),
    ("NEXUS_PASS", "artifact repository credential"),
    ("JFROG_KEY", "artifact repository credential"),
    ("COMPOSER_AUTH", "composer auth.json content"),
    ("BUNDLE_GEMS__CONTRIBSYS__COM", "Bundler host credential"),
    ("bundle_github__com", "Bundler host credential, lower case"),
    ("POETRY_HTTP_BASIC_MYREPO_PASSWORD", "Poetry basic auth"),
    ("SSH_PRIVATE_KEY", "known"),
    ("DEPLOY_PRIVATE_KEY", "*_PRIVATE_KEY"),
    ("GITHUB_TOKEN", "known"),
    ("GH_TOKEN", "known"),
    ("GITLAB_TOKEN", "known"),
    ("HF_TOKEN", "known"),
    ("SECRET", "BuildKit test vector"),
    ("SECRET_PASSPHRASE", "BuildKit test vector"),
    ("SUPER_Secret", "BuildKit test vector"),
    ("password", "BuildKit test vector"),
    ("apikey", "BuildKit test vector"),
    ("super_duper_secret_token", "BuildKit test vector"),
    ("git_key", "BuildKit test vector: KEY as the head word"),
    ("API_KEY", "API KEY"),
    ("x-api-key", "hyphenated API KEY"),
    ("BINTRAYKEY", "glued vendor+KEY"),
    ("DBPASSWORD", "glued PASSWORD"),
    ("BASIC_AUTH", "basic-auth credentials"),
    ("SECRET_KEY_BASE", "Rails secret"),
    ("RAILS_MASTER_KEY", "Rails master key"),
    ("MAXMIND_LICENSE_KEY", "licence key"),
    ("KAGGLE_KEY", "KEY head"),
    ("openai_key", "lower-case KEY head"),
    ("JWT_SECRET", "SECRET"),
    ("DATABASE_URL", "database connection URL carries a password"),
    ("AUTHED_ARTIFACT_REG_URL", "URL described as authenticated"),
    ("OPENAI_API_KEY_", "trailing underscore"),
    ("STRIPE_WEBHOOK_SECRET", "SECRET"),
    ("SLACK_WEBHOOK_URL", "an incoming-webhook URL is itself the credential"),
    ("DISCORD_WEBHOOK", "chat webhook"),
    ("TEAMS_ALERTS_WEBHOOK_URL", "chat webhook"),
    ("SONAR_LOGIN", "sonar.login is a token"),
    ("STRIPE_SK", "Stripe secret key"),
    ("MAX_PASSWORD", "a password word beats the quantity prefix"),
]

NAME_MUST_NOT_FLAG = [
    ("PUBLIC_KEY", "public key (moby/buildkit#5403)"),
    ("PUB_KEY", "public key"),
    ("SSH_PUB_KEY", "public key"),
    ("SSH_PUBLIC_KEY", "public key"),
    ("public_token", "BuildKit test vector"),
    ("GPG_KEY", "fingerprint (FP of BuildKit/Trivy/semgrep)"),
    ("GPG_KEYS", "fingerprints"),
    ("TINI_GPG_KEY", "fingerprint"),
    ("PGP_KEYSERVER", "key server host"),
    ("KEY_ID", "key id (FP of BuildKit/Trivy/semgrep/dockle)"),
    ("RABBITMQ_PGP_KEY_ID", "key id"),
    ("AWS_KMS_KEY_ID", "*_KEY_ID"),
    ("TOKEN_URL", "OAuth endpoint (FP of all)"),
    ("TOKEN_ENDPOINT", "endpoint"),
    ("AUTH_DOMAIN", "domain (FP of BuildKit/Trivy/semgrep)"),
    ("AUTH_URL", "URL (Dokploy#3347)"),
    ("KMS_KEY_ALIAS", "alias (moby/buildkit#5775)"),
    ("KMS_KEY", "KMS key reference, not key material"),
    ("JENKINS_USR", "Jenkins username half"),
    ("SECRET_KEY_FILE", "path (FP of Trivy/hadolint/semgrep/dockle/KICS)"),
    ("SECRET_PASSPHRASE_FILE", "BuildKit test vector"),
    ("password_file", "BuildKit test vector"),
    ("SESSION_SECRET_FILE", "moby/buildkit#5504"),
    ("AUTH_MODULE_VERSION", "version (moby/buildkit#5504)"),
    ("TOKENIZER_PATH", "TOKENIZER is not TOKEN (FP of hadolint/semgrep)"),
    ("TOKENIZERS_PARALLELISM", "library flag"),
    ("GOPRIVATE", "Go module pattern (hadolint#1245)"),
    ("DOCKER_USERNAME", "username (hadolint#1230)"),
    ("KEY_NAME", "moby/buildkit#5775"),
    ("KEY_ALIAS", "moby/buildkit#5775"),
    ("KEY_ENABLED", "moby/buildkit#5775"),
    ("CREDENTIAL_MANAGER", "helper program (moby/buildkit#5775)"),
    ("REQUIRE_MFA_AUTH", "boolean flag (moby/buildkit#5775)"),
    ("PASSWORD_PROMPT_STRING", "prompt text (moby/buildkit#5775)"),
    ("instance_types_file_key", "lookup key (docker/buildx#3059)"),
    ("static_variables_file_key", "lookup key (docker/buildx#3059)"),
    ("AUTH_GOOGLE_ID", "OAuth client id (Dokploy#3347)"),
    ("RACKULA_AUTH_MODE", "mode toggle (Rackula#2348)"),
    ("SSL_CERT_KEY", "TLS key setting, a file path (modsecurity-crs-docker#316)"),
    ("AWS_WEB_IDENTITY_TOKEN_FILE", "path (hadolint#1245)"),
    ("TRAVIS_OS_NAME", "hadolint#1245"),
    ("TRAVIS_SUDO", "hadolint#1245"),
    ("FACEBOOK_APP_ID", "hadolint#1245"),
    ("MONKEY", "KEY substring (semgrep)"),
    ("AUTHOR", "AUTH substring (semgrep)"),
    ("CERT_PATH", "semgrep"),
    ("API_URL", "semgrep"),
    ("USER", "username alone"),
    ("USERNAME", "username alone"),
    ("NEXUS_USER", "USER alone is not a credential"),
    ("ARTIFACTORY_USERNAME", "USER alone is not a credential"),
    ("AWS_REGION", "region"),
    ("TOKEN_EXPIRY", "expiry"),
    ("TOKEN_TTL", "ttl"),
    ("SESSION_LIFETIME", "lifetime"),
    ("PASSWORD_LENGTH", "length"),
    ("PASSWORD_MIN_LENGTH", "length"),
    ("KEY_SIZE", "size"),
    ("TOKEN_TYPE", "type"),
    ("SECRET_NAME", "name of a secret"),
    ("SECRETS_DIR", "directory"),
    ("API_KEY_NAME", "name"),
    ("KEYCLOAK_VERSION", "KEY substring"),
    ("NODE_EXTRA_CA_CERTS", "CA path"),
    ("PWD", "shell working directory"),
    ("GOOGLE_APPLICATION_CREDENTIALS", "path to a credentials file"),
    ("SSH_AUTH_SOCK", "agent socket"),
    ("GIT_ASKPASS", "helper program"),
    ("ENABLE_AUTH", "boolean flag"),
    ("AUTH", "AUTH alone is weak"),
    ("BUNDLE_PATH", "Bundler setting"),
    ("BUNDLE_MIRROR__RUBYGEMS__ORG", "Bundler mirror, not a credential"),
    ("BUNDLE_BUILD__NOKOGIRI", "Bundler build flags"),
    ("RECAPTCHA_PUBLIC_KEY", "public key"),
    ("STRIPE_PUBLISHABLE_KEY", "publishable key"),
    ("GMAP_API_KEY", "Maps browser key"),
    ("FIREBASE_API_KEY", "Firebase web API key, public by design"),
    ("SENTRY_DSN", "DSN, designed to be public"),
    ("SSL_PRIVATE_KEY_FILE", "path"),
    ("KEY_VAULT_NAME", "name"),
    ("USE_GKE_GCLOUD_AUTH_PLUGIN", "flag"),
    ("GPG_KEYSERVERS", "key server list"),
    ("DOCKER_HARDENED_IMAGES_KEYRING_VERSION", "version"),
    ("CHECKSUM", "no credential word"),
    ("IMAGE", "no credential word"),
    ("ACCESS_TOKEN_EXPIRE_MINUTES", "a token lifetime"),
    ("TOKEN_EXPIRY_SECONDS", "a token lifetime"),
    ("REFRESH_TOKEN_TTL_DAYS", "a token lifetime"),
    ("PASSWORD_HASH_ROUNDS", "a hash cost"),
    ("BCRYPT_COST", "a hash cost"),
    ("MAX_TOKENS", "a token budget (LLM settings)"),
    ("NUM_TOKENS", "a count"),
    ("WEBHOOK_URL", "a receiving endpoint, not a chat webhook"),
]


@pytest.mark.parametrize(("name", "why"), NAME_MUST_FLAG, ids=[n for n, _ in NAME_MUST_FLAG])
def test_name_must_flag(name, why):
    v = judge(name, None)
    assert v.secret, (why, v)
    assert v.score >= THRESHOLD
    assert all(e.kind == "name" for e in v.evidence)
    assert not v.literal


@pytest.mark.parametrize(("name", "why"), NAME_MUST_NOT_FLAG, ids=[n for n, _ in NAME_MUST_NOT_FLAG])
def test_name_must_not_flag(name, why):
    v = judge(name, None)
    assert not v.secret, (why, v)


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("githubToken", ("github", "token")),
        ("npmAuthToken", ("npm", "auth", "token")),
        ("MY-TOKEN", ("my", "token")),
        ("my.secret.key", ("my", "secret", "key")),
        ("APIKey", ("api", "key")),
        ("AWSSecretAccessKey", ("aws", "secret", "access", "key")),
        ("BINTRAYKEY", ("bintray", "key")),
        ("SECRETFILE", ("secret", "file")),
        ("MONKEY", ("monkey",)),
        ("TOKENIZER_PATH", ("tokenizer", "path")),
        ("GOPRIVATE", ("goprivate",)),
        ("OPENAI_API_KEY_", ("openai", "api", "key")),
    ],
    ids=lambda x: x if isinstance(x, str) else None,
)
def test_tokenization(name, tokens):
    assert name_tokens(name) == tokens


def test_known_name_beats_shape():
    (ev,) = name_evidence("AWS_ACCESS_KEY_ID")
    assert ev.weight >= 4 and "AWS_ACCESS_KEY_ID" in ev.reason
    assert all(e.weight > 0 for e in name_evidence("PIP_EXTRA_INDEX_URL"))
    assert any(e.weight < 0 for e in name_evidence("TOKEN_URL"))


def test_public_bundle_prefix():
    for name, prefix in [("VITE_API_KEY", "VITE_"), ("REACT_APP_SECRET", "REACT_APP_"),
                         ("NEXT_PUBLIC_API_KEY", "NEXT_PUBLIC_"), ("NUXT_PUBLIC_TOKEN", "NUXT_PUBLIC_"),
                         ("EXPO_PUBLIC_KEY", "EXPO_PUBLIC_"), ("GATSBY_API_KEY", "GATSBY_")]:
        assert public_bundle_prefix(name) == prefix
    for name in ("API_KEY", "PUBLIC_KEY", "VITE", "NEXT_PUBLICATION", "INVITE_TOKEN"):
        assert public_bundle_prefix(name) is None


PUBLIC_BUNDLE = ["NEXT_PUBLIC_API_KEY", "VITE_API_KEY", "REACT_APP_SECRET", "NUXT_PUBLIC_TOKEN",
                 "EXPO_PUBLIC_API_KEY", "NEXT_PUBLIC_FIREBASE_AUTH_DOMAIN", "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY"]


@pytest.mark.parametrize("name", PUBLIC_BUNDLE)
def test_public_bundle_never_secret(name):
    v = judge(name, None, uses=[Evidence("use", 2.0, "Authorization header")],
              policy=Policy(secret_names=("*",)))
    assert not v.secret
    assert any("public-bundle" in e.reason for e in v.evidence)


def test_public_bundle_score_keeps_underlying_name():
    assert judge("VITE_API_KEY", None).score >= THRESHOLD  # secret-looking, exposed
    assert judge("VITE_BASE_URL", None).score < THRESHOLD


# ------------------------------------------------------------------------------------------------
# Values: obviously fake, format-valid tokens generated from a fixed seed

_RNG = random.Random(20260822)
ALNUM = string.ascii_letters + string.digits


def _r(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def _jwt() -> str:
    b64 = ALNUM + "-_"
    return "eyJ" + _r(30, b64) + ".eyJ" + _r(40, b64) + "." + _r(43, b64)


TOKEN_VALUES = [  # (id, value, expected token_format label)
    ("ghp", "ghp_" + _r(36), "GitHub token"),
    ("gho", "gho_" + _r(36), "GitHub token"),
    ("ghu", "ghu_" + _r(36), "GitHub token"),
    ("ghs", "ghs_" + _r(36), "GitHub token"),
    ("ghr", "ghr_" + _r(36), "GitHub token"),
    ("github_pat", "github_pat_" + _r(22) + "_" + _r(59), "GitHub token"),
    ("glpat", "glpat-" + _r(20, ALNUM + "_-"), "GitLab token"),
    ("gldt", "gldt-" + _r(20), "GitLab token"),
    ("glrt", "glrt-" + _r(20), "GitLab token"),
    ("glcbt", "glcbt-" + _r(24), "GitLab token"),
    ("npm", "npm_" + _r(36), "npm token"),
    ("pypi", "pypi-AgEIcHlwaS5vcmc" + _r(70, ALNUM + "-_"), "PyPI token"),
    ("akia", "AKIA" + _r(16, string.ascii_uppercase + string.digits), "AWS access key id"),
    ("asia", "ASIA" + _r(16, string.ascii_uppercase + string.digits), "AWS access key id"),
    ("dckr_pat", "dckr_pat_" + _r(27, ALNUM + "_-"), "Docker Hub token"),
    ("xoxb", f"xoxb-{_r(12, string.digits)}-{_r(12, string.digits)}-{_r(24)}", "Slack token"),
    ("xoxp", f"xoxp-{_r(12, string.digits)}-{_r(12, string.digits)}-{_r(32)}", "Slack token"),
    ("akcp", "AKCp" + _r(69), "Artifactory API key"),
    ("cmVmd", "cmVmd" + _r(59), "Artifactory reference token"),
    ("hvs", "hvs." + _r(95, ALNUM + "_-"), "Vault token"),
    ("jwt", _jwt(), "JWT"),
    ("pem_rsa", "-----BEGIN RSA PRIVATE KEY-----\n" + _r(64) + "\n-----END RSA PRIVATE KEY-----", "private key"),
    ("pem_openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\\n" + _r(70) + "\\n-----END OPENSSH PRIVATE KEY-----",
     "private key"),
    ("url_userinfo", f"https://deploy:{_r(20)}@pypi.corp.invalid/simple/", "URL with credentials"),
    ("url_db", f"postgres://app:{_r(16)}@db:5432/app", "URL with credentials"),
    ("url_query", f"https://download.invalid/geo.tar.gz?edition=lite&license_key={_r(16)}",
     "URL with a credential parameter"),
    ("bearer", "Bearer " + _r(32), "HTTP authorization credentials"),
    ("hf", "hf_" + _r(34, string.ascii_letters), "Hugging Face token"),
    ("stripe_sk", "sk_live_" + _r(24), "Stripe secret key"),
    ("npmrc", f"//registry.npmjs.org/:_authToken={_r(36)}", "npmrc credential"),
]


@pytest.mark.parametrize(("fmt_id", "value", "label"), TOKEN_VALUES, ids=[t[0] for t in TOKEN_VALUES])
def test_token_format_makes_bland_name_secret(fmt_id, value, label):
    assert token_format(value) == label
    assert is_literal_secret(value)
    v = judge("BUILD_INPUT", value)
    assert v.secret and v.literal
    assert any(e.kind == "value" and e.weight >= 4 for e in v.evidence)
    desc = describe_value(value)
    assert desc.startswith(f"<redacted: {len(value)} chars, {label} format")


def test_token_format_overrides_shaped_name():
    value = "ghp_" + _r(36)
    assert not judge("PASSWORD_FILE", None).secret
    assert judge("PASSWORD_FILE", value).secret  # a literal token wins over the *_FILE shape
    assert judge("API_URL", f"https://ci:{_r(24)}@registry.invalid/").secret


def test_high_entropy_literal():
    value = _r(40, ALNUM + "+/")
    assert token_format(value) is None
    assert is_literal_secret(value)
    v = judge("UPLOAD_VALUE", value)
    assert v.secret and v.literal
    assert describe_value(value) == "<redacted: 40 chars, high entropy>"


NOT_LITERAL = [
    ("sha256_hex", "3f7a1d16fa4217b1dc75e1c9ffe35b7f15dfa1ba3f7a1d16fa4217b1dc75e1c9"),
    ("gpg_fpr", "3F7A1D16FA4217B1DC75E1C9FFE35B7F15DFA1BA"),
    ("uuid", "123e4567-e89b-12d3-a456-426614174000"),
    ("version", "1.2.3-alpine3.19"),
    ("path", "/etc/ssl/private/server.key"),
    ("rel_path", "assets/server/tls/snakeoil.key"),
    ("url", "https://github.com/keycloak/keycloak/releases/download/21.0.1/keycloak-21.0.1.tar.gz"),
    ("image", "node:10.19.0-windowsservercore"),
    ("channel", "PSDocker-arm32v7-Ubuntu-20.04"),
    ("flags", "--gcc-toolchain=/opt/rh/gcc-toolset-13/root/usr"),
    ("aws_doc_example", "AKIAIOSFODNN7EXAMPLE"),
    ("words", "my-super-long-project-name-2024"),
    ("weak_password", "admin1234"),
    ("reference", "${GITHUB_TOKEN}"),
    ("sri", "sha512-" + _r(86, ALNUM + "+/") + "=="),
    ("digest", "sha256:" + _r(64, "0123456789abcdef")),
]


@pytest.mark.parametrize(("vid", "value"), NOT_LITERAL, ids=[t[0] for t in NOT_LITERAL])
def test_not_a_literal_secret(vid, value):
    assert not is_literal_secret(value)
    v = judge("BUILD_INPUT", value)
    assert not v.secret and not v.literal


@pytest.mark.parametrize(
    "value",
    ["", "changeme", "CHANGE_IT", "changeit", "placeholder", "dummy", "xxx", "XXXXXXXX", "<token>",
     "[YOUR KAGGLE KEY]", "your_token_here", "YOUR_API_KEY", "{{ secret }}", "TODO", "none",
     "00000000-0000-0000-0000-000000000000", "00000000000000000000000000000000", "SECRET_PASSWORD",
     "I will be replaced", "replace-me"],
)
def test_placeholders(value):
    assert is_placeholder(value)
    assert not is_literal_secret(value)
    assert sum(e.weight for e in value_evidence(value)) < 0


@pytest.mark.parametrize("value", ["root", "admin", "hunter2", "s3cr3t!Pass", "Abc123456*", "ghp_" + _r(36)])
def test_not_placeholders(value):
    assert not is_placeholder(value)


def test_placeholder_weakens_but_keeps_runtime_slots():
    # A strong name with an empty/placeholder default is still a slot for a secret ...
    for value in ("", "changeme", "your_token", "00000000-0000-0000-0000-000000000000"):
        v = judge("HUBOT_SLACK_TOKEN", value)
        assert v.secret and not v.literal
        assert v.score < judge("HUBOT_SLACK_TOKEN", None).score
    assert judge("KAGGLE_KEY", "").secret
    # ... but an explicit dummy stand-in (only satisfies a build step) is not.
    assert not judge("SECRET_KEY", "dummy").secret
    assert not judge("RECAPTCHA_PRIVATE_KEY", "dummy").secret
    # ... and a weak name with a placeholder stays below the threshold.
    assert not judge("AUTH", "changeme").secret


VALUE_MUST_NOT_FLAG = [  # (id, name, value): the value turns a secret-looking name off
    ("path_key", "NGROK_SERVER_KEY", "assets/server/tls/snakeoil.key"),
    ("path_cred", "DOCKER_CREDENTIAL_GCR_CONFIG", "/kaniko/.config/gcloud/docker_credential_gcr_config.json"),
    ("abs_path_key", "SSH_KEY", "/root/.ssh/id_rsa"),
    ("bool_auth", "RACKULA_AUTH", "false"),
    ("url_no_creds", "PIP_EXTRA_INDEX_URL", "https://download.pytorch.org/whl/cpu"),
    ("url_no_creds_db", "DATABASE_URL", "sqlite:///data/app.db"),
    ("publishable", "STRIPE_KEY", "pk_live_" + _r(24)),
    ("host", "AUTH_SERVER_KEY", "keyserver.ubuntu.com"),
    ("dummy_secret", "DJANGO_SECRET_KEY", "dummy"),
]


@pytest.mark.parametrize(("vid", "name", "value"), VALUE_MUST_NOT_FLAG, ids=[t[0] for t in VALUE_MUST_NOT_FLAG])
def test_value_turns_name_off(vid, name, value):
    assert not judge(name, value).secret


def test_reference_is_neutral():
    assert value_evidence("$NPM_TOKEN") == [Evidence("value", 0.0, "default is a variable reference (not a literal)")]
    for v in ("$X", "${X}", "${X:-}", "${MAXMIND_LICENSE_KEY?-}"):
        assert sum(e.weight for e in value_evidence(v)) == 0
        assert not is_literal_secret(v)
    assert judge("NPM_TOKEN", "$NPM_TOKEN").secret
    assert not judge("NPM_VERSION", "$NPM_TOKEN").secret
    assert value_evidence(None) == []


def test_url_userinfo_reference_is_not_literal():
    value = "https://oauth2:${GITLAB_TOKEN}@gitlab.invalid/group/repo.git"
    assert token_format(value) is None
    assert not is_literal_secret(value)
    ev = value_evidence(value)
    assert ev and ev[0].weight == 2.0
    v = judge("GIT_REMOTE", value)
    assert v.secret and not v.literal  # the ENV/ARG holds the token once expanded
    assert "URL credentials from a variable" in describe_value(value)


def test_describe_value():
    assert describe_value(None) == "<unset>"
    assert describe_value("") == "<empty>"
    assert describe_value("$NPM_TOKEN") == "<reference to $NPM_TOKEN>"
    assert describe_value("${NPM_TOKEN}") == "<reference to $NPM_TOKEN>"
    assert describe_value("${TOKEN:-abc}") == "<reference to $TOKEN with a default or modifier>"
    assert describe_value("changeme") == "<redacted: 8 chars, placeholder>"
    assert describe_value("x") == "<redacted: 1 char>"
    assert describe_value("ghp_" + _r(36)) == "<redacted: 40 chars, GitHub token format>"


# ------------------------------------------------------------------------------------------------
# Uses (supplied by the caller's data flow)

USE_CURL = Evidence("use", 2.0, "curl -u")
USE_PIP = Evidence("use", 2.0, "pip index URL with credentials")
USE_USERINFO = Evidence("use", 2.0, "reaches URL user-info")


def test_use_makes_bland_names_secret():
    assert judge("CREDS", None).secret
    v = judge("CREDS", "dummy")  # a dummy default alone would switch it off ...
    assert not v.secret
    v = judge("CREDS", "dummy", uses=[USE_CURL])  # ... but it is used with curl -u
    assert v.secret and any(e.kind == "use" for e in v.evidence)

    assert not judge("PIP_EXTRA_INDEX_URL", "https://pypi.org/simple").secret
    assert judge("PIP_EXTRA_INDEX_URL", "https://pypi.org/simple", uses=[USE_PIP]).secret

    assert not judge("FOO", None).secret
    assert judge("FOO", None, uses=[USE_CURL]).secret  # curl -u user:$FOO
    assert judge("REPO_URL", None, uses=[USE_USERINFO]).secret  # use beats the *_URL shape


def test_weak_use_does_not_decide_alone():
    assert not judge("FOO", None, uses=[Evidence("use", 1.0, "echoed to the build log")]).secret
    assert not judge("NPM_TOKEN", None, uses=[Evidence("use", -3.0, "only used as a file name")]).secret


# ------------------------------------------------------------------------------------------------
# Policy

def test_policy_globs():
    p = Policy(secret_names=("internal_*", "MYCO_SIGNER"), allow_names=("GPG_*", "*_TOKEN_PLACEHOLDER"))
    v = judge("INTERNAL_THING", None, policy=p)  # case-insensitive
    assert v.secret and v.evidence[-1].kind == "config"
    assert judge("myco_signer", None, policy=p).secret
    assert not judge("GPG_PASSPHRASE", None, policy=p).secret
    assert not judge("NPM_TOKEN_PLACEHOLDER", "ghp_" + _r(36), policy=p).secret


def test_policy_specificity_and_tie():
    p = Policy(secret_names=("*_KEY",), allow_names=("SIGNING_KEY",))
    assert not judge("SIGNING_KEY", None, policy=p).secret  # the more specific glob wins
    assert judge("OTHER_KEY", None, policy=p).secret
    tie = Policy(secret_names=("A_*",), allow_names=("A_*",))
    assert judge("A_B", None, policy=tie).secret  # a tie fails safe
    # allow-names beat uses: the user has the last word
    assert not judge("FOO", None, uses=[USE_CURL], policy=Policy(allow_names=("FOO",))).secret


# ------------------------------------------------------------------------------------------------
# Secrets are never printed

def _outputs(name: str, value: str | None) -> list[str]:
    out = [e.reason for e in name_evidence(name)]
    out += [e.reason for e in value_evidence(value)]
    v = judge(name, value, uses=[USE_CURL], policy=Policy(allow_names=("NOPE",)))
    out += [e.reason for e in v.evidence]
    out += [describe_value(value), str(token_format(value or "")), str(public_bundle_prefix(name))]
    out += [repr(e) for e in v.evidence]
    return out


def test_canaries_never_appear_in_reasons_or_descriptions():
    rng = random.Random(7)
    names = ["CANARY_TOKEN", "NPM_TOKEN", "VITE_API_KEY", "githubToken", "BUNDLE_GEMS__X__COM", "FOO"]
    for _ in range(40):
        canary = "".join(rng.choice(ALNUM) for _ in range(24))
        templates = [
            canary, canary.lower(), "ghp_" + canary + canary[:12], "npm_" + canary + canary[:12],
            f"https://user:{canary}@host.invalid/simple", f"https://{canary}@host.invalid/",
            f"https://h.invalid/x?token={canary}", "Bearer " + canary,
            f"-----BEGIN PRIVATE KEY-----\n{canary}\n-----END PRIVATE KEY-----",
            f"{canary}:{canary}", f"pre ${{X}} {canary}", f"${{X:-{canary}}}", "dummy" + canary,
            "changeme_" + canary, f"//r.invalid/:_authToken={canary}",
        ]
        for value in templates:
            grams = {canary[i:i + 6] for i in range(len(canary) - 5)}
            for name in names + [f"X_{canary}_TOKEN", f"{canary}"]:
                for text in _outputs(name, value):
                    assert canary not in text
                    if name == "FOO" or not name.startswith(("X_", canary)):
                        assert not any(g in text for g in grams), text


def test_reasons_never_echo_unrecognised_name_parts():
    name = "ZQXWV_TOKEN"
    assert all("ZQXWV" not in e.reason for e in judge(name, None).evidence)


# ------------------------------------------------------------------------------------------------
# Balance: at least as many must-not-flag cases as must-flag ones

def test_case_balance():
    must_flag = len(NAME_MUST_FLAG) + len(TOKEN_VALUES)
    must_not = len(NAME_MUST_NOT_FLAG) + len(NOT_LITERAL) + len(VALUE_MUST_NOT_FLAG) + len(PUBLIC_BUNDLE)
    assert must_not >= must_flag, (must_not, must_flag)


# ------------------------------------------------------------------------------------------------
# LABELS.tsv (name + default value only; informational, no thresholds asserted)


@pytest.mark.corpus
def test_labels_precision_recall(capsys):
    from conftest import require_corpus

    from refactor.source import SourceFile
    from refactor.syntax import dockerfile, words

    root = require_corpus("secrets")
    cache: dict[str, list[tuple[str, str, str | None, int, int]]] = {}

    def items(file: str):
        if file not in cache:
            out = []
            try:
                df = dockerfile.parse(SourceFile.from_bytes(file, (root / file).read_bytes()))
            except Exception:  # BuildKit rejects some labelled files; judge those by name only
                df = None
            for ins in df.instructions if df else ():
                eff = ins.effective
                if eff.cmd in ("arg", "env"):
                    for nv in words.name_values(eff.args, df.escape, legacy_env=eff.cmd == "env"):
                        val = None if nv.value is None else words.unquote(nv.value, df.escape)
                        out.append((eff.cmd.upper(), nv.name, val, ins.start_line, ins.end_line))
            cache[file] = out
        return cache[file]

    tp = fp = fn = tn = 0
    wrong = []
    with open(root / "LABELS.tsv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["kind"] not in ("ARG", "ENV"):
                continue
            lines = [int(x) for x in row["line"].split(",") if x.strip().isdigit()]
            cands = [i for i in items(row["file"]) if i[0] == row["kind"] and i[1] == row["name"]]
            hit = [i for i in cands if any(i[3] <= ln <= i[4] for ln in lines)] or cands
            value = hit[0][2] if hit else None
            verdict = judge(row["name"], value)
            label = row["is_secret"] == "yes"
            if verdict.secret and label:
                tp += 1
            elif verdict.secret:
                fp += 1
                wrong.append(("FP", row["name"], describe_value(value)))
            elif label:
                fn += 1
                wrong.append(("FN", row["name"], describe_value(value)))
            else:
                tn += 1
    assert tp + fp + fn + tn > 0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    with capsys.disabled():
        print(f"\nLABELS.tsv name+value: tp={tp} fp={fp} fn={fn} tn={tn} "
              f"precision={precision:.3f} recall={recall:.3f}")
        for w in wrong:
            print("  ", *w)


# -u/--user is an authenticating option of curl only
@pytest.mark.parametrize("script,flagged", [
    ("adduser -D -u ${PIHOLE_UID} pihole", False),
    ("useradd -u $APP_UID app", False),
    ("sudo -u $APP_USER make", False),
    ("pip install --user $PIP_PACKAGES", False),
    ("id -u $NAME", False),
    ("curl -fsSL -u ci:$TOK https://art.example/x", True),
    ("apk add curl && curl -u $TOK: https://art.example/x", True),
    ("curl -fsSL \\\n  --user \"ci:$TOK\" https://art.example/x", True),
    ("curl -s https://a.example; useradd -u $TOK app", False),
])
def test_user_option_counts_for_curl_only(script, flagged):
    from refactor.analysis.shell import _auth_index

    assert ("TOK" in _auth_index(script) or "PIHOLE_UID" in _auth_index(script)
            or "APP_UID" in _auth_index(script) or "APP_USER" in _auth_index(script)
            or "PIP_PACKAGES" in _auth_index(script) or "NAME" in _auth_index(script)) == flagged

"""Known credential formats for the secret classifier: token formats and the substrings each needs (a
fast prefilter), Google and publishable keys, URL and query credentials, literal ``Authorization``
values, and :func:`token_format` / :func:`literal_tokens`, which find them in a value or a text.
"""

from __future__ import annotations

import re

from refactor.analysis.secrets_placeholders import is_placeholder
from refactor.analysis.secrets_shapes import _HEX_RE, _URL_QUERY_CRED_RE, _URL_RE, _URL_USERINFO_RE, _high_entropy
from refactor.lazyre import lazy

_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, lazy(rx))
    for label, rx in (
        ("private key", r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d"),
        ("GitHub token", r"(?<![A-Za-z0-9])(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}(?![A-Za-z0-9])"),
        ("GitHub token", r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{50,}"),
        ("GitLab token", r"(?<![A-Za-z0-9])gl(?:pat|dt|ft|soat|rt|cbt|ptt|imt|agent|oas|ffct|cb)-[A-Za-z0-9_\-]{20,}"),
        ("GitLab token", r"(?<![A-Za-z0-9])GR1348941[A-Za-z0-9_\-]{20,}"),
        ("npm token", r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"),
        ("PyPI token", r"(?<![A-Za-z0-9])pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,}"),
        ("AWS access key id", r"(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        ("Docker Hub token", r"(?<![A-Za-z0-9])dckr_(?:pat|oat)_[A-Za-z0-9_\-]{20,}"),
        ("Slack token", r"(?<![A-Za-z0-9])xox[abposre]-[A-Za-z0-9\-]{10,}"),
        ("Slack webhook URL", r"hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/]{20,}"),
        ("Artifactory API key", r"(?<![A-Za-z0-9])AKCp[A-Za-z0-9]{60,}(?![A-Za-z0-9])"),
        ("Artifactory reference token", r"(?<![A-Za-z0-9])cmVmd[A-Za-z0-9]{59}(?![A-Za-z0-9])"),
        ("Vault token", r"(?<![A-Za-z0-9])hv[sb]\.[A-Za-z0-9_\-]{90,}"),
        ("JWT", r"(?<![A-Za-z0-9])eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
        ("Hugging Face token", r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{34,}(?![A-Za-z0-9])"),
        ("Anthropic API key", r"(?<![A-Za-z0-9])sk-ant-[a-z]{2,8}\d{2}-[A-Za-z0-9_\-]{40,}"),
        ("OpenAI API key", r"(?<![A-Za-z0-9])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,}"),
        ("OpenAI API key", r"(?<![A-Za-z0-9])sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}"),
        ("Stripe secret key", r"(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
        ("SendGrid API key", r"(?<![A-Za-z0-9])SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"),
        ("Azure storage account key", r"AccountKey=[A-Za-z0-9+/]{40,}={0,2}"),
        ("Telegram bot token", r"(?<![0-9:])\d{8,10}:AA[A-Za-z0-9_\-]{33}(?![A-Za-z0-9_\-])"),
        ("DigitalOcean token", r"(?<![A-Za-z0-9])do[opr]_v1_[a-f0-9]{64}(?![A-Za-z0-9])"),
        ("Shopify token", r"(?<![A-Za-z0-9])shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9])"),
        ("Age secret key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
        ("npmrc credential", r"(?:_authToken|_auth|_password)\s*=\s*(?![\s$\"']|\$)[^\s]{8,}"),
        ("HTTP authorization credentials", r"^(?:[Bb]asic|[Bb]earer|[Tt]oken)\s+[A-Za-z0-9+/=._~\-]{8,}$"),
    )
)
_GOOGLE_KEY_RE = lazy(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}(?![A-Za-z0-9])")
_PUBLISHABLE_RE = lazy(r"^pk_(?:live|test)_[A-Za-z0-9]{16,}$")


def _url_creds(value: str) -> tuple[str, bool] | None:
    """('password'|'userinfo', literal?) for the first URL user-info in ``value``."""
    m = _URL_USERINFO_RE.search(value)
    if not m:
        return None
    userinfo = m.group(1)
    user, colon, pw = userinfo.partition(":")
    if colon and pw:
        if "$" in pw:
            return "password", False
        return "password", not is_placeholder(pw)
    if "$" in user:
        return "userinfo", False
    if _high_entropy(user) and not _HEX_RE.match(user):
        return "userinfo", True
    return None


def _query_creds(value: str) -> tuple[bool] | None:
    m = _URL_QUERY_CRED_RE.search(value)
    if not m:
        return None
    v = m.group(1)
    return (("$" not in v) and not is_placeholder(v) and len(v) >= 8,)


_LITERAL_AUTH_HEADER = lazy(
    r"(?i)\b(?:authorization\s*:\s*(?:bearer|basic|token)|x-jfrog-art-api\s*:|private-token\s*:|job-token\s*:)"
    r"\s*([A-Za-z0-9+/=._~\-]{12,})"
)


# Substrings each format needs (index-aligned with _FORMATS): a cheap `in` test before the
# regex, whose leading look-behind keeps the regex engine from searching for its prefix itself.
_FORMAT_KEYS: tuple[tuple[str, ...], ...] = (
    ("-----BEGIN", "PuTTY-User-Key-File"),
    ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ("github_pat_",),
    ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glptt-", "glimt-", "glagent-", "gloas-", "glffct-", "glcb-"),
    ("GR1348941",),
    ("npm_",),
    ("pypi-AgE",),
    ("A3T", "AKIA", "ASIA", "ABIA", "ACCA"),
    ("dckr_",),
    ("xox",),
    ("hooks.slack.com",),
    ("AKCp",),
    ("cmVmd",),
    ("hvs.", "hvb."),
    ("eyJ",),
    ("hf_",),
    ("sk-ant-",),
    ("sk-",),
    ("sk-",),
    ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
    ("SG.",),
    ("AccountKey=",),
    (":AA",),
    ("dop_v1_", "doo_v1_", "dor_v1_"),
    ("shpat_", "shpca_", "shppa_", "shpss_"),
    ("AGE-SECRET-KEY-1",),
    ("_auth", "_password"),
    (),
)
assert len(_FORMAT_KEYS) == len(_FORMATS), "one key tuple per credential format"
_AUTH_HEADER_KEYS = ("authorization", "x-jfrog-art-api", "private-token", "job-token")
# The token formats with a distinctive prefix, glued to a letter or digit before it
# (``HEALTHCHECK --interval=xghp_…``, ``pw=abcAKIA…``): not a finding (the format's look-behind keeps
# the finding to a standalone token), but masked all the same: dfix prints no such token.
_GLUED = lazy(
    r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}(?![A-Za-z0-9])|github_pat_[A-Za-z0-9_]{50,}"
    r"|gl(?:pat|dt|ft|soat|rt|cbt|ptt|imt|agent|oas|ffct|cb)-[A-Za-z0-9_\-]{20,}"
    r"|npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])|(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"
    r"|dckr_(?:pat|oat)_[A-Za-z0-9_\-]{20,}|xox[abposre]-[A-Za-z0-9\-]{10,}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"
)
_GLUED_KEYS = (*_FORMAT_KEYS[1], *_FORMAT_KEYS[2], *_FORMAT_KEYS[3], "npm_", *_FORMAT_KEYS[7], "dckr_", "xox", "_live_", "_test_")
_UNKEYED = tuple(f for f, keys in zip(_FORMATS, _FORMAT_KEYS) if not keys)
_ANY_KEY = lazy("|".join(re.escape(k) for keys in _FORMAT_KEYS for k in keys) + "|(?i:" + "|".join(_AUTH_HEADER_KEYS) + ")")


def literal_tokens(text: str) -> list[str]:
    """Every substring of ``text`` that is a committed credential: by its format alone (a GitHub
    token, an AWS key id, a private key header, a literal bearer header value, ...) or by its
    position (a URL password, ``curl -u`` password, ``--password`` value, ... see
    ``literals.scan``; multi-line key blocks are returned line by line). Outputs mask these
    wherever they appear, whatever the findings say: dfix never prints a secret value."""
    found: list[str] = []
    if not _ANY_KEY.search(text):
        return sorted(_literal_masks(text), key=len, reverse=True)  # the common case: no format key
    for (_label, rx), keys in zip(_FORMATS, _FORMAT_KEYS):
        if not keys or not any(k in text for k in keys):
            continue  # (no keys: a whole-value format, not searched in text)
        found.extend(m.group(0) for m in rx.finditer(text))
    if any(k in text for k in _GLUED_KEYS):
        found.extend(m.group(0) for m in _GLUED.finditer(text))
    low = text.lower()
    if any(k in low for k in _AUTH_HEADER_KEYS):
        found.extend(m.group(1) for m in _LITERAL_AUTH_HEADER.finditer(text) if not m.group(1).startswith("$"))
    return sorted(set(found) | set(_literal_masks(text)), key=len, reverse=True)


def _literal_masks(text: str) -> list[str]:
    from refactor.analysis.literals import mask_values

    return mask_values(text)


def token_format(value: str) -> str | None:
    """The label of a known credential format found in ``value`` (never the matched text)."""
    if not value:
        return None
    # every keyed format needs one of its keys in the value: one search for any key first (most
    # values hold none), then only the formats without a key
    for label, rx in _FORMATS if _ANY_KEY.search(value) else _UNKEYED:
        if rx.search(value):
            return label
    uc = _url_creds(value)
    if uc and uc[1]:
        return "URL with credentials"
    qc = _query_creds(value)
    if qc and qc[0] and _URL_RE.match(value):
        return "URL with a credential parameter"
    if _GOOGLE_KEY_RE.search(value):
        return "Google API key"
    return None

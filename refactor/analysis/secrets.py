"""Is this ARG/ENV a secret?  Name, value and use evidence, combined into a verdict.

Pure functions, no I/O.  Every function here may see a real credential, so the one hard rule is:
**no reason or description ever contains a character of a value.**  Reasons are built only from
this module's own vocabulary (token words, format labels, pattern descriptions); they never echo
the variable's name verbatim either (only vocabulary words found in it), and ``describe_value``
reports lengths and format labels only.

Scoring
=======
Each piece of evidence carries a weight (positive = towards secret).  ``judge`` adds them up and
calls the variable a secret when the total reaches ``THRESHOLD`` (2.0), with three overrides that
are applied first, in this order:

1. **Public-bundle prefix** (``VITE_``, ``REACT_APP_``, ``NEXT_PUBLIC_``, ...): never a secret; the
   value is compiled into client code and a secret mount cannot help.  A separate rule reports
   these.  ``score`` is still the score of the name *without* the prefix, so a caller can tell
   ``VITE_API_KEY`` (secret-looking, exposed) from ``VITE_BASE_URL``.
2. **Policy globs** (``[tool.dfix] secret-names`` / ``allow-names``; case-insensitive fnmatch): the
   most specific matching glob (most literal characters) decides; a tie goes to ``secret-names``.
   Weight +/-10, kind ``config``.
3. **Use evidence** (kind ``use``, supplied by the caller's data-flow analysis): when the use weights
   add up to >= 2 the variable reaches an authenticating position (URL user-info, an
   ``Authorization`` header, ``curl -u``, ``.npmrc _authToken``, ``docker login -p``, ...) and is a
   secret whatever its name or default says.

Otherwise the total decides.  Name weights (``name_evidence``):

* known credential names and patterns (``AWS_SECRET_ACCESS_KEY``, ``*_ACCESS_KEY_ID``, ``NPM_TOKEN``,
  ``PIP_EXTRA_INDEX_URL``, ``BUNDLE_<HOST>__<TLD>``, ``*_PRIVATE_KEY``, artifact-repository
  credentials, ...): **+4**, and name shapes are not applied;
* generic credential-bearing names (``*_INDEX_URL``, database connection URLs, ``AUTHED_*_URL``): +3;
* strong tokens (``TOKEN``, ``PASSWORD``, ``PASSWD``, ``PWD``, ``PASS``, ``PSW``, ``PAT``, ``SECRET``,
  ``APIKEY``, ``CREDENTIAL(S)``, ``CREDS``, ``PASSPHRASE``, ...): +3;
* ``KEY`` as the head (last) word: +2.5, +3 after a credential modifier (``API``, ``ACCESS``,
  ``LICENSE``, ``MASTER``, ...), 0.5 after a TLS word (``SSL_CERT_KEY``: a file path in practice),
  0 after a lookup word (``FILE_KEY``, ``CACHE_KEY``, ``SORT_KEY``); ``KEY`` elsewhere: +1;
* ``AUTH``: +1 (+1.5 as the head word, +3 in ``BASIC_AUTH``/``NPM_AUTH``/``HTTP_AUTH``);
* the positive part is the strongest token, +0.5 when several credential words occur;
* a negative shape makes the name score **-2** whatever its positive tokens were: the head word is a
  non-secret noun (``*_URL``, ``*_FILE``, ``*_PATH``, ``*_VERSION``, ``*_ID``, ``*_NAME``, ``*_MODE``,
  ``*_USER``, ...), the name is a flag (``USE_*``, ``ENABLE_*``, ``REQUIRE_*``, ...), or the key is
  public (``PUBLIC``, ``PUB``, ``PUBLISHABLE``, ``GPG``/``PGP`` fingerprints, browser API keys of
  Maps/Firebase, ``KMS`` key references).

Value weights (``value_evidence``; a ``$VAR`` reference is neutral, never a literal):

* a known token format, a private-key block, a URL with a literal password, a credential query
  parameter, an HTTP ``Authorization`` value: **+4** (literal secret);
* a high-entropy literal (>= 20 chars, entropy >= 3.5 bits/char, mixed character classes, not a
  path/URL/version/hex digest/UUID): +2 (literal secret);
* a URL whose password (or user-info) is a ``$VAR`` reference: +2 (+1 for user-info only);
* an empty or placeholder default (``changeme``, ``your_token``, ``<token>``, ``xxxx``): -0.5 (an
  empty runtime slot is still a slot for a secret);
* an explicit ``dummy`` value (a stand-in that only satisfies a build step): -3;
* a file path, a URL without credentials: -3; a boolean, version, host name or e-mail: -2;
* a publishable-key format (Stripe ``pk_``): -3.

So a strong name with no default scores 3 (secret); with an empty default 2.5 (secret); with a
``dummy`` default 0 (not secret); a shaped name (``TOKEN_URL``) scores -2 and needs a literal token
(+4) or a use to become a secret; a bland name (``FOO``) needs a literal secret or a use.

Layout: this module is the public face (the policy, the verdict and the names above); the parts are
``secrets_evidence`` (records), ``secrets_words`` and ``secrets_tokens`` (the name vocabulary and
tokenizer), ``secrets_names`` (name evidence), ``secrets_shapes``, ``secrets_placeholders`` and
``secrets_formats`` (value shapes, stand-ins, token formats) and ``secrets_values`` (value evidence).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from functools import lru_cache

from refactor.analysis.policy import Policy as Policy
from refactor.analysis.secrets_evidence import THRESHOLD, USE_DECISIVE, Evidence, Verdict
from refactor.analysis.secrets_formats import _ANY_KEY as _ANY_KEY
from refactor.analysis.secrets_formats import _FORMAT_KEYS as _FORMAT_KEYS
from refactor.analysis.secrets_formats import _FORMATS as _FORMATS
from refactor.analysis.secrets_formats import literal_tokens as literal_tokens
from refactor.analysis.secrets_formats import token_format
from refactor.analysis.secrets_names import _name_evidence, name_evidence, public_bundle_prefix
from refactor.analysis.secrets_placeholders import _EMBEDDED_ASSIGN as _EMBEDDED_ASSIGN
from refactor.analysis.secrets_placeholders import is_placeholder, is_public_key, is_reference, is_stand_in, real_literal
from refactor.analysis.secrets_shapes import _ABS_PATH_RE as _ABS_PATH_RE
from refactor.analysis.secrets_shapes import _HEX_RE as _HEX_RE
from refactor.analysis.secrets_shapes import _UUID_RE as _UUID_RE
from refactor.analysis.secrets_shapes import _high_entropy as _high_entropy
from refactor.analysis.secrets_tokens import name_tokens
from refactor.analysis.secrets_values import describe_value, is_literal_secret, value_evidence

__all__ = [
    "THRESHOLD",
    "Evidence",
    "Policy",
    "Verdict",
    "committed_password",
    "describe_value",
    "holds_credential",
    "is_literal_secret",
    "is_placeholder",
    "is_public_key",
    "is_reference",
    "is_stand_in",
    "judge",
    "name_evidence",
    "name_tokens",
    "public_bundle_prefix",
    "real_literal",
    "token_format",
    "value_evidence",
]


# ------------------------------------------------------------------------------------------------
# Verdict


_NO_POLICY = Policy()


@lru_cache(maxsize=4096)
def holds_credential(name: str) -> bool:
    """The name alone says the variable holds a credential (a strong credential word or a known
    credential name: ``PGPASSWORD``, ``DB_PASSWORD``, ``API_KEY``, ``NPM_TOKEN``), not merely
    something that often carries one (``DATABASE_URL``, ``PIP_INDEX_URL``). A value copied into
    such a variable is a credential."""
    norm = name.replace(".", "_").replace("-", "_")
    v = judge(norm, None)
    if not v.secret:
        return False
    return any(
        e.kind == "name" and e.weight >= 2.5 and "URL" not in e.reason and "connection" not in e.reason and "webhook" not in e.reason
        for e in v.evidence
    )


_PASSWORD_TOKENS = {"password", "passwd", "pwd", "pass", "psw", "pword", "passphrase", "passcode", "pw"}


def committed_password(name: str, value: str | None) -> bool:
    """A password-named variable (``DB_PASSWORD``, ``ROOTPASS``, ``SMTP_PWD``) with a literal that is
    no stand-in (``changeme``, ``admin``, ``postgres``, ``password123``, ``<pw>``): a committed
    password, to rotate. Format tokens and high-entropy strings are ``is_literal_secret``."""
    if not value or is_reference(value):
        return False
    if not any(t in _PASSWORD_TOKENS for t in name_tokens(name)):
        return False
    return real_literal(value)


def _glob_hit(name: str, globs: Sequence[str]) -> int:
    """Specificity (literal characters) of the most specific glob matching ``name``, or -1."""
    up = name.upper()
    best = -1
    for g in globs:
        if fnmatch.fnmatchcase(up, g.upper()):
            best = max(best, sum(c not in "*?[]" for c in g))
    return best


def judge(name: str, value: str | None, uses: Sequence[Evidence] = (), policy: Policy = _NO_POLICY) -> Verdict:
    """Secret or not, with the evidence (see the module docstring for the rules)."""
    ev: list[Evidence] = list(_name_evidence(name))
    ev.extend(value_evidence(value))
    ev.extend(uses)
    score = round(sum(e.weight for e in ev), 3)
    literal = is_literal_secret(value) or committed_password(name, value)

    if public_bundle_prefix(name):
        return Verdict(False, score, tuple(ev), literal)

    s_hit = _glob_hit(name, policy.secret_names) if policy.secret_names else -1
    a_hit = _glob_hit(name, policy.allow_names) if policy.allow_names else -1
    if s_hit >= 0 or a_hit >= 0:
        if s_hit >= a_hit:
            ev.append(Evidence("config", 10.0, "matches a secret-names glob"))
            return Verdict(True, round(score + 10.0, 3), tuple(ev), literal)
        ev.append(Evidence("config", -10.0, "matches an allow-names glob"))
        return Verdict(False, round(score - 10.0, 3), tuple(ev), False)

    use_total = sum(e.weight for e in ev if e.kind == "use")
    secret = use_total >= USE_DECISIVE or score >= THRESHOLD
    return Verdict(secret, score, tuple(ev), literal and secret)

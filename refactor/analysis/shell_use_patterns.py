"""The patterns of use evidence: where in a RUN's text a ``$VAR`` reaches an authenticating position
(URL user-info, auth headers, ``curl -u``, ``--password`` options, ``.npmrc`` ``_authToken``, netrc
``password``, ``docker login`` and other login commands), each with its reason and weight.
"""

from __future__ import annotations

import re

from refactor.analysis.gap import GapPattern, RunScan
from refactor.lazyre import lazy

# --------------------------------------------------------------------------------------------
# Use evidence: a variable reaching an authenticating position


_REF = lazy(r"\$\{(?:env\.)?([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)")
_WHOLE_REF = lazy(r"[\"']?\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))[\"']?")
_Q = r"[\"']?"
_ONE = r"(\$\{?(?:env\.)?[A-Za-z_][A-Za-z0-9_]*)"


def _curl(tail: str) -> GapPattern:
    """From a curl word to one of its later options (same simple command: no ; | & or newline,
    though backslash-continued lines count), at most 512 characters on."""
    return GapPattern(r"(?:^|[\s;|&(`])curl", tail, limit=512, lead=r"\s")


def _cmd(head: str, tail: str) -> GapPattern:
    """HEAD, then the rest of its simple command (at most 512 characters), then TAIL: matched
    linearly however many command words the text holds (:mod:`refactor.analysis.gap`)."""
    return GapPattern(head, tail, limit=512)


# (pattern, reason, weight, how, guard): the refs inside group 1 are in an authenticating position;
# the pattern only runs on a text whose lower-cased form contains one of the guard words.
# how = "refs": every ref in the group; "whole": only when the group is one ref; "after-colon":
# refs after the first ':' (the password half of user:password); "token-user": "whole", but a
# name that says it is a user name (GIT_USER) counts as weak evidence only; "assign": group 1 is
# a variable name and group 2 its value, which counts when the name itself is a credential
# (PGPASSWORD=$X, export DB_PASSWORD=$X, token = "$X" in credentials.toml).
_OPT_PREFIX_NOT = r"(?!(?:no|disable|disabled|with|without|skip|allow|require|required|enable|ask|prompt|empty|random|generate|show|use|force|check|verify|keep|store|save|stdin)-)"
_USE_PATTERNS: list[tuple[re.Pattern[str] | GapPattern | RunScan, str, float, str, tuple[str, ...]]] = [
    # ://user:password@ (the password after the last colon); possessive, so a run of colons is read
    # once, where ://[^\s/@'"]*:([^\s/@'"]*)@ backtracked through it from every colon
    (lazy(r"://(?:[^\s/@'\":]*+:)++([^\s/@'\":]*+)@"), "reaches the password part of a URL", 2.0, "refs", ("://",)),
    # http(s) user-info without a password: a token (git and HTTP clients send it as the user)
    (
        lazy(r"(?i)(?<![A-Za-z0-9+.\-])(?:https?|git\+https?)://([^\s/@:'\"]+)(?::(?:x-oauth-basic|x-oauth|oauth2|oauth|basic)?)?@"),
        "is used as the URL user-info (a token as the user name)",
        2.0,
        "token-user",
        ("://",),
    ),
    (lazy(r"://([^\s/@:'\"]+)@"), "is used as the URL user-info (token as user)", 1.5, "whole", ("://",)),
    (
        lazy(r"(?i)(?:authorization|private-token|job-token|x-jfrog-art-api|x-api-key|api-key|x-auth-token)\s*:([^\n\"']*)"),
        "is sent in an HTTP authentication header",
        2.0,
        "refs",
        ("authorization", "private-token", "job-token", "x-jfrog-art-api", "api-key", "x-auth-token"),
    ),
    # -u/--user is curl's only: adduser -u, useradd -u, sudo -u and pip --user take no credential
    (_curl(r"\s(?:-u|--user)(?:\s+|=)" + _Q + r"([^\s\"']*)"), "is the password of curl -u", 2.0, "after-colon", ("curl",)),
    (_curl(r"\s(?:-u|--user)(?:\s+|=)" + _Q + r"([^\s\"':]*):?" + _Q + r"(?:\s|$)"), "is passed whole to curl -u", 2.0, "whole", ("curl",)),
    (
        lazy(
            r"(?i)(?:^|\s)--" + _OPT_PREFIX_NOT + r"(?:[a-z0-9]+[-.])*(?:password|passwd|pass|pwd|passphrase|token|access-token|auth-token|"
            r"api-key|apikey|secret|secret-key|secret-access-key|client-secret|personal-access-token|oauth2-bearer|license-key)(?:\s+|=)"
            + _Q
            + _ONE
        ),
        "is passed as a --password/--token option",
        2.0,
        "refs",
        ("-pass", "-pwd", ".pass", ".pwd", "-token", ".token", "-key", "-apikey", "-secret", ".secret", "-bearer"),
    ),
    # single-dash password options: nuget -Password, keytool -storepass/-keypass, openssl pass:$X
    (
        lazy(r"(?:^|\s)-(?:Password|password|passwd|Passwd|(?:src|dest|new)?(?:store|key)pass)(?:\s+|=|:)" + _Q + _ONE),
        "is passed as a -password option",
        2.0,
        "refs",
        ("-pass", "-pwd", "storepass", "keypass"),
    ),
    (lazy(r"(?:^|\s)-pass(?:in|out|word)?\s+" + _Q + r"pass:" + _ONE), "is an openssl pass: phrase", 2.0, "refs", ("pass:",)),
    (
        GapPattern(r"(?:^|\s)login\b", r"\s-p\s*" + _Q + _ONE, limit=512, continuation=False),
        "is the password of a login command",
        2.0,
        "refs",
        ("login",),
    ),
    (_cmd(r"(?:^|[\s;&|(])nuget\b", r"\s-p(?:\s+|=)" + _Q + _ONE), "is a NuGet source password", 2.0, "refs", ("nuget",)),
    (
        GapPattern(r"echo\s+" + _Q + _ONE + r"\}?" + _Q + r"\s*\|\s*", r"login", limit=256, stops="\n|;&", continuation=False, flags=re.I),
        "is piped to a login command",
        2.0,
        "refs",
        ("login",),
    ),
    (
        lazy(r"(?i)_(?:authToken|auth|password)(?:\s*=\s*|\s+)" + _Q + _ONE),
        "is written as an .npmrc auth token",
        2.0,
        "refs",
        ("_auth", "_password"),
    ),
    (lazy(r"(?i)(?<![\w-])password\s+" + _Q + _ONE), "is a netrc password", 2.0, "refs", ("password",)),
    (
        RunScan(r"http-basic(?:\s+|\.)\S+\s+\S+\s+" + _Q + _ONE, r"http-basic", re.I),
        "is an http-basic password (poetry/composer)",
        2.0,
        "refs",
        ("http-basic",),
    ),
    (
        lazy(r"(?i)(?:github-oauth|gitlab-token|gitlab-oauth|bearer|pypi-token)\.\S+\s+" + _Q + _ONE),
        "is a package host token (composer/poetry)",
        2.0,
        "refs",
        ("github-oauth.", "gitlab-token.", "gitlab-oauth.", "bearer.", "pypi-token."),
    ),
    (
        lazy(
            r"(?:^|[\s;&|(])bundle\s+config\s+(?:set\s+)?(?:--\w+\s+)*(?:https?://\S+|[A-Za-z0-9-]+\.[A-Za-z0-9.-]+)\s+"
            + _Q
            + r"([^\s\"']+)"
        ),
        "is a Bundler source credential",
        2.0,
        "refs",
        ("bundle",),
    ),
    (
        lazy(r"(?:^|[\s;&|(])cargo\s+login\s+(?:--registry(?:=|\s+)\S+\s+)?" + _Q + _ONE),
        "is a cargo registry token",
        2.0,
        "refs",
        ("cargo",),
    ),
    (
        lazy(r"(?i)configure\s+set\s+aws_(?:secret_access_key|session_token)\s+" + _Q + _ONE),
        "is written by aws configure",
        2.0,
        "refs",
        ("configure",),
    ),
    (
        lazy(r"(?i)(?:npmAuthToken|NPM_AUTH_TOKEN)\s*[:=]\s*" + _Q + _ONE),
        "is a yarn npmAuthToken",
        2.0,
        "refs",
        ("npmauthtoken", "npm_auth_token"),
    ),
    (lazy(r"(?i)<password>\s*" + _ONE), "is a Maven settings password", 2.0, "refs", ("<password>",)),
    # database clients and account passwords
    (
        _cmd(
            r"(?:^|[\s;&|(])(?:mysql|mysqladmin|mysqldump|mysqlimport|mysqlcheck|mysqlsh|mariadb|mariadb-admin|mariadb-dump)\b",
            r"\s-p" + _Q + _ONE,
        ),
        "is a database client password (mysql -p)",
        2.0,
        "refs",
        ("mysql", "mariadb"),
    ),
    (
        _cmd(r"(?:^|[\s;&|(])(?:mysqladmin|mariadb-admin)\b", r"\spassword\s+" + _Q + _ONE),
        "is a database password (mysqladmin password)",
        2.0,
        "refs",
        ("mysqladmin", "mariadb-admin"),
    ),
    (
        _cmd(r"(?:^|[\s;&|(])redis-cli\b", r"\s-a\s+" + _Q + _ONE),
        "is a database client password (redis-cli -a)",
        2.0,
        "refs",
        ("redis-cli",),
    ),
    (
        _cmd(r"(?:^|[\s;&|(])(?:sqlcmd|bcp)\b", r"\s-P\s+" + _Q + _ONE),
        "is a database client password (sqlcmd -P)",
        2.0,
        "refs",
        ("sqlcmd", "bcp"),
    ),
    (
        lazy(
            r"(?i)\b(?:identified\s+(?:with\s+\S+\s+)?by|with\s+(?:encrypted\s+)?password|(?:alter|create)\s+(?:user|role)\s+\S+\s+(?:with\s+)?password)\s*\\?[\"']"
            + _ONE
        ),
        "is an SQL account password",
        2.0,
        "refs",
        ("identified", "password"),
    ),
    (
        lazy(
            r"(?:^|[\s;&|(])htpasswd\s+-[A-Za-z]*b[A-Za-z]*\s+(?:-\S+\s+)*(?:\S+[ \t]+){1,2}"
            + _Q
            + _ONE
            + r"\}?"
            + _Q
            + r"(?=[ \t]*(?:$|[;&|)>\n]|\\\n))"
        ),
        "is an htpasswd password",
        2.0,
        "refs",
        ("htpasswd",),
    ),
    (
        GapPattern(
            r"(?:echo|printf)\s+[\"']?[^:\s\"'$]+:" + _ONE,
            r"\|\s*(?:sudo\s+)?chpasswd",
            limit=256,
            stops="|\n",
            continuation=False,
            flags=re.I,
        ),
        "is set as an account password (chpasswd)",
        2.0,
        "refs",
        ("chpasswd",),
    ),
    (lazy(r"(?:^|[\s;&|(])sshpass\s+-p\s*" + _Q + _ONE), "is an sshpass password", 2.0, "refs", ("sshpass",)),
    (
        _cmd(r"(?:^|[\s;&|(])mongo(?:sh|dump|restore|import|export)?\s", r"\s-p(?:\s+|=)" + _Q + _ONE),
        "is a database client password (mongo -p)",
        2.0,
        "refs",
        ("mongo",),
    ),
    (
        GapPattern(
            r"(?:echo|printf)\s+(?:-[neE]+\s+)?" + _Q + _ONE, r"\|\s*(?:sudo\s+)?ssh-add\b", limit=200, stops="\n;&", continuation=False
        ),
        "is loaded into ssh-agent (a private key)",
        2.0,
        "refs",
        ("ssh-add",),
    ),
    # a private key: between key markers
    (
        lazy(r"PRIVATE KEY-----(?:[^$-]|-(?!----END)|\$(?![A-Za-z_{])){0,512}?" + _ONE),
        "is written between private key markers",
        2.0,
        "refs",
        ("private key",),
    ),
    # an assignment to a credential-named variable
    (
        lazy(r"(?:(?<=\\[nt])|(?<![\w$.\-/\\]))(?:export\s+|-D)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*\\?" + _Q + _ONE),
        "is copied into a credential-named variable",
        2.0,
        "assign",
        ("pass", "pwd", "secret", "token", "apikey", "api_key", "credential", "psw", "auth"),
    ),
]

"""The patterns of committed credentials in a text: the :class:`Literal` span record and, per family,
the regexes and gap-bounded command patterns for URL user-info, ``curl -u``, auth headers, npm/yarn
tokens, password and token options, login commands, database clients, netrc, Bundler, SQL
``IDENTIFIED BY``, password-named assignments and private-key blocks.
"""

from __future__ import annotations

from refactor.analysis.gap import GapPattern, RunScan, word_in_run_starts
from refactor.lazyre import lazy
from refactor.records import dataclass


@dataclass(frozen=True, slots=True)
class Literal:
    start: int  # offsets of the credential itself in the scanned text
    end: int
    kind: str  # what it is, from this module's vocabulary ("URL password", "GitHub token", ...)
    strong: bool  # recognisable by its format alone (reported in comments too)
    pieces: tuple[tuple[int, int], ...] = ()  # for multi-line literals (key blocks): spans to mask


# Formats that are judged by context here (not by the whole-text format scan).
_CONTEXT_FORMATS = {"npmrc credential", "HTTP authorization credentials", "private key"}

_WS = r"(?:[ \t]|\\\r?\n)+"  # blanks, backslash-continued lines included
_OPT_WS = r"(?:[ \t]|\\\r?\n)*"
# an option near its command word: the rest of one simple command, lazily and at most 512
# characters, between them (GapPattern: every word and every option found once, so a text full of
# command words stays linear)
_V = r"[^\s\"';|&<>()]+"  # a bare shell word (expansions included: they are rejected later)
_QV = r"[\"']?(" + _V + r")[\"']?"  # an optionally quoted word: one group, the value

# -- URL user-info ------------------------------------------------------------------------------
_URL_PW = lazy(r"://([^\s/@:'\"`<>]*):([^\s/@'\"`<>]*)@(?=[^\s@'\"/])")
_URL_USER = lazy(r"://([A-Za-z0-9_\-.~+=]{20,})@(?=[^\s@'\"/])")

# -- curl -u / --user ---------------------------------------------------------------------------
_CURL_U = GapPattern(
    r"curl(?<![^\s;|&(`]curl)(?:[ \t]|\\\r?\n)",
    r"(?<=\s)(?:-u|--user)(?:" + _WS + r"|=)?" + r"([\"']?)([^\s\"';|&<>():]*):([^\s\"';|&<>()]*)\1",
    limit=512,
)

# -- HTTP authentication headers ----------------------------------------------------------------
_AUTH_SCHEME = lazy(
    r"(?i)(?<![\w-])(?:proxy-)?authorization[ \t]*:[ \t]*(bearer|basic|token|bot|apikey|api-key|sso-key|digest)[ \t]+([A-Za-z0-9+/=._~\-:]+)"
)
_AUTH_HEADER = lazy(
    r"(?i)(?<![\w-])(x-jfrog-art-api|private-token|job-token|deploy-token|x-api-key|x-auth-token|x-vault-token|"
    r"x-access-token|x-registry-auth|circle-token|travis-api-token)[ \t]*:[ \t]*([A-Za-z0-9+/=._~\-]+)"
)
_AUTH_KEYS = (
    "authorization",
    "x-jfrog-art-api",
    "private-token",
    "job-token",
    "deploy-token",
    "x-api-key",
    "x-auth-token",
    "x-vault-token",
    "x-access-token",
    "x-registry-auth",
    "circle-token",
    "travis-api-token",
)

# -- npm / yarn ---------------------------------------------------------------------------------
_NPMRC_LINE = lazy(r"_(?<![^\s\"':=;]_)(authToken|auth|password)[ \t]*=[ \t]*" + _QV)
_NPM_SET = lazy(
    r"config"
    + _WS
    + r"set"
    + _WS
    + r"(?:--?[A-Za-z-]+(?:=\S+)?"
    + _WS
    + r")*[\"']?(?:[^\s\"']*:)?_(authToken|auth|password)[\"']?"
    + _WS
    + _QV
)
_YARN_AUTH = lazy(r"npmAuth(?:Token|Ident)[\"']?(?:[ \t]*[:=][ \t]*|" + _WS + r")" + _QV)

# -- password / token options -------------------------------------------------------------------
_FLAG_WORDS = {
    "disabled",
    "disable",
    "no",
    "with",
    "without",
    "skip",
    "allow",
    "require",
    "required",
    "enable",
    "ask",
    "prompt",
    "empty",
    "random",
    "generate",
    "reset",
    "show",
    "use",
    "force",
    "check",
    "verify",
    "expire",
    "keep",
    "min",
    "max",
    "store",
    "save",
    "hash",
    "hashed",
    "print",
    "stdin",
    "change",
}
_PW_OPT = lazy(r"--(?<![\w-]--)((?:[a-z0-9]+[-.])*)(password|passwd|pass|pwd|passphrase|passcode)(?:" + _WS + r"|=)" + _QV)
_TOKEN_OPT = lazy(
    r"--(?<![\w-]--)((?:[a-z0-9]+[-.])*)(token|api-key|apikey|access-token|auth-token|secret-key|secret-access-key|"
    r"client-secret|oauth2-bearer|bearer|private-token|license-key|licence-key)(?:" + _WS + r"|=)" + _QV
)
_SHORT_PW_OPT = lazy(r"-(?<![\w-]-)(Password|password|passwd|Passwd|pwd|Pwd|PasswordText)(?:" + _WS + r"|=|:)" + _QV)
_KEYTOOL_PW = lazy(r"-(?<![\w-]-)(?:src|dest|new)?(?:store|key)pass(?:" + _WS + r")" + _QV)
_OPENSSL_PW = lazy(r"-pass(?<![\w-]-pass)(?:in|out|word)?" + _WS + r"[\"']?pass:([^\s\"';|&<>()]+)[\"']?")
_LOGIN_P = GapPattern(
    r"(?<![\w-])(?:docker|podman|buildah|skopeo|helm|oras|crane|nerdctl|regctl|oc|cf|az|argocd|tkn|cosign|notation|"
    r"singularity|apptainer|heroku|vault|ibmcloud)(?:" + _WS + r"(?:registry|acr|auth|remote))?" + _WS + r"login\b",
    r"(?<=\s)-p(?:" + _WS + r"|=)?" + _QV,
    limit=512,
)
_STDIN_LOGIN = GapPattern(
    r"(?<![\w-])(?:echo|printf)"
    + _WS
    + r"(?:-[neE]+"
    + _WS
    + r")?"
    + _QV
    + _OPT_WS
    + r"\|"
    + _OPT_WS
    + r"(?:sudo"
    + _WS
    + r")?(?:docker|podman|buildah|skopeo|helm|oras|crane|nerdctl|regctl)\b",
    r"login",
    limit=256,
    continuation=False,
)
_MYSQL_P = GapPattern(
    r"(?<![\w.-])(?:mysql|mysqladmin|mysqldump|mysqlimport|mysqlcheck|mysqlsh|mysqlpump|mariadb|mariadb-admin|"
    r"mariadb-dump)(?=[ \t])",
    r"(?<=\s)-p[\"']?([^\s\"';|&<>()]+)[\"']?",
    limit=512,
)
_MYSQL_CMD = lazy(r"m(?<![^\s;|&(]m)(?:ysql(?:admin|dump|import|check|sh|pump)?|ariadb(?:-admin|-dump)?)[ \t]")
_MYSQLADMIN_PW = GapPattern(r"(?<![\w.-])(?:mysqladmin|mariadb-admin)(?=[ \t])", r"(?<=\s)password" + _WS + _QV, limit=512)
_REDIS_A = GapPattern(r"redis-cli(?<![\w-]redis-cli)\b", r"(?<=\s)-a" + _WS + _QV, limit=512)
_SQLCMD_P = GapPattern(r"(?<![\w-])(?:sqlcmd|bcp)\b", r"(?<=\s)-P" + _WS + _QV, limit=512)
_HTPASSWD = lazy(
    r"(?<![\w-])htpasswd"
    + _WS
    + r"((?:-[A-Za-z]+"
    + _WS
    + r")+)((?:[^\s\-;|&<>()][^\s;|&<>()]*"
    + _WS
    + r"){1,2})"
    + _QV
    + r"(?=[ \t]*(?:$|[;|&)>\n]|\\\r?\n))"
)

_SSHPASS_P = lazy(r"sshpass(?<![\w-]sshpass)" + _WS + r"-p" + _OPT_WS + _QV)
_MONGO_P = GapPattern(r"mongo(?<![\w-]mongo)(?:sh|dump|restore|import|export)?(?=[ \t])", r"(?<=\s)-p(?:" + _WS + r"|=)" + _QV, limit=512)
# a .netrc entry, as echo/printf/a heredoc writes it: ``machine HOST``, up to two ``login`` /
# ``account`` / ``port`` pairs in any order, then ``password VALUE``. The tokens are separated by
# blanks, newlines, printf escapes (``\n``, ``\t``, ``\r``) or continued lines; a token holds no backslash
# but for other escapes (``DOMAIN\\user``), so a separator and a token never start alike (both are
# read possessively); the value ends before a printf escape (``password VALUE\n'``).
_NETRC_SEP = r"(?:[ \t\r\n]|\\[ntr]|\\\r?\n)++"
_NETRC_TOK = r"(?:[^\s\\]|\\[^\sntr])++"
_NETRC_PW = lazy(
    r"machine(?:(?<![\w-]machine)|(?<=\\[ntr]machine))"
    + _NETRC_SEP
    + _NETRC_TOK
    + r"(?:"
    + _NETRC_SEP
    + r"(?:login|account|port)"
    + _NETRC_SEP
    + _NETRC_TOK
    + r"){0,2}"
    + _NETRC_SEP
    + r"password"
    + _NETRC_SEP
    + r"[\"']?([^\s\"';|&<>()\\]++)(?!\\[^ntr\r\n]|\\\Z)"
)
_CHPASSWD = GapPattern(
    r"(?:(?<![\w-])echo|(?<![\w-])printf)" + _WS + r"(?:-[neE]+" + _WS + r")?[\"']?[^:\s\"'$]+:([^\s\"';|&<>()]+)[\"']?",
    r"\|" + _OPT_WS + r"(?:sudo" + _WS + r")?chpasswd",
    limit=256,
    stops="|\n",
    continuation=False,
)
_NET_USER = lazy(
    r"(?i)net(?<![\w-]net)"
    + _WS
    + r"user"
    + _WS
    + r"(?:/add"
    + _WS
    + r")?[^\s/]+"
    + _WS
    + r"([^\s/\"';|&<>()*]+)(?="
    + _WS
    + r"/add\b|[ \t]*(?:$|[;&|\n]|\\\r?\n))"
)
_NUGET_P = GapPattern(r"nuget(?<![\w-]nuget)\b", r"(?<=\s)-p(?:" + _WS + r"|=)" + _QV, limit=512)
_DOCTL_T = GapPattern(r"doctl(?<![\w-]doctl)" + _WS + r"auth" + _WS + r"init\b", r"(?<=\s)-t(?:" + _WS + r"|=)" + _QV, limit=512)
_CARGO_LOGIN = lazy(r"cargo(?<![\w-]cargo)" + _WS + r"login(?:" + _WS + r"--registry(?:=|" + _WS + r")\S+)?" + _WS + _QV)
_AWS_SET = lazy(r"configure" + _WS + r"set" + _WS + r"(?:[\w.-]+\.)?(aws_secret_access_key|aws_session_token)" + _WS + _QV)
# bundle config [set] [--global] HOST user:password / composer|poetry config http-basic.HOST user password
_BUNDLE = lazy(
    r"bundle(?<![\w-]bundle)"
    + _WS
    + r"config"
    + _WS
    + r"(?:set"
    + _WS
    + r")?(?:--\w+"
    + _WS
    + r")*[^\s\-;|&<>()]\S*"
    + _WS
    + r"[\"']?([^\s\"':;|&<>()]+):([^\s\"';|&<>()]+)[\"']?"
)
_HTTP_BASIC = RunScan(r"http-basic(?<![\w-]http-basic)\.\S+" + _WS + _QV + _WS + _QV, r"http-basic(?<![\w-]http-basic)")
_HOST_TOKEN = lazy(r"(?<![\w-])(?:github-oauth|gitlab-token|gitlab-oauth|bearer|pypi-token)\.\S+" + _WS + _QV)
_FIXED_PW = {"x-oauth-basic", "x-oauth", "oauth", "oauth2", "basic"}

# -- SQL ----------------------------------------------------------------------------------------
_SQL_PW = lazy(
    r"(?i)\b(?:identified" + _WS + r"(?:with" + _WS + r"\S+" + _WS + r")?by(?:" + _WS + r"password)?|"
    r"with" + _WS + r"(?:encrypted" + _WS + r"|unencrypted" + _WS + r")?password|"
    r"(?:alter|create)"
    + _WS
    + r"(?:user|role)"
    + _WS
    + r"\S+"
    + _WS
    + r"(?:with"
    + _WS
    + r")?(?:login"
    + _WS
    + r")?password)"
    + _OPT_WS
    + r"(\\?[\"'])([^\"'\n$`\\]+)\1"
)

_SQL_HINT = lazy(r"password[ \t]+\\?['\"]")

# -- assignment to a credential-named variable --------------------------------------------------
_ASSIGN = lazy(r"(?:(?<=\\[nt])|(?<![\w$.\-/\\]))(?:-D)?([A-Za-z_][A-Za-z0-9_.\-]*)[ \t]*=[ \t]*" + _QV)
# what (?:pass|…|psw)[a-z0-9_.\-]*[ \t]*= finds, from each run of name characters once (gap.py)
_CRED_WORD = lazy(r"pass|pwd|secret|token|api[_-]?key|credential|psw")
_CRED_RUN = lazy(r"(?<![a-z0-9_.\-])[a-z0-9_.\-]++[ \t]*+=")


def _assignments(text: str, low: str):
    """``_ASSIGN`` matches whose name holds a credential word: found from the word (a cheap
    search in the lower-cased text), then matched from the start of the name."""
    last = -1
    if len(low) != len(text):  # lower() changed the length (rare Unicode): offsets would not align
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    for i in word_in_run_starts(low, _CRED_WORD, _CRED_RUN):
        while i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_.-"):
            i -= 1
        if i < last:
            continue  # inside the previous match: every character is read once
        m = _ASSIGN.match(text, i)
        if m is None and i >= 2 and text[i - 2 : i] == "-D":
            m = _ASSIGN.match(text, i - 2)
        if m is None and i >= 1 and text[i - 1] == "\\" and text[i] in "nt":
            m = _ASSIGN.match(text, i + 1)  # printf '[pypi]\npassword = …': the name follows the escape
        if m is not None:
            last = m.end()
            yield m


_CRED_WORDS = ("pass", "pwd", "secret", "token", "apikey", "api_key", "api-key", "credential", "psw")

# -- private-key blocks -------------------------------------------------------------------------
_KEY_HEADER = lazy(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d")
_KEY_END = lazy(r"-----END[ A-Z0-9_-]{0,100}-----")

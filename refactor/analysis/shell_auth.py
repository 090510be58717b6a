"""Use evidence from a RUN's text (:func:`auth_uses`): the use patterns applied and indexed per
variable, credential-named assignments, user-like names, and private-key or credential files written
from a variable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from refactor.analysis.gap import GapPattern, RunScan, word_in_run_starts
from refactor.analysis.shell_use_patterns import _REF, _USE_PATTERNS, _WHOLE_REF
from refactor.lazyre import lazy

_URL_USER = lazy(r"://([^\s/@:'\"]*):[^\s/@'\"]*@")
_USER_WORDS = frozenset(
    {
        "user",
        "users",
        "username",
        "usr",
        "login",
        "account",
        "owner",
        "email",
        "uid",
        "name",
        "id",
        "org",
        "organization",
        "group",
        "team",
        "namespace",
        "repo",
        "project",
        "host",
        "domain",
        "url",
        "path",
    }
)
_CRED_ASSIGN_WORDS = ("pass", "pwd", "secret", "token", "apikey", "api_key", "credential", "psw", "auth")


def _names(fragment: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in _REF.finditer(fragment)]


# what (?:pass|…|auth)[a-z0-9_.\-]*\s*= finds, from each run of name characters once (gap.py)
_CRED_WORD = lazy(r"pass|pwd|secret|token|api[_-]?key|credential|psw|auth")
_CRED_RUN = lazy(r"(?<![a-z0-9_.\-])[a-z0-9_.\-]++\s*+=")


def _assign_matches(pat: re.Pattern[str], text: str, low: str) -> Iterator[re.Match[str]]:
    """Matches of the assignment pattern, found from the credential word in the name (a cheap
    search) instead of trying the pattern at every position."""
    if len(low) != len(text):
        yield from pat.finditer(text)
        return
    last = -1
    for i in word_in_run_starts(low, _CRED_WORD, _CRED_RUN):
        while i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_.-"):
            i -= 1
        if i < last:
            continue  # inside the previous match: every character is read once
        m = pat.match(text, i)
        if m is not None:
            last = m.end()
            yield m


def _credential_name(name: str) -> bool:
    from refactor.analysis.secrets import holds_credential

    return holds_credential(name)


def _user_like(name: str) -> bool:
    from refactor.analysis.secrets import name_tokens

    return any(t in _USER_WORDS for t in name_tokens(name))


# Files that hold a private key; public keys, known hosts and certificates are not.
_KEY_FILE = lazy(
    r"(?:^|/)(?:id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?|[^/\s]*(?:[._-]key|privkey[^/\s]*)|[^/\s]+\.(?:key|pem|p12|pfx|ppk))$"
    r"|/private/[^/\s]+$|(?:^|/)\.ssh/(?!authorized_keys|known_hosts|config$)[^/\s]+$"
)
# Credential files of tools and clients: a value written into one is (or holds) a credential.
_CRED_FILE = lazy(
    r"(?:^|/)(?:\.netrc|_netrc|\.git-credentials|\.pgpass|\.my\.cnf|\.pypirc|\.dockercfg|kubeconfig|"
    r"[^/\s]*credentials?\.json|[^/\s]*service[-_]?account[^/\s]*\.json|client[-_]?secrets?[^/\s]*\.json)$"
    r"|(?:^|/)\.kube/config$|(?:^|/)\.docker/config\.json$|(?:^|/)\.aws/credentials$"
)
_PUBLIC_FILE = lazy(
    r"(?:^|/)(?:authorized_keys2?|known_hosts|[^/\s]+\.pub|[^/\s]*(?:cert|crt|chain|bundle|ca)[^/\s]*)$|/certs?/|ca-certificates"
)
_REDIRECT_TARGET = lazy(r"(?:>>?|\btee(?:\s+-a)?)\s*[\"']?([^\s\"';|&<>()]+)")
# echo "$V" / echo -n $V / printf '%s' "${V}" / cat <<< "$V": the written content is exactly one value
_WHOLE_CONTENT = lazy(
    r"\s*(?:\\\n\s*)*(?:sudo\s+)?(?:echo(?:\s+-[neE]+)*|printf(?:\s+-[-]?)?\s+[\"']%s(?:\\n)?[\"']|cat\s*<<<)\s+"
    r"(\"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?\"|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)\s*(?:[|>]|$)"
)
_WRITER = lazy(r"\s*(?:\\\n\s*)*(?:sudo\s+)?(?:echo|printf|cat\s*<<<|cat\s+<<)\b")
_SEGMENT_SPLIT = lazy(r"&&|\|\||;|\n(?<!\\\n)")


def _key_file_uses(text: str, found: dict[str, list[tuple[str, float]]]) -> None:
    """A value written into a private key file (``> ~/.ssh/id_rsa``, ``> /etc/ssl/private/x.key``,
    ``| tee app.pem``) is a key; one written into ``authorized_keys``/``known_hosts``/a ``.pub``
    file or a certificate is public."""
    for seg in _SEGMENT_SPLIT.split(text):
        if "$" not in seg or (">" not in seg and "tee" not in seg):
            continue
        if not _WRITER.match(seg):
            continue  # the content comes from elsewhere (a download, a program's output), not the value
        targets = [m.group(1) for m in _REDIRECT_TARGET.finditer(seg)]
        if not targets:
            continue
        whole = _WHOLE_CONTENT.match(seg)
        if whole is None:
            continue  # the value is one part of what is written (a registry line, a host line): not the file
        refs = [n for n in _names(whole.group(1)) if n not in ("HOME", "USER", "PWD")]
        for t in targets:
            t = t.replace("${HOME}", "~").replace("$HOME", "~")
            if _PUBLIC_FILE.search(t):
                reason, weight = "is written into authorized_keys, known_hosts, a .pub file or a certificate (public)", -3.0
            elif _KEY_FILE.search(t):
                reason, weight = "is written into a private key file", 2.0
            elif _CRED_FILE.search(t):
                reason, weight = "is written into a credential file", 2.0
            else:
                continue
            for n in refs:
                lst = found.setdefault(n, [])
                if (reason, weight) not in lst:
                    lst.append((reason, weight))


@lru_cache(maxsize=512)  # per text: bounded (memory flat in the number of files)
def _auth_index(text: str) -> dict[str, tuple[tuple[str, float], ...]]:
    """For one text: variable name -> reasons it reaches an authenticating position.

    The patterns do not depend on the variable, so a text is scanned once however many
    variables are asked about."""
    found: dict[str, list[tuple[str, float]]] = {}
    low = text.lower()
    user_names = {n for m in _URL_USER.finditer(text) for n in _names(m.group(1))} if "://" in text else set()
    for pat, reason, weight, how, guard in _USE_PATTERNS:
        if not any(g in low for g in guard) or (how == "assign" and "=" not in text):
            continue  # most texts hold none of a pattern's words: skip its scan
        if how == "assign":
            assert not isinstance(pat, (GapPattern, RunScan))  # the "assign" entries are plain regexes (_assign_matches uses .match)
            matches = _assign_matches(pat, text, low)
        else:
            matches = pat.finditer(text)
        for m in matches:
            group = m.group(1) or ""
            w_here = weight
            if how in ("whole", "token-user"):
                w = _WHOLE_REF.fullmatch(group)
                names = [w.group(1) or w.group(2)] if w else []
                if how == "token-user" and names and _user_like(names[0]):
                    w_here = 1.0
            elif how == "after-colon":
                names = _names(group.split(":", 1)[1]) if ":" in group else []
            elif how == "assign":
                if not any(k in group.lower() for k in _CRED_ASSIGN_WORDS) or not _credential_name(group):
                    continue
                names = [n for n in _names(m.group(2) or "") if n != group]
            else:
                names = _names(group)
            for n in names:
                if how == "whole" and reason.startswith("is used as the URL user-info") and n in user_names:
                    continue
                lst = found.setdefault(n, [])
                if (reason, w_here) not in lst:
                    lst.append((reason, w_here))
    if (">" in text or "tee" in low) and any(
        k in low
        for k in (
            ".ssh",
            "id_",
            "key",
            ".pem",
            ".p12",
            ".pfx",
            "private",
            "known_hosts",
            "netrc",
            "credential",
            "pgpass",
            ".my.cnf",
            "pypirc",
            "dockercfg",
            ".npmrc",
            "kube",
            ".docker/",
            "account",
            "secret",
        )
    ):
        _key_file_uses(text, found)
    # the token-as-user pattern also matches what the generic user-info pattern found: keep the stronger
    for lst in found.values():
        if any(r.startswith("is used as the URL user-info (a token") for r, _w in lst):
            lst[:] = [(r, w) for r, w in lst if r != "is used as the URL user-info (token as user)"]
    return {k: tuple(v) for k, v in found.items()}


def auth_uses(text: str, name: str) -> list[tuple[str, float]]:
    """Reasons why ``$name`` in ``text`` reaches an authenticating position (may be empty); a
    negative weight says the value is public (written into ``authorized_keys``)."""
    if "$" not in text or name not in text:
        return []
    return list(_auth_index(text).get(name, ()))

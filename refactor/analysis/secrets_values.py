"""Value evidence of the secret classifier (:func:`value_evidence`): literal secrets (known formats,
private keys, URL passwords, high entropy), references in credential positions (URL user-info,
credential query parameters), placeholders and dummies, non-secret shapes, and
:func:`describe_value`, which reports lengths and format labels only.
"""

from __future__ import annotations

from functools import lru_cache

from refactor.analysis.secrets_evidence import Evidence
from refactor.analysis.secrets_formats import _FORMATS, _GOOGLE_KEY_RE, _PUBLISHABLE_RE, _query_creds, _url_creds, token_format
from refactor.analysis.secrets_placeholders import _is_dummy, is_placeholder, is_public_key, is_reference
from refactor.analysis.secrets_shapes import (
    _BOOL_WORDS,
    _EMAIL_RE,
    _HOST_RE,
    _PURE_REF_RE,
    _REF_RE,
    _URL_RE,
    _VERSION_RE,
    _high_entropy,
    _looks_path,
)


def is_literal_secret(value: str | None) -> bool:
    """A committed, real-looking credential: known token format, private key, URL with a literal
    password, or a high-entropy string.  Placeholders and ``$VAR`` references are not."""
    if not value or is_placeholder(value):
        return False
    fmt = token_format(value)
    if fmt:
        return True
    if _context_literal(value):
        return True
    return not is_reference(value) and _high_entropy(value.strip())


def _context_literal(value: str) -> str | None:
    """The kind of the first committed credential ``literals.scan`` finds inside ``value``
    (``--password hunter2``, ``-Ddb.password=…``, ``curl -u u:p``), else None."""
    if len(value) < 8 or not any(c in value for c in " \t=:"):
        return None  # every positional pattern needs a separator: a single bare word matches none
    from refactor.analysis.literals import scan

    hits = scan(value)
    return hits[0].kind if hits else None


@lru_cache(maxsize=4096)
def _value_evidence(value: str) -> tuple[Evidence, ...]:
    v = value.strip()
    if not v:
        return (Evidence("value", -0.5, "empty default (a slot, weak evidence)"),)
    pure = _PURE_REF_RE.match(v)
    if pure:
        fallback = pure.group(2) or ""
        if fallback[:2] in (":-", ":=") or fallback[:1] in ("-", "="):
            for label, rx in _FORMATS:
                if rx.search(fallback):
                    return (Evidence("value", 4.0, f"fallback default looks like a {label}"),)
        return (Evidence("value", 0.0, "default is a variable reference (not a literal)"),)
    if is_public_key(v):
        return (Evidence("value", -4.0, "default is a public key or certificate (public by design)"),)
    out: list[Evidence] = []
    fmt = None
    for label, rx in _FORMATS:
        if rx.search(v):
            fmt = label
            break
    if fmt:
        if is_placeholder(v):
            return (Evidence("value", -0.5, f"placeholder default in {fmt} format (a documentation example)"),)
        return (Evidence("value", 4.0, f"default looks like a {fmt}"),)
    uc = _url_creds(v)
    if uc:
        kind, literal = uc
        if literal:
            return (Evidence("value", 4.0, "default is a URL with literal credentials"),)
        if kind == "password":
            return (Evidence("value", 2.0, "default puts a variable in URL user-info (password)"),)
        out.append(Evidence("value", 1.0, "default puts a variable in URL user-info"))
    qc = _query_creds(v) if _URL_RE.match(v) else None
    if qc is not None:
        if qc[0]:
            return (Evidence("value", 4.0, "default is a URL with a literal credential parameter"),)
        out.append(Evidence("value", 1.0, "URL credential parameter filled from a variable or placeholder"))
    ctx = _context_literal(v)
    if ctx:
        return (Evidence("value", 4.0, f"default holds a committed credential ({ctx})"),)
    if _GOOGLE_KEY_RE.search(v):
        return (Evidence("value", 2.0, "default looks like a Google API key (often a browser key)"),)
    if _PUBLISHABLE_RE.match(v):
        return (Evidence("value", -3.0, "default looks like a publishable (public) key"),)
    if out:
        return tuple(out)
    if is_reference(v):
        return (Evidence("value", 0.0, "default is an expression with variable references"),)
    if _is_dummy(v):
        return (Evidence("value", -3.0, "explicit dummy default (a stand-in that satisfies a build step)"),)
    if is_placeholder(v):
        return (Evidence("value", -0.5, "placeholder default (a slot, weak evidence)"),)
    low = v.lower()
    if low in _BOOL_WORDS:
        return (Evidence("value", -2.0, "default is a boolean flag"),)
    if _URL_RE.match(v):
        return (Evidence("value", -3.0, "default is a URL without credentials"),)
    if _looks_path(v):
        return (Evidence("value", -3.0, "default is a file path"),)
    if _VERSION_RE.match(v):
        return (Evidence("value", -2.0, "default looks like a version"),)
    if _EMAIL_RE.match(v):
        return (Evidence("value", -2.0, "default looks like an e-mail address"),)
    if _HOST_RE.match(v):
        return (Evidence("value", -2.0, "default looks like a host name"),)
    if _high_entropy(v):
        return (Evidence("value", 2.0, "default is a high-entropy literal"),)
    return ()


def value_evidence(value: str | None) -> list[Evidence]:
    """Evidence from the (unquoted) default or assigned value; ``None`` means no default."""
    if value is None:
        return []
    return list(_value_evidence(value))


def describe_value(value: str | None) -> str:
    """A safe description: ``<unset>``, ``<empty>``, ``<reference to $X>``,
    ``<redacted: 40 chars, GitHub token format>``.  Never contains a character of a literal."""
    if value is None:
        return "<unset>"
    if value == "":
        return "<empty>"
    pure = _PURE_REF_RE.match(value.strip())
    if pure:
        ref = pure.group(1) or pure.group(3)
        extra = pure.group(2) or ""
        return f"<reference to ${ref}{' with a default or modifier' if extra else ''}>"
    parts = [f"{len(value)} char{'s' if len(value) != 1 else ''}"]
    if not value.strip():
        parts.append("blank")
    fmt = token_format(value)
    if fmt:
        parts.append(f"{fmt} format")
    if is_reference(value):
        n = len(_REF_RE.findall(value))
        parts.append(f"{n} variable reference{'s' if n != 1 else ''}")
        uc = _url_creds(value)
        if uc and not uc[1]:
            parts.append("URL credentials from a variable")
    elif value.strip():
        if is_placeholder(value):
            parts.append("placeholder")
        elif not fmt and _high_entropy(value.strip()):
            parts.append("high entropy")
    if "\n" in value:
        parts.append("multi-line")
    return f"<redacted: {', '.join(parts)}>"

"""Masking committed secret values in what dfix prints.

A mask is a literal dfix judged secret. A token-like one (long, or mixing letters with digits or
symbols: what a generated credential looks like, and every canary the tests plant) is replaced
wherever it occurs. A word-like one (``docker``, ``changeme``: a weak password that is also an
ordinary word) is replaced only where it stands as a value: right after ``=`` or ``:``
(``PASSWORD=…``, ``user:…@``), optionally quoted, up to a word boundary; quoted after ``= `` or
``: `` (``TOK = '…'``, ``KEY: "…"``); as the whole plain value of a ``key: …`` line (YAML); after
the word ``password`` (``.netrc``). Elsewhere the same letters are a command, a path component or
an image name, and masking them there breaks what is printed (a build command naming
``<redacted>/Dockerfile``) without hiding anything.

Where the masks come from: the engine adds a Dockerfile's secret ARG/ENV values and every literal
in a known credential format; linking adds a caller's literal build-arg values and the literals
its CI variables are assigned. :func:`learn` adds what a renderer can still see in the file text
(a caller's ``def tok = '…'`` / ``TOK = '…'`` / ``os.environ["X"] = "…"`` feeding a secret build
arg, a ``password`` written into ``.netrc`` or ``pip.conf`` by a ``RUN``); :func:`share` gives every
file of a run the masks of all the others (a value committed in a workflow is masked in the
Dockerfile's diff too).
"""

from __future__ import annotations

import re
from functools import lru_cache

from refactor.lazyre import lazy

MASK = "<redacted>"


def token_like(value: str) -> bool:
    if len(value) >= 16:
        return True
    kinds = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    return (len(value) >= 10 and kinds >= 2) or kinds >= 3


_END = r"(?=(?P=q)(?:[\s\"'@,;&|)\]}\\]|$))"


@lru_cache(maxsize=1024)
def _value_patterns(value: str) -> tuple[re.Pattern, ...]:
    """Where a word-like ``value`` stands as a value; the group ``v`` is the value."""
    v = "(?P<v>" + re.escape(value) + ")"
    return (
        # PASSWORD=v, user:v@host, --pw='v'
        re.compile(r"(?<=[=:])(?P<q>[\"']?)" + v + _END, re.M),
        # TOK = 'v' (Python, Groovy, shell-like), KEY: "v" (YAML)
        re.compile(r"(?<=[=:])[ \t]+(?P<q>[\"'])" + v + r"(?P=q)", re.M),
        # KEY: v (a YAML plain scalar: the whole rest of the line)
        re.compile(r"(?<=:)[ \t]+" + v + r"(?=[ \t]*(?:#.*)?$)", re.M),
        # .netrc: password v
        re.compile(r"(?i:(?<![A-Za-z])password)[ \t]+(?P<q>[\"']?)" + v + _END, re.M),
    )


def spans(text: str, masks) -> list[tuple[int, int]]:
    """The (start, end) of every place in ``text`` a mask is replaced, sorted and merged."""
    if len(masks) <= _FEW:
        return _spans(text, [m for m in dict.fromkeys(masks) if m and m in text])
    index = _index(masks)
    got = index.memo.get(text)
    if got is None:
        if len(index.memo) >= _MEMO:
            index.memo.clear()
        got = index.memo[text] = _spans(text, index.candidates(text))
    return list(got)


def _spans(text: str, masks) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for m in masks:
        if m not in text:
            continue
        if token_like(m):
            i = text.find(m)
            while i != -1:
                found.append((i, i + len(m)))
                i = text.find(m, i + 1)
        else:
            for rx in _value_patterns(m):
                found.extend(mt.span("v") for mt in rx.finditer(text))
    found.sort()
    merged: list[tuple[int, int]] = []
    for s, e in found:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


# A run can know tens of thousands of masks (one per committed literal) and print a line per
# finding: asking each mask whether it is in each printed line was quadratic (35,000 literals:
# minutes). The masks are indexed once per masks tuple by their first ``_GRAM`` characters (a
# shorter mask by all of it); a text is asked only about the masks whose head it holds, found
# from the text's own substrings of that length when it is shorter than the list of heads.
_FEW = 64  # up to this many masks, ask each one (no index)
_GRAM = 8
_MEMO = 4_096  # texts remembered per index (a report prints the same fix titles over and over)


class _Index:
    __slots__ = ("by_head", "masks", "memo")

    def __init__(self, masks) -> None:
        self.masks = masks  # kept so that the id this index is cached under stays this tuple's
        self.memo: dict[str, list[tuple[int, int]]] = {}
        self.by_head: dict[int, dict[str, list[str]]] = {}  # head length -> head -> masks
        for m in dict.fromkeys(masks):
            if m:
                k = min(len(m), _GRAM)
                self.by_head.setdefault(k, {}).setdefault(m[:k], []).append(m)

    def candidates(self, text: str) -> list[str]:
        """The masks whose head occurs in ``text`` (every mask that does, among others)."""
        out: list[str] = []
        n = len(text)
        for k, heads in self.by_head.items():
            if n < k:
                continue
            if len(heads) <= n:
                hits = [h for h in heads if h in text]
            else:
                # (asked of the text's grams: set.intersection(dict) walks the dict, every head)
                hits = [g for g in {text[i : i + k] for i in range(n - k + 1)} if g in heads]
            for h in hits:
                out.extend(heads[h])
        return out


_INDEXES: dict[int, _Index] = {}


def _index(masks) -> _Index:
    """The index of ``masks``, built once per tuple (a list or set is indexed per call)."""
    if not isinstance(masks, tuple):
        return _Index(tuple(masks))
    got = _INDEXES.get(id(masks))
    if got is None or got.masks is not masks:
        if len(_INDEXES) >= 8:
            _INDEXES.clear()
        got = _INDEXES[id(masks)] = _Index(masks)
    return got


def occurs(texts, masks) -> bool:
    """Does any mask occur (as a substring) in any of ``texts``? Indexed like :func:`spans`."""
    masks = tuple(m for m in dict.fromkeys(masks) if m)
    if len(masks) <= _FEW:
        return any(m in t for t in texts for m in masks)
    index = _index(masks)
    return any(m in t for t in texts for m in index.candidates(t))


def mask_text(text: str, masks) -> tuple[str, bool]:
    """(text with every mask replaced where it is a value, whether anything was replaced)."""
    if not masks or not text:
        return text, False
    found = spans(text, masks)
    if not found:
        return text, False
    out, at = [], 0
    for s, e in found:
        out.append(text[at:s])
        out.append(MASK)
        at = e
    out.append(text[at:])
    return "".join(out), True


def mask(text, masks):
    """``text`` masked (None and non-strings pass through)."""
    if not masks or not isinstance(text, str):
        return text
    return mask_text(text, masks)[0]


# ------------------------------------------------------------------------------ learning values

# references to a variable in a build-arg value: $x ${x} ${{ env.x }} $(x) {x} (f-string) env.x
_REF = lazy(
    r"\$\{\{\s*(?:env|vars|inputs|params)\.([A-Za-z_]\w*)\s*\}\}"
    r"|\$\{(?:env\.|params\.)?([A-Za-z_]\w*)\}"
    r"|\$\(([A-Za-z_]\w*)\)"
    r"|\$([A-Za-z_]\w*)"
    r"|(?<![{$])\{([A-Za-z_]\w*)\}"
    r"|\benv\.([A-Za-z_]\w*)"
)
# a default a build reads when the variable is unset: os.environ.get("X", "v"), os.getenv("X", "v"),
# environ.get / getenv in other spellings (Python); the name is kept, the default is the literal
_ENV_DEFAULT = lazy(
    r"""(?:environ\.get|getenv)\(\s*(?P<nq>['"])(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P=nq)\s*,\s*"""
    r"""(?P<q>['"])(?P<v>[^'"\\\n]{4,512})(?P=q)\s*\)"""
)
# a committed literal: no reference, no blank, not a quote
_LIT = r"(?P<v>[^\s\"'$`{}\\]{4,512})"  # bounded: each try reads at most 512 characters
_PREFIX = r"(?:(?:export|local|readonly|declare(?:[ \t]+-\w+)*|def|final|static|String|var|val|let|const|set)[ \t]+)*"


@lru_cache(maxsize=256)
def _assignments(name: str) -> tuple[re.Pattern, ...]:
    n = re.escape(name)
    return (
        # shell, Make, Python, Groovy, JS: [export|def|…] NAME = 'v'
        re.compile(rf"(?m)^[ \t]*{_PREFIX}{n}[ \t]*(?:\?|:|::|\+)?=[ \t]*(?P<q>[\"']?){_LIT}(?P=q)[ \t]*(?:[#;].*)?$"),
        # YAML (env:, variables:, environment:), HCL/Groovy maps: NAME: 'v'
        re.compile(rf"(?m)^[ \t]*(?:-[ \t]*)?[\"']?{n}[\"']?[ \t]*:[ \t]*(?P<q>[\"']?){_LIT}(?P=q)[ \t]*(?:#.*)?$"),
        # Python/Groovy: os.environ["NAME"] = "v", {"NAME": "v"}, setdefault("NAME", "v"), putenv
        re.compile(rf"[\"']{n}[\"'][ \t]*(?:\][ \t]*=|:|,)[ \t]*(?P<q>[\"']){_LIT}(?P=q)"),
        # Jenkins withEnv(["NAME=v"]), docker-compose list form "NAME=v"
        re.compile(rf"(?P<q>[\"'])(?:-[ \t]*)?{n}={_LIT}(?P=q)"),
        # HCL: variable "NAME" {{ default = "v" }}
        re.compile(rf"variable[ \t]+\"{n}\"[ \t]*\{{[^}}]{{0,1000}}?default[ \t]*=[ \t]*(?P<q>\"?){_LIT}(?P=q)"),
    )


def committed_values(text: str, names) -> list[str]:
    """Literal values ``text`` assigns to any of ``names`` (shell, Make, CI YAML, Groovy, Python,
    HCL), placeholders left out."""
    from refactor.analysis.secrets import is_placeholder

    out: list[str] = []
    for name in names:
        if not name:
            continue
        for rx in _assignments(name):
            for mt in rx.finditer(text):
                v = mt.group("v")
                if v not in out and v != name and not is_placeholder(v):
                    out.append(v)
    return out


# a credential written into a file by a command: .netrc `password v`, pip.conf/.pypirc
# `password = v`, .npmrc `_authToken=v` (printf escapes \n \t count as blanks)
_CRED_FILE = lazy(
    r"(?:(?<=[\s\"'/:-])|(?<=\\[nt])|^)(?:password|passwd|_password|_authToken|_auth)"
    r"(?:[ \t]*[=:][ \t]*|[ \t]+)(?P<q>[\"']?)(?P<v>[^\s\"'$`\\{}<>]{6,512})(?=(?P=q)(?:[\s\"';&|)]|\\[nt]|$))",
    re.M | re.I,
)


def credential_file_values(text: str) -> list[str]:
    from refactor.analysis.secrets import is_placeholder

    out: list[str] = []
    for mt in _CRED_FILE.finditer(text):
        v = mt.group("v")
        if v not in out and not is_placeholder(v) and not v.startswith("-"):
            out.append(v)
    return out


def _offset(text: str, starts: list[int], line: int, column: int) -> int:
    if line < 1 or line > len(starts):
        return len(text)
    return min(starts[line - 1] + max(column, 1) - 1, len(text))


def _names(r) -> set[str]:
    """Variable names the result knows: a name is never a value to mask (a bare identifier some
    detector took for a token would otherwise hide the name in every file of the run)."""
    names = {f.variable for f in r.findings if f.variable}
    names.update(getattr(r, "declared_args", ()) or ())
    return names


def _drop(masks, names: set[str]) -> tuple[str, ...]:
    """``masks`` without the variable names among them."""
    if names and any(m in names for m in masks):
        return tuple(m for m in masks if m not in names)
    return tuple(masks)


def _with_masks(r, masks: tuple[str, ...]):
    from dataclasses import replace

    return r if masks == tuple(r.masks) else replace(r, masks=masks)


def learn(r):
    """``r`` with the secret values a renderer can still see in the file added to its masks:
    literals a caller assigns to a variable its secret build args read, and credentials a command
    writes into a file. Variable names are never masks. Idempotent; returns ``r`` itself when
    there is nothing to add."""
    own = _names(r)
    masks = _drop(r.masks, own)
    text = r.original
    if not text:
        return _with_masks(r, masks)
    found: list[str] = credential_file_values(text)
    if r.kind == "caller":
        from refactor.analysis.secrets import is_placeholder

        starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        names: list[str] = []
        for f in r.findings:
            if not f.secret:
                continue
            if f.variable:
                names.append(f.variable)
            s = _offset(text, starts, f.line, f.column)
            e = _offset(text, starts, f.end_line, f.end_column)
            for mt in _REF.finditer(text[s:e]):
                names.append(next(g for g in mt.groups() if g))
            for mt in _ENV_DEFAULT.finditer(text[s:e]):  # the fallback is what the build gets when unset
                names.append(mt.group("name"))
                if not is_placeholder(mt.group("v")):
                    found.append(mt.group("v"))
        found += committed_values(text, dict.fromkeys(names))
    added = [v for v in dict.fromkeys(found) if v not in masks and v not in own]
    return _with_masks(r, masks + tuple(added))


def share(results):
    """The results, each given the masks of the whole run (a value known secret in one file is
    masked wherever it is printed), variable names of the run left out. Learns first; idempotent.
    A packed run's results share them as each is unpacked (``refactor.run_packed``): returned as
    they are."""
    if getattr(results, "shares_masks", False):
        return results
    results = [learn(r) for r in results]
    names: set[str] = set()
    for r in results:
        names |= _names(r)
    union: list[str] = []
    seen: set[str] = set()
    for r in results:
        for m in r.masks:
            if m and m not in seen and m not in names:
                seen.add(m)
                union.append(m)
    out = []
    for r in results:
        masks = _drop(r.masks, names)
        have = set(masks)
        out.append(_with_masks(r, masks + tuple(m for m in union if m not in have)))
    return out

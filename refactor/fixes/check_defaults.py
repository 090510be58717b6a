"""The committed default of a migrated ARG (``secret-reach``): the fix removes the ARG, and with it
the credential written as its default; the rewrite must not keep that literal elsewhere."""

from __future__ import annotations

from refactor.fixes.check_values import Violation
from refactor.syntax.dockerfile import Dockerfile
from refactor.syntax.words import name_values, unquote


def _committed_default(raw: str, escape: str) -> str | None:
    """The literal default of a migrated secret's ARG when it looks like a credential: 12 or more
    characters, letters and digits, no blank, no expansion. A placeholder (``changeme``, ``xxx``,
    ``npm_token``) may also be text the rewrite adds (a secret id), so it is not followed."""
    if "$" in raw:
        return None
    v = unquote(raw, escape)
    if len(v) < 12 or any(c.isspace() for c in v) or not any(c.isdigit() for c in v) or not any(c.isalpha() for c in v):
        return None
    return v


def _defaults_kept(o: Dockerfile, r: Dockerfile, migrated: frozenset) -> list[Violation]:
    """The fix removes a migrated secret's ARG and with it the credential committed as its default:
    the rewrite may hold that literal no more often than the original holds it outside the ARG
    declarations of the migrated secrets. (A copy elsewhere, ``ENV GITHUB_TOKEN=<the same literal>``,
    is a committed literal of its own, which the fix never claims to remove; one the rewrite adds or
    inlines, ``ENV X=<default>`` for ``ENV X=${S}``, or keeps in a RUN, leaves the secret in the file.)"""
    defaults: dict[str, str] = {}
    spans: list[str] = []
    for ins in o.instructions:
        cmd = ins.effective
        if cmd.cmd != "arg":
            continue
        declares = False
        for nv in name_values(cmd.args, o.escape, legacy_env=False):
            if nv.name in migrated:
                declares = True
                v = _committed_default(nv.value, o.escape) if nv.value is not None else None
                if v is not None:
                    defaults.setdefault(v, nv.name)
        if declares:
            spans.append(o.text[ins.start : ins.end])
    out: list[Violation] = []
    for v, name in defaults.items():
        outside = o.text.count(v) - sum(s.count(v) for s in spans)
        if r.text.count(v) > outside:
            line = r.text.count("\n", 0, r.text.find(v)) + 1
            out.append(
                Violation(
                    "secret-reach",
                    line,
                    f"line {line}: the rewrite keeps the committed default of secret {name} (literal({len(v)} chars)), "
                    f"which the fix removes with ARG {name}",
                )
            )
    return out

"""Rule registry: one module per rule (``refactor/rules/df001_secret_build_arg.py`` …), each holding
its ``RULE`` (code, name, summary, severity, fixability, and the ``doc`` that ``dfix --explain CODE``
prints) and ``CHECK``, the dotted path of the function that makes its findings.

Names describe the *pattern*, not the fix ("allow secret-build-arg").

Adding a rule: write its module, add it to ``ALL_RULES`` below (in code order), add
``tests/rules/test_<code>.py`` and a golden case, then paste ``markdown_table()`` into the README
(tests/test_rules_meta.py checks all of these).
"""

from __future__ import annotations

from refactor.rules import (
    df001_secret_build_arg,
    df002_secret_env,
    df003_committed_secret,
    df004_secret_build_time_use,
    df005_public_bundle_variable,
    df006_secret_label,
    df007_secret_layer_file,
    df008_credential_file_copy,
    df009_mutable_base_image,
    df010_shared_read_write_credential,
    df011_secret_build_arg_caller,
    df012_stale_build_arg,
    df900_unprocessable_file,
)
from refactor.rules._base import Rule, Selection

__all__ = ["ALL_RULES", "BY_CODE", "BY_NAME", "RULES", "Rule", "Selection", "check_codes", "lookup", "markdown_table"]

ALL_RULES: tuple[Rule, ...] = (
    df001_secret_build_arg.RULE,
    df002_secret_env.RULE,
    df003_committed_secret.RULE,
    df004_secret_build_time_use.RULE,
    df005_public_bundle_variable.RULE,
    df006_secret_label.RULE,
    df007_secret_layer_file.RULE,
    df008_credential_file_copy.RULE,
    df009_mutable_base_image.RULE,
    df010_shared_read_write_credential.RULE,
    df011_secret_build_arg_caller.RULE,
    df012_stale_build_arg.RULE,
    df900_unprocessable_file.RULE,
)
RULES = ALL_RULES

BY_CODE = {r.code: r for r in RULES}
BY_NAME = {r.name: r for r in RULES}


def lookup(code_or_name: str) -> Rule | None:
    key = code_or_name.strip()
    return BY_CODE.get(key.upper()) or BY_NAME.get(key.lower())


def check_codes(codes) -> list[str]:
    """Rule selectors as given (codes, prefixes such as ``DF01``, ``ALL``), upper-cased and
    stripped; raises ValueError naming the first that selects no rule (a mistyped code)."""
    out = []
    for raw in codes:
        c = raw.strip().upper()
        if not c:
            continue
        if c != "ALL" and not any(r.code.startswith(c) for r in RULES):
            raise ValueError(f"unknown rule code '{raw.strip()}'")
        out.append(c)
    return out


def markdown_table() -> str:
    """The README's "### Rules" table, one row per rule of ``ALL_RULES``."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = ["| code | name | what | severity | fix |", "|---|---|---|---|---|"]
    rows += [f"| {r.code} | {r.name} | {cell(r.summary)} | {r.severity} | {r.fixable} |" for r in ALL_RULES]
    return "\n".join(rows) + "\n"

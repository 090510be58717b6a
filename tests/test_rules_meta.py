"""The rule registry keeps its promises (``refactor/rules/``).

Every code in ``ALL_RULES`` has its own module (``refactor/rules/df001_secret_build_arg.py``), a
doc with the fixed headings, a summary, a ``CHECK`` that imports, a snippet test file
(``tests/rules/test_df001.py``) and at least one golden case that exercises it; codes are unique
and sorted; the README's rules table is ``markdown_table()``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from helpers import run

import refactor.rules as rules
from refactor.rules import ALL_RULES, BY_CODE, RULES, markdown_table
from refactor.rules._base import HEADINGS, OPTIONAL_HEADINGS

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "golden"
CODES = [r.code for r in ALL_RULES]


def module_name(rule) -> str:
    return f"refactor.rules.{rule.code.lower()}_{rule.name.replace('-', '_')}"


def headings(doc: str) -> list[str]:
    """The ``## `` headings of a Markdown doc, outside fenced code blocks."""
    out, fenced = [], False
    for line in doc.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            out.append(line)
    return out


def sections(doc: str) -> dict[str, str]:
    parts = re.split(r"^(## .*)$", doc, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


# ------------------------------------------------------------------------------------- registry


def test_codes_are_unique_sorted_and_well_formed() -> None:
    assert RULES is ALL_RULES
    assert len(set(CODES)) == len(CODES)
    assert CODES == sorted(CODES)
    assert all(re.fullmatch(r"DF\d{3}", c) for c in CODES), CODES
    names = [r.name for r in ALL_RULES]
    assert len(set(names)) == len(names)
    assert BY_CODE == {r.code: r for r in ALL_RULES}


def test_every_rule_module_is_listed() -> None:
    listed = {module_name(r) for r in ALL_RULES}
    found = {f"refactor.rules.{m.name}" for m in pkgutil.iter_modules(rules.__path__) if not m.name.startswith("_")}
    assert found == listed


def test_public_api_other_modules_import() -> None:
    for name in ("RULES", "ALL_RULES", "BY_CODE", "BY_NAME", "lookup", "Rule", "check_codes", "Selection", "markdown_table"):
        assert hasattr(rules, name), name
    assert rules.lookup(" df001 ") is rules.lookup("secret-build-arg") is BY_CODE["DF001"]
    assert rules.lookup("DF999") is None
    assert rules.check_codes([" df01", "", "ALL"]) == ["DF01", "ALL"]
    with pytest.raises(ValueError, match="unknown rule code 'DF0111'"):
        rules.check_codes(["DF0111"])
    sel = rules.Selection(select=("DF0",), ignore=("DF001",))
    assert not sel.enabled("DF001") and sel.enabled("DF002") and not sel.enabled("DF900")
    assert rules.Selection(ignore=("DF0",), extend_select=("DF001",)).enabled("DF001")


@pytest.mark.parametrize("rule", ALL_RULES, ids=CODES)
def test_rule_module(rule) -> None:
    mod = importlib.import_module(module_name(rule))
    assert mod.RULE is rule
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    assert rule.summary.strip() == rule.summary and rule.summary[:1].isupper() and not rule.summary.endswith(".")
    assert rule.severity in ("error", "warning", "info")
    assert rule.fixable in ("always", "sometimes", "never")
    assert isinstance(rule.secret, bool)


@pytest.mark.parametrize("rule", ALL_RULES, ids=CODES)
def test_doc_has_the_fixed_headings(rule) -> None:
    doc = rule.doc
    assert doc.startswith("## What it does\n") and doc.endswith("\n") and not doc.endswith("\n\n")
    found = headings(doc)
    fixed = [h for h in found if h in HEADINGS]
    required = [h for h in HEADINGS if h not in OPTIONAL_HEADINGS]
    assert [h for h in fixed if h not in OPTIONAL_HEADINGS] == required, found
    assert fixed == [h for h in HEADINGS if h in fixed], f"headings out of order: {found}"
    # a rule's own sections come after the fixed ones
    assert found[: len(fixed)] == fixed, f"own sections must follow '## Fix safety': {found}"
    for h in found:
        assert sections(doc)[h].strip(), f"{h} is empty"
    if "## Example" in found:
        example = sections(doc)["## Example"]
        assert "\nUse instead:\n" in example and example.count("```dockerfile\n") == 2


@pytest.mark.parametrize("rule", ALL_RULES, ids=CODES)
def test_check_imports(rule) -> None:
    check = importlib.import_module(module_name(rule)).CHECK
    mod_name, _, qualname = check.partition(":")
    assert qualname, f"CHECK {check!r} is not 'module:function'"
    obj = importlib.import_module(mod_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    assert callable(obj)


@pytest.mark.parametrize("rule", ALL_RULES, ids=CODES)
def test_rule_has_a_snippet_test_file(rule) -> None:
    path = ROOT / "tests" / "rules" / f"test_{rule.code.lower()}.py"
    assert path.is_file(), f"add {path.relative_to(ROOT)} (noop and fixed/finding cases)"
    assert f'CODE = "{rule.code}"' in path.read_text("utf-8")


# ------------------------------------------------------------------------------------- golden


@pytest.fixture(scope="module")
def golden_codes(tmp_path_factory) -> dict[str, set[str]]:
    """Codes each golden case exercises: those its expectations record (``expected/findings.json``;
    ``expected/splits.json`` entries are DF010 findings; ``errors`` in case.toml counts files dfix
    cannot process, DF900) and those a report over the case directory produces (callers,
    repository-level findings)."""
    out: dict[str, set[str]] = {}
    for case in sorted(p for p in GOLDEN.iterdir() if (p / "case.toml").is_file()):
        codes = out.setdefault(case.name, set())
        with open(case / "case.toml", "rb") as fh:
            if tomllib.load(fh).get("errors", 0):
                codes.add("DF900")
        expected = case / "expected"
        if (expected / "findings.json").is_file():
            codes |= {f["code"] for f in json.loads((expected / "findings.json").read_text("utf-8"))}
        if (expected / "splits.json").is_file() and json.loads((expected / "splits.json").read_text("utf-8")):
            codes.add("DF010")
        work = tmp_path_factory.mktemp(case.name)
        shutil.copytree(case, work, dirs_exist_ok=True, ignore=lambda d, names: ["expected"] if Path(d) == case else [])
        _, out_json, _ = run(["--format", "json", "."], cwd=work)
        for f in json.loads(out_json)["files"]:
            codes |= {x["code"] for x in f["findings"]}
            if f["status"] == "error":
                codes.add("DF900")
    return out


_NO_GOLDEN_YET: dict[str, str] = {}  # code -> why it has no golden case yet (a strict xfail)


@pytest.mark.parametrize(
    "code",
    [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=_NO_GOLDEN_YET[c])) if c in _NO_GOLDEN_YET else c for c in CODES],
)
def test_rule_has_a_golden_case(code, golden_codes) -> None:
    cases = sorted(name for name, codes in golden_codes.items() if code in codes)
    assert cases, f"no golden case under golden/ exercises {code}"


# ------------------------------------------------------------------------------------- README


def readme_rules_table() -> str:
    lines = (ROOT / "README.md").read_text("utf-8").splitlines()
    start = lines.index("### Rules")
    table = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            table.append(line)
        elif table or line.startswith("#"):
            break
    return "\n".join(table) + "\n"


def test_readme_rules_table_is_generated() -> None:
    want = markdown_table()
    assert readme_rules_table() == want, (
        "README.md's '### Rules' table differs from refactor.rules.markdown_table(); paste this:\n\n" + want
    )

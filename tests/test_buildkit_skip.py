"""BuildKit's ``# check=skip=SecretsUsedInArgOrEnv`` silences dfix's DF001/DF002 too.

One comment for both tools (issue #22): the parser directive at the top of the file skips them in
the whole file, the same comment directly above an instruction skips them on that instruction
(BuildKit's per-instruction form). Names are matched exactly, as BuildKit does; other checks'
names skip nothing of dfix's.
"""

from __future__ import annotations

import pytest

from refactor.engine import process_source
from refactor.settings import Settings
from refactor.source import SourceFile
from refactor.syntax.pragmas import buildkit_comment_codes, buildkit_skipped_codes

BODY = "FROM node:20\nARG NPM_TOKEN\nENV API_TOKEN=$NPM_TOKEN\nRUN npm ci\n"


def codes(text: str) -> list[str]:
    r = process_source(SourceFile.from_text("Dockerfile", text), "Dockerfile", Settings(), None)
    assert r.status == "ok", r.error
    return sorted(f.code for f in r.findings)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("skip=SecretsUsedInArgOrEnv", {"DF001", "DF002"}),
        ("skip=all", {"DF001", "DF002"}),
        ("error=true;skip=JSONArgsRecommended,SecretsUsedInArgOrEnv", {"DF001", "DF002"}),
        (" skip = StageNameCasing , SecretsUsedInArgOrEnv ", {"DF001", "DF002"}),
        ("skip=JSONArgsRecommended", set()),
        ("skip=secretsusedinargorenv", set()),  # BuildKit matches names exactly
        ("error=true", set()),
        ("SecretsUsedInArgOrEnv", set()),
        ("", set()),
    ],
)
def test_directive_values(value: str, expected: set[str]) -> None:
    assert buildkit_skipped_codes(value) == expected


def test_the_directive_skips_the_secret_rules_in_the_whole_file() -> None:
    assert codes(BODY) == ["DF001", "DF002"]
    assert codes("# syntax=docker/dockerfile:1\n# check=skip=SecretsUsedInArgOrEnv\n" + BODY) == []
    assert codes("# check=error=true;skip=all\n" + BODY) == []
    assert codes("# check=skip=JSONArgsRecommended\n" + BODY) == ["DF001", "DF002"]


def test_a_comment_above_an_instruction_skips_it_there_only() -> None:
    text = "FROM node:20\n# check=skip=SecretsUsedInArgOrEnv\nARG NPM_TOKEN\nARG GH_TOKEN\nRUN npm ci\n"
    r = process_source(SourceFile.from_text("Dockerfile", text), "Dockerfile", Settings(), None)
    assert [(f.code, f.variable) for f in r.findings] == [("DF001", "GH_TOKEN")]


def test_a_skip_leaves_the_other_rules_alone() -> None:
    text = "# check=skip=SecretsUsedInArgOrEnv\nFROM node:20\nRUN echo '//r/:_authToken=npm_" + "a1B2" * 9 + "' > .npmrc\n"
    assert "DF003" in codes(text)


def test_comment_form() -> None:
    assert buildkit_comment_codes("check=skip=SecretsUsedInArgOrEnv") == {"DF001", "DF002"}
    assert buildkit_comment_codes("CHECK = skip=all") == {"DF001", "DF002"}
    assert buildkit_comment_codes("checks=skip=SecretsUsedInArgOrEnv") == frozenset()
    assert buildkit_comment_codes("see check=skip=SecretsUsedInArgOrEnv") == frozenset()

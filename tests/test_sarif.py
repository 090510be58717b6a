"""``--format sarif`` for GitHub code scanning: rule metadata, fingerprints, localized fixes.

- rules: ``properties.tags`` holds "security", ``properties.security-severity`` a numeric string
  (secret rules high, the others lower), ``help`` the full ``--explain`` text, a
  ``fullDescription`` and a ``defaultConfiguration.level``;
- results: ``partialFingerprints`` stable across line shifts and secret values, unique per run;
- fixes: each carries only its finding's edits (line/column regions against the original file,
  code-point columns as ``run.columnKind`` says); all of a file's fixes together give the
  rewrite; a fix that would show a masked value is left out and the result says why;
- size: 500 findings in one file give a document linear in the findings.

Every document is validated against the OASIS SARIF 2.1.0 schema (see test_formats.py).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from urllib.parse import unquote

import pytest
from helpers import run
from test_formats import _sarif_validator, _valid_sarif

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sarif_validator():
    return _sarif_validator()


def _offset(starts: list[int], line: int, column: int) -> int:
    return starts[line - 1] + column - 1


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, c in enumerate(text):
        if c == "\n":
            starts.append(i + 1)
    return starts


def apply_replacements(text: str, replacements: list[dict]) -> str:
    """Apply SARIF replacements (line/column regions, code-point columns) to ``text``."""
    starts = _line_starts(text)
    spans = []
    for rep in replacements:
        reg = rep["deletedRegion"]
        a = _offset(starts, reg["startLine"], reg["startColumn"])
        b = _offset(starts, reg["endLine"], reg["endColumn"])
        assert 0 <= a <= b <= len(text), reg
        spans.append((a, b, rep.get("insertedContent", {}).get("text", "")))
    out, pos = [], 0
    for a, b, new in spans:  # in document order, not overlapping
        assert a >= pos, f"overlapping or unordered replacements: {spans}"
        out.append(text[pos:a])
        out.append(new)
        pos = b
    out.append(text[pos:])
    return "".join(out)


def _results(out: str, validator) -> list[dict]:
    doc = _valid_sarif(validator, out)
    assert doc["runs"][0]["columnKind"] == "unicodeCodePoints"
    return doc["runs"][0]["results"]


def _uri(res: dict) -> str:
    return res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]


def _line(res: dict) -> int:
    return res["locations"][0]["physicalLocation"]["region"]["startLine"]


def _replacements(res: dict) -> list[dict]:
    (fix,) = res["fixes"]
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"]["uri"] == _uri(res)
    return change["replacements"]


# ------------------------------------------------------------------------------------------- rules

def test_rules_carry_github_security_metadata(tmp_path, sarif_validator) -> None:
    from refactor.rules import RULES

    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nARG NPM_TOKEN\nRUN npm ci\n")
    _, out, _ = run(["--format", "sarif", "."], cwd=tmp_path)
    rules = _valid_sarif(sarif_validator, out)["runs"][0]["tool"]["driver"]["rules"]
    by_code = {r.code: r for r in RULES}
    assert [r["id"] for r in rules] == [r.code for r in RULES]
    for r in rules:
        rule = by_code[r["id"]]
        props = r["properties"]
        assert props["tags"][0] == "security" and len(set(props["tags"])) == len(props["tags"])
        sev = props["security-severity"]
        assert isinstance(sev, str) and 0.0 < float(sev) <= 10.0 and sev == f"{float(sev):.1f}"
        if rule.secret and rule.severity == "error":
            assert 7.0 <= float(sev) < 9.0, r["id"]  # high
        if not rule.secret:
            assert float(sev) < 7.0, r["id"]
        _, explain, _ = run(["--explain", rule.code])
        assert explain == r["help"]["text"] + "\n" and r["help"]["markdown"] == r["help"]["text"]
        assert r["fullDescription"]["text"] and r["fullDescription"]["text"] != r["shortDescription"]["text"]
        assert r["defaultConfiguration"]["level"] == {"error": "error", "warning": "warning"}.get(rule.severity, "note")
        assert "helpUri" not in r  # no public documentation URL to point at
    sev = {r["id"]: float(r["properties"]["security-severity"]) for r in rules}
    assert sev["DF001"] > sev["DF010"] > sev["DF009"]
    assert "external/cwe/cwe-798" in next(r for r in rules if r["id"] == "DF003")["properties"]["tags"]


# ------------------------------------------------------------------------------------------- fixes

TWO = "FROM node:20\nARG NPM_TOKEN\nARG GH_TOKEN\nRUN npm ci\nRUN git clone https://$GH_TOKEN@github.com/x/y /src\n"


def test_each_fix_carries_only_its_own_edits(tmp_path, sarif_validator) -> None:
    from refactor.source import SourceFile
    from refactor.syntax.dockerfile import parse

    (tmp_path / "Dockerfile").write_text(TWO)
    _, out, _ = run(["--format", "sarif", "."], cwd=tmp_path)
    res = {r["message"]["text"].split()[1]: r for r in _results(out, sarif_validator) if r["ruleId"] == "DF001"}
    assert set(res) == {"NPM_TOKEN", "GH_TOKEN"}
    npm = _replacements(res["NPM_TOKEN"])
    assert npm == [
        {"deletedRegion": {"startLine": 2, "startColumn": 1, "endLine": 3, "endColumn": 1}},
        {"deletedRegion": {"startLine": 4, "startColumn": 4, "endLine": 4, "endColumn": 4},
         "insertedContent": {"text": " --mount=type=secret,id=npm_token,env=NPM_TOKEN"}},
    ]
    gh = _replacements(res["GH_TOKEN"])
    assert all("npm_token" not in r.get("insertedContent", {}).get("text", "") for r in gh)
    for reps in (npm, gh):
        alone = apply_replacements(TWO, reps)
        parse(SourceFile.from_text("Dockerfile", alone))  # each fix on its own is a Dockerfile
        assert len(json.dumps(reps)) < 1000
    # together they are the rewrite --write makes
    together = apply_replacements(TWO, sorted(npm + gh, key=lambda r: (r["deletedRegion"]["startLine"],
                                                                      r["deletedRegion"]["startColumn"])))
    run(["--write", "."], cwd=tmp_path)
    assert together == (tmp_path / "Dockerfile").read_text()


def _compose(text: str, fixes_of_file: list[list[dict]]) -> str | None:
    """Apply every distinct fix of one file together (identical replacements planned by several
    fixes are one edit, as in the rewrite); None when they overlap (each fix stands alone against
    the original: two removals from one ``ARG A B`` are planned differently together)."""
    seen, reps = set(), []
    for fix in fixes_of_file:
        for rep in fix:
            key = json.dumps(rep, sort_keys=True)
            if key not in seen:
                seen.add(key)
                reps.append(rep)
    reps.sort(key=lambda r: (r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"],
                             r["deletedRegion"]["endLine"], r["deletedRegion"]["endColumn"]))
    starts = _line_starts(text)
    pos = 0
    for r in reps:
        reg = r["deletedRegion"]
        if _offset(starts, reg["startLine"], reg["startColumn"]) < pos:
            return None
        pos = _offset(starts, reg["endLine"], reg["endColumn"])
    return apply_replacements(text, reps)


def test_golden_fixes_compose_to_the_rewrite(tmp_path, sarif_validator) -> None:
    """Over every golden input: no fix embeds the whole file, each fix alone gives a Dockerfile
    BuildKit accepts, and a file's distinct fixes applied together give exactly what --write
    writes (where they do not overlap)."""
    from test_json_schema import _tree

    from refactor.source import SourceFile
    from refactor.syntax.dockerfile import parse

    root = _tree(tmp_path / "repo", False)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    _, out, _ = run(["--unsafe-fixes", "--format", "sarif", "."], cwd=root)
    results = _results(out, sarif_validator)
    by_file: dict[str, list] = {}
    for res in results:
        if "fixes" not in res:
            continue
        reps = _replacements(res)
        original = before[root / unquote(_uri(res))].decode("utf-8-sig")
        end = _line_starts(original)
        whole = {"startLine": 1, "startColumn": 1, "endLine": len(end), "endColumn": len(original) - end[-1] + 1}
        assert all(rep["deletedRegion"] != whole for rep in reps), _uri(res)
        alone = apply_replacements(original, reps)
        if "Dockerfile" in _uri(res):
            parse(SourceFile.from_text("Dockerfile", alone))
        by_file.setdefault(_uri(res), []).append(reps)
    assert sum(len(v) for v in by_file.values()) > 20
    run(["--write", "--unsafe-fixes", "."], cwd=root)
    mismatched, composed = [], 0
    for uri, fixes in by_file.items():
        path = root / unquote(uri)
        together = _compose(before[path].decode("utf-8-sig"), fixes)
        if together is None:
            continue
        composed += 1
        if together != path.read_bytes().decode("utf-8-sig"):
            mismatched.append(uri)
    assert not mismatched, mismatched
    assert composed > 0.8 * len(by_file), (composed, len(by_file))


def test_a_fix_that_would_show_a_secret_is_left_out(tmp_path, sarif_validator) -> None:
    """The fold copies a write holding a committed token into later RUNs: the fix text would show
    it, so the fix is omitted (the result says why); --diff masks the same lines."""
    token = "npm_" + secrets.token_hex(18)
    (tmp_path / "Dockerfile").write_text(
        "FROM node:20\nARG NPM_TOKEN\n"
        f"RUN printf '//registry.npmjs.org/:_authToken=%s\\n//npm.example.com/:_authToken={token}\\n' \"$NPM_TOKEN\" > /root/.npmrc\n"
        "RUN npm ci\nRUN npm run build\n"
    )
    _, out, _ = run(["--unsafe-fixes", "--format", "sarif", "."], cwd=tmp_path)
    assert token not in out
    res = _results(out, sarif_validator)
    omitted = [r for r in res if "fixOmitted" in r.get("properties", {})]
    assert {r["ruleId"] for r in omitted} >= {"DF001"}
    assert all("fixes" not in r and "secret" in r["properties"]["fixOmitted"] for r in omitted)
    _, diff, _ = run(["--unsafe-fixes", "--diff", "."], cwd=tmp_path)
    assert "<redacted>" in diff and token not in diff


def test_a_fix_next_to_a_committed_literal_is_kept_without_it(tmp_path, sarif_validator) -> None:
    """Removing an ARG with a committed default deletes the literal: the fix shows none of it."""
    value = "lit-" + secrets.token_hex(10)
    text = f'FROM alpine:3.20\nARG DB_PASSWORD={value}\nRUN psql "postgres://app:$DB_PASSWORD@db/app" -c "select 1"\n'
    (tmp_path / "Dockerfile").write_text(text)
    _, out, _ = run(["--unsafe-fixes", "--format", "sarif", "."], cwd=tmp_path)
    assert value not in out
    fixed = [r for r in _results(out, sarif_validator) if "fixes" in r]
    assert fixed
    for r in fixed:
        assert value not in apply_replacements(text, _replacements(r))


def test_unit_fix_with_a_masked_value_across_the_edit_edge() -> None:
    """A masked value assembled from inserted text and the text kept beside it is caught too."""
    from refactor.fixes.edit import Edit
    from refactor.render.output import to_sarif
    from refactor.results import FileResult, FindingOut, FixOut, Outcome

    secret = "s3cr3t-" + secrets.token_hex(6)
    original = f"FROM a\nRUN x {secret[:5]}\n"
    at = original.index(secret[:5]) + 5
    new = original[:at] + secret[5:] + original[at:]
    for edits, shown in (((Edit(at, at, secret[5:]),), True), ((Edit(0, 0, "# ok\n"),), False)):
        fix = FixOut("t", "safe", False, [], True, edits)
        f = FindingOut("DF001", "secret-build-arg", "X", True, "error", "m", 2, 1, 2, 3, fix)
        r = FileResult("Dockerfile", outcome=Outcome.FIXED, changed=True, original=original, new_text=new, masks=[secret], findings=[f])
        doc = json.loads(to_sarif([r]))
        (res,) = doc["runs"][0]["results"]
        assert ("fixes" not in res) == shown
        assert secret[5:] not in json.dumps(doc) or not shown


@pytest.mark.parametrize("inserted", ["RUN echo changeme\n", "ENV PASSWORD=changeme\n", "RUN x --pw='changeme' y\n",
                                      "RUN deploy tok3n-9Xq2Lr7Vb4\n"])
def test_unit_fix_is_omitted_exactly_where_the_diff_masks(inserted) -> None:
    """A word-like mask (a weak password that is also a word) hides only where it stands as a
    value, as in the diff: the fix goes exactly where the diff line would be left unmasked."""
    from refactor.fixes.edit import Edit
    from refactor.render.masking import mask_text
    from refactor.render.output import to_sarif
    from refactor.results import FileResult, FindingOut, FixOut, Outcome

    masks = ["changeme", "tok3n-9Xq2Lr7Vb4"]
    original = "FROM a\nRUN true\n"
    at = len("FROM a\n")
    new = original[:at] + inserted + original[at:]
    fix = FixOut("t", "safe", False, [], True, (Edit(at, at, inserted),))
    f = FindingOut("DF001", "secret-build-arg", "X", True, "error", "m", 2, 1, 2, 3, fix)
    r = FileResult("Dockerfile", outcome=Outcome.FIXED, changed=True, original=original, new_text=new, masks=masks, findings=[f])
    (res,) = json.loads(to_sarif([r]))["runs"][0]["results"]
    assert ("fixes" not in res) == mask_text(inserted, masks)[1]
    if "fixes" not in res:
        assert "secret" in res["properties"]["fixOmitted"]


def test_digest_pin_fix_is_the_pin_on_its_line(monkeypatch, sarif_validator) -> None:
    """Pins are planned on the rewritten text: their fix is recovered from the diff, restricted to
    the finding's own lines."""
    from refactor.engine import process_source
    from refactor.render.output import to_sarif
    from refactor.settings import Settings
    from refactor.source import SourceFile
    from refactor.supply import steps

    def digest(ref: str, platform) -> str:
        return "sha256:" + hashlib.sha256(ref.encode()).hexdigest()

    monkeypatch.setattr(steps, "_CLIENT", digest)
    text = "FROM ubuntu AS base\nARG NPM_TOKEN\nRUN npm ci\nFROM node:latest\nCOPY --from=base /a /a\n"
    r = process_source(SourceFile.from_text("Dockerfile", text), "Dockerfile", Settings(pin_digests=True), ".")
    res = _results(to_sarif([r]), sarif_validator)
    pins = {_line(x): _replacements(x) for x in res if x["ruleId"] == "DF009"}
    assert pins == {
        1: [{"deletedRegion": {"startLine": 1, "startColumn": 12, "endLine": 1, "endColumn": 12},
             "insertedContent": {"text": "@" + digest("ubuntu", None)}}],
        4: [{"deletedRegion": {"startLine": 4, "startColumn": 17, "endLine": 4, "endColumn": 17},
             "insertedContent": {"text": "@" + digest("node:latest", None)}}],
    }
    fixes = [_replacements(x) for x in res if "fixes" in x]
    assert _compose(text, fixes) == r.new_text


def test_caller_fix_is_localized(tmp_path, sarif_validator) -> None:
    import subprocess

    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n")
    compose = ("services:\n  app:\n    image: app\n    labels:\n" + "".join(f"      l{i}: v{i}\n" for i in range(40))
               + "    build:\n      context: svc\n      args:\n        - NPM_TOKEN=${NPM_TOKEN}\n")
    (tmp_path / "compose.yaml").write_text(compose)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    _, out, _ = run(["--format", "sarif", "."], cwd=tmp_path)
    res = [r for r in _results(out, sarif_validator) if _uri(r) == "compose.yaml" and "fixes" in r]
    assert [r["ruleId"] for r in res] == ["DF011"]
    reps = _replacements(res[0])
    assert all(rep["deletedRegion"]["startLine"] > 40 for rep in reps)  # not the whole file
    run(["--write", "."], cwd=tmp_path)
    assert apply_replacements(compose, reps) == (tmp_path / "compose.yaml").read_text()


# ------------------------------------------------------------------------------------ fingerprints

def _fps(out: str, validator) -> list[tuple[str, int, str]]:
    return [(r["ruleId"], _line(r) if "region" in r["locations"][0]["physicalLocation"] else 0,
             r["partialFingerprints"]["dfix/v1"]) for r in _results(out, validator)]


def test_fingerprints_survive_line_shifts_and_new_secret_values(tmp_path, sarif_validator) -> None:
    v1, v2 = "lit-" + secrets.token_hex(8), "lit-" + secrets.token_hex(8)
    body = ("ARG DB_PASSWORD={v}\nARG NPM_TOKEN\nRUN psql \"postgres://app:$DB_PASSWORD@db/app\" -c 'select 1'\n"
            "RUN npm ci\nFROM alpine\nARG NPM_TOKEN\nRUN npm ci\n")
    df = tmp_path / "Dockerfile"
    df.write_text("FROM alpine:3.20\n" + body.format(v=v1))
    _, out1, _ = run(["--format", "sarif", "."], cwd=tmp_path)
    df.write_text("# a comment\n\nFROM alpine:3.20\n\n" + body.format(v=v2))
    _, out2, _ = run(["--format", "sarif", "."], cwd=tmp_path)
    a, b = _fps(out1, sarif_validator), _fps(out2, sarif_validator)
    assert len(a) == len(b) > 4
    assert [x[1] + 3 for x in a] == [x[1] for x in b]  # the lines moved...
    assert [(x[0], x[2]) for x in a] == [(x[0], x[2]) for x in b]  # ...the fingerprints did not
    assert len({x[2] for x in a}) == len(a)  # two NPM_TOKEN findings, still distinct
    assert all(len(x[2]) == 64 and v1 not in x[2] for x in a)
    assert v1 not in out1 and v2 not in out2


def test_fingerprints_are_unique_over_the_golden_inputs(tmp_path, sarif_validator) -> None:
    from test_json_schema import _tree

    root = _tree(tmp_path / "repo", True)
    _, out, _ = run(["--format", "sarif", "."], cwd=root)
    res = _results(out, sarif_validator)
    fps = [(_uri(r), r["partialFingerprints"]["dfix/v1"]) for r in res]
    assert len(set(fps)) == len(fps) and len(fps) > 20
    assert any(r["ruleId"] == "DF900" for r in res)


# -------------------------------------------------------------------------------------------- size

def _many_findings() -> str:
    parts = ["FROM alpine:3.20\n"]
    for i in range(250):
        parts.append(f"ARG API_TOKEN_{i}\nENV COPY_{i}=$API_TOKEN_{i}\n")
        parts.append(f'RUN curl -fsS -H "Authorization: Bearer $API_TOKEN_{i}" -o /tmp/artifact_{i}.tgz '
                     f"https://artifacts.example.com/repository/libs/{i}.tgz\n")
    return "".join(parts)


def test_500_findings_give_a_document_linear_in_the_findings(tmp_path, sarif_validator) -> None:
    """Each fix used to embed the whole rewritten file (500 findings in a 44 KB file: ~25 MB of
    SARIF); now each carries its own few edits."""
    text = _many_findings()
    assert 40_000 < len(text) < 50_000
    (tmp_path / "Dockerfile").write_text(text)
    _, out, _ = run(["--unsafe-fixes", "--format", "sarif", "-q", "."], cwd=tmp_path)
    res = _results(out, sarif_validator)
    assert len(res) == 500 and all("fixes" in r for r in res)
    fix_sizes = [len(json.dumps(r["fixes"])) for r in res]
    assert max(fix_sizes) < 1_000
    assert len(out.encode()) < 2_000_000
    per_result = [len(json.dumps(r)) for r in res]
    assert max(per_result) < 3 * min(per_result)  # no result grows with the file or the findings

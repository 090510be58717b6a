"""``--format gitlab|checkstyle|junit``: CI report formats.

- gitlab: a GitLab Code Quality report (``artifacts:reports:codequality``). GitLab publishes no
  JSON schema for it (``check-jsonschema`` vendors the CI-config schema, not this one), so the
  fields its documentation requires are written down below as a schema; fingerprints are unique,
  stable across modes, the same as SARIF's, and never a secret;
- checkstyle and junit: parse with ``xml.etree``; every file checked appears (clean, with
  findings, or an error element for a file that could not be processed); names and messages with
  markup characters, quotes, newlines and control characters come out escaped and free of control
  characters.

Secret canaries in every format are checked in test_redaction.py.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from helpers import run

SECRET = "FROM alpine:3.20\nARG NPM_TOKEN\nRUN npm ci\n"
CLEAN = "FROM alpine:3.20\nARG VERSION=1\nRUN echo $VERSION\n"
PUBLIC = "FROM node:20\nARG VITE_API_KEY\nRUN npm run build\n"
LITERAL = 'FROM alpine:3.20\nARG DB_PASSWORD={v}\nRUN psql "postgres://app:$DB_PASSWORD@db/app" -c "select 1"\n'
FAKE_LITERAL = "not-a-real-pw-7Qx9Lm2Vb"
# names a report must carry escaped: markup, quotes, whitespace and control characters, a byte
# that is not UTF-8 (kept by Python as a surrogate)
NASTY = ['a<b&c"d\'e', "x\ny", "t\tz\x01", "cr\rlf", "rlo\u202e", os.fsdecode(b"u\xff")]

# GitLab Code Quality report, as documented at https://docs.gitlab.com/ci/testing/code_quality/
# ("Code Quality report format": description, check_name, fingerprint, severity, location.path,
# location.lines.begin)
CODE_QUALITY_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "additionalProperties": False,
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "pattern": "^DF[0-9]{3}$"},
            "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "additionalProperties": False,
                "properties": {
                    "path": {"type": "string", "minLength": 1},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "additionalProperties": False,
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    files = {
        "svc/Dockerfile": SECRET,
        "clean.Dockerfile": CLEAN,
        "web/Dockerfile": PUBLIC,
        "own/Dockerfile": LITERAL.format(v=FAKE_LITERAL),
    }
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "Dockerfile").write_bytes(b"FROM a\x00")
    return tmp_path


@pytest.fixture
def nasty(tmp_path: Path) -> Path:
    for name in NASTY:
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text(SECRET)
    (tmp_path / "bad&<\n").mkdir()
    (tmp_path / "bad&<\n" / "Dockerfile").write_bytes(b"FROM a\x00")
    return tmp_path


def _json(repo: Path) -> dict:
    _, out, _ = run(["--format", "json", "."], cwd=repo)
    return json.loads(out)


def _no_control(s: str) -> bool:
    return s.isprintable()


def _xml(out: str) -> ET.Element:
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.encode("utf-8")  # no lone surrogate
    return ET.fromstring(out)


def _visible(path: str) -> str:
    """A name as the XML reports show it: control characters and undecodable bytes escaped."""
    out = []
    for c in path:
        o = ord(c)
        if c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif not c.isprintable():
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}")
        else:
            out.append(c)
    return "".join(out)


# ------------------------------------------------------------------------------------------ gitlab

def test_gitlab_code_quality_report(repo) -> None:
    code, out, _ = run(["--format", "gitlab", "."], cwd=repo)
    assert code == 2
    issues = json.loads(out)
    errors = list(Draft202012Validator(CODE_QUALITY_SCHEMA).iter_errors(issues))
    assert not errors, [e.message for e in errors[:5]]
    doc = _json(repo)
    want = sorted((f["path"], x["code"], x["line"]) for f in doc["files"] for x in f["findings"])
    got = sorted((i["location"]["path"], i["check_name"], i["location"]["lines"]["begin"]) for i in issues
                 if i["check_name"] != "DF900")
    assert got == want
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    sev = {i["check_name"]: i["severity"] for i in issues}
    assert sev["DF001"] == "critical" and sev["DF005"] == "minor" and sev["DF900"] == "major"
    (err,) = [i for i in issues if i["check_name"] == "DF900"]
    assert err["location"] == {"path": "bad/Dockerfile", "lines": {"begin": 1}} and "NUL" in err["description"]
    assert FAKE_LITERAL not in out


def test_gitlab_fingerprints_match_sarif_and_hold_across_modes(repo) -> None:
    _, out, _ = run(["--format", "gitlab", "."], cwd=repo)
    issues = json.loads(out)
    for mode in (["--check"], ["--diff"], ["--unsafe-fixes"]):
        _, again, _ = run(mode + ["--format", "gitlab", "."], cwd=repo)
        assert sorted(i["fingerprint"] for i in json.loads(again)) == sorted(i["fingerprint"] for i in issues), mode
    _, sarif, _ = run(["--format", "sarif", "."], cwd=repo)
    sfps = {r["partialFingerprints"]["dfix/v1"] for r in json.loads(sarif)["runs"][0]["results"]}
    assert sfps == {i["fingerprint"] for i in issues}


def test_gitlab_fingerprint_ignores_the_secret_value_and_line_shifts(tmp_path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_text(LITERAL.format(v="lit-Aq9Zx7Wv3Ty1"))
    _, a, _ = run(["--format", "gitlab", "."], cwd=tmp_path)
    p.write_text("# moved\n\n" + LITERAL.format(v="lit-Kp4Rm8Nb2Qs6"))
    _, b, _ = run(["--format", "gitlab", "."], cwd=tmp_path)
    fa, fb = json.loads(a), json.loads(b)
    assert [i["location"]["lines"]["begin"] + 2 for i in fa] == [i["location"]["lines"]["begin"] for i in fb]
    assert [i["fingerprint"] for i in fa] == [i["fingerprint"] for i in fb]
    assert "lit-Aq9Zx7Wv3Ty1" not in a and "lit-Kp4Rm8Nb2Qs6" not in b


def test_gitlab_empty_report_is_an_empty_array(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text(CLEAN)
    code, out, _ = run(["--format", "gitlab", "."], cwd=tmp_path)
    assert code == 0 and json.loads(out) == []


def test_gitlab_nasty_paths(nasty) -> None:
    _, out, _ = run(["--format", "gitlab", "."], cwd=nasty)
    issues = json.loads(out)
    assert not list(Draft202012Validator(CODE_QUALITY_SCHEMA).iter_errors(issues))
    paths = {i["location"]["path"] for i in issues}
    assert paths == {f"{n}/Dockerfile" for n in NASTY} | {"bad&<\n/Dockerfile"}


# -------------------------------------------------------------------------------------- checkstyle

def test_checkstyle_report(repo) -> None:
    code, out, _ = run(["--format", "checkstyle", "."], cwd=repo)
    assert code == 2
    root = _xml(out)
    assert root.tag == "checkstyle"
    files = {f.get("name"): f for f in root.findall("file")}
    doc = _json(repo)
    assert set(files) == {f["path"] for f in doc["files"]}  # clean files too
    assert list(files["clean.Dockerfile"]) == []
    for f in doc["files"]:
        got = [(e.get("line"), e.get("column"), e.get("source")) for e in files[f["path"]].findall("error")
               if e.get("source") != "dfix.DF900"]
        assert got == [(str(x["line"]), str(x["column"]), f"dfix.{x['code']}") for x in f["findings"]]
    (err,) = files["bad/Dockerfile"].findall("error")
    assert err.get("severity") == "error" and err.get("source") == "dfix.DF900" and "NUL" in err.get("message")
    sev = {e.get("source"): e.get("severity") for f in files.values() for e in f}
    assert sev["dfix.DF001"] == "error" and sev["dfix.DF005"] == "warning"
    msg = files["svc/Dockerfile"].find("error").get("message")
    assert "<unset>" in msg and "&lt;unset&gt;" in out  # escaped in the document, intact once parsed
    assert FAKE_LITERAL not in out


def test_checkstyle_nasty_names(nasty) -> None:
    _, out, _ = run(["--format", "checkstyle", "."], cwd=nasty)
    root = _xml(out)
    names = [f.get("name") for f in root.findall("file")]
    assert sorted(names) == sorted(_visible(f"{n}/Dockerfile") for n in NASTY + ["bad&<\n"])
    assert 'a<b&c"d\'e/Dockerfile' in names and "x\\ny/Dockerfile" in names
    for el in root.iter():
        for v in el.attrib.values():
            assert _no_control(v), repr(v)
    assert any(e.get("source") == "dfix.DF900" for e in root.iter("error"))


# ------------------------------------------------------------------------------------------- junit

def test_junit_report(repo) -> None:
    code, out, _ = run(["--format", "junit", "."], cwd=repo)
    assert code == 2
    root = _xml(out)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    doc = _json(repo)
    assert set(cases) == {f["path"] for f in doc["files"]}  # a testcase per file checked
    for f in doc["files"]:
        failures = cases[f["path"]].findall("failure")
        assert [x.get("type") for x in failures] == [x["code"] for x in f["findings"]]
        for x, el in zip(f["findings"], failures):
            assert el.text.startswith(f"{f['path']}:{x['line']}:{x['column']}: {x['code']} ")
    assert list(cases["clean.Dockerfile"]) == []
    (err,) = cases["bad/Dockerfile"].findall("error")
    assert err.get("type") == "DF900" and "NUL" in err.get("message")
    for el in (root, suite):
        assert el.get("tests") == str(len(doc["files"]))
        assert el.get("errors") == "1"
        assert el.get("failures") == str(sum(1 for f in doc["files"] if f["findings"] and f["status"] == "ok"))
    assert "&lt;unset&gt;" in out and FAKE_LITERAL not in out


def test_junit_nasty_names(nasty) -> None:
    _, out, _ = run(["--format", "junit", "."], cwd=nasty)
    root = _xml(out)
    cases = root.find("testsuite").findall("testcase")
    assert sorted(c.get("name") for c in cases) == sorted(_visible(f"{n}/Dockerfile") for n in NASTY + ["bad&<\n"])
    for el in root.iter():
        for v in el.attrib.values():
            assert _no_control(v), repr(v)
        if el.text:
            assert all(_no_control(line) for line in el.text.split("\n")), repr(el.text)
    assert len(root.findall(".//error")) == 1 and len(root.findall(".//failure")) == len(NASTY)


def test_xml_escape_function() -> None:
    from refactor.render.output import _xml_safe

    assert _xml_safe("a\nb\tc\rd\x00e\x7f\u2028f\u202eg é") == "a\\nb\\tc\\rd\\x00e\\x7f\\u2028f\\u202eg é"
    assert _xml_safe("l1\nl2\x01", newlines=True) == "l1\nl2\\x01"
    assert _xml_safe(os.fsdecode(b"\xfe") + "\ufffe\ud800") == "\\xfe\\ufffe\\ud800"
    assert _xml_safe('<&"\'>') == '<&"\'>'  # markup is the serializer's job


def test_cli_document_formats_match_the_renderers() -> None:
    """The CLI knows the whole-document formats without importing the renderers (start-up)."""
    from refactor.cli import DOCUMENT_FORMATS
    from refactor.render.output import DOCUMENTS

    assert set(DOCUMENT_FORMATS) == set(DOCUMENTS)

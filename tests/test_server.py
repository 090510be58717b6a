"""``dfix server`` driven as an editor drives it: a subprocess speaking JSON-RPC over stdio.

One server process serves the module (its workspace root is a temporary directory holding a
``.git`` so config discovery stops there); tests that change the server's settings put them back.
Rewrites are compared byte for byte with ``dfix --write`` on the same files (one CLI run over all
cases). Unit tests of the position mapping and of the refusal path run in-process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")

from lsprotocol import types

from refactor.server.positions import LineIndex
from tests.test_server_client import ROOT, LspClient, apply_workspace_edit

CANARY_ARG = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
CANARY_ENV = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
assert len(CANARY_ARG) == len(CANARY_ENV) == 40

CASES = {
    "lf": "FROM node:20\nARG NPM_TOKEN\nWORKDIR /app\nRUN npm ci\n",
    "crlf": "FROM node:20\r\nARG NPM_TOKEN\r\nWORKDIR /app\r\nRUN npm ci\r\n",
    "bom": "\ufeffFROM node:20\nARG NPM_TOKEN\nRUN npm ci\n",
    "bom-crlf": "\ufeffFROM node:20\r\nARG NPM_TOKEN\r\nRUN npm ci",
    # non-ASCII and astral characters before the edits, on the edited lines
    "nonascii": 'FROM node:20\n# 日本語 😀😀 naïve\nARG APP_NAME=😀café NPM_TOKEN\nRUN echo "é😀 $APP_NAME" && npm ci\n',
    "two-fixes": "FROM python:3.12\nARG NPM_TOKEN\nARG PIP_EXTRA_INDEX_URL\nRUN npm ci\nRUN pip install -r requirements.txt\n",
}


def uri_of(path: Path) -> str:
    return path.resolve().as_uri()


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("lsp")
    (root / ".git").mkdir()  # config discovery stops here
    for name, text in CASES.items():
        d = root / "cases" / name
        d.mkdir(parents=True)
        (d / "Dockerfile").write_bytes(text.encode("utf-8"))
        cli = root / "cli" / name
        cli.mkdir(parents=True)
        (cli / "Dockerfile").write_bytes(text.encode("utf-8"))
    # what `dfix --write` makes of each case (one run over every case)
    subprocess.run([sys.executable, "-m", "refactor", "-q", "--write", "cli"], cwd=root, capture_output=True, check=False)
    return root


@pytest.fixture(scope="module")
def client(ws):
    c = LspClient(cwd=str(ws))
    init = c.initialize(str(ws))
    c.init_result = init  # type: ignore[attr-defined]
    yield c
    # shutdown then exit: a clean exit (code 0, no traceback)
    assert c.shutdown() == 0
    assert b"Traceback" not in b"".join(c.stderr_chunks)


def open_doc(client: LspClient, path: Path, text: str | None = None, version: int = 1) -> tuple[str, str, list]:
    uri = uri_of(path)
    if text is None:
        text = path.read_bytes().decode("utf-8")  # a BOM stays in the text, as some editors keep it
    client.open(uri, text, version)
    return uri, text, client.diagnostics(uri, version)


def actions(client: LspClient, uri: str, rng: dict, diags: list, only: list | None = None) -> list[dict]:
    ctx: dict = {"diagnostics": diags}
    if only:
        ctx["only"] = only
    r = client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": rng, "context": ctx})
    assert "error" not in r, r
    return r["result"] or []


WHOLE = {"start": {"line": 0, "character": 0}, "end": {"line": 10_000, "character": 0}}


# --- protocol ---------------------------------------------------------------------------------


def test_initialize_advertises_what_the_server_does(client) -> None:
    caps = client.init_result["result"]["capabilities"]
    assert caps["positionEncoding"] == "utf-16"
    assert caps["textDocumentSync"]["change"] == 1  # full
    assert "source.fixAll.dfix" in caps["codeActionProvider"]["codeActionKinds"]
    assert caps["hoverProvider"] and caps["codeLensProvider"]
    assert "dfix.showBuildCommand" in caps["executeCommandProvider"]["commands"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_fix_all_is_byte_identical_to_dfix_write(client, ws, name) -> None:
    path = ws / "cases" / name / "Dockerfile"
    uri, text, diags = open_doc(client, path)
    assert any(d["code"] == "DF001" for d in diags)
    acts = actions(client, uri, WHOLE, [], only=["source.fixAll"])
    assert [a["kind"] for a in acts] == ["source.fixAll.dfix"]
    fixed = apply_workspace_edit(text, uri, acts[0]["edit"])
    assert fixed.encode("utf-8") == (ws / "cli" / name / "Dockerfile").read_bytes()
    # the document is versioned: a stale edit would be refused by the editor
    assert acts[0]["edit"]["documentChanges"][0]["textDocument"]["version"] == 1
    # the fixed text has nothing left: diagnostics clear after didChange
    client.change(uri, fixed, 2)
    left = client.diagnostics(uri, 2)
    assert left == []  # (both fixes of "two-fixes" too: a `pip -r` file no COPY brings may name the secret, so it is mounted)
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert client.diagnostics(uri) == []


@pytest.mark.parametrize("name", ["lf", "crlf", "bom", "bom-crlf", "nonascii"])
def test_the_quick_fix_of_a_finding_is_the_cli_rewrite(client, ws, name) -> None:
    path = ws / "cases" / name / "Dockerfile"
    uri, text, diags = open_doc(client, path)
    (d,) = [d for d in diags if d["code"] == "DF001"]
    acts = [a for a in actions(client, uri, d["range"], [d]) if a["kind"] == "quickfix"]
    titles = [a["title"] for a in acts]
    assert titles[0].startswith("Mount NPM_TOKEN as a BuildKit secret")
    assert acts[0]["isPreferred"] is True
    assert acts[0]["diagnostics"][0]["code"] == "DF001"
    fixed = apply_workspace_edit(text, uri, acts[0]["edit"])
    assert fixed.encode("utf-8") == (ws / "cli" / name / "Dockerfile").read_bytes()
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


def test_the_quick_fix_is_offered_anywhere_on_the_finding_line(client, ws) -> None:
    """Neovim asks with the cursor's position, Helix with the selected line from column 0: both
    get the quick fix, not only with the cursor on the flagged name; another line gets none."""
    path = ws / "cases" / "lf" / "Dockerfile"
    uri, _text, diags = open_doc(client, path)
    (d,) = [d for d in diags if d["code"] == "DF001"]
    line = d["range"]["start"]["line"]
    for col in (0, 3):
        at = {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}}
        assert any(a["title"].startswith("Mount NPM_TOKEN") for a in actions(client, uri, at, []))
    elsewhere = {"start": {"line": line + 1, "character": 0}, "end": {"line": line + 1, "character": 0}}
    assert not [a for a in actions(client, uri, elsewhere, []) if a["kind"] == "quickfix"]
    # Helix's :lsp-workspace-command sends no argument: the Dockerfile opened last
    r = client.request("workspace/executeCommand", {"command": "dfix.showBuildCommand", "arguments": []})["result"]
    assert r["command"] == "docker build --secret id=npm_token,env=NPM_TOKEN cases/lf"
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


def test_an_editor_that_strips_the_bom_gets_the_same_rewrite(client, ws) -> None:
    path = ws / "cases" / "bom" / "Dockerfile"
    text = path.read_bytes().decode("utf-8-sig")  # VS Code, Neovim: the BOM is a file property
    uri, _, _diags = open_doc(client, path, text)
    acts = actions(client, uri, WHOLE, [], only=["source.fixAll.dfix"])
    fixed = apply_workspace_edit(text, uri, acts[0]["edit"])
    assert b"\xef\xbb\xbf" + fixed.encode() == (ws / "cli" / "bom" / "Dockerfile").read_bytes()
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


def test_diagnostic_ranges_count_utf16_code_units(client, ws) -> None:
    path = ws / "cases" / "nonascii" / "Dockerfile"
    uri, text, diags = open_doc(client, path)
    (d,) = [d for d in diags if d["code"] == "DF001"]
    line = text.split("\n")[d["range"]["start"]["line"]]
    # "ARG APP_NAME=😀café NPM_TOKEN": the emoji is 2 UTF-16 units, so NPM_TOKEN starts at 20
    assert line.index("NPM_TOKEN") == 19
    assert d["range"]["start"] == {"line": 2, "character": 20}
    assert d["range"]["end"] == {"line": 2, "character": 29}
    assert d["severity"] == 1 and d["source"] == "dfix"
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


@pytest.mark.parametrize("name", ["lf", "crlf", "bom-crlf"])
def test_ignore_action_writes_the_pragma_and_silences_the_finding(client, ws, name) -> None:
    path = ws / "cases" / name / "Dockerfile"
    uri, text, diags = open_doc(client, path)
    (d,) = [d for d in diags if d["code"] == "DF001"]
    (ign,) = [a for a in actions(client, uri, d["range"], [d]) if a["title"] == "Ignore DF001 for this instruction"]
    fixed = apply_workspace_edit(text, uri, ign["edit"])
    nl = "\r\n" if "\r\n" in text else "\n"
    assert f"# dfix: ignore[DF001]{nl}ARG NPM_TOKEN" in fixed
    client.change(uri, fixed, 2)
    assert [x["code"] for x in client.diagnostics(uri, 2)] == []
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


def test_ignore_action_extends_an_existing_pragma(client, ws) -> None:
    text = "FROM node:20\n# dfix: ignore[DF009]\nARG NPM_TOKEN\nRUN npm ci\n"
    uri = uri_of(ws / "cases" / "lf" / "Dockerfile.pragma")
    client.open(uri, text)
    diags = client.diagnostics(uri, 1)
    (d,) = diags
    (ign,) = [a for a in actions(client, uri, d["range"], diags) if a["title"].startswith("Ignore DF001 for")]
    assert "# dfix: ignore[DF009,DF001]\nARG NPM_TOKEN" in apply_workspace_edit(text, uri, ign["edit"])
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


def test_hover_is_the_explain_text_and_the_lens_the_build_command(client, ws) -> None:
    path = ws / "cases" / "lf" / "Dockerfile"
    uri, _, diags = open_doc(client, path)
    pos = diags[0]["range"]["start"]
    h = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": pos})["result"]
    assert h["contents"]["kind"] == "markdown"
    assert "**DF001**" in h["contents"]["value"] and "## Why is this bad?" in h["contents"]["value"]
    nothing = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}})
    assert nothing["result"] is None
    lens = client.request("textDocument/codeLens", {"textDocument": {"uri": uri}})["result"]
    assert lens[0]["command"]["title"].endswith("docker build --secret id=npm_token,env=NPM_TOKEN cases/lf")
    r = client.request("workspace/executeCommand", {"command": "dfix.showBuildCommand", "arguments": [uri]})["result"]
    assert r["command"] == "docker build --secret id=npm_token,env=NPM_TOKEN cases/lf"
    assert ': "${NPM_TOKEN:?NPM_TOKEN is not set}"' in r["recipe"]
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


# --- unsafe fixes ----------------------------------------------------------------------------

UNSAFE = "FROM node:20\nARG NPM_TOKEN=changeme-please-1234\nRUN npm ci\n"


def test_unsafe_fixes_only_when_enabled(client, ws) -> None:
    d = ws / "cases" / "unsafe"
    d.mkdir(exist_ok=True)
    (d / "Dockerfile").write_text(UNSAFE)
    (ws / "cli" / "unsafe").mkdir(exist_ok=True)
    (ws / "cli" / "unsafe" / "Dockerfile").write_text(UNSAFE)
    subprocess.run([sys.executable, "-m", "refactor", "-q", "--write", "--unsafe-fixes", "cli/unsafe"], cwd=ws, check=False)
    expected = (ws / "cli" / "unsafe" / "Dockerfile").read_text()
    assert expected != UNSAFE
    uri, text, diags = open_doc(client, d / "Dockerfile")
    df001 = next(x for x in diags if x["code"] == "DF001")
    off = actions(client, uri, WHOLE, diags)
    assert off and all(a["title"].startswith("Ignore ") for a in off)  # no fix, no fix-all
    try:
        client.notify("workspace/didChangeConfiguration", {"settings": {"dfix": {"unsafeFixes": True}}})
        client.diagnostics(uri)
        on = actions(client, uri, df001["range"], [df001])
        fix = [a for a in on if a["title"].endswith("(unsafe fix)")]
        assert fix and not fix[0].get("isPreferred")
        assert apply_workspace_edit(text, uri, fix[0]["edit"]) == expected
        (fa,) = actions(client, uri, WHOLE, [], only=["source.fixAll.dfix"])
        assert apply_workspace_edit(text, uri, fa["edit"]) == expected
    finally:
        client.notify("workspace/didChangeConfiguration", {"settings": {"dfix": {"unsafeFixes": None}}})
        client.diagnostics(uri)
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


def test_the_projects_config_enables_unsafe_fixes(client, ws) -> None:
    d = ws / "cases" / "unsafe-config"
    d.mkdir(exist_ok=True)
    (d / ".dfix.toml").write_text("unsafe-fixes = true\n")
    uri = uri_of(d / "Dockerfile")
    client.open(uri, UNSAFE)
    diags = client.diagnostics(uri, 1)
    acts = actions(client, uri, WHOLE, diags)
    assert any(a["title"].endswith("(unsafe fix)") for a in acts)
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


# --- bad input --------------------------------------------------------------------------------


def test_a_bad_config_is_one_diagnostic_and_the_server_lives_on(client, ws) -> None:
    d = ws / "cases" / "badconfig"
    d.mkdir(exist_ok=True)
    (d / ".dfix.toml").write_text("unsafe-fixse = true\n")
    uri = uri_of(d / "Dockerfile")
    client.open(uri, CASES["lf"])
    diags = client.diagnostics(uri, 1)
    assert len(diags) == 1 and diags[0]["code"] == "config"
    assert "did you mean 'unsafe-fixes'" in diags[0]["message"]
    msg = client.wait_notification("window/showMessage", lambda p: "config error" in p["message"])
    assert msg["type"] == 1
    # fixing the config and saving re-checks the open documents
    (d / ".dfix.toml").write_text("unsafe-fixes = false\n")
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri_of(d / ".dfix.toml")}})
    assert [x["code"] for x in client.diagnostics(uri, 1)] == ["DF001"]
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("FROM alpine\x00\x01\x02\nARG X\n", "not a text file"),
        ("FROM alpine:3\nRUN <<EOF\necho unterminated\n", None),
        ("FROM alpine:3\n# dfix: ignore\nARG NPM_TOKEN\n", "bad dfix comment"),
        ("FROM alpine:3\nARG A=\ud800\n", "not valid UTF-8"),
        ("\\\n\\\n" * 50 + "ARG\n", None),
        ("", None),
        ("ONBUILD ONBUILD ONBUILD\n" + "\t" * 5000 + "\u2028\r\r\n", None),
    ],
)
def test_malformed_documents_give_diagnostics_or_nothing(client, ws, text, expect) -> None:
    uri = uri_of(ws / "cases" / "Dockerfile.malformed")
    client.open(uri, text)
    diags = client.diagnostics(uri, 1)
    if expect:
        assert any(expect in d["message"] for d in diags), diags
    for d in diags:
        assert d["range"]["start"]["line"] >= 0
    actions(client, uri, WHOLE, diags)  # answered, not an error
    client.request("textDocument/codeLens", {"textDocument": {"uri": uri}})
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


def test_a_10mb_document_is_refused_cleanly(client, ws) -> None:
    uri = uri_of(ws / "cases" / "Dockerfile.huge")
    text = "FROM alpine:3\n" + ("RUN echo " + "x" * 90 + "\n") * (10 * 1024 * 1024 // 100 + 10)
    client.open(uri, text)
    diags = client.diagnostics(uri, 1, timeout=60)
    assert len(diags) == 1 and "larger than" in diags[0]["message"]
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


def test_protocol_garbage_does_not_kill_the_server(client, ws) -> None:
    client.send_raw(b"{not json")
    client.send({"method": "textDocument/didOpen", "params": {"textDocument": {"uri": 3}}})
    client.send(
        {
            "method": "textDocument/didChange",
            "params": {"textDocument": {"uri": "file:///nowhere/Dockerfile", "version": 2}, "contentChanges": []},
        }
    )
    r = client.request(
        "textDocument/codeAction", {"textDocument": {"uri": "file:///nowhere/Dockerfile"}, "range": WHOLE, "context": {"diagnostics": []}}
    )
    assert r.get("result") is None
    # params that do not deserialize: an InvalidParams answer, not silence
    r = client.request("textDocument/hover", {"textDocument": {"uri": "file:///x/Dockerfile"}, "position": {"line": "x"}})
    assert r["error"]["code"] == -32602
    r = client.request("dfix/noSuchMethod", {})
    assert "error" in r
    r = client.request("workspace/executeCommand", {"command": "dfix.showBuildCommand", "arguments": [42]})
    assert r.get("result") is None
    # still serving
    uri, _, diags = open_doc(client, ws / "cases" / "lf" / "Dockerfile")
    assert diags
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


def test_non_dockerfiles_are_left_alone(client, ws) -> None:
    uri = uri_of(ws / "cases" / "notes.md")
    client.open(uri, "ARG NPM_TOKEN\n", language_id="markdown")
    r = client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": WHOLE, "context": {"diagnostics": []}})
    assert r["result"] is None
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


def test_no_secret_value_in_any_message(client, ws) -> None:
    """A committed token as an ARG default and an ENV value: grep everything the server sent."""
    text = f"FROM node:20\nARG NPM_TOKEN={CANARY_ARG}\nENV GH_PAT={CANARY_ENV}\nLABEL x=1\nRUN npm ci\n"
    path = ws / "cases" / "canary" / "Dockerfile"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    uri = uri_of(path)
    client.open(uri, text)
    diags = client.diagnostics(uri, 1)
    assert {d["code"] for d in diags} >= {"DF001", "DF002", "DF003"}
    for d in diags:
        client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": d["range"]["start"]})
        actions(client, uri, d["range"], [d])
    try:
        client.notify("workspace/didChangeConfiguration", {"settings": {"dfix": {"unsafeFixes": True}}})
        client.diagnostics(uri)
        for d in diags:
            actions(client, uri, d["range"], [d])
        actions(client, uri, WHOLE, [], only=["source.fixAll"])
    finally:
        client.notify("workspace/didChangeConfiguration", {"settings": {"dfix": {"unsafeFixes": None}}})
        client.diagnostics(uri)
    client.request("textDocument/codeLens", {"textDocument": {"uri": uri}})
    client.request("workspace/executeCommand", {"command": "dfix.showBuildCommand", "arguments": [uri]})
    client.change(uri, text.replace("LABEL x=1", "LABEL x=2"), 2)
    client.diagnostics(uri, 2)
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)
    sent = client.all_received()
    for canary in (CANARY_ARG, CANARY_ENV):
        assert canary.encode() not in sent
        assert canary[4:20].encode() not in sent  # no fragment either
    assert b"<redacted" in sent  # the findings were there, masked


# --- lifecycle --------------------------------------------------------------------------------


def test_exit_without_shutdown_is_exit_code_1(ws) -> None:
    c = LspClient(cwd=str(ws))
    c.initialize(str(ws))
    c.notify("exit", None)
    try:
        assert c.proc.wait(timeout=10) == 1
    finally:
        c.close()


def test_dfix_server_is_a_subcommand() -> None:
    out = subprocess.run([sys.executable, "-m", "refactor", "server", "--help"], capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0 and "Language Server" in out.stdout


# --- in-process units -------------------------------------------------------------------------


def test_line_index_utf16_crlf_cr_bom_astral() -> None:
    text = "\ufeffa😀b\r\nc\rd\u2028e\n"
    ix = LineIndex(text)
    assert ix.bom == 1
    # engine offset 0 is "a" (after the BOM): one UTF-16 unit in
    assert ix.engine_position(0) == types.Position(line=0, character=1)
    assert ix.engine_position(2) == types.Position(line=0, character=4)  # after the surrogate pair
    assert ix.engine_position(5) == types.Position(line=1, character=0)  # "c"
    assert ix.engine_position(7) == types.Position(line=2, character=0)  # lone CR ends a line
    assert ix.engine_position(9) == types.Position(line=2, character=2)  # U+2028 is not a break
    assert ix.offset(types.Position(line=0, character=3)) == 3  # inside the pair: rounds up
    assert LineIndex(text, "utf-8").engine_position(2) == types.Position(line=0, character=3 + 1 + 4)
    assert LineIndex(text, "utf-32").engine_position(2) == types.Position(line=0, character=3)
    # a finding's (line, column) counts "\n" lines only, as the engine does
    assert ix.engine_offset_of(2, 1) == 5  # "c": the engine's line 2 starts after the first "\n"
    assert ix.engine_offset_of(2, 3) == 7  # "d": a lone "\r" does not end an engine line
    assert ix.engine_offset_of(3, 1) == 11


def test_a_fix_refused_by_the_rewrite_check_gets_no_action(monkeypatch) -> None:
    from refactor.fixes import check, gate
    from refactor.server import core

    def refuse(*_a, **_k):
        return check.CheckResult((check.Violation("parse", 1, "refused for the test"),), (), ())

    monkeypatch.setattr(gate, "check_rewrite", refuse)
    a = core.analyse("file:///x/Dockerfile", 1, CASES["lf"], None, core.EditorOptions())
    (f,) = a.result.findings
    assert f.fix.applicability == "display-only" and not f.fix.included
    acts = core.code_actions(a, types.Range(start=types.Position(line=0, character=0), end=types.Position(line=9, character=0)), None, True)
    assert [x.title for x in acts] == ["Ignore DF001 for this instruction", "Ignore DF001/DF002 and BuildKit's SecretsUsedInArgOrEnv in this file"]
    assert "rewrite check: refused for the test" in a.diagnostics[0].message


TWO_SAFE = "FROM node:20\nARG NPM_TOKEN\nARG GITHUB_TOKEN\nRUN npm ci\nRUN git clone https://$GITHUB_TOKEN@github.com/a/b\n"


def test_each_quick_fix_applies_on_its_own(client, ws) -> None:
    """Two safe fixes in one file: each quick fix alone removes its finding and leaves the other."""
    uri = uri_of(ws / "cases" / "two-safe" / "Dockerfile")
    client.open(uri, TWO_SAFE)
    diags = client.diagnostics(uri, 1)
    assert sorted(d["code"] for d in diags) == ["DF001", "DF001"]
    version = 1
    for d in diags:
        version += 1
        client.change(uri, TWO_SAFE, version)
        client.diagnostics(uri, version)
        (fix,) = [a for a in actions(client, uri, d["range"], [d]) if a["title"].startswith("Mount ")]
        variable = fix["title"].split()[1]
        fixed = apply_workspace_edit(TWO_SAFE, uri, fix["edit"])
        assert f"ARG {variable}\n" not in fixed and f"env={variable}" in fixed
        version += 1
        client.change(uri, fixed, version)
        left = client.diagnostics(uri, version)
        assert len(left) == 1 and variable not in left[0]["message"]
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


BK_CASES = [
    ("FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n", "# check=skip=SecretsUsedInArgOrEnv\nFROM node:20\nARG NPM_TOKEN\nRUN npm ci\n"),
    (
        "# syntax=docker/dockerfile:1\r\n# check=error=true\r\nFROM node:20\r\nARG NPM_TOKEN\r\nRUN npm ci\r\n",
        "# syntax=docker/dockerfile:1\r\n# check=skip=SecretsUsedInArgOrEnv;error=true\r\nFROM node:20\r\nARG NPM_TOKEN\r\nRUN npm ci\r\n",
    ),
    (
        "# check=skip=JSONArgsRecommended\nFROM node:20\nARG NPM_TOKEN\nRUN npm ci\n",
        "# check=skip=JSONArgsRecommended,SecretsUsedInArgOrEnv\nFROM node:20\nARG NPM_TOKEN\nRUN npm ci\n",
    ),
    ("# check=skip=SecretsUsedInArgOrEnv\nFROM node:20\nARG NPM_TOKEN\nRUN npm ci\n", None),
]


@pytest.mark.parametrize(("text", "expected"), BK_CASES)
def test_buildkit_check_skip_edit(text, expected) -> None:
    from refactor.fixes.edit import apply_edits
    from refactor.server import core

    a = core.analyse("file:///x/Dockerfile", 1, text, None, core.EditorOptions())
    e = core.buildkit_skip_edit(a)
    assert (apply_edits(text, [e]) if e is not None else None) == expected


def test_the_buildkit_action_is_offered_only_when_the_engine_honours_it() -> None:
    """``# check=skip=SecretsUsedInArgOrEnv`` must silence DF001/DF002 in the engine before the
    editor may write it as a dfix suppression; the engine reads it (tests/test_buildkit_skip.py)."""
    from refactor.server import core

    a = core.analyse("file:///x/Dockerfile", 1, BK_CASES[0][0], None, core.EditorOptions())
    everything = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=9, character=0))
    titles = [x.title for x in core.code_actions(a, everything, None, True)]
    offered = any("SecretsUsedInArgOrEnv" in t for t in titles)
    assert core.engine_reads_buildkit_skip()
    assert offered


def test_clients_without_document_changes_get_a_changes_map_and_clean_files_no_lens() -> None:
    from refactor.server import core

    a = core.analyse("file:///x/Dockerfile", 3, CASES["crlf"], None, core.EditorOptions())
    everything = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=9, character=0))
    (fa,) = core.code_actions(a, everything, [core.FIX_ALL_KIND], False)
    assert fa.edit is not None and fa.edit.document_changes is None and list(fa.edit.changes or {}) == ["file:///x/Dockerfile"]
    assert core.code_lenses(a)
    clean = core.analyse("file:///x/Dockerfile", 1, "FROM alpine:3.20\nRUN echo hi\n", None, core.EditorOptions())
    assert clean.diagnostics == [] and core.code_lenses(clean) == [] and core.code_actions(clean, everything, None, True) == []

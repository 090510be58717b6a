"""``dfix server`` on callers, settings pulled with ``workspace/configuration``, and rule links.

Driven as an editor drives it (tests/test_server_client.py): a build script that passes a secret as
``--build-arg`` gets DF011 on the line that passes it, from the text in the editor (unsaved), and
the Dockerfile it builds is read from its open buffer, else from disk; a caller dfix cannot read
gives nothing. The caller findings equal the CLI's (``dfix --format json DOCKERFILE…``) on every
``golden/callers-*`` case. Settings the client holds are pulled on ``initialized`` and on every
``workspace/didChangeConfiguration``. No secret value appears in anything the server sends.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")

from lsprotocol import types

from refactor.server import core
from tests.test_server_client import LspClient, apply_workspace_edit

CANARY = "npm_" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8"
CANARY_GH = "ghp_" + "M1n2B3v4C5x6Z7l8K9j0H1g2F3d4S5a6P7o8"
DOCKERFILE = "FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n"
SCRIPT = "#!/bin/sh\nset -e\n# build the app image\ndocker build --build-arg NPM_TOKEN=$NPM_TOKEN -t app app\n"
MIGRATED = SCRIPT.replace("--build-arg NPM_TOKEN=$NPM_TOKEN", "--secret id=npm_token,env=NPM_TOKEN")
UNSAFE = "FROM node:20\nARG NPM_TOKEN=changeme-please-1234\nRUN npm ci\n"
WHOLE = {"start": {"line": 0, "character": 0}, "end": {"line": 10_000, "character": 0}}
CAPS = {
    "workspace": {
        "workspaceEdit": {"documentChanges": True},
        "configuration": True,
        "didChangeConfiguration": {"dynamicRegistration": True},
    },
    "textDocument": {"publishDiagnostics": {"versionSupport": True}},
}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("lspcallers")
    (root / ".git").mkdir()  # the repository root: config discovery and caller resolution stop here
    (root / "app").mkdir()
    (root / "app" / "Dockerfile").write_text(DOCKERFILE)
    (root / "build.sh").write_text(SCRIPT)
    (root / "unsafe").mkdir()
    (root / "unsafe" / "Dockerfile").write_text(UNSAFE)
    return root


@pytest.fixture(scope="module")
def client(ws):
    c = LspClient(cwd=str(ws))
    c.init_result = c.initialize(str(ws), capabilities=CAPS)  # type: ignore[attr-defined]
    yield c
    assert c.shutdown() == 0
    assert b"Traceback" not in b"".join(c.stderr_chunks)


def close(client: LspClient, uri: str) -> None:
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.diagnostics(uri)


def code_actions(client: LspClient, uri: str, rng: dict, diags: list) -> list[dict]:
    r = client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": rng, "context": {"diagnostics": diags}})
    assert "error" not in r, r
    return r["result"] or []


def set_config(client: LspClient, config: dict) -> None:
    """What an editor does when its settings change: keep them, say so, answer the pull."""
    before = len(client.server_requests)
    client.config = config
    client.notify("workspace/didChangeConfiguration", {"settings": None})
    req = client.wait_server_request("workspace/configuration", after=before)
    assert req["params"]["items"][0]["section"] == "dfix"


# --- callers ----------------------------------------------------------------------------------


def test_a_caller_gets_df011_where_it_passes_the_secret_and_it_clears_on_change(client, ws) -> None:
    uri = (ws / "build.sh").as_uri()
    client.open(uri, SCRIPT, 1, language_id="shellscript")
    diags = client.diagnostics(uri, 1)
    assert [d["code"] for d in diags] == ["DF011"]
    (d,) = diags
    assert d["range"]["start"] == {"line": 3, "character": SCRIPT.splitlines()[3].index("--build-arg")}
    assert d["range"]["end"]["line"] == 3
    assert d["severity"] == 1 and d["source"] == "dfix"
    assert "passes secret NPM_TOKEN to `app/Dockerfile` as a build arg" in d["message"]
    assert "codeDescription" not in d  # no rule docs URL configured
    # the hover is the rule's --explain text; no build-command lens on a caller
    hov = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": d["range"]["start"]})["result"]
    assert "DF011" in hov["contents"]["value"]
    assert client.request("textDocument/codeLens", {"textDocument": {"uri": uri}})["result"] is None
    # the buffer, not the disk: the migrated command clears the finding (nothing saved)
    client.change(uri, MIGRATED, 2)
    assert client.diagnostics(uri, 2) == []
    assert (ws / "build.sh").read_text() == SCRIPT
    client.change(uri, SCRIPT, 3)
    assert [x["code"] for x in client.diagnostics(uri, 3)] == ["DF011"]
    close(client, uri)


def test_the_ignore_action_writes_the_pragma_in_the_callers_syntax(client, ws) -> None:
    uri = (ws / "build.sh").as_uri()
    client.open(uri, SCRIPT, 1, language_id="shellscript")
    (d,) = client.diagnostics(uri, 1)
    acts = code_actions(client, uri, d["range"], [d])
    assert [a["title"] for a in acts] == ["Ignore DF011 for this command"]  # no caller migration alone
    fixed = apply_workspace_edit(SCRIPT, uri, acts[0]["edit"])
    assert fixed == SCRIPT.replace("docker build", "# dfix: ignore[DF011]\ndocker build")
    client.change(uri, fixed, 2)
    assert client.diagnostics(uri, 2) == []
    # no fix-all on a caller: its migration goes with its Dockerfile's fix (dfix --write)
    r = client.request(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": WHOLE, "context": {"diagnostics": [], "only": ["source.fixAll"]}},
    )
    assert r["result"] is None
    close(client, uri)


def test_the_dockerfile_is_read_from_its_open_buffer(client, ws) -> None:
    s_uri = (ws / "build.sh").as_uri()
    d_uri = (ws / "app" / "Dockerfile").as_uri()
    client.open(s_uri, SCRIPT, 1, language_id="shellscript")
    assert [x["code"] for x in client.diagnostics(s_uri, 1)] == ["DF011"]
    client.drain()
    # the Dockerfile, edited in the editor (unsaved): it declares no NPM_TOKEN any more
    client.open(d_uri, "FROM node:20\nRUN npm ci\n", 1)
    client.diagnostics(d_uri, 1)
    assert client.diagnostics(s_uri, 1) == []  # the caller is published again, from that buffer
    close(client, d_uri)  # closed without saving: the disk again
    assert [x["code"] for x in client.diagnostics(s_uri, 1)] == ["DF011"]
    close(client, s_uri)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("nul.sh", "#!/bin/sh\ndocker build --build-arg NPM_TOKEN=$NPM_TOKEN app\n\x00\x01\x02"),
        ("huge.sh", SCRIPT + ("echo " + "x" * 95 + "\n") * 30_000),  # 3 MB: over discovery's 2 MiB
        ("latin1.sh", SCRIPT + "# caf\udce9\n"),  # a non-UTF-8 byte, as a client may pass it through
        ("surrogate.sh", SCRIPT + "# \ud800\n"),
        ("nobuild.sh", "#!/bin/sh\necho hello\n"),
        ("missing.sh", "#!/bin/sh\ndocker build --build-arg NPM_TOKEN=$NPM_TOKEN -f nowhere/Dockerfile .\n"),
        ("x.gitlab-ci.yml", "{[: !!binary\n  - ] \t\x7f"),
        ("docker-compose.yml", "services:\n  app:\n    build:\n      args: [[[\n"),
        ("noext", "#!/usr/bin/env python3\nprint('docker build --build-arg NPM_TOKEN=x .')\n"),
    ],
)
def test_a_caller_dfix_cannot_read_gives_nothing(client, ws, name, text) -> None:
    uri = (ws / name).as_uri()
    client.open(uri, text, 1, language_id="shellscript")
    assert client.diagnostics(uri, 1, timeout=60) == []
    assert code_actions(client, uri, WHOLE, []) == []
    close(client, uri)
    assert not any(b"window/showMessage" in m for m in client.received_raw)


def test_no_secret_value_in_anything_sent_about_a_caller(client, ws) -> None:
    text = f'#!/bin/bash\nexport NPM_TOKEN={CANARY}\ndocker build --build-arg NPM_TOKEN=$NPM_TOKEN --build-arg GH_TOKEN="{CANARY_GH}" app\n'
    uri = (ws / "leaky.sh").as_uri()
    client.open(uri, text, 1, language_id="shellscript")
    diags = client.diagnostics(uri, 1)
    assert {d["code"] for d in diags} >= {"DF011", "DF012"}
    assert any("rotate it" in d["message"] for d in diags)
    for d in diags:
        client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": d["range"]["start"]})
        code_actions(client, uri, d["range"], [d])
    close(client, uri)
    sent = client.all_received()
    for canary in (CANARY, CANARY_GH):
        assert canary.encode() not in sent
        assert canary[4:20].encode() not in sent


# --- workspace/configuration ------------------------------------------------------------------


def test_settings_are_pulled_on_initialized_with_a_change_registration(client, ws) -> None:
    req = client.wait_server_request("workspace/configuration")
    assert req["params"]["items"] == [{"section": "dfix", "scopeUri": Path(ws).resolve().as_uri()}]
    reg = client.wait_server_request("client/registerCapability")
    assert reg["params"]["registrations"][0]["method"] == "workspace/didChangeConfiguration"


def test_a_configuration_round_trip_turns_unsafe_fixes_on_and_off(client, ws) -> None:
    uri = (ws / "unsafe" / "Dockerfile").as_uri()
    client.open(uri, UNSAFE, 1)
    diags = client.diagnostics(uri, 1)
    assert not any(a["title"].endswith("(unsafe fix)") for a in code_actions(client, uri, WHOLE, diags))
    try:
        set_config(client, {"dfix": {"unsafeFixes": True}})
        diags = client.diagnostics(uri, 1)  # published again with the new settings
        assert any(a["title"].endswith("(unsafe fix)") for a in code_actions(client, uri, WHOLE, diags))
    finally:
        set_config(client, {"dfix": {}})  # the key removed: back to the initialization options
        diags = client.diagnostics(uri, 1)
    assert not any(a["title"].endswith("(unsafe fix)") for a in code_actions(client, uri, WHOLE, diags))
    close(client, uri)


def test_rule_docs_url_sets_code_description(client, ws) -> None:
    uri = (ws / "build.sh").as_uri()
    client.open(uri, SCRIPT, 1, language_id="shellscript")
    client.diagnostics(uri, 1)
    try:
        set_config(client, {"dfix": {"ruleDocsUrl": "https://example.com/dfix/{code}#{name}"}})
        (d,) = client.diagnostics(uri, 1)
        assert d["codeDescription"] == {"href": "https://example.com/dfix/DF011#secret-build-arg-caller"}
    finally:
        set_config(client, {"dfix": {}})
        (d,) = client.diagnostics(uri, 1)
    assert "codeDescription" not in d
    close(client, uri)


def test_initialization_options_are_the_base_of_pulled_settings(ws) -> None:
    """A client that holds `dfix` settings from the start: applied after `initialized` (a document
    opened before the answer is published again); no section at all keeps the init options."""
    c = LspClient(cwd=str(ws))
    c.config = {"dfix": {"unsafeFixes": True}}
    try:
        c.initialize(str(ws), options={"ruleDocsUrl": "https://example.com/{code}"}, capabilities=CAPS)
        c.wait_server_request("workspace/configuration")
        uri = (ws / "unsafe" / "Dockerfile").as_uri()
        c.open(uri, UNSAFE, 1)
        diags = c.diagnostics(uri, 1)
        assert all(d["codeDescription"]["href"] == f"https://example.com/{d['code']}" for d in diags)
        assert any(a["title"].endswith("(unsafe fix)") for a in code_actions(c, uri, WHOLE, diags))
    finally:
        assert c.shutdown() == 0


def test_a_client_without_the_capability_is_never_asked(ws) -> None:
    c = LspClient(cwd=str(ws))
    try:
        c.initialize(str(ws), capabilities={"workspace": {"workspaceEdit": {"documentChanges": True}}})
        uri = (ws / "unsafe" / "Dockerfile").as_uri()
        c.open(uri, UNSAFE, 1)
        c.diagnostics(uri, 1)
        c.notify("workspace/didChangeConfiguration", {"settings": {"dfix": {"unsafeFixes": True}}})  # the push model
        diags = c.diagnostics(uri, 1)
        assert any(a["title"].endswith("(unsafe fix)") for a in code_actions(c, uri, WHOLE, diags))
        assert not [m for m in c.server_requests if m["method"] in ("workspace/configuration", "client/registerCapability")]
    finally:
        assert c.shutdown() == 0


# --- in-process: the CLI's caller findings, options, the pragma per kind -------------------------

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
CALLER_CASES = sorted(p.name for p in GOLDEN.glob("callers-*") if (p / "case.toml").is_file())


@pytest.mark.parametrize("case", CALLER_CASES)
def test_caller_findings_are_the_clis(case, tmp_path, monkeypatch) -> None:
    """Every caller of the case: the editor's findings (from the caller's text, nothing else
    walked) equal those of `dfix --format json` on the case's Dockerfiles, safe and unsafe."""
    from refactor.discovery import discover

    root = tmp_path / case
    shutil.copytree(GOLDEN / case, root, ignore=shutil.ignore_patterns("expected", "case.toml", "NOTES.md"))
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    core.forget_callers()
    dockerfiles = [c.path for c in discover(["."])]
    callers = [p for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts and core.caller_kind_of(str(p))]
    assert callers
    for unsafe in (False, True):
        argv = [sys.executable, "-m", "refactor", "--format", "json", *(["--unsafe-fixes"] if unsafe else []), *dockerfiles]
        out = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=root)
        files = json.loads(out.stdout)["files"]
        cli = {
            f["path"]: [(x["code"], x["line"], x["column"], x["message"]) for x in f["findings"]] for f in files if f["kind"] == "caller"
        }
        for p in callers:
            text = p.read_text(encoding="utf-8")
            kind = core.caller_kind_of(str(p))
            assert kind is not None
            a = core.analyse_caller(p.as_uri(), 1, text, str(p), kind, core.EditorOptions(unsafe_fixes=unsafe))
            mine = [(f.code, f.line, f.column, f.message) for f in (a.result.findings if a.result else [])]
            assert mine == cli.get(os.path.relpath(p), []), (p.name, unsafe)


def _pos(p: types.Position) -> dict:
    return {"line": p.line, "character": p.character}


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "Makefile",
            "image:\n\tdocker build \\\n\t  --build-arg NPM_TOKEN=$(NPM_TOKEN) app\n",
            "image:\n# dfix: ignore[DF011]\n\tdocker build \\\n\t  --build-arg NPM_TOKEN=$(NPM_TOKEN) app\n",
        ),
        (
            "build.sh",
            "#!/bin/sh\r\n  # dfix: ignore[DF012]\r\n  docker build --build-arg NPM_TOKEN=$NPM_TOKEN app\r\n",
            "#!/bin/sh\r\n  # dfix: ignore[DF012,DF011]\r\n  docker build --build-arg NPM_TOKEN=$NPM_TOKEN app\r\n",
        ),
        (
            "build.py",
            "#!/usr/bin/env python3\nimport subprocess\nsubprocess.run(['docker', 'build', '--build-arg', 'NPM_TOKEN', 'app'], check=True)\n",
            "#!/usr/bin/env python3\n# dfix: file-ignore[DF011]\nimport subprocess\n"
            "subprocess.run(['docker', 'build', '--build-arg', 'NPM_TOKEN', 'app'], check=True)\n",
        ),
    ],
)
def test_the_ignore_pragma_per_caller_kind(tmp_path, monkeypatch, name, text, expected) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(DOCKERFILE)
    p = tmp_path / name
    p.write_text(text)
    monkeypatch.chdir(tmp_path)
    kind = core.caller_kind_of(str(p))
    assert kind is not None
    a = core.analyse_caller(p.as_uri(), 1, text, str(p), kind, core.EditorOptions())
    assert [d.code for d in a.diagnostics] == ["DF011"]
    rng = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=100, character=0))
    (act,) = core.code_actions(a, rng, None, False)
    assert act.edit is not None and act.edit.changes is not None
    edits = [{"range": {"start": _pos(e.range.start), "end": _pos(e.range.end)}, "newText": e.new_text} for e in act.edit.changes[a.uri]]
    fixed = apply_workspace_edit(text, a.uri, {"changes": {a.uri: edits}})
    assert fixed == expected
    again = core.analyse_caller(p.as_uri(), 2, fixed, str(p), kind, core.EditorOptions())
    assert again.diagnostics == []


def test_bake_json_has_no_comment_so_no_ignore_action(tmp_path, monkeypatch) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    text = '{"target": {"app": {"context": ".", "args": {"NPM_TOKEN": "${NPM_TOKEN}"}}}}\n'
    p = tmp_path / "docker-bake.json"
    p.write_text(text)
    monkeypatch.chdir(tmp_path)
    a = core.analyse_caller(p.as_uri(), 1, text, str(p), "bake-json", core.EditorOptions())
    assert [d.code for d in a.diagnostics] == ["DF011"]
    rng = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=100, character=0))
    assert core.code_actions(a, rng, None, False) == []


def test_a_gitignored_or_excluded_caller_is_no_caller(tmp_path, monkeypatch) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / ".gitignore").write_text("scratch/\n")
    (tmp_path / ".dfix.toml").write_text('exclude = ["ci/*"]\n')
    monkeypatch.chdir(tmp_path)
    text = "#!/bin/sh\ndocker build --build-arg NPM_TOKEN=$NPM_TOKEN ..\n"
    for sub in ("scratch", "ci", "tools"):
        (tmp_path / sub).mkdir()
        p = tmp_path / sub / "b.sh"
        p.write_text(text)
        a = core.analyse_caller(p.as_uri(), 1, text, str(p), "shell", core.EditorOptions())
        assert [d.code for d in a.diagnostics] == ([] if sub != "tools" else ["DF011"]), sub


def test_rule_docs_url_option_is_validated() -> None:
    parse = core.EditorOptions.parse
    assert parse({"ruleDocsUrl": "https://x.example/{code}"}).rule_docs_url == "https://x.example/{code}"
    for bad in ("javascript:alert(1)", "https://x y", 42, ["https://x"], "ftp://x/{code}"):
        assert parse({"ruleDocsUrl": bad}).rule_docs_url is None
    on = parse({"ruleDocsUrl": "https://x.example/{code}"})
    assert parse({"ruleDocsUrl": None}, on).rule_docs_url is None
    assert parse({"dfix": {"unsafeFixes": True}}, on).rule_docs_url == "https://x.example/{code}"
    assert core.rule_docs_href("https://x/{code}/{name}", "DF001") == "https://x/DF001/secret-build-arg"
    assert core.rule_docs_href("https://x/{code}", "config") is None


def test_a_malformed_pragma_in_a_caller_is_one_df900(tmp_path, monkeypatch) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    monkeypatch.chdir(tmp_path)
    text = "#!/bin/sh\n# dfix: ignore\ndocker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n"
    p = tmp_path / "b.sh"
    p.write_text(text)
    a = core.analyse_caller(p.as_uri(), 1, text, str(p), "shell", core.EditorOptions())
    assert [(d.code, d.range.start.line) for d in a.diagnostics] == [("DF900", 1)]
    assert "bad dfix comment" in a.diagnostics[0].message

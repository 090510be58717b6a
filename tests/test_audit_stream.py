"""Streamed audit reports (``refactor.audit.render``): json, sarif and text are byte-identical to the
pre-streaming renderer (kept below verbatim as ``v0_*``, from refactor/audit/render.py at 80d299d)
for the same input order; markdown has the same blocks with the per-credential summary moved to the
end. Reports are written as results arrive, and the writer keeps no result it has written."""

from __future__ import annotations

import copy
import gc
import json
import secrets
import weakref
from collections import defaultdict

import pytest

from refactor.audit import render, runner
from refactor.audit.cli import run_audit
from refactor.audit.model import Finding, Hit, ImageResult, aggregate

CANARY = "dfixcanary" + secrets.token_hex(16)
CANARY2 = "ghp_" + secrets.token_hex(18)
CANARY3 = "dfixcanary" + secrets.token_hex(12)


def _clean(*texts: str) -> None:
    for t in texts:
        for c in (CANARY, CANARY2, CANARY3):
            assert c not in t and c[10:30] not in t


# -- the reference: the renderer before streaming, verbatim (names prefixed v0_) -------------------


def v0_merge(results: list[ImageResult]) -> list[ImageResult]:
    """One result per (repository, image digest): several tags may point at one manifest."""
    out: dict[tuple[str, str], ImageResult] = {}
    rest: list[ImageResult] = []
    for r in results:
        if r.error or not r.digest:
            rest.append(r)
            continue
        have = out.get((r.repository, r.digest))
        if have is None:
            out[(r.repository, r.digest)] = r
            continue
        for n in r.names:
            if n not in have.names:
                have.names.append(n)
        for f in have.findings:
            f.names = list(have.names)
    return list(out.values()) + rest


def v0_summary(results: list[ImageResult]) -> list[dict]:
    images: dict[str, set[str]] = defaultdict(set)
    repos: dict[str, set[str]] = defaultdict(set)
    fps: dict[str, set[str]] = defaultdict(set)
    for r in results:
        for f in r.findings:
            images[f.credential].add(f.digest)
            repos[f.credential].add(f.repository)
            fps[f.credential].add(f.fingerprint)
    rows = []
    for cred in sorted(images, key=lambda c: (-len(images[c]), c)):
        rows.append({"credential": cred, "images": len(images[cred]), "repositories": len(repos[cred]), "fingerprints": sorted(fps[cred])})
    return rows


def v0_summary_line(row: dict) -> str:
    n, m = row["images"], row["repositories"]
    fp = ", ".join("#" + x for x in row["fingerprints"])
    return f"{row['credential']} ({fp}): seen in {n} image{'s' if n != 1 else ''} of {m} repositor{'ies' if m != 1 else 'y'} — rotate"


def v0_text_image(r: ImageResult) -> str:
    if r.error:
        return f"error: {r.error}\n"
    if not r.findings:
        return ""
    names = ", ".join(r.names[:4]) + (f" (+{len(r.names) - 4})" if len(r.names) > 4 else "")
    lines = [f"{names}  {r.digest}"]
    for f in r.findings:
        lines.append(f"  {f.credential} #{f.fingerprint} {f.description}")
        for loc in f.locations:
            lines.append(f"    seen in {loc}")
        for fx in f.fix:
            lines.append(f"    fix in {fx}")
    return "\n".join(lines) + "\n"


def v0_text_summary(results: list[ImageResult]) -> str:
    rows = v0_summary(results)
    n_img = len([r for r in results if not r.error])
    n_err = len([r for r in results if r.error])
    out = []
    if rows:
        out.append("")
        out += [v0_summary_line(r) for r in rows]
    leaking = len([r for r in results if r.findings])
    out.append(
        f"audited {n_img} image{'s' if n_img != 1 else ''}: {leaking} leak{'s' if leaking == 1 else ''} credentials"
        + (f", {n_err} error{'s' if n_err != 1 else ''}" if n_err else "")
    )
    return "\n".join(out) + "\n"


def v0_to_json(results: list[ImageResult]) -> str:
    doc = {
        "schema_version": 1,
        "images": [
            {
                "target": r.target,
                "image": r.image,
                "names": r.names,
                "repository": r.repository,
                "digest": r.digest,
                "status": "error" if r.error else "ok",
                "error": r.error,
                "notes": r.notes,
                "findings": [f.to_json() for f in r.findings],
            }
            for r in results
        ],
        "credentials": v0_summary(results),
        "summary": {
            "images": len([r for r in results if not r.error]),
            "leaking": len([r for r in results if r.findings]),
            "findings": sum(len(r.findings) for r in results),
            "errors": len([r for r in results if r.error]),
        },
    }
    return json.dumps(doc, indent=2) + "\n"


def v0_rule_id(f: Finding) -> str:
    return "AUDIT001"


def v0_to_sarif(results: list[ImageResult]) -> str:
    from refactor import __version__ as version

    sarif_results = []
    for r in results:
        for f in r.findings:
            msg = (
                f"{f.credential} ({f.description}, fingerprint {f.fingerprint}) leaks in image {r.image} ({r.digest}): "
                + "; ".join(f.locations[:10])
                + ". Rotate it, and rebuild with a BuildKit secret mount (dfix --write)."
            )
            locs: list[dict] = []
            for fx in f.fix:
                path, _, rest = fx.partition(":")
                line = rest.split(" ", 1)[0]
                if line.isdigit():
                    locs.append({"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": int(line)}}})
            if not locs:
                locs = [{"logicalLocations": [{"name": r.image, "fullyQualifiedName": f"{r.repository}@{r.digest}", "kind": "image"}]}]
            sarif_results.append(
                {
                    "ruleId": v0_rule_id(f),
                    "level": "error",
                    "message": {"text": msg},
                    "locations": locs[:1],
                    "relatedLocations": [{"id": i, "message": {"text": loc}} for i, loc in enumerate(f.locations[:20])],
                    "partialFingerprints": {"dfixAudit/v1": f"{r.digest}:{f.credential}:{f.fingerprint}"},
                }
            )
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dfix audit",
                        "version": version,
                        "informationUri": "https://github.com/",
                        "rules": [
                            {
                                "id": "AUDIT001",
                                "name": "leaked-credential-in-image",
                                "shortDescription": {"text": "A built image holds a credential (history, config or layer file)"},
                                "fullDescription": {
                                    "text": "The image's history, config (Env, Labels, OnBuild) or a layer file holds a credential. "
                                    "Anyone who can pull the image can read it: rotate it, then rebuild with secret mounts."
                                },
                                "defaultConfiguration": {"level": "error"},
                                "properties": {"tags": ["security"], "security-severity": "9.0"},
                            }
                        ],
                    }
                },
                "results": sarif_results,
                "invocations": [
                    {
                        "executionSuccessful": not any(r.error for r in results),
                        "toolExecutionNotifications": [{"level": "error", "message": {"text": r.error}} for r in results if r.error],
                    }
                ],
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def v0_md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def v0_to_markdown(results: list[ImageResult]) -> str:
    out = ["## dfix audit", ""]
    rows = v0_summary(results)
    if rows:
        out += ["| credential | fingerprints | images | repositories |", "|---|---|---:|---:|"]
        for row in rows:
            fps = ", ".join("`" + x + "`" for x in row["fingerprints"])
            out.append(f"| `{v0_md(row['credential'])}` | {fps} | {row['images']} | {row['repositories']} |")
        out += ["", "Rotate every credential above: anyone who can pull these images can read it.", ""]
    else:
        out += ["No credential found.", ""]
    for r in results:
        if r.findings:
            out.append(f"<details><summary><code>{v0_md(r.image)}</code> {len(r.findings)} credential(s)</summary>")
            out.append("")
            out += ["| credential | value | seen in | fix in |", "|---|---|---|---|"]
            for f in r.findings:
                out.append(
                    f"| `{v0_md(f.credential)}` #{f.fingerprint} | {v0_md(f.description)} | {'<br>'.join(v0_md(x) for x in f.locations)} | {'<br>'.join(v0_md(x) for x in f.fix)} |"
                )
            out += ["", "</details>", ""]
    errs = [r for r in results if r.error]
    if errs:
        out += ["**Errors**", ""] + [f"- {v0_md(r.error or '')}" for r in errs] + [""]
    return "\n".join(out)


def v0_text(results: list[ImageResult]) -> str:
    """``dfix audit -o FILE`` (text) before streaming."""
    merged = v0_merge(results)
    return "".join(v0_text_image(r) for r in merged if not r.error) + v0_text_summary(merged)


V0 = {
    "json": lambda rs: v0_to_json(v0_merge(rs)),
    "sarif": lambda rs: v0_to_sarif(v0_merge(rs)),
    "markdown": lambda rs: v0_to_markdown(v0_merge(rs)),
    "text": v0_text,
}


# -- a synthetic multi-target input -----------------------------------------------------------------


def _res(repo: str, n: int, names: list[str], hits=(), error=None, notes=(), fix=None, digest=None) -> ImageResult:
    digest = digest if digest is not None else ("" if error else f"sha256:{n:064x}")
    r = ImageResult(target=names[0], image=names[0], digest=digest, repository=repo, names=list(names), error=error, notes=list(notes))
    if hits:
        r.findings = aggregate(list(hits), target=names[0], image=names[0], digest=digest, repository=repo, names=names)
        for f in r.findings:
            f.fix = list(fix or [])
    return r


def _npm(i: int) -> list[Hit]:
    return [
        Hit("NPM_TOKEN", CANARY, f"history step {i}/3 (RUN build arg)", run_command="npm ci"),
        Hit("NPM_TOKEN", CANARY, "history step 1/3 (ARG)"),
    ]


def _inputs() -> list[ImageResult]:
    """Three repositories, interleaved errors, clean images, one value in many images, two values
    under one name, a digest in two repositories, notes, fix links, ``|`` in a location, > 4 names."""
    gh = [Hit("GH_TOKEN", CANARY2, "Env"), Hit("GitHub token", CANARY2, "layer sha256:ab12cd34ef56 /app/a|b.txt", named=False)]
    out = [
        _res("reg/team/app", 1, ["reg/team/app:1"], _npm(2), fix=["svc/Dockerfile:3 (RUN)", "svc/Dockerfile:2 (ARG NPM_TOKEN)"]),
        _res("reg/team/app", 2, ["reg/team/app:2"]),
        _res("", 0, ["reg/e/down:1"], error="reg/e/down:1: HTTP 500 after 4 retries"),
        _res("reg/team/app", 3, ["reg/team/app:3", "reg/team/app:latest"], _npm(3) + gh),
        _res("reg/team/api", 4, [f"reg/team/api:v{i}" for i in range(6)], gh, notes=["file /big read up to 1 MiB"]),
        _res("reg/team/api", 5, ["reg/team/api:old"], [Hit("NPM_TOKEN", CANARY3, "Env")]),
        _res("reg/other/web", 1, ["reg/other/web:1"], _npm(2)),  # the same digest as reg/team/app:1, another repository
        _res("", 0, ["./cut.tar"], error="./cut.tar: truncated tarball | unexpected end"),
        _res("reg/other/web", 6, ["reg/other/web:2"], [Hit("SECRET_KEY", CANARY3 + "x", "Label deploy.key")]),
        _res("reg/other/web", 7, ["reg/other/web:3"]),
    ]
    return out


def _v0_markdown_summary_last(results: list[ImageResult]) -> str:
    """v0 markdown with its summary block (first after the title) moved after the per-image blocks.
    v0 joined lines with "\n", every block ending with an empty line: work on lines."""
    doc = V0["markdown"](results) + "\n"
    head = "## dfix audit\n\n"
    assert doc.startswith(head)
    rest = doc[len(head) :]
    end = next(e for e in ("read it.\n\n", "No credential found.\n\n") if e in rest)
    i = rest.index(end) + len(end)
    summary_block, rest = rest[:i], rest[i:]
    j = rest.find("**Errors**\n")
    images, errors = (rest, "") if j < 0 else (rest[:j], rest[j:])
    return (head + images + summary_block + errors)[:-1]


# -- byte identity -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "sarif", "text"])
def test_streamed_report_is_byte_identical_to_v0(fmt):
    rs = _inputs()
    new = render.render(fmt, copy.deepcopy(rs))
    assert new == V0[fmt](copy.deepcopy(rs))
    _clean(new)


def test_streamed_markdown_has_v0_blocks_with_the_summary_last():
    rs = _inputs()
    new = render.render("markdown", copy.deepcopy(rs))
    assert new == _v0_markdown_summary_last(copy.deepcopy(rs))
    assert new.index("<details>") < new.index("| credential | fingerprints |") < new.index("**Errors**")
    _clean(new)


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "text"])
@pytest.mark.parametrize("case", ["empty", "errors only", "clean only", "one"])
def test_edge_inputs_match_v0(fmt, case):
    rs = {
        "empty": [],
        "errors only": [_res("", 0, ["a"], error="a: not found"), _res("", 0, ["b"], error="b: HTTP 401 unauthorized")],
        "clean only": [_res("r", 1, ["r:1"]), _res("r", 2, ["r:2"])],
        "one": [_res("r", 1, ["r:1"], _npm(2))],
    }[case]
    want = _v0_markdown_summary_last(rs) if fmt == "markdown" else V0[fmt](copy.deepcopy(rs))
    got = render.render(fmt, copy.deepcopy(rs))
    assert got == want
    if fmt in ("json", "sarif"):
        json.loads(got)


def test_error_results_give_valid_documents():
    rs = _inputs()
    doc = json.loads(render.render("json", rs))
    errs = [i for i in doc["images"] if i["status"] == "error"]
    assert [e["error"] for e in errs] == ["reg/e/down:1: HTTP 500 after 4 retries", "./cut.tar: truncated tarball | unexpected end"]
    assert doc["images"][-2:] == errs and doc["summary"]["errors"] == 2  # after the others, as before
    sarif = json.loads(render.render("sarif", rs))
    inv = sarif["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False and len(inv["toolExecutionNotifications"]) == 2


def test_audit_sarif_validates_against_the_oasis_schema():
    from test_formats import _sarif_validator, _valid_sarif

    try:
        validator = _sarif_validator()
    except Exception as exc:  # noqa: BLE001 - the schema file may be absent offline
        pytest.skip(f"no SARIF schema: {exc}")
    _valid_sarif(validator, render.render("sarif", _inputs()))
    _valid_sarif(validator, render.render("sarif", []))


# -- tags sharing a digest --------------------------------------------------------------------------


def test_tags_sharing_a_digest():
    """Several tags of one image are one result: sarif, markdown and the counts as before, and json
    one element whose names are all the tags (issue #21: one finding per image digest and
    credential), byte for byte the old document."""
    rs = _inputs()
    first = rs[0]
    again = _res(first.repository, 1, ["reg/team/app:stable"], _npm(2), fix=first.findings[0].fix)
    assert again.digest == first.digest
    rs.insert(5, again)
    assert render.render("sarif", copy.deepcopy(rs)) == V0["sarif"](copy.deepcopy(rs))
    assert render.render("markdown", copy.deepcopy(rs)) == _v0_markdown_summary_last(copy.deepcopy(rs))
    assert render.render("json", copy.deepcopy(rs)) == V0["json"](copy.deepcopy(rs))
    new = json.loads(render.render("json", copy.deepcopy(rs)))
    assert new["images"][0]["names"] == ["reg/team/app:1", "reg/team/app:stable"]
    # text: the later tag is not repeated (as text on stdout always did)
    text = render.render("text", copy.deepcopy(rs))
    assert "reg/team/app:stable" not in text and text.endswith(v0_text_summary(v0_merge(copy.deepcopy(rs))))


# -- memory: the writer keeps aggregates, not results -------------------------------------------------


def test_stream_keeps_no_written_result():
    pieces: list[str] = []
    s = render.Stream("json", pieces.append)
    refs = []
    for i in range(200):
        r = _res(f"reg/r{i % 7}", i + 1, [f"reg/r{i % 7}:t{i}"], _npm(2) if i % 3 == 0 else ())
        refs.append((weakref.ref(r), [weakref.ref(f) for f in r.findings]))
        assert s.add(r) == render.NEW
        del r
    gc.collect()
    assert all(ref() is None and all(f() is None for f in frs) for ref, frs in refs)
    t = s.tally
    assert t.images == 200 and t.leaking == 67 and not t.last
    assert set(vars(t)) == {"seen", "cred_images", "cred_repos", "cred_fps", "images", "leaking", "findings", "errors", "last"}
    assert not any(isinstance(v, (ImageResult, Finding)) for v in vars(t).values())
    s.close()
    doc = json.loads("".join(pieces))
    assert doc["credentials"] == [
        {"credential": "NPM_TOKEN", "images": 67, "repositories": 7, "fingerprints": [doc["credentials"][0]["fingerprints"][0]]}
    ]


# -- the command: written as results arrive ------------------------------------------------------------


def _fake_run(results: list[ImageResult], check):
    def run(targets, opts, progress=None):
        for k, r in enumerate(results):
            if k:
                check(k - 1, results[k - 1])
            yield r

    return run


def _mark(r: ImageResult, fmt: str) -> str | None:
    """Text that must be out once ``r`` was handed over (None: nothing to write yet)."""
    if r.error or (not r.findings and fmt != "json"):
        return None
    if fmt == "markdown":
        return f"<code>{r.image}</code>"
    return r.digest if fmt != "text" else r.names[0]


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "text"])
def test_cli_writes_each_image_as_it_finishes(fmt, tmp_path, monkeypatch, capsys):
    rs = _inputs()
    out_file = tmp_path / "report"

    def check_file(k, r):
        m = _mark(r, fmt) if fmt != "json" else None  # json keeps its elements until the end (tags merge)
        written = out_file.read_text()
        if m:
            assert m in written, (k, fmt)
        assert not written.endswith("}\n") and "audited " not in written  # not closed before the end

    monkeypatch.setattr(runner, "run", _fake_run(copy.deepcopy(rs), check_file))
    rc = run_audit(["x"], fmt=fmt, output_file=str(out_file), progress=False)
    _, err = capsys.readouterr()
    assert rc == 2
    want = _v0_markdown_summary_last(copy.deepcopy(rs)) if fmt == "markdown" else V0[fmt](copy.deepcopy(rs))
    assert out_file.read_text() == want
    assert err.count("dfix audit: error:") == 2
    _clean(want, err)

    captured: list[str] = []

    def check_stdout(k, r):
        captured.append(capsys.readouterr().out)
        m = _mark(r, fmt) if fmt != "json" else None
        if m:
            assert m in "".join(captured), (k, fmt)

    monkeypatch.setattr(runner, "run", _fake_run(copy.deepcopy(rs), check_stdout))
    rc = run_audit(["x"], fmt=fmt, progress=False)
    out, err = capsys.readouterr()
    assert rc == 2
    assert "".join(captured) + out == want
    if fmt != "text":
        assert "NPM_TOKEN (" in err and "seen in 3 images of 3 repositories — rotate" in err
    _clean(out, err)


def test_cli_unwritable_output_file_fails_before_auditing(tmp_path, monkeypatch, capsys):
    called = []
    monkeypatch.setattr(runner, "run", lambda *a, **k: called.append(1) or iter(()))
    rc = run_audit(["x"], fmt="json", output_file=str(tmp_path / "no" / "such" / "dir.json"), progress=False)
    _, err = capsys.readouterr()
    assert rc == 2 and "cannot write" in err and not called

"""dfix audit: config parsing, synthetic docker-save tarballs and OCI layouts, a fake registry
(401/404/429/500/garbage/digest mismatch/pagination). No engine needed."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import secrets
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from refactor.audit.cli import run_audit
from refactor.audit.config import scan_config, split_pairs
from refactor.audit.registry import AuditRegistry

CANARY = "dfixcanary" + secrets.token_hex(16)
NPMRC_CANARY = "npm_" + secrets.token_hex(18)


def _outputs_clean(*texts: str) -> None:
    b64 = base64.b64encode(CANARY.encode()).decode()
    for t in texts:
        assert CANARY not in t and b64 not in t and NPMRC_CANARY not in t


# -- history parsing ----------------------------------------------------------------------------


def test_split_pairs_uses_declared_names_for_values_with_spaces():
    text = "NPM_TOKEN=abc NODE_VERSION=20 SPACEY=a b NODE=x c DEF_TOKEN=zz /bin/sh -c echo hi"
    pairs, cmd = split_pairs(text, 4, {"NPM_TOKEN", "NODE_VERSION", "SPACEY", "DEF_TOKEN"})
    assert pairs == [("NPM_TOKEN", "abc"), ("NODE_VERSION", "20"), ("SPACEY", "a b NODE=x c"), ("DEF_TOKEN", "zz")]
    assert cmd == "/bin/sh -c echo hi"


def test_split_pairs_exec_form_without_shell():
    pairs, cmd = split_pairs("A=1 B=two words npm ci", 2, {"A", "B"})
    assert pairs[0] == ("A", "1") and pairs[1][0] == "B"
    assert cmd.endswith("npm ci")


def _config(history: list[str], env=(), labels=None, onbuild=()) -> dict:
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin", *env], "Labels": labels or {}, "OnBuild": list(onbuild)},
        "history": [{"created_by": h} for h in history],
        "rootfs": {"type": "layers", "diff_ids": []},
    }


def _names(hits) -> set[str]:
    return {h.name for h in hits}


def test_config_build_args_env_labels_onbuild_and_decoys():
    doc = _config(
        [
            f"ARG SECRET_KEY={CANARY}",
            "ARG NODE_VERSION=20",
            "ARG BUILD_DATE=2024-05-01T10:00:00Z",
            f"RUN |3 SECRET_KEY={CANARY} NODE_VERSION=20 BUILD_DATE=2024-05-01T10:00:00Z /bin/sh -c make # buildkit",
            "/bin/sh -c #(nop)  ENV DB_PASSWORD=hunter2-Xy9",  # classic builder
            "|1 GH_TOKEN=ghp_aBcdEfGhIjKlMnOpQrStUvWxYz0123456789 /bin/sh -c git clone x",  # classic RUN
        ],
        env=["API_TOKEN=" + CANARY, "NODE_ENV=production", "PASSWORD=changeme"],
        labels={"deploy.token": CANARY, "org.opencontainers.image.version": "1.2.3"},
        onbuild=[f"ENV ONB_SECRET={CANARY}x"],
    )
    hits = scan_config(doc)
    names = _names(hits)
    assert {"SECRET_KEY", "API_TOKEN", "deploy.token", "DB_PASSWORD", "GH_TOKEN", "ONB_SECRET"} <= names
    assert not names & {"NODE_VERSION", "BUILD_DATE", "NODE_ENV", "PASSWORD", "PATH", "org.opencontainers.image.version"}


def test_secret_key_found_though_value_matches_no_pattern():
    hits = scan_config(_config(["RUN |1 SECRET_KEY=plainvalue123 /bin/sh -c run # buildkit"]))
    assert _names(hits) == {"SECRET_KEY"}


# -- synthetic images ---------------------------------------------------------------------------


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def _image(history, layer_files, env=(), compress=True):
    layer = _tar(layer_files)
    blob = gzip.compress(layer) if compress else layer
    cfg = _config(history, env=env)
    cfg["rootfs"]["diff_ids"] = [_sha(layer)]
    cfg_b = json.dumps(cfg).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _sha(cfg_b), "size": len(cfg_b)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _sha(blob), "size": len(blob)}],
    }
    man_b = json.dumps(manifest).encode()
    return cfg_b, blob, man_b


LEAKY_HISTORY = [f"ARG NPM_TOKEN={CANARY}", f"RUN |1 NPM_TOKEN={CANARY} /bin/sh -c npm ci # buildkit"]
LEAKY_FILES = {
    "root/.npmrc": f"//registry.npmjs.org/:_authToken={NPMRC_CANARY}\n".encode(),
    "app/blob.txt": base64.b64encode(CANARY.encode()) + b"\n",
    "app/readme.txt": b"nothing here",
}


def _write_layout(root: Path, images: list[tuple[bytes, bytes, bytes, str]]) -> None:
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {"schemaVersion": 2, "manifests": []}
    for cfg_b, blob, man_b, name in images:
        for b in (cfg_b, blob, man_b):
            (root / "blobs" / "sha256" / _sha(b).split(":")[1]).write_bytes(b)
        index["manifests"].append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": _sha(man_b),
                "size": len(man_b),
                "annotations": {"io.containerd.image.name": name},
            }
        )
    (root / "index.json").write_text(json.dumps(index))


def _layout_tar(root: Path, dest: Path) -> None:
    with tarfile.open(dest, "w") as tf:
        for p in sorted(root.rglob("*")):
            tf.add(p, arcname=str(p.relative_to(root)), recursive=False)


def test_oci_layout_layers(tmp_path, capsys):
    cfg_b, blob, man_b = _image(LEAKY_HISTORY, LEAKY_FILES)
    _write_layout(tmp_path / "oci", [(cfg_b, blob, man_b, "example.com/app:1")])
    rc = run_audit([str(tmp_path / "oci")], layers=True, fmt="json", progress=False)
    out, err = capsys.readouterr()
    assert rc == 1
    doc = json.loads(out)
    (img,) = doc["images"]
    assert img["digest"] == _sha(man_b)
    by = {f["credential"]: f for f in img["findings"]}
    npm = by["NPM_TOKEN"]
    assert any("(base64)" in loc and "/app/blob.txt" in loc for loc in npm["locations"])
    assert any(loc == "history step 2/2 (RUN build arg)" for loc in npm["locations"])
    assert npm["fingerprint"] == hashlib.sha256(CANARY.encode()).hexdigest()[:4]
    assert any("/root/.npmrc" in loc for f in img["findings"] for loc in f["locations"])
    assert not any("readme" in loc for f in img["findings"] for loc in f["locations"])
    _outputs_clean(out, err)


def test_config_only_does_not_read_layers(tmp_path, capsys):
    cfg_b, blob, man_b = _image(LEAKY_HISTORY, LEAKY_FILES)
    _write_layout(tmp_path / "oci", [(cfg_b, blob, man_b, "example.com/app:1")])
    (tmp_path / "oci" / "blobs" / "sha256" / _sha(blob).split(":")[1]).unlink()  # would fail if read
    rc = run_audit([str(tmp_path / "oci")], fmt="text", progress=False)
    out, err = capsys.readouterr()
    assert rc == 1 and "NPM_TOKEN" in out and "npmrc" not in out
    _outputs_clean(out, err)


def test_docker_archive_tarball_and_formats(tmp_path, capsys):
    cfg_b, blob, man_b = _image(LEAKY_HISTORY, LEAKY_FILES)
    _write_layout(tmp_path / "oci", [(cfg_b, blob, man_b, "docker.io/library/app:1")])
    (tmp_path / "oci" / "manifest.json").write_text(
        json.dumps(
            [
                {
                    "Config": "blobs/sha256/" + _sha(cfg_b).split(":")[1],
                    "RepoTags": ["app:1"],
                    "Layers": ["blobs/sha256/" + _sha(blob).split(":")[1]],
                }
            ]
        )
    )
    _layout_tar(tmp_path / "oci", tmp_path / "img.tar")
    outs = []
    for fmt in ("text", "json", "sarif", "markdown"):
        rc = run_audit([str(tmp_path / "img.tar")], layers=True, fmt=fmt, progress=False)
        out, err = capsys.readouterr()
        assert rc == 1, fmt
        outs += [out, err]
    sarif = json.loads(outs[4])
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert "NPM_TOKEN" in outs[6]
    _outputs_clean(*outs)


def test_truncated_tarball_is_one_error_and_others_still_audited(tmp_path, capsys):
    cfg_b, blob, man_b = _image(LEAKY_HISTORY, {"a": b"x" * 200000}, compress=False)
    _write_layout(tmp_path / "oci", [(cfg_b, blob, man_b, "docker.io/library/app:1")])
    _layout_tar(tmp_path / "oci", tmp_path / "img.tar")
    data = (tmp_path / "img.tar").read_bytes()
    (tmp_path / "cut.tar").write_bytes(data[: len(data) // 2])
    rc = run_audit([str(tmp_path / "cut.tar"), str(tmp_path / "oci")], layers=True, fmt="text", progress=False)
    out, err = capsys.readouterr()
    assert rc == 2
    errors = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(errors) == 1 and "cut.tar" in errors[0]
    assert "NPM_TOKEN" in out  # the other target


def test_layer_digest_mismatch(tmp_path, capsys):
    cfg_b, blob, man_b = _image(LEAKY_HISTORY, LEAKY_FILES)
    _write_layout(tmp_path / "oci", [(cfg_b, blob, man_b, "example.com/app:1")])
    p = tmp_path / "oci" / "blobs" / "sha256" / _sha(blob).split(":")[1]
    p.write_bytes(gzip.compress(_tar({"x": b"other"})))
    rc = run_audit([str(tmp_path / "oci")], layers=True, fmt="json", progress=False)
    out, err = capsys.readouterr()
    assert rc == 2 and "digest mismatch" in err
    assert json.loads(out)["images"][0]["findings"] == []


def test_huge_layer_file_is_streamed(tmp_path):
    """A 64 MiB file inside a gzip layer: only max_file bytes of it are read."""
    from refactor.audit.layers import Scanner

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        ti = tarfile.TarInfo("big.bin")
        ti.size = 64 << 20

        class Zeros(io.RawIOBase):
            left = ti.size

            def readinto(self, b):
                n = min(len(b), self.left)
                b[:n] = b"\0" * n
                self.left -= n
                return n

        tf.addfile(ti, Zeros())
        ti2 = tarfile.TarInfo("root/.git-credentials")
        data = f"https://user:{CANARY}@github.com\n".encode()
        ti2.size = len(data)
        tf.addfile(ti2, io.BytesIO(data))
    comp = gzip.compress(raw.getvalue(), compresslevel=1)
    sc = Scanner(max_file=1 << 16)
    hits = sc.scan(io.BytesIO(comp), "sha256:test")
    assert any(h.value == CANARY for h in hits)
    assert any("only the first" in n for n in sc.notes)


def test_zstd_layer(tmp_path):
    import shutil
    import subprocess

    from refactor.audit.layers import Scanner

    if not shutil.which("zstd"):
        pytest.skip("no zstd program")
    layer = _tar({"root/.npmrc": f"_authToken={NPMRC_CANARY}\n".encode()})
    comp = subprocess.run(["zstd", "-q", "-c"], input=layer, capture_output=True, check=True).stdout
    hits = Scanner().scan(io.BytesIO(comp), "sha256:z")
    assert any(h.value == NPMRC_CANARY for h in hits)


# -- fake registry ------------------------------------------------------------------------------


class FakeRegistry:
    def __init__(self):
        self.repos: dict[str, dict] = {}  # repo -> {"tags": {tag: manifest digest}, "blobs": {digest: bytes}}
        self.fail: dict[str, list[int]] = {}  # path -> statuses to answer first
        self.garbage: set[str] = set()
        self.corrupt: set[str] = set()
        self.page = 0  # tags per page (0: all)
        self.require_token = False
        self.retry_after = "0"  # the Retry-After header of the statuses in ``fail``
        self.requests: list[str] = []
        srv = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        srv.daemon_threads = True
        self.srv = srv
        self.host = f"127.0.0.1:{srv.server_address[1]}"
        threading.Thread(target=srv.serve_forever, daemon=True).start()

    def add(self, repo, tag, cfg_b, blob, man_b):
        r = self.repos.setdefault(repo, {"tags": {}, "blobs": {}})
        for b in (cfg_b, blob, man_b):
            r["blobs"][_sha(b)] = b
        r["tags"][tag] = _sha(man_b)

    def _handler(self):
        reg = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, status, body=b"", headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                path, _, query = self.path.partition("?")
                reg.requests.append(path)
                if path.startswith("/token"):
                    return self._send(200, json.dumps({"token": "t0k"}).encode())
                if reg.require_token and self.headers.get("Authorization") != "Bearer t0k":
                    return self._send(401, b"", {"WWW-Authenticate": f'Bearer realm="http://{reg.host}/token",service="fake"'})
                queue = reg.fail.get(path)
                if queue:
                    return self._send(queue.pop(0), b"{}", {"Retry-After": reg.retry_after})
                if path in reg.garbage:
                    return self._send(200, b"<html>not json", {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
                parts = path.split("/")
                # /v2/<repo...>/{tags/list|manifests/<ref>|blobs/<digest>}
                if path.endswith("/tags/list"):
                    repo = "/".join(parts[2:-2])
                    r = reg.repos.get(repo)
                    if not r:
                        return self._send(404)
                    tags = sorted(r["tags"])
                    last = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("last")
                    if last:
                        tags = [t for t in tags if t > last]
                    headers = {"Content-Type": "application/json"}
                    if reg.page and len(tags) > reg.page:
                        tags = tags[: reg.page]
                        headers["Link"] = f'</v2/{repo}/tags/list?n={reg.page}&last={tags[-1]}>; rel="next"'
                    return self._send(200, json.dumps({"name": repo, "tags": tags}).encode(), headers)
                kind = parts[-2]
                repo = "/".join(parts[2:-2])
                ref = parts[-1]
                r = reg.repos.get(repo)
                if not r:
                    return self._send(404)
                if kind == "manifests":
                    digest = r["tags"].get(ref, ref)
                    body = r["blobs"].get(digest)
                    if body is None:
                        return self._send(404)
                    if path in reg.corrupt:
                        body = body.replace(b"schemaVersion", b"schemaversion")
                    return self._send(
                        200, body, {"Content-Type": json.loads(r["blobs"][digest])["mediaType"], "Docker-Content-Digest": digest}
                    )
                if kind == "blobs":
                    body = r["blobs"].get(ref)
                    if body is None:
                        return self._send(404)
                    if path in reg.corrupt:
                        body = body[:-1] + bytes([body[-1] ^ 1])
                    return self._send(200, body, {"Content-Type": "application/octet-stream"})
                return self._send(404)

            do_HEAD = do_GET

        return H

    def close(self):
        self.srv.shutdown()


@pytest.fixture
def fake():
    reg = FakeRegistry()
    yield reg
    reg.close()


def _client():
    return AuditRegistry(retries=3, backoff=0.01, timeout=5)


def test_registry_every_tag_paginated_with_token_auth(fake, capsys):
    fake.require_token = True
    fake.page = 2
    for i in range(5):
        hist = LEAKY_HISTORY if i % 2 == 0 else ["ARG NODE_VERSION=20", "RUN |1 NODE_VERSION=20 /bin/sh -c true # buildkit"]
        hist = hist + [f"LABEL build={i}"]
        fake.add("team/app", f"v{i}", *_image(hist, {"f": b"x"}))
    rc = run_audit([f"{fake.host}/team/app"], fmt="json", progress=False, client=_client())
    out, err = capsys.readouterr()
    assert rc == 1, err
    doc = json.loads(out)
    assert doc["summary"]["images"] == 5 and doc["summary"]["leaking"] == 3
    assert doc["credentials"][0]["credential"] == "NPM_TOKEN" and doc["credentials"][0]["images"] == 3
    assert "NPM_TOKEN" in err and "seen in 3 images of 1 repository" in err
    _outputs_clean(out, err)


def test_registry_errors_one_line_each(fake, capsys):
    img = _image(LEAKY_HISTORY, {"f": b"x"})
    fake.add("ok/app", "1", *img)
    fake.add("e/nf", "1", *img)
    fake.add("e/garbage", "1", *img)
    fake.add("e/mismatch", "1", *img)
    fake.add("e/cfg", "1", *img)
    fake.add("e/flaky", "1", *img)
    fake.add("e/down", "1", *img)
    fake.garbage.add("/v2/e/garbage/manifests/1")
    fake.corrupt.add("/v2/e/mismatch/manifests/1")
    fake.corrupt.add(f"/v2/e/cfg/blobs/{_sha(img[0])}")
    fake.fail["/v2/e/flaky/manifests/1"] = [429, 503]  # retried, then fine
    fake.fail["/v2/e/down/manifests/1"] = [500] * 10
    fake.fail["/v2/e/unauth/manifests/1"] = [401, 401]
    targets = [f"{fake.host}/{r}:1" for r in ("ok/app", "e/nf", "e/garbage", "e/mismatch", "e/cfg", "e/flaky", "e/down", "e/unauth")]
    targets[1] = f"{fake.host}/e/nf:missing"
    rc = run_audit(targets, fmt="json", progress=False, client=_client())
    out, err = capsys.readouterr()
    assert rc == 2
    doc = json.loads(out)
    errors = [i["error"] for i in doc["images"] if i["error"]]
    assert len(errors) == 6, errors
    text = "\n".join(errors)
    assert "not found" in text and "not valid JSON" in text and "digest mismatch" in text
    assert "HTTP 500" in text and "unauthorized" in text
    assert all("\n" not in e for e in errors)
    leaking = {i["image"] for i in doc["images"] if i["findings"]}
    assert leaking == {f"{fake.host}/ok/app:1", f"{fake.host}/e/flaky:1"}
    _outputs_clean(out, err)


def test_registry_layers_streamed_and_verified(fake, capsys):
    fake.add("app", "1", *_image(LEAKY_HISTORY, LEAKY_FILES))
    rc = run_audit([f"{fake.host}/app:1"], layers=True, fmt="text", progress=False, client=_client())
    out, err = capsys.readouterr()
    assert rc == 1 and "/root/.npmrc" in out and "/app/blob.txt (base64)" in out
    _outputs_clean(out, err)


def test_repo_links_history_to_dockerfile(tmp_path, capsys):
    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    (repo / "svc" / "Dockerfile").write_text("FROM base\nARG NPM_TOKEN\nRUN npm ci\n")
    cfg_b, blob, man_b = _image(LEAKY_HISTORY, LEAKY_FILES)
    _write_layout(tmp_path / "oci", [(cfg_b, blob, man_b, "example.com/app:1")])
    rc = run_audit([str(tmp_path / "oci")], fmt="json", repo=str(repo), progress=False)
    out, _ = capsys.readouterr()
    assert rc == 1
    fix = json.loads(out)["images"][0]["findings"][0]["fix"]
    assert "svc/Dockerfile:3 (RUN)" in fix and "svc/Dockerfile:2 (ARG NPM_TOKEN)" in fix


def test_clean_image_exit_zero(tmp_path, capsys):
    cfg_b, blob, man_b = _image(["ARG NODE_VERSION=20", "RUN |1 NODE_VERSION=20 /bin/sh -c npm ci # buildkit"], {"a": b"hello"})
    _write_layout(tmp_path / "oci", [(cfg_b, blob, man_b, "example.com/app:1")])
    assert run_audit([str(tmp_path / "oci")], layers=True, progress=False) == 0


def test_cli_registered():
    from refactor.cli import main

    assert main(["audit", "--help"]) == 0


# -- provenance attestations ----------------------------------------------------------------------


def _attested(image_man: bytes, args: dict[str, str]) -> tuple[bytes, list[bytes]]:
    """An index over one image manifest and its BuildKit attestation manifest (SLSA v0.2 provenance)."""
    stmt = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "predicate": {
                "invocation": {"parameters": {"frontend": "dockerfile.v0", "args": {f"build-arg:{k}": v for k, v in args.items()}}}
            },
        }
    ).encode()
    cfg = b"{}"
    att = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _sha(cfg), "size": 2},
            "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": _sha(stmt), "size": len(stmt)}],
        }
    ).encode()
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": _sha(image_man),
                    "size": len(image_man),
                    "platform": {"os": "linux", "architecture": "amd64"},
                },
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": _sha(att),
                    "size": len(att),
                    "platform": {"os": "unknown", "architecture": "unknown"},
                    "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": _sha(image_man)},
                },
            ],
        }
    ).encode()
    return index, [stmt, cfg, att]


def test_provenance_build_args_registry(fake, capsys):
    # the image itself is clean (secret mount); its provenance recorded a build arg anyway
    cfg_b, blob, man_b = _image(["ARG NODE_VERSION=20"], {"f": b"x"})
    index, extra = _attested(man_b, {"GH_TOKEN": CANARY, "NODE_VERSION": "20"})
    fake.add("prov", "1", cfg_b, blob, man_b)
    r = fake.repos["prov"]
    for b in [*extra, index]:
        r["blobs"][_sha(b)] = b
    r["tags"]["multi"] = _sha(index)
    rc = run_audit([f"{fake.host}/prov:multi"], fmt="json", progress=False, client=_client())
    out, err = capsys.readouterr()
    assert rc == 1, err
    (img,) = json.loads(out)["images"]
    assert img["digest"] == _sha(man_b) and img["names"] == [f"{fake.host}/prov:multi (linux/amd64)"]
    (f,) = img["findings"]
    assert f["credential"] == "GH_TOKEN" and f["locations"] == ["provenance attestation (build arg)"]
    _outputs_clean(out, err)


def test_provenance_build_args_oci_layout(tmp_path, capsys):
    cfg_b, blob, man_b = _image(["ARG NODE_VERSION=20"], {"f": b"x"})
    index, extra = _attested(man_b, {"NPM_TOKEN": CANARY})
    root = tmp_path / "oci"
    _write_layout(root, [(cfg_b, blob, man_b, "example.com/app:1")])
    for b in [*extra, index]:
        (root / "blobs" / "sha256" / _sha(b).split(":")[1]).write_bytes(b)
    (root / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "digest": _sha(index),
                        "size": len(index),
                        "annotations": {"io.containerd.image.name": "example.com/app:1"},
                    }
                ],
            }
        )
    )
    rc = run_audit([str(root)], fmt="json", progress=False)
    out, err = capsys.readouterr()
    assert rc == 1, err
    (img,) = json.loads(out)["images"]
    assert [f["credential"] for f in img["findings"]] == ["NPM_TOKEN"]
    _outputs_clean(out, err)


def test_text_output_file_and_json_never_hold_the_key(tmp_path, capsys):
    cfg_b, blob, man_b = _image(LEAKY_HISTORY, LEAKY_FILES)
    _write_layout(tmp_path / "oci", [(cfg_b, blob, man_b, "example.com/app:1")])
    out_file = tmp_path / "report.txt"
    rc = run_audit([str(tmp_path / "oci")], layers=True, output_file=str(out_file), progress=False)
    out, err = capsys.readouterr()
    text = out_file.read_text()
    assert rc == 1 and "NPM_TOKEN #" in text and "seen in 1 image of 1 repository — rotate" in text
    full = hashlib.sha256(CANARY.encode()).hexdigest()
    run_audit([str(tmp_path / "oci")], layers=True, fmt="json", progress=False)
    js, _ = capsys.readouterr()
    assert full not in text + js and full[:8] not in text + js
    _outputs_clean(out, err, text, js)

"""dfix audit, the requirements of issue #21 not covered in test_audit.py: layer file kinds (PEM keys,
token formats, templates), a registry digest reference, persistent 429 and the backoff schedule,
config-only audits fetching one blob per manifest, a substituted layer blob, garbage JSON in a tags
list and a config, a huge layer blob streamed (memory bounded), the progress display on a TTY only.
No engine needed."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import secrets
import sys
import tarfile
import threading
import time
import tracemalloc
from types import SimpleNamespace

import pytest
from test_audit import LEAKY_FILES, LEAKY_HISTORY, FakeRegistry, _image, _sha, _tar, _write_layout

from refactor.audit import registry as registry_mod
from refactor.audit.cli import run_audit
from refactor.audit.layers import Scanner
from refactor.audit.registry import AuditRegistry

GH = "ghp_" + secrets.token_hex(18)
PEM_BODY = base64.encodebytes(secrets.token_bytes(96)).decode()
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}-----END RSA PRIVATE KEY-----\n"
NPM = "npm_" + secrets.token_hex(18)
CANARY = next(h.split("=", 1)[1] for h in LEAKY_HISTORY if h.startswith("ARG "))


def _clean(*texts: str) -> None:
    for t in texts:
        for v in (GH, PEM_BODY.splitlines()[0], NPM, CANARY, base64.b64encode(CANARY.encode()).decode()):
            assert v not in t


@pytest.fixture
def fake():
    reg = FakeRegistry()
    yield reg
    reg.close()


def _client(**kw):
    return AuditRegistry(**{"retries": 3, "backoff": 0.01, "timeout": 5, **kw})


# -- layer files ----------------------------------------------------------------------------------


def test_layer_pem_key_token_format_and_templates(tmp_path, capsys):
    files = {
        "etc/ssl/private/server.key": PEM.encode(),
        "app/config.yml": f"github:\n  token: {GH}\n".encode(),
        "home/u/.npmrc": b"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",  # a template: no finding
        "home/v/.git-credentials": b"https://user:${GIT_TOKEN}@github.com\n",
        "usr/share/doc/README": b"set GITHUB_TOKEN=<your token> before running\n",
    }
    cfg_b, blob, man_b = _image(["ARG NODE_VERSION=20"], files)
    _write_layout(tmp_path / "oci", [(cfg_b, blob, man_b, "example.com/app:1")])
    rc = run_audit([str(tmp_path / "oci")], layers=True, fmt="json", progress=False)
    out, err = capsys.readouterr()
    assert rc == 1, err
    (img,) = json.loads(out)["images"]
    where = {f["credential"]: f["locations"] for f in img["findings"]}
    assert set(where) == {"private key", "GitHub token"}, where
    assert where["private key"] == ["layer " + _sha(blob)[:19] + " /etc/ssl/private/server.key"]
    assert where["GitHub token"] == ["layer " + _sha(blob)[:19] + " /app/config.yml"]
    _clean(out, err)


def test_a_file_holding_a_known_value_is_one_location():
    """The .npmrc a RUN wrote from $NPM_TOKEN: found as the build arg's value (raw) and as an .npmrc
    credential and an npm token format; one location, named after the build arg."""
    sc = Scanner({NPM: "NPM_TOKEN"})
    hits = sc.file_hits("/root/.npmrc", f"//registry.npmjs.org/:_authToken={NPM}\n".encode(), "layer x /root/.npmrc")
    assert [(h.name, h.where) for h in hits] == [("NPM_TOKEN", "layer x /root/.npmrc (raw)")]


# -- registry ---------------------------------------------------------------------------------------


def test_registry_digest_reference(fake, capsys):
    cfg_b, blob, man_b = _image(LEAKY_HISTORY, {"f": b"x"})
    fake.add("team/app", "1", cfg_b, blob, man_b)
    other = "sha256:" + "0" * 64
    fake.repos["team/app"]["blobs"][other] = man_b  # served under a digest it does not have
    targets = [f"{fake.host}/team/app@{_sha(man_b)}", f"{fake.host}/team/app@sha256:{'1' * 64}", f"{fake.host}/team/app@{other}"]
    rc = run_audit(targets, fmt="json", progress=False, client=_client())
    out, err = capsys.readouterr()
    assert rc == 2
    images = json.loads(out)["images"]
    ok = [i for i in images if not i["error"]]
    assert [(i["digest"], i["names"]) for i in ok] == [(_sha(man_b), [f"{fake.host}/team/app@{_sha(man_b)}"])]
    assert [f["credential"] for f in ok[0]["findings"]] == ["NPM_TOKEN"]
    errors = sorted(i["error"] for i in images if i["error"])
    assert len(errors) == 2 and "not found" in errors[1] and "manifest digest mismatch" in errors[0], errors
    _clean(out, err)


def test_persistent_429_backoff_and_retry_after(fake, capsys, monkeypatch):
    delays: list[float] = []
    monkeypatch.setattr(registry_mod, "time", SimpleNamespace(sleep=delays.append))
    img = _image(LEAKY_HISTORY, {"f": b"x"})
    fake.add("ok/app", "1", *img)
    fake.add("e/rl", "1", *img)
    fake.fail["/v2/e/rl/manifests/1"] = [429] * 10
    rc = run_audit([f"{fake.host}/e/rl:1", f"{fake.host}/ok/app:1"], fmt="text", progress=False, client=_client(backoff=0.5), jobs=1)
    out, err = capsys.readouterr()
    assert rc == 2
    assert [ln for ln in err.splitlines() if "error:" in ln] == [
        f"dfix audit: error: {fake.host}/e/rl:1: rate limited by {fake.host} (HTTP 429, 3 retries)"
    ]
    assert delays == [0.5, 1.0, 2.0]  # exponential backoff, then the error
    assert "NPM_TOKEN" in out  # the other target
    # Retry-After is honoured (capped at 10 s); 502/503/504 are retried too
    for header, statuses, want in (("3", [503, 502], [3.0, 3.0]), ("60", [504], [10.0])):
        delays.clear()
        fake.retry_after = header
        fake.fail["/v2/e/rl/manifests/1"] = list(statuses)
        rc = run_audit([f"{fake.host}/e/rl:1"], fmt="text", progress=False, client=_client(backoff=0.5))
        out, err = capsys.readouterr()
        assert rc == 1 and "NPM_TOKEN" in out, err
        assert delays == want
    _clean(out, err)


def test_connection_errors_are_retried_then_one_error(fake, capsys, monkeypatch):
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    delays: list[float] = []
    monkeypatch.setattr(registry_mod, "time", SimpleNamespace(sleep=delays.append))
    fake.add("ok/app", "1", *_image(LEAKY_HISTORY, {"f": b"x"}))
    rc = run_audit([f"{dead}/app", f"{fake.host}/ok/app:1"], progress=False, client=_client(retries=2, backoff=0.25))
    out, err = capsys.readouterr()
    assert rc == 2 and delays == [0.25, 0.5]
    assert [ln for ln in err.splitlines() if "error:" in ln] == [
        f"dfix audit: error: {dead}/app: cannot reach {dead} (ConnectionRefusedError)"
    ]
    assert "NPM_TOKEN" in out


def test_config_only_fetches_one_blob_per_manifest(fake, capsys):
    layer_digest = None
    for i in range(6):
        cfg_b, blob, man_b = _image(LEAKY_HISTORY + [f"LABEL build={i}"], {"f": b"x"})
        fake.add("team/app", f"v{i}", cfg_b, blob, man_b)
        layer_digest = _sha(blob)
    rc = run_audit([f"{fake.host}/team/app"], fmt="json", progress=False, client=_client())
    out, err = capsys.readouterr()
    assert rc == 1, err
    assert json.loads(out)["summary"]["leaking"] == 6
    kinds = [p.split("/")[-2] if "/blobs/" in p or "/manifests/" in p else p for p in fake.requests]
    assert kinds.count("manifests") == 6 and kinds.count("blobs") == 6 and len(fake.requests) == 13
    assert not any(layer_digest in p for p in fake.requests)


def test_a_bounded_pool_of_jobs_threads(fake, capsys, monkeypatch):
    for i in range(12):
        fake.add("team/app", f"v{i:02d}", *_image(LEAKY_HISTORY + [f"LABEL n={i}"], {"f": b"x"}))
    lock, active, peak = threading.Lock(), [0], [0]
    orig = AuditRegistry.open_url

    def counting(self, *a, **kw):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            time.sleep(0.05)
            return orig(self, *a, **kw)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(AuditRegistry, "open_url", counting)
    rc = run_audit([f"{fake.host}/team/app"], fmt="json", progress=False, client=_client(), jobs=3)
    out, err = capsys.readouterr()
    assert rc == 1 and json.loads(out)["summary"]["leaking"] == 12, err
    assert 2 <= peak[0] <= 3, peak


def test_substituted_layer_blob_is_an_error_not_a_finding(fake, capsys):
    img = _image(LEAKY_HISTORY, LEAKY_FILES)
    fake.add("ok/app", "1", *img)
    fake.add("e/layer", "1", *img)
    fake.add("e/corrupt", "1", *img)
    # a valid layer under the wrong digest, and one damaged byte of a gzip layer
    fake.repos["e/layer"]["blobs"][_sha(img[1])] = gzip.compress(_tar({"root/.npmrc": f"_authToken={NPM}\n".encode()}))
    fake.corrupt.add(f"/v2/e/corrupt/blobs/{_sha(img[1])}")
    targets = [f"{fake.host}/{r}:1" for r in ("e/layer", "ok/app", "e/corrupt")]
    rc = run_audit(targets, layers=True, fmt="json", progress=False, client=_client())
    out, err = capsys.readouterr()
    assert rc == 2
    by = {i["image"].split("/", 1)[1]: i for i in json.loads(out)["images"]}
    for bad in ("e/layer:1", "e/corrupt:1"):
        assert by[bad]["findings"] == [] and "digest mismatch" in by[bad]["error"], by[bad]["error"]
    assert {f["credential"] for f in by["ok/app:1"]["findings"]} >= {"NPM_TOKEN"}
    _clean(out, err)


def test_garbage_json_tags_list_and_config(fake, capsys):
    good = _image(LEAKY_HISTORY, {"f": b"x"})
    fake.add("ok/app", "1", *good)
    fake.add("g/tags", "1", *good)
    fake.garbage.add("/v2/g/tags/tags/list")
    cfg_b = b"<html>not json</html>"
    man_b = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _sha(cfg_b), "size": len(cfg_b)},
            "layers": [],
        }
    ).encode()
    fake.add("g/cfg", "1", cfg_b, b"", man_b)
    rc = run_audit(
        [f"{fake.host}/g/tags", f"{fake.host}/g/cfg:1", f"{fake.host}/ok/app", f"{fake.host}/no/such"], progress=False, client=_client()
    )
    out, err = capsys.readouterr()
    assert rc == 2
    errors = sorted(ln for ln in err.splitlines() if "error:" in ln)
    assert len(errors) == 3, errors
    assert "g/cfg:1: config: invalid JSON" in errors[0]
    assert "g/tags: tags list is not valid JSON" in errors[1]
    assert "no/such: not found" in errors[2]
    assert "ok/app:1" in out and "NPM_TOKEN" in out
    _clean(out, err)


# -- a huge layer blob --------------------------------------------------------------------------------

HUGE = 48 << 20


def _huge_image() -> tuple[bytes, bytes, bytes]:
    """One uncompressed tar layer of HUGE random bytes (incompressible: the blob itself is huge)
    and a .git-credentials after it."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        ti = tarfile.TarInfo("var/big.bin")
        ti.size = HUGE
        tf.addfile(ti, io.BytesIO(os.urandom(HUGE)))
        data = f"https://user:{CANARY}@github.com\n".encode()
        ti = tarfile.TarInfo("root/.git-credentials")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    history = ["ARG NODE_VERSION=20"]
    cfg_b, _, _ = _image(history, {})
    blob = raw.getvalue()
    cfg = json.loads(cfg_b)
    cfg["rootfs"]["diff_ids"] = [_sha(blob)]
    cfg_b = json.dumps(cfg).encode()
    man_b = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _sha(cfg_b), "size": len(cfg_b)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": _sha(blob), "size": len(blob)}],
        }
    ).encode()
    return cfg_b, blob, man_b


def _peak_during(fn) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_huge_layer_blob_is_streamed_not_read_whole(tmp_path, fake, capsys):
    """A 48 MiB layer blob, from an OCI layout and from a registry: audited (the file after the big
    one is found, the big one is noted) with a peak of Python memory far below the blob's size."""
    img = _huge_image()
    _write_layout(tmp_path / "oci", [(*img, "example.com/big:1")])
    fake.add("big", "1", *img)
    for target, client in ((str(tmp_path / "oci"), None), (f"{fake.host}/big:1", _client())):
        rc, peak = _peak_during(lambda t=target, c=client: run_audit([t], layers=True, fmt="json", progress=False, client=c))
        out, err = capsys.readouterr()
        assert rc == 1, err
        (im,) = json.loads(out)["images"]
        assert [f["locations"] for f in im["findings"]] == [[f"layer {_sha(img[1])[:19]} /root/.git-credentials"]]
        assert any("/var/big.bin: only the first" in n for n in im["notes"])
        assert peak < HUGE // 4, f"peak {peak >> 20} MiB for a {HUGE >> 20} MiB layer"
        _clean(out, err)


# -- progress ---------------------------------------------------------------------------------------


def test_progress_only_on_a_tty(fake, capsys, monkeypatch):
    for i in range(3):
        fake.add("team/app", f"v{i}", *_image(LEAKY_HISTORY + [f"LABEL n={i}"], {"f": b"x"}))
    target = f"{fake.host}/team/app"
    assert run_audit([target], fmt="json", client=_client()) == 1  # stderr is no TTY here
    out, err = capsys.readouterr()
    assert "\r" not in err and "\x1b" not in err and json.loads(out)["summary"]["images"] == 3
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert run_audit([target], fmt="json", client=_client()) == 1
    out, err = capsys.readouterr()
    assert "\r\x1b[Kdfix audit: 3/3 images" in err and err.count("\r\x1b[K") >= 4
    assert json.loads(out)["summary"]["images"] == 3  # stdout untouched
    assert run_audit([target], fmt="json", client=_client(), progress=False) == 1  # --no-progress wins
    assert "\x1b" not in capsys.readouterr().err
    _clean(out, err)


# -- credentials ------------------------------------------------------------------------------------


def test_registry_credentials_from_docker_config_and_helper(tmp_path, monkeypatch, capsys):
    """The audit client is dfix's registry client: anonymous is a clear per-target error; a
    credential helper (Bearer token flow) and docker config basic credentials are used."""
    from test_supply_registry import PASSWORD, USER, _auth_config, _helper
    from test_supply_registry import FakeRegistry as AuthRegistry

    from refactor.supply.registry import DockerConfig

    log = tmp_path / "helper.log"
    _helper(
        tmp_path,
        monkeypatch,
        "dfixaudit",
        f'read server; echo "$1 $server" >> {log}\nprintf \'{{"ServerURL":"%s","Username":"{USER}","Secret":"{PASSWORD}"}}\' "$server"\n',
    )
    texts = []
    with AuthRegistry(auth="bearer", private=("team/secret",)) as reg:
        reg.put_image("team/secret", "1")
        target = f"{reg.address}/team/secret:1"
        rc = run_audit([target], progress=False, client=AuditRegistry(config=DockerConfig({}), retries=0, timeout=5))
        out, err = capsys.readouterr()
        texts += [out, err]
        assert rc == 2 and [ln for ln in err.splitlines() if ln.startswith("dfix audit: error:")] == [
            f"dfix audit: error: {target}: unauthorized: token service {reg.address} refused the credentials"
        ]
        helper = DockerConfig({"credHelpers": {reg.address: "dfixaudit"}})
        rc = run_audit([target], progress=False, client=AuditRegistry(config=helper, retries=0, timeout=5))
        out, err = capsys.readouterr()
        texts += [out, err]
        assert rc == 0 and "audited 1 image: 0 leak credentials" in out, err
        assert log.read_text().split() == ["get", reg.address]
    with AuthRegistry(auth="basic") as reg:
        reg.put_image("app", "1")
        basic = _auth_config(reg, username=USER, password=PASSWORD)
        rc = run_audit([f"{reg.address}/app:1"], progress=False, client=AuditRegistry(config=basic, retries=0, timeout=5))
        out, err = capsys.readouterr()
        texts += [out, err]
        assert rc == 0, err
    assert not any(PASSWORD in t for t in texts)

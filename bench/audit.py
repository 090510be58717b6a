"""Benchmark: config-only `dfix audit` over a local docker-registry holding N tags (default 1,000).

Needs the Debian package `docker-registry` (the `docker-registry` binary); no engine. The images are
pushed directly with the registry v2 API: one small shared layer, and per tag a config blob (10% of
them with a canary NPM_TOKEN build arg in history, the rest with decoys) and a manifest. Then

    dfix audit --format json --no-progress 127.0.0.1:PORT/bench/app

runs in a subprocess; wall time and the child's peak RSS (ru_maxrss) are printed. Target: < 60 s.

    python bench/audit.py [-n 1000] [-j 8] [--repos 1]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, dict(r.headers), r.read()


def start_registry(tmp: str):
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not os.path.exists(binary):
        sys.exit("bench/audit.py: needs the docker-registry binary (apt-get install -y docker-registry)")
    port = _port()
    cfg = os.path.join(tmp, "config.yml")
    with open(cfg, "w") as f:
        f.write(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {tmp}/data\n"
            f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(8)}\n"
        )
    proc = subprocess.Popen([binary, "serve", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            _http("GET", base + "/v2/")
            return proc, f"127.0.0.1:{port}", base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("docker-registry did not start")


def upload(base, repo, blob: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    try:
        _http("HEAD", f"{base}/v2/{repo}/blobs/{digest}")
        return digest
    except OSError:
        pass
    _, headers, _ = _http("POST", f"{base}/v2/{repo}/blobs/uploads/", b"")
    loc = headers["Location"]
    if loc.startswith("/"):
        loc = base + loc
    sep = "&" if "?" in loc else "?"
    _http("PUT", f"{loc}{sep}digest={digest}", blob, {"Content-Type": "application/octet-stream"})
    return digest


def populate(base, repo, n, jobs=16) -> int:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        ti = tarfile.TarInfo("hello.txt")
        ti.size = 5
        tf.addfile(ti, io.BytesIO(b"hello"))
    layer = gzip.compress(raw.getvalue())
    ldigest = upload(base, repo, layer)
    canary = "dfixcanary" + secrets.token_hex(16)

    def one(i: int) -> bool:
        leaky = i % 10 == 0
        hist = [{"created_by": "ARG NODE_VERSION=20"}, {"created_by": f"ARG BUILD_DATE=2026-01-{i % 28 + 1:02d}"}]
        args = f"NODE_VERSION=20 BUILD_DATE=2026-01-{i % 28 + 1:02d}"
        if leaky:
            hist.insert(0, {"created_by": f"ARG NPM_TOKEN={canary}"})
            args = f"NPM_TOKEN={canary} " + args
        count = len(args.split(" "))
        hist.append({"created_by": f"RUN |{count} {args} /bin/sh -c npm ci && echo {i} # buildkit", "comment": "buildkit.dockerfile.v0"})
        cfg = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Env": ["PATH=/bin", f"BUILD={i}"]},
                "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()]},
                "history": hist,
            }
        ).encode()
        cdigest = upload(base, repo, cfg)
        man = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": len(cfg)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ldigest, "size": len(layer)}],
            }
        ).encode()
        _http("PUT", f"{base}/v2/{repo}/manifests/t{i:05d}", man, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        return leaky

    with ThreadPoolExecutor(jobs) as pool:
        return sum(pool.map(one, range(n)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000, help="tags per repository")
    ap.add_argument("--repos", type=int, default=1)
    ap.add_argument("-j", "--jobs", type=int, default=8, help="dfix audit -j")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="dfix-bench-audit-")
    proc, host, base = start_registry(tmp)
    try:
        t0 = time.monotonic()
        leaky = sum(populate(base, f"bench/app{r}", a.n) for r in range(a.repos))
        print(f"pushed {a.n * a.repos} tags ({leaky} leaky) in {time.monotonic() - t0:.1f}s", file=sys.stderr)
        targets = [f"{host}/bench/app{r}" for r in range(a.repos)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-m", "refactor", "audit", "--format", "json", "--no-progress", "-j", str(a.jobs), *targets],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        wall = time.monotonic() - t0
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        doc = json.loads(out.stdout)
        s = doc["summary"]
        assert s["images"] == a.n * a.repos and s["leaking"] == leaky and s["errors"] == 0, (s, out.stderr[-500:])
        load = os.getloadavg()[0]
        print(
            json.dumps(
                {
                    "tags": a.n * a.repos,
                    "leaking": s["leaking"],
                    "exit": out.returncode,
                    "wall_s": round(wall, 2),
                    "peak_rss_mb": round(max(rss, before) / 1024, 1),
                    "jobs": a.jobs,
                    "loadavg_1m": round(load, 2),
                    "target_s": 60,
                }
            )
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

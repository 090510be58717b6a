"""Benchmark: config-only `dfix audit` over a local docker-registry holding N tags (default 1,000).

Needs the Debian package `docker-registry` (the `docker-registry` binary); no engine. The images are
pushed directly with the registry v2 API: one small shared layer, and per tag a config blob (10% of
them with a canary NPM_TOKEN build arg in history, the rest with decoys) and a manifest. Then

    dfix audit --format json --no-progress 127.0.0.1:PORT/bench/app

runs in a subprocess; wall time and that process's own peak RSS (ru_maxrss from wait4) are
printed. Target: < 60 s. With ``--sizes A,B`` each size gets its own repository and its own audit
process, and the ratio of the two peak RSS figures is printed: the report is streamed and only
per-credential aggregates are kept, so memory should stay flat in the number of tags (ratio ~1).

    python bench/audit.py [-n 1000] [-j 8] [--repos 1]
    python bench/audit.py --sizes 200,1000
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
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


def audit(targets: list[str], jobs: int, root: str = ROOT) -> tuple[float, float, int, dict]:
    """One ``dfix audit`` process: (wall seconds, its own peak RSS in MiB, exit code, JSON report).
    ``wait4`` gives that child's rusage alone (RUSAGE_CHILDREN would be the max over every child)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "refactor", "audit", "--format", "json", "--no-progress", "-j", str(jobs), *targets],
            stdout=out,
            stderr=err,
            cwd=root,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read()
        try:
            doc = json.loads(text)
        except ValueError:
            sys.exit(f"dfix audit wrote no JSON report (exit {proc.returncode}): {err.read()[-500:]}")
    return wall, usage.ru_maxrss / 1024, proc.returncode, doc


def measure(host: str, base: str, name: str, n: int, repos: int, jobs: int, root: str = ROOT) -> dict:
    t0 = time.monotonic()
    leaky = sum(populate(base, f"bench/{name}{r}", n) for r in range(repos))
    print(f"pushed {n * repos} tags ({leaky} leaky) in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    wall, rss, rc, doc = audit([f"{host}/bench/{name}{r}" for r in range(repos)], jobs, root)
    s = doc["summary"]
    assert s["images"] == n * repos and s["leaking"] == leaky and s["errors"] == 0, s
    row = {
        "tags": n * repos,
        "leaking": s["leaking"],
        "exit": rc,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(rss, 1),
        "jobs": jobs,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "target_s": 60,
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000, help="tags per repository")
    ap.add_argument("--sizes", default="", help="two or more tag counts (e.g. 200,1000): peak RSS at each and the ratio")
    ap.add_argument("--repos", type=int, default=1)
    ap.add_argument("-j", "--jobs", type=int, default=8, help="dfix audit -j")
    ap.add_argument("--root", default=ROOT, help="run `python -m refactor` from this checkout (e.g. an older one, to compare)")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",") if x.strip()] or [a.n]
    tmp = tempfile.mkdtemp(prefix="dfix-bench-audit-")
    proc, host, base = start_registry(tmp)
    try:
        rows = [measure(host, base, f"s{n}-", n, a.repos, a.jobs, a.root) for n in sizes]
        if len(rows) > 1:
            lo, hi = rows[0], rows[-1]
            print(
                json.dumps(
                    {
                        "rss_ratio": round(hi["peak_rss_mb"] / lo["peak_rss_mb"], 3),
                        "rss_mb": [r["peak_rss_mb"] for r in rows],
                        "tags": [r["tags"] for r in rows],
                        "kib_per_extra_tag": round((hi["peak_rss_mb"] - lo["peak_rss_mb"]) * 1024 / max(1, hi["tags"] - lo["tags"]), 2),
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

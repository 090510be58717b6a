"""The result cache (issue 19): a cold run against a warm run over ../shared/corpus/real.

Two ways of running dfix over the corpus, each in report mode (``-q``, text to a file):

- ``files``: all 820 Dockerfiles passed explicitly (SOURCES.tsv excluded), as bench/throughput.py
  does (pre-commit passes files);
- ``dir``: the corpus directory, so discovery and the repository-level DF010 scan run as well
  (CI passes directories).

Each round, for each way, in the same run:

- ``no cache``: ``--no-cache`` (the anchor: dfix as it runs without the cache);
- ``cold``: ``--cache-dir`` an empty directory (every file analysed and stored);
- ``warm``: the same command again on the unchanged tree (every entry hit).

The median of ``--repeat`` rounds gives wall time and CPU time (user+sys of the process and its
reaped workers, from wait4); the ratio cold/warm is printed for both (target: warm at least 10 times
faster than cold). The outputs of the three runs are compared byte for byte (stdout and exit status), and
the number of entries the cold run stored is printed. ``dfix --version`` gives the floor (the
interpreter and the CLI import), which no warm run can go below. Nothing is asserted.

    python bench/cache.py [--repeat 5] [--corpus DIR] [-j N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 10.0
PYCACHE = Path(tempfile.gettempdir()) / "dfix-bench-pycache"


def corpus_files(corpus: Path) -> list[str]:
    return sorted(str(p) for p in corpus.rglob("*") if p.is_file() and p.name != "SOURCES.tsv")


def _env() -> dict:
    """As bench/throughput.py: this checkout first on PYTHONPATH, bytecode caching on in a private
    prefix; the cache is only what the command line says."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), PYTHONPYCACHEPREFIX=str(PYCACHE))
    for var in ("PYTHONDONTWRITEBYTECODE", "DFIX_NO_CACHE", "DFIX_CACHE_DIR"):
        env.pop(var, None)
    return env


def timed(cmd: list[str], cwd: str, out_path: str) -> tuple[float, float, int]:
    """(wall s, cpu s of the process and its reaped children, exit code); stdout to ``out_path``."""
    with open(out_path, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdout=out, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    return wall, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status)


def entries(cache: Path) -> tuple[int, int]:
    """(per-file entries, files) in a cache directory: the entries of one directory's Dockerfiles
    share a file (a pack; see refactor/cache.py)."""
    n = files = 0
    for p in (cache / "v1").rglob("*") if (cache / "v1").is_dir() else ():
        if p.is_file() and not p.name.startswith("."):
            files += 1
            doc = json.loads(p.read_bytes().partition(b"\n")[2])
            n += len(doc.get("entries", {}))
    return n, files


def round_(name: str, base: list[str], targets: list[str], tmp: str) -> dict:
    cache = Path(tmp) / f"cache-{name}"
    shutil.rmtree(cache, ignore_errors=True)
    outs = {k: os.path.join(tmp, f"{name}-{k}.out") for k in ("nocache", "cold", "warm")}
    row = {}
    row["nocache"] = timed([*base, "--no-cache", *targets], tmp, outs["nocache"])
    row["cold"] = timed([*base, "--cache-dir", str(cache), *targets], tmp, outs["cold"])
    row["stored"] = entries(cache)
    row["warm"] = timed([*base, "--cache-dir", str(cache), *targets], tmp, outs["warm"])
    data = {k: Path(p).read_bytes() for k, p in outs.items()}
    codes = {row[k][2] for k in ("nocache", "cold", "warm")}
    row["identical"] = data["nocache"] == data["cold"] == data["warm"] and len(codes) == 1
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=None, help="default: $DFIX_CORPUS/real or ../shared/corpus/real")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("-j", "--jobs", type=int, default=0, help="dfix -j (default: dfix's own choice)")
    a = ap.parse_args()
    corpus = a.corpus or Path(os.environ.get("DFIX_CORPUS") or ROOT.parent / "shared" / "corpus") / "real"
    if not corpus.is_dir():
        print(f"corpus not found at {corpus} (set DFIX_CORPUS or --corpus)", file=sys.stderr)
        return 2
    files = corpus_files(corpus)
    print(
        f"# result cache: cold vs warm over {corpus} ({len(files)} files); {os.cpu_count()} CPU(s); "
        f"Python {sys.version.split()[0]}; load average at start {os.getloadavg()[0]:.2f}"
    )
    base = [sys.executable, "-m", "refactor", "-q", "-j", str(a.jobs)]
    ways = {"files": files, "dir": [str(corpus)]}
    rounds: dict[str, list[dict]] = {k: [] for k in ways}
    floor = []
    with tempfile.TemporaryDirectory(prefix="dfix-bench-cache-") as tmp:
        timed([*base, "--no-cache", *files], tmp, os.path.join(tmp, "warmup.out"))  # page cache, pyc files
        for _ in range(a.repeat):
            for name, targets in ways.items():
                rounds[name].append(round_(name, base, targets, tmp))
            floor.append(timed([sys.executable, "-m", "refactor", "--version"], tmp, os.path.join(tmp, "v.out")))

    def med(rows, k, i):
        return statistics.median(r[k][i] for r in rows)

    print(
        f"\n| way | no cache wall / cpu | cold wall / cpu | warm wall / cpu | cold/warm wall | cold/warm cpu | entries stored | outputs identical | target ≥ {TARGET_RATIO:.0f}× (wall) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    notes = []
    for name, rows in rounds.items():
        nc = (med(rows, "nocache", 0), med(rows, "nocache", 1))
        cold = (med(rows, "cold", 0), med(rows, "cold", 1))
        warm = (med(rows, "warm", 0), med(rows, "warm", 1))
        rw, rc = cold[0] / warm[0], cold[1] / warm[1]
        same = all(r["identical"] for r in rows)
        stored = "{} in {} files".format(*rows[-1]["stored"])
        print(
            f"| {name} | {nc[0]:.2f} s / {nc[1]:.2f} s | {cold[0]:.2f} s / {cold[1]:.2f} s | {warm[0]:.3f} s / {warm[1]:.3f} s | "
            f"{rw:.1f}× | {rc:.1f}× | {stored} | {'yes' if same else 'NO'} | {'met' if rw >= TARGET_RATIO else 'missed'} |"
        )
        warms = ", ".join(f"{r['warm'][0] * 1000:.0f}" for r in rows)
        notes.append(
            f"- {name}: warm is {nc[0] / warm[0]:.1f}× (wall) / {nc[1] / warm[1]:.1f}× (cpu) faster than no cache; "
            f"cold costs {100 * (cold[0] / nc[0] - 1):+.0f}% wall, {100 * (cold[1] / nc[1] - 1):+.0f}% cpu over no cache; "
            f"warm wall per round: {warms} ms"
        )
    fw = statistics.median(w for w, _, _ in floor)
    fc = statistics.median(c for _, c, _ in floor)
    print()
    print("\n".join(notes))
    print(f"- floor (`dfix --version`: interpreter + CLI import): {fw * 1000:.0f} ms wall, {fc * 1000:.0f} ms cpu")
    print(f"# load average at end {os.getloadavg()[0]:.2f} (other work on the machine inflates wall times)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

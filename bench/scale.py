"""Scale: dfix report mode over generated monorepos of 1k … 10k Dockerfiles.

For each size N (bench/_gen.py writes the monorepo), one ``dfix --format json -q ROOT`` process
(directory discovery, report mode, JSON to /dev/null) is timed per ``-j`` setting, and its memory
is measured two ways:

- **peak RSS (max process)**: ``ru_maxrss`` from ``wait4`` — the largest single process of the
  run (the CLI or one pool worker);
- **peak RSS (tree)**: the largest sum of VmRSS over the CLI and its workers, sampled from /proc
  every 10 ms (Linux only; blank elsewhere).

It prints time per file and memory against N. Linear time means a flat ms/file column; flat memory
means the RSS columns do not grow with N. Ratios are measured in the same run; nothing is asserted.

    python bench/scale.py                          # 1000,2500,5000,10000 with -j default and -j 1
    python bench/scale.py --sizes 1000,10000 --jobs 0 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gen import generate  # noqa: E402


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeSampler(threading.Thread):
    """Largest sum of VmRSS over a process and its descendants, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.max_procs = pid, 0, 0
        self.stop = threading.Event()
        self.ok = os.path.exists(f"/proc/{pid}/task")

    def run(self) -> None:
        while self.ok and not self.stop.is_set():
            todo, seen = [self.pid], []
            while todo:
                p = todo.pop()
                seen.append(p)
                todo += _children(p)
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in seen))
            self.max_procs = max(self.max_procs, len(seen))
            self.stop.wait(0.01)


def measure(cmd: list[str], cwd: Path, cache: bool = False) -> dict:
    # bytecode caching ON in a private prefix (see bench/latency.py), whatever PYTHONDONTWRITEBYTECODE says
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / "dfix-bench-pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not cache:
        env["DFIX_NO_CACHE"] = "1"  # every run analyses: the result cache is measured by bench/cache.py and bench/perf.py
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    # read stderr in a thread so a chatty run cannot block; reap with wait4 for the rusage
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    reader.start()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop.set()
    sampler.join()
    reader.join()
    return {
        "wall": wall,
        "cpu": ru.ru_utime + ru.ru_stime,
        "maxrss_mb": ru.ru_maxrss / 1024,  # KiB on Linux
        "tree_mb": sampler.peak_kb / 1024 if sampler.ok else None,
        "procs": sampler.max_procs,
        "code": proc.returncode,
        "stderr": b"".join(err).decode("utf-8", "replace"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,2500,5000,10000")
    ap.add_argument("--jobs", default="0,1", help="comma-separated -j values (0 = dfix's default)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per point (the median is reported)")
    ap.add_argument("--secret-ratio", type=float, default=0.3)
    ap.add_argument("--workdir", type=Path, default=None, help="where to generate (default: a temp dir, removed)")
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    jobs = [int(x) for x in a.jobs.split(",")]

    print(f"# dfix scale benchmark: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, "
          f"load average at start {os.getloadavg()[0]:.2f}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="dfix-scale-", dir=a.workdir) as tmp:
        for n in sizes:
            root = Path(tmp) / f"mono-{n}"
            t0 = time.perf_counter()
            info = generate(root, n, a.secret_ratio, seed=n)
            gen_s = time.perf_counter() - t0
            print(f"# generated {n} files ({info['secret_files']} with secrets, {info['services']} services) in {gen_s:.1f} s")
            # warm the page cache and check the run is sane
            first = measure([sys.executable, "-m", "refactor", "-q", "--format", "json", "-j", "1", str(root)], Path(tmp))
            if first["code"] not in (0, 1):
                print(f"dfix failed (exit {first['code']}): {first['stderr'][-500:]}", file=sys.stderr)
                return 1
            for j in jobs:
                runs = [measure([sys.executable, "-m", "refactor", "-q", "--format", "json", "-j", str(j), str(root)], Path(tmp))
                        for _ in range(a.repeat)]
                wall = statistics.median(r["wall"] for r in runs)
                cpu = statistics.median(r["cpu"] for r in runs)
                rows.append({
                    "n": n, "jobs": j, "wall_s": wall, "cpu_s": cpu, "ms_per_file": 1000 * wall / n,
                    "cpu_ms_per_file": 1000 * cpu / n, "files_per_s": n / wall,
                    "maxrss_mb": max(r["maxrss_mb"] for r in runs),
                    "tree_mb": max((r["tree_mb"] or 0) for r in runs) or None,
                    "procs": max(r["procs"] for r in runs),
                })
                r = rows[-1]
                print(f"  N={n:>6}  -j {j}: {wall:7.2f} s  {r['ms_per_file']:6.2f} ms/file  (cpu {r['cpu_ms_per_file']:5.2f} ms/file)"
                      f"  peak RSS {r['maxrss_mb']:6.1f} MB max-process, "
                      + (f"{r['tree_mb']:6.1f} MB tree ({r['procs']} procs)" if r["tree_mb"] else "tree n/a"), flush=True)
            import shutil

            shutil.rmtree(root, ignore_errors=True)

    print()
    print("| N | -j | wall s | ms/file | cpu ms/file | files/s | ms/file vs smallest N | peak RSS max-process MB | vs smallest N | peak RSS tree MB | vs smallest N |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for j in jobs:
        mine = [r for r in rows if r["jobs"] == j]
        base = mine[0]
        for r in mine:
            tree = f"{r['tree_mb']:.1f}" if r["tree_mb"] else "n/a"
            tree_x = f"{r['tree_mb'] / base['tree_mb']:.2f}×" if r["tree_mb"] and base["tree_mb"] else "n/a"
            print(f"| {r['n']} | {j or 'default'} | {r['wall_s']:.2f} | {r['ms_per_file']:.2f} | {r['cpu_ms_per_file']:.2f} | "
                  f"{r['files_per_s']:.0f} | {r['ms_per_file'] / base['ms_per_file']:.2f}× | {r['maxrss_mb']:.1f} | "
                  f"{r['maxrss_mb'] / base['maxrss_mb']:.2f}× | {tree} | {tree_x} |")
    print()
    for j in jobs:
        mine = [r for r in rows if r["jobs"] == j]
        if len(mine) >= 2:
            lo, hi = mine[0], mine[-1]
            print(f"-j {j or 'default'}: N ×{hi['n'] / lo['n']:.0f} → time ×{hi['wall_s'] / lo['wall_s']:.2f} "
                  f"(linear would be ×{hi['n'] / lo['n']:.0f}), peak RSS ×{hi['maxrss_mb'] / lo['maxrss_mb']:.2f} (flat would be ×1)")
    print(f"# load average at end {os.getloadavg()[0]:.2f} (other work on the machine inflates wall times; cpu ms/file is less sensitive)")
    if a.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

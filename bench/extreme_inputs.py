"""Extreme inputs: how long dfix takes on the cases of tests/test_extreme_inputs.py.

The test asserts exit codes, the migration and a memory bound, with only a hang guard on time
(a wall-clock limit there made the suite flaky on a shared machine). The times are measured here:
for each case and mode (``--write --format json``; ``--diff`` where the test runs it too), the
median of ``-n`` runs, each in a fresh process, as wall and CPU (user+sys of the child, from
``wait4``: robust to other load on the machine) seconds, with peak RSS.

Anchor, measured in the same run: the same command on a tiny Dockerfile (process start, imports,
one small file). Each case is printed as a ratio to it, so numbers from machines of different
speed, or a loaded one, can be compared. The old test limit (20 s wall) is shown for reference.
Nothing is asserted; the exit status is 0 unless a run fails.

    python bench/extreme_inputs.py [-n 3] [-k SUBSTRING] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from tests.test_extreme_inputs import _WRAPPER, CASES, HEAD, WITH_DIFF  # noqa: E402

OLD_LIMIT_S = 20.0


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def run_once(text: str, mode: list[str]) -> tuple[int, float, float, int]:
    """(exit code, wall s, cpu s, peak RSS KiB) of one fresh ``dfix MODE Dockerfile`` on ``text``."""
    with tempfile.TemporaryDirectory(prefix="dfix-bench-extreme-") as tmp:
        (Path(tmp) / "Dockerfile").write_text(text)
        with tempfile.TemporaryFile() as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-c", _WRAPPER, *mode, "Dockerfile"], cwd=tmp, env=_env(),
                                    stdout=subprocess.DEVNULL, stderr=err)
            _, status, ru = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            err.seek(0)
            marker = err.read().decode(errors="replace").rsplit("DFIX_PEAK_RSS_KB ", 1)
    rss = int(marker[1].split()[0]) if len(marker) == 2 else -1
    return os.waitstatus_to_exitcode(status), wall, ru.ru_utime + ru.ru_stime, rss


def measure(text: str, mode: list[str], n: int) -> dict:
    runs = [run_once(text, mode) for _ in range(n)]
    return {
        "exit": sorted({r[0] for r in runs}),
        "wall_s": statistics.median(r[1] for r in runs),
        "cpu_s": statistics.median(r[2] for r in runs),
        "rss_mib": max(r[3] for r in runs) / 1024,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=3, help="runs per case (median; default 3)")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    anchor = measure(HEAD + "RUN npm ci\n", ["--write", "--format", "json"], max(args.n, 3))
    rows = []
    for name, text in CASES.items():
        if args.k not in name:
            continue
        modes = [["--write", "--format", "json"]] + ([["--diff"]] if name in WITH_DIFF else [])
        for mode in modes:
            m = measure(text, mode, args.n)
            m.update(case=name, mode=mode[0], kib=len(text.encode()) / 1024,
                     wall_x=m["wall_s"] / anchor["wall_s"], cpu_x=m["cpu_s"] / anchor["cpu_s"],
                     rss_delta_mib=m["rss_mib"] - anchor["rss_mib"])
            rows.append(m)
            if not args.json:
                print(f"{name:28s} {mode[0]:8s} {m['kib']:8.0f} KiB  wall {m['wall_s']:6.2f} s ({m['wall_x']:5.1f}x)"
                      f"  cpu {m['cpu_s']:6.2f} s ({m['cpu_x']:5.1f}x)  rss {m['rss_mib']:5.0f} MiB"
                      f" ({m['rss_delta_mib']:+.0f})  exit {m['exit']}", flush=True)
    failed = [r for r in rows if set(r["exit"]) - {0, 1}]
    if args.json:
        print(json.dumps({"load1": load, "anchor": anchor, "cases": rows}, indent=2))
    else:
        print(f"\nanchor (tiny Dockerfile, same command): wall {anchor['wall_s']:.2f} s, cpu {anchor['cpu_s']:.2f} s,"
              f" rss {anchor['rss_mib']:.0f} MiB; load average at start {load:.2f}")
        worst = max(rows, key=lambda r: r["wall_s"], default=None)
        if worst:
            print(f"slowest: {worst['case']} {worst['mode']} {worst['wall_s']:.2f} s"
                  f" ({worst['wall_s'] / OLD_LIMIT_S:.0%} of the old {OLD_LIMIT_S:.0f} s test limit)")
        if failed:
            print("FAILED (exit not 0/1): " + ", ".join(f"{r['case']} {r['mode']}" for r in failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

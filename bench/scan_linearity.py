"""Literal scanning on long repetitive input: time, and how it grows with the input.

tests/test_detection_literals.py::test_scanning_is_linear only guards against a hang (a child
process killed after a generous timeout); it used to assert ``scan() < 3.0 s`` of wall time, which
made the suite flaky on a shared machine. This measures instead: for each input of that test,
``refactor.analysis.literals.scan`` on the input built with 1x, 2x and 4x the repetitions (best of
``-n`` runs, CPU time of this process), and prints

- the time at 1x (the test's size) and its ratio to an anchor measured in the same run: a scan of
  the same number of characters of plain prose-like text (``"lorem ipsum "`` repeated), which takes
  the regexes' fast paths;
- the growth ratios t(2x)/t(1x) and t(4x)/t(1x): about 2 and 4 for a linear scan, about 4 and 16
  for a quadratic one.

Nothing is asserted.

    python bench/scan_linearity.py [-n 5] [-k SUBSTRING]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from refactor.analysis.literals import scan  # noqa: E402

# name -> f(k): the test's input with k times the repetitions (k=1: exactly the test's input)
INPUTS = {
    "curl-repeated": lambda k: "curl " * 40000 * k,
    "url-colons": lambda k: "://a:" * 40000 * k,
    "key-headers": lambda k: "-----BEGIN RSA PRIVATE KEY-----" * 5000 * k,
    "long-assignment": lambda k: "a" * 200000 * k + "=" + "b" * 200000 * k,
    "password-options": lambda k: "--password " * 30000 * k,
    "mysql-long-command": lambda k: "mysql " + "x " * 100000 * k + "-p",
    "htpasswd-long": lambda k: "htpasswd -b " + "a " * 100000 * k,
    "cred-word-run": lambda k: "PASSWORD" * 50000 * k,
    "chpasswd-long": lambda k: "echo a:b " * 40000 * k + "| chpasswd",
    "net-user-repeated": lambda k: "net user " * 40000 * k,
    "mongo-long-command": lambda k: "mongo " + "-u x " * 50000 * k,
    "netrc-repeated": lambda k: "machine h login u " * 30000 * k,
    "url-without-at": lambda k: "https://" + "a" * 100000 * k + ":" + "b" * 100000 * k,
}


def best_cpu(text: str, n: int) -> float:
    """Best CPU time of ``n`` scans; ``scan`` memoizes its results, so the cache is cleared first."""
    best = float("inf")
    for _ in range(n):
        getattr(scan, "cache_clear", lambda: None)()
        t0 = time.process_time()
        scan(text)
        best = min(best, time.process_time() - t0)
    return max(best, 1e-6)


def _prose(chars: int) -> str:
    unit = "lorem ipsum "
    return (unit * (chars // len(unit) + 1))[:chars]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=5, help="runs per measurement (best of; default 5)")
    ap.add_argument("-k", default="", help="only inputs whose name contains this")
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{'input':22s} {'chars':>8s} {'t(1x) ms':>9s} {'vs anchor':>9s} {'t2x/t1x':>8s} {'t4x/t1x':>8s}")
    worst = 0.0
    for name, make in INPUTS.items():
        if args.k not in name:
            continue
        one = make(1)
        t1, t2, t4 = (best_cpu(make(k), args.n) for k in (1, 2, 4))
        anchor = best_cpu(_prose(len(one)), args.n)
        worst = max(worst, t4 / t1)
        print(f"{name:22s} {len(one):8d} {t1 * 1000:9.1f} {t1 / anchor:8.1f}x {t2 / t1:8.2f} {t4 / t1:8.2f}", flush=True)
    print(f"\nlinear: t2x/t1x ~ 2, t4x/t1x ~ 4; quadratic: ~ 4 and ~ 16. Largest t4x/t1x: {worst:.2f}."
          f" Anchor: prose of the same length. Load average at start {load:.2f}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

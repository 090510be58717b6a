"""Latency: one Dockerfile, from process start to exit. Target ≤ 150 ms.

Times, as the median of ``-n`` runs after warm-ups (pyc files and page cache warm):

- ``python -m refactor -q FILE`` and the ``dfix`` console script (report mode on a Dockerfile with
  a secret build arg, so detection, planning and the emitted command all run);
- the same on a clean Dockerfile, ``dfix --version`` (CLI import only), and the interpreter floor
  (``python -c pass``, ``python -S -c pass``) for reference.

Then ``python -X importtime`` of the secret-file run: the top imports by self and cumulative time,
and which of the heavy dependencies (libcst, jinja2, ruamel.yaml, tree-sitter, dockerfile-parse,
pathspec, click) each kind of run loads (issue 9: they must load only when the work needs them).
Nothing is asserted.

    python bench/latency.py [-n 31] [--file Dockerfile]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 150.0
SECRET = "FROM node:20\nARG NPM_TOKEN\nWORKDIR /app\nCOPY package.json ./\nRUN npm ci\nCOPY . .\nCMD [\"node\", \"server.js\"]\n"
CLEAN = "FROM python:3.12-slim\nARG APP_VERSION=1.0\nWORKDIR /srv\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n"
HEAVY = ["click", "jinja2", "libcst", "ruamel", "tree_sitter", "tree_sitter_bash", "dockerfile_parse", "pathspec"]
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


PYCACHE = Path(tempfile.gettempdir()) / "dfix-bench-pycache"


def _env() -> dict:
    """Children run with bytecode caching ON (in a private PYTHONPYCACHEPREFIX), whatever the caller's
    PYTHONDONTWRITEBYTECODE says: an installed dfix has .pyc files, and compiling every module from
    source on each start would add ~50 ms that no user sees."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONPYCACHEPREFIX=str(PYCACHE))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["DFIX_NO_CACHE"] = "1"  # every run analyses: the result cache is measured by bench/cache.py
    return env


def run_times(cmd: list[str], cwd: str, n: int, warm: int = 3) -> tuple[list[float], list[float]]:
    """(wall ms, cpu ms) of each timed run; cpu = user+sys from wait4, robust to other load."""
    env = _env()
    wall, cpu = [], []
    for k in range(warm + n):
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if k >= warm:
            wall.append(1000 * (time.perf_counter() - t0))
            cpu.append(1000 * (ru.ru_utime + ru.ru_stime))
    return wall, cpu


def importtime(cmd_args: list[str], cwd: str) -> list[tuple[int, int, int, str]]:
    """(self µs, cumulative µs, depth, module) of one run's imports."""
    p = subprocess.run([sys.executable, "-X", "importtime", *cmd_args], cwd=cwd, env=_env(), capture_output=True, text=True)
    rows = []
    for line in p.stderr.splitlines():
        m = _IMPORT_LINE.match(line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2, m.group(4)))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=31, help="timed runs per command (median reported)")
    ap.add_argument("--file", type=Path, default=None, help="Dockerfile to use (default: a generated one with NPM_TOKEN)")
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args()

    dfix_exe = shutil.which("dfix") or str(Path(sys.executable).parent / "dfix")
    with tempfile.TemporaryDirectory(prefix="dfix-bench-lat-") as tmp:
        secret = Path(tmp) / "svc" / "Dockerfile"
        secret.parent.mkdir()
        secret.write_text(a.file.read_text() if a.file else SECRET)
        (Path(tmp) / "svc" / "package.json").write_text("{}\n")
        clean = Path(tmp) / "clean" / "Dockerfile"
        clean.parent.mkdir()
        clean.write_text(CLEAN)
        print(f"# latency: {a.n} runs per command after 3 warm-ups; {os.cpu_count()} CPU(s); Python {sys.version.split()[0]}; "
              f"load average {os.getloadavg()[0]:.2f}; bytecode cache on ({PYCACHE}"
              + (", overriding PYTHONDONTWRITEBYTECODE)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else ")"))
        cases = [
            ("python -m refactor FILE", [sys.executable, "-m", "refactor", "-q", str(secret)], True),
            ("dfix FILE (console script)", [dfix_exe, "-q", str(secret)], True),
            ("dfix --format json FILE", [dfix_exe, "-q", "--format", "json", str(secret)], True),
            ("dfix clean FILE", [dfix_exe, "-q", str(clean)], False),
            ("dfix --version", [dfix_exe, "--version"], False),
            ("python -c pass", [sys.executable, "-c", "pass"], False),
            ("python -S -c pass", [sys.executable, "-S", "-c", "pass"], False),
            ("python -c 'import click'", [sys.executable, "-c", "import click"], False),
        ]
        if not os.path.exists(dfix_exe):
            cases = [c for c in cases if c[1][0] != dfix_exe]
            print("  (no dfix console script found: pip install -e .)")
        print()
        print("| command | median ms | p10 ms | p90 ms | min ms | median cpu ms | target ≤ 150 ms (median) |")
        print("|---|---:|---:|---:|---:|---:|---|")
        medians = {}
        for name, cmd, judged in cases:
            t, c = run_times(cmd, tmp, a.n)
            t.sort()
            med = statistics.median(t)
            medians[name] = med
            p10, p90 = t[len(t) // 10], t[min(len(t) - 1, (9 * len(t)) // 10)]
            verdict = ("met" if med <= TARGET_MS else f"missed by {med - TARGET_MS:.0f} ms") if judged else ""
            print(f"| `{name}` | {med:.1f} | {p10:.1f} | {p90:.1f} | {t[0]:.1f} | {statistics.median(c):.1f} | {verdict} |",
                  flush=True)
        floor = medians.get("python -c pass", 0)
        if "dfix FILE (console script)" in medians:
            total = medians["dfix FILE (console script)"]
            cli = medians.get("dfix --version", 0)
            print(f"\nbreakdown (medians): interpreter {floor:.0f} ms + CLI import {cli - floor:.0f} ms + "
                  f"analysis/imports for the file {total - cli:.0f} ms = {total:.0f} ms")

        rows = importtime(["-m", "refactor", "-q", str(secret)], tmp)
        total_us = sum(r[0] for r in rows)
        print(f"\n# python -X importtime -m refactor -q FILE: {len(rows)} modules, {total_us / 1000:.0f} ms of imports (self times summed)")
        print(f"\ntop {a.top} by self time:")
        for s, c, d, m in sorted(rows, key=lambda r: -r[0])[: a.top]:
            print(f"  {s / 1000:7.1f} ms self  {c / 1000:7.1f} ms cumulative  {m}")
        print(f"\ntop {a.top} packages by cumulative time (top-level imports):")
        top = {}
        for s, c, d, m in rows:
            pkg = m.split(".")[0]
            if d == 0 or m == pkg:
                top[pkg] = max(top.get(pkg, 0), c)
        for pkg, c in sorted(top.items(), key=lambda kv: -kv[1])[: a.top]:
            print(f"  {c / 1000:7.1f} ms  {pkg}")

        print("\nheavy dependencies loaded per kind of run (issue 9: lazily, only when needed):")
        kinds = [("--version", ["-m", "refactor", "--version"]), ("--list-rules", ["-m", "refactor", "--list-rules"]),
                 ("clean file", ["-m", "refactor", "-q", str(clean)]), ("secret file", ["-m", "refactor", "-q", str(secret)]),
                 ("secret --format json", ["-m", "refactor", "-q", "--format", "json", str(secret)])]
        print("| run | " + " | ".join(HEAVY) + " | import ms |")
        print("|---|" + "---|" * len(HEAVY) + "---:|")
        for label, args in kinds:
            r = importtime(args, tmp)
            names = {m for _, _, _, m in r}
            cells = ["yes" if h in names else "-" for h in HEAVY]
            print(f"| {label} | " + " | ".join(cells) + f" | {sum(x[0] for x in r) / 1000:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

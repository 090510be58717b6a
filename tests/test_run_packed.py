"""A bulk report run keeps its results packed (refactor.run_packed) and prints exactly what an
unpacked run prints: every format, with callers linked and blocked, DF010 findings attached,
masks shared across files, parse errors, in one process or with workers, with or without the
result cache."""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import pytest
from helpers import run

from refactor import run as run_mod
from refactor import run_packed

CANARY = "lit-Pq7Zx2Wv9Kr4Mt8Bn3Hj6"


def _repo(root: Path) -> Path:
    files: dict[str, str | bytes] = {
        # a migrated secret whose caller follows (DF001 + DF011)
        "svc/api/Dockerfile": 'FROM node:20\nARG NPM_TOKEN\nRUN echo "//r/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc\n',
        "svc/api/build.sh": "#!/bin/sh\ndocker build --build-arg NPM_TOKEN=$NPM_TOKEN --build-arg OLD_FLAG=1 svc/api\n",
        # a caller that cannot follow: the fix is blocked (lowered to unsafe)
        "svc/web/Dockerfile": 'FROM node:20\nARG GH_TOKEN\nRUN echo "//r/:_authToken=${GH_TOKEN}" > .npmrc && npm ci && rm .npmrc\n',
        ".gitlab-ci.yml": "build:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n"
        "    - /kaniko/executor --context svc/web --build-arg GH_TOKEN=$GH_TOKEN --destination x\n",
        # a committed literal, masked wherever it is printed
        "svc/db/Dockerfile": f"FROM postgres:16\nENV POSTGRES_PASSWORD={CANARY}\nLABEL pw={CANARY}\n",
        # DF010: one token reads in the build and publishes in CI
        "svc/pkg/Dockerfile": 'FROM node:20\nARG NODE_AUTH_TOKEN\nRUN echo "//r/:_authToken=${NODE_AUTH_TOKEN}" > .npmrc && npm ci\n',
        ".github/workflows/release.yml": "on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NODE_AUTH_TOKEN }}\n",
        # a clean file, a file that does not parse, a mutable base
        "svc/clean/Dockerfile": "FROM alpine:3.20@sha256:" + "a" * 64 + "\nRUN echo hi\n",
        "svc/bad/Dockerfile": b"FROM alpine:3.20\nRUN echo \xff\xfe\n",
        "svc/latest/Dockerfile": "FROM ubuntu\nRUN true\n",
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return _repo(tmp_path / "repo")


def _outputs(repo: Path, args: list[str]) -> dict[str, tuple[int, str, str]]:
    out = {}
    for fmt in ("text", "json", "sarif", "github", "markdown"):
        out[fmt] = run(["--format", fmt, *args, "."], cwd=repo)
    out["statistics"] = run(["--statistics", *args, "."], cwd=repo)
    return out


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("cache", [False, True])
def test_packed_output_is_the_unpacked_output(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: str, cache: bool) -> None:
    args = ["-j", jobs] + (["--cache-dir", str(tmp_path / "cache")] if cache else ["--no-cache"])
    monkeypatch.setattr(run_mod, "PACK_ABOVE", 10**9)
    plain = _outputs(repo, args)
    if cache:  # a second cold run, so that both sides see the same (empty) cache
        shutil.rmtree(tmp_path / "cache", ignore_errors=True)
    packed_runs: list = []
    real = run_packed.PackedResults.__init__

    def spy(self, *a, **k):
        packed_runs.append(self)
        real(self, *a, **k)

    monkeypatch.setattr(run_mod, "PACK_ABOVE", 0)
    monkeypatch.setattr(run_packed.PackedResults, "__init__", spy)
    packed = _outputs(repo, args)
    assert packed_runs, "the run was not packed"
    for fmt in plain:
        assert packed[fmt] == plain[fmt], fmt
    text = plain["text"][1]
    for what in ("DF011", "DF012", "DF010", "DF009", "a caller cannot be migrated", "svc/bad/Dockerfile"):
        assert what in text + plain["text"][2], what
    assert all(CANARY not in o[1] + o[2] for o in plain.values())


def test_modes_that_keep_text_are_not_packed(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_mod, "PACK_ABOVE", 0)
    made: list = []
    monkeypatch.setattr(run_packed, "pack_result", lambda r: made.append(r))
    for args in (["--diff"], ["--check"], ["--format", "sarif", "--diff"]):
        run([*args, "--no-cache", "."], cwd=repo)
    assert made == []


def test_packed_results_hold_no_file_text(repo: Path) -> None:
    from refactor.engine import process_file
    from refactor.settings import Settings

    st = Settings(keep_text=False)
    p = run_packed.pack_result(process_file(str(repo / "svc/db/Dockerfile"), "svc/db/Dockerfile", st))
    r = p.result()
    assert r.original is None and r.new_text is None
    assert p.header.masks  # the literal is known, to mask it elsewhere
    assert run_packed.unpack(run_packed.pack(p)).header == p.header  # how a worker hands it over


def test_packing_round_trips_results_larger_than_its_window() -> None:
    """Results are packed with a 4 KiB window primed with a made-up result (``run_packed._zdict``):
    one of any size, sharing nothing with it or sharing much, comes back equal, and each packing is
    independent of the one before (the primed compressor is copied, never used itself)."""
    import random

    from refactor.results import FileResult

    rnd = random.Random(3)
    noise = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789 \n") for _ in range(50_000))
    results = [
        FileResult("p/Dockerfile", notes=(noise,), declared_args=tuple(f"ARG_{i}" for i in range(2_000))),
        FileResult("services/app/Dockerfile", notes=("x" * 100_000,)),
        FileResult(""),
    ]
    packed = [run_packed.pack((r, [("from",)])) for r in results]
    assert [run_packed.unpack(b) for b in reversed(packed)] == [(r, [("from",)]) for r in reversed(results)]
    assert packed == [run_packed.pack((r, [("from",)])) for r in results]
    assert len(packed[1]) < 2_000  # (compressed still)
    for damaged in (packed[0][:-5], packed[0] + b"junk"):  # a truncated or padded stream is an error, never a guess
        with pytest.raises(zlib.error):
            run_packed.unpack(damaged)


def test_the_spool_holds_only_results_that_know_no_secret(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above ``PACK_ABOVE`` files the parent moves each packed result to an unnamed temporary file
    (``refactor.run_spool``), except a result that knows a secret value: nothing dfix must mask
    ever reaches the disk. (The output is the unpacked run's: the test above runs through it.)"""
    import pickle

    from refactor import run_spool

    monkeypatch.setattr(run_mod, "PACK_ABOVE", 0)
    spooled: list[bytes] = []
    real = run_spool.Spool.put

    def spy(self, data: bytes):
        spooled.append(data)
        return real(self, data)

    monkeypatch.setattr(run_spool.Spool, "put", spy)
    code, out, err = run(["--no-cache", "-j", "1", "."], cwd=repo)
    assert code == 2 and "DF001" in out and CANARY not in out + err, err  # (exit 2: svc/bad does not decode)
    paths = [run_packed.unpack(d)[1].path for d in spooled]
    assert "svc/clean/Dockerfile" in paths and "svc/api/Dockerfile" in paths
    assert "svc/db/Dockerfile" not in paths  # (its literal is a secret value)
    for d in spooled:
        assert CANARY.encode() not in d + pickle.dumps(run_packed.unpack(d))


def test_a_spool_that_cannot_be_written_keeps_the_results_in_memory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(run_mod, "PACK_ABOVE", 10**9)
    plain = _outputs(repo, ["--no-cache"])
    monkeypatch.setattr(run_mod, "PACK_ABOVE", 0)

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    assert _outputs(repo, ["--no-cache"]) == plain


def test_the_spool_gives_back_what_it_took() -> None:
    from refactor.run_spool import Spool

    s = Spool()
    items = [b"", b"x", bytes(range(256)) * 40, b"", b"tail"]
    where = [s.put(d) for d in items]
    assert all(w is not None for w in where)
    assert [s.get(w) for w in reversed(where)] == list(reversed(items))  # type: ignore[arg-type]


def test_a_result_holding_a_credential_format_is_never_spooled() -> None:
    """Defence in depth: as the cache refuses a result whose strings hold a known credential format
    even when no mask names it, the spool takes none: its test is at least as strict as the cache's."""
    import pickle

    from refactor.cache_entries import _holds_token
    from refactor.results import FileResult

    texts = [
        "is written as an .npmrc auth token (line 3)",
        "Bearer abcdefgh12345678",
        "Basic dXNlcjpwYXNzd29yZDEyMw==",
        "token abcdef0123456789abcdef0123456789",
        "ghp_Zq8Lm2Vb7Qx9Rt4Wy6Pn3Kd5Hs1JfA0bC3dE",
        "value <redacted: 40 chars>",
        "npm ci",
    ]
    for t in texts:
        raw = pickle.dumps((FileResult("Dockerfile", notes=(t,)), None), protocol=pickle.HIGHEST_PROTOCOL)
        assert run_packed._may_hold_token(raw) or not _holds_token([t]), t
    assert not run_packed._may_hold_token(pickle.dumps(FileResult("Dockerfile", notes=(texts[0], texts[-1]))))

"""The result cache (``refactor.cache``, issue 19): a warm run prints what a cold run prints, in
every format and mode; any input that changed is a miss; a broken entry is a miss and is
rewritten; concurrent runs do not corrupt it; it never holds a secret value.

The suite runs with the cache off (tests/conftest.py sets ``DFIX_NO_CACHE``); these tests turn it
on with ``--cache-dir`` under ``tmp_path``. Nothing here measures time (bench/cache.py does).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import refactor
from refactor import cache as C
from refactor import cache_run
from refactor.cache_files import digest_hex
from refactor.cli import FORMATS
from refactor.settings import Mode, Settings
from tests.helpers import run

ROOT = Path(__file__).resolve().parent.parent
CANARY = "ghp_" + "Zq7Xw2Lr9Kd4Vb8Nm3Tp6Hs1Jf5Gc0Ya2Ue7"  # a GitHub token's shape; not a real one
assert len(CANARY) == 40


def tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


REPO = {
    "Dockerfile": "FROM node:20.1\nARG NPM_TOKEN\nRUN npm ci\n",  # a safe fix: the file changes
    "clean/Dockerfile": "FROM alpine:3.19\nRUN echo hi\n",
    "latest/Dockerfile": "FROM ubuntu\nRUN true\n",  # DF009
    "env/Dockerfile": "FROM alpine:3.19\nENV API_PASSWORD=Tr0ub4dor-and-3\nRUN ./start\n",  # a committed value
    "empty/Dockerfile": "# nothing here\n",  # a parse error
    "binary/Dockerfile": b"FROM a\x00\n",  # not a text file
    "ctx/Dockerfile": "FROM node:20.1\nARG NPM_TOKEN\nCOPY conf/ /etc/conf/\nCOPY . /app\nRUN npm ci\n",
    "ctx/.npmrc": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
    "ctx/conf/app.ini": "[app]\n",
    "build.sh": "#!/bin/sh\ndocker build --build-arg NPM_TOKEN=$NPM_TOKEN -t app .\n",  # a caller: linked to Dockerfile
}


@pytest.fixture
def repo(tmp_path) -> Path:
    return tree(tmp_path / "repo", REPO)


_real_code_version = C.code_version


@pytest.fixture(autouse=True)
def _pinned_code_version(monkeypatch) -> None:
    """The code version is the stat of dfix's own files: an edit of the checkout while these tests
    run (another session at work) would turn every hit into a miss. In process, it is pinned to
    its value at the start of each test; test_code_version_* check the real one. (Patched where
    ResultCache looks it up.)"""
    value = _real_code_version()
    monkeypatch.setattr(cache_run, "code_version", lambda: value)


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    """The files ``engine.process_file`` analysed (a cache miss analyses; a hit does not)."""
    import refactor.engine

    seen: list[str] = []
    real = refactor.engine.process_file

    def counting(path, display, settings):
        seen.append(display)
        return real(path, display, settings)

    monkeypatch.setattr(refactor.engine, "process_file", counting)
    return seen


def dfix(args: list[str], cache: Path | None, cwd: Path | None = None) -> tuple[int, str, str]:
    extra = ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
    return run(["-j", "1", *extra, *args], cwd=cwd)


def entries(cache: Path, scan: bool = False) -> list[Path]:
    """The per-file entries (with ``scan``: the DF010 scan and caller discovery entries too)."""
    out = []
    for p in sorted((cache / f"v{C.FORMAT}").rglob("*")):
        if p.is_file() and not p.name.startswith(".") and (scan or not any(k in p.read_bytes() for k in (b'"splits":', b'"callers_index":'))):
            out.append(p)
    return out


# --------------------------------------------------------------------------------------------
# What is in the key, and what is stored


def test_every_settings_field_is_in_the_key_or_listed_as_not_affecting_the_result() -> None:
    names = {f.name for f in dataclasses.fields(Settings)}
    assert set(C.NOT_IN_KEY) <= names, "NOT_IN_KEY names a field Settings no longer has"
    base = C.settings_key(Settings())
    from refactor.analysis.secrets import Policy
    from refactor.rules import Selection

    def other(value):
        if isinstance(value, Mode):
            return Mode.CHECK if value is not Mode.CHECK else Mode.DIFF
        if isinstance(value, bool):
            return not value
        if isinstance(value, int):
            return value + 1
        if isinstance(value, str):
            return value + "x"
        if value is None:
            return "x"
        if isinstance(value, tuple):
            return (*value, "x")
        if isinstance(value, dict):
            return {**value, "x/*": ["DF001"]}
        if isinstance(value, Policy):
            return Policy(("MY_*",), ())
        if isinstance(value, Selection):
            return Selection(select=("DF001",))
        raise AssertionError(f"add a changed value for {type(value).__name__}")

    for name in sorted(names):
        st = Settings()
        setattr(st, name, other(getattr(st, name)))
        changed = C.settings_key(st) != base
        if name in C.NOT_IN_KEY:
            assert not changed, f"{name} is listed as not in the key but changes it"
        else:
            assert changed, f"Settings.{name} does not change the cache key"


def test_every_result_field_is_stored_or_listed() -> None:
    from refactor.buildspec import BuildSpec, SecretSpec
    from refactor.results import FileResult, FindingOut, FixOut

    assert {f.name for f in dataclasses.fields(FileResult)} == set(C.RESULT_FIELDS) | set(C.RESULT_NOT_STORED)
    assert not set(C.RESULT_FIELDS) & set(C.RESULT_NOT_STORED)
    assert tuple(f.name for f in dataclasses.fields(FindingOut)) == C.FINDING_FIELDS
    assert tuple(f.name for f in dataclasses.fields(FixOut)) == C.FIX_FIELDS + tuple(C.FIX_NOT_STORED)
    # stored whole (every field): no text, names and paths only
    assert {f.name for f in dataclasses.fields(BuildSpec)} == {
        "dockerfile", "context", "secrets", "ssh", "build_args", "notes", "secret_build_args", "env_mounts",
    }  # fmt: skip
    assert {f.name for f in dataclasses.fields(SecretSpec)} == {"id", "type", "env", "src"}


def test_the_mirrored_reads_match_the_modules_they_mirror(tmp_path) -> None:
    """The rewrite check's context walk (buildcontext.context_configs, which the cache
    fingerprints: its expected result here) and the DF010 scan's file choice (mirrored in
    refactor.cache: importing split.py would cost more than a warm run) must not drift."""
    from refactor import buildcontext
    from refactor.supply import split

    tree(tmp_path, {
        ".npmrc": "a=${A}\n", "sub/pip.conf": "x\n", "sub/deep/er/pyproject.toml": "[x]\n", "node_modules/.npmrc": "n\n",
        "venv/pip.conf": "v\n", "other.txt": "o\n", "requirements.txt": "r\n", "big/settings.xml": "x" * (1024 * 1024 + 1),
    })  # fmt: skip
    assert buildcontext.context_configs(str(tmp_path)) == {
        ".npmrc": "a=${A}\n", "requirements.txt": "r\n", "sub/pip.conf": "x\n", "sub/deep/er/pyproject.toml": "[x]\n",
        "big/settings.xml": None,
    }  # fmt: skip
    assert buildcontext.context_configs(str(tmp_path / "missing")) is None
    for n in range(buildcontext._WALK_LIMIT + 1):
        (tmp_path / "many").mkdir(exist_ok=True)
        (tmp_path / "many" / f"f{n}").touch()
    assert buildcontext.context_configs(str(tmp_path)) is None

    assert C._SCAN_SKIP_DIRS == split.SKIP_DIRS and C._SCAN_MAX_BYTES == split.MAX_BYTES
    assert C._SCAN_CONFIG_NAMES == split._CONFIG_NAMES and C._SCAN_SCRIPT_NAMES == split._SCRIPT_NAMES
    assert C._SCAN_SUFFIXES == split._SCAN_SUFFIXES
    for name in ("Dockerfile", "Containerfile.dev", "ci.yml", "x.sh", "Makefile", ".npmrc", "README.md", "a.py", "LICENSE", "b.gradle.kts"):
        assert C._scan_relevant(name) == split._relevant(name), name


def test_code_version_follows_the_package_files_and_the_version(tmp_path, monkeypatch) -> None:
    code_version = _real_code_version
    pkg = tree(tmp_path / "pkg", {"__init__.py": "", "a.py": "x = 1\n", "sub/b.j2": "t\n"})
    monkeypatch.setattr(refactor, "__file__", str(pkg / "__init__.py"))
    first = code_version()
    assert code_version() == first
    os.utime(pkg / "sub" / "b.j2", ns=(1, 1))
    second = code_version()
    assert second != first
    (pkg / "c.py").write_text("")
    third = code_version()
    assert third not in (first, second)
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "a.cpython.pyc").write_bytes(b"x")
    assert code_version() == third  # bytecode is not code
    monkeypatch.setattr(refactor, "__version__", "99.0")
    assert code_version() != third


def test_cache_dir_resolution(tmp_path, monkeypatch) -> None:
    for var in ("DFIX_NO_CACHE", "DFIX_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if os.name != "nt":
        assert C.resolve_dir() == str(tmp_path / "home" / ".cache" / "dfix")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert C.resolve_dir() == str(tmp_path / "xdg" / "dfix")
    monkeypatch.setenv("DFIX_CACHE_DIR", str(tmp_path / "env"))
    assert C.resolve_dir() == str(tmp_path / "env")
    assert C.resolve_dir(str(tmp_path / "flag")) == str(tmp_path / "flag")
    monkeypatch.setenv("DFIX_NO_CACHE", "1")
    assert C.resolve_dir() is None
    assert C.resolve_dir(str(tmp_path / "flag")) == str(tmp_path / "flag")  # the flag is explicit
    assert C.resolve_dir(str(tmp_path / "flag"), no_cache=True) is None
    monkeypatch.setenv("DFIX_NO_CACHE", "0")
    assert C.resolve_dir() == str(tmp_path / "env")


# --------------------------------------------------------------------------------------------
# Hits


@pytest.mark.parametrize("mode", ["report", "--check", "--diff"])
def test_warm_run_prints_what_a_cold_run_prints_in_every_format(repo, tmp_path, calls, mode) -> None:
    flags = [] if mode == "report" else [mode]
    for fmt in FORMATS:
        cache = tmp_path / f"cache-{fmt}"
        args = [*flags, "--format", fmt, "."]
        fresh = dfix(args, None, cwd=repo)
        del calls[:]
        cold = dfix(args, cache, cwd=repo)
        assert len(calls) == 7
        del calls[:]
        warm = dfix(args, cache, cwd=repo)
        assert cold == fresh, fmt
        assert warm == fresh, fmt
        keeps_text = mode != "report" or fmt in ("sarif", "markdown")
        # a result that changes the file is stored only where no text is printed
        assert sorted(calls) == (["Dockerfile", "ctx/Dockerfile"] if keeps_text else []), fmt
        assert entries(cache)


def test_statistics_output_file_and_reports_are_the_same_warm(repo, tmp_path) -> None:
    cache = tmp_path / "cache"
    for args in (
        ["--statistics", "."],
        ["--format", "json", "--report", f"sarif={tmp_path / 'r.sarif'}", "."],
        ["-o", str(tmp_path / "o.txt"), "--format", "gitlab", "."],
    ):
        fresh = dfix(args, None, cwd=repo)
        files = {p: p.read_bytes() for p in tmp_path.glob("*.*")}
        assert dfix(args, cache, cwd=repo) == fresh
        assert dfix(args, cache, cwd=repo) == fresh
        assert {p: p.read_bytes() for p in tmp_path.glob("*.*")} == files


def test_explicit_files_and_relative_paths_are_keyed_apart(repo, tmp_path, calls) -> None:
    cache = tmp_path / "cache"
    fresh = dfix(["--format", "json", "Dockerfile"], None, cwd=repo)
    assert dfix(["--format", "json", "Dockerfile"], cache, cwd=repo) == fresh
    absolute = dfix(["--format", "json", str(repo / "Dockerfile")], None)
    del calls[:]
    assert dfix(["--format", "json", str(repo / "Dockerfile")], cache) == absolute  # other display path: a miss
    assert calls == [str(repo / "Dockerfile")]


def test_write_mode_stores_unchanged_files_only(repo, tmp_path, calls) -> None:
    cache = tmp_path / "cache"
    other = tmp_path / "copy"
    shutil.copytree(repo, other)
    fresh = dfix(["--write", "."], None, cwd=other)
    del calls[:]
    assert dfix(["--write", "."], cache, cwd=repo) == fresh
    assert len(calls) == 7
    assert (repo / "Dockerfile").read_bytes() == (other / "Dockerfile").read_bytes() != REPO["Dockerfile"].encode()
    want = dfix(["--write", "."], None, cwd=other)
    del calls[:]
    again = dfix(["--write", "."], cache, cwd=repo)
    assert again == want
    assert sorted(calls) == ["Dockerfile", "ctx/Dockerfile"]  # rewritten: new content, a new key
    del calls[:]
    assert dfix(["--write", "."], cache, cwd=repo) == again
    assert calls == []
    leftover = repo / "clean" / ".Dockerfile.dfix-tmp-123-abc"
    leftover.write_text("partial")
    assert dfix(["--write", "."], cache, cwd=repo) == again
    assert calls == ["clean/Dockerfile"]  # its directory's listing changed
    assert not leftover.exists()


def test_results_computed_in_worker_processes_are_stored(tmp_path, request) -> None:
    files = {}
    for d in range(10):
        for f in range(7):
            files[f"d{d}/{f}.Dockerfile"] = (
                f"FROM alpine:3.{d}\nARG TOKEN_{f}\nRUN echo {d} {f}\n" if f % 2 else f"FROM ubuntu\nRUN true {f}\n"
            )
    repo = tree(tmp_path / "many", files)
    cache = tmp_path / "cache"
    fresh = run(["-j", "2", "--no-cache", "--format", "json", "."], cwd=repo)
    assert run(["-j", "2", "--cache-dir", str(cache), "--format", "json", "."], cwd=repo) == fresh
    assert len(entries(cache)) == 10  # a pack per directory
    calls = request.getfixturevalue("calls")  # (a patched process_file cannot go to a worker)
    assert run(["-j", "2", "--cache-dir", str(cache), "--format", "json", "."], cwd=repo) == fresh
    assert calls == []  # all hits: no pool was started


# --------------------------------------------------------------------------------------------
# Invalidation


def _fresh_and_cached(repo: Path, cache: Path, args: list[str], calls: list[str]) -> list[str]:
    """Run with and without the cache; assert they agree; return what the cached run analysed."""
    fresh = dfix(args, None, cwd=repo)
    del calls[:]
    got = dfix(args, cache, cwd=repo)
    assert got == fresh
    return sorted(calls)


def test_a_changed_file_is_a_miss(repo, tmp_path, calls) -> None:
    cache = tmp_path / "cache"
    args = ["--format", "json", "."]
    assert len(_fresh_and_cached(repo, cache, args, calls)) == 7
    assert _fresh_and_cached(repo, cache, args, calls) == []
    (repo / "clean" / "Dockerfile").write_text("FROM alpine:3.19\nARG GITHUB_TOKEN\nRUN echo hi\n")
    assert _fresh_and_cached(repo, cache, args, calls) == ["clean/Dockerfile"]
    # same size, same mtime: the content decides
    st = os.stat(repo / "latest" / "Dockerfile")
    (repo / "latest" / "Dockerfile").write_text("FROM ubuntu\nRUN fals\n")
    os.utime(repo / "latest" / "Dockerfile", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _fresh_and_cached(repo, cache, args, calls) == ["latest/Dockerfile"]


@pytest.mark.parametrize(
    "flags",
    [
        ["--select", "DF009"],
        ["--ignore", "DF001"],
        ["--mount-style", "file"],
        ["--unsafe-fixes"],
        ["--emit", "bake"],
        ["--secret-name", "API_*"],
        ["--strategy", "multistage"],
        ["--max-file-size", "100000"],
    ],
)
def test_a_settings_change_is_a_miss(repo, tmp_path, calls, flags) -> None:
    cache = tmp_path / "cache"
    base = ["--format", "json", "."]
    _fresh_and_cached(repo, cache, base, calls)
    assert len(_fresh_and_cached(repo, cache, [*flags, *base], calls)) == 7
    assert _fresh_and_cached(repo, cache, [*flags, *base], calls) == []
    assert _fresh_and_cached(repo, cache, base, calls) == []  # both kept


def test_a_config_file_change_is_a_miss(repo, tmp_path, calls) -> None:
    cache = tmp_path / "cache"
    args = ["--format", "json", "."]
    _fresh_and_cached(repo, cache, args, calls)
    (repo / ".dfix.toml").write_text('mount-style = "file"\n')
    assert len(_fresh_and_cached(repo, cache, args, calls)) == 7
    (repo / "env" / ".dfix.toml").write_text('allow-names = ["API_*"]\n')  # the nearest config: one directory
    assert _fresh_and_cached(repo, cache, args, calls) == ["env/Dockerfile"]


def test_a_code_version_change_is_a_miss(repo, tmp_path, calls, monkeypatch) -> None:
    cache = tmp_path / "cache"
    args = ["--format", "json", "."]
    _fresh_and_cached(repo, cache, args, calls)
    assert _fresh_and_cached(repo, cache, args, calls) == []
    monkeypatch.setattr(refactor, "__version__", refactor.__version__ + ".post1")
    value = _real_code_version()
    monkeypatch.setattr(cache_run, "code_version", lambda: value)
    assert len(_fresh_and_cached(repo, cache, args, calls)) == 7
    assert _fresh_and_cached(repo, cache, args, calls) == []


@pytest.mark.parametrize("change", ["edit", "delete", "create"])
def test_a_context_npmrc_change_is_a_miss(repo, tmp_path, calls, change) -> None:
    cache = tmp_path / "cache"
    args = ["--format", "json", "."]
    npmrc = repo / "ctx" / ".npmrc"
    if change == "create":
        npmrc.unlink()
    _fresh_and_cached(repo, cache, args, calls)
    assert _fresh_and_cached(repo, cache, args, calls) == []
    if change == "edit":
        npmrc.write_text("//registry.npmjs.org/:_authToken=${OTHER_TOKEN}\n")
    elif change == "delete":
        npmrc.unlink()
    else:
        npmrc.write_text("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n")
    # the root Dockerfile has a fix: the rewrite check read every config file of its context (the
    # whole tree), ctx/.npmrc included
    assert _fresh_and_cached(repo, cache, args, calls) == ["Dockerfile", "ctx/Dockerfile"]
    assert _fresh_and_cached(repo, cache, args, calls) == []


def test_a_dockerignore_change_and_a_new_copied_file_are_misses(repo, tmp_path, calls) -> None:
    cache = tmp_path / "cache"
    args = ["--format", "json", "."]
    _fresh_and_cached(repo, cache, args, calls)
    before = dfix(args, cache, cwd=repo)[1]
    (repo / "ctx" / "conf" / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
    assert _fresh_and_cached(repo, cache, args, calls) == ["ctx/Dockerfile"]
    with_key = dfix(args, cache, cwd=repo)[1]
    assert with_key != before  # the key copied into a layer is reported
    (repo / "ctx" / ".dockerignore").write_text("conf/id_rsa\n")
    assert _fresh_and_cached(repo, cache, args, calls) == ["ctx/Dockerfile"]
    (repo / "ctx" / ".dockerignore").write_text("# nothing ignored\n")
    assert _fresh_and_cached(repo, cache, args, calls) == ["ctx/Dockerfile"]
    assert dfix(args, cache, cwd=repo)[1] == with_key


@pytest.mark.skipif(os.name == "nt", reason="symlinks")
def test_a_retargeted_context_link_is_a_miss(tmp_path, calls) -> None:
    """The credential-COPY check walks the context's real path: the key holds it."""
    df = "FROM alpine:3.19\nCOPY conf/ /etc/conf/\nRUN ./start\n"
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    repo = tree(tmp_path / "repo", {"one/Dockerfile": df, "one/conf/id_rsa": key, "two/Dockerfile": df, "two/conf/app.ini": "x\n"})
    (repo / "ctx").symlink_to("one", target_is_directory=True)
    cache = tmp_path / "cache"
    args = ["--format", "json", "ctx/Dockerfile"]
    with_key = _fresh_and_cached(repo, cache, args, calls)
    assert with_key == ["ctx/Dockerfile"] and _fresh_and_cached(repo, cache, args, calls) == []
    (repo / "ctx").unlink()
    (repo / "ctx").symlink_to("two", target_is_directory=True)
    assert _fresh_and_cached(repo, cache, args, calls) == ["ctx/Dockerfile"]


def test_a_config_file_deep_in_the_context_is_a_dependency_of_a_fix(repo, tmp_path, calls) -> None:
    """The rewrite check reads config files anywhere in the context (refactor.fixes.gate)."""
    cache = tmp_path / "cache"
    args = ["--diff", "."]
    tree(repo / "ctx", {"a/b/c/pyproject.toml": "[tool.x]\n"})
    tree(repo / "clean", {"a/b/requirements.txt": "x\n"})
    _fresh_and_cached(repo, cache, ["--format", "json", "."], calls)
    (repo / "ctx" / "a" / "b" / "c" / "pyproject.toml").write_text("[tool.x]\nindex = '${NPM_TOKEN}'\n")
    assert _fresh_and_cached(repo, cache, ["--format", "json", "."], calls) == ["Dockerfile", "ctx/Dockerfile"]
    (repo / "clean" / "a" / "b" / "requirements.txt").write_text("y\n")  # clean/Dockerfile has no fix: no such dependency
    assert _fresh_and_cached(repo, cache, ["--format", "json", "."], calls) == ["Dockerfile"]
    _fresh_and_cached(repo, cache, args, calls)


def test_the_df010_scan_is_cached_per_directory(tmp_path, calls, monkeypatch) -> None:
    import refactor.supply.split as split

    src = ROOT / "golden" / "supply-split-npm-github"
    repo = tmp_path / "repo"
    shutil.copytree(src, repo, ignore=shutil.ignore_patterns("expected", "case.toml"))
    scans: list[str] = []
    real = split.find_credential_splits
    monkeypatch.setattr(split, "find_credential_splits", lambda root, known=None: scans.append(str(root)) or real(root, known))
    cache = tmp_path / "cache"
    args = ["--format", "json", "."]
    fresh = dfix(args, None, cwd=repo)
    assert "DF010" in fresh[1]
    del scans[:], calls[:]
    assert dfix(args, cache, cwd=repo) == fresh
    assert dfix(args, cache, cwd=repo) == fresh
    assert len(scans) == 1 and calls[-1:] == ["Dockerfile"] and len(calls) == 1
    wf = repo / ".github" / "workflows" / "release.yml"
    head, _, tail = wf.read_text().rpartition("secrets.NPM_TOKEN")
    wf.write_text(head + "secrets.NPM_PUBLISH_TOKEN" + tail)  # the publishing step gets a token of its own
    fresh = dfix(args, None, cwd=repo)
    assert "DF010" not in fresh[1]
    del scans[:], calls[:]
    assert dfix(args, cache, cwd=repo) == fresh
    assert len(scans) == 1 and calls == []  # the scan runs again; the Dockerfile's entry still holds
    wf.write_text(head + "secrets.NPM_TOKEN" + tail)
    fresh = dfix(args, None, cwd=repo)
    assert "DF010" in fresh[1]
    assert dfix(args, cache, cwd=repo) == fresh


# --------------------------------------------------------------------------------------------
# Robustness


def test_a_malformed_scan_entry_is_a_miss(tmp_path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "golden" / "supply-split-npm-github", repo, ignore=shutil.ignore_patterns("expected", "case.toml"))
    cache = tmp_path / "cache"
    args = ["--format", "json", "."]
    fresh = dfix(args, None, cwd=repo)
    assert dfix(args, cache, cwd=repo) == fresh
    (scan,) = set(entries(cache, scan=True)) - set(entries(cache))
    doc = json.loads(scan.read_bytes().partition(b"\n")[2])
    for rows in ([["x", 1]], [[1, 2, 3, 4]], "nope"):
        body = json.dumps({**doc, "splits": rows}).encode()
        scan.write_bytes(C._MAGIC + digest_hex(body).encode() + b"\n" + body)
        assert dfix(args, cache, cwd=repo) == fresh


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage", "flip", "other-key", "bad-json"])
def test_a_corrupt_entry_is_ignored_and_rewritten(repo, tmp_path, calls, damage) -> None:
    cache = tmp_path / "cache"
    args = ["--format", "json", "."]
    fresh = dfix(args, None, cwd=repo)
    dfix(args, cache, cwd=repo)
    found = entries(cache)
    assert len(found) == 7
    raws = [p.read_bytes() for p in found]
    for i, p in enumerate(found):
        raw = raws[i]
        if damage == "truncate":
            p.write_bytes(raw[: len(raw) // 2])
        elif damage == "empty":
            p.write_bytes(b"")
        elif damage == "garbage":
            p.write_bytes(os.urandom(200))
        elif damage == "flip":
            k = len(raw) - 10
            p.write_bytes(raw[:k] + bytes([raw[k] ^ 1]) + raw[k + 1 :])
        elif damage == "other-key":
            p.write_bytes(raws[(i + 1) % len(raws)])  # a valid entry under another name
        else:
            body = b'{"key": 1'
            p.write_bytes(C._MAGIC + digest_hex(body).encode() + b"\n" + body)
    del calls[:]
    assert dfix(args, cache, cwd=repo) == fresh
    assert len(calls) == 7
    rc = C.ResultCache(str(cache))
    for p in entries(cache):
        assert rc._read_entry(str(p), p.name) is not None, "rewritten"
    del calls[:]
    assert dfix(args, cache, cwd=repo) == fresh
    assert calls == []


def test_an_entry_with_a_wrong_shape_is_a_miss(repo, tmp_path, calls) -> None:
    cache = tmp_path / "cache"
    args = ["--format", "json", "."]
    fresh = dfix(args, None, cwd=repo)
    dfix(args, cache, cwd=repo)
    for p in entries(cache):
        doc = {"key": p.name, "deps": [["nonsense"]], "result": {"path": 1}}
        body = json.dumps(doc).encode()
        p.write_bytes(C._MAGIC + digest_hex(body).encode() + b"\n" + body)
    del calls[:]
    assert dfix(args, cache, cwd=repo) == fresh
    assert len(calls) == 7


def test_no_cache_writes_nothing(repo, tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("DFIX_CACHE_DIR", str(cache))
    monkeypatch.delenv("DFIX_NO_CACHE", raising=False)
    run(["--no-cache", "--format", "json", "."], cwd=repo)
    assert not cache.exists()
    monkeypatch.setenv("DFIX_NO_CACHE", "1")
    run(["--format", "json", "."], cwd=repo)
    assert not cache.exists()
    monkeypatch.setenv("DFIX_NO_CACHE", "")
    run(["--format", "json", "."], cwd=repo)  # DFIX_CACHE_DIR is used
    assert entries(cache)
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (cache / ".gitignore").read_text().endswith("*\n")


def test_an_unwritable_cache_is_a_warning_not_a_failure(repo, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    fresh = dfix(["--format", "json", "."], None, cwd=repo)
    code, out, err = dfix(["--format", "json", "."], blocker / "cache", cwd=repo)
    assert (code, out) == fresh[:2]
    assert err.count("dfix: cache: cannot write to") == 1


def test_the_stdin_input_is_not_cached(tmp_path) -> None:
    cache = tmp_path / "cache"
    _code, out, _ = run(["--cache-dir", str(cache), "--format", "json", "-"], cwd=tmp_path, stdin=b"FROM a:1\nARG NPM_TOKEN\n")
    assert "DF001" in out and not cache.exists()


def test_concurrent_runs_do_not_corrupt_the_cache(repo, tmp_path) -> None:
    cache = tmp_path / "cache"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("DFIX_NO_CACHE", None)
    cmd = [sys.executable, "-m", "refactor", "--format", "json", "-j", "1", "--cache-dir", str(cache), "."]
    want = subprocess.run([*cmd[:-3], "--no-cache", "."], cwd=repo, env=env, capture_output=True, text=True).stdout
    assert '"files"' in want
    for round_ in range(4):
        if round_ == 2:
            for p in entries(cache)[::2]:
                p.write_bytes(b"broken")
        procs = [subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert out == want, err
            assert "cache" not in err, err
    rc = C.ResultCache(str(cache))
    found = entries(cache)
    assert len(found) == 7
    for p in found:
        assert rc._read_entry(str(p), p.name) is not None
    assert not [p for p in cache.rglob(".tmp-*")], "no temp file left behind"


def test_prune_deletes_entries_not_used_for_long(repo, tmp_path) -> None:
    import time

    cache = tmp_path / "cache"
    dfix(["--format", "json", "."], cache, cwd=repo)
    used = entries(cache, scan=True)
    old = time.time() - (C.MAX_AGE_DAYS + 1) * 86400
    stale = []
    for n in range(3):  # entries of contents no longer in the tree
        p = cache / f"v{C.FORMAT}" / "ab" / f"ab{n:062x}"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(used[n].read_bytes())
        os.utime(p, (old, old))
        stale.append(p)
    stray = used[0].parent / ".tmp-stray"  # a writer that died
    stray.write_text("x")
    os.utime(stray, (old, old))
    for p in used:
        os.utime(p, (old, old))  # in use: a hit refreshes them
    (cache / ".last-prune").unlink()
    (repo / "clean" / "Dockerfile").write_text("FROM alpine:3.20\n")  # something to store: a prune may follow
    dfix(["--format", "json", "."], cache, cwd=repo)
    left = entries(cache, scan=True)
    assert not set(stale) & set(left) and not stray.exists()
    assert set(left) == set(used)  # hits refreshed their packs; clean/'s was rewritten
    rc = C.ResultCache(str(cache))
    for p in left:
        doc = rc._read_entry(str(p), p.name)
        assert doc is not None and len(doc.get("entries", {"scan": 1})) == 1  # the old clean/Dockerfile was dropped
    # at most once a day: a recent prune marker leaves even old entries until the next day
    for p in stale:
        p.write_bytes(b"x")
        os.utime(p, (old, old))
    (repo / "clean" / "Dockerfile").write_text("FROM alpine:3.21\n")
    dfix(["--format", "json", "."], cache, cwd=repo)
    assert all(p.exists() for p in stale)


def test_a_hit_refreshes_an_old_entry(repo, tmp_path) -> None:
    import time

    cache = tmp_path / "cache"
    dfix(["--format", "json", "."], cache, cwd=repo)
    old = time.time() - 10 * 86400
    for p in entries(cache):
        os.utime(p, (old, old))
    dfix(["--format", "json", "."], cache, cwd=repo)
    assert all(p.stat().st_mtime > old + 86400 for p in entries(cache))


def test_the_warm_path_imports_no_analysis(repo, tmp_path) -> None:
    """(Without callers: linking a migrated secret to its callers is not cached; it parses them.)"""
    (repo / "build.sh").unlink()
    cache = tmp_path / "cache"
    code = textwrap.dedent(f"""
        import sys
        from refactor.cli import main
        main(["-q", "--cache-dir", {str(cache)!r}, "--format", "json", "."])
        heavy = sorted(m for m in sys.modules if m in ("refactor.analyze", "refactor.engine", "tree_sitter", "refactor.supply.split", "jinja2"))
        print("HEAVY", heavy, file=sys.stderr)
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DFIX_NO_CACHE", None)
    first = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True)
    assert "HEAVY ['" in first.stderr  # the cold run analysed
    second = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True)
    assert "HEAVY []" in second.stderr, second.stderr


# --------------------------------------------------------------------------------------------
# No secret in clear


def test_a_result_holding_a_secret_value_is_not_stored() -> None:
    """The engine masks values in what it reports; the cache checks again before storing."""
    from refactor.results import FileResult, FindingOut, Outcome

    st = Settings(keep_text=False)

    def result(message: str, masks=(), **kw) -> FileResult:
        f = FindingOut("DF003", "committed-secret", None, True, "error", message, 1, 1, 1, 2, None)
        return FileResult("Dockerfile", findings=[f], masks=list(masks), **kw)

    assert C._storable(result("RUN holds a committed credential (<redacted: 40 chars>)"), st) is not None
    assert C._storable(result(f"RUN holds {CANARY}"), st) is None  # a known format, though no mask says so
    assert C._storable(result("value is hunter2-secret"), st) is not None
    text = "FROM a\nENV PW=hunter2-secret\n"
    assert C._storable(result("value is hunter2-secret", masks=["hunter2-secret"]), st, text) is None
    assert C._storable(result("fine", masks=["two words"]), st, "two words") is None  # could straddle joined strings
    # a value the result knows: stored as its offsets in the file, never as the value
    assert C._storable(result("fine", masks=["hunter2-secret"]), st) is None  # (no text to take them from)
    assert C._storable(result("fine", masks=["hunter2-other"]), st, text) is None  # not in the file
    stored = C._storable(result("fine", masks=["", "hunter2-secret"]), st, text)
    assert stored is not None and stored["mask_spans"] == [None, [text.index("hunter2"), text.index("hunter2") + 14]]
    assert "hunter2" not in json.dumps(stored)
    # the engine also masks a value upper-cased (where a secret id becomes a variable name)
    both = C._storable(result("fine", masks=["hunter2-secret", "HUNTER2-SECRET"]), st, text)
    assert both is not None and both["mask_spans"][1] == [*both["mask_spans"][0], "upper"]
    from refactor.cache_entries import masks_from

    assert masks_from(text, both["mask_spans"]) == ("hunter2-secret", "HUNTER2-SECRET")
    for bad in ([[0, 99]], [[5, 2]], [[0, 3, "lower"]], [["0", 3]]):
        with pytest.raises(ValueError):
            masks_from(text, bad)  # (a damaged entry: the lookup takes it for a miss)
    from refactor.cache_entries import _MASKS_STORED

    many = [f"value-{k:04d}-x" for k in range(_MASKS_STORED + 1)]
    assert C._storable(result("fine", masks=many[:-1]), st, " ".join(many)) is not None
    assert C._storable(result("fine", masks=many), st, " ".join(many)) is None  # too many to prove absent cheaply
    assert C._storable(result("fine", notes=["Bearer abcdefgh12345678"]), st) is None
    assert C._storable(result("fine", outcome=Outcome.FIXED, changed=True), Settings(keep_text=True)) is None  # its rewrite would be needed
    assert C._storable(result("fine", outcome=Outcome.FIXED, changed=True), st) is not None
    assert C._storable(FileResult.failure("x", "internal error: KeyError"), st) is None
    assert C._storable(FileResult.failure("x", "parse error: line 1: file with no instructions"), st) is not None
    # the file is read again (for the values' offsets) only when nothing else refuses the result
    reads: list[int] = []

    def read_text() -> str:
        reads.append(1)
        return text

    assert C._storable(result("value is hunter2-secret", masks=["hunter2-secret"]), st, read_text) is None
    assert C._storable(result("fine", masks=["two words"]), st, read_text) is None
    assert C._storable(result("fine", masks=["hunter2-secret"], notes=["Bearer abcdefgh12345678"]), st, read_text) is None
    assert reads == []
    assert C._storable(result("fine", masks=["hunter2-secret"]), st, read_text) == C._storable(result("fine", masks=["hunter2-secret"]), st, text)
    assert reads == [1]
    assert C._storable(result("fine", masks=["hunter2-secret"]), st, lambda: None) is None  # (the file changed since)


def _encodings(value: str) -> list[bytes]:
    """The canary as bytes, and as it would appear inside any base64 text (3 alignments, both
    alphabets), in hex and JSON-escaped."""
    raw = value.encode()
    out = [raw, raw.hex().encode(), json.dumps(value).encode()]
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + raw)
        first, last = (0 if pad == 0 else 1), (pad + len(raw)) // 3  # the 3-byte groups made of canary bytes only
        core = enc[4 * first : 4 * last]
        assert len(core) >= 40
        out += [core, core.replace(b"+", b"-").replace(b"/", b"_")]
    return out


def test_the_canary_never_reaches_the_cache(tmp_path) -> None:
    files = {
        "Dockerfile": f"""
            FROM node:20.1
            ARG GITHUB_TOKEN={CANARY}
            ENV NPM_TOKEN={CANARY}
            COPY .npmrc /root/.npmrc
            RUN npm ci && curl -H "Authorization: token {CANARY}" https://api.github.com/user
            """,
        ".npmrc": f"//registry.npmjs.org/:_authToken={CANARY}\n",
        "sub/Dockerfile": f"FROM alpine:3.19\nENV GH_TOKEN={CANARY}\nRUN ./start\n",
        "plain/Dockerfile": "FROM alpine:3.19\nRUN echo hi\n",
        ".github/workflows/ci.yml": f"jobs:\n  b:\n    steps:\n      - run: docker build --build-arg GITHUB_TOKEN={CANARY} .\n",
    }
    base = tree(tmp_path / "base", files)
    cache = tmp_path / "cache"
    for mode in ([], ["--check"], ["--diff"], ["--write"], ["--add-ignore"]):
        for fmt in FORMATS:
            work = tmp_path / "work"
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(base, work)
            for _ in range(2):
                dfix([*mode, "--format", fmt, "."], cache, cwd=work)
                dfix([*mode, "--format", fmt, "--unsafe-fixes", "--strategy", "multistage", "Dockerfile"], cache, cwd=work)
    stored = [p for p in cache.rglob("*") if p.is_file()]
    assert len(entries(cache)) >= 3, "the cache was used"
    needles = _encodings(CANARY)
    for p in stored:
        data = p.read_bytes()
        for n in needles:
            assert n not in data, f"{p.name} holds the canary ({n[:8]!r}…)"


# --------------------------------------------------------------------------------------------
# Caller discovery: files with nothing to read are remembered by their stat


def test_a_caller_file_that_changes_is_read_again(tmp_path) -> None:
    """The cache keeps the caller files that hold no build-arg bytes (by size, mtime, ctime and
    inode) so a warm run does not read them; a file that changes is read again, whatever it is."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "Dockerfile").write_text("FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n")
    (repo / "build.sh").write_text("#!/bin/sh\ndocker build .\n")
    (repo / "ci").write_text("#!/bin/bash\necho nothing\n")  # extension-less: a shell script by its shebang
    (repo / "notes").write_text("no shebang\n")
    cache = tmp_path / "cache"
    for _ in range(2):
        _code, out, _err = dfix(["--format", "json", "Dockerfile"], cache, cwd=repo)
        assert not [f for f in json.loads(out)["files"] if f["kind"] == "caller"], out
    (index,) = [p for p in (cache / f"v{C.FORMAT}").rglob("*") if p.is_file() and b'"callers_index":' in p.read_bytes()]
    stored = json.loads(index.read_bytes().split(b"\n", 1)[1])["callers_index"]
    assert sorted(stored) == ["build.sh", "ci", "notes"]  # paths and stats only
    assert all(len(v) == 5 for v in stored.values()) and b"docker build" not in index.read_bytes()
    (repo / "build.sh").write_text("#!/bin/sh\ndocker build --build-arg NPM_TOKEN .\n")
    (repo / "ci").write_text("#!/bin/bash\ndocker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n")
    warm = dfix(["--format", "json", "Dockerfile"], cache, cwd=repo)
    cold = dfix(["--format", "json", "Dockerfile"], None, cwd=repo)
    assert warm == cold
    callers = {f["path"] for f in json.loads(warm[1])["files"] if f["kind"] == "caller"}
    assert callers == {"build.sh", "ci"}, warm[1]


def test_a_value_one_file_knows_is_masked_in_another_file_on_a_warm_run(tmp_path, calls) -> None:
    """A run masks a value one file judged secret wherever it is printed, in every file's output
    (render.masking.share). A result knowing such values was stored without them (entries never
    hold one), so a warm run printed it in clear in the other file's output: here the literal
    `password` of a legacy ENV, which is also the other file's secret id. Entries now keep each
    value's offsets in its file, and a hit reads the value back from the bytes read for the key:
    the warm outputs are the cold ones, byte for byte, with nothing recomputed and no value in
    the cache."""
    repo = tmp_path / "repo"
    (repo / "a").mkdir(parents=True)
    (repo / "b").mkdir()
    (repo / "a" / "Dockerfile").write_text("FROM alpine:3.20\nENV MYSQL_PASSWD password\n")
    (repo / "b" / "Dockerfile").write_text('FROM alpine:3.20\nARG PASSWORD\nRUN curl -u "admin:${PASSWORD}" https://x\n')
    cache = tmp_path / "cache"
    for fmt in (["--format", "json"], ["--format", "sarif"], []):
        cold = dfix([*fmt, "."], None, cwd=repo)
        assert "sarif" in fmt or "id=<redacted>" in cold[1]
        assert dfix([*fmt, "."], cache, cwd=repo) == cold
        del calls[:]
        assert dfix([*fmt, "."], cache, cwd=repo) == cold
        assert calls == [] or fmt == ["--format", "sarif"], fmt  # (SARIF keeps the text of a changed file)
    packs = [json.loads(p.read_bytes().partition(b"\n")[2]) for p in entries(cache)]
    stored_a = [e for pack in packs for e in pack["entries"].values() if e["id"][1] == "a/Dockerfile"]
    assert stored_a and all(e["result"]["mask_spans"] == [[34, 42]] for e in stored_a)
    assert all("password" not in json.dumps(e).lower() for e in stored_a)  # (the value itself: never)


def test_mask_offsets_are_taken_only_in_the_bytes_of_the_key(tmp_path) -> None:
    """A result's mask offsets are taken by reading the file again. A rewrite of the same size
    within one mtime tick keeps the stat stamp, so the second read must hold the bytes whose
    digest is in the key, or the entry would point its offsets at other text (a later hit would
    then mask the wrong slice and print the value in clear in another file's output)."""
    from refactor.cache import process_recorded
    from refactor.cache_files import digest_hex
    from refactor.cache_run import _Pending

    p = tmp_path / "Dockerfile"
    data = b"FROM alpine:3.19\nENV API_PASSWORD=Tr0ub4dor-and-3\nRUN ./start\n"
    p.write_bytes(data)
    st = Settings(keep_text=False)
    result, entry = process_recorded(str(p), "Dockerfile", st, _Pending("k", None, "p", digest_hex(data)))
    assert any(result.masks) and entry is not None and entry["result"]["mask_spans"]
    _, entry = process_recorded(str(p), "Dockerfile", st, _Pending("k", None, "p", digest_hex(data + b"#")))
    assert entry is None  # (the file is not the one the key was read from: nothing stored)

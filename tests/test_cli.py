"""CLI modes, exit codes, streams, stdin, discovery and write safety."""

from __future__ import annotations

import json
import os

import pytest

from helpers import run, snapshot

SECRET = b"FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n"
CLEAN = b"FROM a:1\nARG VERSION=1\nRUN echo $VERSION\n"


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_bytes(SECRET)
    (tmp_path / "clean.Dockerfile").write_bytes(CLEAN)
    return tmp_path


def test_report_mode_writes_nothing_and_exits_1(repo) -> None:
    before = snapshot(repo)
    code, out, err = run([str(repo)])
    assert code == 1
    assert "DF001" in out and "NPM_TOKEN" in out
    assert "fixable with `--write`" in err
    assert snapshot(repo) == before


def test_diff_mode_prints_patch_and_command(repo) -> None:
    """stdout is a pure unified diff (`git apply` takes it); the build command goes to stderr."""
    before = snapshot(repo)
    code, out, err = run(["--diff", str(repo)])
    assert code == 1
    assert "+RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci" in out
    assert all(line[:1] in ("-", "+", " ", "@") for line in out.splitlines()), out
    assert "docker build" not in out
    assert "docker build --secret id=npm_token,env=NPM_TOKEN " in err and "svc" in err
    assert snapshot(repo) == before


def test_check_mode(repo) -> None:
    before = snapshot(repo)
    code, out, _ = run(["--check", str(repo)])
    assert code == 1 and "would rewrite" in out
    assert snapshot(repo) == before
    code, _, _ = run(["--check", str(repo / "clean.Dockerfile")])
    assert code == 0


def test_write_mode_rewrites_then_is_clean(repo) -> None:
    clean_stat = os.stat(repo / "clean.Dockerfile")
    (repo / "svc" / "Dockerfile").chmod(0o640)
    code, out, err = run(["--write", str(repo)])
    assert code == 0, err
    assert (repo / "svc" / "Dockerfile").read_bytes() == b"FROM a:1\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n"
    assert oct(os.stat(repo / "svc" / "Dockerfile").st_mode & 0o777) == "0o640"
    assert os.stat(repo / "clean.Dockerfile").st_mtime_ns == clean_stat.st_mtime_ns
    assert not [p for p in repo.rglob("*dfix-tmp*")]
    code, _, _ = run(["--check", str(repo)])
    assert code == 0


def test_mode_flags_are_exclusive(repo) -> None:
    code, _, err = run(["--write", "--diff", str(repo)])
    assert code == 2 and "cannot be combined" in err


def test_json_is_one_document_in_every_mode(repo) -> None:
    for mode in ([], ["--diff"], ["--check"]):
        code, out, _ = run(mode + ["--format", "json", str(repo)])
        doc = json.loads(out)
        assert doc["schema_version"] == 1
        assert [f["path"] for f in doc["files"]] == sorted(f["path"] for f in doc["files"])
    code, out, _ = run(["--write", "--format", "json", str(repo)])
    doc = json.loads(out)
    f = next(x for x in doc["files"] if x["path"].endswith("svc/Dockerfile"))
    assert f["changed"] and f["findings"][0]["fix"]["applied"]
    assert f["build"]["secrets"] == [{"id": "npm_token", "type": "env", "env": "NPM_TOKEN", "src": None}]


def test_stdin(repo) -> None:
    # run in the repository: the callers beside a --stdin-filename weigh on the fix (none here)
    code, out, _ = run(["--write", "-", "--stdin-filename", "svc/Dockerfile"], cwd=repo, stdin=SECRET)
    assert out == "FROM a:1\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n"
    code, out, _ = run(["--format", "json", "-"], stdin=SECRET)
    assert json.loads(out)["files"][0]["path"] == "-"


def test_discovery_patterns_and_gitignore(tmp_path) -> None:
    names = ["Dockerfile", "Dockerfile.prod", "Dockerfile-dev", "api.Dockerfile", "web.dockerfile", "Containerfile",
             "Dockerfile.j2", "Dockerfile.bak", "Dockerfile.md", "x.dockerignore", "Dockerfile.dockerignore"]
    for n in names:
        (tmp_path / n).write_bytes(SECRET)
    for d in ("node_modules", "vendor", ".git", "ignored"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "Dockerfile").write_bytes(SECRET)
    (tmp_path / ".gitignore").write_text("ignored/\n")
    (tmp_path / "skipme").mkdir()
    (tmp_path / "skipme" / "Dockerfile").write_bytes(SECRET)
    code, out, _ = run(["--format", "json", "--exclude", "skipme", "."], cwd=tmp_path)
    got = sorted(f["path"] for f in json.loads(out)["files"])
    assert got == sorted(["Containerfile", "Dockerfile", "Dockerfile-dev", "Dockerfile.prod", "api.Dockerfile", "web.dockerfile"])
    # explicit paths are always processed
    code, out, _ = run(["--format", "json", "ignored/Dockerfile"], cwd=tmp_path)
    assert json.loads(out)["files"][0]["path"] == "ignored/Dockerfile"


def test_list_rules_and_explain() -> None:
    code, out, _ = run(["--list-rules"])
    assert code == 0 and "DF001" in out and "secret-build-arg" in out
    code, out, _ = run(["--explain", "DF001"])
    assert code == 0 and "## Fix safety" in out
    code, out, _ = run(["--explain", "secret-env"])
    assert code == 0 and "DF002" in out
    code, _, err = run(["--explain", "DF999"])
    assert code == 2


def test_pragmas(tmp_path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_bytes(b"FROM a:1\n# dfix: ignore[DF001] reviewed: read-only token\nARG NPM_TOKEN\nRUN npm ci\n")
    code, out, _ = run(["--write", str(p)])
    assert code == 0 and p.read_bytes().startswith(b"FROM a:1\n# dfix")
    assert b"ARG NPM_TOKEN" in p.read_bytes()
    p.write_bytes(b"# dfix: file-ignore[DF001]\nFROM a:1\nARG NPM_TOKEN\nRUN npm ci\n")
    code, out, _ = run([str(p)])
    assert code == 0


def test_config_unknown_key_is_an_error_with_suggestion(tmp_path) -> None:
    (tmp_path / ".dfix.toml").write_text('secret-name = ["X"]\n')
    (tmp_path / "Dockerfile").write_bytes(CLEAN)
    code, _, err = run(["."], cwd=tmp_path)
    assert code == 2 and "did you mean 'secret-names'" in err


def test_config_secret_and_allow_names(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.dfix]\nsecret-names = ["MY_CORP_*"]\nallow-names = ["NPM_TOKEN"]\n')
    (tmp_path / "Dockerfile").write_bytes(b"FROM a:1\nARG MY_CORP_KEYMAT\nARG NPM_TOKEN\nRUN make\n")
    code, out, _ = run(["--format", "json", "."], cwd=tmp_path)
    names = {f["variable"] for f in json.loads(out)["files"][0]["findings"]}
    assert names == {"MY_CORP_KEYMAT"}


def test_jobs_give_the_same_output(tmp_path) -> None:
    for i in range(70):
        d = tmp_path / f"s{i:02d}"
        d.mkdir()
        (d / "Dockerfile").write_bytes(SECRET if i % 2 else CLEAN)
    _, serial, _ = run(["--format", "json", "-j", "1", "."], cwd=tmp_path)
    _, pooled, _ = run(["--format", "json", "-j", "2", "."], cwd=tmp_path)
    assert serial == pooled


def test_symlinked_dockerfile_is_written_through(tmp_path) -> None:
    real = tmp_path / "real.Dockerfile"
    real.write_bytes(SECRET)
    link = tmp_path / "Dockerfile"
    link.symlink_to(real)
    code, _, _ = run(["--write", str(link)])
    assert link.is_symlink() and b"--mount=type=secret" in real.read_bytes()


def test_leftover_temp_files_are_removed(tmp_path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_bytes(CLEAN)
    leftover = tmp_path / ".Dockerfile.dfix-tmp-123-abcdef01"
    leftover.write_bytes(b"partial")
    run([str(p)])
    assert leftover.exists()  # read-only modes never touch the tree
    run(["--write", str(p)])
    assert not leftover.exists()


def test_nearest_config_per_file(tmp_path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".dfix.toml").write_text('allow-names = ["NPM_TOKEN"]\n')
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "Dockerfile").write_bytes(SECRET)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "pyproject.toml").write_text('[tool.dfix]\nsecret-names = ["BUILD_KEYMAT"]\n')
    (tmp_path / "b" / "Dockerfile").write_bytes(b"FROM a:1\nARG BUILD_KEYMAT\nARG NPM_TOKEN\nRUN make\n")
    code, out, _ = run(["--format", "json", "."], cwd=tmp_path)
    got = {f["path"]: sorted(x["variable"] for x in f["findings"]) for f in json.loads(out)["files"]}
    # a/ uses the root config (NPM_TOKEN allowed); b/ its own nearer config, which replaces the root's
    assert got == {"a/Dockerfile": [], "b/Dockerfile": ["BUILD_KEYMAT", "NPM_TOKEN"]}
    # --config overrides every nearest config
    code, out, _ = run(["--format", "json", "--config", str(tmp_path / ".dfix.toml"), "."], cwd=tmp_path)
    got = {f["path"]: sorted(x["variable"] for x in f["findings"]) for f in json.loads(out)["files"]}
    assert got == {"a/Dockerfile": [], "b/Dockerfile": []}


def test_nearest_config_with_a_memo_is_the_walk_without_one(tmp_path, monkeypatch) -> None:
    """A run asks every Dockerfile's directory for its config through one memo: each config file is
    read once, and every directory gets what an unmemoized walk finds (its own file, the nearest
    above it, none past the repository root)."""
    from refactor import config as config_mod

    (tmp_path / "pyproject.toml").write_text('[tool.dfix]\nsecret-names = ["OUTSIDE"]\n')  # past the root: never found
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".dfix.toml").write_text('allow-names = ["NPM_TOKEN"]\n')
    dirs = [repo / "a" / "x" / "y", repo / "a" / "z", repo / "b" / "c", repo / "d"]
    for d in dirs:
        d.mkdir(parents=True)
    (repo / "b" / "pyproject.toml").write_text('[tool.dfix]\nsecret-names = ["BUILD_KEYMAT"]\n')
    (repo / "d" / "pyproject.toml").write_text("[tool.other]\nx = 1\n")  # no [tool.dfix]: walks on up
    asked = [repo, repo / "a", *dirs, repo / "b"]
    loads: list[str] = []
    real = config_mod.load_file
    monkeypatch.setattr(config_mod, "load_file", lambda path: loads.append(path) or real(path))
    memo: dict[str, config_mod.Config] = {}
    got = [config_mod.find_config(str(d), memo) for d in asked + asked]
    assert sorted(loads) == sorted([str(repo / ".dfix.toml"), str(repo / "b" / "pyproject.toml")])
    assert [(c.path, c.values) for c in got] == [(c.path, c.values) for c in (config_mod.find_config(str(d)) for d in asked + asked)]
    assert {c.path for c in got} == {str(repo / ".dfix.toml"), str(repo / "b" / "pyproject.toml")}
    # the run's memo keeps only recent directories (memory flat in the number of Dockerfiles), and
    # those holding a config file: the same answers, and still each config file read once
    order = asked + asked[::-1] + asked
    expected = [(c.path, c.values) for c in (config_mod.find_config(str(d)) for d in order)]
    for size in (1, 2, 1024):
        loads.clear()
        recent = config_mod.RecentDirs(size)
        assert [(c.path, c.values) for c in (config_mod.find_config(str(d), recent) for d in order)] == expected
        assert sorted(loads) == sorted([str(repo / ".dfix.toml"), str(repo / "b" / "pyproject.toml")])
        assert len(recent) - len(recent.pinned) <= size and set(recent.pinned) == {str(repo), str(repo / "b"), str(repo / "d")}
    # a pyproject.toml without [tool.dfix] is parsed once too, however many directories below it
    import tomllib

    other = tmp_path / "other"
    (other / ".git").mkdir(parents=True)
    (other / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    leaves = [other / "s" / f"d{i:02}" for i in range(12)]
    for d in leaves:
        d.mkdir(parents=True)
    parsed: list[int] = []
    real_load = tomllib.load
    monkeypatch.setattr(tomllib, "load", lambda fh: parsed.append(1) or real_load(fh))
    recent = config_mod.RecentDirs(2)
    assert {config_mod.find_config(str(d), recent).path for d in leaves} == {None}
    assert parsed == [1]


def test_add_ignore_writes_a_baseline(tmp_path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_bytes(b"FROM a:1\n  ARG NPM_TOKEN GH_TOKEN\r\n# dfix: ignore[DF003] reviewed\nARG VITE_API_KEY\nRUN npm ci\n")
    code, _, err = run(["--add-ignore", str(p)])
    assert code == 0 and "added 2 ignore comment(s)" in err
    assert p.read_bytes() == (
        b"FROM a:1\n  # dfix: ignore[DF001]\r\n  ARG NPM_TOKEN GH_TOKEN\r\n# dfix: ignore[DF003,DF005] reviewed\nARG VITE_API_KEY\nRUN npm ci\n"
    )
    code, _, _ = run([str(p)])
    assert code == 0
    code, _, err = run(["--add-ignore", "--write", str(p)])
    assert code == 2


def test_credential_split_is_reported_with_both_places(tmp_path) -> None:
    import shutil
    from pathlib import Path

    src = Path(__file__).resolve().parent.parent / "golden" / "supply-split-npm-github"
    shutil.copytree(src, tmp_path / "repo", ignore=shutil.ignore_patterns("expected", "case.toml"))
    code, out, _ = run(["--format", "json", "."], cwd=tmp_path / "repo")
    split = [f for x in json.loads(out)["files"] for f in x["findings"] if f["code"] == "DF010"]
    assert split and split[0]["variable"] == "NPM_TOKEN"
    assert "npm publish at .github/workflows/release.yml" in split[0]["message"]


def test_exit_zero(repo) -> None:
    code, _, _ = run(["--exit-zero", str(repo)])
    assert code == 0
    code, _, _ = run([str(repo)])
    assert code == 1
    (repo / "bad.Dockerfile").write_bytes(b"\x00")
    code, _, _ = run(["--exit-zero", str(repo)])
    assert code == 2  # errors are never hidden


def test_summary_counts_findings_by_rule(repo) -> None:
    _code, _out, err = run([str(repo)])
    assert "finding(s) in 1 file(s) (DF001 1)" in err


def test_progress_bar_only_on_a_tty_for_long_runs(tmp_path, monkeypatch) -> None:
    import io
    import sys

    from refactor import cli

    class TTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake = TTY()
    monkeypatch.setattr(sys, "stderr", fake)
    assert list(cli._progress(iter(range(300)), 300, quiet=False)) == list(range(300))
    assert "300/300" in fake.getvalue()  # click.progressbar
    fake2 = TTY()
    monkeypatch.setattr(sys, "stderr", fake2)
    list(cli._progress(iter(range(10)), 10, quiet=False))  # short runs: no bar
    assert fake2.getvalue() == ""


def test_diff_on_a_repo_shows_the_dockerfile_and_its_callers_together(tmp_path) -> None:
    import shutil
    from pathlib import Path

    src = Path(__file__).resolve().parent.parent / "golden" / "callers-shell-script"
    shutil.copytree(src, tmp_path / "repo", ignore=shutil.ignore_patterns("expected", "case.toml", "NOTES.md"))
    before = snapshot(tmp_path / "repo")
    code, out, _ = run(["--diff", "."], cwd=tmp_path / "repo")
    assert code == 1
    assert "--- a/Dockerfile" in out and "--- a/build.sh" in out
    assert "+RUN --mount=type=secret,id=api_token,env=API_TOKEN" in out
    assert '+API_TOKEN="$token" docker build' in out
    assert snapshot(tmp_path / "repo") == before
    # and --write changes both, atomically planned together
    code, _, _ = run(["--write", "."], cwd=tmp_path / "repo")
    assert b"--build-arg API_TOKEN" not in (tmp_path / "repo" / "build.sh").read_bytes()
    assert b"ARG API_TOKEN" not in (tmp_path / "repo" / "Dockerfile").read_bytes()

"""The flags and conventions people bring from ruff, hadolint, pre-commit and GitHub (issue: habits
and recipes, points 5, 6, 8, 9, 11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import run, snapshot

SECRET_DF = "FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n"
LATEST_DF = "FROM alpine\nRUN true\n"  # DF009 (warning): an unpinned base


def _git(root) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)


@pytest.fixture
def repo(tmp_path):
    _git(tmp_path)
    (tmp_path / "Dockerfile").write_text(SECRET_DF)
    return tmp_path


# --- point 9: flags -------------------------------------------------------------------------


def test_fix_is_an_alias_of_write(repo) -> None:
    code, _out, _err = run(["--fix", str(repo / "Dockerfile")])
    assert code == 0
    assert "--mount=type=secret,id=npm_token,env=NPM_TOKEN" in (repo / "Dockerfile").read_text()


def test_select_ignore_and_extend_select(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\nARG NPM_TOKEN\nRUN npm ci\n")
    codes = lambda out: sorted(f["code"] for f in json.loads(out)["files"][0]["findings"])  # noqa: E731
    _c, out, _e = run(["--format", "json", str(tmp_path)])
    assert codes(out) == ["DF001", "DF009"]
    _c, out, _e = run(["--format", "json", "--select", "DF009", str(tmp_path)])
    assert codes(out) == ["DF009"]
    _c, out, _e = run(["--format", "json", "--ignore", "DF009", str(tmp_path)])
    assert codes(out) == ["DF001"]
    _c, out, _e = run(["--format", "json", "--select", "DF009", "--extend-select", "DF001", str(tmp_path)])
    assert codes(out) == ["DF001", "DF009"]
    # prefixes; the more specific selector wins
    _c, out, _e = run(["--format", "json", "--select", "DF00", "--ignore", "DF001", str(tmp_path)])
    assert codes(out) == ["DF009"]
    _c, out, _e = run(["--format", "json", "--ignore", "DF00", "--select", "DF001", str(tmp_path)])
    assert codes(out) == ["DF001"]
    # comma-separated, as ruff takes them
    _c, out, _e = run(["--format", "json", "--select", "DF001,DF009", str(tmp_path)])
    assert codes(out) == ["DF001", "DF009"]


def test_an_ignored_primary_finding_keeps_the_file(repo) -> None:
    before = snapshot(repo)
    code, _out, _err = run(["--write", "--ignore", "DF001", str(repo / "Dockerfile")])
    assert code == 0 and snapshot(repo) == before


@pytest.mark.parametrize("flag", ["--select", "--ignore", "--extend-select"])
def test_a_mistyped_code_is_a_usage_error(tmp_path, flag) -> None:
    (tmp_path / "Dockerfile").write_text(SECRET_DF)
    code, _out, err = run([flag, "DF0111", str(tmp_path)])
    assert code == 2 and "unknown rule code 'DF0111'" in err


def test_config_select_and_unknown_codes(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\nARG NPM_TOKEN\nRUN npm ci\n")
    (tmp_path / ".dfix.toml").write_text('select = ["DF009"]\n')
    _c, out, _e = run(["--format", "json", str(tmp_path)])
    assert [f["code"] for f in json.loads(out)["files"][0]["findings"]] == ["DF009"]
    (tmp_path / ".dfix.toml").write_text('ignore = ["DF7X"]\n')
    code, _out, err = run([str(tmp_path)])
    assert code == 2 and "unknown rule code 'DF7X'" in err


def test_output_file(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text(SECRET_DF)
    target = tmp_path / "out" / "report.json"
    code, out, _err = run(["--format", "json", "--output-file", str(target), str(tmp_path / "Dockerfile")])
    assert code == 1 and out == ""
    doc = json.loads(target.read_text())
    assert doc["files"][0]["findings"][0]["code"] == "DF001"
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".dfix-out-")]


def test_statistics(tmp_path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "Dockerfile").write_text("FROM alpine\nARG NPM_TOKEN\nRUN npm ci\n")
    (tmp_path / "Dockerfile").write_text("FROM alpine\nARG GITHUB_TOKEN\nRUN curl -H \"Authorization: token $GITHUB_TOKEN\" x\n")
    code, out, _err = run(["--statistics", str(tmp_path)])
    assert code == 1
    rows = [line.split("\t") for line in out.splitlines()]
    assert [r[:2] for r in rows] == [["2", "DF001"], ["2", "DF009"]]
    assert rows[0][2].startswith("[*]") and "secret-build-arg" in rows[0][2]
    _c, out, _e = run(["--statistics", "--format", "json", str(tmp_path)])
    assert json.loads(out)[0] == {"code": "DF001", "name": "secret-build-arg", "count": 2, "fixable": 2}
    code, _out, err = run(["--statistics", "--format", "sarif", str(tmp_path)])
    assert code == 2 and "--statistics" in err


def test_failure_threshold(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text(LATEST_DF)  # only a warning
    assert run([str(tmp_path)])[0] == 1
    assert run(["--failure-threshold", "warning", str(tmp_path)])[0] == 1
    assert run(["--failure-threshold", "error", str(tmp_path)])[0] == 0
    assert run(["--failure-threshold", "none", str(tmp_path)])[0] == 0
    (tmp_path / "Dockerfile").write_text(SECRET_DF)  # an error
    assert run(["--failure-threshold", "error", str(tmp_path)])[0] == 1
    (tmp_path / ".dfix.toml").write_text('failure-threshold = "none"\n')
    assert run([str(tmp_path)])[0] == 0


def test_subcommands_are_in_help_and_take_h() -> None:
    code, out, _err = run(["--help"])
    assert code == 0 and "Commands:" in out and "verify" in out and "summarize" in out
    code, out, err = run(["verify", "-h"])
    assert code == 0 and out.startswith("Usage: dfix verify"), (code, out[:300], err[-600:])
    code, out, err = run(["summarize", "-h"])
    assert code == 0 and out.startswith("Usage: dfix summarize"), (code, out[:300], err[-600:])


def test_a_directory_named_like_a_subcommand(tmp_path) -> None:
    (tmp_path / "verify").mkdir()
    (tmp_path / "verify" / "Dockerfile").write_text(SECRET_DF)
    code, out, _err = run([str(tmp_path / "verify")])
    assert code == 1 and "DF001" in out


# --- point 8: --diff is a pure patch; colour ---------------------------------------------------


def _cli(args, cwd, **env):
    e = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    e.update(env)
    return subprocess.run([sys.executable, "-m", "refactor", *args], cwd=cwd, env=e, capture_output=True, text=True, timeout=120)


def test_diff_stdout_applies_with_git_apply(repo) -> None:
    p = _cli(["--diff", "Dockerfile"], repo)
    assert p.returncode == 1 and "docker build" in p.stderr and "docker build" not in p.stdout
    subprocess.run(["git", "apply", "-"], cwd=repo, input=p.stdout, text=True, check=True)
    assert "--mount=type=secret" in (repo / "Dockerfile").read_text()


def test_colour_honours_force_color_no_color_and_dumb_terminals(repo) -> None:
    assert "\x1b[" not in _cli(["--diff", "Dockerfile"], repo).stdout  # not a TTY
    coloured = _cli(["--diff", "Dockerfile"], repo, FORCE_COLOR="1").stdout
    assert "\x1b[32m+RUN --mount" in coloured and "\x1b[31m-ARG NPM_TOKEN" in coloured
    assert "\x1b[" not in _cli(["--diff", "Dockerfile"], repo, FORCE_COLOR="1", NO_COLOR="1").stdout
    assert "\x1b[" not in _cli(["Dockerfile"], repo, FORCE_COLOR="0").stdout
    assert "\x1b[" in _cli(["Dockerfile"], repo, FORCE_COLOR="1").stdout
    assert "\x1b[" not in _cli(["--no-color", "Dockerfile"], repo, FORCE_COLOR="1").stdout
    from refactor.render.text import use_color

    class TTY:
        def isatty(self):
            return True

    os.environ.pop("NO_COLOR", None)
    assert use_color(None, TTY()) is (os.environ.get("TERM") != "dumb" or bool(os.environ.get("FORCE_COLOR")))


def test_dumb_terminal_has_no_colour(monkeypatch) -> None:
    from refactor.render.text import use_color

    class TTY:
        def isatty(self):
            return True

    for k in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(None, TTY())
    monkeypatch.setenv("TERM", "dumb")
    assert not use_color(None, TTY())
    assert use_color(True, TTY())


# --- point 6: caller findings can be silenced; pragmas are checked ---------------------------------


STALE = "#!/bin/sh\ndocker build --build-arg APP_VERSION=1 -t app .\n"  # DF012: not declared


def _stale_repo(tmp_path, script=STALE):
    _git(tmp_path)
    (tmp_path / "Dockerfile").write_text(SECRET_DF)
    (tmp_path / "build.sh").write_text(script)
    return tmp_path


def _caller_codes(out: str) -> list[str]:
    doc = json.loads(out)
    return [x["code"] for f in doc["files"] if f["path"].endswith("build.sh") for x in f["findings"]]


def test_caller_findings_are_reported(tmp_path) -> None:
    """--check/--diff/--write read every caller; report mode only those of the migrated names."""
    root = _stale_repo(tmp_path)
    _c, out, _e = run(["--check", "--format", "json", "Dockerfile"], cwd=root)
    assert _caller_codes(out) == ["DF012"]
    _c, out, _e = run(["--format", "json", "Dockerfile"], cwd=root)
    assert _caller_codes(out) == []  # build.sh does not mention NPM_TOKEN: not even parsed


@pytest.mark.parametrize("how", ["config-ignore", "per-file-ignores", "flag", "inline", "inline-above", "file-ignore", "skip-file"])
def test_caller_findings_can_be_silenced(tmp_path, how) -> None:
    script = STALE
    args = ["--check", "--format", "json", "Dockerfile"]
    if how == "config-ignore":
        (tmp_path / ".dfix.toml").write_text('ignore = ["DF012"]\n')
    elif how == "per-file-ignores":
        (tmp_path / ".dfix.toml").write_text('[per-file-ignores]\n"build.sh" = ["DF012"]\n')
    elif how == "flag":
        args = ["--ignore", "DF012"] + args
    elif how == "inline":
        script = "#!/bin/sh\ndocker build --build-arg APP_VERSION=1 -t app .  # dfix: ignore[DF012]\n"
    elif how == "inline-above":
        script = "#!/bin/sh\n# dfix: ignore[DF012]\ndocker build \\\n  --build-arg APP_VERSION=1 \\\n  -t app .\n"
    elif how == "file-ignore":
        script = "#!/bin/sh\n# dfix: file-ignore[DF01]\ndocker build --build-arg APP_VERSION=1 -t app .\n"
    elif how == "skip-file":
        script = "#!/bin/sh\n# dfix: skip-file\ndocker build --build-arg APP_VERSION=1 -t app .\n"
    root = _stale_repo(tmp_path, script)
    _c, out, _e = run(args, cwd=root)
    assert _caller_codes(out) == []


def test_pragma_in_a_workflow_and_a_jenkinsfile(tmp_path) -> None:
    _git(tmp_path)
    (tmp_path / "Dockerfile").write_text(SECRET_DF)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    wf = tmp_path / ".github" / "workflows" / "b.yml"
    wf.write_text("on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n"
                  "          # dfix: ignore[DF012]\n          docker build --build-arg APP_VERSION=1 .\n")
    (tmp_path / "Jenkinsfile").write_text("pipeline {\n  stages { stage('b') { steps {\n"
                                          "    sh 'docker build --build-arg APP_VERSION=1 .' // dfix: ignore[DF012]\n  } } }\n}\n")
    _c, out, _e = run(["--check", "--format", "json", "Dockerfile"], cwd=tmp_path)
    doc = json.loads(out)
    assert [x["code"] for f in doc["files"] if f["path"] != "Dockerfile" for x in f["findings"]] == []


def test_ignoring_df011_leaves_the_caller_and_blocks_the_dockerfile(tmp_path) -> None:
    _git(tmp_path)
    (tmp_path / "Dockerfile").write_text(SECRET_DF)
    script = '#!/bin/sh\n# dfix: ignore[DF011]\ndocker build --build-arg NPM_TOKEN="$NPM_TOKEN" -t app .\n'
    (tmp_path / "build.sh").write_text(script)
    before = snapshot(tmp_path)
    code, out, _err = run(["--write", "Dockerfile"], cwd=tmp_path)
    assert snapshot(tmp_path) == before  # neither the Dockerfile nor its caller changed
    assert code == 1 and "DF011 is ignored there" in out


def test_add_ignore_silences_caller_findings(tmp_path) -> None:
    """A baseline: the Dockerfile's DF001 and the caller's DF012 both get their comment, in the
    caller's own syntax, above the start of the continued command; then --check is green."""
    root = _stale_repo(tmp_path, "#!/bin/sh\nif true; then\n  docker build \\\n    --build-arg APP_VERSION=1 \\\n    -t app .\nfi\n")
    code, _out, err = run(["--add-ignore", "Dockerfile"], cwd=root)
    assert "added 1 ignore comment(s) to build.sh" in err and "added 1 ignore comment(s) to Dockerfile" in err
    assert (root / "build.sh").read_text() == (
        "#!/bin/sh\nif true; then\n  # dfix: ignore[DF012]\n  docker build \\\n    --build-arg APP_VERSION=1 \\\n    -t app .\nfi\n")
    subprocess.run(["sh", "-n", str(root / "build.sh")], check=True)
    code, out, _err = run(["--check", "Dockerfile"], cwd=root)
    assert code == 0, out


def test_add_ignore_in_a_makefile_and_python(tmp_path) -> None:
    _git(tmp_path)
    (tmp_path / "Dockerfile").write_text(SECRET_DF)
    (tmp_path / "Makefile").write_text("build:\n\tdocker build --build-arg APP_VERSION=1 -t app .\n")
    (tmp_path / "build.py").write_text('#!/usr/bin/env python3\nimport subprocess\nsubprocess.run(["docker", "build", "--build-arg", "APP_VERSION=1", "."])\n')
    _c, out, _e = run(["--check", "--format", "json", "Dockerfile"], cwd=tmp_path)
    flagged = {f["path"] for f in json.loads(out)["files"] if any(x["code"] == "DF012" for x in f["findings"])}
    assert "Makefile" in flagged
    run(["--add-ignore", "Dockerfile"], cwd=tmp_path)
    assert (tmp_path / "Makefile").read_text() == "build:\n# dfix: ignore[DF012]\n\tdocker build --build-arg APP_VERSION=1 -t app .\n"
    subprocess.run(["make", "-n", "-C", str(tmp_path), "build"], check=True, capture_output=True)
    py = (tmp_path / "build.py").read_text()
    if "build.py" in flagged:  # a Python caller gets one file-level line after the shebang
        assert py.splitlines()[1] == "# dfix: file-ignore[DF012]"
        compile(py, "build.py", "exec")
    code, out, _err = run(["--check", "--format", "json", "Dockerfile"], cwd=tmp_path)
    assert code == 0, out


@pytest.mark.parametrize("comment,why", [
    ("# dfix: ignore", "needs the codes it ignores"),
    ("# dfix: ignore[DF0111]", "unknown rule code 'DF0111'"),
    ("# dfix: ignore[]", "names no codes"),
    ("# dfix: ignore[DF001", "is not closed"),
    ("# dfix: file-ignore", "needs the codes"),
    ("# dfix: skip-file[DF001]", "takes no codes"),
])
def test_a_malformed_pragma_is_an_error(tmp_path, comment, why) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM a:1\n{comment}\nARG NPM_TOKEN\nRUN npm ci\n")
    before = snapshot(tmp_path)
    code, _out, err = run(["--write", str(tmp_path / "Dockerfile")])
    assert code == 2 and "bad dfix comment: line 2:" in err and why in err
    assert snapshot(tmp_path) == before


def test_a_malformed_pragma_in_a_caller_is_an_error(tmp_path) -> None:
    _git(tmp_path)
    (tmp_path / "Dockerfile").write_text(SECRET_DF)
    (tmp_path / "build.sh").write_text('#!/bin/sh\n# dfix: ignore[DF11]\ndocker build --build-arg NPM_TOKEN="$NPM_TOKEN" .\n')
    before = snapshot(tmp_path)
    code, _out, err = run(["--write", "Dockerfile"], cwd=tmp_path)
    assert code == 2 and "unknown rule code 'DF11'" in err
    assert snapshot(tmp_path) == before


def test_valid_pragmas_are_accepted(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a:1\n# dfix: ignore[DF001, df009]\nARG NPM_TOKEN\n# dfix: ignore[ALL]\nRUN npm ci\n")
    code, out, err = run([str(tmp_path / "Dockerfile")])
    assert code == 0, (out, err)


# --- point 11: --callers=given (pre-commit) ----------------------------------------------------------


def _caller_repo(tmp_path):
    _git(tmp_path)
    (tmp_path / "Dockerfile").write_text(SECRET_DF)
    (tmp_path / "build.sh").write_text('#!/bin/sh\ndocker build --build-arg NPM_TOKEN="$NPM_TOKEN" -t app .\n')
    return tmp_path


def test_callers_given_leaves_callers_not_passed(tmp_path) -> None:
    root = _caller_repo(tmp_path)
    before = snapshot(root)
    code, out, _err = run(["--write", "--callers=given", "Dockerfile"], cwd=root)
    assert code == 1 and snapshot(root) == before
    assert "build.sh passes NPM_TOKEN as a build arg and was not given on the command line" in out


def test_callers_given_migrates_callers_passed(tmp_path) -> None:
    root = _caller_repo(tmp_path)
    code, _out, _err = run(["--write", "--callers=given", "Dockerfile", "build.sh"], cwd=root)
    assert code == 0
    assert "--secret id=npm_token,env=NPM_TOKEN" in (root / "build.sh").read_text()
    assert "--mount=type=secret" in (root / "Dockerfile").read_text()


# --- point 5: --sign in text mode, key-based cosign ----------------------------------------------


def test_sign_prints_in_text_mode_without_findings(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a:1@sha256:" + "0" * 64 + "\nRUN true\n")
    code, out, _err = run(["--sign", "cosign", "--image", "reg.local/app:1", str(tmp_path / "Dockerfile")])
    assert code == 0
    assert "cosign sign --yes" in out and "cosign verify" in out


def test_sign_key_for_cosign(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a:1@sha256:" + "0" * 64 + "\nRUN true\n")
    _c, out, _e = run(["--sign", "cosign", "--sign-key", "cosign.key", "--image", "reg.local/app:1", str(tmp_path / "Dockerfile")])
    assert "cosign sign --yes --key cosign.key reg.local/app@" in out
    assert "cosign verify --key cosign.pub " in out and "certificate-identity" not in out
    _c, out, _e = run(["--sign", "cosign", "--sign-key", "awskms:///alias/release", "--image", "reg.local/app:1", str(tmp_path / "Dockerfile")])
    assert "cosign verify --key awskms:///alias/release " in out


def test_options_after_paths_still_parse(tmp_path) -> None:
    """click groups stop at the first argument by default; dfix's options go anywhere."""
    (tmp_path / "Dockerfile").write_text(SECRET_DF)
    code, out, _err = run([str(tmp_path / "Dockerfile"), "--format", "json", "--select", "DF001"])
    assert code == 1 and json.loads(out)["files"][0]["findings"][0]["code"] == "DF001"


def test_report_writes_more_formats_from_the_same_run(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text(SECRET_DF)
    out_dir = tmp_path / "out"
    code, out, _err = run(["--check", "--format", "json", "--report", f"sarif={out_dir}/d.sarif",
                           "--report", f"gitlab={out_dir}/cq.json", str(tmp_path / "Dockerfile")])
    assert code == 1
    doc = json.loads(out)
    assert doc["files"][0]["diff"].startswith("--- a/") and "+RUN --mount=type=secret" in doc["files"][0]["diff"]
    sarif = json.loads((out_dir / "d.sarif").read_text())
    assert sarif["runs"][0]["results"][0]["ruleId"] == "DF001"
    assert json.loads((out_dir / "cq.json").read_text())[0]["check_name"] == "DF001"
    code, _out, err = run(["--report", "text=x.txt", str(tmp_path / "Dockerfile")])
    assert code == 2 and "--report takes FORMAT=PATH" in err


def test_json_diff_is_null_without_a_change(tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM a:1\nRUN true\n")
    _c, out, _e = run(["--check", "--format", "json", str(tmp_path / "Dockerfile")])
    assert json.loads(out)["files"][0]["diff"] is None

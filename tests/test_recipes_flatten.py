"""The `--emit flatten` recipe (issue #17, point 1).

The recipe reads the built image's config with `docker image inspect` when it runs and re-applies
it with `docker import --change`; it holds no value from the Dockerfile (a secret LABEL or ENV value
cannot leak into it), builds under a unique temporary tag and removes what it made, also on
failure. These tests read the recipe's text and run it with a stub `docker` that records its
arguments; tests/e2e/test_flatten_build.py runs it on a real engine.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run

# every instruction the recipe carries, each with a value that must not appear in the recipe
VALUES = {name: f"dfixval{name}{secrets.token_hex(6)}" for name in
          ("env", "path", "workdir", "user", "label", "cmd", "entrypoint", "volume", "stop", "health", "onbuild", "shell")}
TOKEN = "ghp_" + secrets.token_hex(18)  # a credential format: masked everywhere, and must not be copied
PASSWORD = "pw" + secrets.token_hex(10)  # no known format: only the recipe's design keeps it out

DOCKERFILE = f"""FROM node:20
ENV APP_MODE={VALUES['env']} PATH=/opt/{VALUES['path']}/bin:$PATH
ENV QUOTED="a b 'q' \\"dq\\" \\$HOME = x"
LABEL vcs.token="{TOKEN}" com.example.password="{PASSWORD}" note="{VALUES['label']}"
WORKDIR /srv/{VALUES['workdir']}
ARG NPM_TOKEN
RUN npm ci
USER {VALUES['user']}
EXPOSE 4567/udp
VOLUME /data/{VALUES['volume']}
STOPSIGNAL {VALUES['stop']}
HEALTHCHECK --interval=31s CMD wget -q http://localhost/{VALUES['health']} || exit 1
ONBUILD RUN echo {VALUES['onbuild']}
SHELL ["/bin/{VALUES['shell']}", "-c"]
ENTRYPOINT ["/usr/bin/{VALUES['entrypoint']}"]
CMD ["{VALUES['cmd']}"]
"""


def _emitted(tmp_path: Path, dockerfile: str = DOCKERFILE, extra: list[str] | None = None) -> dict:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    _code, out, err = run(["--format", "json", "--emit", "flatten", "--emit", "docker", *(extra or []), "Dockerfile"],
                          cwd=tmp_path)
    doc = json.loads(out)
    return next(f for f in doc["files"] if f["kind"] == "dockerfile")["build"]["emitted"]


@pytest.fixture
def recipe(tmp_path: Path) -> str:
    return _emitted(tmp_path)["flatten"]


def test_the_recipe_holds_no_value_from_the_dockerfile(tmp_path: Path, recipe: str) -> None:
    for name, value in VALUES.items():
        assert value not in recipe, f"the {name} value was copied into the recipe"
    assert TOKEN not in recipe and PASSWORD not in recipe
    assert "4567" not in recipe and "31s" not in recipe and "QUOTED" not in recipe and "$HOME" not in recipe
    assert "--change '" not in recipe  # no --change line is written out: they are read at run time
    assert "docker image inspect -f \"$fmt\"" in recipe
    # the text form prints the same recipe, and no value either
    code, out, err = run(["--emit", "flatten", "Dockerfile"], cwd=tmp_path)
    assert "docker image inspect" in out
    for value in [*VALUES.values(), TOKEN, PASSWORD]:
        assert value not in out + err


def test_the_same_recipe_whatever_the_config(tmp_path: Path, recipe: str) -> None:
    """Only the build command depends on the Dockerfile: a file with no config at all gets the same
    recipe around the same command."""
    other = tmp_path / "other"
    other.mkdir()
    plain = _emitted(other, "FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n")["flatten"]
    assert plain == recipe


def test_the_recipe_parses_as_posix_sh(tmp_path: Path, recipe: str) -> None:
    (tmp_path / "recipe.sh").write_text(recipe)
    for shell in ("sh", "dash", "bash"):
        exe = shutil.which(shell)
        if exe:
            proc = subprocess.run([exe, "-n", str(tmp_path / "recipe.sh")], capture_output=True, text=True)
            assert proc.returncode == 0, (shell, proc.stderr)


def test_the_recipe_structure(recipe: str) -> None:
    assert "dfix-build:latest" not in recipe  # a fixed tag that concurrent runs would clobber
    assert ': "${NPM_TOKEN:?NPM_TOKEN is not set}"' in recipe
    assert "set -eu" in recipe and "trap '" in recipe and " EXIT" in recipe
    assert re.search(r'^  docker build -t "\$tmp" --secret id=npm_token,env=NPM_TOKEN \.$', recipe, re.M)
    # the header says what cannot be carried
    header = "\n".join(line for line in recipe.splitlines() if line.startswith("#"))
    for word in ("SHELL", "history", "layers", "newline", "/.dockerenv"):
        assert word in header


def test_other_targets_are_unchanged(tmp_path: Path) -> None:
    emitted = _emitted(tmp_path)
    assert emitted["docker"] == ': "${NPM_TOKEN:?NPM_TOKEN is not set}"\ndocker build --secret id=npm_token,env=NPM_TOKEN .\n'


def test_a_secret_label_value_of_a_weak_format_stays_out(tmp_path: Path) -> None:
    """Before, a LABEL was copied verbatim; a value judged secret only by its name was masked
    at best. Now no LABEL reaches the recipe at all."""
    value = "Sup3r" + secrets.token_hex(8)
    emitted = _emitted(tmp_path, f'FROM node:20\nLABEL db_password="{value}"\nARG NPM_TOKEN\nRUN npm ci\n')
    assert value not in emitted["flatten"] and "<redacted>" not in emitted["flatten"]


# -- running the recipe with a stub docker -------------------------------------------------------

STUB = r'''#!__PYTHON__
import json, os, sys
args = sys.argv[1:]
with open(os.environ["STUB_LOG"], "a") as f:
    f.write(json.dumps(args) + "\n")
fail = os.environ.get("STUB_FAIL", "")
cmd = args[0] if args else ""
if cmd == "image" and args[1] == "inspect":
    fmt = args[args.index("-f") + 1]
    sys.stdout.write(os.environ.get("STUB_CHANGES", "") if "define" in fmt else "linux/arm64/v8\n")
elif cmd == "build" and fail == "build":
    sys.exit(1)
elif cmd == "create":
    print("cid0123")
elif cmd == "export":
    if fail == "export":
        sys.exit(1)
    sys.stdout.write("rootfs-tar")
elif cmd == "import":
    data = sys.stdin.read()
    with open(os.environ["STUB_LOG"], "a") as f:
        f.write(json.dumps(["<stdin>", data]) + "\n")
    if fail == "import":
        sys.exit(1)
    print("sha256:0123")
'''

CHANGES = ["ENV 'PATH'='/opt/x/bin:/usr/bin'", "ENV 'Q'='a b '\\''q'\\'' \"dq\" $HOME = x'", "ENV 'E'=''",
           'ENTRYPOINT ["/bin/entry"]', "LABEL 'k'='v $x'", "LABEL 'glob'='*'", "LABEL 'tab'='a\tb  '",
           'VOLUME ["\'/data\'"]', "ONBUILD RUN echo \\$x"]


def _run_recipe(tmp_path: Path, recipe: str, changes: list[str] | str = CHANGES, fail: str = "",
                env_token: str | None = "tok", shell: list[str] = ("sh",)) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    bindir = tmp_path / "stubbin"
    bindir.mkdir(exist_ok=True)
    stub = bindir / "docker"
    stub.write_text(STUB.replace("__PYTHON__", sys.executable))
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "stub.log"
    log.write_text("")
    (tmp_path / "recipe.sh").write_text(recipe)
    env = {k: v for k, v in os.environ.items() if k != "NPM_TOKEN"}
    env.update(PATH=f"{bindir}:{env['PATH']}", STUB_LOG=str(log), STUB_FAIL=fail,
               STUB_CHANGES=changes if isinstance(changes, str) else "".join(c + "\n" for c in changes))
    if env_token is not None:
        env["NPM_TOKEN"] = env_token
    proc = subprocess.run([*shell, str(tmp_path / "recipe.sh")], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return proc, calls


def _tmp_tag(calls: list[list[str]]) -> str:
    build = next(c for c in calls if c[0] == "build")
    return build[build.index("-t") + 1]


SHELLS = [["sh"], ["bash"], ["bash", "--posix"], ["busybox", "sh"], ["zsh"], ["ksh"]]


@pytest.mark.parametrize("shell", SHELLS, ids=" ".join)
def test_a_run_passes_every_change_as_one_argument_and_cleans_up(tmp_path: Path, recipe: str, shell) -> None:
    if not shutil.which(shell[0]):
        pytest.skip(f"{shell[0]} is not installed")
    proc, calls = _run_recipe(tmp_path, recipe, shell=shell)
    assert proc.returncode == 0, proc.stderr
    tag = _tmp_tag(calls)
    assert re.fullmatch(r"dfix-flatten-tmp:[0-9a-f]{16}", tag)
    imp = next(c for c in calls if c[0] == "import")
    want = ["import", "--platform", "linux/arm64/v8"]
    for c in CHANGES:
        want += ["--change", c]
    assert imp == want + ["-", f"{tag}-flat"]
    assert ["<stdin>", "rootfs-tar"] in calls
    assert ["create", tag, "dfix-flatten"] in calls and ["export", "cid0123"] in calls
    assert calls[-3:] == [["tag", f"{tag}-flat", "app:flat"], ["rm", "-f", "-v", "cid0123"],
                          ["image", "rm", tag, f"{tag}-flat"]]
    assert "flattened into app:flat" in proc.stdout
    # a second run uses another temporary tag
    proc2, calls2 = _run_recipe(tmp_path, recipe, shell=shell)
    assert proc2.returncode == 0 and _tmp_tag(calls2) != tag


def test_an_image_without_config_gets_no_change(tmp_path: Path, recipe: str) -> None:
    proc, calls = _run_recipe(tmp_path, recipe, changes="")
    assert proc.returncode == 0, proc.stderr
    imp = next(c for c in calls if c[0] == "import")
    assert "--change" not in imp


def test_the_secret_guard_stops_before_docker(tmp_path: Path, recipe: str) -> None:
    proc, calls = _run_recipe(tmp_path, recipe, env_token=None)
    assert proc.returncode != 0 and "NPM_TOKEN is not set" in proc.stderr
    assert calls == []


@pytest.mark.parametrize("fail", ["build", "export", "import"])
def test_a_failure_stops_and_removes_what_it_made(tmp_path: Path, recipe: str, fail: str) -> None:
    proc, calls = _run_recipe(tmp_path, recipe, fail=fail)
    assert proc.returncode != 0
    tag = _tmp_tag(calls)
    assert not any(c[0] == "tag" for c in calls), "the final image was tagged after a failure"
    assert calls[-1] == ["image", "rm", tag, f"{tag}-flat"]
    if fail != "build":
        assert ["rm", "-f", "-v", "cid0123"] in calls
    if fail == "export":
        assert "docker export failed" in proc.stderr


@pytest.mark.parametrize("changes,message", [
    (["ENV 'A'='x'", "LABEL 'k'=", "!a value holding a newline", "'"], "cannot carry a value holding a newline"),
    (["!a LABEL key holding ="], "cannot carry a LABEL key holding ="),
    (["ONBUILD RUN echo \\"], "ends with a backslash"),
])
def test_what_cannot_be_carried_stops_the_recipe(tmp_path: Path, recipe: str, changes, message: str) -> None:
    proc, calls = _run_recipe(tmp_path, recipe, changes=changes)
    assert proc.returncode != 0 and message in proc.stderr
    assert not any(c[0] in ("create", "import", "tag") for c in calls)
    assert calls[-1] == ["image", "rm", _tmp_tag(calls), f"{_tmp_tag(calls)}-flat"]

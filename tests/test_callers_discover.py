"""Callers: discovery over a repository, linking, stale build args, the public API."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refactor.buildspec import SecretSpec
from refactor.callers import BuildArgUse, Invocation, Target, discover, kind_of, plan, plan_file, stale_args
from refactor.fixes.edit import apply_edits

LIT = "lit-Dv3kW9sQz1mValueR"


def write(root: Path, rel: str, text: str | bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write(tmp_path, "Dockerfile", "FROM scratch\nARG NPM_TOKEN\n")
    write(tmp_path, "svc/Dockerfile", "FROM scratch\nARG NPM_TOKEN\n")
    write(tmp_path, ".gitignore", "ignored/\n*.local.sh\n")
    write(tmp_path, "build.sh", "docker build --build-arg NPM_TOKEN .\n")
    write(tmp_path, "dev.local.sh", "docker build --build-arg NPM_TOKEN .\n")
    write(tmp_path, "ignored/build.sh", "docker build --build-arg NPM_TOKEN .\n")
    write(tmp_path, "node_modules/pkg/build.sh", "docker build --build-arg NPM_TOKEN .\n")
    write(tmp_path, "vendor/build.sh", "docker build --build-arg NPM_TOKEN .\n")
    write(tmp_path, "bin/release", "#!/bin/bash\ndocker build --build-arg NPM_TOKEN -f svc/Dockerfile svc\n")
    write(tmp_path, "bin/notes", "docker build --build-arg NPM_TOKEN .\n")  # no shebang: not a script
    write(tmp_path, "Makefile", "b:\n\tdocker build --build-arg NPM_TOKEN=$(T) svc\n")
    write(tmp_path, "justfile", "b:\n    docker build --build-arg NPM_TOKEN .\n")
    write(tmp_path, "compose.yaml", "services:\n  a:\n    build:\n      context: svc\n      args: [NPM_TOKEN]\n")
    write(tmp_path, "docker-bake.hcl", 'target "a" {\n  args = { NPM_TOKEN = NPM_TOKEN }\n}\n')
    write(tmp_path, "docker-bake.json", '{"target": {"a": {"args": {"NPM_TOKEN": "${NPM_TOKEN}"}}}}\n')
    write(tmp_path, ".github/workflows/ci.yml", "jobs:\n  b:\n    steps:\n      - run: docker build --build-arg NPM_TOKEN .\n")
    write(tmp_path, ".gitlab-ci.yml", "b:\n  script:\n    - docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n")
    write(tmp_path, "Jenkinsfile", "node { sh 'docker build --build-arg NPM_TOKEN=$NPM_TOKEN .' }\n")
    write(tmp_path, "tools/build.py", "import subprocess\nsubprocess.run(['docker', 'build', '--build-arg', 'NPM_TOKEN', '.'])\n")
    # bad files: never raise, never listed
    write(tmp_path, "bad/binary.sh", b"docker build --build-arg NPM_TOKEN\x00\xff\n")
    write(tmp_path, "bad/latin1.sh", "docker build --build-arg NPM_TOKEN=caf\xe9 .\n".encode("latin-1"))
    write(tmp_path, "bad/compose.yml", "services: [\n  build-arg: args\n")
    write(tmp_path, "bad/broken.py", "def f(:\n  '--build-arg'\n")
    write(tmp_path, "bad/docker-bake.hcl", 'target "a" {\n  args = { NPM_TOKEN = \n')
    return tmp_path


def test_discover_finds_every_kind_and_skips_the_rest(repo: Path) -> None:
    invs = discover(str(repo))
    found = sorted((os.path.relpath(i.path, repo), i.kind) for i in invs)
    assert found == [
        (".github/workflows/ci.yml", "github"),
        (".gitlab-ci.yml", "gitlab"),
        ("Jenkinsfile", "jenkins"),
        ("Makefile", "make"),
        ("bin/release", "shell"),
        ("build.sh", "shell"),
        ("compose.yaml", "compose"),
        ("docker-bake.hcl", "bake-hcl"),
        ("docker-bake.json", "bake-json"),
        ("justfile", "just"),
        ("tools/build.py", "python"),
    ]
    for i in invs:
        assert os.path.isabs(i.path)
        assert all(isinstance(a, BuildArgUse) and a.name == "NPM_TOKEN" for a in i.build_args)


def test_discover_links_dockerfiles(repo: Path) -> None:
    by = {os.path.relpath(i.path, repo): i for i in discover(str(repo))}
    root_df = str((repo / "Dockerfile").resolve())
    svc_df = str((repo / "svc" / "Dockerfile").resolve())
    assert by["build.sh"].dockerfile == root_df
    assert by["bin/release"].dockerfile == svc_df
    assert by["Makefile"].dockerfile == svc_df
    assert by["compose.yaml"].dockerfile == svc_df
    assert by["docker-bake.hcl"].dockerfile == root_df
    assert by[".gitlab-ci.yml"].dockerfile == root_df
    assert by["tools/build.py"].dockerfile == root_df


def test_discover_exclude(repo: Path) -> None:
    invs = discover(str(repo), exclude=("tools", "*.yml", ".github"))
    kinds = {i.kind for i in invs}
    assert "python" not in kinds and "gitlab" not in kinds and "github" not in kinds
    assert "shell" in kinds


def test_discover_reads_a_file_whose_known_row_is_malformed(tmp_path: Path) -> None:
    """``known`` comes from the cache, which a crash or a hand may have damaged: a row that is not
    the stat the file has now (any JSON value) means the file is read, never an error."""
    (tmp_path / "build.sh").write_text("docker build --build-arg NPM_TOKEN .\n")
    (tmp_path / "other.sh").write_text("echo nothing\n")
    for row in (5, "shell", {"a": 1}, [1, 2], ["shell", "x", None, [], 0], None, []):
        known: dict = {"build.sh": row, "other.sh": row}
        invs = discover(str(tmp_path), names=frozenset({"NPM_TOKEN"}), known=known)
        assert [os.path.basename(i.path) for i in invs] == ["build.sh"], row
        assert sorted(known) == ["other.sh"] and len(known["other.sh"]) == 5  # (this run's verdicts)


def test_discover_opens_regular_files_and_stats_the_rest_first(tmp_path: Path) -> None:
    """Regular files (as listed) are opened straight away and fstat-ed; anything else is stat-ed
    before it is opened: a symlink to a caller is followed, a FIFO, a socket or a broken link
    named like a caller is skipped (never opened: a FIFO would hang the run), as is a FIFO that
    replaced a regular file after the listing (opened non-blocking, then fstat-ed)."""
    import socket

    from refactor import walk

    write(tmp_path, "real/build.sh", "docker build --build-arg NPM_TOKEN .\n")
    os.symlink(tmp_path / "real" / "build.sh", tmp_path / "linked.sh")
    os.symlink(tmp_path / "nowhere.sh", tmp_path / "broken.sh")
    os.mkfifo(tmp_path / "fifo.sh")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "sock.sh"))
        walk.forget()
        invs = discover(str(tmp_path), names=frozenset({"NPM_TOKEN"}), unreadable=(bad := []))
        assert sorted(os.path.relpath(i.path, tmp_path) for i in invs) == ["linked.sh", "real/build.sh"]
        assert bad == []
        # a regular file when listed, a FIFO when opened
        write(tmp_path, "swapped.sh", "docker build --build-arg NPM_TOKEN .\n")
        walk.forget()
        list(walk.walk(str(tmp_path)))  # (listed now: swapped.sh is a regular file)
        os.unlink(tmp_path / "swapped.sh")
        os.mkfifo(tmp_path / "swapped.sh")
        invs = discover(str(tmp_path), names=frozenset({"NPM_TOKEN"}), unreadable=bad)
        assert "swapped.sh" not in {os.path.basename(i.path) for i in invs} and bad == []
    finally:
        sock.close()
        walk.forget()


def test_discover_empty_and_missing_roots(tmp_path: Path) -> None:
    assert discover(str(tmp_path)) == []
    assert discover(str(tmp_path / "missing")) == []


@pytest.mark.parametrize("rel,kind", [
    ("a/b.sh", "shell"), ("x.bash", "shell"), ("Makefile", "make"), ("mk/rules.mk", "make"), ("GNUmakefile", "make"),
    ("justfile", "just"), (".justfile", "just"), ("compose.yaml", "compose"), ("docker-compose.override.yml", "compose"),
    ("compose.prod.yaml", "compose"), ("docker-bake.hcl", "bake-hcl"), ("docker-bake.override.json", "bake-json"),
    (".github/workflows/ci.yaml", "github"), (".gitlab-ci.yml", "gitlab"), ("ci/build.gitlab-ci.yml", "gitlab"),
    (".gitlab/ci/build.yml", "gitlab"), ("Jenkinsfile", "jenkins"), ("Jenkinsfile.release", "jenkins"),
    ("tools/build.py", "python"), ("README.md", None), ("compose.json", None), (".github/dependabot.yml", None),
    ("values.yaml", None), ("Dockerfile", None),
])
def test_kind_of(rel: str, kind: str | None) -> None:
    assert kind_of(rel) == kind


_NAME_BITS = ["Makefile", "makefile", "GNUmakefile", "justfile", "Justfile", ".justfile", "Jenkinsfile", "jenkinsfile",
              "compose", "docker-compose", "docker-bake", "COMPOSE", "Docker-Bake", "x", ".gitlab-ci", "build", ""]
_EXT_BITS = ["", ".yml", ".yaml", ".YML", ".hcl", ".json", ".mk", ".MK", ".just", ".sh", ".bash", ".py", ".PY",
             ".jenkinsfile", ".Jenkinsfile", ".md", ".go", ".txt", ".release", ".prod", ".override", ".d", "."]
_DIR_BITS = ["", ".github/workflows/", ".github/", "a/.github/workflows/", ".gitlab/", ".gitlab/ci/", "ci/", "a/b/"]


@given(st.sampled_from(_DIR_BITS), st.sampled_from(_NAME_BITS), st.lists(st.sampled_from(_EXT_BITS), max_size=3))
def test_kind_of_first_test_loses_nothing(directory: str, name: str, exts: list[str]) -> None:
    """kind_of's cheap first test (a dotted name must end as some kind's does) never changes a kind:
    the same as asking every kind's matcher."""
    from refactor.callers.kinds import KINDS

    rel = directory + name + "".join(exts)
    if rel and not rel.endswith("/"):
        parts = rel.split("/")
        every = next((k.name for k in KINDS if k.matches(parts, parts[-1], parts[-1].lower())), None)
        assert kind_of(rel) == every


def test_stale_args() -> None:
    uses = tuple(BuildArgUse(n, "passthrough", None, 0, 1) for n in ("NPM_TOKEN", "OLD", "HTTP_PROXY", "BUILDKIT_INLINE_CACHE", "OLD", ""))
    inv = Invocation("/r/b.sh", "shell", None, None, uses, 0, 1)
    assert stale_args(inv, {"NPM_TOKEN"}) == ["OLD"]
    assert stale_args(inv, {"NPM_TOKEN", "OLD"}) == []


def test_plan_single_invocation_and_file_level_plan(repo: Path) -> None:
    spec = {"NPM_TOKEN": SecretSpec("npm_token", "env", "NPM_TOKEN")}
    (inv,) = [i for i in discover(str(repo)) if i.kind == "shell" and i.path.endswith("build.sh")]
    text = Path(inv.path).read_text()
    p = plan(inv, text, spec)
    assert apply_edits(text, p.edits) == "docker build --secret id=npm_token,env=NPM_TOKEN .\n"
    assert p.path == inv.path and p.notes == [] and p.rotate == [] and p.unmigratable == []
    # a plan for an invocation the text no longer has is refused, not guessed
    stale = plan(inv, "echo changed\n", spec)
    assert stale.edits == [] and stale.unmigratable


def test_targets_for_another_file_are_ignored() -> None:
    inv = Invocation("/r/a.sh", "shell", None, None, (), 0, 1)
    assert plan_file("/r/b.sh", "x", [Target(inv, {})]).edits == []


def test_literal_values_never_reach_invocations_or_plans(tmp_path: Path) -> None:
    write(tmp_path, "Dockerfile", "FROM scratch\nARG NPM_TOKEN\n")
    write(tmp_path, "build.sh", f"docker build --build-arg NPM_TOKEN={LIT} .\n")
    write(tmp_path, "compose.yaml", f"services:\n  a:\n    build:\n      args:\n        NPM_TOKEN: {LIT}\n")
    write(tmp_path, "b.py", f"import subprocess\nsubprocess.run(['docker', 'build', '--build-arg', 'NPM_TOKEN={LIT}', '.'])\n")
    spec = {"NPM_TOKEN": SecretSpec("npm_token", "env", "NPM_TOKEN")}
    invs = discover(str(tmp_path))
    assert len(invs) == 3
    for inv in invs:
        text = Path(inv.path).read_text()
        p = plan_file(inv.path, text, [Target(inv, spec)])
        out = apply_edits(text, p.edits)
        leaked = any(LIT in s for s in (repr(inv), out, *p.notes, *p.unmigratable, *p.rotate))
        assert not leaked, f"the committed value leaked ({inv.kind})"
        assert p.rotate == ["NPM_TOKEN"]


@pytest.mark.parametrize("kind,path,before,after", [
    ("shell", "/r/b.sh", "docker build --build-arg NPM_TOKEN=$T --build-arg X .\n", "docker build --build-arg X .\n"),
    ("compose", "/r/compose.yaml", "services:\n  a:\n    build:\n      args:\n        NPM_TOKEN: ${T}\n", "services:\n  a:\n    build:\n      context: .\n"),
    ("bake-hcl", "/r/docker-bake.hcl", 'target "a" {\n  args = {\n    NPM_TOKEN = T\n  }\n}\n', 'target "a" {\n}\n'),
    ("github", "/r/.github/workflows/c.yml", "jobs:\n  b:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          build-args: |\n            NPM_TOKEN=${{ secrets.T }}\n          push: true\n",
     "jobs:\n  b:\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          push: true\n"),
    ("python", "/r/b.py", "import subprocess\nsubprocess.run(['docker', 'build', '--build-arg', f'NPM_TOKEN={t}', '.'])\n", "import subprocess\nsubprocess.run(['docker', 'build', '.'])\n"),
])
def test_unread_arg_is_just_dropped(kind: str, path: str, before: str, after: str) -> None:
    """``migrated[name] = None``: the rewrite removed the ARG and nothing reads it."""
    from refactor.callers import find_in_text

    invs = find_in_text(path, before, kind)
    p = plan_file(path, before, [Target(i, {"NPM_TOKEN": None}) for i in invs])
    assert apply_edits(before, p.edits) == after
    assert p.unmigratable == []


def test_repo_root(tmp_path: Path) -> None:
    from refactor.callers import repo_root

    (tmp_path / "repo" / ".git").mkdir(parents=True)
    write(tmp_path, "repo/a/Dockerfile", "FROM scratch\n")
    write(tmp_path, "repo/b/c/Dockerfile", "FROM scratch\n")
    write(tmp_path, "plain/x/Dockerfile", "FROM scratch\n")
    write(tmp_path, "plain/y/Dockerfile", "FROM scratch\n")
    real = tmp_path.resolve()
    assert repo_root([str(tmp_path / "repo/a/Dockerfile")]) == str(real / "repo")
    assert repo_root([str(tmp_path / "repo/a"), str(tmp_path / "repo/b/c/Dockerfile"), "-"]) == str(real / "repo")
    assert repo_root([str(tmp_path / "plain/x/Dockerfile"), str(tmp_path / "plain/y")]) == str(real / "plain")


def test_many_wanted_names_are_looked_up_as_words() -> None:
    """Issue #20 point 10's shape for callers: 10,000 migrated names against every caller file was
    10,000 substring searches per file. Many names are looked up among the file's identifiers."""
    from refactor.callers import _Wanted

    few = _Wanted(frozenset({"NPM_TOKEN"}))
    many = _Wanted(frozenset({f"TOKEN_{i}" for i in range(100)} | {"NPM_TOKEN", "odd-name"}))
    assert many.few is None and few.few is not None
    for w in (few, many):
        assert w.in_bytes(b"docker build --build-arg NPM_TOKEN=$NPM_TOKEN .")
        assert w.in_bytes(b'build_args={"NPM_TOKEN": tok}')
        assert not w.in_bytes(b"docker build --build-arg OTHER .")
    assert many.in_bytes(b"--build-arg TOKEN_42 .") and not many.in_bytes(b"--build-arg TOKEN_420 .")
    assert many.in_bytes(b"--build-arg odd-name=1")  # (not an identifier: a substring test)


def test_thousands_of_names_still_find_every_caller(tmp_path: Path) -> None:
    """The word lookup that many names take finds what the substring test found."""
    for i in range(300):
        (tmp_path / f"b{i}.sh").write_text(f"docker build --build-arg TOKEN_{i} .\n")
    names = frozenset(f"TOKEN_{i}" for i in range(5_000))
    found = discover(str(tmp_path), names=names)
    assert len(found) == 300


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=30), st.integers(-2, 90))
def test_the_span_index_holds_what_any_span_holds(raw: list[tuple[int, int]], off: int) -> None:
    from refactor.link_findings import spans_hold, spans_index

    spans = [(a, a + n) for a, n in raw]
    assert spans_hold(spans_index(spans), off) == any(a <= off < b for a, b in spans)


def test_a_script_of_two_thousand_builds_links_in_budget(tmp_path: Path) -> None:
    """One build.sh running `docker build --build-arg NPM_TOKEN=…` 2,000 times (117 KB), directory
    mode. Session 10 (the helper's probe): each build rescanned every earlier command for a `cd`,
    each mention was tested against every build's span, each use rescanned the script for committed
    values and counted newlines from its start: 5.6 s here, 18.9 s at 4,000. Now 1.5 s."""
    import test_fuzz
    from test_fuzz import budgeted_run

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM a\nARG NPM_TOKEN\nRUN npm ci\n")
    (tmp_path / "build.sh").write_text("#!/bin/sh\n" + "".join(f"docker build --build-arg NPM_TOKEN=$NPM_TOKEN -t x{i} app\n" for i in range(2_000)))
    test_fuzz.cold_start()
    code, out, err = budgeted_run(["-q", "--no-cache", str(tmp_path)], "a script of 2,000 builds")
    assert code == 1 and "DF001" in out, err

"""``find_credential_splits`` on small repository trees written by each test."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from refactor.supply.split import CredentialSplit, Site, find_credential_splits


def tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


def found(root: Path) -> list[tuple[str, tuple[str, int], tuple[str, int]]]:
    return [(s.variable, s.read_site[:2], s.publish_site[:2]) for s in find_credential_splits(root)]


def test_api_shape(tmp_path) -> None:
    tree(tmp_path, {
        "Dockerfile": "FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n",
        "publish.sh": "#!/bin/sh\nNODE_AUTH_TOKEN=$NPM_TOKEN npm publish\n",
    })
    (s,) = find_credential_splits(tmp_path)
    assert isinstance(s, CredentialSplit) and s.variable == "NPM_TOKEN"
    assert s.read_site == ("Dockerfile", 2, "Dockerfile ARG NPM_TOKEN (a build argument the build reads)")
    assert s.publish_site == Site("publish.sh", 2, "npm publish")
    assert "Dockerfile:2" in s.message and "publish.sh:2" in s.message


def test_gitlab_docker_login_with_p_and_build_arg(tmp_path) -> None:
    tree(tmp_path, {
        ".gitlab-ci.yml": """
            build:
              script:
                - docker build --build-arg NEXUS_PASSWORD=$NEXUS_PASSWORD -t app .
            release:
              script:
                - docker login -u deployer -p $NEXUS_PASSWORD nexus.example.com
                - docker push nexus.example.com/app:1
                - docker login -u "$CI_REGISTRY_USER" -p "$CI_REGISTRY_PASSWORD" "$CI_REGISTRY"
            """,
    })
    assert found(tmp_path) == [("NEXUS_PASSWORD", (".gitlab-ci.yml", 3), (".gitlab-ci.yml", 6))]


def test_login_without_push_is_a_pull_credential(tmp_path) -> None:
    tree(tmp_path, {
        "ci/pull.sh": 'echo "$REG_PW" | docker login -u me --password-stdin reg.example.com\ndocker build .\n',
        "ci/push.sh": 'docker login -u me --password="$REG_PW" reg.example.com\ndocker push reg.example.com/app\n',
    })
    assert found(tmp_path) == [("REG_PW", ("ci/pull.sh", 1), ("ci/push.sh", 1))]
    (s,) = find_credential_splits(tmp_path)
    assert "pull login" in s.read_site.what and "pushes" in s.publish_site.what


def test_github_aliases_are_identified_by_secret(tmp_path) -> None:
    tree(tmp_path, {
        ".github/workflows/a.yml": """
            on: push
            jobs:
              build:
                runs-on: ubuntu-latest
                steps:
                  - run: npm ci
                    env:
                      NODE_AUTH_TOKEN: ${{ secrets.NPM_READ }}
                  - run: npm publish
                    env:
                      NODE_AUTH_TOKEN: ${{ secrets.NPM_WRITE }}
            """,
    })
    assert found(tmp_path) == []  # one env name, two secrets: properly split
    (tmp_path / ".github/workflows/a.yml").write_text((tmp_path / ".github/workflows/a.yml").read_text().replace("NPM_WRITE", "NPM_READ"))
    assert found(tmp_path) == [("NPM_READ", (".github/workflows/a.yml", 6), (".github/workflows/a.yml", 9))]


def test_github_job_env_and_build_push_action(tmp_path) -> None:
    tree(tmp_path, {
        ".github/workflows/release.yml": """
            on: push
            env:
              PYPI_TOKEN: ${{ secrets.PYPI }}
            jobs:
              image:
                runs-on: ubuntu-latest
                steps:
                  - uses: docker/build-push-action@v6
                    with:
                      push: false
                      build-args: |
                        PIP_INDEX_URL=https://__token__:${{ secrets.PYPI }}@pypi.example.com/simple
                      secret-envs: |
                        pypi=PYPI_TOKEN
              upload:
                runs-on: ubuntu-latest
                steps:
                  - run: twine upload -u __token__ -p "$PYPI_TOKEN" dist/*
            """,
    })
    got = find_credential_splits(tmp_path)
    assert [(s.variable, s.read_site.line, s.publish_site.line) for s in got] == [("PYPI", 12, 18)]
    assert got[0].read_site.what.startswith("docker/build-push-action build-args PIP_INDEX_URL")
    assert got[0].other_reads[0].what == "docker/build-push-action secret-envs pypi"


def test_github_token_and_ci_job_token_are_not_reported(tmp_path) -> None:
    tree(tmp_path, {
        ".github/workflows/a.yml": """
            on: push
            jobs:
              j:
                runs-on: ubuntu-latest
                steps:
                  - run: docker build --secret id=gh,env=GH .
                    env:
                      GH: ${{ secrets.GITHUB_TOKEN }}
                  - uses: docker/login-action@v3
                    with:
                      password: ${{ github.token }}
                  - run: docker push ghcr.io/o/r
            """,
        ".gitlab-ci.yml": """
            j:
              script:
                - docker build --build-arg CI_JOB_TOKEN .
                - npm publish --//gitlab.example.com/:_authToken=${CI_JOB_TOKEN}
            """,
    })
    assert found(tmp_path) == []


def test_npmrc_links_install_and_publish(tmp_path) -> None:
    tree(tmp_path, {
        ".npmrc": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
        "Makefile": "deps:\n\tnpm ci\nrelease:\n\tnpm publish\n",
    })
    assert found(tmp_path) == [("NPM_TOKEN", ("Makefile", 2), ("Makefile", 4))]


def test_maven_and_gradle(tmp_path) -> None:
    tree(tmp_path, {
        "settings.xml": "<settings><servers><server><password>${env.REPO_PW}</password></server></servers></settings>\n",
        "build.gradle.kts": 'publishing { repositories { maven { credentials { password = System.getenv("GRADLE_PW") } } } }\n',
        "Dockerfile": (
            "FROM maven:3.9\n"
            "RUN --mount=type=secret,id=repo_pw,env=REPO_PW mvn -s settings.xml package\n"
            "RUN --mount=type=secret,id=gradle_pw ./gradlew build\n"
        ),
        "release.sh": "mvn -s settings.xml -B deploy\n./gradlew publishToMavenCentral\n",
    })
    assert found(tmp_path) == [
        ("GRADLE_PW", ("Dockerfile", 3), ("release.sh", 2)),
        ("REPO_PW", ("Dockerfile", 2), ("release.sh", 1)),
    ]


def test_compose_build_args(tmp_path) -> None:
    tree(tmp_path, {
        "docker-compose.yml": """
            services:
              app:
                build:
                  context: .
                  args:
                    - TOKEN
                    - OTHER=${BUNDLE_TOKEN}
            """,
        "scripts/gem.sh": "GEM_HOST_API_KEY=$BUNDLE_TOKEN gem push app.gem\n",
    })
    assert found(tmp_path) == [("BUNDLE_TOKEN", ("docker-compose.yml", 7), ("scripts/gem.sh", 1))]


def test_jenkinsfile_and_dockerfile_publish_in_run(tmp_path) -> None:
    tree(tmp_path, {
        "Jenkinsfile": "node {\n  sh \"docker build --build-arg TWINE_PASSWORD .\"\n}\n",
        "Dockerfile.release": "FROM python:3.12\nARG TWINE_PASSWORD\nRUN twine upload dist/*\n",
    })
    got = find_credential_splits(tmp_path)
    assert [(s.variable, s.read_site[:2], s.publish_site[:2]) for s in got] == [
        ("TWINE_PASSWORD", ("Dockerfile.release", 2), ("Dockerfile.release", 3))
    ]
    assert got[0].publish_site.what == "twine upload"
    assert got[0].other_reads == (Site("Jenkinsfile", 2, "docker build --build-arg TWINE_PASSWORD"),)


def test_separate_credentials_no_finding(tmp_path) -> None:
    tree(tmp_path, {
        "Dockerfile": "FROM node:20\nARG NPM_READ_TOKEN\nRUN npm ci\n",
        "release.sh": "NODE_AUTH_TOKEN=$NPM_PUBLISH_TOKEN npm publish\n",
        "README.md": "docker login -p $NPM_READ_TOKEN && docker push x\n",  # documentation is not a pipeline
    })
    assert found(tmp_path) == []


def test_skips_vendored_binary_and_broken_files(tmp_path) -> None:
    tree(tmp_path, {
        "Dockerfile": "FROM node:20\nARG NPM_TOKEN\n",
        "node_modules/pkg/publish.sh": "npm publish  # uses $NPM_TOKEN\n",
        ".git/hooks/pre-push": "#!/bin/sh\nNPM_TOKEN=$NPM_TOKEN npm publish\n",
        "bin.sh": b"\x00\x01npm publish $NPM_TOKEN",
        "latin1.sh": b"echo \xff\nnpm publish $NPM_TOKEN\n",
        ".github/workflows/broken.yml": "on: [push\njobs: {\n",
        "Dockerfile.broken": "FROM a\nRUN <<EOF\nnever closed\n",
    })
    assert found(tmp_path) == []


def test_unparsable_workflow_is_scanned_line_by_line(tmp_path) -> None:
    tree(tmp_path, {
        "Dockerfile": "FROM node:20\nARG NPM_TOKEN\n",
        ".github/workflows/broken.yml": "on: [push\n  - run: npm publish --//r/:_authToken=$NPM_TOKEN\n",
    })
    assert found(tmp_path) == [("NPM_TOKEN", ("Dockerfile", 2), (".github/workflows/broken.yml", 2))]


def test_values_never_appear(tmp_path) -> None:
    literal = "npm_" + "Zx9" * 12
    tree(tmp_path, {
        "Dockerfile": f"FROM node:20\nARG NPM_TOKEN={literal}\n",
        "release.sh": f"npm publish --//registry.npmjs.org/:_authToken=$NPM_TOKEN # {literal}\n",
        "build.sh": f"docker build --build-arg NPM_TOKEN={literal} --secret id=x,env=NPM_TOKEN .\n",
    })
    got = find_credential_splits(tmp_path)
    assert got
    for s in got:
        assert literal not in repr(s) + s.message


# -- #20: YAML that yamlutil refuses (alias bombs, too-deep flow) never reaches ruamel's constructor

HANG_GUARD = 120  # seconds: only a hang trips it (str() of the expanded bomb never ends); never a timing budget


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": width**levels strings once every alias is expanded."""
    out = ["x-l0: &l0 [lol]"]
    for i in range(1, levels + 1):
        out.append(f"x-l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(out) + "\n"


BOMB_WORKFLOW = (
    "on: push\n"
    + _alias_bomb()
    + "env:\n  LAUGHS: *l9\n"  # the top-level env's values were read with str(): the whole expansion
    + "jobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n"
    + "      - run: npm publish --//r/:_authToken=$NPM_TOKEN\n"
)
DEEP_WORKFLOW = (
    "on: push\n"
    + f"x: {'[' * 5000}1{']' * 5000}\n"
    + "jobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n"
    + "      - run: npm publish --//r/:_authToken=$NPM_TOKEN\n"
)


def test_refused_workflow_yaml_is_scanned_line_by_line_not_loaded(tmp_path, monkeypatch) -> None:
    """A workflow yamlutil refuses (an alias bomb, flow collections nested too deep) is scanned
    line by line, as an unparsable one is: its uses are still found, and ruamel never loads it."""
    from ruamel.yaml import YAML

    from refactor.callers.yamlutil import refusal

    loaded: list[object] = []

    def load(self, stream):
        loaded.append(stream)
        raise RuntimeError("a refused text reached ruamel's constructor")  # (and so never hangs this test)

    monkeypatch.setattr(YAML, "load", load)
    assert refusal(BOMB_WORKFLOW) is not None and refusal(DEEP_WORKFLOW) is not None
    workflows = {".github/workflows/bomb.yml": BOMB_WORKFLOW, ".github/workflows/deep.yml": DEEP_WORKFLOW}
    tree(tmp_path, {"Dockerfile": "FROM node:20\nARG NPM_TOKEN\n", **workflows})
    assert found(tmp_path) == [
        ("NPM_TOKEN", ("Dockerfile", 2), (".github/workflows/bomb.yml", BOMB_WORKFLOW.count("\n"))),
        ("NPM_TOKEN", ("Dockerfile", 2), (".github/workflows/deep.yml", DEEP_WORKFLOW.count("\n"))),
    ]
    assert loaded == []


def _limit_memory() -> None:
    import resource

    cap = 2 << 30  # a regression fails with MemoryError instead of filling the shared machine
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def test_alias_bomb_workflow_finishes(tmp_path) -> None:
    """End to end in its own process: the old scanner hung on this workflow (or ran out of memory)."""
    root = Path(__file__).resolve().parent.parent
    tree(tmp_path, {"Dockerfile": "FROM node:20\nARG NPM_TOKEN\n", ".github/workflows/ci.yml": BOMB_WORKFLOW})
    code = "import sys\nfrom refactor.supply.split import find_credential_splits\nprint(len(find_credential_splits(sys.argv[1])))\n"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,  # the hang guard
        env={**os.environ, "PYTHONPATH": str(root)},
        preexec_fn=_limit_memory if sys.platform == "linux" else None,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "1"


def _all_patterns():
    from refactor.supply import split_patterns as sp

    return [sp._LOGIN, sp._BUILD] + [p for _f, _l, p in sp._PUBLISH_TOOLS] + [p for _f, p in sp._READ_TOOLS]


def _lines_without_guard_words(seed: int, n: int):
    """Commands built from the patterns' own vocabulary with every guard word cut in two."""
    import random

    from refactor.supply.split_patterns import GUARD_WORDS

    rnd = random.Random(seed)
    vocab = [
        "install", "ci", "i", "publish", "push", "login", "build", "buildx", "bake", "bud", "image", "compose",
        "-m", "sync", "deploy", "upload", "copy", "skopeo", "crane", "mod", "download", "get", "./", "-p",
        "--password", "--build-arg", "X=$Y", "|", "&&", ";", "'", '"', "(", "`", "-", " ", "\t",
    ] + [w[: len(w) // 2] + rnd.choice(["_", " ", "-", "X"]) + w[len(w) // 2 :] for w in GUARD_WORDS]  # fmt: skip
    for _ in range(n):
        yield " ".join(rnd.choice(vocab) for _ in range(rnd.randint(1, 9)))


def test_a_line_the_guard_skips_matches_no_pattern() -> None:
    """``may_match`` lets the scanner skip a line: sound only if no pattern can match without one of
    its words. Generated lines (the patterns' vocabulary, guard words broken) and every line of the
    corpus are asked."""
    from conftest import require_corpus

    from refactor.supply.split_patterns import _split_commands, may_match

    patterns = _all_patterns()
    lines = list(_lines_without_guard_words(5, 20_000))
    for p in sorted(require_corpus().rglob("*")):
        if p.is_file():
            lines += p.read_bytes().decode("utf-8", "replace").split("\n")
    skipped = 0
    for line in lines:
        if may_match(line):
            continue
        skipped += 1
        for cmd in _split_commands(line.strip()) or [line]:
            c = cmd.rstrip("|").strip()
            assert not any(rx.search(c) for rx in patterns), (line, c)
    assert skipped > 20_000


def test_the_guard_keeps_every_line_a_pattern_matches() -> None:
    from refactor.supply.split_patterns import may_match

    for line in [
        "docker login -p $T r", "podman build --build-arg A=$B .", "buildah bud .", "npm ci", "yarn", "pnpm i",
        "pip3 install x", "python -m pip install x", "poetry install", "uv sync", "pipenv install", "./mvnw deploy",
        "gradle publish", "bundle install", "composer install", "go mod download", "twine upload d/*",
        "cargo publish", "gem push x.gem", "docker-compose build", "docker buildx bake",
    ]:  # fmt: skip
        assert may_match(line) and any(rx.search(line) for rx in _all_patterns()), line

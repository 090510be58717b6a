"""Session 9's second red team: rewrites dfix applied as safe that broke the build or changed the
image, each built on the engine (original with the build arg, rewrite with the secret mounted). The
rewrite check must refuse each (a clean-up that takes a file a later step used, a write folded past
an ENV it reads, a file a COPY put there removed, and a final-image ENV the image's own command needs),
and dfix must not apply them."""

from __future__ import annotations

import pytest

from helpers import run
from refactor.fixes.check import check_rewrite

NPM = {"npm_token": "NPM_TOKEN"}
M = "--mount=type=secret,id=npm_token,env=NPM_TOKEN"
W = 'echo "//npm.corp.example/:_authToken=${NPM_TOKEN}" > ~/.npmrc'


def _df(*lines: str) -> str:
    return "\n".join(lines) + "\n"


# (original, the rewrite dfix wrote before this session's fix)
BROKEN = {
    "reader-in-a-child-stage": (
        _df("FROM node:20 AS base", "ARG NPM_TOKEN", "WORKDIR /app", f"RUN {W}", "FROM base", "RUN npm ci"),
        _df("FROM node:20 AS base", "WORKDIR /app", f"RUN {M} {W} && rm -f ~/.npmrc", "FROM base", f"RUN {M} npm ci"),
    ),
    "reader-in-the-same-stage-left-without-it": (
        _df("FROM node:20", "ARG NPM_TOKEN", f"RUN {W}", "RUN npm ci"),
        _df("FROM node:20", f"RUN {M} {W} && rm -f ~/.npmrc", f"RUN {M} npm ci"),
    ),
    "copied-from-the-stage": (
        _df("FROM node:20 AS base", "ARG NPM_TOKEN", f"RUN {W}", "RUN npm ci", "FROM node:20", "COPY --from=base /root/.npmrc /root/.npmrc",
            "RUN npm ci && rm /root/.npmrc"),
        _df("FROM node:20 AS base", f"RUN {M} {W} && npm ci && rm -f ~/.npmrc", "FROM node:20", "COPY --from=base /root/.npmrc /root/.npmrc",
            "RUN npm ci && rm /root/.npmrc"),
    ),
    "bind-mounted-from-the-stage": (
        _df("FROM node:20 AS base", "ARG NPM_TOKEN", f"RUN {W}", "FROM node:20",
            "RUN --mount=type=bind,from=base,source=/root/.npmrc,target=/root/.npmrc npm ci"),
        _df("FROM node:20 AS base", "FROM node:20", "RUN --mount=type=bind,from=base,source=/root/.npmrc,target=/root/.npmrc npm ci"),
    ),
    "folded-past-an-env-it-reads": (
        _df("FROM node:20", "ARG NPM_TOKEN", 'RUN echo "//${REGISTRY:-npm.corp.example}/:_authToken=${NPM_TOKEN}" > ~/.npmrc',
            "ENV REGISTRY=other.example", "RUN npm ci"),
        _df("FROM node:20", "ENV REGISTRY=other.example",
            f'RUN {M} echo "//${{REGISTRY:-npm.corp.example}}/:_authToken=${{NPM_TOKEN}}" > ~/.npmrc && npm ci && rm -f ~/.npmrc'),
    ),
    "folded-write-of-a-variable-its-run-set": (
        _df("FROM node:20", "ARG NPM_TOKEN", 'RUN H=npm.corp.example; echo "//$H/:_authToken=${NPM_TOKEN}" > ~/.npmrc', "RUN npm ci"),
        _df("FROM node:20", f'RUN {M} echo "//$H/:_authToken=${{NPM_TOKEN}}" > ~/.npmrc && npm ci && rm -f ~/.npmrc'),
    ),
    "folded-past-a-copy-to-the-same-path": (
        _df("FROM node:20", "ARG NPM_TOKEN", f"RUN {W}", "COPY userrc /root/.npmrc", "RUN npm ci"),
        _df("FROM node:20", "COPY userrc /root/.npmrc", f"RUN {M} {W} && npm ci && rm -f ~/.npmrc"),
    ),
}


@pytest.mark.parametrize("original,rewritten", list(BROKEN.values()), ids=list(BROKEN))
def test_a_rewrite_that_broke_the_build_or_the_image_is_refused(original: str, rewritten: str) -> None:
    res = check_rewrite(original, rewritten, NPM, allowed_removals=["~/.npmrc"], context_files={"userrc": "x\n"})
    assert not res.ok, rewritten


SOUND = {
    "reader-writes-it-again": (
        _df("FROM node:20 AS base", "ARG NPM_TOKEN", f"RUN {W}", "FROM base", "RUN npm ci"),
        _df("FROM node:20 AS base", "FROM base", f"RUN {M} {W} && npm ci && rm -f ~/.npmrc"),
    ),
    "the-npm-log-is-no-ones-input": (
        _df("FROM node:20", "ARG NPM_TOKEN", 'RUN npm config set //r/:_authToken "$NPM_TOKEN" && npm ci', "RUN npm run build"),
        _df("FROM node:20", f'RUN {M} npm config set //r/:_authToken "$NPM_TOKEN" && npm ci && npm config delete //r/:_authToken '
            "&& rm -rf ~/.npm/_logs", f"RUN {M} npm run build"),
    ),
}


@pytest.mark.parametrize("original,rewritten", list(SOUND.values()), ids=list(SOUND))
def test_a_rewrite_that_gives_each_step_its_file_passes(original: str, rewritten: str) -> None:
    res = check_rewrite(original, rewritten, NPM, allowed_removals=["~/.npmrc"])
    assert res.ok, [v.message for v in res.violations]


def _project(tmp_path, dockerfile: str, npmrc: str = "registry=https://npm.corp.example/\n"):
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / ".npmrc").write_text(npmrc)
    (tmp_path / "package.json").write_text("{}\n")
    return tmp_path / "Dockerfile"


@pytest.mark.parametrize("name", ["reader-in-a-child-stage", "copied-from-the-stage", "bind-mounted-from-the-stage",
                                  "folded-past-an-env-it-reads", "folded-past-a-copy-to-the-same-path"])
def test_dfix_does_not_apply_them(tmp_path, name: str) -> None:
    original = BROKEN[name][0]
    (tmp_path / "userrc").write_text("//npm.corp.example/:_authToken=${NPM_TOKEN}\n")
    p = _project(tmp_path, original)
    run(["--write", "--no-cache", str(p)], cwd=tmp_path)
    assert p.read_text() == original


@pytest.mark.parametrize(
    "tail,npmrc",
    [
        pytest.param('CMD ["yarn", "dev"]', "registry=https://npm.corp.example/\n", id="the image's command runs yarn"),
        pytest.param('CMD ["node", "server.js"]', "//npm.corp.example/:_authToken=${NODE_AUTH_TOKEN}\n", id="a context .npmrc names it"),
    ],
)
def test_a_final_image_env_the_image_may_need_is_an_unsafe_removal(tmp_path, tail: str, npmrc: str) -> None:
    src = _df("FROM node:20", "ARG NPM_TOKEN", "ENV NODE_AUTH_TOKEN=$NPM_TOKEN", "WORKDIR /app", "COPY package.json .npmrc ./", "RUN npm ci", tail)
    p = _project(tmp_path, src, npmrc)
    run(["--write", "--no-cache", str(p)], cwd=tmp_path)
    _code, _out, err = run(["--diff", "--no-cache", str(p)], cwd=tmp_path)
    assert p.read_text() == src and "the image no longer sets ENV NODE_AUTH_TOKEN" in err, err


def test_a_build_tool_env_nothing_in_the_image_runs_is_still_a_safe_removal(tmp_path) -> None:
    src = _df("FROM node:20", "ARG NPM_TOKEN", "ENV NODE_AUTH_TOKEN=$NPM_TOKEN", "WORKDIR /app", "COPY package.json .npmrc ./", "RUN npm ci",
              'CMD ["node", "server.js"]')
    p = _project(tmp_path, src)
    run(["--write", "--no-cache", str(p)], cwd=tmp_path)
    assert "ENV NODE_AUTH_TOKEN" not in p.read_text()


def test_a_repeated_tee_write_keeps_its_redirect(tmp_path) -> None:
    """The fold copied `echo … | tee ~/.npmrc` without its `> /dev/null`: the token went to the build log."""
    src = _df("FROM node:20", "ARG NPM_TOKEN", "WORKDIR /app", "COPY package.json .npmrc ./",
              'RUN echo "//npm.corp.example/:_authToken=${NPM_TOKEN}" | tee ~/.npmrc > /dev/null && chmod 600 ~/.npmrc',
              "RUN npm ci --no-audit", "RUN rm -rf ~/.npmrc")
    p = _project(tmp_path, src)
    run(["--write", "--no-cache", str(p)], cwd=tmp_path)
    folded = [ln for ln in p.read_text().splitlines() if "npm ci" in ln]
    assert folded and all("tee ~/.npmrc > /dev/null" in ln for ln in folded), p.read_text()


def test_a_run_that_writes_the_file_anew_gets_no_earlier_write(tmp_path) -> None:
    """Each fold repeated every earlier RUN's write of ~/.npmrc in each later RUN that writes it
    first itself: quadratic text (1,000 RUNs took 182 s). Found while testing session 9's check."""
    run_line = 'RUN echo "//r/:_authToken=$NPM_TOKEN" > ~/.npmrc && npm ci'
    p = _project(tmp_path, _df("FROM node:20", "ARG NPM_TOKEN", *[run_line] * 5))
    run(["--write", "--no-cache", str(p)], cwd=tmp_path)
    runs = [ln for ln in p.read_text().splitlines() if ln.startswith("RUN")]
    assert len(runs) == 5 and all(ln.count("> ~/.npmrc") == 1 and ln.endswith("npm ci && rm -f ~/.npmrc") for ln in runs), runs

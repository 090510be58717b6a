"""The classes of unsound fixes (issue: sound fixes), each pinned by what the planner now does.

Every case states the shape, and what a *safe* fix must do with it: keep each RUN's value of every
variable it reads (with the build arg replaced by the mounted secret), mount where a step's reads
cannot be known, and never delete or empty a file the image keeps. Real builds of the same shapes
are in ``golden/sound-*`` (built by tests/e2e/test_golden_builds.py).
"""

from __future__ import annotations

import json

import pytest

from helpers import run


def _report(tmp_path, files: dict[str, str], *extra: str) -> tuple[str, dict]:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    _code, out, _err = run(["--format", "json", "--diff", *extra, str(tmp_path / "Dockerfile")], cwd=tmp_path)
    doc = json.loads(out)
    return (tmp_path / "Dockerfile").read_text(), doc["files"][0]


def _rewrite(tmp_path, dockerfile: str, *extra: str, files: dict[str, str] | None = None) -> str:
    for rel, text in (files or {}).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    p = tmp_path / "Dockerfile"
    p.write_text(dockerfile)
    run(["--write", *extra, str(p)], cwd=tmp_path)
    return p.read_text()


def _fixes(tmp_path, dockerfile: str, *extra: str, files: dict[str, str] | None = None) -> list[dict]:
    files = dict(files or {})
    files["Dockerfile"] = dockerfile
    _text, doc = _report(tmp_path, files, *extra)
    out, seen = [], set()
    for f in doc["findings"]:
        if f["fix"] and f["fix"]["title"] not in seen:
            seen.add(f["fix"]["title"])
            out.append(f["fix"])
    return out


# -- 1. the same secret in several stages ------------------------------------------------------

SEVERAL_STAGES = [
    pytest.param(
        "FROM a:1 AS a\nARG NPM_TOKEN\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm ci\nFROM a:1 AS b\nARG NPM_TOKEN\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm ci\n",
        ["RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci"] * 2,
        id="ARG + same-name ENV in two stages",
    ),
    pytest.param(
        "FROM a:1 AS a\nARG TOKEN\nENV PIP_INDEX_URL=https://u:${TOKEN}@p.example.com/simple\nRUN pip install x\n"
        "FROM a:1 AS b\nARG TOKEN\nENV PIP_INDEX_URL=https://v:${TOKEN}@q.example.com/simple\nRUN pip install y\n",
        [
            'RUN --mount=type=secret,id=token,env=TOKEN export PIP_INDEX_URL="https://u:${TOKEN}@p.example.com/simple" && pip install x',
            'RUN --mount=type=secret,id=token,env=TOKEN export PIP_INDEX_URL="https://v:${TOKEN}@q.example.com/simple" && pip install y',
        ],
        id="a composite per stage keeps its own value",
    ),
    pytest.param(
        "FROM a:1 AS a\nARG API_TOKEN\nENV B=$API_TOKEN\nRUN curl -H \"Authorization: Bearer $B\" https://x\n"
        "FROM a:1 AS b\nARG API_TOKEN\nENV B=$API_TOKEN\nRUN curl -H \"Authorization: Bearer $B\" https://y\n",
        ['RUN --mount=type=secret,id=api_token,env=B curl -H "Authorization: Bearer $B" https://x',
         'RUN --mount=type=secret,id=api_token,env=B curl -H "Authorization: Bearer $B" https://y'],
        id="an alias per stage",
    ),
]


@pytest.mark.parametrize("dockerfile,runs", SEVERAL_STAGES)
def test_same_secret_in_several_stages(tmp_path, dockerfile, runs) -> None:
    out = _rewrite(tmp_path, dockerfile, "--unsafe-fixes")  # the final image's ENV goes: unsafe
    assert [ln for ln in out.splitlines() if ln.startswith("RUN")] == runs, out


# -- 2. ENV chains -----------------------------------------------------------------------------

def test_env_chain_is_rebuilt_in_order(tmp_path) -> None:
    out = _rewrite(tmp_path, "FROM a:1\nARG A_TOKEN\nENV B=$A_TOKEN\nENV C=\"Bearer ${B}\"\n"
                             "RUN curl -H \"Authorization: $C\" https://x\n", "--unsafe-fixes")
    run_line = [ln for ln in out.splitlines() if ln.startswith("RUN")][0]
    # B (an alias) comes from the mount, C is rebuilt from it: no name the fix removed is read
    assert run_line == 'RUN --mount=type=secret,id=a_token,env=B export C="Bearer ${B}" && curl -H "Authorization: $C" https://x'


def test_composite_of_composite_exports_dependencies_first(tmp_path) -> None:
    out = _rewrite(tmp_path, "FROM a:1\nARG T\nENV U=https://u:${T}@h.example.com\nENV V=\"${U}/simple\"\nRUN pip install -i \"$V\" x\n", "--unsafe-fixes")
    run_line = [ln for ln in out.splitlines() if ln.startswith("RUN")][0]
    assert 'export U="https://u:${T}@h.example.com" && export V="${U}/simple" && pip install' in run_line
    assert "env=T" in run_line


def test_composite_whose_plain_part_differs_in_the_run_is_not_safe(tmp_path) -> None:
    fixes = _fixes(tmp_path, "FROM a:1\nARG HOST=h1.example.com\nARG T\nENV U=https://u:${T}@${HOST}/simple\n"
                             "ARG HOST=h2.example.com\nRUN pip install -i \"$U\" x\n")
    assert fixes[0]["applicability"] == "display-only"
    assert any("HOST" in r for r in fixes[0]["reasons"])


# -- the final image's ENV is part of the image ------------------------------------------------

def test_removing_an_env_of_the_final_image_is_unsafe(tmp_path) -> None:
    src = "FROM a:1\nARG DJANGO_SECRET_KEY\nENV DJANGO_SECRET_KEY=$DJANGO_SECRET_KEY\nCMD [\"gunicorn\"]\n"
    fixes = _fixes(tmp_path, src)
    assert fixes[0]["applicability"] == "unsafe" and any("docker run -e DJANGO_SECRET_KEY" in r for r in fixes[0]["reasons"])
    assert _rewrite(tmp_path, src) == src


def test_env_of_a_builder_stage_or_a_package_tool_is_safe(tmp_path) -> None:
    out = _rewrite(tmp_path, "FROM a:1 AS build\nARG API_TOKEN\nENV B=$API_TOKEN\nRUN curl -H \"Authorization: Bearer $B\" https://x\n"
                             "FROM a:1\nCOPY --from=build /x /x\n")
    assert "ENV B" not in out and "env=B" in out
    out = _rewrite(tmp_path, "FROM a:1\nARG NPM_TOKEN\nENV NPM_TOKEN=$NPM_TOKEN\nRUN npm ci\n")
    assert "ENV NPM_TOKEN" not in out and "env=NPM_TOKEN npm ci" in out


# -- 3. programs that run project code ---------------------------------------------------------

PROJECT_CODE = ["npm run build", "npm test", "npm ci", "npm install", "yarn build", "yarn", "pnpm build", "pnpm install", "npx tsc",
                "bundle exec rake", "bundle install", "composer install", "go generate ./...", "go run .", "go test ./...",
                "cargo build --release", "dotnet build", "dotnet restore", "poetry install", "uv sync", "pip install .",
                "pip install -e .", "python setup.py install", "make", "./build.sh", "sh build.sh", "rake", "node s.js"]


@pytest.mark.parametrize("cmd", PROJECT_CODE)
def test_programs_running_project_code_get_the_mount(tmp_path, cmd) -> None:
    """Any secret in scope: the program can read every variable in its environment."""
    out = _rewrite(tmp_path, f"FROM a:1\nARG DEPLOY_TOKEN\nRUN {cmd}\n")
    assert f"RUN --mount=type=secret,id=deploy_token,env=DEPLOY_TOKEN {cmd}" in out, out


@pytest.mark.parametrize("cmd", ["npm ci --ignore-scripts", "yarn config set x y", "apt-get install -y curl", "mkdir -p /app",
                                 "pip install requests", "go build -o /app ./cmd", "bundle config set path vendor"])
def test_steps_whose_reads_are_known_get_no_mount(tmp_path, cmd) -> None:
    out = _rewrite(tmp_path, f"FROM a:1\nARG DEPLOY_TOKEN\nRUN {cmd}\n")
    assert "--mount" not in out and "ARG DEPLOY_TOKEN" not in out, out


def test_undecided_runs_are_named_in_the_report(tmp_path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_text("FROM a:1\nARG DEPLOY_TOKEN\nRUN bundle exec rake assets\nRUN make\n")
    _code, out, err = run(["--diff", str(p)])
    assert "line 3: bundle exec" in out + err and "line 4: make" in out + err, out + err


# -- 4. consumer config that is not in the context ---------------------------------------------

def test_copied_config_missing_from_the_context_means_mount(tmp_path) -> None:
    """`COPY .npmrc` of a file CI generates before the build: it may expand any variable."""
    out = _rewrite(tmp_path, "FROM a:1\nARG ART_AUTH_TOKEN\nCOPY .npmrc package.json ./\nRUN npm ci --ignore-scripts\n",
                   files={"package.json": "{}"})
    assert "RUN --mount=type=secret,id=art_auth_token,env=ART_AUTH_TOKEN npm ci --ignore-scripts" in out, out


def test_copied_config_naming_another_variable_means_no_mount(tmp_path) -> None:
    out = _rewrite(tmp_path, "FROM a:1\nARG ART_AUTH_TOKEN\nCOPY .npmrc package.json ./\nRUN npm ci --ignore-scripts\n",
                   files={"package.json": "{}", ".npmrc": "registry=https://r.example.com/\n"})
    assert "--mount" not in out and "ARG ART_AUTH_TOKEN" not in out


def test_copied_config_in_a_directory_is_read(tmp_path) -> None:
    out = _rewrite(tmp_path, "FROM a:1\nARG ART_AUTH_TOKEN\nCOPY cfg ./\nRUN npm ci --ignore-scripts\n",
                   files={"cfg/.npmrc": "//r.example.com/:_auth=${ART_AUTH_TOKEN}\n"})
    assert "env=ART_AUTH_TOKEN npm ci" in out, out


# -- 5. and 6. a secret written into a file the image keeps ------------------------------------

KEPT_FILES = [
    pytest.param('htpasswd -bc /auth/htpasswd admin "$ADMIN_PASSWORD"', id="htpasswd"),
    pytest.param('sed -i "s/PLACEHOLDER/${ADMIN_PASSWORD}/" /etc/app.conf', id="sed -i"),
    pytest.param('envsubst < /tmpl/app.conf > /etc/app.conf', id="envsubst"),
    pytest.param('printf "pw=%s\\n" "$ADMIN_PASSWORD" >> /etc/app.conf', id="printf >>"),
    pytest.param('echo "$ADMIN_PASSWORD" | tee -a /etc/app.conf', id="tee -a"),
    pytest.param('echo "pw=$ADMIN_PASSWORD" > /etc/app.conf', id="> app config"),
]


@pytest.mark.parametrize("cmd", KEPT_FILES)
def test_secret_written_into_a_kept_file_is_not_a_safe_fix(tmp_path, cmd) -> None:
    src = f"FROM a:1\nARG ADMIN_PASSWORD\nRUN {cmd}\nCMD [\"app\"]\n"
    fixes = _fixes(tmp_path, src)
    assert fixes and all(f["applicability"] == "display-only" for f in fixes), fixes
    assert _rewrite(tmp_path, src) == src
    assert _rewrite(tmp_path, src, "--unsafe-fixes") == src


def test_credential_file_fold_is_reported_as_a_runtime_change(tmp_path) -> None:
    src = ("FROM a:1\nARG NPM_TOKEN\nRUN echo \"//r/:_authToken=${NPM_TOKEN}\" > /root/.npmrc\n"
           "RUN npm ci --ignore-scripts\n")
    p = tmp_path / "Dockerfile"
    p.write_text(src)
    _code, out, err = run(["--diff", str(p)])
    assert "/root/.npmrc (written with NPM_TOKEN on line 3) is no longer in the image" in out + err, out + err


# -- 7. the split copies a file a secret write touched -----------------------------------------

def test_split_refuses_an_output_holding_the_secret(tmp_path) -> None:
    src = ("FROM a:1\nWORKDIR /app\nARG NPM_TOKEN\nCOPY package.json ./\n"
           "RUN npm ci --ignore-scripts && echo \"$NPM_TOKEN\" > /app/node_modules/.token\nCMD [\"node\", \"s.js\"]\n")
    assert _rewrite(tmp_path, src, "--strategy", "multistage") == src
    p = tmp_path / "Dockerfile"
    _code, out, _err = run(["--strategy", "multistage", str(p)])
    assert "holding the secret /app/node_modules/.token lies inside the copied /app/node_modules" in out, out


# -- 8. callers ----------------------------------------------------------------------------------

def test_caller_keeps_the_runtime_value(tmp_path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "build.sh").write_text(
        "#!/bin/sh\ndocker build --build-arg NPM_TOKEN=\"$NPM_TOKEN\" -t app .\ndocker run -e NPM_TOKEN=\"$NPM_TOKEN\" app\n")
    (tmp_path / "Dockerfile").write_text("FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n")
    run(["--write", "."], cwd=tmp_path)
    sh = (tmp_path / "build.sh").read_text()
    assert "--secret id=npm_token,env=NPM_TOKEN" in sh and "docker run -e NPM_TOKEN=\"$NPM_TOKEN\" app" in sh, sh


PY_UNRESOLVED = [
    pytest.param('import subprocess\nNAMES = ("NPM_TOKEN",)\ncmd = ["docker", "build"] + [f"--build-arg={n}" for n in NAMES] + ["."]\n'
                 'subprocess.run(cmd, check=True)\n', id="list + computed list"),
    pytest.param('import subprocess\nnames = ["NPM_TOKEN"]\nextra = [a for n in names for a in ("--build-arg", n)]\n'
                 'subprocess.run(["docker", "build", *extra, "-t", "app", "."], check=True)\n', id="*splat"),
    pytest.param('import subprocess\ndef a(t):\n    return ["--build-arg", f"NPM_TOKEN={t}"]\n', id="f-string mention"),
]


@pytest.mark.parametrize("code", PY_UNRESOLVED)
def test_unresolved_python_caller_blocks_the_fix(tmp_path, code) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "build.py").write_text(code)
    src = "FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n"
    (tmp_path / "Dockerfile").write_text(src)
    _code, out, err = run(["--write", "."], cwd=tmp_path)
    assert (tmp_path / "Dockerfile").read_text() == src, out + err
    _code, out, err = run(["--diff", "."], cwd=tmp_path)
    assert "build.py" in out + err


def test_unresolved_python_build_naming_nothing_migrated_does_not_block(tmp_path) -> None:
    """The net is textual: an unresolved argv blocks the names its file mentions, not every fix."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "ci.py").write_text('import subprocess\ncmd = ["docker", "build"]\ncmd += ["--build-arg", "VERSION=1", "."]\nsubprocess.run(cmd)\n')
    (tmp_path / "Dockerfile").write_text("FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n")
    run(["--write", "."], cwd=tmp_path)
    assert "--mount=type=secret" in (tmp_path / "Dockerfile").read_text()


def test_resolved_python_caller_still_migrates(tmp_path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "build.py").write_text(
        'import os, subprocess\nsubprocess.run(["docker", "build", "--build-arg", "NPM_TOKEN", "-t", "app", "."], check=True)\n')
    (tmp_path / "Dockerfile").write_text("FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n")
    run(["--write", "."], cwd=tmp_path)
    assert "--mount=type=secret" in (tmp_path / "Dockerfile").read_text()
    assert "--secret" in (tmp_path / "build.py").read_text()


# -- appended clean-ups that would not run (hardening round two, points 5 and 6) ---------------

@pytest.mark.parametrize("last", ["npm ci # install deps", "npm ci; exit 0", "npm ci;", "npm ci &", "npm ci |",
                                  '["sh", "-c", "npm ci"]'])
def test_clean_up_is_never_appended_where_it_cannot_run(tmp_path, last) -> None:
    src = f'FROM a:1\nARG NPM_TOKEN\nRUN echo "//r/:_authToken=${{NPM_TOKEN}}" > /root/.npmrc\nRUN {last}\n'
    assert _rewrite(tmp_path, src) == src
    fixes = _fixes(tmp_path, src)
    assert fixes[0]["applicability"] == "display-only", fixes


def test_clone_clean_up_after_a_comment_is_refused(tmp_path) -> None:
    src = "FROM a:1\nARG GH_TOKEN\nRUN git clone https://${GH_TOKEN}@github.com/a/b /src # get it\n"
    assert _rewrite(tmp_path, src) == src


# -- 9. the builder the callers use ------------------------------------------------------------

@pytest.mark.parametrize("tool", ["podman build", "buildah bud", "buildah build"])
def test_podman_and_buildah_callers_block_the_env_form(tmp_path, tool) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "build.sh").write_text(f"#!/bin/sh\n{tool} --build-arg NPM_TOKEN -t app .\n")
    src = "FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n"
    (tmp_path / "Dockerfile").write_text(src)
    _code, out, err = run(["--write", "."], cwd=tmp_path)
    assert (tmp_path / "Dockerfile").read_text() == src
    _code, out, err = run(["--diff", "."], cwd=tmp_path)
    assert "--mount-style file" in out + err


def test_podman_caller_with_the_file_form_migrates(tmp_path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "build.sh").write_text("#!/bin/sh\npodman build --build-arg NPM_TOKEN -t app .\n")
    (tmp_path / "Dockerfile").write_text("FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n")
    run(["--write", "--mount-style", "file", "."], cwd=tmp_path)
    assert 'export NPM_TOKEN="$(cat /run/secrets/npm_token)"' in (tmp_path / "Dockerfile").read_text()
    assert "--secret id=npm_token" in (tmp_path / "build.sh").read_text()


def test_kaniko_caller_still_blocks(tmp_path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "build.sh").write_text("#!/bin/sh\n/kaniko/executor --context . --build-arg NPM_TOKEN=$NPM_TOKEN --destination r/app\n")
    src = "FROM a:1\nARG NPM_TOKEN\nRUN npm ci\n"
    (tmp_path / "Dockerfile").write_text(src)
    run(["--write", "--mount-style", "file", "."], cwd=tmp_path)
    assert (tmp_path / "Dockerfile").read_text() == src


def test_clone_through_an_alias_is_scrubbed(tmp_path) -> None:
    """Found by the rewrite check on a generated file: a clone whose URL holds an ENV alias of
    the secret kept it in .git/config, because only the build-arg name was looked for."""
    out = _rewrite(tmp_path, "FROM a:1 AS b\nARG NPM_TOKEN\nENV REGISTRY_AUTH=$NPM_TOKEN\n"
                             "RUN git clone https://$REGISTRY_AUTH@git.example.com/corp/lib.git /src/lib\n"
                             "FROM a:1\nCOPY --from=b /src/lib /lib\n")
    assert "env=REGISTRY_AUTH git clone" in out and "git -C /src/lib remote set-url origin https://git.example.com/corp/lib.git" in out, out


@pytest.mark.parametrize("option,remote", [
    pytest.param("-o upstream", "upstream", id="-o"),
    pytest.param("--origin=mirror", "mirror", id="--origin="),
    pytest.param("-c clone.defaultRemoteName=up", "up", id="clone.defaultRemoteName"),
    pytest.param("", "origin", id="default"),
])
def test_clone_clean_up_names_the_remote_the_clone_made(tmp_path, option, remote) -> None:
    """Session 9's red team: `git clone -o upstream` then dfix's `remote set-url origin …` failed
    the build with real git ("No such remote 'origin'"); the stand-in git ignored -o."""
    out = _rewrite(tmp_path, f"FROM a:1\nARG GH_TOKEN\nWORKDIR /app\nRUN git clone {option} https://x:${{GH_TOKEN}}@github.com/a/b.git && ls b\n")
    assert f"git -C /app/b remote set-url {remote} https://github.com/a/b.git" in out, out


def test_clone_under_a_computed_remote_name_is_not_fixed(tmp_path) -> None:
    src = 'FROM a:1\nARG GH_TOKEN\nARG R=up\nRUN git clone -o "$R" https://x:${GH_TOKEN}@github.com/a/b.git /b\n'
    assert _rewrite(tmp_path, src) == src


# -- found on the labelled corpus by the rewrite check ----------------------------------------

@pytest.mark.parametrize("run_line,files", [
    pytest.param("RUN pip install -r requirements.txt", {}, id="copied requirements missing now"),
    pytest.param("RUN pip install -r https://example.com/reqs.txt", {}, id="remote requirements"),
    pytest.param("RUN pip install -r deps/prod.txt", {"deps/prod.txt": "--index-url https://u:${DEPLOY_TOKEN}@p.example.com/simple\nx\n"},
                 id="requirements naming the token"),
])
def test_pip_requirements_files_may_expand_any_variable(tmp_path, run_line, files) -> None:
    """pip expands ${VAR} in requirement files: one dfix cannot read may need the secret."""
    copy = "COPY requirements.txt deps/ ./\n" if "https" not in run_line else ""
    out = _rewrite(tmp_path, f"FROM a:1\nARG DEPLOY_TOKEN\n{copy}{run_line}\n", files=files)
    assert "--mount=type=secret,id=deploy_token,env=DEPLOY_TOKEN pip install" in out, out


def test_pip_requirements_that_do_not_name_it_need_no_mount(tmp_path) -> None:
    out = _rewrite(tmp_path, "FROM a:1\nARG DEPLOY_TOKEN\nCOPY requirements.txt ./\nRUN pip install -r requirements.txt\n",
                   files={"requirements.txt": "flask==3.0\n"})
    assert "--mount" not in out and "ARG DEPLOY_TOKEN" not in out, out


def test_ssh_key_no_build_step_uses_is_the_images_own(tmp_path) -> None:
    """A key written into ~/.ssh that no RUN uses is for the container: not a safe fix."""
    src = ("FROM a:1\nARG SSH_PRIVATE_KEY\nRUN mkdir -p /root/.ssh && echo \"$SSH_PRIVATE_KEY\" > /root/.ssh/id_rsa"
           " && chmod 600 /root/.ssh/id_rsa\nCMD [\"/usr/sbin/sshd\", \"-D\"]\n")
    fixes = _fixes(tmp_path, src)
    assert fixes[0]["applicability"] == "display-only", fixes
    assert any("which the image keeps" in r for r in fixes[0]["reasons"]), fixes


# -- a default that expands another variable is still a default ----------------------------------

@pytest.mark.parametrize("default", ["${GITHUB_TOKEN}", "$GITHUB_TOKEN", "${GITHUB_TOKEN:-x}"])
def test_an_arg_default_naming_another_variable_is_unsafe(tmp_path, default: str) -> None:
    """``ARG NPM_TOKEN=${GITHUB_TOKEN}``: a build that passes no NPM_TOKEN got GITHUB_TOKEN's value;
    after the fix it gets none and fails the mount's guard, so removing the default is unsafe as a
    literal default is."""
    src = f"FROM a:1\nARG GITHUB_TOKEN\nARG NPM_TOKEN={default}\nRUN npm ci\n"
    fixes = [f for f in _fixes(tmp_path, src) if "NPM_TOKEN" in f["title"]]
    assert fixes and fixes[0]["applicability"] != "safe"
    assert _rewrite(tmp_path, src) == src

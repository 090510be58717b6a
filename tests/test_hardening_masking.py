"""Issue #20, point 8 and the rest of point 7: no output prints a secret value the run knows.

Committed literals in callers (a GitHub workflow ``env:`` literal, Jenkins ``def tok = '…'``,
Python ``TOK = '…'`` / ``os.environ["X"] = "…"``, GitLab ``variables:``), literal passwords a RUN
writes into ``.netrc`` / ``pip.conf``, and a secret ``LABEL`` under ``--emit flatten`` appeared in
``--diff``, JSON and markdown diffs. Every case runs in every mode and every ``--format``, with
every ``--emit`` target, and no canary may reach stdout or stderr. (The value may stay in the
user's file: dfix does not remove a committed literal from a caller it only partly rewrites.)

A diff hunk holding a masked line opens with a ``dfix: … masked …`` line, which ``git apply`` and
``patch`` refuse: a masked patch never applies ``<redacted>`` silently.
"""

from __future__ import annotations

import json
import secrets
import shutil
import string
import subprocess
from pathlib import Path

import pytest
from helpers import run

FORMATS = ["text", "json", "sarif", "github", "markdown", "gitlab", "checkstyle", "junit"]
EMITS = ["docker", "bake", "compose", "github", "gitlab", "podman", "flatten"]
MODES = {"report": [], "diff": ["--diff"], "check": ["--check"], "write": ["--write"], "diff-unsafe": ["--diff", "--unsafe-fixes"]}

_ALNUM = string.ascii_letters + string.digits


def _rand(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


GHP = "ghp_" + _rand(36)
NPM = "npm_" + _rand(36)
PW = "Canary-Pw-8f3k2j9x"
PW2 = "Kx7-canary-" + _rand(6)  # a second password, token-like but in no known format
WORD = "canary" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))  # word-like: letters only

DF = "FROM node:20\nARG NPM_TOKEN\nRUN npm ci\n"

# name -> (files, canaries); "(guard)" cases were already masked before the fix
CASES: dict[str, tuple[dict[str, str], list[str]]] = {
    "workflow-env-token (guard)": (
        {
            "Dockerfile": DF,
            ".github/workflows/b.yml": "name: b\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    env:\n"
            f"      NPM_TOKEN: {GHP}\n    steps:\n      - uses: actions/checkout@v4\n"
            "      - run: docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n",
        },
        [GHP],
    ),
    "workflow-env-word": (
        {
            "Dockerfile": DF,
            ".github/workflows/b.yml": "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    env:\n"
            f"      NPM_TOKEN: {WORD}\n    steps:\n      - run: docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n",
        },
        [WORD],
    ),
    "gitlab-variables-word": (
        {
            "Dockerfile": DF,
            ".gitlab-ci.yml": f'build:\n  variables:\n    NPM_TOKEN: "{WORD}"\n  script:\n'
            "    - docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n",
        },
        [WORD],
    ),
    "jenkins-def": (
        {"Dockerfile": DF, "Jenkinsfile": f"def tok = '{PW}'\nnode {{\n  sh \"docker build --build-arg NPM_TOKEN=${{tok}} .\"\n}}\n"},
        [PW],
    ),
    "jenkins-def-token (guard)": (
        {
            "Dockerfile": DF,
            "Jenkinsfile": f"def tok = '{NPM}'\npipeline {{\n  agent any\n  stages {{\n    stage('b') {{\n      steps {{\n"
            "        sh \"docker build --build-arg NPM_TOKEN=${tok} .\"\n      }\n    }\n  }\n}\n",
        },
        [NPM],
    ),
    "python-assign": (
        {
            "Dockerfile": DF,
            "build.py": f"import subprocess\nTOK = '{PW}'\n"
            'subprocess.run(["docker", "build", "--build-arg", f"NPM_TOKEN={TOK}", "."], check=True)\n',
        },
        [PW],
    ),
    "python-environ": (
        {
            "Dockerfile": DF,
            "build.py": f'import os, subprocess\nos.environ["NPM_TOKEN"] = "{PW}"\n'
            'subprocess.run(["docker", "build", "--build-arg", "NPM_TOKEN", "."], check=True)\n',
        },
        [PW],
    ),
    "run-netrc-pipconf-printf": (
        {
            "Dockerfile": "FROM python:3.12\nARG NPM_TOKEN\n"
            f"RUN printf 'machine example.com\\nlogin bob\\npassword {PW2}\\n' > /root/.netrc && npm ci\n"
            f"RUN printf '[global]\\nusername = bob\\npassword = {PW2}\\n' > /etc/pip.conf && pip install x\n",
        },
        [PW2],
    ),
    "run-netrc-inline (guard)": (
        {
            "Dockerfile": "FROM python:3.12\nARG NPM_TOKEN\n"
            f'RUN echo "machine example.com login bob password {PW}" > /root/.netrc && npm ci\n'
            f"RUN printf '[global]\\nindex-url = https://bob:{PW}@pypi.example.com/simple\\n' > /etc/pip.conf && pip install x\n",
        },
        [PW],
    ),
    "label-flatten (guard)": (
        {
            "Dockerfile": f'FROM alpine:3.19\nARG API_TOKEN\nLABEL api.token="{GHP}" db_password="{PW}"\n'
            "RUN --mount=type=cache,target=/x echo hi\nRUN echo $API_TOKEN > /dev/null\n",
        },
        [GHP, PW],
    ),
}


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def _emit_args() -> list[str]:
    return [f"--emit={t}" for t in EMITS]


def _leaks(text: str, canaries: list[str]) -> list[str]:
    return [c[:6] + "…" for c in canaries if c in text]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("case", list(CASES))
def test_no_known_secret_in_any_output(tmp_path, case, mode, fmt) -> None:
    files, canaries = CASES[case]
    root = _repo(tmp_path, files)
    code, out, err = run(MODES[mode] + ["--format", fmt] + _emit_args() + ["."], cwd=root)
    assert code in (0, 1), err
    leaked = _leaks(out + err, canaries)
    assert not leaked, f"{case}: {leaked} printed in {fmt} ({mode})"
    if mode == "write":  # the written files, shown again: still masked
        code, out, err = run(["--diff", "--format", fmt] + _emit_args() + ["."], cwd=root)
        assert not _leaks(out + err, canaries), f"{case}: printed after --write ({fmt})"


# ------------------------------------------------------------------------ a value known in another file

CROSS_WORKFLOW = (
    "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    env:\n      NPM_TOKEN: {v}\n"
    "    steps:\n      - run: docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n"
)
def _cross_params():
    # the streamed formats see one file at a time: the CLI shares the run's masks before rendering
    # (refactor/cli.py calls refactor.render.masking.share); the document formats share them too
    for mode in MODES:
        for fmt in FORMATS:
            yield pytest.param(mode, fmt, id=f"{mode}-{fmt}")


@pytest.mark.parametrize("mode,fmt", list(_cross_params()))
def test_a_value_known_secret_in_one_file_is_masked_in_every_file(tmp_path, mode, fmt) -> None:
    """The workflow commits PW2 as NPM_TOKEN; the Dockerfile holds the same letters in a LABEL no
    rule flags. The run knows the value: the Dockerfile's diff masks it too."""
    root = _repo(tmp_path, {
        "Dockerfile": f'FROM node:20\nLABEL note="{PW2}"\nARG NPM_TOKEN\nRUN npm ci\n',
        ".github/workflows/b.yml": CROSS_WORKFLOW.format(v=PW2),
    })
    _code, out, err = run(MODES[mode] + ["--format", fmt] + _emit_args() + ["."], cwd=root)
    assert not _leaks(out + err, [PW2]), (mode, fmt)


def test_share_gives_every_result_the_run_masks() -> None:
    from refactor.render.masking import share
    from refactor.render.output import unified_diff
    from refactor.results import FileResult, Outcome

    df = FileResult("Dockerfile", outcome=Outcome.FIXED, changed=True, original=f'FROM a\nLABEL note="{PW2}"\nARG X\n',
                    new_text=f'FROM a\nLABEL note="{PW2}"\n')
    wf = FileResult("b.yml", kind="caller", masks=[PW2])
    assert PW2 in unified_diff(df)[0]
    df, wf = share(share([df, wf]))  # idempotent
    assert df.masks.count(PW2) == 1
    assert PW2 not in unified_diff(df)[0]


# ------------------------------------------------------------------------------------ masked hunks


def _apply_refused(root: Path, patch: str) -> None:
    p = root / "p.diff"
    p.write_text(patch)
    proc = subprocess.run(["git", "apply", "--check", str(p)], cwd=root, capture_output=True, text=True)
    assert proc.returncode != 0 and "corrupt patch" in proc.stderr, proc.stderr
    if shutil.which("patch"):
        proc = subprocess.run(["patch", "-p1", "--dry-run", "-i", str(p)], cwd=root, capture_output=True, text=True)
        assert proc.returncode != 0, proc.stdout
    p.unlink()


def test_a_masked_hunk_says_so_and_does_not_apply(tmp_path) -> None:
    files, _ = CASES["jenkins-def"]
    root = _repo(tmp_path, files)
    _code, out, err = run(["--diff", "."], cwd=root)
    assert PW not in out + err
    lines = out.splitlines()
    at = lines.index("+++ b/Jenkinsfile")
    assert lines[at + 1].startswith("@@ ")
    assert lines[at + 2] == ("dfix: 1 line of this hunk holds a secret value and is masked; this hunk cannot be "
                             "applied: apply the change with `dfix --write`")
    # the Dockerfile's hunk holds no secret: no notice
    df_at = lines.index("+++ b/Dockerfile")
    assert not lines[df_at + 2].startswith("dfix:")
    assert out.count("dfix: 1 line") == 1
    _apply_refused(root, out)
    # the same hunk in JSON and markdown
    _, js, _ = run(["--diff", "--format", "json", "."], cwd=root)
    jf = next(f for f in json.loads(js)["files"] if f["path"] == "Jenkinsfile")
    assert "\ndfix: 1 line of this hunk holds a secret value and is masked" in jf["diff"]
    _, md, _ = run(["--format", "markdown", "."], cwd=root)
    assert "\ndfix: 1 line of this hunk holds a secret value and is masked" in md and PW not in md
    # the files are untouched, and --write still applies the real change
    assert (root / "Jenkinsfile").read_text() == files["Jenkinsfile"]
    run(["--write", "."], cwd=root)
    assert "--secret id=npm_token" in (root / "Jenkinsfile").read_text()


def test_a_secret_only_on_an_added_line_is_never_applied_as_redacted(tmp_path) -> None:
    """Before, a hunk whose masked line was an addition applied cleanly and wrote ``<redacted>``."""
    from refactor.render.output import unified_diff
    from refactor.results import FileResult, Outcome

    original = "a\nb\nc\nd\n"
    new = f"a\nb\nTOKEN={GHP}\nc\nd\n"
    (tmp_path / "f").write_text(original)
    r = FileResult("f", outcome=Outcome.FIXED, changed=True, original=original, new_text=new, masks=[GHP])
    diff, masked = unified_diff(r)
    assert masked and GHP not in diff and "+TOKEN=<redacted>" in diff
    assert "\ndfix: 1 line of this hunk holds a secret value and is masked" in diff
    _apply_refused(tmp_path, diff)
    assert (tmp_path / "f").read_text() == original


def test_hunks_without_a_secret_are_unchanged_and_counts_are_plural() -> None:
    from refactor.render.output import unified_diff
    from refactor.results import FileResult, Outcome

    original = "".join(f"line{i}\n" for i in range(30))
    new = original.replace("line2\n", f"X={GHP}\nY={GHP}\n").replace("line25\n", "changed\n")
    r = FileResult("f", outcome=Outcome.FIXED, changed=True, original=original, new_text=new, masks=[GHP])
    diff, _masked = unified_diff(r)
    hunks = diff.split("\n@@ ")
    assert len(hunks) == 3
    assert "dfix: 2 lines of this hunk hold a secret value and are masked" in hunks[1]
    assert "dfix:" not in hunks[2]
    plain = FileResult("f", outcome=Outcome.FIXED, changed=True, original=original, new_text=original.replace("line25\n", "changed\n"))
    assert "dfix:" not in unified_diff(plain)[0] and unified_diff(plain)[1] is False


# ----------------------------------------------------------------- where a word-like value stands as a value


_WORD_LINES = {
    "yaml-quoted": ('    NPM_TOKEN: "{w}"', True),
    "yaml-plain": ("    NPM_TOKEN: {w}", True),
    "python-assign": ("TOK = '{w}'", True),
    "groovy-def": ('def tok = "{w}"', True),
    "netrc": ("machine h login u password {w}", True),
    "shell-assign": ("TOK={w}", True),
    "command-word": ("run: {w} build .", False),  # a command word, not a value
    "path": ("COPY {w}/x /y", False),
    "image": ("image: {w}/app:1", False),
}


@pytest.mark.parametrize("kind", list(_WORD_LINES))
def test_word_like_values_are_masked_where_they_stand_as_values(kind) -> None:
    from refactor.render.masking import mask_text

    line, masked = _WORD_LINES[kind]
    line = line.format(w=WORD)
    text, hit = mask_text(line + "\n", [WORD])
    assert hit is masked and (WORD in text) is (not masked), text


def test_committed_values_finds_caller_assignments() -> None:
    from refactor.render.masking import committed_values

    text = (f"def tok = '{PW}'\nTOK = \"{NPM}\"\nexport SH_TOK={WORD}\n"
            f'os.environ["ENV_TOK"] = "{PW2}"\nOTHER = "{GHP}"\nREF = "$tok"\nPH = "changeme"\n')
    assert committed_values(text, ["tok", "TOK", "SH_TOK", "ENV_TOK", "REF", "PH"]) == [PW, NPM, WORD, PW2]


def test_credential_file_values() -> None:
    from refactor.render.masking import credential_file_values

    text = (f"RUN printf 'machine h\\nlogin u\\npassword {PW2}\\n' > ~/.netrc\n"
            f"RUN printf '[global]\\npassword = {WORD}\\n' > /etc/pip.conf\n"
            "RUN echo password $PASS; docker login --password-stdin; echo 'password = changeme'\n")
    assert credential_file_values(text) == [PW2, WORD]


# --------------------------------------------------------------- every printed string goes through the masks


def _result_with_values():
    from refactor.results import FileResult, FindingOut, FixOut

    fix = FixOut(f"title {GHP}", "unsafe", False, [f"reason {GHP}"], False)
    f = FindingOut("DF003", "committed-secret", "X", True, "error", f"message {GHP}", 1, 1, 1, 2, fix)
    return FileResult("Dockerfile", masks=[GHP], findings=[f], notes=[f"note {GHP}"])


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "markdown", "gitlab", "checkstyle", "junit"])
def test_documents_mask_messages_titles_and_reasons(fmt) -> None:
    """A message never holds a value by construction; should one ever, every format masks it (JSON
    printed finding messages, fix titles and reasons as they were)."""
    from refactor.render import output

    r = _result_with_values()
    doc = output.to_json([r]) if fmt == "json" else output.to_github([r]) if fmt == "github" else output.DOCUMENTS[fmt]([r])
    assert GHP not in doc


def test_text_output_masks_messages_titles_reasons_and_notes(capsys) -> None:
    from refactor.render.text import not_applied, text_file
    from refactor.settings import Settings

    r = _result_with_values()
    st = Settings()
    text_file(r, st, False, None)
    not_applied(r, print)
    out, err = capsys.readouterr()
    assert GHP not in out + err and "message <redacted>" in out


def test_sarif_fix_is_omitted_for_a_quoted_word_like_value() -> None:
    from refactor.fixes.edit import Edit
    from refactor.render.output import to_sarif
    from refactor.results import FileResult, FindingOut, FixOut, Outcome

    original = "import os\nrun()\n"
    inserted = f"TOK = '{WORD}'\n"
    at = len("import os\n")
    fix = FixOut("t", "safe", False, [], True, (Edit(at, at, inserted),))
    f = FindingOut("DF011", "secret-build-arg-caller", "X", True, "error", "m", 2, 1, 2, 3, fix)
    r = FileResult("build.py", kind="caller", outcome=Outcome.FIXED, changed=True, original=original,
                   new_text=original[:at] + inserted + original[at:], masks=[WORD], findings=[f])
    doc = to_sarif([r])
    (res,) = json.loads(doc)["runs"][0]["results"]
    assert "fixes" not in res and WORD not in doc


def test_a_variable_name_is_never_a_mask() -> None:
    """A bare identifier a detector took for a token (bake ``GOPRIVATE_TOKEN = GOPRIVATE_TOKEN``)
    hid the name in that file's diff and SARIF; shared over the run it would hide it everywhere."""
    from refactor.render.masking import share
    from refactor.render.output import to_sarif, unified_diff
    from refactor.results import FileResult, FindingOut, Outcome

    f = FindingOut("DF011", "secret-build-arg-caller", "GOPRIVATE_TOKEN", True, "error",
                   "passes secret GOPRIVATE_TOKEN to `Dockerfile` as a build arg", 2, 5, 2, 20, None)
    text = "args = {\n    GOPRIVATE_TOKEN = GOPRIVATE_TOKEN\n}\n"
    bake = FileResult("docker-bake.hcl", kind="caller", outcome=Outcome.FIXED, changed=True, original=text, new_text="args = {\n}\n",
                      masks=["GOPRIVATE_TOKEN", GHP], findings=[f])
    df = FileResult("Dockerfile", declared_args=["GOPRIVATE_TOKEN"], masks=[])
    bake, df = share([bake, df])
    assert bake.masks == (GHP,) and df.masks == (GHP,)
    assert "-    GOPRIVATE_TOKEN = GOPRIVATE_TOKEN" in unified_diff(bake)[0]
    assert "passes secret GOPRIVATE_TOKEN" in to_sarif([bake, df])

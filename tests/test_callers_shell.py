"""Callers: shell scripts (the shared command-line rewrite)."""

from __future__ import annotations

import pytest

from refactor.buildspec import SecretSpec
from refactor.callers import Target, find_in_text, plan_file
from refactor.fixes.edit import apply_edits

PATH = "/repo/build.sh"
LIT = "lit-Zq81vXw3T0kenValue"  # a stand-in committed value; never printed by these tests


def migrate(text: str, names=("NPM_TOKEN",), kind: str = "shell", path: str = PATH):
    invs = find_in_text(path, text, kind)
    specs = {n: SecretSpec(n.lower(), "env", n) for n in names}
    plan = plan_file(path, text, [Target(i, specs) for i in invs])
    return apply_edits(text, plan.edits), plan, invs


def assert_no_literal(*texts: str) -> None:
    leaked = any(LIT in t for t in texts)
    assert not leaked, "the committed value leaked"


# ---------------------------------------------------------------------------- no-op cases

NOOPS = [
    "#!/bin/sh\necho hello\n",
    "docker build -t app .\n",
    "# docker build --build-arg NPM_TOKEN=$X .\n",
    "echo 'docker build --build-arg NPM_TOKEN=$X .'\n",
    "cat <<EOF\ndocker build --build-arg NPM_TOKEN=$X .\nEOF\necho done\n",
    "docker run --build-arg NPM_TOKEN=$X app\n",
    "docker build --build-arg APP_VERSION=$V .\n",
    "docker build --build-arg NPM_TOKENX=$V .\n",
    "printf '%s' --build-arg NPM_TOKEN\n",
    "make build --build-arg NPM_TOKEN=1\n",
]


@pytest.mark.parametrize("text", NOOPS)
def test_noop(text: str) -> None:
    out, plan, _ = migrate(text)
    assert out == text
    assert plan.unmigratable == [] and plan.rotate == []


def test_noop_when_nothing_migrated() -> None:
    text = "docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n"
    invs = find_in_text(PATH, text, "shell")
    plan = plan_file(PATH, text, [Target(i, {}) for i in invs])
    assert plan.edits == []


# ---------------------------------------------------------------------------- rewrites

CASES = [
    # passthrough: docker already reads NAME from its environment
    ("docker build --build-arg NPM_TOKEN -t app .\n", "docker build --secret id=npm_token,env=NPM_TOKEN -t app .\n"),
    # inherited (never assigned): certainly exported
    ("docker build --build-arg NPM_TOKEN=$NPM_TOKEN .\n", "docker build --secret id=npm_token,env=NPM_TOKEN .\n"),
    ("docker build --build-arg NPM_TOKEN=\"${NPM_TOKEN}\" .\n", "docker build --secret id=npm_token,env=NPM_TOKEN .\n"),
    ('docker build --build-arg "NPM_TOKEN=${CI_NPM}" .\n', "docker build --secret id=npm_token,env=CI_NPM .\n"),
    ("docker build --build-arg=NPM_TOKEN=$NPM_TOKEN .\n", "docker build --secret id=npm_token,env=NPM_TOKEN .\n"),
    ("docker buildx build --build-arg NPM_TOKEN .\n", "docker buildx build --secret id=npm_token,env=NPM_TOKEN .\n"),
    ("docker --context ci image build --build-arg NPM_TOKEN .\n", "docker --context ci image build --secret id=npm_token,env=NPM_TOKEN .\n"),
    ("podman build --build-arg NPM_TOKEN .\n", "podman build --secret id=npm_token,env=NPM_TOKEN .\n"),
    ("buildah bud --build-arg NPM_TOKEN .\n", "buildah bud --secret id=npm_token,env=NPM_TOKEN .\n"),
    ("/usr/bin/docker build --build-arg NPM_TOKEN .\n", "/usr/bin/docker build --secret id=npm_token,env=NPM_TOKEN .\n"),
    # a local: the value's own text moves into a prefix assignment
    ("tok=$(cat f)\ndocker build --build-arg NPM_TOKEN=$tok .\n", 'tok=$(cat f)\nNPM_TOKEN="$tok" docker build --secret id=npm_token,env=NPM_TOKEN .\n'),
    ('tok=x\ndocker build --build-arg NPM_TOKEN="$tok" .\n', 'tok=x\nNPM_TOKEN="$tok" docker build --secret id=npm_token,env=NPM_TOKEN .\n'),
    ('tok=x\ndocker build --build-arg "NPM_TOKEN=${tok}" .\n', 'tok=x\nNPM_TOKEN="${tok}" docker build --secret id=npm_token,env=NPM_TOKEN .\n'),
    ("tok=x\ndocker build --build-arg 'NPM_TOKEN'=$tok .\n", 'tok=x\nNPM_TOKEN="$tok" docker build --secret id=npm_token,env=NPM_TOKEN .\n'),
    # a command substitution / default: not one exported variable -> prefix
    ("docker build --build-arg NPM_TOKEN=$(cat ~/.npm-token) .\n", 'NPM_TOKEN="$(cat ~/.npm-token)" docker build --secret id=npm_token,env=NPM_TOKEN .\n'),
    ("docker build --build-arg NPM_TOKEN=${NPM_TOKEN:-none} .\n", 'NPM_TOKEN="${NPM_TOKEN:-none}" docker build --secret id=npm_token,env=NPM_TOKEN .\n'),
    ("docker build --build-arg NPM_TOKEN=${NPM_TOKEN:?unset} .\n", "docker build --secret id=npm_token,env=NPM_TOKEN .\n"),
    # exported explicitly
    ("TOK=1\nexport TOK\ndocker build --build-arg NPM_TOKEN=$TOK .\n", "TOK=1\nexport TOK\ndocker build --secret id=npm_token,env=TOK .\n"),
    ("set -a\nTOK=1\ndocker build --build-arg NPM_TOKEN=$TOK .\n", "set -a\nTOK=1\ndocker build --secret id=npm_token,env=TOK .\n"),
    # the script sources another file: an unassigned variable may be a local from there
    (". ./env.sh\ndocker build --build-arg NPM_TOKEN=$TOK .\n", '. ./env.sh\nNPM_TOKEN="$TOK" docker build --secret id=npm_token,env=NPM_TOKEN .\n'),
    # existing prefix assignments and wrappers
    ("DOCKER_BUILDKIT=1 docker build --build-arg NPM_TOKEN=$(pass npm) .\n", 'NPM_TOKEN="$(pass npm)" DOCKER_BUILDKIT=1 docker build --secret id=npm_token,env=NPM_TOKEN .\n'),
    ("if true; then exec docker build --build-arg NPM_TOKEN=$(pass npm) .; fi\n", 'if true; then NPM_TOKEN="$(pass npm)" exec docker build --secret id=npm_token,env=NPM_TOKEN .; fi\n'),
    ("test -n x && docker build --build-arg NPM_TOKEN .\n", "test -n x && docker build --secret id=npm_token,env=NPM_TOKEN .\n"),
    # inside a command substitution
    ("id=$(docker build -q --build-arg NPM_TOKEN .)\n", "id=$(docker build -q --secret id=npm_token,env=NPM_TOKEN .)\n"),
    # an id already passed: the build arg just goes
    ("docker build --secret id=npm_token,env=NPM_TOKEN --build-arg NPM_TOKEN .\n", "docker build --secret id=npm_token,env=NPM_TOKEN .\n"),
    # repeated: docker keeps the last value
    ("docker build --build-arg NPM_TOKEN=$A --build-arg NPM_TOKEN=$B .\n", "docker build --secret id=npm_token,env=B .\n"),
]


@pytest.mark.parametrize("before,after", CASES)
def test_rewrite(before: str, after: str) -> None:
    out, plan, _ = migrate(before)
    assert out == after
    assert plan.unmigratable == []


def test_multiline_continuation_keeps_layout() -> None:
    before = (
        "#!/bin/sh\n"
        "token=$(cat /run/token)\n"
        "docker build \\\n"
        "  --build-arg NPM_TOKEN=\"$token\" \\\n"
        "  --build-arg APP=1 \\\n"
        "  -t app \\\n"
        "  .\n"
    )
    after = (
        "#!/bin/sh\n"
        "token=$(cat /run/token)\n"
        'NPM_TOKEN="$token" docker build \\\n'
        "  --secret id=npm_token,env=NPM_TOKEN \\\n"
        "  --build-arg APP=1 \\\n"
        "  -t app \\\n"
        "  .\n"
    )
    assert migrate(before)[0] == after


def test_two_secrets_one_command_one_prefix() -> None:
    before = "a=1; b=2\ndocker build --build-arg NPM_TOKEN=$a --build-arg PIP_TOKEN=$b .\n"
    out, _, _ = migrate(before, names=("NPM_TOKEN", "PIP_TOKEN"))
    assert out == 'a=1; b=2\nNPM_TOKEN="$a" PIP_TOKEN="$b" docker build --secret id=npm_token,env=NPM_TOKEN --secret id=pip_token,env=PIP_TOKEN .\n'


def test_duplicate_on_its_own_line_is_deleted_with_the_line() -> None:
    before = "docker build \\\n  --secret id=npm_token,env=NPM_TOKEN \\\n  --build-arg NPM_TOKEN \\\n  .\n"
    after = "docker build \\\n  --secret id=npm_token,env=NPM_TOKEN \\\n  .\n"
    assert migrate(before)[0] == after


def test_crlf() -> None:
    before = "tok=1\r\ndocker build \\\r\n  --build-arg NPM_TOKEN=$tok \\\r\n  .\r\n"
    after = 'tok=1\r\nNPM_TOKEN="$tok" docker build \\\r\n  --secret id=npm_token,env=NPM_TOKEN \\\r\n  .\r\n'
    assert migrate(before)[0] == after


def test_sudo_prefix_goes_after_sudo() -> None:
    out, plan, _ = migrate("tok=1\nsudo -E docker build --build-arg NPM_TOKEN=$tok .\n")
    assert out == 'tok=1\nsudo -E NPM_TOKEN="$tok" docker build --secret id=npm_token,env=NPM_TOKEN .\n'
    assert any("sudo" in n for n in plan.notes)


def test_literal_is_removed_and_reported() -> None:
    before = f"docker build --build-arg NPM_TOKEN={LIT} -t app .\n"
    out, plan, invs = migrate(before)
    assert out == "docker build --secret id=npm_token,env=NPM_TOKEN -t app .\n"
    assert plan.rotate == ["NPM_TOKEN"]
    assert any("export NPM_TOKEN" in n for n in plan.notes)
    assert invs[0].build_args[0].value_kind == "literal" and invs[0].build_args[0].source is None
    assert_no_literal(out, *plan.notes, *plan.unmigratable, repr(invs))


def test_empty_literal_is_not_rotated() -> None:
    out, plan, _ = migrate("docker build --build-arg NPM_TOKEN= .\n")
    assert out == "docker build --secret id=npm_token,env=NPM_TOKEN .\n"
    assert plan.rotate == []


def test_kaniko_cannot_be_migrated() -> None:
    text = "/kaniko/executor --context . --dockerfile Dockerfile --build-arg NPM_TOKEN=$NPM_TOKEN\n"
    out, plan, invs = migrate(text)
    assert out == text
    assert invs[0].migratable is False
    assert plan.unmigratable and "kaniko" in plan.unmigratable[0]


def test_az_acr_build_cannot_be_migrated() -> None:
    text = 'az acr build --registry r --image app --build-arg NPM_TOKEN="$NPM_TOKEN" .\n'
    out, plan, invs = migrate(text)
    assert out == text
    assert invs[0].migratable is False
    assert plan.unmigratable and "az acr build" in plan.unmigratable[0]


def test_buildkit_disabled_cannot_be_migrated() -> None:
    text = "DOCKER_BUILDKIT=0 docker build --build-arg NPM_TOKEN .\n"
    out, plan, _ = migrate(text)
    assert out == text
    assert plan.unmigratable and "BuildKit" in plan.unmigratable[0]


def test_computed_build_args_are_noted() -> None:
    text = 'docker build --build-arg "$ARGS" --build-arg NPM_TOKEN .\n'
    out, plan, invs = migrate(text)
    assert out == 'docker build --build-arg "$ARGS" --secret id=npm_token,env=NPM_TOKEN .\n'
    assert [a.name for a in invs[0].build_args] == ["", "NPM_TOKEN"]
    assert any("computed at run time" in n for n in plan.notes)


def test_invocation_spans_and_kinds() -> None:
    text = "x=1\ndocker build --build-arg NPM_TOKEN=$x --build-arg V .\n"
    (inv,) = find_in_text(PATH, text, "shell")
    assert text[inv.start : inv.end] == "docker build --build-arg NPM_TOKEN=$x --build-arg V ."
    a, b = inv.build_args
    assert (a.name, a.value_kind, a.source) == ("NPM_TOKEN", "local", "x")
    assert text[a.start : a.end] == "--build-arg NPM_TOKEN=$x"
    assert (b.name, b.value_kind) == ("V", "passthrough")


def test_dockerfile_resolution(tmp_path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "build.sh"
    text = "docker build -f app/Dockerfile --build-arg NPM_TOKEN app\ndocker build --build-arg NPM_TOKEN -f - .\n"
    script.write_text(text)
    invs = find_in_text(str(script), text, "shell", str(tmp_path))
    assert invs[0].dockerfile == str((tmp_path / "app" / "Dockerfile").resolve())
    assert invs[0].context == str((tmp_path / "app").resolve())
    assert invs[1].dockerfile is None


def test_loop_variable_links_by_pattern(tmp_path) -> None:
    for svc in ("api", "web"):
        (tmp_path / "services" / svc).mkdir(parents=True)
        (tmp_path / "services" / svc / "Dockerfile").write_text("FROM scratch\n")
    text = 'for s in api web; do\n  docker build --build-arg NPM_TOKEN -f "services/$s/Dockerfile" "services/$s"\ndone\ndocker build --build-arg NPM_TOKEN -f "$DOCKERFILE" .\n'
    script = tmp_path / "build.sh"
    script.write_text(text)
    invs = find_in_text(str(script), text, "shell", str(tmp_path))
    loop = [i for i in invs if i.start < text.index("done")]
    assert sorted(i.dockerfile for i in loop) == [str((tmp_path / "services" / s / "Dockerfile").resolve()) for s in ("api", "web")]
    assert [i.context for i in sorted(loop, key=lambda i: i.dockerfile)] == [str((tmp_path / "services" / s).resolve()) for s in ("api", "web")]
    assert len({(i.start, i.end) for i in loop}) == 1
    # a file name that is itself unknown is not guessed
    (other,) = [i for i in invs if i not in loop]
    assert other.dockerfile is None
    spec = {"NPM_TOKEN": SecretSpec("npm_token", "env", "NPM_TOKEN")}
    plan = plan_file(str(script), text, [Target(i, spec) for i in loop])
    assert apply_edits(text, plan.edits).count("--secret id=npm_token,env=NPM_TOKEN") == 1


def test_a_fallback_that_may_be_the_secret_is_never_copied() -> None:
    """``${T:-<committed literal>}``: the literal would move into the new prefix assignment, so the
    caller is left to the user; a placeholder fallback (``none``) is copied as before."""
    from refactor.buildspec import SecretSpec
    from refactor.callers import Target, find_in_text, plan_file

    text = 'docker build --build-arg NPM_TOKEN="${T:-lit-9HqzV0cwPp2value}" .\n'
    invs = find_in_text("/repo/build.sh", text, "shell")
    plan = plan_file("/repo/build.sh", text, [Target(i, {"NPM_TOKEN": SecretSpec("npm_token", "env", "NPM_TOKEN")}) for i in invs])
    assert plan.unmigratable and "committed literal" in plan.unmigratable[0]
    assert not plan.edits

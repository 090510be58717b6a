"""The `--emit flatten` recipe, run on a real engine (issue #17, point 1).

A base image is made with ``docker import -c`` (so it carries an ENTRYPOINT and values a Dockerfile
can hardly write: a LABEL key with a space, a tab, a trailing backslash, a VOLUME with a space, an
exec-form HEALTHCHECK with ``$``). A Dockerfile on it sets ENV with ``$PATH`` expansion and a value
with spaces, quotes, ``$`` and ``=``, WORKDIR, USER, CMD, LABEL, EXPOSE, VOLUME, STOPSIGNAL,
HEALTHCHECK and ONBUILD, and takes a secret. ``dfix --write --emit flatten`` rewrites it and prints
the recipe, which is run as printed (a ``docker`` shim adds ``--network host --no-cache`` to the
build: this engine has no bridge network). The flattened image must have one layer and the same
config as the same Dockerfile built normally, hold no trace of the secret, start, and its
entrypoint must see the right environment. The recipe leaves no temporary image or container.
"""

from __future__ import annotations

import json
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from .conftest import assert_built, assert_clean

# what `docker import --change` carries (SHELL is refused by docker import)
CARRIED = ("Env", "Entrypoint", "Cmd", "WorkingDir", "User", "ExposedPorts", "Labels", "Volumes", "StopSignal",
           "Healthcheck", "OnBuild")

BASE_ENV = "it's \"q\" $HOME \\ end\\"
ENTRYPOINT = ["/bin/sh", "-c",
              'echo "entry PATH=$PATH"; echo "entry TRICKY=$TRICKY"; echo "entry BASE=$BASE_ONLY"; '
              'echo "entry EMPTY=[$EMPTY]"; echo "entry pwd=$(pwd) uid=$(id -u)"; exec "$@"', "entry"]


def _base_changes() -> list[str]:
    return [
        "ENV BASE_ONLY='" + BASE_ENV.replace("'", "'\\''") + "' PATH=/usr/local/bin:/bin",
        "ENTRYPOINT " + json.dumps(ENTRYPOINT),
        "LABEL 'base key'='tab\there' base.empty=''",
        'VOLUME ["/base vol"]',
        'HEALTHCHECK --interval=45s --timeout=2s --start-period=1s --retries=5 CMD ["/bin/test", "-n", "$x"]',
    ]


APP = """FROM {base}
ENV PATH=/opt/app/bin:$PATH
ENV TRICKY="a b 'q' \\"dq\\" \\$HOME = x=y" EMPTY=""
WORKDIR /srv/app
ARG NPM_TOKEN
RUN test -n "$NPM_TOKEN" && mkdir -p /data /opt/app/bin && echo in-volume > /data/f && chown 1000:1000 /srv/app
VOLUME /data
USER 1000:1000
EXPOSE 8080/tcp 53/udp
LABEL org.example.note="v 1 \\$x 'q' \\"d\\"" org.example.empty=""
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD test -d /srv/app || exit 1
ONBUILD RUN echo "onbuild $HOME"
CMD ["sh", "-c", "echo cmd-ran"]
"""


def _docker(e2e, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([e2e.engine.docker, *args], env=e2e.engine.environ(), capture_output=True, text=True,
                          timeout=300, **kw)
    if check:
        assert proc.returncode == 0, f"docker {' '.join(args[:2])} failed: {proc.stderr[-800:]}"
    return proc


def _inspect(e2e, ref: str) -> dict:
    return json.loads(_docker(e2e, "image", "inspect", ref).stdout)[0]


def _shim(tmp: Path, docker: str) -> Path:
    bindir = tmp / "shim"
    bindir.mkdir()
    shim = bindir / "docker"
    shim.write_text(
        "#!/bin/sh\n"
        f'real="{docker}"\n'
        'if [ "$1" = build ]; then shift; exec "$real" build --network host --no-cache "$@"; fi\n'
        'exec "$real" "$@"\n'
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bindir


def _make_base(e2e, tmp: Path, tag: str, extra: list[str] = ()) -> None:
    cid = _docker(e2e, "create", e2e.base.image, "true").stdout.strip()
    try:
        _docker(e2e, "export", "-o", str(tmp / "base.tar"), cid)
    finally:
        _docker(e2e, "rm", "-f", cid, check=False)
    changes = [a for c in [*_base_changes(), *extra] for a in ("-c", c)]
    _docker(e2e, "import", *changes, str(tmp / "base.tar"), tag)


def _leftovers(e2e) -> set[str]:
    """Temporary images and containers of flatten recipes on the engine."""
    images = _docker(e2e, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    containers = _docker(e2e, "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}").stdout.splitlines()
    return ({i for i in images if i.startswith("dfix-flatten-tmp:")}
            | {c.split()[0] for c in containers if "dfix-flatten" in c})


def _settled(e2e, before: set[str], wait: float = 60.0) -> bool:
    """No flatten leftovers beyond ``before``. A busy engine (other workers build and save images at
    the same time) can still be finishing the recipe's exit-trap removals when the recipe has
    returned: they are polled for, up to ``wait`` seconds (a bound on a wait, not a timing check)."""
    import time

    deadline = time.monotonic() + wait
    while not _leftovers(e2e) <= before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def _recipe(ctx_parent: Path, name: str) -> tuple[str, str]:
    """dfix --write --emit flatten on ``name/Dockerfile``: (recipe, build command)."""
    proc = subprocess.run([sys.executable, "-m", "refactor", "--write", "--emit", "flatten", "--format", "json",
                           f"{name}/Dockerfile"], cwd=ctx_parent, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    doc = next(f for f in json.loads(proc.stdout)["files"] if f["kind"] == "dockerfile")
    assert doc["changed"], "dfix did not rewrite the secret ARG"
    return doc["build"]["emitted"]["flatten"], doc["build"]["command"]


def _run_recipe(e2e, tmp: Path, recipe: str, token) -> subprocess.CompletedProcess:
    (tmp / "recipe.sh").write_text(recipe)
    docker = shutil.which(e2e.engine.docker, path=e2e.engine.environ()["PATH"]) or e2e.engine.docker
    env = e2e.engine.environ({"NPM_TOKEN": token})
    env["PATH"] = f"{_shim(tmp, docker)}:{env['PATH']}"
    return subprocess.run(["sh", "recipe.sh"], cwd=tmp, env=env, capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)


def _masked(e2e, text: str) -> str:
    from refactor.leakscan import mask_values
    return mask_values(text, e2e.values)


def test_the_flattened_image_keeps_the_config_and_starts(e2e, tmp_path: Path) -> None:
    token = e2e.canary("NPM_TOKEN", expect=False)
    run_id = secrets.token_hex(5)
    base, name = f"dfix-flatten-e2e-base:{run_id}", f"dfixflat{run_id}"
    before = _leftovers(e2e)
    try:
        _make_base(e2e, tmp_path, base)
        ctx = tmp_path / name
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(APP.format(base=base))
        recipe, command = _recipe(tmp_path, name)
        assert "--mount=type=secret" in (ctx / "Dockerfile").read_text()
        assert command.startswith("docker build --secret id=npm_token,env=NPM_TOKEN ")

        # the reference: the same rewritten Dockerfile, built normally
        ref = e2e.build(ctx, secrets={"npm_token": "NPM_TOKEN"}, env_values={"NPM_TOKEN": token})
        assert_built(ref)

        proc = _run_recipe(e2e, tmp_path, recipe, token)
        assert proc.returncode == 0, "recipe failed; masked output tail:\n" + _masked(e2e, proc.stderr[-3000:])
        assert f"flattened into {name}:flat" in proc.stdout
        flat = f"{name}:flat"
        want, got = _inspect(e2e, ref.tag), _inspect(e2e, flat)

        for field in CARRIED:
            assert got["Config"].get(field) == want["Config"].get(field), f"{field} differs after flattening"
        assert (got["Os"], got["Architecture"], got.get("Variant")) == (want["Os"], want["Architecture"], want.get("Variant"))
        # the values really are the tricky ones (not both empty)
        env = dict(e.split("=", 1) for e in got["Config"]["Env"])
        assert env["PATH"] == "/opt/app/bin:/usr/local/bin:/bin"
        assert env["TRICKY"] == "a b 'q' \"dq\" $HOME = x=y" and env["EMPTY"] == "" and env["BASE_ONLY"] == BASE_ENV
        assert got["Config"]["Entrypoint"] == ENTRYPOINT
        assert got["Config"]["Labels"]["base key"] == "tab\there"
        assert got["Config"]["Labels"]["org.example.note"] == "v 1 $x 'q' \"d\""
        assert set(got["Config"]["Volumes"]) == {"/base vol", "/data"}
        assert got["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "test -d /srv/app || exit 1"]
        assert got["Config"]["OnBuild"] == ['RUN echo "onbuild $HOME"']
        # one layer, no build history
        assert len(got["RootFS"]["Layers"]) == 1
        history = _docker(e2e, "history", "-q", "--no-trunc", flat).stdout.split()
        assert len(history) == 1
        assert_clean(e2e.scan(flat, {"NPM_TOKEN": token}))

        # it starts, the base's entrypoint sees the right environment, and files under a VOLUME survive
        started = _docker(e2e, "run", "--rm", "--network", "host", flat, check=False)
        reference = _docker(e2e, "run", "--rm", "--network", "host", ref.tag, check=False)
        assert started.returncode == 0, started.stderr[-800:]
        assert started.stdout == reference.stdout
        assert started.stdout.splitlines() == [
            "entry PATH=/opt/app/bin:/usr/local/bin:/bin",
            "entry TRICKY=a b 'q' \"dq\" $HOME = x=y",
            f"entry BASE={BASE_ENV}",
            "entry EMPTY=[]",
            "entry pwd=/srv/app uid=1000",
            "cmd-ran",
        ]
        cat = _docker(e2e, "run", "--rm", "--network", "host", "--entrypoint", "cat", flat, "/data/f")
        assert cat.stdout == "in-volume\n"

        assert _settled(e2e, before), "the recipe left a temporary image or container"
    finally:
        _docker(e2e, "image", "rm", "-f", f"{name}:flat", base, check=False)


def test_a_value_that_cannot_be_carried_stops_the_recipe_and_leaves_nothing(e2e, tmp_path: Path) -> None:
    """A newline cannot pass through `docker import --change`: the recipe says so and stops,
    without an image under the final name and without temporary images or containers."""
    token = e2e.canary("NPM_TOKEN", expect=False)
    run_id = secrets.token_hex(5)
    base, name = f"dfix-flatten-e2e-base:{run_id}", f"dfixflat{run_id}"
    before = _leftovers(e2e)
    try:
        _make_base(e2e, tmp_path, base)
        ctx = tmp_path / name
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(f"FROM {base}\nARG NPM_TOKEN\nRUN test -n \"$NPM_TOKEN\"\n")
        recipe, _command = _recipe(tmp_path, name)
        # the label is set at build time: the Dockerfile itself holds no newline
        recipe = recipe.replace('docker build -t "$tmp" ', 'docker build -t "$tmp" --label "multi=line1\nline2" ', 1)
        proc = _run_recipe(e2e, tmp_path, recipe, token)
        assert proc.returncode != 0
        assert "docker import --change cannot carry a value holding a newline" in proc.stderr
        assert _docker(e2e, "image", "inspect", f"{name}:flat", check=False).returncode != 0
        assert _settled(e2e, before), "the recipe left a temporary image or container"
    finally:
        _docker(e2e, "image", "rm", "-f", f"{name}:flat", base, check=False)

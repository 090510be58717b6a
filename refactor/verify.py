"""``dfix verify PATH``: build a Dockerfile the way dfix says to, then look for the secrets in the image.

By default the rewritten file (what ``dfix --write`` would produce) is built with random canary
values passed as BuildKit secrets; ``--original`` builds the file as it is, passing the same kind of
canaries as ``--build-arg``, to show where that leaks. The image is then scanned (history, env,
labels, config, every layer file) and removed.

This is the only dfix command that executes anything from the repository: the build runs the
Dockerfile's RUN instructions.

Exit codes: 0 clean, 1 leak found, 2 build failed, no builder, or nothing could be verified.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import field

import click

from refactor.leakscan import CHANNELS, ScanError, mask_values, scan_image
from refactor.records import dataclass

EXIT_CLEAN, EXIT_LEAK, EXIT_FAILED = 0, 1, 2
LOG_TAIL = 40


@dataclass
class Builder:
    name: str  # docker | podman | buildah
    exe: str
    buildx: bool = False

    @property
    def label(self) -> str:
        return "docker buildx" if self.name == "docker" and self.buildx else self.name

    @property
    def mount_style(self) -> str:
        # podman/buildah (as packaged in Debian 12: buildah 1.28) reject env= in RUN --mount
        return "env" if self.name == "docker" else "file"


def _works(cmd: list[str]) -> bool:
    exe = shutil.which(cmd[0])
    if not exe:
        return False
    try:
        return subprocess.run([exe, *cmd[1:]], capture_output=True, timeout=60, stdin=subprocess.DEVNULL).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def find_builder(choice: str = "auto") -> tuple[Builder | None, str]:
    """The builder to use, or None and why not."""
    reasons = []
    if choice in ("auto", "docker"):
        docker = shutil.which("docker")
        if docker and _works(["docker", "buildx", "version"]) and _works(["docker", "info"]):
            return Builder("docker", docker, buildx=True), ""
        if not docker:
            reasons.append("docker is not installed")
        elif not _works(["docker", "info"]):
            reasons.append("no Docker Engine answers `docker info` (check DOCKER_HOST)")
        else:
            reasons.append("the docker buildx plugin is missing (BuildKit secrets need it)")
    if choice in ("auto", "podman"):
        podman = shutil.which("podman")
        if podman and _works(["podman", "version"]):
            return Builder("podman", podman), ""
        reasons.append("podman is not installed or does not work")
    if choice in ("auto", "buildah"):
        buildah = shutil.which("buildah")
        if buildah and _works(["buildah", "version"]):
            return Builder("buildah", buildah), ""
        reasons.append("buildah is not installed or does not work")
    return None, "; ".join(reasons)


@dataclass
class _Run:
    builder: Builder
    network: str | None
    workdir: str
    values: dict[str, str] = field(default_factory=dict)  # name -> value; only ever in child envs
    images: list[str] = field(default_factory=list)
    build_refs: list[str] = field(default_factory=list)

    def build(
        self,
        dockerfile: str,
        context: str,
        tag: str,
        *,
        secret_env: dict[str, str],
        secret_src: dict[str, str],
        build_args: list[str],
        ssh: bool,
    ) -> tuple[int, str, list[str]]:
        b = self.builder
        if b.name == "docker":
            cmd = [b.exe, "buildx", "build", "--load", "--progress", "plain"]
            meta = os.path.join(self.workdir, f"{tag}.metadata.json")
            cmd += ["--metadata-file", meta]
        else:
            cmd, meta = [b.exe, "build"], None
        cmd += ["--no-cache", "-t", tag, "-f", dockerfile]
        if self.network:
            cmd += ["--network", self.network]
        for sid, var in secret_env.items():
            cmd += ["--secret", f"id={sid},env={var}"]
        for sid, src in secret_src.items():
            cmd += ["--secret", f"id={sid},src={src}"]
        for name in build_args:
            cmd += ["--build-arg", name]  # the value comes from the child environment
        if ssh:
            cmd += ["--ssh", "default"]
        cmd.append(context)
        env = dict(os.environ)
        env.update(self.values)
        self.images.append(tag)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
        if meta and os.path.exists(meta):
            try:
                with open(meta) as fh:
                    ref = json.load(fh).get("buildx.build.ref", "")
                if ref:
                    self.build_refs.append(ref.rsplit("/", 1)[-1])
            except (OSError, ValueError):
                pass
        return proc.returncode, mask_values(proc.stdout + proc.stderr, self.values), cmd

    def cleanup(self, keep_images: bool) -> list[str]:
        notes: list[str] = []
        if keep_images:
            return notes
        b = self.builder
        for tag in self.images:
            rm = [b.exe, "image", "rm", "-f", tag] if b.name != "buildah" else [b.exe, "rmi", "-f", tag]
            proc = subprocess.run(rm, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if proc.returncode == 0:
                notes.append(f"removed image {tag}")
        for ref in self.build_refs:  # buildx keeps build records (with build args); drop ours
            subprocess.run([b.exe, "buildx", "history", "rm", ref], capture_output=True, stdin=subprocess.DEVNULL)
        return notes


def _echo(msg: str = "", err: bool = False) -> None:
    click.echo(msg, err=err)


def _quote(cmd: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(c) for c in cmd)


@click.command("verify", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--builder",
    "builder_choice",
    type=click.Choice(["auto", "docker", "podman", "buildah"]),
    default="auto",
    show_default=True,
    help="auto: docker buildx if it works, else podman, else buildah.",
)
@click.option("--network", default=None, metavar="MODE", help="Passed to the build (engines without a bridge network need 'host').")
@click.option("--from-env", is_flag=True, help="Take the real secret values from the environment instead of random canaries.")
@click.option("--original", is_flag=True, help="Build the unrewritten file with the values as --build-arg and show where they leak.")
@click.option(
    "--context",
    "context_dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Build context (default: the one dfix emits, else the Dockerfile's directory).",
)
@click.option("--keep-images", is_flag=True, help="Do not remove the images verify built.")
def verify(path, builder_choice, network, from_env, original, context_dir, keep_images):
    """Build PATH as dfix would and prove that no secret value reaches the image.

    This runs the Dockerfile's build: it is the only dfix command that executes anything from the
    repository. Values are random canaries unless --from-env; they are never printed.
    """
    sys.exit(run_verify(path, builder_choice, network, from_env, original, context_dir, keep_images))


def run_verify(path, builder_choice="auto", network=None, from_env=False, original=False, context_dir=None, keep_images=False) -> int:
    _echo(
        "dfix verify builds the Dockerfile: its RUN instructions execute on your builder. It is the only dfix"
        " command that runs anything from the repository."
    )
    if original and from_env:
        _echo(
            "error: --original passes values as --build-arg, which writes them into the image history and the"
            " builder's records; it runs with random canaries only. Drop --from-env.",
            err=True,
        )
        return EXIT_FAILED

    builder, why = find_builder(builder_choice)
    if builder is None:
        _echo(f"error: no builder: {why}", err=True)
        return EXIT_FAILED

    try:
        from refactor.api import plan_file

        planned = plan_file(path, mount_style=builder.mount_style)
    except NotImplementedError as exc:
        _echo(f"error: cannot plan {path}: {exc}", err=True)
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - a file dfix cannot analyse: nothing to verify
        _echo(f"error: cannot plan {path}: {type(exc).__name__}: {exc}", err=True)
        return EXIT_FAILED

    spec = planned.build
    if spec is None:  # '# dfix: skip-file': dfix plans no build for it
        _echo(f"error: cannot plan {path}: skipped by '# dfix: skip-file'", err=True)
        return EXIT_FAILED
    context = (
        context_dir or (spec.context if spec.context and os.path.isdir(spec.context) else None) or os.path.dirname(os.path.abspath(path))
    )
    workdir = tempfile.mkdtemp(prefix="dfix-verify-")
    run = _Run(builder, network, workdir)
    tag = f"dfix-verify-{secrets.token_hex(5)}"
    code = EXIT_FAILED
    try:
        secret_env: dict[str, str] = {}
        secret_src: dict[str, str] = {}
        build_args: list[str] = []
        kind = "real values from the environment" if from_env else "random canary values, never printed"
        if original:
            names = list(planned.secret_args)
            if not names:
                _echo(f"{path}: dfix found no secret build args; nothing to demonstrate.")
                return EXIT_CLEAN
            for name in names:
                run.values[name] = secrets.token_hex(16)
                build_args.append(name)
            dockerfile = os.path.abspath(path)
            _echo(f"mode: ORIGINAL file, secrets passed as --build-arg ({kind})")
        else:
            missing = []
            for s in spec.secrets:
                if s.env:
                    if from_env:
                        if os.environ.get(s.env) is None:
                            missing.append(s.env)
                            continue
                        run.values[s.env] = os.environ[s.env]
                    else:
                        run.values[s.env] = secrets.token_hex(16)
                    secret_env[s.id] = s.env
                elif s.src:
                    if from_env:
                        src = os.path.expanduser(s.src)
                        if not os.path.isfile(src):
                            missing.append(s.src)
                            continue
                        secret_src[s.id] = src
                        try:
                            with open(src, encoding="utf-8", errors="replace") as fh:
                                content = fh.read().strip()
                            if content and len(content) < 65536:
                                run.values[f"{s.id} (file)"] = content
                        except OSError:
                            pass
                    else:  # a canary file in place of the real one
                        value = secrets.token_hex(16)
                        src = os.path.join(workdir, f"secret-{s.id}")
                        with open(src, "w") as f:
                            f.write(value)
                        os.chmod(src, 0o600)
                        secret_src[s.id] = src
                        run.values[f"{s.id} (file)"] = value
            if missing:
                _echo("error: --from-env, but not set: " + ", ".join(missing), err=True)
                return EXIT_FAILED
            dockerfile = os.path.join(workdir, "Dockerfile")
            with open(dockerfile, "w", encoding="utf-8") as f:
                f.write(planned.fixed)
            ignore = os.path.abspath(path) + ".dockerignore"
            if os.path.exists(ignore):
                shutil.copy(ignore, dockerfile + ".dockerignore")
            if planned.fixed == planned.original:
                _echo(f"mode: dfix changes nothing in {path}; building it as it is ({kind})")
            else:
                _echo(f"mode: REWRITTEN file (what `dfix --write` produces), secrets as BuildKit secrets ({kind})")
            if spec.secrets and builder.mount_style == "file":
                _echo(f"note: {builder.name} gets the file form of the secret mounts (/run/secrets/<id>)")
        for arg in spec.build_args:  # non-secret args without a default: passed when the environment has them
            if arg in os.environ and arg not in build_args:
                build_args.append(arg)
        ssh = bool(spec.ssh) and not original
        if ssh and not os.environ.get("SSH_AUTH_SOCK"):
            _echo("note: the build wants an SSH agent (RUN --mount=type=ssh) but SSH_AUTH_SOCK is not set", err=True)
            ssh = False
        for note in spec.notes:
            _echo(f"note: {note}")

        started = time.monotonic()
        rc, log, cmd = run.build(dockerfile, context, tag, secret_env=secret_env, secret_src=secret_src, build_args=build_args, ssh=ssh)
        shown, skip = [], False
        for i, c in enumerate(cmd):
            if skip:
                skip = False
                continue
            if c == "--metadata-file":
                skip = True
                continue
            shown.append(os.path.basename(c) if i == 0 else c.replace(workdir, "$TMP"))
        _echo("build: " + _quote(shown))
        if rc != 0:
            _echo(f"build FAILED (exit {rc}) after {time.monotonic() - started:.1f}s; last lines, values masked:", err=True)
            for line in log.rstrip().splitlines()[-LOG_TAIL:]:
                _echo("  | " + line, err=True)
            return EXIT_FAILED
        _echo(f"build succeeded in {time.monotonic() - started:.1f}s; scanning {tag} for {len(run.values)} value(s)")

        try:
            report = scan_image(tag, run.values, docker=builder.exe)
        except (ScanError, OSError, ValueError) as exc:
            _echo(f"error: scanning failed: {mask_values(str(exc), run.values)}", err=True)
            return EXIT_FAILED
        _echo(report.render_text())
        if report.leaked:
            names = sorted({lk.secret for lk in report.leaks})
            chans = sorted({lk.channel for lk in report.leaks}, key=CHANNELS.index)
            _echo(f"result: LEAK: {', '.join(names)} found in {', '.join(chans)}")
            if original:
                _echo(
                    "(this is the original file; `dfix --write` removes these leaks: run `dfix verify` without"
                    " --original to check the rewrite)"
                )
            code = EXIT_LEAK
        elif not report.complete:
            _echo("result: INCOMPLETE: no leak found, but not everything could be scanned (see notes)")
            code = EXIT_FAILED
        else:
            _echo(f"result: PASS: no trace of {', '.join(report.secrets) or 'any value'} in " + ", ".join(CHANNELS))
            code = EXIT_CLEAN
        return code
    finally:
        for note in run.cleanup(keep_images):
            _echo(note)
        if keep_images and run.images:
            _echo("kept image(s): " + ", ".join(run.images) + (" (they hold real values if they leaked: remove them)" if from_env else ""))
        if from_env and code == EXIT_LEAK and builder.name == "docker":
            _echo("warning: the builder's cache may still hold the leaked layers: `docker builder prune`", err=True)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:  # python -m refactor.verify PATH
    verify()


if __name__ == "__main__":
    main()

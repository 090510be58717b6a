"""Render the build command(s) that build a fixed Dockerfile, one jinja2 template per target.

Quoting is per language: POSIX shell (``shlex.quote``), YAML and HCL (double-quoted strings with
escapes). Templates live in ``templates/`` and ship inside the wheel as ``refactor.templates``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from functools import lru_cache

from refactor.buildspec import BuildSpec

TARGETS = ("docker", "bake", "compose", "github", "gitlab", "podman", "flatten")


def _yaml_str(value: str) -> str:
    """A YAML scalar: plain when safe, else a JSON-style double-quoted string (valid YAML)."""
    if (
        value
        and re.fullmatch(r"[A-Za-z0-9_./-][A-Za-z0-9_./ -]*", value)
        and not value.endswith(" ")
        and value.lower()
        not in (
            "yes",
            "no",
            "true",
            "false",
            "on",
            "off",
            "null",
            "~",
        )
    ):
        return value
    return json.dumps(value)


def _hcl_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "$${").replace("%{", "%%{") + '"'


def _slug(value: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return s or "image"


@lru_cache(maxsize=1)
def environment():
    import importlib.resources

    import jinja2

    loader = jinja2.FunctionLoader(
        lambda name: (importlib.resources.files("refactor.templates").joinpath(name).read_text("utf-8"), None, lambda: True)
    )
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["shquote"] = shquote
    env.filters["yaml"] = _yaml_str
    env.filters["hcl"] = _hcl_str
    env.filters["slug"] = _slug
    env.filters["mdcell"] = lambda v: str(v).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    env.filters["mdtext"] = _mdtext
    env.filters["fence"] = _fence
    env.filters["guard"] = env_guard
    env.filters["mask"] = _mask_filter
    return env


def _mdtext(value) -> str:
    import html  # (only the markdown report needs it: not imported by every run)

    return html.escape(str(value), quote=False)


def _mask_filter(value, masks):
    """A value with every known secret of the run masked (``refactor.render.masking``)."""
    from refactor.render.masking import mask

    return mask(value, masks)


def _fence(text: str) -> str:
    """A backtick fence longer than any backtick run in ``text`` (so the block cannot close early)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def shquote(arg: str) -> str:
    """shlex.quote, except that a word with a control character (a newline in a path) becomes one
    ``$'…'`` word on one line (bash, zsh, ksh, POSIX.1-2024 sh): a pasted command can never run a
    line taken from a file name."""
    if arg.isprintable():
        return shlex.quote(arg)
    out = []
    for c in arg:
        if c == "'" or c == "\\":
            out.append("\\" + c)
        elif c.isprintable():
            out.append(c)
        else:
            out.append("".join(f"\\x{b:02x}" for b in c.encode("utf-8", "surrogateescape")))
    return "$'" + "".join(out) + "'"


def shjoin(argv) -> str:
    return " ".join(shquote(a) for a in argv)


def _view(spec: BuildSpec, require_guard: bool = True) -> dict:
    ctx = spec.context or "."
    df = spec.dockerfile
    default_df = os.path.normpath(os.path.join(ctx, "Dockerfile")) == os.path.normpath(df)
    return {
        "dockerfile": df,
        "context": ctx,
        "default_dockerfile": default_df,
        "secrets": spec.secrets,
        "env_secrets": [s for s in spec.secrets if s.type == "env"],
        "file_secrets": [s for s in spec.secrets if s.type == "file"],
        "ssh": spec.ssh,
        "build_args": spec.build_args,
        "secret_build_args": spec.secret_build_args,
        "env_mounts": spec.env_mounts,
        "guard": require_guard,
        "name": _slug(os.path.basename(os.path.normpath(ctx))) if os.path.normpath(ctx) not in (".", "/") else "app",
        "dockerfile_rel": os.path.relpath(df, ctx) if not os.path.isabs(df) or os.path.isabs(ctx) else df,
    }


def docker_argv(spec: BuildSpec, builder: str = "docker") -> list[str]:
    """The docker/podman build argv (without guard lines)."""
    argv = [builder, "build"]
    ctx = spec.context or "."
    if os.path.normpath(os.path.join(ctx, "Dockerfile")) != os.path.normpath(spec.dockerfile):  # (_view's default_dockerfile)
        argv += ["-f", spec.dockerfile]
    for a in spec.build_args:
        argv += ["--build-arg", a]
    for s in spec.secrets:
        argv += ["--secret", s.cli()]
    for ssh in spec.ssh:
        argv += ["--ssh", ssh]
    argv.append(spec.context or ".")
    return argv


def docker_recipe(spec: BuildSpec) -> str:
    """The ``docker`` target, every report's default: a guard line for each secret read from the
    environment (the build fails before it starts when one is unset), then the command. Two lines of
    shell are written here rather than by a template, so a report needs jinja2 (a third of a cold
    single-file run) only for the targets that are documents."""
    guards = [env_guard(s.env) + "\n" for s in spec.secrets if s.type == "env" and s.env is not None]  # (an env secret has one)
    return "".join(guards) + command(spec) + "\n"


def env_guard(name: str) -> str:
    """The shell line that stops a recipe when the environment variable ``name`` (a secret's
    source) is unset; the docker recipe and the templates (filter ``guard``) write it alike."""
    return f': "${{{name}:?{name} is not set}}"'


def command(spec: BuildSpec) -> str:
    """The one-line docker CLI command (the JSON ``build.command``)."""
    return shjoin(docker_argv(spec))


def render(target: str, spec: BuildSpec) -> str:
    """One target's build command(s). ``flatten`` reads the image config with ``docker image
    inspect`` when the recipe runs: no value from the Dockerfile is part of its text."""
    if target not in TARGETS:
        raise ValueError(f"unknown emit target {target!r}")
    if target == "docker":
        return docker_recipe(spec)
    view = _view(spec)
    view["command"] = command(spec)
    view["podman_command"] = shjoin(docker_argv(spec, "podman"))
    return environment().get_template(f"{target}.j2").render(**view)

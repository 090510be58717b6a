"""``dfix audit TARGET…``: the command line."""

from __future__ import annotations

import sys

import click

TARGET_HELP = """\b
TARGET is one of:
  NAME[:TAG]                  a local image (through the engine: docker image inspect / history / save)
  FILE.tar                    a `docker save` tarball (docker-archive:FILE forces it)
  DIR                         an OCI image layout directory (oci:DIR forces it)
  HOST/REPO[:TAG|@DIGEST]     a registry image (docker://REF forces it)
  HOST/REPO                   every tag of a registry repository (tags/list, paginated)
"""


@click.command(
    "audit",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=TARGET_HELP,
)
@click.argument("targets", nargs=-1, required=True)
@click.option("--layers", is_flag=True, help="Also read every layer file (streamed): credential files, private keys, token formats.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "markdown"]), default="text", show_default=True)
@click.option("-o", "--output-file", type=click.Path(dir_okay=False, writable=True), default=None, help="Write the report to a file.")
@click.option(
    "--repo",
    "repo",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Name the Dockerfile line behind each history entry.",
)
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=8, show_default=True, help="Concurrent images (threads).")
@click.option("--retries", type=click.IntRange(0, 10), default=4, show_default=True, help="Retries on HTTP 429/5xx and connection errors.")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds per registry request.")
@click.option("--insecure-registry", "insecure", multiple=True, help="Registry host reached over plain http (loopback always is).")
@click.option("--max-file-size", type=int, default=1 << 20, show_default=True, help="Bytes read from each layer file.")
@click.option("--progress/--no-progress", default=None, help="Progress on stderr (default: when stderr is a TTY).")
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def audit_cmd(targets, layers, fmt, output_file, repo, jobs, retries, timeout, insecure, max_file_size, progress, quiet):
    """Find which built images already leak which credentials.

    Reads the image config (history build args, ENV, LABEL, ONBUILD) and, with --layers, every layer
    file. Values are never printed: each is shown masked with a 4-hex fingerprint (SHA-256) so the
    same secret can be matched across images. Exit 0: nothing found; 1: credentials found; 2: a
    target could not be audited (the others still are).
    """
    sys.exit(
        run_audit(
            list(targets),
            layers=layers,
            fmt=fmt,
            output_file=output_file,
            repo=repo,
            jobs=jobs,
            retries=retries,
            timeout=timeout,
            insecure=tuple(insecure),
            max_file=max_file_size,
            progress=progress,
            quiet=quiet,
        )
    )


def run_audit(
    targets,
    *,
    layers=False,
    fmt="text",
    output_file=None,
    repo=None,
    jobs=8,
    retries=4,
    timeout=30.0,
    insecure=(),
    max_file=1 << 20,
    progress=None,
    quiet=False,
    client=None,
) -> int:
    from refactor.audit import render
    from refactor.audit.registry import AuditRegistry
    from refactor.audit.runner import Options, Progress, run
    from refactor.supply.registry import DockerConfig, RegistryError

    try:
        config = DockerConfig.load()
    except RegistryError as exc:
        click.echo(f"dfix audit: warning: {exc}; registries are read anonymously", err=True)
        config = DockerConfig({})
    if client is None:
        client = AuditRegistry(config=config, timeout=timeout, insecure=tuple(insecure), retries=retries)
    index = None
    if repo:
        from refactor.audit.repolink import RepoIndex

        index = RepoIndex(repo)
        for e in index.errors:
            click.echo(f"dfix audit: warning: --repo: {e}", err=True)
    opts = Options(layers=layers, jobs=jobs, repo=index, client=client, max_file=max_file)
    show = sys.stderr.isatty() if progress is None else progress
    prog = Progress(bool(show))
    out = None
    if output_file:
        try:
            out = open(output_file, "w", encoding="utf-8")  # noqa: SIM115 - closed below, written while streaming
        except OSError as exc:
            click.echo(f"dfix audit: error: cannot write {output_file}: {exc.strerror}", err=True)
            return 2

    def write(text: str) -> None:
        if out is not None:
            out.write(text)
            out.flush()
        else:
            prog.clear()
            click.echo(text, nl=False)

    # The report is written as results arrive (header, one piece per image, closing); only the
    # tally (counts, per-credential sets) is kept, never the findings.
    try:
        stream = render.Stream(fmt, write)
        for r in run(targets, opts, prog):
            if r.error:
                prog.clear()
                click.echo(f"dfix audit: error: {r.error}", err=True)
            stream.add(r)
        stream.close(finish=not (fmt == "text" and out is None and quiet))  # -q: no text summary on stdout
    except OSError as exc:
        click.echo(f"dfix audit: error: cannot write {output_file or 'stdout'}: {exc.strerror}", err=True)
        return 2
    finally:
        if out is not None:
            out.close()
    t = stream.tally
    if fmt != "text" and not quiet:
        for row in t.summary():
            click.echo(render.summary_line(row), err=True)
    if t.errors:
        return 2
    return 1 if t.leaking else 0


def main(argv=None) -> int:
    try:
        audit_cmd.main(args=argv, prog_name="dfix audit", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    except click.ClickException as exc:
        exc.show()
        return 2
    return 0

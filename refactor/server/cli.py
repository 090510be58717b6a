"""The ``dfix server`` subcommand (registered lazily in ``refactor.cli``)."""

from __future__ import annotations

import os
import sys

import click


@click.command(name="server")
@click.option(
    "--stdio", is_flag=True, default=True, help="Speak LSP on stdin/stdout (the only transport; accepted for editors that pass it)."
)
@click.option("--log-file", type=click.Path(dir_okay=False), default=None, help="Write the server's log here instead of stderr.")
def server_cmd(stdio: bool, log_file: str | None) -> None:
    """Run the dfix Language Server over stdio: diagnostics, fixes, ignore comments, build command."""
    try:
        from refactor.server.app import serve
    except ImportError as exc:
        click.echo(f"dfix server: needs pygls and lsprotocol ({exc.name} is missing): pip install 'pygls>=2.1,<3'", err=True)
        sys.exit(2)
    code = serve(log_file)
    # the client waits little for the process to go (eglot: 0.1 s); interpreter teardown takes
    # 100-160 ms and has nothing left to do: flush and leave
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # (closed by the client)
            pass
    os._exit(code)

"""The ``dfix`` command line's pieces that come before the command: the help epilog, the output
formats, the mode flags' check (``_mode``), the eager ``--list-rules`` / ``--explain`` callbacks, the
rule-selector callback (``_codes``), the group class that lets ``dfix [OPTIONS] [PATHS]`` and
``dfix COMMAND`` share one name (``_Dfix``) and the lazily imported subcommand (``_Lazy``).
"""

from __future__ import annotations

import click

EXIT_HELP = """\b
Exit codes:
  0  nothing left to do (after --write: every finding was fixed)
  1  findings remain, or --check/--diff would change something
  2  usage or config error, or a file that could not be read or parsed
"""

FORMATS = ("text", "json", "sarif", "github", "markdown", "gitlab", "checkstyle", "junit")


def _mode(write: bool, diff: bool, check: bool):
    from refactor.settings import Mode

    chosen = [n for n, v in (("write", write), ("diff", diff), ("check", check)) if v]
    if len(chosen) > 1:
        raise click.UsageError(f"--{chosen[0]} and --{chosen[1]} cannot be combined")
    return Mode(chosen[0]) if chosen else Mode.REPORT


def _list_rules(ctx: click.Context, _param, value):
    if not value or ctx.resilient_parsing:
        return
    from refactor.rules import RULES

    for r in RULES:
        click.echo(f"{r.code}  {r.name:<24} {r.summary}  [fix: {r.fixable}]")
    ctx.exit(0)


def _explain(ctx: click.Context, _param, value):
    if not value or ctx.resilient_parsing:
        return
    from refactor.rules import lookup

    rule = lookup(value)
    if rule is None:
        click.echo(f"dfix: unknown rule '{value}' (see --list-rules)", err=True)
        ctx.exit(2)
    click.echo(f"# {rule.code} {rule.name}\n\n{rule.summary}.\n\n{rule.doc}")
    ctx.exit(0)


def _codes(_ctx, param, value):
    """Comma- or repeat-separated rule selectors; a code no rule has is a usage error."""
    from refactor.rules import check_codes

    try:
        return tuple(check_codes(x for v in value for x in v.split(",")))
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (see dfix --list-rules)", param=param) from None


class _Paths(click.Path):
    """``click.Path`` for PATHS (shell completion offers file names) without its checks: a missing,
    unreadable or odd path is the run's to report, one line each, while the other paths are still
    processed (``click.Path`` refused an unreadable file with a usage error before anything ran,
    and made a stat and an access call per path: 1,640 system calls for 820 files)."""

    def convert(self, value, param, ctx):
        return value


class _Dfix(click.Group):
    """``dfix [OPTIONS] [PATHS]...`` runs the checks; ``dfix verify|summarize …`` the subcommands.

    A first argument naming a subcommand selects it (a directory of that name: ``dfix ./verify``);
    anything else is the main command's options and paths."""

    allow_interspersed_args = True  # `dfix - --stdin-filename x --write`, as before it was a group

    def parse_args(self, ctx, args):
        if args and args[0] in self.commands:
            click.Command.parse_args(self, ctx, [])  # the main options keep their defaults
            ctx._protected_args, ctx.args = args[:1], args[1:]
            return ctx.args
        return click.Command.parse_args(self, ctx, args)

    def collect_usage_pieces(self, ctx):
        return ["[OPTIONS] [PATHS]...", "|", "COMMAND [ARGS]..."]


class _Lazy(click.Command):
    """A subcommand imported when it runs or its help is shown (start-up stays small)."""

    def __init__(self, name: str, target: str, help_line: str) -> None:
        super().__init__(
            name, help=help_line, short_help=help_line, add_help_option=False, context_settings={"ignore_unknown_options": True}
        )
        self.target = target
        self.params = [click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)]

    def _load(self) -> click.Command:
        import importlib

        module, attr = self.target.split(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx):
        cmd = self._load()
        return cmd.main(
            args=list(ctx.params["args"]),
            prog_name=f"dfix {self.name}",
            standalone_mode=False,
            help_option_names=["-h", "--help"],
            max_content_width=100,
        )

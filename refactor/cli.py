"""The ``dfix`` command line.

Data (findings, diffs, build commands, JSON) goes to stdout; progress and warnings to stderr.

Layout: this module holds the click command (``cli``), ``main`` and the subcommand registrations;
``cli_options`` the epilog, formats, option callbacks and click classes; ``cli_render`` the
``--report``/``--output-file`` writes, the progress bar and the rendering of the results.
"""

from __future__ import annotations

import gc
import os
import sys

import click

from refactor import __version__
from refactor.cli_options import EXIT_HELP, FORMATS, _codes, _Dfix, _explain, _Lazy, _list_rules, _mode, _Paths
from refactor.cli_render import DOCUMENT_FORMATS as DOCUMENT_FORMATS
from refactor.cli_render import _common_parent, _document, _parse_reports, _progress, _report, _write_output
from refactor.walk import absolute


@click.group(
    cls=_Dfix,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_HELP,
)
@click.argument("paths", nargs=-1, type=_Paths())
@click.option("--write", "--fix", "write", is_flag=True, help="Rewrite files in place (safe fixes; see --unsafe-fixes). --fix is an alias.")
@click.option("--diff", is_flag=True, help="Print a unified diff of the changes; write nothing.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if anything would change or findings remain.")
@click.option("--unsafe-fixes", is_flag=True, default=None, help="Also apply fixes that may change build results.")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Output format (gitlab: Code Quality JSON)."
)
@click.option("-o", "--output-file", type=click.Path(dir_okay=False), default=None, help="Write the output to this file instead of stdout.")
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT=PATH",
    help="Also write the report in FORMAT (json, sarif, github, markdown, gitlab, checkstyle, junit) to PATH, from the same run (repeatable).",
)
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule instead of the findings (text or json).")
@click.option(
    "--select", multiple=True, callback=_codes, help="Rule codes or prefixes to check (comma-separated or repeated; default ALL)."
)
@click.option("--extend-select", multiple=True, callback=_codes, help="Rule codes or prefixes to check in addition to --select.")
@click.option("--ignore", multiple=True, callback=_codes, help="Rule codes or prefixes not to check (added to config 'ignore').")
@click.option(
    "--failure-threshold",
    type=click.Choice(["error", "warning", "info", "none"]),
    default=None,
    help="Exit 1 for remaining findings only at or above this severity (default info: all; none: never).",
)
@click.option(
    "--callers",
    "callers_mode",
    type=click.Choice(["all", "given"]),
    default=None,
    help="all (default): callers passing --build-arg are found in the repository and migrated with their Dockerfile;"
    " given: only callers named in PATHS are changed (pre-commit), the others block their Dockerfile's fix.",
)
@click.option(
    "--emit",
    multiple=True,
    type=click.Choice(["docker", "bake", "compose", "github", "gitlab", "podman", "flatten"]),
    help="Build command target(s) to print (repeatable; default docker; flatten = export/import).",
)
@click.option(
    "--strategy",
    type=click.Choice(["auto", "mount", "multistage"]),
    default=None,
    help="mount (auto, default): secret mounts; multistage: move secret-consuming steps into a builder stage (weaker; see --explain DF001).",
)
@click.option(
    "--pin-digests", is_flag=True, default=None, help="Pin base images to the digest their tag resolves to (registry HTTP API v2)."
)
@click.option(
    "--sign",
    type=click.Choice(["notation", "cosign"]),
    default=None,
    help="Also emit push + signing of the pushed digest and the consumer-side verify snippet (needs --image).",
)
@click.option("--image", default=None, help="Image name for --sign (registry/repository:tag).")
@click.option(
    "--sign-key",
    default=None,
    metavar="REF",
    help="Key for --sign: cosign key reference (cosign.key, env://VAR, awskms://…; default keyless) or notation key name.",
)
@click.option(
    "--mount-style",
    type=click.Choice(["auto", "env", "file"]),
    default=None,
    help="Secret mount form: env= (default) or /run/secrets file; auto picks file for old '# syntax=' pins and podman.",
)
@click.option("--require-secrets", is_flag=True, default=None, help="Add required=true to new secret mounts.")
@click.option("--stdin-filename", type=str, default=None, help="Name to use for '-' (stdin).")
@click.option("--exclude", multiple=True, help="Glob to exclude during discovery (replaces config 'exclude').")
@click.option("--extend-exclude", multiple=True, help="Glob to exclude in addition to 'exclude'.")
@click.option("--no-respect-gitignore", is_flag=True, help="Do not skip files ignored by .gitignore.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, help="Config file ([tool.dfix] or .dfix.toml).")
@click.option("--secret-name", multiple=True, help="Glob of variable names always treated as secrets.")
@click.option("--allow-name", multiple=True, help="Glob of variable names never treated as secrets.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain or files would change (errors still exit 2).")
@click.option(
    "--add-ignore", is_flag=True, help="Write '# dfix: ignore[CODE]' above every instruction with remaining findings (a baseline)."
)
@click.option("--max-file-size", type=int, default=None, help="Skip files larger than this many bytes (default 10 MB).")
@click.option("-j", "--jobs", type=int, default=0, help="Worker processes (default: CPU count for large runs).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache (also DFIX_NO_CACHE=1).")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Result cache directory (default: $DFIX_CACHE_DIR, else $XDG_CACHE_HOME/dfix or ~/.cache/dfix).",
)
@click.option("-q", "--quiet", is_flag=True, help="Only print data; no summary on stderr.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for internal errors.")
@click.option(
    "--color/--no-color", default=None, help="Colour text output and diffs (default: on a TTY; honours NO_COLOR, FORCE_COLOR, TERM=dumb)."
)
@click.option("--list-rules", is_flag=True, expose_value=False, is_eager=True, callback=_list_rules, help="List rules and exit.")
@click.option(
    "--explain", metavar="CODE", expose_value=False, is_eager=True, callback=_explain, help="Print a rule's documentation and exit."
)
@click.version_option(__version__, prog_name="dfix")
@click.pass_context
def cli(
    ctx,
    paths,
    write,
    diff,
    check,
    unsafe_fixes,
    fmt,
    output_file,
    reports,
    statistics,
    select,
    extend_select,
    ignore,
    failure_threshold,
    callers_mode,
    emit,
    strategy,
    pin_digests,
    sign,
    image,
    sign_key,
    mount_style,
    require_secrets,
    stdin_filename,
    exclude,
    extend_exclude,
    no_respect_gitignore,
    config_path,
    secret_name,
    allow_name,
    exit_zero,
    add_ignore,
    max_file_size,
    jobs,
    no_cache,
    cache_dir,
    quiet,
    verbose,
    color,
):
    """Find secrets passed to Docker builds as build args, and move them to BuildKit secret mounts.

    PATHS are Dockerfiles or directories (searched recursively); '-' reads stdin. Without a mode
    flag dfix reports findings and writes nothing.
    """
    if ctx.invoked_subcommand:
        return None
    if statistics and fmt not in ("text", "json"):
        raise click.UsageError("--statistics prints text or json")
    extra_reports = _parse_reports(reports)
    from refactor import config as config_mod
    from refactor.analysis.policy import Policy
    from refactor.rules import Selection, check_codes
    from refactor.settings import Settings

    mode = _mode(write, diff, check)
    if add_ignore and mode != "report":
        raise click.UsageError("--add-ignore cannot be combined with --write/--diff/--check")
    paths = list(paths) or ["."]
    try:
        if config_path:
            cfg = config_mod.load_file(config_path)
        else:
            start = _common_parent([p for p in paths if p != "-"] or ["."])
            cfg = config_mod.find_config(start)
    except config_mod.ConfigError as exc:
        click.echo(f"dfix: config error: {exc}", err=True)
        sys.exit(2)
    v = cfg.values
    from refactor.cache_location import resolve_dir

    cache_root = resolve_dir(cache_dir, no_cache)

    def make_settings(values: dict) -> Settings:
        """CLI flags win; config keys (mirroring the flags) fill in the rest."""
        st = Settings(
            mode=mode,
            unsafe_fixes=bool(unsafe_fixes if unsafe_fixes is not None else values.get("unsafe-fixes", False)),
            mount_style=mount_style or values.get("mount-style", "auto"),
            require_secrets=bool(require_secrets if require_secrets is not None else values.get("require-secrets", False)),
            emit=tuple(emit) or tuple(values.get("emit", ())) or ("docker",),
            policy=Policy(
                tuple(secret_name) + tuple(values.get("secret-names", ())), tuple(allow_name) + tuple(values.get("allow-names", ()))
            ),
            max_bytes=max_file_size or values.get("max-file-size", 10 * 1024 * 1024),
            selection=Selection(
                select=tuple(select) or tuple(check_codes(values.get("select", ()))) or ("ALL",),
                ignore=tuple(check_codes(values.get("ignore", ()))) + tuple(ignore),
                extend_select=tuple(check_codes(values.get("extend-select", ()))) + tuple(extend_select),
            ),
            per_file_ignores={k: check_codes(v) for k, v in values.get("per-file-ignores", {}).items()},
            strategy=strategy or values.get("strategy", "auto"),
            render_always=bool({fmt, *extra_reports.values()} & {"json", "markdown"}),
            keep_text=mode in ("write", "diff", "check") or bool({fmt, *extra_reports.values()} & {"sarif", "markdown"}),
            pin_digests=bool(pin_digests if pin_digests is not None else values.get("pin-digests", False)),
            sign=sign or values.get("sign"),
            image=image or values.get("image"),
            sign_key=sign_key or values.get("sign-key"),
            callers=callers_mode or values.get("callers", "all"),
            failure_threshold=failure_threshold or values.get("failure-threshold", "info"),
            debug=verbose,
            cache_dir=cache_root,
        )
        if st.sign and not st.image:
            raise config_mod.ConfigError("--sign needs --image NAME (the image that is pushed and signed)")
        if st.sign and st.sign not in ("notation", "cosign"):
            raise config_mod.ConfigError("sign must be notation or cosign")
        if st.mount_style not in ("auto", "env", "file"):
            raise config_mod.ConfigError("mount-style must be auto, env or file")
        if st.strategy not in ("auto", "mount", "multistage"):
            raise config_mod.ConfigError("strategy must be auto, mount or multistage")
        if st.callers not in ("all", "given"):
            raise config_mod.ConfigError("callers must be all or given")
        if st.failure_threshold not in ("error", "warning", "info", "none"):
            raise config_mod.ConfigError("failure-threshold must be error, warning, info or none")
        bad = [e for e in st.emit if e not in ("docker", "bake", "compose", "github", "gitlab", "podman", "flatten")]
        if bad:
            raise config_mod.ConfigError(f"unknown emit target '{bad[0]}'")
        return st

    cache: dict[str | None, Settings] = {}
    dir_config = config_mod.RecentDirs()

    def settings_for(path: str) -> Settings:
        """The nearest config walking up from the file (stopping at the repository root) applies;
        --config overrides them all."""
        if config_path:
            c = cfg
        else:
            c = config_mod.find_config(os.path.dirname(absolute(path)), dir_config)  # (within the run)
        if c.path not in cache:
            cache[c.path] = make_settings(c.values)
        return cache[c.path]

    try:
        settings = make_settings(v)
    except (config_mod.ConfigError, ValueError) as exc:
        click.echo(f"dfix: config error: {exc}", err=True)
        sys.exit(2)

    excludes = tuple(exclude) or tuple(v.get("exclude", ()))
    excludes += tuple(extend_exclude) + tuple(v.get("extend-exclude", ()))
    respect = not no_respect_gitignore and v.get("respect-gitignore", True)

    from refactor.run import Stdin, run

    stdin = None
    if "-" in paths:
        stdin = Stdin(stdin_filename or "-", sys.stdin.buffer.read(), os.path.dirname(stdin_filename) if stdin_filename else None)
    try:
        outcome = run(
            paths,
            settings,
            settings_for=settings_for,
            excludes=excludes,
            respect_gitignore=respect,
            jobs=jobs,
            add_ignore=add_ignore,
            stdin=stdin,
            progress=lambda it, n: _progress(it, n, quiet),
            debug=verbose,
        )
    except (config_mod.ConfigError, ValueError) as exc:
        click.echo(f"dfix: config error: {exc}", err=True)
        sys.exit(2)
    for line in outcome.notices:
        click.echo(f"dfix: {line}", err=True)
    results, stdin_result = outcome.files, outcome.stdin
    from refactor.render.masking import share

    results = share(results)  # every output masks every secret value the run knows, whichever file it was found in
    if stdin_result is not None and isinstance(results, list):
        stdin_result = results[-1]  # (share made new results; the run appends stdin's last)
    for path, rfmt in extra_reports.items():
        if not _write_output(path, _document(results, rfmt)):
            sys.exit(2)
    sys.exit(
        _report(results, settings, fmt, quiet, color, stdin_result, output_file=output_file, statistics=statistics, exit_zero=exit_zero)
    )


# A run allocates millions of small objects and frees almost all of them by reference count; the
# collector's default young-generation threshold (700) walked them ~20% of the CPU time of a 1 MB
# file. A larger threshold keeps cycle collection, less often; main() restores the caller's.
_GC_THRESHOLD = (50_000, 20, 20)


def main(argv: list[str] | None = None) -> int:
    before = gc.get_threshold()
    gc.set_threshold(*_GC_THRESHOLD)
    try:
        return _main(argv)
    finally:
        gc.set_threshold(*before)


def _main(argv: list[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = cli.main(args=args, prog_name="dfix", standalone_mode=False)
        if isinstance(rv, int):
            return rv
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except BrokenPipeError:
        return 1
    return 0


cli.add_command(
    _Lazy("verify", "refactor.verify:verify", "Build a Dockerfile as dfix would and prove no secret reaches the image (runs the build).")
)
cli.add_command(
    _Lazy("summarize", "refactor.summarize:summarize_cmd", "Merge dfix JSON reports of many repositories into one campaign table.")
)
cli.add_command(
    _Lazy("audit", "refactor.audit.cli:audit_cmd", "Find which built images (local, tarball, OCI, registry) already leak credentials.")
)
cli.add_command(
    _Lazy(
        "server",
        "refactor.server.cli:server_cmd",
        "Run the dfix Language Server over stdio (diagnostics, fixes, build command in the editor).",
    )
)

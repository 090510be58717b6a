"""The ``dfix`` command line.

Data (findings, diffs, build commands, JSON) goes to stdout; progress and warnings to stderr.
"""

from __future__ import annotations

import os
import sys

import click

from refactor import __version__

EXIT_HELP = """\b
Exit codes:
  0  nothing left to do (after --write: every finding was fixed)
  1  findings remain, or --check/--diff would change something
  2  usage or config error, or a file that could not be read or parsed
"""

FORMATS = ("text", "json", "sarif", "github", "markdown", "gitlab", "checkstyle", "junit")


def _mode(write: bool, diff: bool, check: bool) -> str:
    chosen = [n for n, v in (("write", write), ("diff", diff), ("check", check)) if v]
    if len(chosen) > 1:
        raise click.UsageError(f"--{chosen[0]} and --{chosen[1]} cannot be combined")
    return chosen[0] if chosen else "report"


def _list_rules(ctx, _param, value):
    if not value or ctx.resilient_parsing:
        return
    from refactor.rules import RULES

    for r in RULES:
        click.echo(f"{r.code}  {r.name:<24} {r.summary}  [fix: {r.fixable}]")
    ctx.exit(0)


def _explain(ctx, _param, value):
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


@click.group(
    cls=_Dfix,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_HELP,
)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--write", "--fix", "write", is_flag=True, help="Rewrite files in place (safe fixes; see --unsafe-fixes). --fix is an alias.")
@click.option("--diff", is_flag=True, help="Print a unified diff of the changes; write nothing.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if anything would change or findings remain.")
@click.option("--unsafe-fixes", is_flag=True, default=None, help="Also apply fixes that may change build results.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Output format (gitlab: Code Quality JSON).")
@click.option("-o", "--output-file", type=click.Path(dir_okay=False), default=None, help="Write the output to this file instead of stdout.")
@click.option("--report", "reports", multiple=True, metavar="FORMAT=PATH",
              help="Also write the report in FORMAT (json, sarif, github, markdown, gitlab, checkstyle, junit) to PATH, from the same run (repeatable).")
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule instead of the findings (text or json).")
@click.option("--select", multiple=True, callback=_codes, help="Rule codes or prefixes to check (comma-separated or repeated; default ALL).")
@click.option("--extend-select", multiple=True, callback=_codes, help="Rule codes or prefixes to check in addition to --select.")
@click.option("--ignore", multiple=True, callback=_codes, help="Rule codes or prefixes not to check (added to config 'ignore').")
@click.option("--failure-threshold", type=click.Choice(["error", "warning", "info", "none"]), default=None,
              help="Exit 1 for remaining findings only at or above this severity (default info: all; none: never).")
@click.option("--callers", "callers_mode", type=click.Choice(["all", "given"]), default=None,
              help="all (default): callers passing --build-arg are found in the repository and migrated with their Dockerfile;"
                   " given: only callers named in PATHS are changed (pre-commit), the others block their Dockerfile's fix.")
@click.option("--emit", multiple=True, type=click.Choice(["docker", "bake", "compose", "github", "gitlab", "podman", "flatten"]), help="Build command target(s) to print (repeatable; default docker; flatten = export/import).")
@click.option("--strategy", type=click.Choice(["auto", "mount", "multistage"]), default=None, help="mount (auto, default): secret mounts; multistage: move secret-consuming steps into a builder stage (weaker; see --explain DF001).")
@click.option("--pin-digests", is_flag=True, default=None, help="Pin base images to the digest their tag resolves to (registry HTTP API v2).")
@click.option("--sign", type=click.Choice(["notation", "cosign"]), default=None, help="Also emit push + signing of the pushed digest and the consumer-side verify snippet (needs --image).")
@click.option("--image", default=None, help="Image name for --sign (registry/repository:tag).")
@click.option("--sign-key", default=None, metavar="REF",
              help="Key for --sign: cosign key reference (cosign.key, env://VAR, awskms://…; default keyless) or notation key name.")
@click.option("--mount-style", type=click.Choice(["auto", "env", "file"]), default=None, help="Secret mount form: env= (default) or /run/secrets file; auto picks file for old '# syntax=' pins and podman.")
@click.option("--require-secrets", is_flag=True, default=None, help="Add required=true to new secret mounts.")
@click.option("--stdin-filename", type=str, default=None, help="Name to use for '-' (stdin).")
@click.option("--exclude", multiple=True, help="Glob to exclude during discovery (replaces config 'exclude').")
@click.option("--extend-exclude", multiple=True, help="Glob to exclude in addition to 'exclude'.")
@click.option("--no-respect-gitignore", is_flag=True, help="Do not skip files ignored by .gitignore.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, help="Config file ([tool.dfix] or .dfix.toml).")
@click.option("--secret-name", multiple=True, help="Glob of variable names always treated as secrets.")
@click.option("--allow-name", multiple=True, help="Glob of variable names never treated as secrets.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain or files would change (errors still exit 2).")
@click.option("--add-ignore", is_flag=True, help="Write '# dfix: ignore[CODE]' above every instruction with remaining findings (a baseline).")
@click.option("--max-file-size", type=int, default=None, help="Skip files larger than this many bytes (default 10 MB).")
@click.option("-j", "--jobs", type=int, default=0, help="Worker processes (default: CPU count for large runs).")
@click.option("-q", "--quiet", is_flag=True, help="Only print data; no summary on stderr.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for internal errors.")
@click.option("--color/--no-color", default=None, help="Colour text output and diffs (default: on a TTY; honours NO_COLOR, FORCE_COLOR, TERM=dumb).")
@click.option("--list-rules", is_flag=True, expose_value=False, is_eager=True, callback=_list_rules, help="List rules and exit.")
@click.option("--explain", metavar="CODE", expose_value=False, is_eager=True, callback=_explain, help="Print a rule's documentation and exit.")
@click.version_option(__version__, prog_name="dfix")
@click.pass_context
def cli(ctx, paths, write, diff, check, unsafe_fixes, fmt, output_file, reports, statistics, select, extend_select, ignore, failure_threshold,
        callers_mode, emit, strategy, pin_digests, sign, image, sign_key, mount_style, require_secrets, stdin_filename, exclude,
        extend_exclude, no_respect_gitignore, config_path, secret_name, allow_name, exit_zero, add_ignore, max_file_size, jobs, quiet, verbose, color):
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
    from refactor.analysis.secrets import Policy
    from refactor.discovery import discover
    from refactor.engine import Settings
    from refactor.rules import Selection, check_codes

    mode = _mode(write, diff, check)
    if exit_zero:
        _EXIT_ZERO[0] = True
    if add_ignore and mode != "report":
        raise click.UsageError("--add-ignore cannot be combined with --write/--diff/--check")
    if verbose:
        os.environ["DFIX_DEBUG"] = "1"
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
    dir_config: dict[str, config_mod.Config] = {}

    def settings_for(path: str) -> Settings:
        """The nearest config walking up from the file (stopping at the repository root) applies;
        --config overrides them all."""
        if config_path:
            c = cfg
        else:
            d = os.path.dirname(os.path.abspath(path))
            if d not in dir_config:
                dir_config[d] = config_mod.find_config(d)
            c = dir_config[d]
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

    from refactor.engine import FileResult, process_source
    from refactor.source import InputError, SourceFile

    results: list[FileResult] = []
    stdin_result = None
    if "-" in paths:
        display = stdin_filename or "-"
        data = sys.stdin.buffer.read()
        try:
            src = SourceFile.from_bytes(display, data)
            stdin_result = process_source(src, display, settings, os.path.dirname(stdin_filename) if stdin_filename else None)
        except InputError as exc:
            stdin_result = FileResult(display, status="error", error=str(exc))
        except Exception as exc:  # noqa: BLE001
            from refactor.syntax.dockerfile import ParseError

            from refactor.syntax.pragmas import PragmaError

            msg = (f"parse error: {exc.shown()}" if isinstance(exc, ParseError) else f"bad dfix comment: {exc}"
                   if isinstance(exc, PragmaError) else f"internal error: {type(exc).__name__}")
            if verbose and not isinstance(exc, (ParseError, PragmaError)):
                raise
            stdin_result = FileResult(display, status="error", error=msg)
    candidates = discover([p for p in paths if p != "-"], excludes, respect)
    try:
        per_file = [settings_for(c.path) for c in candidates]
    except (config_mod.ConfigError, ValueError) as exc:
        click.echo(f"dfix: config error: {exc}", err=True)
        sys.exit(2)
    if mode in ("write", "diff", "check", "report") and candidates:
        for st in per_file:
            st.defer_write = True
    dirs = [p for p in paths if p != "-" and os.path.isdir(p)]
    splits = _split_findings(dirs, settings)
    results = list(_run(candidates, per_file, jobs, verbose, quiet))
    # callers change with the Dockerfile: searched when something may be written or gated, and in
    # report mode when a secret is migrated (the report then names the callers and says whether
    # --write can fix them, as --write would)
    if candidates and (mode in ("write", "diff", "check") or any(r.migrated for r in results)):
        from refactor.engine import write_planned
        from refactor.link import link_callers

        given = {os.path.realpath(p) for p in paths if p != "-" and os.path.isfile(p)} if settings.callers == "given" else None
        callers = link_callers(list(paths), candidates, results, per_file, excludes, settings=settings, given=given)
        if mode == "write":
            from refactor.callers import repo_root

            planned = results + callers
            top = repo_root(list(paths))
            write_planned(planned, {id(r): _write_root(r.fs_path, paths, top if r.kind == "caller" else None) for r in planned})
        results.extend(callers)
        results.sort(key=lambda r: r.path)
    results = list(_with_splits(results, [c.path for c in candidates], splits))
    if splits:
        from refactor.link import suppress_caller_findings

        suppress_caller_findings([r for r in results if r.kind == "caller"], settings)
    if add_ignore:
        from refactor.engine import WriteRefused, add_ignores

        from refactor.link import add_caller_ignores

        by_path = {r.fs_path: r for r in results if r.kind != "caller" and r.fs_path}
        todo = [(c.path, by_path.get(c.path), add_ignores) for c in candidates]
        todo += [(r.fs_path, r, add_caller_ignores) for r in results if r.kind == "caller" and r.fs_path]
        for path, r, add in todo:
            if r is not None and r.status == "ok" and r.findings:
                try:
                    n = add(path, r.findings, _write_root(path, paths, top_root(paths) if r.kind == "caller" else None))
                except WriteRefused as exc:
                    r.status, r.error = "error", f"not written: {exc.strerror}"
                    continue
                except OSError as exc:
                    r.status, r.error = "error", f"cannot write: {exc.strerror}"
                    continue
                if n:
                    click.echo(f"dfix: added {n} ignore comment(s) to {r.path}", err=True)
                    r.findings = []
    if stdin_result is not None:
        results.append(stdin_result)
    for path, rfmt in extra_reports.items():
        if not _write_output(path, _document(results, rfmt)):
            sys.exit(2)
    sys.exit(_report(results, settings, fmt, quiet, color, stdin_result, output_file=output_file, statistics=statistics))


REPORT_FORMATS = ("json", "sarif", "github", "markdown", "gitlab", "checkstyle", "junit")


def _parse_reports(values) -> dict[str, str]:
    """``--report FORMAT=PATH`` values → {path: format}."""
    out: dict[str, str] = {}
    for v in values:
        fmt, sep, path = v.partition("=")
        if not sep or not path or fmt not in REPORT_FORMATS:
            raise click.UsageError(f"--report takes FORMAT=PATH with FORMAT one of {', '.join(REPORT_FORMATS)} (got {printable(v)!r})")
        out[path] = fmt
    return out


def _document(results, fmt: str) -> str:
    from refactor.render import output

    if fmt == "json":
        return output.to_json(results)
    if fmt == "github":
        return output.to_github(results)
    return output.DOCUMENTS[fmt](results)


def _write_output(path: str, text: str) -> bool:
    """Write ``text`` to ``path`` atomically (parent directories created); False after saying why."""
    import tempfile

    target = os.path.abspath(path)
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".dfix-out-", dir=os.path.dirname(target))
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except OSError as exc:
        click.echo(f"dfix: error: cannot write {printable(path)}: {exc.strerror}", err=True)
        return False
    return True


def top_root(paths) -> str | None:
    from refactor.callers import repo_root

    return repo_root(list(paths))


def _split_findings(dirs: list[str], settings) -> dict[str, list]:
    """DF010 findings by absolute file path: a secret that feeds builds and also publishes,
    reported on the file where the read happens. Independent of per-file results."""
    out: dict[str, list] = {}
    if not dirs or not settings.selection.enabled("DF010"):
        return out
    from refactor.engine import FindingOut
    from refactor.rules import BY_CODE
    from refactor.supply.split import find_credential_splits

    rule = BY_CODE["DF010"]
    seen = set()
    for d in dirs:
        try:
            splits = find_credential_splits(d)
        except Exception:  # noqa: BLE001 - a repository-level advisory must never fail the run
            continue
        for sp in splits:
            site = sp.read_site
            full = os.path.abspath(site.path if os.path.isabs(site.path) else os.path.join(d, site.path))
            key = (full, site.line, sp.variable)
            if key in seen:
                continue
            seen.add(key)
            out.setdefault(full, []).append(
                FindingOut("DF010", rule.name, sp.variable, rule.secret, rule.severity, sp.message, site.line, 1, site.line, 1, None)
            )
    return out


def _write_root(fs_path: str | None, given: list[str], fallback: str | None = None) -> str | None:
    """The scanned directory a file was found under, which a write through a symlink must not
    leave; None for a file named on the command line (its link is written through, as asked).
    Callers are searched from the repository root: ``fallback``."""
    if not fs_path:
        return None
    a = os.path.abspath(fs_path)
    if any(os.path.abspath(g) == a for g in given if g != "-"):
        return None
    for g in given:
        if g != "-" and os.path.isdir(g) and a.startswith(os.path.abspath(g).rstrip(os.sep) + os.sep):
            return g
    return fallback


def _with_splits(results, candidates_paths, splits: dict[str, list]):
    """Attach DF010 findings to streamed results; files not processed become caller entries,
    merged into the path order."""
    import heapq

    from refactor.engine import FileResult

    extra = []
    done = {os.path.abspath(p) for p in candidates_paths}
    for full, fs in splits.items():
        if full not in done:
            r = FileResult(os.path.relpath(full), kind="caller")
            r.findings.extend(fs)
            extra.append(r)
    extra.sort(key=lambda r: r.path)

    def attach():
        for r in results:
            fs = splits.get(os.path.abspath(r.fs_path or r.path))
            if fs and r.kind == "dockerfile":
                r.findings.extend(fs)
                r.findings.sort(key=lambda f: (f.line, f.column, f.code))
            yield r

    return heapq.merge(attach(), extra, key=lambda r: r.path)


def _common_parent(paths: list[str]) -> str:
    absd = [os.path.abspath(p if os.path.isdir(p) else os.path.dirname(p) or ".") for p in paths]
    try:
        return os.path.commonpath(absd)
    except ValueError:
        return os.getcwd()


def _progress(results, total: int, quiet: bool):
    """click's progress bar on stderr when it is a TTY and the run is long (> 200 files)."""
    if quiet or total <= 200 or not sys.stderr.isatty():
        yield from results
        return
    with click.progressbar(results, length=total, label="dfix", file=sys.stderr, show_pos=True, show_eta=False) as bar:
        yield from bar


def _run(candidates, per_file, jobs: int, verbose: bool, quiet: bool = True):
    """Process files; results come back in input order whatever order workers finish in."""
    yield from _progress(_run_files(candidates, per_file, jobs), len(candidates), quiet)


def _run_files(candidates, per_file, jobs: int):
    from refactor.engine import process_file

    n = len(candidates)
    if jobs <= 0:
        jobs = (os.cpu_count() or 1) if n >= 64 else 1
    if jobs == 1 or n <= 1:
        for c, st in zip(candidates, per_file):
            yield process_file(c.path, c.display, st)
        return
    from concurrent.futures import ProcessPoolExecutor

    # warm the analysis stack once: forked workers inherit it instead of importing it each
    import refactor.analyze  # noqa: F401
    from refactor.analysis.shell import _parser

    _parser()
    with ProcessPoolExecutor(max_workers=jobs, initializer=_die_with_parent) as pool:
        chunk = max(1, min(64, n // (jobs * 4) or 1))
        yield from pool.map(process_file, [c.path for c in candidates], [c.display for c in candidates], per_file, chunksize=chunk)


_EXIT_ZERO = [False]  # set by --exit-zero for this invocation


def _die_with_parent() -> None:
    """Pool workers exit when the parent dies (SIGKILL, OOM) instead of blocking forever."""
    import signal

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:
        os._exit(1)  # the parent is already gone


_SEVERITY = {"info": 0, "style": 0, "warning": 1, "error": 2, "none": 3}  # --failure-threshold none: never


class Tally:
    """What the summary line and the exit code need, accumulated file by file."""

    def __init__(self) -> None:
        self.files = self.findings = self.files_with = self.errors = self.changed = 0
        self.remaining = self.fixable_safe = self.fixable_unsafe = 0
        self.migrated: set[str] = set()
        self.by_rule: dict[str, int] = {}

    def add(self, r, settings) -> None:
        self.files += 1
        threshold = _SEVERITY.get(settings.failure_threshold, 0)
        for f in r.findings:
            self.by_rule[f.code] = self.by_rule.get(f.code, 0) + 1
        self.findings += len(r.findings)
        self.files_with += bool(r.findings)
        self.errors += r.status == "error"
        done = settings.mode != "write" or r.status == "ok"  # a refused or failed write changed nothing
        self.changed += bool(r.changed) and done
        if done:
            self.migrated.update(r.migrated)
        for f in r.findings:
            if not (f.fix is not None and f.fix.applied and settings.mode == "write"):
                self.remaining += _SEVERITY.get(f.severity, 0) >= threshold
            if f.fix and not f.fix.applied:
                self.fixable_safe += f.fix.applicability == "safe"
                self.fixable_unsafe += f.fix.applicability == "unsafe"

    def exit_code(self, settings) -> int:
        if self.errors:
            return 2
        if _EXIT_ZERO[0]:
            return 0
        if settings.mode == "write":
            return 1 if self.remaining else 0
        if settings.mode == "diff":
            return 1 if self.changed else 0  # the patch is the answer: 1 when there is one
        if settings.mode == "check":
            return 1 if self.changed or self.remaining else 0
        return 1 if self.remaining else 0

    def summary(self, settings) -> str:
        parts = [f"{self.files} file(s) scanned, {self.findings} finding(s) in {self.files_with} file(s)"]
        if self.by_rule:
            parts[0] += " (" + ", ".join(f"{c} {n}" for c, n in sorted(self.by_rule.items())) + ")"
        if settings.mode == "write":
            parts.append(f"{self.changed} file(s) rewritten")
            if self.migrated:
                parts.append(f"{len(self.migrated)} secret(s) migrated")
                parts.append("rotate every migrated secret that was already used in pushed images")
        elif settings.mode in ("diff", "check"):
            parts.append(f"{self.changed} file(s) would change")
        if settings.mode != "write" and self.fixable_safe:
            parts.append(f"{self.fixable_safe} fixable with `--write`")
        if self.fixable_unsafe:
            parts.append(f"{self.fixable_unsafe} more with `--unsafe-fixes`")
        if self.errors:
            parts.append(f"{self.errors} error(s)")
        return "dfix: " + "; ".join(parts) + "."


def use_color(flag: bool | None, stream) -> bool:
    """--color/--no-color win; then NO_COLOR (any value: off), FORCE_COLOR (on unless 0/false),
    TERM=dumb (off); else colour when ``stream`` is a TTY."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    force = os.environ.get("FORCE_COLOR")
    if force is not None and force.lower() not in ("0", "false", "no"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _report(results, settings, fmt: str, quiet: bool, color, stdin_result, output_file: str | None = None, statistics: bool = False) -> int:
    """Render ``results`` (a list, or an ordered iterator for streaming formats) to stdout or
    ``output_file`` (written atomically when the run ends)."""
    if output_file is None:
        return _render(results, settings, fmt, quiet, color, stdin_result, statistics)
    import io

    buf = io.StringIO()
    saved = sys.stdout
    sys.stdout = buf
    try:
        code = _render(results, settings, fmt, quiet, False if color is None else color, stdin_result, statistics)
    finally:
        sys.stdout = saved
    return code if _write_output(output_file, buf.getvalue()) else 2


def _statistics(tally: "Tally", results, fmt: str) -> None:
    from refactor.rules import BY_CODE

    fixable: dict[str, int] = {}
    for r in results:
        for f in r.findings:
            if f.fix is not None and f.fix.applicability == "safe" and not f.fix.applied:
                fixable[f.code] = fixable.get(f.code, 0) + 1
    rows = sorted(tally.by_rule.items(), key=lambda kv: (-kv[1], kv[0]))
    if fmt == "json":
        import json

        doc = [{"code": c, "name": BY_CODE[c].name if c in BY_CODE else c, "count": n, "fixable": fixable.get(c, 0)} for c, n in rows]
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    width = max((len(str(n)) for _c, n in rows), default=1)
    for c, n in rows:
        mark = "[*]" if fixable.get(c) else "   "
        sys.stdout.write(f"{n:>{width}}\t{c}\t{mark} {BY_CODE[c].name if c in BY_CODE else ''}\n")


def _render(results, settings, fmt: str, quiet: bool, color, stdin_result, statistics: bool) -> int:
    from refactor.render import output

    out = sys.stdout
    tally = Tally()
    if statistics:
        results = list(results)
        for r in results:
            tally.add(r, settings)
            _error_line(r)
        _statistics(tally, results, fmt)
    elif fmt in output.DOCUMENTS:
        results = list(results)
        out.write(output.DOCUMENTS[fmt](results))
        for r in results:
            tally.add(r, settings)
            _error_line(r)
    elif fmt == "json":
        js = output.JsonStream(out)
        for r in results:
            js.add(r)
            tally.add(r, settings)
            _error_line(r)
        js.close()
    elif fmt == "github":
        for r in results:
            out.write(output.to_github([r]))
            tally.add(r, settings)
            _error_line(r)
    else:
        color = use_color(color, out)
        masked_any = False
        for r in results:
            masked_any |= _text_file(r, settings, color, stdin_result)
            tally.add(r, settings)
            _error_line(r)
        if masked_any:
            click.echo("# Lines holding a committed secret are masked: this diff is for reading; apply it with `dfix --write`.", err=True)
    if not quiet:
        click.echo(tally.summary(settings), err=True)
    return tally.exit_code(settings)


def printable(path: str) -> str:
    """A file name as it may be shown on a line of its own: control characters (a newline in a
    name would start a new, pasteable line) are escaped, like ``ls -b`` does."""
    if path.isprintable():
        return path
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in path)


def _error_line(r) -> None:
    if r.status == "error":
        click.echo(f"dfix: error: {printable(r.path)}: {r.error}", err=True)


def _text_file(r, settings, color: bool, stdin_result) -> bool:
    """One file's text output: its findings (or diff), then the command that builds it."""
    from refactor.render import output

    def style(s, **kw):
        return click.style(s, **kw) if color else s

    def echo(msg="", **kw):
        click.echo(msg, color=color, **kw)

    masked = False
    if r is stdin_result and settings.mode == "write" and r.status == "ok":
        sys.stdout.write(("\ufeff" if r.bom else "") + (r.new_text or ""))
        return False  # stdout carries the fixed Dockerfile only
    if settings.mode == "diff":
        d, masked = output.unified_diff(r)
        sys.stdout.write(_color_diff(d) if color else d)
        _not_applied(r, lambda m: echo(m, err=True))
    elif settings.mode == "check":
        if r.changed:
            echo(f"would rewrite {printable(r.path)}")
        for f in r.findings:
            echo(f"{printable(r.path)}:{f.line}:{f.column}: {f.code} {f.message}")
        _not_applied(r, echo)
        return False
    else:
        for f in r.findings:
            mark = ""
            if f.fix is not None and (f.fix.applied or (settings.mode != "write" and f.fix.applicability != "display-only")):
                mark = style("[*] ", fg="green") if f.fix.applicability == "safe" or f.fix.applied else style("[unsafe] ", fg="yellow")
            status = " (fixed)" if f.fix is not None and f.fix.applied and settings.mode == "write" else ""
            echo(f"{style(printable(r.path), bold=True)}:{f.line}:{f.column}: {style(f.code, fg='red' if f.secret else 'yellow')} {mark}{f.message}{status}")
            if f.fix is not None:
                echo(f"    fix ({f.fix.applicability}{', applied' if f.fix.applied else ''}): {f.fix.title}")
                if not f.fix.applied:
                    for why in f.fix.reasons:
                        echo(f"    fix {f.fix.applicability}: {why}")
    # --diff keeps stdout a pure patch: the build commands and notes go to stderr
    err = settings.mode == "diff"
    supply = {k: v for k, v in r.emitted.items() if k in ("sign", "verify")}  # asked for with --sign: always shown
    shown = r.status == "ok" and r.build is not None and bool(r.changed or r.migrated or r.findings)
    if not (shown and (r.build.secrets or r.build.ssh or r.changed or "flatten" in r.emitted)):
        if r.status == "ok":
            for target, text in supply.items():
                echo(style(f"# {target} {printable(r.path)}:", fg="cyan"), err=err)
                click.echo(text.rstrip("\n"), err=err)
        return masked
    for target, text in r.emitted.items():
        echo(style(f"# build {printable(r.path)} ({target}):" if target not in supply else f"# {target} {printable(r.path)}:", fg="cyan"), err=err)
        click.echo(text.rstrip("\n"), err=err)
    for env in r.runtime_env:
        echo(f"# runtime: ENV {env} is no longer baked in; pass it with `docker run -e {env}` if the container needs it", err=err)
    for n in r.notes:
        echo(f"# note: {n}", err=err)
    return masked


def _color_diff(d: str) -> str:
    """A unified diff coloured like git's: headers bold, hunks cyan, removals red, additions green."""
    out = []
    for line in d.splitlines(keepends=True):
        body, nl = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        if line.startswith(("--- ", "+++ ", "diff ")):
            out.append(click.style(body, bold=True) + nl)
        elif line.startswith("@@"):
            out.append(click.style(body, fg="cyan") + nl)
        elif line.startswith("-"):
            out.append(click.style(body, fg="red") + nl)
        elif line.startswith("+"):
            out.append(click.style(body, fg="green") + nl)
        else:
            out.append(line)
    return "".join(out)


def _not_applied(r, say) -> None:
    """In --diff/--check, say why a fix is not in the patch (display-only, unsafe without
    --unsafe-fixes, refused by the rewrite check or by the split): the diff alone cannot."""
    from refactor.multistage import WARNINGS

    seen: set[str] = set()
    for f in r.findings:
        fx = f.fix
        if fx is None or fx.included or fx.title in seen:
            continue
        seen.add(fx.title)
        reasons = [w for w in fx.reasons if w not in WARNINGS] or list(fx.reasons)
        why = reasons[0] if reasons else ("needs --unsafe-fixes" if fx.applicability == "unsafe" else "")
        say(f"# not applied ({fx.applicability}): {printable(r.path)}: {fx.title}" + (f": {why}" if why else ""))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    _EXIT_ZERO[0] = False
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


class _Lazy(click.Command):
    """A subcommand imported when it runs or its help is shown (start-up stays small)."""

    def __init__(self, name: str, target: str, help_line: str) -> None:
        super().__init__(name, help=help_line, short_help=help_line, add_help_option=False, context_settings={"ignore_unknown_options": True})
        self.target = target
        self.params = [click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)]

    def _load(self) -> click.Command:
        import importlib

        module, attr = self.target.split(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx):
        cmd = self._load()
        return cmd.main(args=list(ctx.params["args"]), prog_name=f"dfix {self.name}", standalone_mode=False,
                        help_option_names=["-h", "--help"], max_content_width=100)


cli.add_command(_Lazy("verify", "refactor.verify:verify", "Build a Dockerfile as dfix would and prove no secret reaches the image (runs the build)."))
cli.add_command(_Lazy("summarize", "refactor.summarize:summarize_cmd", "Merge dfix JSON reports of many repositories into one campaign table."))

"""The ``dfix`` command line's output side: ``--report FORMAT=PATH`` values, the documents written
for them, atomic ``--output-file`` writes, the progress bar, and the rendering of a run's results
in every ``--format`` (findings and diffs to stdout, the summary on stderr) with its exit code.
"""

from __future__ import annotations

import os
import sys

import click

from refactor.render.text import printable

REPORT_FORMATS = ("json", "sarif", "github", "markdown", "gitlab", "checkstyle", "junit")
DOCUMENT_FORMATS = ("sarif", "markdown", "gitlab", "checkstyle", "junit")  # refactor.render.output.DOCUMENTS


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


def _common_parent(paths: list[str]) -> str:
    """The deepest directory holding every path, a directory given counting as itself (where the
    run's config is looked up). The common path of the paths is that directory unless it is one
    of the paths and not a directory (a file given alone, or with itself): one stat, not one per
    path."""
    cwd = os.getcwd()
    absd = {os.path.normpath(os.path.join(cwd, p)) for p in paths}
    try:
        common = os.path.commonpath(list(absd))
    except ValueError:
        return cwd
    return os.path.dirname(common) if common in absd and not os.path.isdir(common) else common


def _progress(results, total: int, quiet: bool):
    """click's progress bar on stderr when it is a TTY and the run is long (> 200 files)."""
    if quiet or total <= 200 or not sys.stderr.isatty():
        yield from results
        return
    with click.progressbar(results, length=total, label="dfix", file=sys.stderr, show_pos=True, show_eta=False) as bar:
        yield from bar


def _report(
    results,
    settings,
    fmt: str,
    quiet: bool,
    color,
    stdin_result,
    output_file: str | None = None,
    statistics: bool = False,
    exit_zero: bool = False,
) -> int:
    """Render ``results`` (a list, or an ordered iterator for streaming formats) to stdout or
    ``output_file`` (written atomically when the run ends)."""
    if output_file is None:
        return _render(results, settings, fmt, quiet, color, stdin_result, statistics, exit_zero)
    import io

    buf = io.StringIO()
    saved = sys.stdout
    sys.stdout = buf
    try:
        code = _render(results, settings, fmt, quiet, False if color is None else color, stdin_result, statistics, exit_zero)
    finally:
        sys.stdout = saved
    return code if _write_output(output_file, buf.getvalue()) else 2


def _render(results, settings, fmt: str, quiet: bool, color, stdin_result, statistics: bool, exit_zero: bool) -> int:
    from refactor.render import text
    from refactor.report import Report

    out = sys.stdout
    tally = Report(exit_zero)
    if statistics:
        results = list(results)
        for r in results:
            tally.add(r, settings)
            text.error_line(r)
        text.statistics(tally, results, fmt)
    elif fmt in DOCUMENT_FORMATS:
        from refactor.render import output

        results = list(results)
        out.write(output.DOCUMENTS[fmt](results))
        for r in results:
            tally.add(r, settings)
            text.error_line(r)
    elif fmt == "json":
        from refactor.render import output

        js = output.JsonStream(out)
        for r in results:
            js.add(r)
            tally.add(r, settings)
            text.error_line(r)
        js.close()
    elif fmt == "github":
        from refactor.render import output

        for r in results:
            out.write(output.to_github([r]))
            tally.add(r, settings)
            text.error_line(r)
    else:
        color = text.use_color(color, out)
        masked_any = False
        for r in results:
            masked_any |= text.text_file(r, settings, color, stdin_result)
            tally.add(r, settings)
            text.error_line(r)
        if masked_any:
            click.echo("# Lines holding a committed secret are masked: this diff is for reading; apply it with `dfix --write`.", err=True)
    if not quiet:
        click.echo(tally.summary(settings), err=True)
    return tally.exit_code(settings)

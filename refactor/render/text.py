"""Human text output: findings with their fixes, diffs (coloured like git's), the build commands,
and the per-rule statistics table. Machine formats live in ``refactor.render.output``."""

from __future__ import annotations

import os
import sys

import click


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


def printable(path: str) -> str:
    """A file name as it may be shown on a line of its own: control characters (a newline in a
    name would start a new, pasteable line) are escaped, like ``ls -b`` does."""
    if path.isprintable():
        return path
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in path)


def error_line(r) -> None:
    if r.status == "error":
        from refactor.render.masking import mask

        click.echo(f"dfix: error: {printable(r.path)}: {mask(r.error, r.masks)}", err=True)


def statistics(tally, results, fmt: str) -> None:
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


def text_file(r, settings, color: bool, stdin_result) -> bool:
    """One file's text output: its findings (or diff), then the command that builds it."""

    def style(s, **kw):
        return click.style(s, **kw) if color else s

    from refactor.render.masking import learn, mask

    r = learn(r)
    m = r.masks

    def echo(msg="", **kw):
        click.echo(msg, color=color, **kw)

    masked = False
    if r is stdin_result and settings.mode == "write" and r.status == "ok":
        sys.stdout.write(("\ufeff" if r.bom else "") + (r.new_text or ""))
        return False  # stdout carries the fixed Dockerfile only
    if settings.mode == "diff":
        from refactor.render.output import unified_diff

        d, masked = unified_diff(r)
        sys.stdout.write(color_diff(d) if color else d)
        not_applied(r, lambda line: echo(line, err=True))
    elif settings.mode == "check":
        if r.changed:
            echo(f"would rewrite {printable(r.path)}")
        for f in r.findings:
            echo(f"{printable(r.path)}:{f.line}:{f.column}: {f.code} {mask(f.message, m)}")
        not_applied(r, echo)
        return False
    else:
        told: dict = {}  # a fix's reasons are listed under its first finding; later ones point there
        for f in r.findings:
            mark = ""
            if f.fix is not None and (f.fix.applied or (settings.mode != "write" and f.fix.applicability != "display-only")):
                mark = style("[*] ", fg="green") if f.fix.applicability == "safe" or f.fix.applied else style("[unsafe] ", fg="yellow")
            status = " (fixed)" if f.fix is not None and f.fix.applied and settings.mode == "write" else ""
            echo(
                f"{style(printable(r.path), bold=True)}:{f.line}:{f.column}: {style(f.code, fg='red' if f.secret else 'yellow')} {mark}{mask(f.message, m)}{status}"
            )
            if f.fix is not None:
                key = (f.fix.title, f.fix.applicability, f.fix.applied, tuple(f.fix.reasons))
                first = told.setdefault(key, f.line)
                more = f" (why: see line {first})" if first != f.line and f.fix.reasons and not f.fix.applied else ""
                echo(f"    fix ({f.fix.applicability}{', applied' if f.fix.applied else ''}): {mask(f.fix.title, m)}{more}")
                if not f.fix.applied and not more:
                    for why in f.fix.reasons:
                        echo(f"    fix {f.fix.applicability}: {mask(why, m)}")
    # --diff keeps stdout a pure patch: the build commands and notes go to stderr
    err = settings.mode == "diff"
    supply = {k: v for k, v in r.emitted.items() if k in ("sign", "verify")}  # asked for with --sign: always shown
    shown = r.status == "ok" and r.build is not None and bool(r.changed or r.migrated or r.findings)
    if not (shown and (r.build.secrets or r.build.ssh or r.changed or "flatten" in r.emitted)):
        if r.status == "ok":
            for target, text in supply.items():
                echo(style(f"# {target} {printable(r.path)}:", fg="cyan"), err=err)
                click.echo(mask(text, m).rstrip("\n"), err=err)
        return masked
    for target, text in r.emitted.items():
        echo(
            style(f"# build {printable(r.path)} ({target}):" if target not in supply else f"# {target} {printable(r.path)}:", fg="cyan"),
            err=err,
        )
        click.echo(mask(text, m).rstrip("\n"), err=err)
    for env in r.runtime_env:
        echo(f"# runtime: ENV {env} is no longer baked in; pass it with `docker run -e {env}` if the container needs it", err=err)
    for n in r.notes:
        echo(f"# note: {mask(n, m)}", err=err)
    return masked


def color_diff(d: str) -> str:
    """A unified diff coloured like git's: headers bold, hunks cyan, removals red, additions green."""
    out = []
    for line in d.splitlines(keepends=True):
        body, nl = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        if line.startswith(("--- ", "+++ ", "diff ")):
            out.append(click.style(body, bold=True) + nl)
        elif line.startswith("@@"):
            out.append(click.style(body, fg="cyan") + nl)
        elif line.startswith("dfix:"):  # a masked hunk's notice (refactor.render.output.HUNK_NOTE)
            out.append(click.style(body, fg="yellow", bold=True) + nl)
        elif line.startswith("-"):
            out.append(click.style(body, fg="red") + nl)
        elif line.startswith("+"):
            out.append(click.style(body, fg="green") + nl)
        else:
            out.append(line)
    return "".join(out)


def not_applied(r, say) -> None:
    """In --diff/--check, say why a fix is not in the patch (display-only, unsafe without
    --unsafe-fixes, refused by the rewrite check or by the split): the diff alone cannot."""
    from refactor.multistage import WARNINGS
    from refactor.render.masking import mask

    seen: set[str] = set()
    for f in r.findings:
        fx = f.fix
        if fx is None or fx.included or fx.title in seen:
            continue
        seen.add(fx.title)
        reasons = [w for w in fx.reasons if w not in WARNINGS] or list(fx.reasons)
        why = reasons[0] if reasons else ("needs --unsafe-fixes" if fx.applicability == "unsafe" else "")
        say(mask(f"# not applied ({fx.applicability}): {printable(r.path)}: {fx.title}" + (f": {why}" if why else ""), r.masks))

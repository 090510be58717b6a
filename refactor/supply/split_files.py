"""Which files the credential-split scan reads (:mod:`refactor.supply.split`): the directories it
skips, its size limit, the config, script and suffix names it looks at (``refactor.cache`` mirrors
them), how it reads one (:func:`scanned_text`), which files are tool configs (:func:`_config_kind`),
and :func:`dockerfile_events`, what the scan needs of a parsed Dockerfile as picklable tuples.
"""

from __future__ import annotations

import os

from refactor.source import read_regular

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "vendor",
        "__pycache__",
        ".tox",
        ".venv",
        "venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
    }
)
MAX_BYTES = 1 << 20


# tool configs by name -> the tool (whose expansions the scan learns first: ``_config_kind``)
_CONFIG_KINDS = dict.fromkeys((".npmrc", ".yarnrc", ".yarnrc.yml"), "npm") | {"settings.xml": "maven"}
_CONFIG_KINDS |= dict.fromkeys(("pip.conf", "pip.ini", ".pypirc", "poetry.toml", "uv.toml"), "pip")
_CONFIG_NAMES = frozenset(_CONFIG_KINDS)
_SCRIPT_NAMES = frozenset({"makefile", "gnumakefile", "jenkinsfile", "justfile"})
_SCAN_SUFFIXES = (".yml", ".yaml", ".sh", ".bash", ".mk", ".ps1", ".groovy", ".gradle", ".gradle.kts", ".jenkinsfile")


def _is_dockerfile(name: str) -> bool:
    from refactor.discovery import is_dockerfile_name

    return is_dockerfile_name(name)


def _relevant(name: str) -> bool:
    low = name.lower()
    return low in _CONFIG_NAMES or low in _SCRIPT_NAMES or low.endswith(_SCAN_SUFFIXES) or "." not in low or _is_dockerfile(name)


def _config_kind(rel: str, base: str) -> str | None:
    """The tool whose configuration ``rel`` (``/``-separated; ``base``: its lowered name) is, whose
    expansions the scan learns before anything else: npm, maven, gradle or pip; None for others."""
    if base in _CONFIG_KINDS:
        return _CONFIG_KINDS[base]
    if rel.startswith(".mvn/"):
        return "maven"
    if base.endswith((".gradle", ".gradle.kts")):
        return "gradle"
    return None


def scanned_text(full: str) -> str | None:
    """A scanned file's text; None for a link, a file over the size limit, an extensionless file
    that is no Dockerfile, known script name or ``#!`` script, binary or non-UTF-8 data."""
    fn = os.path.basename(full)
    try:
        data = read_regular(full, MAX_BYTES, follow=False)  # (a link, a FIFO, a socket, a device: None)
    except OSError:
        return None
    if data is None:
        return None
    if "." not in fn and not _is_dockerfile(fn) and fn.lower() not in _SCRIPT_NAMES and not data.startswith(b"#!"):
        return None  # an extensionless file is scanned only as a shell script
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        return None


def dockerfile_events(df) -> list[tuple]:
    """What the scanner needs of a parsed Dockerfile, as small picklable tuples, so that the
    worker that parsed the file for the rules hands it over instead of the scanner parsing it
    again: ("from",), ("arg", line, names), ("env", line, [(name, value)]), ("secret-mount", line,
    names), ("run", line, body)."""
    from refactor.syntax.words import name_values

    out: list[tuple] = []
    for ins in df.instructions:
        eff = ins.effective
        if eff.cmd == "from":
            out.append(("from",))
        elif eff.cmd == "arg":
            out.append(("arg", ins.start_line, [item.name for item in name_values(eff.args, df.escape, legacy_env=False)]))
        elif eff.cmd == "env":
            out.append(("env", ins.start_line, [(item.name, item.value or "") for item in name_values(eff.args, df.escape)]))
        elif eff.cmd == "run":
            names: set[str] = set()
            for fl in eff.flags:
                if fl.name != "mount" or not fl.value:
                    continue
                opts = dict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in fl.value.split(","))
                if opts.get("type") == "secret":
                    names |= {n for n in (opts.get("env"), (opts.get("id") or "").upper()) if n}
            if names:
                out.append(("secret-mount", ins.start_line, sorted(names)))
            out.append(("run", ins.start_line, df.text[ins.command.args_start : ins.end]))
    return out

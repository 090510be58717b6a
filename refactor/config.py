"""``[tool.dfix]`` in pyproject.toml, or ``.dfix.toml``. Keys mirror the CLI flags (kebab-case).

The nearest config walking up from the common parent of the paths wins, stopping at the
repository root; ``--config`` overrides. Unknown keys are an error with a suggestion.
"""

from __future__ import annotations

import os
from collections import OrderedDict

from refactor.records import dataclass

KEYS: dict[str, type] = {
    "secret-names": list,
    "allow-names": list,
    "mount-style": str,
    "unsafe-fixes": bool,
    "require-secrets": bool,
    "exclude": list,
    "extend-exclude": list,
    "emit": list,
    "max-file-size": int,
    "respect-gitignore": bool,
    "per-file-ignores": dict,
    "ignore": list,
    "select": list,
    "extend-select": list,
    "failure-threshold": str,
    "callers": str,
    "sign-key": str,
    "strategy": str,
    "pin-digests": bool,
    "sign": str,
    "image": str,
}


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Config:
    path: str | None
    values: dict


def _validate(values: dict, where: str) -> dict:
    out = {}
    for key, val in values.items():
        if key not in KEYS:
            import difflib

            close = difflib.get_close_matches(key, list(KEYS), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"{where}: unknown key '{key}'{hint}")
        typ = KEYS[key]
        if not isinstance(val, typ) or (typ is int and isinstance(val, bool)):
            raise ConfigError(f"{where}: '{key}' must be a {typ.__name__}")
        if isinstance(val, list) and not all(isinstance(x, str) for x in val):  # (typ is list)
            raise ConfigError(f"{where}: '{key}' must be a list of strings")
        out[key] = val
    return out


def load_file(path: str) -> Config:
    import tomllib  # (only when a config file exists: most runs have none)

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    if os.path.basename(path) == "pyproject.toml":
        data = data.get("tool", {}).get("dfix", {})
    elif "tool" in data and "dfix" in data.get("tool", {}):
        data = data["tool"]["dfix"]
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: [tool.dfix] must be a table")
    return Config(path, _validate(data, path))


def find_config(start: str, memo: dict[str, Config] | None = None) -> Config:
    """The nearest ``.dfix.toml`` or ``pyproject.toml`` with ``[tool.dfix]`` from ``start`` up to
    the repository root (a directory holding ``.git``). ``memo`` (directory -> its config), shared
    by the calls of one run, stops a walk at the first directory already answered and records every
    directory walked: each directory is asked once and each config file read once, however many
    Dockerfiles there are."""
    d = os.path.abspath(start)
    if memo is not None and d in memo:
        return memo[d]  # (a directory answered earlier in the run: no stat)
    if os.path.isfile(d):
        d = os.path.dirname(d)
    walked: list[str] = []
    found = None
    while True:
        if memo is not None and d in memo:
            found = memo[d]
            break
        walked.append(d)
        found = _config_in(d)
        if found is not None or os.path.exists(os.path.join(d, ".git")):
            break
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    found = found if found is not None else Config(None, {})
    if memo is not None:
        for w in walked:
            memo[w] = found
    return found


class RecentDirs(OrderedDict[str, "Config"]):
    """The ``memo`` of :func:`find_config` for one run: the answers for the ``size`` directories
    asked most recently, and always those of the directories holding a config file (so each config
    file is still read once per run). A run asks about its Dockerfiles' directories in path order,
    so what it asks next is a recent directory or one of their parents, which every ask keeps
    recent. Keeping every directory held about 2.5 MiB at 20,000 Dockerfiles, in the parent and in
    each worker forked from it (session 14)."""

    def __init__(self, size: int = 1024) -> None:
        super().__init__()
        self.size = size
        self.pinned: dict[str, Config] = {}

    def __contains__(self, key: object) -> bool:
        return key in self.pinned or super().__contains__(key)

    def __getitem__(self, key: str) -> Config:
        if key in self.pinned:
            return self.pinned[key]
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key: str, value: Config) -> None:
        if value.path is not None and os.path.dirname(value.path) == key:
            self.pinned[key] = value
            return
        super().__setitem__(key, value)
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


def _config_in(d: str) -> Config | None:
    """The config file of directory ``d`` itself, if it has one."""
    dot = os.path.join(d, ".dfix.toml")
    if os.path.isfile(dot):
        return load_file(dot)
    py = os.path.join(d, "pyproject.toml")
    if os.path.isfile(py):
        import tomllib

        try:
            with open(py, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{py}: invalid TOML ({exc})") from None
        if "dfix" in data.get("tool", {}):
            return load_file(py)
    return None

"""``[tool.dfix]`` in pyproject.toml, or ``.dfix.toml``. Keys mirror the CLI flags (kebab-case).

The nearest config walking up from the common parent of the paths wins, stopping at the
repository root; ``--config`` overrides. Unknown keys are an error with a suggestion.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping

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


def find_config(start: str, memo: MutableMapping[str, Config] | None = None) -> Config:
    """The nearest ``.dfix.toml`` or ``pyproject.toml`` with ``[tool.dfix]`` from ``start`` up to
    the repository root (a directory holding ``.git``). ``memo`` (directory -> its config), shared
    by the calls of one run, stops a walk at the first directory already answered and records every
    directory walked: with a dict each directory is asked once; with the run's :class:`RecentDirs`,
    a directory no longer recent may be asked again, but each config file is still read once,
    however many Dockerfiles there are."""
    d = os.path.abspath(start)
    if memo is not None and d in memo:
        return memo[d]  # (a directory answered earlier in the run: no stat)
    if os.path.isfile(d):
        d = os.path.dirname(d)
    walked: list[str] = []
    read: list[str] = []  # walked directories holding a config file, read
    found = None
    while True:
        if memo is not None and d in memo:
            found = memo[d]
            break
        walked.append(d)
        found = _config_in(d, read)
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
        if isinstance(memo, RecentDirs):
            for w in read:
                memo.pin(w, found)
    return found


class RecentDirs(MutableMapping[str, "Config"]):
    """The ``memo`` of :func:`find_config` for one run: the answers for the ``size`` directories
    asked most recently, and always those of the directories holding a config file (a
    ``.dfix.toml``, or a ``pyproject.toml`` with or without ``[tool.dfix]``), so each such file is
    still read once per run. A run asks about its Dockerfiles' directories in path order, so what
    it asks next is a recent directory or one of their parents, which every ask keeps recent.
    Keeping every directory held about 2.5 MiB at 20,000 Dockerfiles, in the parent and in each
    worker forked from it (session 14)."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self.pinned: dict[str, Config] = {}
        self._recent: OrderedDict[str, Config] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self.pinned or key in self._recent

    def __getitem__(self, key: str) -> Config:
        if key in self.pinned:
            return self.pinned[key]
        value = self._recent[key]
        self._recent.move_to_end(key)
        return value

    def __setitem__(self, key: str, value: Config) -> None:
        if key in self.pinned:
            self.pinned[key] = value
            return
        self._recent[key] = value
        self._recent.move_to_end(key)
        if len(self._recent) > self.size:
            self._recent.popitem(last=False)

    def pin(self, key: str, value: Config) -> None:
        """Keep ``key``'s answer for the whole run (a directory holding a file that was read)."""
        self._recent.pop(key, None)
        self.pinned[key] = value

    def __delitem__(self, key: str) -> None:
        if key in self.pinned:
            del self.pinned[key]
        else:
            del self._recent[key]

    def __iter__(self) -> Iterator[str]:
        yield from self.pinned
        yield from self._recent

    def __len__(self) -> int:
        return len(self.pinned) + len(self._recent)


def _config_in(d: str, read: list[str] | None = None) -> Config | None:
    """The config file of directory ``d`` itself, if it has one. ``read`` receives ``d`` when it
    holds a file that was read (a ``pyproject.toml`` without ``[tool.dfix]`` included)."""
    dot = os.path.join(d, ".dfix.toml")
    if os.path.isfile(dot):
        if read is not None:
            read.append(d)
        return load_file(dot)
    py = os.path.join(d, "pyproject.toml")
    if os.path.isfile(py):
        if read is not None:
            read.append(d)
        import tomllib

        try:
            with open(py, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{py}: invalid TOML ({exc})") from None
        if "dfix" in data.get("tool", {}):
            return load_file(py)
    return None

"""Every caller kind, declared in one place: how its files are named, the bytes a file of that kind
must hold to pass a build arg (a cheap pre-filter before parsing), its finder and planner, and its
comment marker (``# dfix: ignore[…]`` is written in the caller's own syntax).

A new caller kind is: one entry here, its module (``find``/``plan``), its tests and a golden case.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from refactor.codecache import regex
from refactor.records import dataclass

_COMPOSE = regex(r"^(?:docker-)?compose(?:[.-][^/]*)?\.ya?ml$", re.I)
_CLI_NEEDLES = (b"build-arg", b".args.")


@dataclass(frozen=True)
class CallerKind:
    name: str
    matches: Callable[[list[str], str, str], bool]  # (path parts, file name, lower-case name)
    needles: tuple[bytes, ...]
    finder: str  # "module:function" under refactor.callers: (path, text, root) -> list[Found]
    planner: str  # "module:function", or "cli" for one shell command line per found build
    comment: str | None = "#"  # None: the format has no comments (JSON)
    file_pragmas: bool = False  # a finding may sit in a multi-line string: --add-ignore writes file-ignore

    def find(self):
        return _resolve(self.finder)

    def plan(self):
        return _resolve(self.planner) if self.planner != "cli" else _plan_cli


def _resolve(ref: str):
    module, attr = ref.split(":")
    return getattr(importlib.import_module(f"refactor.callers.{module}"), attr)


def _plan_cli(path, text, groups, plan) -> None:
    from .common import plan_cli

    for found, migrated in groups:
        plan_cli(text, found.data, migrated, plan)


def _yaml(low: str) -> bool:
    return low.endswith((".yml", ".yaml"))


# in matching order: the first kind that matches a path is its kind
KINDS: tuple[CallerKind, ...] = (
    CallerKind(
        "github",
        lambda p, n, lo: len(p) >= 3 and p[-3] == ".github" and p[-2] == "workflows" and _yaml(lo),
        _CLI_NEEDLES,
        "github:find",
        "github:plan",
    ),
    CallerKind(
        "gitlab",
        lambda p, n, lo: lo == ".gitlab-ci.yml" or lo.endswith(".gitlab-ci.yml") or (_yaml(lo) and ".gitlab" in p[:-1]),
        _CLI_NEEDLES,
        "gitlab:find",
        "cli",
    ),
    CallerKind(
        "jenkins",
        lambda p, n, lo: n.startswith("Jenkinsfile") or lo.endswith(".jenkinsfile"),
        _CLI_NEEDLES,
        "jenkins:find",
        "cli",
        comment="//",
        file_pragmas=True,
    ),
    CallerKind("compose", lambda p, n, lo: bool(_COMPOSE.match(n)), (b"args",), "compose:find", "compose:plan"),
    CallerKind(
        "bake-hcl", lambda p, n, lo: lo.startswith("docker-bake") and lo.endswith(".hcl"), (b"args",), "bake:find_hcl", "bake:plan_hcl"
    ),
    CallerKind(
        "bake-json",
        lambda p, n, lo: lo.startswith("docker-bake") and lo.endswith(".json"),
        (b"args",),
        "bake:find_json",
        "bake:plan_json",
        comment=None,
    ),
    CallerKind(
        "make",
        lambda p, n, lo: n in ("Makefile", "makefile", "GNUmakefile") or lo.endswith(".mk"),
        _CLI_NEEDLES,
        "scripts:find_make",
        "scripts:plan_make",
    ),
    CallerKind(
        "just",
        lambda p, n, lo: n in ("justfile", "Justfile", ".justfile") or lo.endswith(".just"),
        _CLI_NEEDLES,
        "scripts:find_just",
        "cli",
    ),
    CallerKind("shell", lambda p, n, lo: lo.endswith((".sh", ".bash")), _CLI_NEEDLES, "scripts:find_shell", "cli"),
    # argv lists naming docker/podman/buildah too: one built with a *splat or a variable is an
    # unresolved caller that blocks fixes (python_find.py)
    CallerKind(
        "python",
        lambda p, n, lo: lo.endswith(".py"),
        (b"build-arg", b"buildargs", b"build_args", b'docker"', b"docker'", b'podman"', b"podman'", b'buildah"', b"buildah'"),
        "python:find",
        "python:plan",
        file_pragmas=True,
    ),
)
BY_NAME = {k.name: k for k in KINDS}


# every name with a dot that some kind matches ends so, or is one of these (a cheap first test)
_DOTTED_ENDS = (".yml", ".yaml", ".jenkinsfile", ".hcl", ".json", ".mk", ".just", ".sh", ".bash", ".py")
_DOTTED_NAMES = frozenset({".justfile"})


# extensions that only one kind's names end with (besides a Jenkinsfile*, matched first): most of a
# repository's possible callers, decided without asking every kind (the same test holds it exact)
_ONLY_KIND_ENDING = {".py": "python", ".sh": "shell", ".bash": "shell"}


def kind_of(rel: str) -> str | None:
    """The caller kind of a repository-relative path (``/`` separated), or None."""
    name = rel[rel.rfind("/") + 1 :]
    low = name.lower()
    only = _ONLY_KIND_ENDING.get(low[low.rfind(".") :])
    if only is not None and not name.startswith("Jenkinsfile"):
        return only
    if "." in name and not low.endswith(_DOTTED_ENDS) and not name.startswith("Jenkinsfile") and name not in _DOTTED_NAMES:
        return None  # (a .go, .md, .txt…: most of a repository; tests/test_callers_discover.py holds this test exact)
    parts = rel.split("/")
    return next((k.name for k in KINDS if k.matches(parts, name, low)), None)

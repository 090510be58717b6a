"""The records the multistage split works with (:mod:`refactor.multistage`): :class:`SplitError`,
why a stage cannot be split safely, and :class:`RunContext`, what a RUN's outputs depend on besides
its argv (working directory, literal ENV values, base image, USER) and how it resolves a path.
"""

from __future__ import annotations

import posixpath
from dataclasses import field

from refactor.records import dataclass


class SplitError(Exception):
    """The stage cannot be split safely; the message says why."""


@dataclass(frozen=True)
class RunContext:
    """What a RUN's outputs depend on besides its argv: the working directory, the ENV values in
    effect (literal ones only), the base image of the stage chain and the USER."""

    workdir: str
    env: dict[str, str] = field(default_factory=dict)
    image: str = ""
    user: str | None = None

    def home(self) -> str | None:
        if "HOME" in self.env:
            return self.env["HOME"]
        if self.user in (None, "", "root", "0") or (self.user or "").startswith(("root:", "0:")):
            return "/root"
        return None

    def image_is(self, *names: str) -> bool:
        repo = self.image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0].lower()
        return repo in names

    def path(self, p: str) -> str:
        if p == "~" or p.startswith("~/"):
            home = self.home()
            if home is None:
                raise SplitError(f"{p}: the home directory of USER {self.user} is unknown")
            return posixpath.join(home, p[2:]) if p != "~" else home
        return posixpath.join(self.workdir, p)

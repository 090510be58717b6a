"""The records of the credential-split scan (:mod:`refactor.supply.split`): a :class:`Site` (path,
line, what), the variables in scope at a step (``_Scope``: GitHub secret identities) and the
per-job tokens that are never reported (``EPHEMERAL``).
"""

from __future__ import annotations

from dataclasses import field
from typing import NamedTuple

from refactor.records import dataclass

EPHEMERAL = frozenset({"GITHUB_TOKEN", "CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"})


class Site(NamedTuple):
    path: str  # relative to the scanned root, with "/"
    line: int  # 1-based
    what: str


@dataclass
class _Scope:
    """Variables in scope: name -> identity (a GitHub secret name, or the name itself)."""

    env: dict[str, str] = field(default_factory=dict)
    step_secret_env: dict[str, str] = field(default_factory=dict)  # the step's own env bound to secrets
    github: bool = False  # a GitHub step: only variables in ``env`` are set

    def ident(self, name: str) -> str:
        return self.env.get(name, name)

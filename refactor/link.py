"""Cross-file planning: a Dockerfile's rewrite and the callers that build it change together.

The callers (shell scripts, Makefiles, compose, bake, CI workflows, Jenkinsfiles, Python build
scripts) are searched from the repository root (the git work tree, else the common parent of the
PATHs), whatever PATHs were given. For every Dockerfile whose secret ARGs the rewrite removes, each
caller that passes them as ``--build-arg`` is planned too. If any caller of a Dockerfile cannot be
migrated, that Dockerfile's fix is lowered to unsafe and, without ``--unsafe-fixes``, neither the
Dockerfile nor its callers change. Writes happen after all planning, per file atomically.

Layout: this module is the public face; ``link_plan`` holds ``link_callers`` (the planning),
``link_blocks`` the decision it returns (``Block``, ``Linked``) and ``link_findings`` the caller
findings (made, suppressed by config or comments, and ``--add-ignore``).
"""

from __future__ import annotations

from refactor.link_blocks import _BLOCKABLE, Block, Linked, _blocked
from refactor.link_findings import _committed_values, _finding, _position, add_caller_ignores, caller_ignored, suppress_caller_findings
from refactor.link_plan import _migrated, link_callers

__all__ = [
    "_BLOCKABLE",
    "Block",
    "Linked",
    "_blocked",
    "_committed_values",
    "_finding",
    "_migrated",
    "_position",
    "add_caller_ignores",
    "caller_ignored",
    "link_callers",
    "suppress_caller_findings",
]

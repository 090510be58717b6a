"""What a RUN's shell text does with variables.

``analyze_shell`` parses the script with tree-sitter-bash (error tolerant; it recurses into
``sh -c '…'`` strings and heredoc bodies) and returns the variables it expands, the variables it
assigns, and the commands it runs. ``auth_uses`` finds the places where a variable reaches an
authenticating position (URL user-info, auth headers, ``curl -u``, ``--password``, ``.npmrc``
``_authToken``, netrc ``password``, ``docker login``), which is *use* evidence for the detector.

tree-sitter is imported lazily: most files never need shell analysis.

This module is the public face; the parts are ``shell_commands`` (transparent and known tools,
project code), ``shell_parse`` (the tree-sitter walk), ``shell_use_patterns`` and ``shell_auth``
(use evidence) and ``shell_writes`` (files a RUN writes, statements, append blockers).
"""

from __future__ import annotations

from refactor.analysis.shell_auth import _CRED_RUN as _CRED_RUN
from refactor.analysis.shell_auth import _CRED_WORD as _CRED_WORD
from refactor.analysis.shell_auth import _auth_index as _auth_index
from refactor.analysis.shell_auth import auth_uses
from refactor.analysis.shell_commands import KNOWN_TOOLS, TRANSPARENT, ShellInfo, project_code
from refactor.analysis.shell_parse import _parser as _parser
from refactor.analysis.shell_parse import analyze_shell, exec_form_script
from refactor.analysis.shell_use_patterns import _USE_PATTERNS as _USE_PATTERNS
from refactor.analysis.shell_writes import CONFIG_FILES, FileWrite, Statement, append_blocker, file_writes, statements, undone_after

__all__ = [
    "CONFIG_FILES",
    "KNOWN_TOOLS",
    "TRANSPARENT",
    "FileWrite",
    "ShellInfo",
    "Statement",
    "analyze_shell",
    "append_blocker",
    "auth_uses",
    "exec_form_script",
    "file_writes",
    "project_code",
    "statements",
    "undone_after",
]

"""docker buildx bake files: ``args`` entries → ``secret = ["id=<id>,env=<VAR>"]``.

::

    target "app" {                          target "app" {
      args = {                                secret = ["id=npm_token,env=NPM_TOKEN"]
        NPM_TOKEN = NPM_TOKEN               }
      }
    }

HCL is read with tree-sitter-hcl, whose concrete syntax tree keeps the byte span of every
attribute, object entry and list item; a file with a syntax error is not read (nor rewritten). JSON
bake files get the same rewrite through a span-keeping JSON reader.

A value that is a bake variable (``NPM_TOKEN``, ``"${NPM_TOKEN}"``) becomes ``env=<variable>``:
bake variables are read from the environment variable of the same name, and so is ``env=``. A
variable's committed default is *not* read by ``env=``: the plan says so (and reports the name for
rotation when the default is non-empty). A literal is removed and reported for rotation; the secret
reads ``env=<NAME>``. Anything else (``"${A}-${B}"``, a function call) is not migrated.
Dockerfile paths: ``context`` is relative to the bake file, ``dockerfile`` to the context;
``inherits`` is followed.
"""

from __future__ import annotations

from .bake_hcl import Attr, Block, Entry, Node, find_hcl, parse_hcl, plan_hcl
from .bake_hcl import _parser as _parser  # the tree-sitter parser (tests reach it here)
from .bake_json import J, find_json, parse_json, plan_json
from .bake_targets import BakeTarget

# The parts live in bake_targets (shared by both syntaxes), bake_hcl and bake_json; this module is
# their public face (the caller kinds name bake:find_hcl, bake:plan_json, …).
__all__ = ["Attr", "BakeTarget", "Block", "Entry", "J", "Node", "find_hcl", "find_json", "parse_hcl", "parse_json", "plan_hcl", "plan_json"]

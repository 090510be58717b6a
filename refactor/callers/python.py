"""Python build scripts (libcst): ``subprocess`` calls and the docker SDK.

``subprocess.run/call/check_call/check_output/Popen`` (however imported) whose argv carries
``--build-arg``:

* a list/tuple literal (or a name bound once to one, extended with ``+=``/``.extend([...])``)::

      subprocess.run(["docker", "build", "--build-arg", f"NPM_TOKEN={token}", "."], check=True)
      subprocess.run(["docker", "build", "--secret", "id=npm_token,env=NPM_TOKEN", "."], check=True,
                     env={**os.environ, "NPM_TOKEN": token})

  The value expression (``token``, ``"NPM_TOKEN=" + token`` → ``token``, ``f"NPM_TOKEN={a}-{b}"``
  → ``f"{a}-{b}"``) moves into ``env=``: merged into an existing ``env={…}`` dict, wrapped as
  ``{**expr, …}`` around another ``env=`` expression, or added as ``{**os.environ, …}`` (a bare
  dict would drop PATH, HOME and DOCKER_HOST); ``import os`` is added when missing.
  ``os.environ["X"]``/``os.getenv("X")`` values are already in the environment → ``env=X``.
* a command string (``shell=True``, ``os.system``, ``shlex.split``): shell text with f-string
  ``{expr}`` placeholders; placeholders go through ``env=`` like list values (``os.system`` has no
  ``env=``, so the shell prefix form is used there).

The docker SDK's ``images.build(buildargs=…)`` / ``APIClient.build(buildargs=…)`` talks to the
classic builder API and cannot pass BuildKit secrets: it is reported as not migratable, with the
python-on-whales equivalent ``docker.buildx.build(…, secrets=[…])``.

Formatting is kept: edits are text splices at libcst positions (code-point columns).
"""

from __future__ import annotations

from refactor.codecache import regex

from .common import Found, rel
from .model import BuildArgUse, Invocation
from .python_cst import El, PyArg, PyCall, _Collector
from .python_find import _find
from .python_guards import MAX_BRACKET_DEPTH, MAX_NESTING, MAX_TOKENS, _may_call, _too_complex, measure
from .python_plan import plan

# The parts live in python_cst (the libcst parse), python_guards (what libcst may parse),
# python_find (the build calls) and python_plan (the rewrite); this module is their public face.
# A test that changes a limit patches python_guards, where _too_complex reads it.
__all__ = ["MAX_BRACKET_DEPTH", "MAX_NESTING", "MAX_TOKENS", "El", "PyArg", "PyCall", "find", "measure", "plan"]


_PREFILTER_CALL = regex(r"\bsubprocess\b|\bsystem\s*\(|\bbuildargs\b")  # every call form needs one of these
_PREFILTER_TOOL = regex(r"docker|podman|buildah|nerdctl")


def find(path: str, text: str, root: str | None) -> list[Found]:
    if not _PREFILTER_CALL.search(text) or not _PREFILTER_TOOL.search(text):
        return []
    calls = _may_call(text)
    if calls == "none":
        return []  # CPython reads it and no call in it can run a build: libcst is not needed
    import libcst

    why = _too_complex(text)
    if why is not None and calls == "not-builds":
        return []  # too large for libcst, but CPython shows no call that could be a build
    if why is None:
        try:
            c = _Collector(text)
            return _find(c, path, root)
        except libcst.ParserSyntaxError:
            return []  # not Python dfix can read: skipped
        except (RecursionError, MemoryError):
            why = "it nests too deeply for dfix's Python parser"
    return [_unparsed(path, root, text, why)]


def _unparsed(path: str, root: str | None, text: str, why: str) -> Found:
    """A candidate file dfix refuses to parse: an unresolved caller that blocks every fix that
    migrates a build arg (it may pass any to any Dockerfile)."""
    e = len(text)
    reason = f"{rel(path, root)} is a Python build script dfix does not parse ({why}); it may pass this build arg: migrate it by hand"
    return Found(
        Invocation(path, "python", None, None, (BuildArgUse("*", "unknown", None, 0, e),), 0, e, migratable=False, reason=reason), None
    )

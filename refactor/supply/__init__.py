"""Supply-chain steps around a fixed build (issue 11).

- :mod:`refactor.supply.registry`: registry HTTP API v2 client (tag -> digest, token flow, docker
  config credentials and credential helpers).
- :mod:`refactor.supply.pin`: ``pin_digests(df, resolver)`` (``--pin-digests``) and
  ``findings_latest(df)`` (untagged / ``latest`` bases, no registry needed).
- :mod:`refactor.supply.split`: ``find_credential_splits(root)``: a secret that feeds dependency
  reads in builds and also publishes.
- :func:`render_signing` / :func:`render_verify`: the shell snippets for ``--sign notation|cosign``
  (templates ``sign-<tool>.j2`` and ``verify-<tool>.j2``): sign the digest the push reported, and
  on the consumer side verify that digest before deploying it by digest.
"""

from __future__ import annotations

import re

from refactor.supply.reference import RegistryError, parse_reference  # light: no HTTP stack

_LAZY = {
    "PinNote": "pin",
    "PinResult": "pin",
    "findings_latest": "pin",
    "pin_digests": "pin",
    "RegistryClient": "registry",
    "Resolution": "registry",
    "Site": "split",
    "CredentialSplit": "split",
    "find_credential_splits": "split",
}


def __getattr__(name: str):
    """Import submodules on first use: the registry client pulls in the HTTP stack."""
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(f"refactor.supply.{mod}"), name)


SIGN_TOOLS = ("notation", "cosign")
DEFAULT_DIGEST_VAR = "IMAGE_DIGEST"

__all__ = [
    "SIGN_TOOLS",
    "CredentialSplit",
    "PinNote",
    "PinResult",
    "RegistryClient",
    "RegistryError",
    "Resolution",
    "Site",
    "find_credential_splits",
    "findings_latest",
    "parse_reference",
    "pin_digests",
    "render_signing",
    "render_verify",
]


def _view(tool: str, image: str, digest_var: str, key: str | None) -> dict:
    if tool not in SIGN_TOOLS:
        raise ValueError(f"unknown signing tool {tool!r} (expected one of: {', '.join(SIGN_TOOLS)})")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", digest_var):
        raise ValueError(f"invalid shell variable name {digest_var!r}")
    ref = parse_reference(image)  # RegistryError("reference") when invalid
    if ref.digest:
        raise ValueError("pass the image repository (optionally with its tag), not a digest: the digest comes from the push")
    # the name as the user wrote it, without tag: tools normalise docker.io themselves
    written = image.strip()
    slash, colon = written.rfind("/"), written.rfind(":")
    repository = written[:colon] if colon > slash else written
    return {"tool": tool, "image": written, "repository": repository, "digest_var": digest_var, "key": key}


def render_signing(tool: str, image: str, *, digest_var: str = DEFAULT_DIGEST_VAR, key: str | None = None) -> str:
    """Shell that signs ``<repository>@$<digest_var>`` after the push (``sign-<tool>.j2``)."""
    from refactor.emit import environment

    view = _view(tool, image, digest_var, key)
    return environment().get_template(f"sign-{tool}.j2").render(**view)


def render_verify(
    tool: str,
    image: str,
    *,
    digest_var: str = DEFAULT_DIGEST_VAR,
    key: str | None = None,
    identity: str | None = None,
    issuer: str | None = None,
    deploy: str | None = None,
) -> str:
    """Consumer-side shell: verify ``<repository>@$<digest_var>``, then deploy that digest.

    ``deploy`` is the shell that deploys ``"$IMAGE_REF"`` (default: ``docker pull`` + ``docker run
    --detach``). For cosign, ``key`` selects key-based verification; without it the keyless
    certificate ``identity``/``issuer`` are used (shell variables when not given).
    """
    from refactor.emit import environment

    view = _view(tool, image, digest_var, key)
    view["identity"] = identity
    view["issuer"] = issuer
    view["deploy"] = deploy if deploy is not None else 'docker pull "$IMAGE_REF"\ndocker run --detach "$IMAGE_REF"'
    return environment().get_template(f"verify-{tool}.j2").render(**view)

"""The supply-chain steps of a file's run: DF009 findings, --pin-digests, signing and verification recipes."""

from __future__ import annotations

from refactor.buildspec import BuildSpec
from refactor.fixes.edit import Applicability, apply_edits
from refactor.fixes.plan import FileAnalysis, Finding
from refactor.settings import Settings
from refactor.source import SourceFile
from refactor.syntax.dockerfile import parse

_CLIENT = None


def verify_key(tool: str, key: str | None) -> str | None:
    """The key reference the consumer verifies with: cosign signs with a private key file
    (``cosign.key``) and verifies with its public half (``cosign.pub``); a KMS or Vault reference
    serves both; ``env://`` names the private key, so the public one comes from COSIGN_PUBLIC_KEY."""
    if not key or tool != "cosign":
        return key
    if key.startswith("env://"):
        return "env://COSIGN_PUBLIC_KEY"
    if "://" not in key and key.endswith(".key"):
        return key[: -len(".key")] + ".pub"
    return key


def supply_findings(analysis: FileAnalysis, findings: list[Finding]) -> None:
    """Add DF009 for latest/untagged bases (always on, no registry needed) to ``findings``."""
    from refactor.supply.pin import findings_latest

    for idx, _image, message in findings_latest(analysis.df):
        ins = analysis.df.instructions[idx]
        f = Finding("DF009", None, message, ins.command.kw_start, ins.logical_end)
        findings.append(f)
    findings.sort(key=lambda f: (f.start, f.code))


def pin(analysis: FileAnalysis, text: str, findings: list[Finding], settings: Settings, notes: list[str]) -> tuple[str, list[str]]:
    """--pin-digests: resolve each base image once per process; errors are per image."""
    global _CLIENT
    from refactor.supply.pin import pin_digests
    from refactor.supply.registry import default_client

    if _CLIENT is None:
        _CLIENT = default_client()
    # pin against the text as rewritten so far (pin edits only touch FROM/ARG words)
    df = parse(SourceFile.from_text(analysis.source.path, text, bom=analysis.source.bom))
    result = pin_digests(df, _CLIENT)
    out = list(notes)
    for n in result.notes:
        out.append(f"pin: line {n.line}: {n.message}")
    fixes = [fx for fx in result.fixes if fx.applicability >= Applicability.SAFE]
    for f in findings:
        if f.code == "DF009":
            f.fix = fixes[0] if fixes else None
    if not fixes:
        return text, out
    new = apply_edits(text, [e for fx in fixes for e in fx.edits])
    for fx in fixes:
        fx.included = True
        if settings.mode == "write":
            fx.applied = True
    return new, out


def signing_recipes(spec: BuildSpec, tool: str, image: str, key: str | None) -> dict[str, str]:
    """``--sign``: the build-and-push commands plus the signing step, and the consumer's verification."""
    import shlex

    from refactor.emit import docker_argv
    from refactor.supply import render_signing, render_verify

    argv = docker_argv(spec)
    argv[2:2] = ["-t", image]
    push = (
        f"{shlex.join(argv)}\ndocker push {shlex.quote(image)}\n"
        f"IMAGE_DIGEST=$(docker inspect --format '{{{{index .RepoDigests 0}}}}' {shlex.quote(image)} | cut -d@ -f2)\n"
    )
    return {"sign": push + render_signing(tool, image, key=key), "verify": render_verify(tool, image, key=verify_key(tool, key))}

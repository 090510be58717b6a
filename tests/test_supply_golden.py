"""Golden cases of the supply-chain steps, checked directly (the dfix harness skips them:
``skip_harness = true`` until ``--sign`` is wired into the CLI).

- ``golden/supply-sign-*``: ``case.toml`` names ``sign`` (notation|cosign), ``image`` and optionally
  ``key``/``verify_key``; ``expected/sign.sh`` is ``render_signing`` and ``expected/verify.sh`` is
  ``render_verify``, byte for byte. Both are also run with stand-in ``cosign``/``notation``/``docker``
  programs: they act on the digest only, refuse to run without it, and a failed verification stops
  the deploy.
- ``golden/supply-split-*``: multi-file repository trees; ``expected/splits.json`` is
  ``find_credential_splits(case)`` (variable, read site, publish site, further read sites).

``DFIX_UPDATE_GOLDEN=1`` rewrites the expectations; review the diff.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from refactor.supply import render_signing, render_verify
from refactor.supply.split import find_credential_splits

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("DFIX_UPDATE_GOLDEN") == "1"
SIGN = sorted(p for p in GOLDEN.glob("supply-sign-*") if (p / "case.toml").is_file())
SPLIT = sorted(p for p in GOLDEN.glob("supply-split-*") if (p / "case.toml").is_file())
DIGEST = "sha256:" + "ab" * 32


def meta(case: Path) -> dict:
    return tomllib.loads((case / "case.toml").read_text(encoding="utf-8"))


def check(path: Path, got: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert path.is_file(), f"{path} is missing (DFIX_UPDATE_GOLDEN=1 writes it)"
    assert got == path.read_text(encoding="utf-8"), f"{path.relative_to(GOLDEN)} differs"


def snippets(m: dict) -> tuple[str, str]:
    sign = render_signing(m["sign"], m["image"], key=m.get("key"))
    verify = render_verify(m["sign"], m["image"], key=m.get("verify_key"))
    return sign, verify


def test_cases_exist() -> None:
    assert {meta(c)["sign"] for c in SIGN} == {"cosign", "notation"}
    assert len(SPLIT) >= 3
    for c in SIGN + SPLIT:
        m = meta(c)
        assert m.get("skip_harness") is True and m.get("description")


@pytest.mark.parametrize("case", SIGN, ids=[c.name for c in SIGN])
def test_signing_snippets(case: Path) -> None:
    sign, verify = snippets(meta(case))
    check(case / "expected" / "sign.sh", sign)
    check(case / "expected" / "verify.sh", verify)


# -- the snippets as programs, with stand-in tools ---------------------------------------------

STANDIN = """#!/bin/sh
printf '%s' "$(basename "$0")" >> "$STANDIN_LOG"
for a in "$@"; do printf ' [%s]' "$a" >> "$STANDIN_LOG"; done
printf '\\n' >> "$STANDIN_LOG"
case "$(basename "$0") $1" in
  "cosign verify"|"notation verify") exit "${VERIFY_EXIT:-0}";;
esac
exit 0
"""


def run_snippet(tmp: Path, script: str, env: dict[str, str]) -> tuple[int, list[str], str]:
    bindir = tmp / "bin"
    bindir.mkdir(exist_ok=True)
    for tool in ("cosign", "notation", "docker"):
        p = bindir / tool
        p.write_text(STANDIN)
        p.chmod(p.stat().st_mode | stat.S_IEXEC)
    log = tmp / "calls.log"
    log.write_text("")
    sh = shutil.which("sh") or "/bin/sh"
    full = {"PATH": f"{bindir}:/usr/bin:/bin", "STANDIN_LOG": str(log), **env}
    proc = subprocess.run([sh, "-c", script], env=full, capture_output=True, text=True, timeout=30)
    return proc.returncode, log.read_text().splitlines(), proc.stderr


@pytest.mark.parametrize("case", SIGN, ids=[c.name for c in SIGN])
def test_signing_snippets_run(case: Path, tmp_path: Path) -> None:
    m = meta(case)
    sign, verify = snippets(m)
    repo = m["image"].rsplit(":", 1)[0]
    tool = m["sign"]
    # without the digest nothing runs
    code, calls, err = run_snippet(tmp_path, sign, {})
    assert code != 0 and calls == [] and "IMAGE_DIGEST is not set" in err
    # sign acts on the digest, never on the tag
    code, calls, _ = run_snippet(tmp_path, sign, {"IMAGE_DIGEST": DIGEST})
    assert code == 0 and len(calls) == 1
    assert calls[0].startswith(f"{tool} [sign]") and calls[0].endswith(f"[{repo}@{DIGEST}]")
    assert m["image"] not in calls[0] or m["image"] == repo
    # verify, then deploy by digest
    env = {"IMAGE_DIGEST": DIGEST, "COSIGN_CERT_IDENTITY": "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"}
    code, calls, _ = run_snippet(tmp_path, verify, env)
    assert code == 0
    assert calls[0].startswith(f"{tool} [verify]") and calls[0].endswith(f"[{repo}@{DIGEST}]")
    assert calls[1:] == [f"docker [pull] [{repo}@{DIGEST}]", f"docker [run] [--detach] [{repo}@{DIGEST}]"]
    if tool == "cosign" and not m.get("verify_key"):
        assert f"[--certificate-identity] [{env['COSIGN_CERT_IDENTITY']}]" in calls[0]
        assert "[--certificate-oidc-issuer] [https://token.actions.githubusercontent.com]" in calls[0]
    # a failed verification deploys nothing
    code, calls, err = run_snippet(tmp_path, verify, dict(env, VERIFY_EXIT="1"))
    assert code != 0 and len(calls) == 1 and "verification failed" in err


# -- credential split ---------------------------------------------------------------------------


def splits_doc(case: Path) -> str:
    out = []
    for s in find_credential_splits(case):
        out.append({
            "variable": s.variable,
            "read": list(s.read_site),
            "publish": list(s.publish_site),
            "other_reads": [list(r) for r in s.other_reads],
        })
    return json.dumps(out, indent=1) + "\n"


@pytest.mark.parametrize("case", SPLIT, ids=[c.name for c in SPLIT])
def test_credential_split(case: Path) -> None:
    # the expectations live in expected/, which is not part of the scanned tree: scan a copy
    got = splits_doc(_copy_inputs(case))
    check(case / "expected" / "splits.json", got)


_COPIES: dict[Path, Path] = {}


def _copy_inputs(case: Path) -> Path:
    import tempfile

    if case not in _COPIES:
        dst = Path(tempfile.mkdtemp(prefix=f"dfix-{case.name}-"))
        for p in case.rglob("*"):
            rel = p.relative_to(case)
            if rel.parts[0] == "expected" or rel.name == "case.toml" or not p.is_file():
                continue
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, dst / rel)
        _COPIES[case] = dst
    return _COPIES[case]


def test_split_sites_name_real_lines() -> None:
    """Every site's line holds what the site says (a variable or the command)."""
    for case in SPLIT:
        for s in find_credential_splits(_copy_inputs(case)):
            for site in (s.read_site, s.publish_site, *s.other_reads):
                line = (case / site.path).read_text(encoding="utf-8").split("\n")[site.line - 1]
                command = site.what.split()[0]
                assert s.variable in line or command in line or "--mount=type=secret" in line, (case.name, site, line)


def test_render_arguments() -> None:
    from refactor.supply import RegistryError

    out = render_signing("notation", "localhost:5000/app:dev", digest_var="PUSHED", key="release")
    assert 'notation sign --key release localhost:5000/app@"${PUSHED}"' in out
    assert ': "${PUSHED:?PUSHED is not set' in out
    out = render_verify("cosign", "app", identity="ci@example.com", issuer="https://issuer.example.com", deploy='kubectl set image deploy/app app="$IMAGE_REF"')
    assert "--certificate-identity ci@example.com" in out and "--certificate-oidc-issuer https://issuer.example.com" in out
    assert out.rstrip().endswith('kubectl set image deploy/app app="$IMAGE_REF"')
    assert "IMAGE_REF=app@" in out
    for bad in (lambda: render_signing("gpg", "app"), lambda: render_signing("cosign", "app", digest_var="1X"),
                lambda: render_signing("cosign", "app@sha256:" + "a" * 64)):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(RegistryError):
        render_verify("cosign", "Bad/Name")
    # a name with a shell metacharacter cannot be valid, so nothing needs quoting; quoting still applies to keys
    out = render_signing("cosign", "app", key="k ey.pem")
    assert "--key 'k ey.pem'" in out

"""Real builds of a fixed-seed sample of generated multi-stage Dockerfiles (tests/gen_dockerfiles.py).

For each seed (``seed-07``): the generated case is written to a context twice.

1. The original, built with ``--build-arg NAME=<canary>`` for each secret (and ``--target`` for the
   stages outside the final lineage that hold one): it builds, the artifact server saw every
   canary, and every canary leaks (in the history at least) — so the case proves something.
2. ``dfix --write --format json`` on the copy (the CLI, as in test_golden_builds.py).
3. If the fix was applied: the rewrite, built with the secrets of the emitted command, builds (every
   consumer of every stage still authenticates: the stand-ins fail on 401, and each decoy is
   checked by a ``RUN test``), the server saw every canary again, and no migrated canary (raw,
   base64, URL-quoted) is in history, image config or any layer file, of the final image or of the
   ``--target`` stages.
4. If it was not applied (not safe): the file is unchanged; the reasons are reported.

Every test writes one value-free JSON line describing the case and its outcome: on stdout (shown
with ``-rP``/``-s``), as the junit property ``generated_case``, and appended to the file named by
``DFIX_GEN_REPORT`` when set. Failures name their class in brackets: ``[dfix crashed]``,
``[build failed]``, ``[server did not see the secret]``, ``[leak found]``, ``[decoy flagged]``,
``[not detected]``, ``[not migrated]``.

The sample is 32 fixed seeds chosen by ``gen_dockerfiles.sample_seeds`` (every shape at least
twice); ``DFIX_GEN_SEEDS=1-400`` (or ``3,17,40-45``) runs those seeds instead, for exploration.

``test_generator_self_check`` (no engine needed) checks the generator's invariants on hypothesis
draws, CRLF included, and that dfix never crashes on them and re-parses what it writes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from gen_dockerfiles import GeneratedCase, check_case, generate, generated_cases, sample_seeds

from .conftest import assert_built, assert_clean, assert_leaked, assert_saw
from .test_golden_builds import _build_args_from_command, _dfix_write, _secrets_from_command

# 32 fixed seeds: every shape the generator makes (from seeds 1-400) at least twice, then the
# smallest seeds (see gen_dockerfiles.sample_seeds)
SEEDS = sample_seeds(32)


def _env_seeds(spec: str) -> list[int]:
    """``DFIX_GEN_SEEDS=1-400`` or ``3,17,40-45``: a long exploration run instead of the sample."""
    out: list[int] = []
    for part in spec.replace(" ", "").split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out += list(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


if os.environ.get("DFIX_GEN_SEEDS"):
    SEEDS = _env_seeds(os.environ["DFIX_GEN_SEEDS"])


class _Failure(Exception):
    pass


def _emit(report: dict, record_property) -> None:
    line = json.dumps(report, sort_keys=True)
    print(line)
    record_property("generated_case", line)
    path = os.environ.get("DFIX_GEN_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


@contextmanager
def _phase(report: dict, label: str, case: GeneratedCase, rewritten: str | None = None):
    """Turn an AssertionError into a failure labelled with its class, showing the Dockerfiles
    (they reference secrets by name only)."""
    try:
        yield
    except AssertionError as exc:
        report["failed"] = label
        shown = f"--- original Dockerfile\n{case.dockerfile}"
        if rewritten is not None:
            shown += f"--- dfix --write output\n{rewritten}"
        raise _Failure(f"[{label}] {case.describe()}\n{exc}\n{shown}") from None


def _build_all(e2e, ctx: Path, case: GeneratedCase, **kw) -> list[tuple[str, object]]:
    """The final image and each ``--target`` stage of ``case.leak_targets``."""
    out = [("final", e2e.build(ctx, **kw))]
    for t in case.leak_targets:
        out.append((t, e2e.build(ctx, extra=["--target", t], **kw)))
    return out


def _finding_summary(doc: dict) -> list[dict]:
    out = []
    for f in doc.get("findings", []):
        fix = f.get("fix") or {}
        out.append({"code": f["code"], "variable": f.get("variable"), "secret": f.get("secret"), "line": f.get("line"),
                    "applicability": fix.get("applicability"), "applied": fix.get("applied"),
                    "reasons": fix.get("reasons", [])})
    return out


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed-{s:02d}")
def test_generated_case_builds_leak_free(seed: int, e2e, tmp_path: Path, record_property) -> None:
    started = time.monotonic()
    case = generate(seed, server=e2e.server.address)
    assert case.buildable
    report: dict = {"seed": seed, "secrets": case.secrets, "decoys": case.decoys, "consumers": case.consumers,
                    "shapes": case.shapes, "stages": case.stages, "targets": case.leak_targets}
    failure = None
    try:
        _run_case(case, e2e, tmp_path, report)
    except _Failure as exc:
        failure = str(exc)
    report["seconds"] = round(time.monotonic() - started, 1)
    _emit(report, record_property)
    if failure is not None:
        pytest.fail(failure, pytrace=False)


def _run_case(case: GeneratedCase, e2e, tmp_path: Path, report: dict) -> None:
    values = {s: e2e.canary(s) for s in case.secrets}
    orig = e2e.context(case.files, "orig")
    fixed = e2e.context(case.files, "fixed")

    # 1. the original builds, reaches the server, and leaks
    with _phase(report, "original build failed", case):
        before = _build_all(e2e, orig, case, build_args=dict(values), env_values=values)
        for _, result in before:
            assert_built(result)
    with _phase(report, "original: server did not see the secret", case):
        for s, c in values.items():
            assert_saw(e2e.server, c, f"the canary of {s} from the original build")
    with _phase(report, "original did not leak", case):
        scans = [e2e.scan(result.tag) for _, result in before]
        for s in case.secrets:
            if not any(r.leaks_for(s, "history") for r in scans):
                for r in scans:
                    assert_leaked(r, s, "history")

    # 2. dfix --write
    with _phase(report, "dfix crashed", case):
        doc = _dfix_write(fixed, ["--write"])
        assert doc["status"] == "ok", f"dfix status {doc['status']}: {doc.get('error')}"
    rewritten = (fixed / "Dockerfile").read_text()
    findings = _finding_summary(doc)
    report["changed"] = doc["changed"]
    report["findings"] = findings
    report["command"] = doc["build"]["command"] if doc.get("build") else None
    report["blind_runs_changed"] = [ln for ln in case.blind_runs if ln not in rewritten.splitlines()]
    with _phase(report, "decoy flagged", case, rewritten):
        flagged = sorted({f["variable"] for f in findings if f["secret"] and f["variable"] in case.decoys})
        assert not flagged, f"decoys reported as secrets: {flagged}"
    with _phase(report, "not detected", case, rewritten):
        missed = [s for s in case.secrets if not any(f["code"] == "DF001" and f["variable"] == s for f in findings)]
        assert not missed, f"no DF001 for {missed}"

    # 4. not applied: nothing changed; report why
    if not doc["changed"]:
        report["applied"] = False
        report["why"] = sorted({r for f in findings if f["secret"] for r in f["reasons"]})
        with _phase(report, "unchanged file was modified", case, rewritten):
            assert (fixed / "Dockerfile").read_bytes() == (orig / "Dockerfile").read_bytes()
        return
    report["applied"] = True

    # 3. the rewrite builds with the emitted secrets, still reaches the server, and leaks nothing
    secrets, secret_files = _secrets_from_command(doc["build"]["command"], fixed)
    migrated = sorted({e["env"] for e in doc["build"]["secrets"] if e.get("env") in values})
    report["migrated"] = migrated
    unmigrated = [s for s in case.secrets if s not in migrated]
    with _phase(report, "not migrated", case, rewritten):
        for s in unmigrated:
            applied = [f for f in findings if f["variable"] == s and f["code"] == "DF001" and f["applied"]]
            assert not applied, f"{s}: its DF001 fix is reported applied, but the build command has no secret for it"
    report["unmigrated"] = unmigrated
    build_args = _build_args_from_command(doc["build"]["command"])
    e2e.server.reset()
    for c in values.values():  # unmigrated secrets still travel as build args
        e2e.server.expect(c)
    with _phase(report, "build failed", case, rewritten):
        after = _build_all(e2e, fixed, case, secrets=secrets, secret_files=secret_files, build_args=build_args,
                           env_values=values)
        for _, result in after:
            assert_built(result)
    with _phase(report, "server did not see the secret", case, rewritten):
        for s in migrated:
            assert_saw(e2e.server, values[s], f"the canary of {s} through the secret mount")
    with _phase(report, "leak found", case, rewritten):
        scan_values = {s: values[s] for s in migrated}
        for where, result in after:
            assert_clean(e2e.scan(result.tag, scan_values))


# -- the generator itself (no engine) ---------------------------------------------------------

def test_fixed_seeds_are_deterministic() -> None:
    for seed in SEEDS:
        a, b = generate(seed), generate(seed)
        assert a.files == b.files and a.secrets == b.secrets and a.consumers == b.consumers


@settings(max_examples=60, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated_cases(crlf=True))
def test_generator_self_check(case: GeneratedCase) -> None:
    """Every draw satisfies the generator's invariants (parses as BuildKit would, every secret has
    a consumer, every copied file is in the context); dfix exits 0/1 on it and re-parses its write."""
    from helpers import run
    from refactor.source import SourceFile
    from refactor.syntax.dockerfile import parse

    check_case(case)
    with tempfile.TemporaryDirectory(prefix="dfix-gen-") as tmp:
        for rel, data in case.files.items():
            p = Path(tmp) / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data.encode())
        code, out, err = run(["--write", "--format", "json", "Dockerfile"], cwd=tmp)
        assert code in (0, 1), err
        doc = json.loads(out)["files"][0]
        assert doc["status"] == "ok"
        text = (Path(tmp) / "Dockerfile").read_bytes()
        parse(SourceFile.from_bytes("Dockerfile", text))
        if "crlf" in case.shapes:
            assert b"\n" not in text.replace(b"\r\n", b""), "dfix wrote a bare LF into a CRLF file"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q", "-p", "no:randomly"]))

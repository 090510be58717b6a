"""Issue #20's time rule on the repeated shapes a session-8 probe found superlinear: each shape
repeated 2,000 times (30–120 KB), report mode, held to the fuzz harness's per-call CPU budget
(``test_fuzz.budgeted_run``), after ``test_fuzz.cold_start``.

CPU seconds at 500 → 2,000 repetitions before the fixes (session 8, 2-core machine):

==============  ============  =================================================================
shape           before        what was quadratic (or worse)
==============  ============  =================================================================
stage_chain     2.3 → 118.6   every stage's layers rebuilt over its whole chain; one planner
                              reason per blocked write carried by every finding (250,000 lines
                              printed); per-path scans of every RUN for removers and readers
heredocs        2.1 → 119.8   one "exec-form or heredoc RUN" reason per (write, later RUN) pair
long_run        0.8 → 11.3    ``Node.parent`` of each of 2,000 nested list nodes; each write
                              rescanned the rest of its RUN for an ``rm``
workdirs        1.0 → 11.7    the rewrite check listed one violation per (dropped write, later
users           0.9 → 12.5    RUN) pair (560 MB)
env_chain       1.7 → 6.0     each alias's chain re-followed per RUN; carriers found by a list scan
rewrites        182 s at      (session 9) each RUN writing ~/.npmrc got every earlier RUN's write
                1,000         folded in before its own: output and checking quadratic
==============  ============  =================================================================

After: each under 1 s at 2,000 (quiet machine). The output is linear too: a fix blocked by many
writes keeps 12 reasons and counts the rest (``Fix.lower``).
"""

from __future__ import annotations

import pytest
import test_fuzz
from test_fuzz import budgeted_run

N = 2000

SHAPES = {
    "env_literals": lambda n: "FROM a\n" + "".join(f"ENV API_TOKEN_{i}=s3cr3tValue{i:06d}xyz\n" for i in range(n)),
    "env_chain": lambda n: "FROM a\nARG NPM_TOKEN\nENV A0=$NPM_TOKEN\n" + "".join(f"ENV A{i + 1}=$A{i}\n" for i in range(n)) + "RUN npm ci\n",
    "stages": lambda n: "ARG NPM_TOKEN\n" + "".join(f"FROM alpine AS s{i}\nARG NPM_TOKEN\nRUN npm ci\n" for i in range(n)),
    "stage_chain": lambda n: "FROM alpine AS s0\nARG NPM_TOKEN\n"
    + "".join(f"FROM s{i} AS s{i + 1}\nENV X{i}=1\nRUN echo $NPM_TOKEN > /t{i}\n" for i in range(n)),
    "labels": lambda n: "FROM a\nARG NPM_TOKEN\n" + "".join(f"LABEL l{i}=$NPM_TOKEN\n" for i in range(n)),
    "runs_ref": lambda n: "FROM a\nARG NPM_TOKEN\n" + "".join(f'RUN curl -H "Authorization: $NPM_TOKEN" https://x/{i}\n' for i in range(n)),
    "onbuild": lambda n: "FROM a\nARG NPM_TOKEN\n" + "".join(f"ONBUILD RUN echo $NPM_TOKEN > /x{i}\n" for i in range(n)),
    "long_run": lambda n: "FROM a\nARG NPM_TOKEN\nRUN " + " && ".join(f"echo $NPM_TOKEN > /f{i}" for i in range(n)) + "\n",
    "copies": lambda n: "FROM a\nARG NPM_TOKEN\n" + "".join(f"COPY f{i} /d{i}/\n" for i in range(n)) + "RUN npm ci\n",
    "pragmas": lambda n: "FROM a\n" + "".join(f"# dfix: ignore[DF001]\nARG TOKEN_{i}\n" for i in range(n)),
    "heredocs": lambda n: "FROM a\nARG NPM_TOKEN\n" + "".join(f"RUN <<EOF\necho $NPM_TOKEN > /h{i}\nEOF\n" for i in range(n)),
    "workdirs": lambda n: "FROM a\nARG NPM_TOKEN\n" + "".join(f"WORKDIR /w{i}\nRUN echo $NPM_TOKEN > f && rm f\n" for i in range(n)),
    # each RUN writes ~/.npmrc and reads it: each fold repeated every earlier write (1,000: 182 s)
    "rewrites": lambda n: "FROM a\nARG NPM_TOKEN\n" + "".join('RUN echo "//r/:_authToken=$NPM_TOKEN" > ~/.npmrc && npm ci\n' for i in range(n)),
    "users": lambda n: "FROM a\nARG NPM_TOKEN\n" + "".join(f"USER u{i}\nRUN echo $NPM_TOKEN > ~/.npmrc\n" for i in range(n)),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_repeated_shape_finishes_in_budget_and_prints_linearly(shape: str, tmp_path) -> None:
    text = SHAPES[shape](N)
    p = tmp_path / "Dockerfile"
    p.write_text(text)
    test_fuzz.cold_start()
    _code, out, err = budgeted_run(["--no-cache", str(p)], f"{shape} x {N} ({len(text):,} bytes)")
    lines = len(out.splitlines()) + len(err.splitlines())
    assert lines <= 20 * N, f"{shape}: {lines:,} lines of output for {N:,} repetitions"


def test_a_fix_keeps_twelve_reasons_and_counts_the_rest() -> None:
    from refactor.fixes.edit import MAX_REASONS, Applicability, Fix

    fix = Fix("t", [])
    for i in range(40):
        fix.lower(Applicability.DISPLAY_ONLY, f"reason {i}")
        fix.lower(Applicability.UNSAFE, f"reason {i}")  # a repeat counts once, and never raises it back
    assert fix.applicability == Applicability.DISPLAY_ONLY
    assert fix.reasons[:MAX_REASONS] == [f"reason {i}" for i in range(MAX_REASONS)]
    assert fix.reasons[MAX_REASONS:] == [f"and {40 - MAX_REASONS} more reasons of the same kind (each is a finding of its own)"]

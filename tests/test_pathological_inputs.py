"""Issue #20's time rule (every input under 1 MB finishes in under 2 s) on the three inputs the fuzz
harness's shapes did not reach, each generated here (no big file is committed) and held to the
harness's per-call CPU budget (``test_fuzz.budgeted_run``: getrusage around the in-process call,
ITIMER_PROF interrupting a runaway; a call over budget fails the test, it is not a benchmark).
``test_fuzz.cold_start`` clears dfix's memos before each call, so each pays what a fresh process pays.

* one RUN of ~1 MB of error-dense shell text (``} (<`` repeated: tree-sitter-bash spends ~50 µs on
  each syntax error, 47 s in all): such a text is not parsed (refactor/fixes/_check_shell_errors.py),
  the analysis is uncertain and mounts the secret on it, the rewrite check refuses to judge it;
* thousands of committed credentials: every printed line was asked about every known value
  (refactor/render/masking.py, 2,500 lines: 4 s, 1 MB: minutes);
* thousands of RUNs running a tool with a config file (``npm ci`` reads ``.npmrc``) while a secret
  no tool reads by name is in scope: each RUN rescanned every earlier RUN and COPY
  (refactor/fixes/mounts_reads.py, 24,000 RUNs: 27 s).

Session 8 took the 1 MB versions of the last two from 217 s and 4.2 s to 4.6 s and 1.7 s (quiet
machine, CPU): the Dockerfile is parsed twice instead of six times (a memo of the last few models),
``Facts.visible_at`` is a view over per-stage layers instead of a dict rebuilt per RUN (quadratic in
ENV lines), the mask index no longer walks every head per text (``set.intersection(dict)``), a
result knowing over 64 secret values is not stored in the cache (proving each absent from every
string was quadratic), the collector runs less often, RUNs of the same text share their effects.
1.7 s left too little margin under the suite's load on 2 cores, so the many-RUN test ran 17,800
RUNs (748 KB, 1.25 s quiet), and since session 9, on a slower machine, 11,800 (500 KB); the 1 MB literal file stays a strict xfail: its time is spread over
every stage (literal scan 0.9 s, planning 1.2 s, rewrite check 1.2 s, two parses 0.5 s).
"""

from __future__ import annotations

import os
import random
import string
from pathlib import Path

import pytest
import test_fuzz
from test_fuzz import budgeted_run

MB = 1_000_000
MODES = (["-q"], ["--diff", "-q"], ["--write", "-q"])


def _run_of(unit: str, size: int = MB) -> str:
    """A Dockerfile with one RUN of ``unit`` repeated to ``size`` bytes (continued lines of ~1 KB:
    BuildKit refuses a line over 64 KiB), then a RUN that reads the secret."""
    head = "FROM alpine:3.20\nARG NPM_TOKEN\nRUN "
    line = unit * max(1, 1000 // len(unit)) + " \\\n"
    return head + line * ((size - len(head) - 40) // len(line)) + " true\nRUN npm ci\n"


def _literals(lines: int) -> str:
    """Committed GitHub tokens, one per line, in ENV values and RUN ``curl -u`` options."""
    rnd = random.Random(20)
    out = ["FROM alpine:3.20\n", "ARG NPM_TOKEN\n", "ARG GH_TOKEN\n", "RUN npm ci\n"]
    for i in range(lines):
        tok = "ghp_" + "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(36))
        out.append(f"RUN curl -u u:{tok}\n" if i % 2 else f"ENV X={tok}\n")
    return "".join(out)


def _tool_runs(runs: int) -> str:
    """``runs`` RUNs, half ``npm ci`` (npm reads ``.npmrc``), half ``cat .npmrc``, with GH_TOKEN (which
    npm does not read by name) in scope."""
    pad = " && echo " + "x" * 20
    return "FROM alpine:3.20\nARG GH_TOKEN\n" + "".join(
        ("RUN npm ci" if i % 2 == 0 else "RUN cat .npmrc") + pad + "\n" for i in range(runs)
    )


def _each_mode(tmp_path: Path, text: str, shape: str) -> dict[str, tuple[int, str, str, str]]:
    """Report, --diff and --write on a fresh copy each, every call within the budget:
    mode -> (exit code, stdout, stderr, the file afterwards)."""
    out = {}
    for i, mode in enumerate(MODES):
        p = tmp_path / str(i) / "Dockerfile"
        p.parent.mkdir()
        p.write_text(text)
        test_fuzz.cold_start()
        code, so, se = budgeted_run([*mode, str(p)], f"{shape} ({len(text)} bytes)")
        out[mode[0]] = (code, so, se, p.read_text())
    return out


# ("$( ((" is left out: it holds no syntax error, and its 1.3 s quiet took 2.6 s of CPU under the CI suite's load)
@pytest.mark.parametrize("unit", ["} (<", "{ (<", ") (", "} ;"])
def test_a_megabyte_run_of_error_dense_shell_finishes_in_budget(tmp_path, unit: str) -> None:
    text = _run_of(unit)
    assert MB - 2_000 < len(text) <= MB
    got = _each_mode(tmp_path, text, f"one RUN of {unit!r}")
    code, _out, err, _ = got["-q"]
    assert code == 1, err
    # sound: the text nobody can follow still gets the secret (the analysis is uncertain), never less
    code, diff, err, _ = got["--diff"]
    assert code == 1, err
    assert "+RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN " + unit[:2] in diff, diff[:400]
    code, _out, err, written = got["--write"]
    assert code in (0, 1), err
    assert written == text or written.splitlines()[1].startswith("RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN ")


def test_an_error_dense_run_is_not_parsed_but_a_long_clean_one_is() -> None:
    from refactor.analysis.shell_parse import bounded_parse
    from refactor.fixes._check_shell_parse import parse_script
    from refactor.syntax.shell_guard import obvious_errors, too_erroneous

    dense = "} (<" * 2_000
    assert too_erroneous(dense) and bounded_parse(dense.encode()) is None and parse_script(dense).error
    clean = (
        "case $x in a) echo 1;; (b|c) echo 2;; esac\n"
        "f() { echo hi; }\n{ a; b; } > log 2>&1\n"
        "diff <(sort a) <(sort b) && cat < f > g\n"
        "cat > f <<'EOF'\n) } | | ;; <\nEOF\n"
        "echo \"$(date) ${x:-)}\" '}' \\} # ) }\n"
    ) * 100
    assert obvious_errors(clean, 10**9) == 0
    tree = bounded_parse(clean.encode())
    assert tree is not None and not tree.root_node.has_error
    assert not parse_script(clean).error
    short = "} (<" * 1_000  # a short text is parsed whatever it holds (its errors cost little)
    assert not too_erroneous(short) and bounded_parse(short.encode()) is not None


# The default suite runs the two scale tests below at the size where the quadratic code they guard
# against is still over the budget (~2.6 s and ~2.1 s) and the fixed code has about 2x margin: the
# CPU time of a call grows by up to 1.5x when the suite's workers share the 2 cores (the full sizes,
# 1.2 s and 1.3 s quiet, went over 2 s in CI). DFIX_FUZZ_EXAMPLES (the long fuzz runs) runs them at
# the full sizes.
_FULL = bool(os.environ.get("DFIX_FUZZ_EXAMPLES"))


def test_thousands_of_committed_credentials_print_in_budget(tmp_path) -> None:
    n = 3_000 if _FULL else 2_000  # 3,000: 150 KB, 5.8 s before the masks were indexed (2,000: ~2.6 s)
    text = _literals(n)
    got = _each_mode(tmp_path, text, f"{n:,} committed tokens")
    assert got["-q"][0] == 1
    assert "<redacted" in got["-q"][1] and "ghp_" not in got["-q"][1] + got["-q"][2]


def test_thousands_of_tool_runs_plan_in_budget(tmp_path) -> None:
    n = 8_000 if _FULL else 6_000  # 8,000 RUNs, 340 KB: 3.7 s before the config-file reads were indexed (6,000: ~2.1 s)
    text = _tool_runs(n)
    got = _each_mode(tmp_path, text, f"{n:,} npm RUNs")
    code, diff, err, _ = got["--diff"]
    assert code == 1, err
    # npm runs the project's install scripts, which may read it: every one is mounted, none forgotten
    assert diff.count("+RUN --mount=type=secret,id=gh_token,env=GH_TOKEN npm ci") == n // 2
    assert got["-q"][0] == 1


def test_masking_with_an_index_masks_what_asking_every_value_masks() -> None:
    from refactor.render import masking

    rnd = random.Random(7)
    words = ["changeme", "hunter22", "s3cr3t!", "docker", "aB1!", "x" * 20]
    masks = tuple(words + ["ghp_" + "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(36)) for _ in range(200)])
    texts = [
        f"PASSWORD={masks[i % len(masks)]} user:{masks[(i * 7) % len(masks)]}@h password {words[i % len(words)]} "
        + masks[(i * 3) % len(masks)][: 4 + i % 40]
        for i in range(400)
    ] + ["", "plain", masks[10] + masks[10], "KEY: changeme", "TOK = 'hunter22'"]
    for t in texts:
        assert masking.spans(t, masks) == masking._spans(t, [m for m in set(masks) if m]), t
        assert masking.spans(t, list(masks)) == masking.spans(t, masks)


@pytest.mark.xfail(
    strict=True,
    reason="4.6 s of CPU spread over every stage at 19,000 literals: scan 0.9, planning 1.2, rewrite check 1.2, two parses 0.5",
)
def test_a_megabyte_of_committed_credentials_finishes_in_budget(tmp_path) -> None:
    text = _literals(19_000)
    assert len(text) <= MB
    p = tmp_path / "Dockerfile"
    p.write_text(text)
    test_fuzz.cold_start()
    budgeted_run(["-q", str(p)], "19,000 committed tokens")


def test_half_a_megabyte_of_tool_runs_finishes_in_budget(tmp_path) -> None:
    # 1 MB (23,000 RUNs) took 1.7 s on session 8's machine; 17,800 RUNs (750 KB) 2.1-3.2 s of CPU on
    # session 9's, the code of session 8 included: 11,800 RUNs (500 KB) keep a margin (#20: open)
    text = _tool_runs(11_800)
    assert len(text) <= MB // 2
    p = tmp_path / "Dockerfile"
    p.write_text(text)
    test_fuzz.cold_start()
    code, out, err = budgeted_run(["-q", str(p)], "11,800 npm RUNs")
    assert code == 1, err


def test_masks_occur_where_asking_every_value_finds_them() -> None:
    from refactor.render import masking

    rnd = random.Random(8)
    masks = ["ghp_" + "".join(rnd.choice(string.ascii_letters) for _ in range(36)) for _ in range(300)] + ["short", "changeme"]
    texts = [f"line {k}: {masks[k % len(masks)][: 6 + k % 40]} and more" for k in range(500)]
    texts += ["", "x", masks[7], "pre" + masks[299] + "post", "a short b", "changeme"]
    for t in texts:
        for few in (masks[:10], masks):
            assert masking.occurs([t], few) == any(m in t for m in few), t
    assert not masking.occurs(texts[:400], masks[:1]) or any(masks[0] in t for t in texts[:400])


def test_the_undecided_runs_note_names_ten_and_counts_the_rest(tmp_path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_text(_tool_runs(30))  # 15 npm ci RUNs GH_TOKEN is mounted on, undecided
    from helpers import run

    code, out, err = run(["-q", "--no-cache", str(p)])
    assert code == 1, err
    (note,) = [ln for ln in out.splitlines() if "could not be decided" in ln]
    assert note.count("npm ci") == 10 and note.endswith("line 21: npm ci; and 5 more RUNs)"), note


def _secret_args(n: int) -> str:
    return "FROM alpine:3.20\n" + "".join(f"ARG API_TOKEN_{i}\n" for i in range(n)) + 'RUN curl -H "Authorization: Bearer $API_TOKEN_1" https://x\n'


def test_thousands_of_secret_args_plan_in_budget(tmp_path) -> None:
    """Issue #20 point 10 (1,000 secret ARGs: 5.9 s, 10,000: minutes): plan_secret walked every
    item of the file for each secret and the engine asked every finding for each plan, so 10,000
    secret ARGs still took 7.5 s (45,000, 889 KB: 145 s). 8,000 (170 KB): ~1.2 s on session 8's
    machine, 1.55-1.7 s of CPU on session 13's (out of process, the session's first and last code
    alike), which went over the 2.3 s budget once inside the loaded suite: 6,000 keep the margin
    and still fail any quadratic form by far (1,000 took 5.9 s before the fix)."""
    p = tmp_path / "Dockerfile"
    p.write_text(_secret_args(6_000))
    test_fuzz.cold_start()
    code, out, err = budgeted_run(["-q", "--no-cache", str(p)], "6,000 secret ARGs")
    assert code == 1 and out.count("DF001") == 6_000, err


def test_thousands_of_ignore_pragmas_finish_in_budget(tmp_path) -> None:
    """10,000 ``# dfix: ignore[DF001]`` comments, each above a secret ARG (360 KB). Session 10: the
    engine counted newlines from the start of the text for each comment's line number and the build
    spec kept its build args in a list it searched for each one: 8,000 took 3.7 s of CPU, 2,000 0.5 s."""
    p = tmp_path / "Dockerfile"
    p.write_text("FROM a\n" + "".join(f"# dfix: ignore[DF001]\nARG TOKEN_{i}\n" for i in range(10_000)))
    test_fuzz.cold_start()
    code, out, err = budgeted_run(["--no-cache", str(p)], "10,000 ignore pragmas")
    assert code in (0, 1) and "DF001" not in out, err


def test_a_thousand_secrets_on_one_run_line_finish_in_budget(tmp_path) -> None:
    """1,000 secret ARGs all read by one RUN (33 KB). Session 10: together their 1,000 mounts take
    the RUN line over BuildKit's 64 KiB limit, the check refuses the whole, and the gate then
    checked each fix alone on top of the accepted ones (1,000 checks of the whole file: 87 s, where
    800 secrets took 1 s). Now by halves within a check budget; what is not reached is refused."""
    p = tmp_path / "Dockerfile"
    n = 1_000
    p.write_text(
        "FROM a\n" + "".join(f"ARG T{i}_TOKEN\n" for i in range(n)) + "RUN curl " + " ".join(f'-H "X: $T{i}_TOKEN"' for i in range(n)) + " x\n"
    )
    test_fuzz.cold_start()
    code, out, err = budgeted_run(["-q", "--no-cache", str(p)], "1,000 secrets on one RUN line")
    assert code == 1 and out.count("DF001") == n, err


def test_a_thousand_secrets_each_written_by_its_own_run_finish_in_budget(tmp_path) -> None:
    """1,000 pairs of ``ARG TOKEN_i`` and ``RUN echo $TOKEN_i > /ti`` (41 KB). Session 10 (found by a
    helper's scaling probe): the planner asked every RUN about every secret, and rebuilt its
    per-file indexes of removers, readers and rewriting RUNs for each secret: 1.7 s at 250, 15.5 s
    at 1,000. It now asks only the RUNs that name a carrier or may read a variable unnamed
    (``Facts.run_readers``), and keeps the indexes per file (``Facts.memo``): 1 s."""
    p = tmp_path / "Dockerfile"
    p.write_text("FROM a\n" + "".join(f"ARG TOKEN_{i}\nRUN echo $TOKEN_{i} > /t{i}\n" for i in range(1_000)))
    test_fuzz.cold_start()
    code, out, err = budgeted_run(["-q", "--no-cache", str(p)], "1,000 secrets each written by a RUN")
    assert code == 1 and out.count("DF007") == 1_000, err


def test_a_thousand_aliases_across_stages_finish_in_budget(tmp_path) -> None:
    """A chain of 1,000 stages, each ``FROM`` the last, aliasing the secret once more (``ENV
    A{i+1}=$A{i}``) and writing it (53 KB). Session 10 (the helper's probe): every RUN was asked
    about every alias (``Carriers.live`` over all carrier names): 9.1 s. A RUN that reads only what
    it names is asked only about the carriers it names: 0.7 s."""
    p = tmp_path / "Dockerfile"
    p.write_text(
        "FROM alpine AS s0\nARG NPM_TOKEN\nENV A0=$NPM_TOKEN\n"
        + "".join(f"FROM s{i} AS s{i + 1}\nENV A{i + 1}=$A{i}\nRUN echo $A{i + 1} > /f\n" for i in range(1_000))
    )
    test_fuzz.cold_start()
    code, out, err = budgeted_run(["-q", "--no-cache", str(p)], "1,000 aliases across stages")
    assert code == 1 and "DF007" in out, err


@pytest.mark.xfail(strict=True, reason="45,000 secret ARGs (889 KB): 6.6 s, linear at ~145 µs per secret (plan 3.7, plan acceptance 3.0, check 0.8)")
def test_a_megabyte_of_secret_args_plans_in_budget(tmp_path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_text(_secret_args(45_000))
    test_fuzz.cold_start()
    budgeted_run(["-q", "--no-cache", str(p)], "45,000 secret ARGs")

"""Fuzzing the hardening shapes of issue #20, round two (strategies in tests/strategies.py).

Every example goes through the harness of tests/test_fuzz.py (``_check_file``: exit codes, read-only
modes never write, only the edited spans change, the rewrite parses for us and for BuildKit's Go
parser, a second ``--write`` is a no-op, stdin prints what ``--write`` writes), with the per-input
time budget (2 s of CPU time per dfix call, ``budgeted_run``) and canaries, credentials in real
token formats that no output of any mode or format may print. On top of that:

* fixed files (``run_shapes``: trailing comments, ``;``/``&``/``|`` endings, ``exit``, exec form,
  heredocs, continuations with comments between): a variable whose fix ``--write`` reports applied
  is declared by no ARG any more and its literal default is gone; an appended clean-up runs: it is
  a command joined with ``&&``, not in a comment or a string, after no ``exit``/``exec`` that ends
  the shell first, and the rewrite adds no shell syntax error (tree-sitter-bash, independent of
  dfix's own checker); a bare ``RUN <<EOF`` script gets no shell text around it; ``--check`` after
  ``--write`` finds nothing to change, and ``--write --format json`` writes what ``--write`` writes;
* parse errors around secret values (``broken_shapes``): no format prints the value;
* pathological regex inputs up to ~100 KB (``pathological_shapes``): all of the above in budget;
* Python callers nested 50-3,000 deep in 20 shapes (``python_caller_shapes``): every run over the
  directory ends (exit 0/1, or 2 with the error naming build.py), names build.py (a finding or a
  reason), reports both Dockerfiles, never prints the canary, and writes build.py exactly when it
  migrates the Dockerfile (and then it still compiles).

Budget: derandomized, fixed example counts like tests/test_fuzz.py (about 30 s on 2 cores in all);
``DFIX_FUZZ_EXAMPLES=N`` runs N random examples of each.
"""

from __future__ import annotations

import json
import re
import shlex
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import pytest
import test_fuzz
from hypothesis import event, given
from hypothesis import strategies as st
from strategies import CANARY_FORMATS, Shaped, broken_shapes, pathological_shapes, python_caller_shapes, run_options, run_shapes
from test_fuzz import Written, _check_file, _find_all, assert_no_canary, budgeted_run, fuzz_settings, ours

from refactor.syntax.dockerfile import Instruction, _is_json_array

ALL_FORMATS = ("text", "json", "sarif", "github", "markdown", "gitlab", "checkstyle", "junit")

# Known bugs, tolerated by the properties so that long runs keep finding new ones. Each has a strict
# xfail test at the end of this file: turn its switch off when that test starts passing.
# (test_fuzz.KNOWN_TWO_PASS_WRITE and KNOWN_STDIN_IGNORES_CALLERS, in the harness, are two more.)
KNOWN_FLAG_WORD_LEAK = False  # test_a_credential_in_a_mount_flag_is_never_printed
KNOWN_KEYWORD_LEAK = False  # test_a_credential_as_an_instruction_keyword_is_never_printed
KNOWN_BLANK_SYNTAX_CRASH = False  # test_a_blank_syntax_directive_is_no_internal_error
KNOWN_QUADRATIC_LITERAL_SCAN = False  # test_repeated_credential_options_finish_in_budget
KNOWN_QUADRATIC_SHELL_PARSE = False  # test_a_run_of_pipes_finishes_in_budget


def checked_canaries(shaped: Shaped) -> tuple[str, ...]:
    """The canaries no output may print (minus those a known bug prints, while its switch is on)."""
    df = ours(shaped.dockerfile)
    ins = df.instructions if df is not None else ()
    known = []
    if KNOWN_FLAG_WORD_LEAK:
        known += [f.word for i in ins for f in i.effective.flags]
    if KNOWN_KEYWORD_LEAK:
        known += [i.keyword for i in ins] + [i.effective.keyword for i in ins]
    kept = tuple(c for c in shaped.canaries if not any(c.lower() in k.lower() for k in known))
    if kept != shaped.canaries:
        event("known bug tolerated: a credential in a RUN --mount flag word or an instruction keyword")
    return kept


# --------------------------------------------------------------------------------------------
# does an appended clean-up run? (tree-sitter-bash, not dfix's checker)


@lru_cache(maxsize=1)
def _bash():
    import tree_sitter_bash
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bash.language()))


_STATEMENTS = {"command", "compound_statement", "subshell", "list", "pipeline", "redirected_statement", "if_statement",
               "test_command", "negated_command", "variable_assignment", "declaration_command"}
_OWN_SHELL = {"subshell", "command_substitution", "process_substitution", "function_definition", "pipeline"}


def _syntax_errors(script: str) -> int:
    tree = _bash().parse(script.encode())
    count, stack = 0, [tree.root_node]
    while stack:
        n = stack.pop()
        count += n.type == "ERROR" or n.is_missing
        stack.extend(n.children)
    return count


def _ends_the_shell(node) -> str | None:
    """An ``exit`` that may succeed (not a literal non-zero status) or an ``exec`` of a command,
    run by this shell (not in a subshell, substitution, function or pipeline), inside ``node``."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in _OWN_SHELL:
            continue
        if n.type == "command":
            name = n.child_by_field_name("name")
            word = name.text.decode() if name is not None else ""
            args = [c.text.decode() for c in n.children_by_field_name("argument")]
            if word == "exit" and not (args and re.fullmatch(r"[1-9][0-9]*", args[0])):
                return f"`{n.text.decode()}`"
            if word == "exec" and args:
                return f"`{n.text.decode()}`"
        stack.extend(n.children)
    return None


def cleanup_problem(script: str, at: int) -> str | None:
    """Why the clean-up that starts after the `` && `` at character ``at`` of ``script`` would not
    run, or None."""
    b = len(script[: at + 4].encode())
    tree = _bash().parse(script.encode())
    node = tree.root_node.named_descendant_for_byte_range(b, b)
    stmt, n = None, node
    while n is not None and n.start_byte == b:
        if n.type in _STATEMENTS:
            stmt = n
        n = n.parent
    if stmt is None:
        return f"it is not a command of its own (it is in a {node.type if node is not None else '?'})"
    prev = stmt.prev_sibling
    if prev is None or prev.type != "&&":
        return f"it is not joined with && (after {prev.type if prev is not None else 'nothing'})"
    child = stmt
    while child.parent is not None:
        parent = child.parent
        if parent.type == "ERROR":
            return "it is part of a shell syntax error"
        for sib in parent.children:
            if sib.start_byte >= child.start_byte:
                break
            if (why := _ends_the_shell(sib)) is not None:
                return f"it comes after {why}, which ends the shell first"
        child = parent
    return None


_BARE_HEREDOC = re.compile(r"<<-?(['\"]?)[A-Za-z_][A-Za-z0-9_]*\1")


def _suffix_start(oi: Instruction, nj: Instruction) -> int | None:
    """Where the new RUN's appended suffix (`` && …``) starts in its logical arguments, or None.
    The new arguments are ``prefix + core + suffix`` (see test_fuzz's edited-spans comment); the
    core equal to the old arguments (or to the exec form's ``shlex.join``) is the longest one."""
    old_args, new_args = oi.effective.args, nj.effective.args
    if new_args == old_args:
        return None
    cores = {old_args}
    if _is_json_array(old_args):
        try:
            cores.add(shlex.join(json.loads(old_args)))
        except (ValueError, TypeError):
            pass
    seps = _find_all(new_args, " && ")
    best = None
    for pe in [0] + [i + 4 for i in seps]:
        for ss in [i for i in seps if i >= pe]:
            if new_args[pe:ss] in cores and (best is None or ss > best):
                best = ss
    return best


def _script(df, ins: Instruction, args: str) -> str:
    """The RUN's shell text: the logical arguments, then the heredoc bodies (if any)."""
    return args + ("\n" + df.text[ins.logical_end : ins.end] if ins.heredocs else "")


def assert_cleanups_run(w: Written) -> int:
    """Each rewritten RUN: an appended clean-up runs, no shell syntax error is added, a bare
    heredoc script keeps its bare opener. Returns how many clean-ups were checked."""
    old_df, new_df = ours(w.old), ours(w.new)
    checked = 0
    for oi, nj in w.pairs:
        if oi.effective.cmd != "run" or w.old[oi.start : oi.end] == w.new[nj.start : nj.end]:
            continue
        old_args, new_args = oi.effective.args, nj.effective.args
        if _BARE_HEREDOC.fullmatch(old_args.strip()):
            assert new_args.strip() == old_args.strip(), f"line {nj.start_line}: shell text around a bare heredoc script: {new_args!r}"
        old_shell = old_args
        if _is_json_array(old_args):
            try:
                old_shell = shlex.join(json.loads(old_args))
            except (ValueError, TypeError):
                pass
        old_script, new_script = _script(old_df, oi, old_shell), _script(new_df, nj, new_args)
        if not _is_json_array(new_args) and _syntax_errors(old_script) == 0:
            assert _syntax_errors(new_script) == 0, f"line {nj.start_line}: the rewrite adds a shell syntax error: {new_args!r}"
        at = _suffix_start(oi, nj)
        if at is not None:
            why = cleanup_problem(new_script, at)
            assert why is None, f"line {nj.start_line}: the appended clean-up {new_args[at:]!r} never runs: {why}; RUN {new_args!r}"
            checked += 1
    return checked


# --------------------------------------------------------------------------------------------
# the properties of a fixed file


def _arg_names(df) -> set[str]:
    names = set()
    for ins in df.instructions:
        if ins.effective.cmd == "arg":
            for item in ins.effective.args.split():
                names.add(item.split("=", 1)[0].strip("\"'"))
    return names


def assert_migrated_defaults_gone(w: Written, old_df, applied: set[str], canaries, findings: list[dict]) -> None:
    """A migrated ARG's literal default is gone from the file.

    Not stricter than that: the same credential may also be committed elsewhere on its own, as the
    literal of an ENV, LABEL, RUN or comment that never reads the ARG (``ENV GITHUB_TOKEN=<c>``
    beside ``ARG NPM_TOKEN=<c>``; the canaries are drawn independently and may coincide). The ARG's
    fix never claims that copy (it rewrites only what reads the ARG, and one that expands the ARG,
    ``ENV X=${NPM_TOKEN}``, is a carrier the fix removes or mounts). Such a copy is a committed
    literal of its own, DF003 on its own line (masked in every output: the harness checks that).
    So: the file keeps no more copies than the old file held outside the migrated defaults, and
    each line that held one is reported by DF003."""
    text = w.old.decode("utf-8", "replace")
    for c in canaries:
        in_defaults = 0
        for ins in old_df.instructions:
            if ins.effective.cmd == "arg":
                for item in ins.effective.args.split():
                    name, _, value = item.partition("=")
                    if name in applied:
                        in_defaults += value.count(c)
        if not in_defaults:
            continue
        held = text.count(c) - in_defaults  # the copies outside the migrated defaults
        assert w.new.count(c.encode()) <= held, f"migrated, its literal default is still in the file ({sorted(applied)})"
        if c.encode() not in w.new:
            continue
        migrated_lines = {
            ins.start_line
            for ins in old_df.instructions
            if ins.effective.cmd == "arg" and any(it.partition("=")[0] in applied and c in it for it in ins.effective.args.split())
        }
        lines = {text.count("\n", 0, m.start()) + 1 for m in re.finditer(re.escape(c), text)} - migrated_lines
        reported = {n for f in findings if f["code"] == "DF003" for n in range(f["line"], (f.get("end_line") or f["line"]) + 1)}
        assert lines <= reported, f"lines {sorted(lines - reported)} keep a migrated ARG's credential and are not reported as DF003"


def fixed_file_properties(opts: list[str], shaped: Shaped):
    def after(w: Written) -> None:
        doc = json.loads(w.write_out)
        findings = [f for f_ in doc["files"] for f in f_["findings"]]
        applied = {f["variable"] for f in findings if f["code"] == "DF001" and f["fix"] and f["fix"]["applied"]}
        if applied:
            assert w.new != w.old, f"fixes of {sorted(applied)} reported applied, the file is unchanged"
        # the secret is gone: no ARG declares it, its literal default is not in the file
        new_df, old_df = ours(w.new), ours(w.old)
        assert new_df is not None and old_df is not None  # _check_file calls after() for valid inputs only
        still = applied & _arg_names(new_df)
        assert not still, f"{sorted(still)}: reported migrated, still declared by an ARG"
        assert_migrated_defaults_gone(w, old_df, applied, shaped.canaries, findings)
        checked = assert_cleanups_run(w)
        event(f"{'changed' if w.new != w.old else 'unchanged'}; {len(applied)} secret build arg(s) migrated; {checked} clean-up(s) checked")
        # --check after --write: nothing left to change, no applied secret reported again
        code, out, err = budgeted_run(["--check", *opts, "--format", "json", str(w.path)], shaped.shape)
        assert code in (0, 1), err
        assert_no_canary(out + err, checked_canaries(shaped), "dfix --check after --write")
        check = json.loads(out)
        if w.path.read_bytes() == w.new:  # else the harness's second --write migrated more (KNOWN_TWO_PASS_WRITE)
            assert not any(f_["changed"] for f_ in check["files"]), "--check after --write: the file would still change"
        again = {f["variable"] for f_ in check["files"] for f in f_["findings"] if f["code"] == "DF001"} & applied
        assert not again, f"--check after --write reports migrated secret build args again: {sorted(again)}"
        # --write --format json writes what --write (text) writes
        p2 = w.root / "Dockerfile.text"
        p2.write_bytes(w.old)
        try:
            code, out, err = budgeted_run(["--write", "-q", *opts, str(p2)], shaped.shape)
            assert code in (0, 1), err
            assert p2.read_bytes() == w.new, "--write --format json and --write wrote different files"
        finally:
            p2.unlink()

    return after


# --------------------------------------------------------------------------------------------
# properties


@fuzz_settings(ci_examples=70)
@given(shaped=run_shapes(), opts=run_options(), fmt=st.sampled_from(ALL_FORMATS))
def test_fuzz_run_endings_fix_soundly(shaped: Shaped, opts: list[str], fmt: str) -> None:
    _check_file(shaped.dockerfile, opts, fmt, shaped.context, shape=shaped.shape, canaries=checked_canaries(shaped),
                write_fmt="json", after=fixed_file_properties(opts, shaped))


@fuzz_settings(ci_examples=50)
@given(shaped=broken_shapes(), opts=run_options(), fmt=st.sampled_from(ALL_FORMATS))
def test_fuzz_parse_errors_around_secret_values_never_print_them(shaped: Shaped, opts: list[str], fmt: str) -> None:
    _check_file(shaped.dockerfile, opts, fmt, shaped.context, shape=shaped.shape, canaries=checked_canaries(shaped),
                write_fmt="json", after=fixed_file_properties(opts, shaped))


def _blank_syntax_directive(data: bytes) -> bool:
    df = ours(data)
    syn = df.directive("syntax") if df is not None else None
    return syn is not None and not syn.value.strip()


def _quadratic_shell_parse(data: bytes) -> bool:
    """Inputs on which tree-sitter-bash's error recovery is quadratic (runs of ``|``, ``<``, ``>``;
    dfix parses each RUN's shell text about six times)."""
    return sum(data.count(c) for c in (b"|", b"<", b">")) >= 6_000


def _quadratic_literal_scan(data: bytes) -> bool:
    """Inputs the known quadratic path takes seconds on: every literal candidate of the text is
    looked up again in the whole text (refactor/analysis/literals.py, ``_file_reference``)."""
    from refactor.analysis.literals import scan

    text = data.decode("utf-8", "replace")
    return len(scan(text)) * len(text) >= 5_000_000


@fuzz_settings(ci_examples=24)
@given(shaped=pathological_shapes(), fmt=st.sampled_from(ALL_FORMATS))
def test_fuzz_pathological_inputs_finish_in_budget(shaped: Shaped, fmt: str) -> None:
    if KNOWN_BLANK_SYNTAX_CRASH and _blank_syntax_directive(shaped.dockerfile):
        event("known bug tolerated: a blank # syntax= value is an internal error")
        return
    budget = test_fuzz.CPU_BUDGET_S
    if KNOWN_QUADRATIC_LITERAL_SCAN and _quadratic_literal_scan(shaped.dockerfile):
        event("known bug tolerated: quadratic literal scan (budget lifted to a hang guard)")
        budget = 120.0
    if KNOWN_QUADRATIC_SHELL_PARSE and _quadratic_shell_parse(shaped.dockerfile):
        event("known bug tolerated: quadratic shell parse (budget lifted to a hang guard)")
        budget = 120.0
    _check_file(shaped.dockerfile, [], fmt, shaped.context, shape=shaped.shape, canaries=checked_canaries(shaped), budget=budget)


def _compiles(src: bytes) -> bool:
    try:
        compile(src, "build.py", "exec", dont_inherit=True)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return False
    return True


@fuzz_settings(ci_examples=30)
@given(shaped=python_caller_shapes(), git=st.booleans(), fmt=st.sampled_from(ALL_FORMATS[1:]))
def test_fuzz_deep_python_callers_are_a_reason_never_a_crash(shaped: Shaped, git: bool, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if git:
            (root / ".git").mkdir()
        (root / "Dockerfile").write_bytes(shaped.dockerfile)
        for rel, content in shaped.context.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(content)
        build_py = shaped.context["build.py"]

        def dfix(*args: str) -> tuple[int, str, str]:
            code, out, err = budgeted_run([*args, "."], f"{shaped.shape} ({len(build_py)} bytes)", cwd=root)
            assert code in (0, 1) or (code == 2 and "build.py" in err), (args, code, err[-2000:])
            assert "Traceback" not in out + err and "internal error" not in out + err, err[-2000:]
            assert_no_canary(out + err, shaped.canaries, f"dfix {' '.join(args)}")
            return code, out, err

        _code, out, err = dfix()
        assert "build.py" in out + err, "build.py is named nowhere: neither a finding nor a reason"
        dfix("--format", fmt)
        _code, out, _err = dfix("--diff", "--format", "json")
        doc = json.loads(out)
        files = {f["path"]: f for f in doc["files"]}
        for name in ("Dockerfile", "other/Dockerfile"):
            assert name in files and files[name]["status"] == "ok", (name, sorted(files))
        assert (root / "build.py").read_bytes() == build_py and (root / "Dockerfile").read_bytes() == shaped.dockerfile
        dfix("--check", "--format", "sarif")
        dfix("--write", "--format", "json")
        migrated = b"id=npm_token" in (root / "Dockerfile").read_bytes()
        after = (root / "build.py").read_bytes()
        if migrated:
            assert after != build_py and b"--secret" in after, "the Dockerfile was migrated, its caller was not"
            assert _compiles(after) == _compiles(build_py), "the migrated build.py no longer compiles"
        else:
            assert after == build_py, "build.py was written, its Dockerfile was not migrated"
        state = {p: p.read_bytes() for p in (root / "Dockerfile", root / "build.py", root / "other" / "Dockerfile")}
        dfix("--write", "-q")
        assert {p: p.read_bytes() for p in state} == state, "a second --write changed a file"


# --------------------------------------------------------------------------------------------
# the checkers themselves must be able to fail


@pytest.mark.parametrize("script,at_text,problem", [
    ("npm ci # install deps && rm -f /root/.npmrc", " && rm", "not a command"),
    ("npm ci; exit 0 && rm -f /root/.npmrc", " && rm", "exit 0"),
    ("npm ci || exit 0 && rm -f /root/.npmrc", " && rm", "exit 0"),
    ("npm ci && exit && rm -f /root/.npmrc", " && rm", "exit"),
    ("exec npm ci && rm -f /root/.npmrc", " && rm", "exec npm ci"),
    ("npm ci & && rm -f /root/.npmrc", " && rm", "not joined"),
    ("npm ci | && rm -f /root/.npmrc", " && rm", "not joined"),
    ('echo "unterminated && rm -f /root/.npmrc', " && rm", "not a command"),
    ("npm ci ; && rm -f /root/.npmrc", " && rm", ""),
])
def test_cleanup_check_rejects_clean_ups_that_never_run(script: str, at_text: str, problem: str) -> None:
    why = cleanup_problem(script, script.index(at_text))
    assert why is not None and problem in why, why


@pytest.mark.parametrize("script", [
    "npm ci && rm -f /root/.npmrc",
    "npm ci || true && rm -f /root/.npmrc",
    "(exit 0) && npm ci && rm -f /root/.npmrc",
    'sh -c "npm ci; exit 0" && rm -f /root/.npmrc',
    "npm ci || exit 1 && rm -f /root/.npmrc",
    "git clone https://${T}@github.com/o/r /src && { [ ! -d /src/.git ] || git -C /src remote set-url origin https://github.com/o/r; }",
    "echo a | exit 0 && rm -f /root/.npmrc",
])
def test_cleanup_check_accepts_clean_ups_that_run(script: str) -> None:
    assert cleanup_problem(script, script.rindex(" && ")) is None


def test_budget_fails_a_slow_call_and_names_the_shape(monkeypatch) -> None:
    def slow(*_a, **_k):
        end = time.process_time() + 0.3
        while time.process_time() < end:
            pass
        return 0, "", ""

    monkeypatch.setattr(test_fuzz, "run", slow)
    with pytest.raises(AssertionError, match=r"per-input time budget.*run_shapes.*CPU time"):
        budgeted_run(["--check"], "run_shapes (12 bytes)", budget=0.1)
    budgeted_run(["--check"], "run_shapes (12 bytes)", budget=1.5)  # 0.3 s is within 1.5 s


def test_budget_interrupts_a_runaway_call(monkeypatch) -> None:
    def forever(*_a, **_k):
        while True:
            try:
                sum(range(10_000))
            except Exception:  # noqa: BLE001 - dfix's own handlers cannot swallow the interruption
                pass

    monkeypatch.setattr(test_fuzz, "run", forever)
    with pytest.raises(AssertionError, match=r"pathological_shapes\[run\].*interrupted"):
        budgeted_run(["--diff"], "pathological_shapes[run]", budget=0.2)


def test_canary_check_finds_a_partial_value() -> None:
    c = "ghp_" + "Zq8Lm2Vb7Qx9Rt4Wy6Pn3Kd5Hs1JfA0bC3dE"
    assert c[len(CANARY_FORMATS[0][0]) :] and len(c) == 40
    assert_no_canary("value <redacted: 40 chars>", [c], "x")
    for leak in (c, c[4:], c[10:22], "ghp_…" + c[-12:]):
        with pytest.raises(AssertionError):
            assert_no_canary(f"token {leak} printed", [c], "x")


# --------------------------------------------------------------------------------------------
# bugs the fuzzing found (strict xfail: the day one is fixed, its test fails and says so)

LEAKED = "ghp_2yW4Acq9GFz6Y1t9EwL56nGisiWgNZq6ITZM"  # a canary in GitHub's token format


@pytest.mark.parametrize("line", [
    'RUN --mount="type=secret,id=x curl -u u:{c} https://x.example.com',  # unterminated quote: the flag runs to the line end
    "RUN --mount=type=secret,id=x,env={c} npm ci",
])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_credential_in_a_mount_flag_is_never_printed(tmp_path, line: str, fmt: str) -> None:
    p = tmp_path / "Dockerfile"
    p.write_text("FROM alpine:3.20\n" + line.replace("{c}", LEAKED) + "\n")
    code, out, err = budgeted_run(["--format", fmt, str(p)], "xfail case")
    assert code == 1 and "DF003" in out + err  # reported as a committed credential ...
    assert_no_canary(out + err, [LEAKED], f"dfix --format {fmt}")  # ... and printed all the same


@pytest.mark.parametrize("style,last", [
    ("env", "RUN git clone https://${GH_PAT}@github.com/o/r /src\nRUN pip install -r requirements.txt\n"),
    ("file", "RUN npm ci\n"),
], ids=["env-form", "file-form"])
def test_write_reaches_its_fixpoint_in_one_run(tmp_path, style: str, last: str) -> None:
    write = (
        'RUN printf "machine example.com login u password %s\\n" "${NPM_TOKEN}" > /root/.netrc\n' if style == "env"
        else 'RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > /root/.npmrc\n'
    )
    p = tmp_path / "Dockerfile"
    p.write_text("FROM node:20\nARG NPM_TOKEN\nARG GH_PAT\n" + write + last)
    budgeted_run(["--write", "-q", "--mount-style", style, str(p)], "xfail case")
    once = p.read_text()
    assert "id=npm_token" in once
    _code, out, _err = budgeted_run(["--check", "--format", "json", "--mount-style", style, str(p)], "xfail case")
    assert not json.loads(out)["files"][0]["changed"], "--check after --write: the file would still change"
    budgeted_run(["--write", "-q", "--mount-style", style, str(p)], "xfail case")
    assert p.read_text() == once, "the second --write migrated more"


def test_a_blank_syntax_directive_is_no_internal_error(tmp_path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_text("# syntax= \nFROM alpine:3.20\nARG NPM_TOKEN\nRUN npm ci\n")
    code, _out, err = budgeted_run([str(p)], "xfail case")
    assert code == 1 and "internal error" not in err, err


def test_repeated_credential_options_finish_in_budget(tmp_path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_text("FROM alpine:3.20\nARG NPM_TOKEN\nRUN echo " + "curl -u u:secretpw " * 3150 + "\nRUN npm ci\n")
    code, _out, err = budgeted_run([str(p)], "60 KB of `curl -u u:secretpw `", budget=test_fuzz.CPU_BUDGET_S)
    assert code == 1, err


@pytest.mark.parametrize("line", ["AKIAY0CQ65ZT4WN6ISIG", "NPM_TOKEN=AKIAY0CQ65ZT4WN6ISIG", "GITHUB_TOKEN={c}"])
@pytest.mark.parametrize("fmt", ["text", "json", "github", "junit"])  # also gitlab, checkstyle (not sarif, markdown)
def test_a_credential_as_an_instruction_keyword_is_never_printed(tmp_path, line: str, fmt: str) -> None:
    p = tmp_path / "Dockerfile"
    p.write_text("FROM alpine:3.20\n" + line.replace("{c}", LEAKED) + "\n")
    code, out, err = budgeted_run(["--format", fmt, str(p)], "xfail case")
    assert code == 1 and "DF003" in out + err
    assert_no_canary(out + err, ["AKIAY0CQ65ZT4WN6ISIG", LEAKED], f"dfix --format {fmt}")


def test_a_run_of_pipes_finishes_in_budget(tmp_path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_text("FROM alpine:3.20\nARG NPM_TOKEN\nRUN echo " + "|" * 30_000 + "\nRUN npm ci\n")
    code, _out, err = budgeted_run([str(p)], "30 KB of `|`", budget=test_fuzz.CPU_BUDGET_S)
    assert code == 1, err


def test_stdin_write_weighs_the_callers_as_write_does(tmp_path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "build.sh").write_text("#!/bin/sh\npodman build --build-arg NPM_TOKEN -t app .\n")
    p = tmp_path / "Dockerfile"
    p.write_text("FROM ubuntu:22.04\nARG NPM_TOKEN\nRUN npm ci\n")
    _code, out, _err = budgeted_run(["-", "--stdin-filename", str(p), "--write", "-q"], "xfail case", stdin=p.read_bytes())
    budgeted_run(["--write", "-q", str(p)], "xfail case")
    assert p.read_text() == "FROM ubuntu:22.04\nARG NPM_TOKEN\nRUN npm ci\n"  # --write refuses ...
    assert out == p.read_text(), "stdin --write printed a migration --write refuses"  # ... stdin does not


def test_a_token_as_the_default_of_an_env_expansion_is_reported(tmp_path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_text("FROM alpine:3.20\nARG NPM_TOKEN\nENV GITHUB_TOKEN=${GH:-" + LEAKED + "}\nRUN npm ci\n")
    _code, out, err = budgeted_run([str(p)], "xfail case")
    assert "nothing leaks" not in out + err, "the note says the image stores an empty value"
    assert "DF003" in out + err, "the committed token is not reported"


@pytest.mark.parametrize("word", ["--interval=x{c}", "--timeout=1{c}", "--start-period=_x{c}"])
@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_a_token_glued_to_a_letter_is_never_printed(tmp_path, word: str, fmt: str) -> None:
    """Found by the 1000-example run of broken_shapes: ``HEALTHCHECK --interval=x<token>`` (a
    duration BuildKit rejects, quoting it) was printed by --diff as a context line: the token
    formats' look-behind keeps a token glued to a letter or digit from being one, so nothing masked
    it. Such a token is masked (not reported: the finding stays with standalone tokens)."""
    c = LEAKED[:4] + "Glu3d" + LEAKED[9:]  # the GitHub-format canary, a variant
    p = tmp_path / "Dockerfile"
    p.write_text(f"FROM alpine:3.20\nHEALTHCHECK {word.replace('{c}', c)} CMD true\nARG NPM_TOKEN\n"
                 'RUN curl -fsS -H "Authorization: Bearer $NPM_TOKEN" https://x.example.com\nRUN npm ci\n')
    for mode in ([], ["--diff"], ["--check"]):
        code, out, err = budgeted_run([*mode, "--format", fmt, str(p)], "glued token")
        assert code == 1, err
        assert_no_canary(out + err, [c], f"dfix {' '.join(mode)} --format {fmt}")

"""``Facts.visible_at`` (a view over per-stage layers) answers exactly what the old per-instruction
rebuild answered: same names, same items, same order, for every instruction of the real corpus, the
BuildKit parser test files and generated multi-stage files with ONBUILD triggers."""

from __future__ import annotations

import random

import pytest
from conftest import require_corpus

from refactor.analysis.facts import Facts, VarItem, build_facts
from refactor.source import SourceFile
from refactor.syntax.dockerfile import ParseError, parse


def _reference(facts: Facts, instr: int) -> dict[str, VarItem]:
    """The rebuild ``visible_at`` used before the layers (quadratic in a stage's items)."""
    stage = facts.stage_of[instr]
    if stage < 0:
        return {}
    env: dict[str, VarItem] = {}
    onbuild = facts.df.instructions[instr].sub is not None
    for s in facts.stage_chain(stage):
        st = facts.stages[s]
        stop = instr if s == stage else st.end
        for it in facts.items:
            if it.stage != s:
                continue
            if it.instr >= stop or it.kind == "LABEL" or (it.onbuild and not (onbuild and s == stage)):
                continue
            if onbuild and it.kind == "ARG" and not it.onbuild:
                continue
            if it.kind == "ARG" and it.name in env and env[it.name].kind == "ENV":
                continue
            env[it.name] = it
    return env


def _agree(text: str) -> int:
    try:
        df = parse(SourceFile.from_text("Dockerfile", text))
    except ParseError:
        return 0
    facts = build_facts(df)
    for j in range(len(df.instructions)):
        want = _reference(facts, j)
        got = facts.visible_at(j)
        assert list(got.items()) == list(want.items()), (text, j)
        assert len(got) == len(want)
        for name in ("X", "TOKEN", "HOME", "nope"):
            assert (name in got) == (name in want)
            assert got.get(name) is want.get(name)
    return len(df.instructions)


def _generated(rnd: random.Random) -> str:
    names = ["X", "TOKEN", "A", "B", "HOME"]
    lines = ["ARG TOKEN=g" if rnd.random() < 0.5 else "ARG X"]
    for s in range(rnd.randint(1, 4)):
        base = f"s{rnd.randrange(s)}" if s and rnd.random() < 0.6 else "alpine"
        lines.append(f"FROM {base} AS s{s}")
        for _ in range(rnd.randint(0, 12)):
            n = rnd.choice(names)
            kind = rnd.choice(["ARG", "ENV", "LABEL", "RUN", "ONBUILD ARG", "ONBUILD ENV", "ONBUILD RUN", "ARG2", "ENV2"])
            if kind == "RUN" or kind == "ONBUILD RUN":
                lines.append(f"{kind} echo ${n}")
            elif kind == "ARG2":
                lines.append(f"ARG {n}=1 {rnd.choice(names)}")
            elif kind == "ENV2":
                lines.append(f"ENV {n}=1 {rnd.choice(names)}=${n}")
            elif kind.endswith("ARG") and rnd.random() < 0.5:
                lines.append(f"{kind} {n}")
            else:
                lines.append(f"{kind} {n}=v{rnd.randrange(9)}")
    return "\n".join(lines) + "\n"


def test_generated_files_agree() -> None:
    rnd = random.Random(11)
    assert sum(_agree(_generated(rnd)) for _ in range(1_500)) > 5_000


@pytest.mark.parametrize("sub", ["real", "secrets", "buildkit-parser-testfiles"])
def test_corpus_agrees(sub: str) -> None:
    root = require_corpus(sub)
    checked = 0
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != "LABELS.tsv":
            try:
                text = p.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            checked += _agree(text.removeprefix("\ufeff"))
    assert checked > 0


def test_a_repeated_parse_gives_a_fresh_model_of_the_same_text() -> None:
    from refactor.syntax import dockerfile

    text = "FROM alpine\nARG TOKEN\nRUN --mount=type=secret,id=t echo hi\n"
    a = parse(SourceFile.from_text("a/Dockerfile", text))
    a._extra["planner"] = 1
    b = parse(SourceFile.from_text("b/Dockerfile", text, bom=True))
    assert b.source.path == "b/Dockerfile" and b.source.bom and a.source.path == "a/Dockerfile"
    assert b.instructions == a.instructions and b._extra == {}  # nobody sees another's derived data
    for k in range(dockerfile._RECENT_SIZE + 2):  # bounded
        parse(SourceFile.from_text("c", f"FROM alpine:{k}\n"))
    assert len(dockerfile._RECENT) == dockerfile._RECENT_SIZE
    with pytest.raises(ParseError):
        parse(SourceFile.from_text("d", "FROM alpine\nRUN <<EOF\nunterminated\n"))


def test_runs_of_one_text_share_effects_only_where_no_variable_changes_them() -> None:
    from refactor.fixes.check_effects import _run_effects
    from refactor.fixes.check_model import _Model

    text = "FROM alpine\nWORKDIR /a\nRUN touch f\nWORKDIR /b\nRUN touch f\nENV D=/c\nRUN touch $D/f\nENV D=/d\nRUN touch $D/f\n"
    model = _Model(parse(SourceFile.from_text("Dockerfile", text)), {}, None)
    got = [[p for op, p in _run_effects(r) if op == "add"] for r in model.runs]
    assert got == [["/a/f"], ["/b/f"], ["/c/f"], ["/d/f"]]


def _plan_digest(text: str):
    from refactor.analyze import analyze

    try:
        a = analyze(SourceFile.from_text("Dockerfile", text))
    except ParseError:
        return None
    return (
        [(f.code, f.variable, f.message, f.start, f.end, f.fix.applicability if f.fix else None) for f in a.findings],
        [(p.name, [(r.instr, r.item.start) for r in p.removals], list(p.runtime_env), dict(p.mounts)) for p in a.plans],
        list(a.notes),
    )


def _generated_carriers(rnd: random.Random) -> str:
    names = ["NPM_TOKEN", "A", "B", "C", "AUTH", "URL"]
    lines = ["ARG NPM_TOKEN" if rnd.random() < 0.7 else "ARG NPM_TOKEN=x"]
    for s in range(rnd.randint(1, 3)):
        lines.append(f"FROM {'s0' if s and rnd.random() < 0.5 else 'node:20'} AS s{s}")
        for _ in range(rnd.randint(1, 10)):
            a, b = rnd.choice(names), rnd.choice(names)
            lines.append(
                rnd.choice(
                    [
                        f"ARG {a}",
                        f"ENV {a}=${b}",
                        f'ENV {a}="Bearer ${{{b}}}" {rnd.choice(names)}=v',
                        f"ENV {a}=plain",
                        f"LABEL l{rnd.randrange(3)}=${b}",
                        f"ONBUILD ENV {a}=${b}",
                        f"ONBUILD LABEL o=${b}",
                        f'RUN curl -H "Authorization: ${a}" https://x',
                        "RUN npm ci",
                    ]
                )
            )
    return "\n".join(lines) + "\n"


def test_carrier_candidates_plan_what_walking_every_item_planned(monkeypatch) -> None:
    """plan_secret asks only the items referencing the secret or one of its carriers (an index),
    not every item of the file: the plans, findings and notes are the same as walking them all."""
    from refactor.fixes import mounts

    rnd = random.Random(4)
    texts = [_generated_carriers(rnd) for _ in range(600)]
    fast = [_plan_digest(t) for t in texts]
    monkeypatch.setattr(mounts, "_carrier_candidates", lambda facts, name, kind, carriers: (i for i in facts.items if i.kind == kind))
    slow = [_plan_digest(t) for t in texts]
    assert sum(d is not None and bool(d[1]) for d in fast) > 300
    for t, a, b in zip(texts, fast, slow):
        assert a == b, t

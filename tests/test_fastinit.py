"""refactor.fastinit: the faster __init__ behaves as the one dataclasses generates."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field

import pytest

from refactor.analysis import facts, secrets_evidence
from refactor.fastinit import fast_init
from refactor.syntax import dockerfile_model, words


def _pair(slots: bool):
    """The same class twice: as dataclasses makes it, and with fast_init."""

    def make():
        @dataclass(frozen=True, slots=slots)
        class K:
            a: int
            b: str = "x"
            c: tuple = ()
            d: list = field(default_factory=list)
            e: dict = field(default_factory=dict, compare=False, repr=False)

        return K

    return make(), fast_init(make())


@pytest.mark.parametrize("slots", [True, False])
def test_same_values_signature_and_behaviour(slots: bool) -> None:
    plain, fast = _pair(slots)
    assert fast.__init__.__code__.co_varnames[0] == "__dfix_self__"  # (rewritten)
    assert list(inspect.signature(fast).parameters) == list(inspect.signature(plain).parameters)
    for args, kwargs in [((1,), {}), ((1, "y"), {"c": (2,)}), ((), {"a": 3, "d": [1], "e": {"k": 1}})]:
        p, f = plain(*args, **kwargs), fast(*args, **kwargs)
        assert dataclasses.astuple(p) == dataclasses.astuple(f)
        assert repr(p).split("(", 1)[1] == repr(f).split("(", 1)[1]
        assert f == fast(*args, **kwargs)
    f1, f2 = fast(1), fast(1)
    assert f1.d == [] and f1.d is not f2.d and f1.e is not f2.e  # a fresh default per instance
    with pytest.raises(dataclasses.FrozenInstanceError):
        f1.a = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        fast()  # a missing argument
    with pytest.raises(TypeError):
        fast(1, "y", (), [], {}, 6)  # one too many
    r = dataclasses.replace(f1, a=5, d=[9])
    assert (r.a, r.b, r.d) == (5, "x", [9])
    assert copy.deepcopy(f1) == f1


def test_pickles_and_hashes() -> None:
    @fast_init
    @dataclass(frozen=True, slots=True)
    class P:
        a: int
        b: tuple = ()

    globals()["P"] = P  # (pickle finds a class by its module-level name)
    P.__qualname__ = "P"
    p = P(1, (2,))
    assert pickle.loads(pickle.dumps(p)) == p
    assert hash(p) == hash(P(1, (2,)))
    assert len({p, P(1, (2,))}) == 1


def test_shapes_it_does_not_rewrite_are_left_alone() -> None:
    @dataclass(frozen=True)
    class Post:
        a: int

        def __post_init__(self) -> None:
            object.__setattr__(self, "a", self.a * 2)

    @dataclass(frozen=True)
    class KwOnly:
        a: int = field(kw_only=True)

    @dataclass(frozen=True)
    class NoInit:
        a: int = field(default=1, init=False)

    @dataclass
    class Mutable:
        a: int

    for cls in (Post, KwOnly, NoInit, Mutable):
        before = cls.__init__
        assert fast_init(cls) is cls and cls.__init__ is before
    assert fast_init(Post)(2).a == 4


def test_field_names_cannot_collide_with_the_generated_names() -> None:
    @fast_init
    @dataclass(frozen=True)
    class Odd:
        self: int
        _d: int = 1
        _FACTORY: list = field(default_factory=list)

    o = Odd(5, 2)
    assert (o.self, o._d, o._FACTORY) == (5, 2, [])


@pytest.mark.parametrize(
    "cls",
    [
        dockerfile_model.Comment,
        dockerfile_model.Directive,
        dockerfile_model.Logical,
        dockerfile_model.Flag,
        dockerfile_model.Heredoc,
        dockerfile_model.Command,
        dockerfile_model.Instruction,
        words.Word,
        words.NameValue,
        words.Ref,
        facts.VarItem,
        facts.Stage,
        facts.RunInfo,
        secrets_evidence.Evidence,
        secrets_evidence.Verdict,
    ],
)
def test_dfix_classes_are_rewritten_and_stay_frozen(cls: type) -> None:
    """Each decorated class really got the fast __init__ (a shape change would silently drop it)
    and keeps dataclasses' signature."""
    assert cls.__init__.__code__.co_varnames[0] == "__dfix_self__"
    params = list(inspect.signature(cls).parameters.values())
    assert [p.name for p in params] == [f.name for f in dataclasses.fields(cls)]
    assert cls.__dataclass_params__.frozen

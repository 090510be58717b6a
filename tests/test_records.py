"""refactor.records: its ``dataclass`` makes the classes ``dataclasses.dataclass`` makes."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
import pkgutil
import re
import sys
from dataclasses import field
from typing import Any, ClassVar

import pytest

import refactor
from refactor import records

OPTIONS = [
    {},
    {"frozen": True},
    {"frozen": True, "slots": True},
    {"slots": True},
    {"eq": False},
    {"frozen": True, "eq": False},
    {"repr": False},
    {"match_args": False, "frozen": True},
]


def _twins(options: dict[str, Any], *, docstring: bool = False) -> tuple[Any, Any]:
    """The same class body, once through dataclasses and once through refactor.records."""

    def body() -> type:
        class K:
            a: int
            b: str = "x"
            c: tuple = ()
            d: list = field(default_factory=list)
            e: dict = field(default_factory=dict, compare=False, repr=False)
            f: int = field(default=0, hash=False)

            def total(self) -> int:
                return self.a + len(self.c)

        if docstring:
            K.__doc__ = "A documented class."
        return K

    plain = dataclasses.dataclass(**options)(body())
    fast = records.dataclass(**options)(body())
    for cls in (plain, fast):  # (pickle finds a class by its module-level name)
        cls.__qualname__ = cls.__name__ = f"K_{'fast' if cls is fast else 'plain'}_{len(globals())}"
        globals()[cls.__name__] = cls
    return plain, fast


CALLS = [((1,), {}), ((1, "y"), {"c": (2,)}), ((), {"a": 3, "d": [1], "e": {"k": 1}, "f": 7})]


@pytest.mark.parametrize("options", OPTIONS)
def test_same_class_as_dataclasses(options: dict[str, Any]) -> None:
    plain, fast = _twins(options)
    assert fast.__init__.__code__.co_varnames[0] == "__dfix_self__"  # (generated here, not by dataclasses)
    assert str(inspect.signature(fast)) == str(inspect.signature(plain))
    assert [(f.name, f.type, f.default, f.compare, f.hash, f.repr) for f in dataclasses.fields(fast)] == [
        (f.name, f.type, f.default, f.compare, f.hash, f.repr) for f in dataclasses.fields(plain)
    ]
    for attr in ("init", "repr", "eq", "order", "unsafe_hash", "frozen"):
        assert getattr(fast.__dataclass_params__, attr) == getattr(plain.__dataclass_params__, attr), attr
    assert getattr(fast, "__match_args__", None) == getattr(plain, "__match_args__", None)
    assert getattr(fast, "__slots__", None) == getattr(plain, "__slots__", None)
    assert fast.__doc__.replace(fast.__name__, "K") == plain.__doc__.replace(plain.__name__, "K")
    assert (fast.__hash__ is None) == (plain.__hash__ is None)
    assert dataclasses.is_dataclass(fast)
    for args, kwargs in CALLS:
        p, f = plain(*args, **kwargs), fast(*args, **kwargs)
        assert dataclasses.astuple(p) == dataclasses.astuple(f)
        assert dataclasses.asdict(p) == dataclasses.asdict(f)
        assert _shown(f) == _shown(p)
        assert (f == fast(*args, **kwargs)) == (p == plain(*args, **kwargs))
        assert f.total() == p.total()
        assert (f != fast(9)) and (f == f)
        assert _hash_or_error(f) == _hash_or_error(p)
        if plain.__hash__ is not None and plain.__dataclass_params__.eq:
            g = fast(*args, **{**kwargs, "d": ()})  # (d is a list: unhashable in both)
            assert hash(g) == hash(fast(*args, **{**kwargs, "d": ()}))
        for other in (copy.copy(f), copy.deepcopy(f), pickle.loads(pickle.dumps(f))):
            assert dataclasses.astuple(other) == dataclasses.astuple(f)
        r = dataclasses.replace(f, a=5, d=[9])
        assert (r.a, r.b, r.d) == (5, f.b, [9])


def _shown(obj: object) -> str:
    return re.sub(r" at 0x[0-9a-f]+", "", repr(obj)).replace(type(obj).__name__, "K")


def _hash_or_error(obj: object) -> str:
    try:
        hash(obj)
    except TypeError as exc:
        return str(exc).replace(type(obj).__name__, "K")
    return "hashable"


@pytest.mark.parametrize("options", OPTIONS)
def test_same_errors_as_dataclasses(options: dict[str, Any]) -> None:
    plain, fast = _twins(options)
    for cls in (plain, fast):
        with pytest.raises(TypeError):
            cls()  # a missing argument
        with pytest.raises(TypeError):
            cls(1, "y", (), [], {}, 0, 6)  # one too many
        one, two = cls(1), cls(1)
        assert one.d == [] and one.d is not two.d and one.e is not two.e  # a fresh default per instance
    p, f = plain(1), fast(1)
    if options.get("frozen"):
        for obj in (p, f):
            with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'a'"):
                obj.a = 2
            with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'b'"):
                del obj.b
    else:
        p.a = f.a = 2
        assert f.a == 2
    if options.get("eq", True) and not options.get("frozen"):
        for obj in (p, f):
            with pytest.raises(TypeError, match="unhashable"):
                hash(obj)


def test_equality_is_by_class_and_compared_fields() -> None:
    plain, fast = _twins({"frozen": True})
    assert fast(1, e={"k": 1}) == fast(1, e={"other": 2})  # (e: compare=False)
    assert hash(fast(1, d=(), f=1)) == hash(fast(1, d=(), f=2))  # (f: hash=False)
    assert fast(1) != plain(1) and fast(1).__eq__(plain(1)) is NotImplemented


def test_documented_classes_keep_their_docstring() -> None:
    _plain, fast = _twins({"frozen": True}, docstring=True)
    assert fast.__doc__ == "A documented class."


def test_recursive_repr_shows_an_ellipsis() -> None:
    @records.dataclass
    class Node:
        items: list

    n = Node([])
    n.items.append(n)
    assert repr(n).endswith("Node(items=[...])")


def test_post_init_runs_after_the_fields_are_set() -> None:
    @records.dataclass(frozen=True)
    class Doubled:
        a: int

        def __post_init__(self) -> None:
            object.__setattr__(self, "a", self.a * 2)

    assert Doubled(2).a == 4
    assert Doubled.__init__.__code__.co_varnames[0] == "__dfix_self__"


def test_shapes_it_does_not_generate_go_to_dataclasses() -> None:
    @records.dataclass(frozen=True)
    class KwOnly:
        a: int = field(kw_only=True)

    @records.dataclass(frozen=True)
    class NoInit:
        a: int = field(default=1, init=False)

    @records.dataclass(frozen=True, order=True)
    class Ordered:
        a: int

    @records.dataclass
    class WithClassVar:
        a: int
        shared: ClassVar[int] = 3

    @records.dataclass
    class OwnEq:
        a: int

        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = None  # type: ignore[assignment]

    @records.dataclass(frozen=True)
    class Child(Ordered):
        b: int = 0

    for cls in (KwOnly, NoInit, Ordered, WithClassVar, OwnEq, Child):
        assert cls.__init__.__code__.co_varnames[0] == "self", cls
    assert KwOnly(a=1).a == 1 and NoInit().a == 1 and Ordered(1) < Ordered(2)
    assert OwnEq(1) == OwnEq(2) and WithClassVar(1).shared == 3 and Child(1, 2).b == 2


@pytest.mark.parametrize("options", OPTIONS)
def test_a_class_keeps_its_own_repr(options: dict[str, Any]) -> None:
    @records.dataclass(**options)
    class OwnRepr:
        a: int

        def __repr__(self) -> str:
            return "mine"

    assert repr(OwnRepr(1)) == "mine" and OwnRepr.__init__.__code__.co_varnames[0] == "__dfix_self__"
    assert (OwnRepr(1) == OwnRepr(1)) == options.get("eq", True)


def test_a_non_default_field_after_a_default_is_refused_as_dataclasses_does() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @records.dataclass
        class Bad:
            a: int = 1
            b: int  # type: ignore[misc]


def test_field_names_cannot_collide_with_the_generated_names() -> None:
    @records.dataclass(frozen=True, slots=True)
    class Odd:
        self: int
        name: int = 1
        value: int = 2
        _FACTORY: list = field(default_factory=list)

    o = Odd(5, 2)
    assert (o.self, o.name, o.value, o._FACTORY) == (5, 2, 2, [])
    assert copy.deepcopy(o) == o and copy.copy(o) == o


def _dfix_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(refactor.__path__, "refactor.") if "__main__" not in m.name]


def test_every_dfix_dataclass_is_generated_here_or_knowingly_by_dataclasses() -> None:
    """A class that silently fell back to dataclasses would lose the speed; the fallbacks are named."""
    fallbacks = set()
    for name in _dfix_modules():
        module = importlib.import_module(name)
        for obj in vars(module).values():
            is_dfix_dataclass = isinstance(obj, type) and obj.__module__ == name and dataclasses.is_dataclass(obj)
            if is_dfix_dataclass and obj.__init__.__code__.co_varnames[:1] != ("__dfix_self__",):
                fallbacks.add(obj.__qualname__)
    # (Edit is ordered, and order=True is dataclasses' own; AuditRegistry extends a dataclass)
    assert fallbacks <= {"Edit", "AuditRegistry"}, fallbacks
    assert "refactor.records" in sys.modules


# --------------------------------------------------------------------------------------------
# Shapes a review found the fast path got wrong: each now matches dataclasses (by falling back, or
# by doing what dataclasses does)


class _Slotted:
    __slots__ = ("a",)


class _Doubling:
    """A data descriptor as a field's default: the value is stored doubled, in ``_<name>``."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return 0 if obj is None else getattr(obj, self.name)

    def __set__(self, obj: Any, value: int) -> None:
        object.__setattr__(obj, self.name, value * 2)


@pytest.mark.parametrize("slots", [False, True])
def test_a_frozen_field_stored_in_a_base_slot_is_set(slots: bool) -> None:
    for make in (dataclasses.dataclass, records.dataclass):
        base = type("B", (), {"__slots__": ("a",)})
        cls = make(frozen=True, slots=slots)(type("K", (base,), {"__annotations__": {"a": "int"}}))
        assert cls(1).a == 1


def test_a_frozen_field_with_a_data_descriptor_default_goes_through_it() -> None:
    def body() -> type:
        class D:
            x: int = _Doubling()  # type: ignore[assignment]

        return D

    for make in (dataclasses.dataclass, records.dataclass):
        assert make(frozen=True)(body())(3).x == 6


def test_a_dataclass_subclass_of_a_frozen_slotted_class_pickles_its_own_fields() -> None:
    @records.dataclass(frozen=True, slots=True)
    class P:
        a: int

    @dataclasses.dataclass(frozen=True)
    class C(P):
        b: int

    for cls in (P, C):
        globals()[cls.__name__] = cls
        cls.__qualname__ = cls.__name__
    c = C(1, 2)
    for twin in (pickle.loads(pickle.dumps(c)), copy.copy(c), copy.deepcopy(c)):
        assert (twin.a, twin.b) == (1, 2) and twin == c


class _Path:
    pass


def test_init_annotations_resolve_in_the_class_module() -> None:
    """``__init__.__globals__`` is the module's, as with dataclasses: typing.get_type_hints and
    inspect.signature(eval_str=True) resolve string annotations (this module has future annotations)."""
    import typing

    @records.dataclass(frozen=True)
    class R:
        p: _Path
        n: int = 0

    assert typing.get_type_hints(R.__init__) == {"p": _Path, "n": int, "return": type(None)}
    assert inspect.signature(R, eval_str=True).parameters["p"].annotation is _Path
    assert R.__init__.__module__ == R.__eq__.__module__ == R.__module__ == __name__


def test_abstract_dunders_of_an_abc_base_are_implemented() -> None:
    import abc

    class Base(abc.ABC):
        @abc.abstractmethod
        def __repr__(self) -> str: ...

    for make in (dataclasses.dataclass, records.dataclass):
        assert repr(make(type("K", (Base,), {"__annotations__": {"a": "int"}}))(1)).endswith("(a=1)")

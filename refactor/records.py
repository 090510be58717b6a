"""``dataclass`` for dfix's own classes: the classes :func:`dataclasses.dataclass` makes, built faster.

Python 3.11's ``dataclasses`` compiles each generated method (``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__``, ``__delattr__``) with its own ``exec`` and, for a class without a
docstring, computes ``inspect.signature`` for one: about 1.2 ms a class here, and a cold run creates
over a hundred of them, a third of dfix's import time. This decorator lets ``dataclasses`` do
everything but the code generation (fields, defaults, ``__match_args__``, slots, ``fields()``,
``replace()``, ``asdict()`` work as ever), compiles ``__init__`` (its signature is the class's API),
compiles ``__repr__``, ``__eq__`` and ``__hash__`` when one is first called, and makes the frozen
methods closures over the field names: about a third of the time (a five-field frozen slotted class: 0.3 ms against 0.95).
The compiled methods are kept from one process to the next (:mod:`refactor.codecache`).

The methods behave as the ones ``dataclasses`` writes, with one difference that only makes things
faster: a frozen class's ``__init__`` stores each field through the class's own slot setter (or the
instance's ``__dict__``) where ``object.__setattr__`` would end up doing the same, in half the time.
A shape this module does not generate (``order``, ``unsafe_hash``, ``kw_only``, ``init=False``
fields, ``ClassVar``/``InitVar`` annotations, dataclass bases, a class defining one of the methods
itself other than ``__repr__``, a frozen field that a base's slot or attribute or a data descriptor
would store) is handed to ``dataclasses`` unchanged. ``tests/test_records.py`` holds the two equal.
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
import reprlib
import sys
from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError
from typing import Any, TypeVar, dataclass_transform, overload

from refactor.codecache import code as _code

T = TypeVar("T")

_stdlib_dataclass = dataclasses.dataclass
_DEFAULTS = {
    "init": True,
    "repr": True,
    "eq": True,
    "order": False,
    "unsafe_hash": False,
    "frozen": False,
    "match_args": True,
    "kw_only": False,
    "slots": False,
}
_OWN_METHODS = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__", "__getstate__", "__setstate__")
_NOT_PLAIN = ("ClassVar", "InitVar", "KW_ONLY")


class _Factory:
    """Stands for "call the default_factory" in a generated signature (shown as dataclasses shows it)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


@overload
def dataclass(cls: type[T], /) -> type[T]: ...


@overload
def dataclass(
    *,
    init: bool = True,
    repr: bool = True,
    eq: bool = True,
    order: bool = False,
    unsafe_hash: bool = False,
    frozen: bool = False,
    match_args: bool = True,
    kw_only: bool = False,
    slots: bool = False,
) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, Field))
def dataclass(cls: Any = None, /, **options: Any) -> Any:
    """:func:`dataclasses.dataclass`, same arguments, same class; see the module docstring."""

    def wrap(c: type[T]) -> type[T]:
        return _build(c, options)

    return wrap if cls is None else wrap(cls)


def _plain(cls: type, opts: dict[str, Any]) -> bool:
    """Whether ``cls`` is a shape this module generates (anything else goes to ``dataclasses``)."""
    if set(opts) - set(_DEFAULTS) or not opts["init"] or opts["order"] or opts["unsafe_hash"] or opts["kw_only"]:
        return False
    if any(hasattr(base, "__dataclass_fields__") for base in cls.__mro__[1:]):
        return False
    own = cls.__dict__
    if any(name in own for name in _OWN_METHODS if name != "__repr__"):
        return False  # (a class's own __repr__ is kept, as dataclasses keeps it)
    for name, annotation in own.get("__annotations__", {}).items():
        if any(marker in str(annotation) for marker in _NOT_PLAIN):
            return False
        value = own.get(name, MISSING)
        if isinstance(value, Field) and (not value.init or value.kw_only is True):
            return False
        if opts["frozen"] and _stored_elsewhere(cls, name, value):
            return False
    return True


def _stored_elsewhere(cls: type, name: str, value: Any) -> bool:
    """Whether a frozen class's field is stored by something other than the instance's own slot or
    ``__dict__``: a base's slot or attribute of that name, or a data descriptor as its default
    (the generated ``__init__`` stores straight there; ``dataclasses`` goes through
    ``object.__setattr__``, which honours them)."""
    default = value.default if isinstance(value, Field) else value
    if hasattr(type(default), "__set__") or hasattr(type(default), "__delete__"):
        return True
    return any(name in vars(base) for base in cls.__mro__[1:])


def _build(cls: type[T], options: dict[str, Any]) -> type[T]:
    opts = {**_DEFAULTS, **options}
    if not _plain(cls, opts):
        return _stdlib_dataclass(cls, **options)
    undocumented = not getattr(cls, "__doc__", None)
    if undocumented:
        cls.__doc__ = "-"  # (spares dataclasses its inspect.signature; written below)
    bare = dict.fromkeys(("init", "repr", "eq", "order", "unsafe_hash", "frozen", "kw_only"), False)
    new: Any = _stdlib_dataclass(cls, **bare, match_args=opts["match_args"], slots=opts["slots"])
    fields = dataclasses.fields(new)
    if len(fields) != len(new.__dataclass_fields__):  # (_plain lets no pseudo-field through)
        raise TypeError(f"{new.__qualname__}: a field shape refactor.records does not generate")
    params = new.__dataclass_params__
    params.init, params.repr, params.eq, params.frozen = True, opts["repr"], opts["eq"], opts["frozen"]
    _add_methods(new, fields, opts)
    abc.update_abstractmethods(new)  # (dataclasses did, before the methods were added)
    if undocumented:
        new.__doc__ = new.__name__ + _signature_text(fields)
    return new


def _add_methods(cls: Any, fields: tuple[Field[Any], ...], opts: dict[str, Any]) -> None:
    frozen, slotted = opts["frozen"], "__slots__" in cls.__dict__
    names = tuple(f.name for f in fields)
    made: dict[str, Any] = {"__init__": _compile_init(cls, fields, frozen=frozen, slotted=slotted)}
    if opts["repr"] and "__repr__" not in cls.__dict__:
        shown = ", ".join(f"{f.name}={{self.{f.name}!r}}" for f in fields if f.repr)
        source = f'def __repr__(self):\n    return self.__class__.__qualname__ + f"({shown})"\n'
        made["__repr__"] = _compiled_on_first_call(cls, "__repr__", source, wrap=reprlib.recursive_repr())
    if opts["eq"]:
        compared = [f.name for f in fields if f.compare]
        source = (
            "def __eq__(self, other):\n    if other.__class__ is self.__class__:\n"
            f"        return {_tuple('self', compared)} == {_tuple('other', compared)}\n    return NotImplemented\n"
        )
        made["__eq__"] = _compiled_on_first_call(cls, "__eq__", source)
        if frozen:
            hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
            source = f"def __hash__(self):\n    return hash({_tuple('self', hashed)})\n"
            made["__hash__"] = _compiled_on_first_call(cls, "__hash__", source)
    if frozen:
        made["__setattr__"], made["__delattr__"] = _frozen_methods(cls, frozenset(names))
    for name, method in made.items():
        _name(cls, name, method)
        setattr(cls, name, method)
    if frozen and slotted:  # (shared by every class, as dataclasses shares its own: not renamed)
        cls.__getstate__, cls.__setstate__ = _getstate, _setstate
    if opts["eq"] and not frozen:
        cls.__hash__ = None  # (mutable and comparable: unhashable, as dataclasses makes it)


# Only ``__init__`` is compiled with the class (its signature is the class's API). ``__repr__``,
# ``__eq__`` and ``__hash__`` are compiled the first time one is called (a single run calls few of
# them); the frozen methods are closures, and pickling's are shared functions.


def _name(cls: Any, name: str, method: Any) -> None:
    method.__qualname__ = f"{cls.__qualname__}.{name}"
    method.__name__ = name
    method.__module__ = cls.__module__


def _compile_init(cls: Any, fields: tuple[Field[Any], ...], *, frozen: bool, slotted: bool) -> Any:
    """``__init__``, compiled as ``dataclasses`` compiles it: inside a factory whose parameters are
    the defaults and helpers it needs, run with the class's module as its globals (so its
    ``__globals__`` resolve the annotations, for ``typing.get_type_hints`` and ``inspect``)."""
    helpers: dict[str, Any] = {"__dfix_factory__": _FACTORY}
    lines = _init_source(cls, fields, helpers, frozen=frozen, slotted=slotted)
    source = f"def __dfix_create__({', '.join(helpers)}):\n" + "".join(f"    {line}\n" for line in lines) + "    return __init__\n"
    module = sys.modules.get(cls.__module__)
    scope: dict[str, Any] = {}
    exec(_code(source), module.__dict__ if module is not None else {}, scope)
    return scope["__dfix_create__"](**helpers)


def _compiled_on_first_call(cls: Any, name: str, source: str, wrap: Callable[[Any], Any] | None = None) -> Any:
    """A method that compiles ``source`` when first called, then puts the compiled method on ``cls``."""
    compiled: list[Any] = []

    def method(*args: Any) -> Any:
        if not compiled:
            ns: dict[str, Any] = {"__name__": cls.__module__}
            exec(_code(source), ns)
            made = ns[name] if wrap is None else wrap(ns[name])
            _name(cls, name, made)
            compiled.append(made)
            if cls.__dict__.get(name) is method:
                setattr(cls, name, made)
        return compiled[0](*args)

    return method


def _frozen_methods(cls: Any, names: frozenset[str]) -> tuple[Callable[..., None], Callable[..., None]]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


def _getstate(self: Any) -> list[Any]:
    # the fields of the instance's class, read when called: a dataclass subclass pickles its own too
    return [getattr(self, f.name) for f in dataclasses.fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state):
        object.__setattr__(self, f.name, value)  # (frozen: past the class's own __setattr__)


def _init_source(cls: Any, fields: tuple[Field[Any], ...], ns: dict[str, Any], *, frozen: bool, slotted: bool) -> list[str]:
    args, body, annotations = [], [], {}
    seen_default = False
    for f in fields:
        name = f.name
        annotations[name] = f.type
        if frozen and slotted:
            ns[f"__dfix_set_{name}"] = cls.__dict__[name].__set__  # the slot's member descriptor
            store = f"__dfix_set_{name}(__dfix_self__, {{}})"
        elif frozen:
            store = f"__dfix_dict__[{name!r}] = {{}}"
        else:
            store = f"__dfix_self__.{name} = {{}}"
        if f.default is not MISSING:
            ns[f"__dfix_d_{name}"] = f.default
            args.append(f"{name}=__dfix_d_{name}")
            body.append("    " + store.format(name))
            seen_default = True
        elif f.default_factory is not MISSING:
            ns[f"__dfix_f_{name}"] = f.default_factory
            args.append(f"{name}=__dfix_factory__")
            body.append("    " + store.format(f"__dfix_f_{name}() if {name} is __dfix_factory__ else {name}"))
            seen_default = True
        else:
            if seen_default:
                raise TypeError(f"non-default argument {name!r} follows default argument")
            args.append(name)
            body.append("    " + store.format(name))
    if frozen and not slotted:
        body.insert(0, "    __dfix_dict__ = __dfix_self__.__dict__")
    if hasattr(cls, "__post_init__"):
        body.append("    __dfix_self__.__post_init__()")
    annotations["return"] = None
    ns["__dfix_init_annotations__"] = annotations
    return [
        f"def __init__({', '.join(['__dfix_self__', *args])}):",
        *(body or ["    pass"]),
        "__init__.__annotations__ = __dfix_init_annotations__",
    ]


def _tuple(owner: str, names: list[str]) -> str:
    return "(" + "".join(f"{owner}.{n}," for n in names) + ")"


def _signature_text(fields: tuple[Field[Any], ...]) -> str:
    """The class docstring ``dataclasses`` writes: the ``__init__`` signature, as ``inspect`` shows it."""
    parts = []
    for f in fields:
        part = f"{f.name}: {inspect.formatannotation(f.type)}"
        if f.default is not MISSING:
            part += f" = {f.default!r}"
        elif f.default_factory is not MISSING:
            part += " = <factory>"
        parts.append(part)
    return "(" + ", ".join(parts) + ")"

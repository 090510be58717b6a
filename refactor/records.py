"""``dataclass`` for dfix's own classes: the classes :func:`dataclasses.dataclass` makes, built faster.

Python 3.11's ``dataclasses`` compiles each generated method (``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__``, ``__delattr__``) with its own ``exec`` and, for a class without a
docstring, computes ``inspect.signature`` for one: about 1.2 ms a class here, and a cold run creates
over a hundred of them, a third of dfix's import time. This decorator lets ``dataclasses`` do
everything but the code generation (fields, defaults, ``__match_args__``, slots, ``fields()``,
``replace()``, ``asdict()`` work as ever) and then compiles all of a class's methods in one ``exec``:
about a fifth of the time.

The methods are the ones ``dataclasses`` writes, with one difference that only makes things
faster: a frozen class's ``__init__`` stores each field through the slot's own setter (or the
instance's ``__dict__``), which is what ``object.__setattr__`` ends up doing, in half the time. A
shape this module does not generate (``order``, ``unsafe_hash``, ``kw_only``, ``init=False`` fields,
``ClassVar``/``InitVar`` annotations, dataclass bases, a class defining one of the methods itself
other than ``__repr__``) is handed to ``dataclasses`` unchanged. ``tests/test_records.py`` holds the two equal.
"""

from __future__ import annotations

import _thread
import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError
from typing import Any, TypeVar, dataclass_transform, overload

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
    return True


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
    if undocumented:
        new.__doc__ = new.__name__ + _signature_text(fields)
    return new


def _add_methods(cls: Any, fields: tuple[Field[Any], ...], opts: dict[str, Any]) -> None:
    frozen, slotted = opts["frozen"], "__slots__" in cls.__dict__
    names = [f.name for f in fields]
    ns: dict[str, Any] = {
        "__name__": cls.__module__,
        "__dfix_cls__": cls,
        "__dfix_factory__": _FACTORY,
        "__dfix_frozen__": FrozenInstanceError,
        "__dfix_object_setattr__": object.__setattr__,
    }
    src: list[str] = []
    src += _init_source(cls, fields, ns, frozen=frozen, slotted=slotted)
    if opts["repr"] and "__repr__" not in cls.__dict__:
        shown = ", ".join(f"{f.name}={{__dfix_self__.{f.name}!r}}" for f in fields if f.repr)
        src += ["def __repr__(__dfix_self__):", f'    return __dfix_self__.__class__.__qualname__ + f"({shown})"']
    if opts["eq"]:
        compared = [f.name for f in fields if f.compare]
        mine, theirs = _tuple("__dfix_self__", compared), _tuple("__dfix_other__", compared)
        src += [
            "def __eq__(__dfix_self__, __dfix_other__):",
            "    if __dfix_other__.__class__ is __dfix_self__.__class__:",
            f"        return {mine} == {theirs}",
            "    return NotImplemented",
        ]
        if frozen:
            hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
            src += ["def __hash__(__dfix_self__):", f"    return hash({_tuple('__dfix_self__', hashed)})"]
    if frozen:
        fieldset = "(" + "".join(f"{n!r}, " for n in names) + ")"
        for verb, method, extra in (("assign to", "__setattr__", ", value"), ("delete", "__delattr__", "")):
            src += [
                f"def {method}(self, name{extra}):",
                f"    if type(self) is __dfix_cls__ or name in {fieldset}:",
                f'        raise __dfix_frozen__(f"cannot {verb} field {{name!r}}")',
                f"    super(__dfix_cls__, self).{method}(name{extra})",
            ]
        if slotted:
            src += ["def __getstate__(self):", f"    return [{', '.join(f'self.{n}' for n in names)}]"]
            src += ["def __setstate__(self, state):", "    for name, value in zip(__dfix_names__, state):"]
            src += ["        __dfix_object_setattr__(self, name, value)"]
            ns["__dfix_names__"] = tuple(names)
    exec("\n".join(src) + "\n", ns)
    for name in _OWN_METHODS:
        made: Any = ns.get(name)
        if made is None:
            continue
        made.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, _recursive_repr(made) if name == "__repr__" else made)
    if opts["eq"] and not frozen:
        cls.__hash__ = None  # (mutable and comparable: unhashable, as dataclasses makes it)


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


def _recursive_repr(user_function: Callable[[Any], str]) -> Callable[[Any], str]:
    """A ``__repr__`` that shows ``...`` for an object already being shown (dataclasses' own guard)."""
    running: set[tuple[int, int]] = set()

    def wrapper(self: Any) -> str:
        key = id(self), _thread.get_ident()
        if key in running:
            return "..."
        running.add(key)
        try:
            return user_function(self)
        finally:
            running.discard(key)

    wrapper.__qualname__ = getattr(user_function, "__qualname__", "__repr__")
    wrapper.__name__ = "__repr__"
    wrapper.__wrapped__ = user_function  # type: ignore[attr-defined]
    return wrapper

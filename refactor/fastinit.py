"""A faster ``__init__`` for the frozen, slotted dataclasses a parse makes by the hundred thousand.

A frozen dataclass's generated ``__init__`` sets each field with ``object.__setattr__(self, name,
value)``: a global lookup, an attribute lookup and a call with a name to resolve, per field. About a
tenth of a corpus run went there (``Word``, ``Command``, ``Instruction``…). :func:`fast_init`
replaces it with one that calls each slot's own setter (the member descriptor's ``__set__``, bound
once), which is what ``object.__setattr__`` ends up doing, in half the time; a class without slots
gets its fields put in the instance's ``__dict__``, which is where ``object.__setattr__`` puts them. Nothing else changes:
the instances stay frozen (assignment still raises ``FrozenInstanceError``), equality, hashing,
``repr``, ``replace()``, pickling and the signature are dataclasses' own.

Only the plain shape is rewritten: every field in ``__init__``, positional or keyword, with a plain
default or a ``default_factory``; a class with ``__post_init__``, ``InitVar``, ``init=False`` or
keyword-only fields is returned as it is. ``tests/test_fastinit.py`` holds the two equal.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast

T = TypeVar("T")

_FACTORY = object()  # stands for "call the default_factory" in the generated signature


def fast_init(cls: type[T]) -> type[T]:
    """``cls`` (a frozen ``@dataclass``, slotted or not) with the faster ``__init__``."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or hasattr(cls, "__post_init__"):
        return cls
    slotted = "__slots__" in cls.__dict__
    fields = list(dataclasses.fields(cast(Any, cls)))
    if len(fields) != len(getattr(cls, "__dataclass_fields__", {})) or any(not f.init or f.kw_only for f in fields):
        return cls  # (InitVar and ClassVar pseudo-fields, init=False, keyword-only: left as generated)
    ns: dict[str, object] = {"__dfix_factory__": _FACTORY}
    args, body = [], []
    for f in fields:
        name = f.name
        set_ = f"__dfix_set_{name}(__dfix_self__, " if slotted else f"__dfix_dict__[{name!r}] = ("
        if slotted:
            ns[f"__dfix_set_{name}"] = cls.__dict__[name].__set__  # the slot's member descriptor
        if f.default is not dataclasses.MISSING:
            ns[f"__dfix_d_{name}"] = f.default
            args.append(f"{name}=__dfix_d_{name}")
            body.append(f"    {set_}{name})")
        elif f.default_factory is not dataclasses.MISSING:
            ns[f"__dfix_f_{name}"] = f.default_factory
            args.append(f"{name}=__dfix_factory__")
            body.append(f"    {set_}__dfix_f_{name}() if {name} is __dfix_factory__ else {name})")
        else:
            args.append(name)
            body.append(f"    {set_}{name})")
    if not slotted:  # (no slots: the instance's own dict, which object.__setattr__ would fill)
        body.insert(0, "    __dfix_dict__ = __dfix_self__.__dict__")
    src = f"def __init__(__dfix_self__, {', '.join(args)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(src, ns)
    init: Any = ns["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - (a method assignment, which mypy refuses as such)
    return cls

"""Plug-in discovery: passes and backends come from entry points, built-ins included.

A third party adds a pass or a backend by declaring an entry point in its own package:

    [project.entry-points."meshc.passes"]
    my-pass = "my_pkg.my_pass:MyPass"

Registries fail loudly: two entry points with one name, one that cannot be imported, or
one whose object is not what the group expects is a `MeshcError` that names it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from xdsl.context import Context
from xdsl.ir import Dialect
from xdsl.passes import ModulePass

from meshc.errors import MeshcError

PASS_GROUP = "meshc.passes"
BACKEND_GROUP = "meshc.backends"


def dialect_factories() -> dict[str, Callable[[], Dialect]]:
    def tfm() -> Dialect:
        from meshc.ir.graph import TFM

        return TFM

    def tile() -> Dialect:
        from meshc.ir.tile import TILE

        return TILE

    def meshc() -> Dialect:
        from meshc.ir.state import MESHC

        return MESHC

    return {"tfm": tfm, "tile": tile, "meshc": meshc}


def make_context() -> Context:
    """A context that knows builtin, func, arith and meshc's dialects."""
    from xdsl.dialects.arith import Arith
    from xdsl.dialects.builtin import Builtin
    from xdsl.dialects.func import Func

    ctx = Context()
    for d in (Builtin, Func, Arith):
        ctx.load_dialect(d)
    for name, factory in dialect_factories().items():
        ctx.register_dialect(name, factory)
    return ctx


@cache
def plugins(group: str) -> dict[str, EntryPoint]:
    """The entry points of `group` by name; two plug-ins under one name are an error that
    names both."""
    found: dict[str, EntryPoint] = {}
    for ep in sorted(entry_points(group=group), key=lambda e: (e.name, e.value)):
        if ep.name in found and found[ep.name].value != ep.value:
            raise MeshcError(
                f"two plug-ins register '{ep.name}' in {group}: {found[ep.name].value} and "
                f"{ep.value}", hint="uninstall or rename one of them")
        found[ep.name] = ep
    return found


def load_plugin(group: str, name: str) -> Any:
    """Entry point `name` of `group`, loaded; a broken plug-in is an error naming it."""
    eps = plugins(group)
    if name not in eps:
        kind = {PASS_GROUP: "pass", BACKEND_GROUP: "backend"}.get(group, "plug-in")
        raise MeshcError(f"unknown {kind} '{name}'", hint=f"installed: {', '.join(sorted(eps))}")
    ep = eps[name]
    try:
        return ep.load()
    except Exception as e:  # a broken plug-in must name itself, whatever it raised
        dist = ep.dist.name if ep.dist else "?"
        raise MeshcError(f"plug-in '{name}' ({ep.value}, from {dist}) failed to load: "
                         f"{type(e).__name__}: {e}") from None


def pass_names() -> list[str]:
    return sorted(plugins(PASS_GROUP))


def get_pass(name: str) -> type[ModulePass]:
    cls = load_plugin(PASS_GROUP, name)
    if not (isinstance(cls, type) and issubclass(cls, ModulePass)) or cls.name != name:
        raise MeshcError(f"plug-in '{name}' in {PASS_GROUP} is not a ModulePass named '{name}'")
    return cls


def pass_factories() -> dict[str, Callable[[], type[ModulePass]]]:
    return {n: partial(get_pass, n) for n in pass_names()}


def backend_names() -> list[str]:
    return sorted(plugins(BACKEND_GROUP))


def get_backend(name: str) -> Any:
    obj = load_plugin(BACKEND_GROUP, name)
    backend = obj() if isinstance(obj, type) else obj
    if not callable(getattr(backend, "emit", None)):
        raise MeshcError(f"plug-in '{name}' in {BACKEND_GROUP} has no emit(result) method")
    return backend

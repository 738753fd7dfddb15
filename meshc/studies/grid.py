"""The grid of a sweep: `KEY=V1,V2,...` axes, their cartesian product (or, zipped, their
pairing), and the points it yields, as frozen values.

A key is a compile option (OPTION_KEYS, with `parallel` and `objective` for systems of
chips), a lower-quant or tile-grain option (PASS_KEYS), the model or the hardware (`model`,
`hw`: a chip or a system), a field of the compact model form (`arch.hidden`,
`arch.moe.experts`, the derived `arch.mlp_mult`) or a dotted path into the hardware YAML
(`hw.mesh.rows`; a system's: `hw.links.bytes_per_s`). Values are read as YAML scalars (`4`,
`0.5`, `true`, `int8`); each key checks its own type here, arch and hw values are checked
when the model or the hardware is validated with them. A `parallel` value is `--parallel`'s
text, which has commas: its values are separated by `;` (`parallel=tp=2,pp=4;tp=8`).

Lists are crossed (the cartesian product), all zipped (`zipped`: paired item by item), or
some keys paired with each other and crossed with the rest (`paired`: `hw` with `parallel`,
a layout per system).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from meshc.errors import MeshcError
from meshc.inputs import parse_yaml
from meshc.parallel.degrees import parse_parallel
from meshc.parallel.search import OBJECTIVES

# compile option -> (type, allowed values or ()); the defaults are `meshc compile`'s
OPTION_KEYS: dict[str, tuple[type, tuple[Any, ...]]] = {
    "phase": (str, ("prefill", "decode", "both")),
    "batch": (int, ()), "seq": (int, ()), "kv_len": (int, ()), "row_blocks": (int, ()),
    "pipeline": (str, ()), "mapper": (str, ("cpsat", "heft")), "budget": (float, ()),
    "seed": (int, ()), "cold": (bool, ()), "parallel": (str, ()), "objective": (str, OBJECTIVES),
}
# parallel "": none given (a chip point; a system point then runs tp=1)
DEFAULTS: dict[str, Any] = {"phase": "both", "batch": 1, "seq": 2048, "kv_len": 2048,
                            "row_blocks": 1, "pipeline": "default", "mapper": "cpsat",
                            "budget": 0.5, "seed": 0, "cold": False, "parallel": "",
                            "objective": "latency"}
SEPARATORS = {"parallel": ";"}  # between a key's values where a value has commas
# keys that set an option of a pass of the named pipeline: key -> (pass, option)
PASS_KEYS: dict[str, tuple[str, str]] = {
    "weights": ("lower-quant", "weights"), "acts": ("lower-quant", "acts"),
    "kv": ("lower-quant", "kv"), "group": ("lower-quant", "group"),
    "grain": ("tile-grain", "grain"),
}
INPUT_KEYS = ("model", "hw")


def check_key(key: str) -> str:
    """`key` if meshc knows it, else a MeshcError naming it and the known keys."""
    if key in OPTION_KEYS or key in PASS_KEYS or key in INPUT_KEYS:
        return key
    for prefix in ("arch.", "hw."):
        if key.startswith(prefix) and all(key[len(prefix):].split(".")):
            return key
    raise MeshcError(f"unknown key '{key}'", where="--grid",
                     hint=f"a compile option ({', '.join(OPTION_KEYS)}), a pass option "
                          f"({', '.join(PASS_KEYS)}), model, hw, arch.FIELD or hw.PATH")


def check_value(key: str, value: Any) -> Any:
    """`value` checked for `key` (an integer budget becomes a float)."""
    where = f"--grid {key}"
    if key in OPTION_KEYS:
        kind, allowed = OPTION_KEYS[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not kind:
            raise MeshcError(f"expected {kind.__name__}, got {value!r}", where=where)
        if allowed and value not in allowed:
            raise MeshcError(f"{value!r} is not one of {', '.join(allowed)}", where=where)
        if isinstance(value, int | float) and not isinstance(value, bool):
            seed = key == "seed"  # a seed may be 0; a count or a budget may not
            if not (math.isfinite(value) and (value >= 0 if seed else value > 0)):
                raise MeshcError(f"must be a finite number {'>= 0' if seed else '> 0'}, got "
                                 f"{value!r}", where=where)
        if isinstance(value, str) and key == "parallel":
            check_parallel(value)
    elif key in INPUT_KEYS and not isinstance(value, str):
        raise MeshcError(f"expected a name or a file, got {value!r}", where=where)
    return value


def check_parallel(text: str) -> str:
    """`text` as `--parallel` reads it: "auto", or degrees in their canonical form
    (`tp=2,pp=4,ep=1,dp=1,mb=2`, mlp_tp when given); else a MeshcError naming the value."""
    if text.strip() == "auto":
        return "auto"
    try:
        par = parse_parallel(text)
    except MeshcError as e:
        raise MeshcError(e.message, where=f"--grid parallel={text}",
                         hint="degrees as --parallel takes them, or auto; several values "
                              "separated by ';': --grid 'parallel=tp=2,pp=4;tp=8'") from None
    return ",".join(f"{k}={v}" for k, v in par.as_dict().items())


def parse_value(key: str, text: str) -> Any:
    """One value of `KEY=V1,V2`, read as a YAML scalar."""
    if key == "parallel":
        return check_value(key, text)
    if key in INPUT_KEYS or key in ("pipeline", "weights", "acts", "kv"):
        return text  # names and files stay strings ("8b" is not a number here)
    value = parse_yaml(text, f"--grid {key}") if text else None
    if isinstance(value, dict | list) or value is None:
        raise MeshcError(f"'{text}' is not a single value", where=f"--grid {key}")
    return check_value(key, value)


@dataclass(frozen=True)
class Axis:
    key: str
    values: tuple[Any, ...]


def parse_axis(arg: str) -> Axis:
    """`KEY=V1,V2,...` as an axis."""
    key, sep, rest = arg.partition("=")
    key = check_key(key.strip())
    texts = [t.strip() for t in rest.split(SEPARATORS.get(key, ","))]
    if not sep or not all(texts):
        raise MeshcError(f"'{arg}' is not KEY=V1,V2,...", where="--grid")
    return Axis(key, tuple(parse_value(key, t) for t in texts))


@dataclass(frozen=True)
class Point:
    """One compile of a sweep: its swept values, in the grid's key order."""

    index: int
    values: tuple[tuple[str, Any], ...]

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.values) or "(defaults)"


@dataclass(frozen=True)
class Grid:
    """Axes crossed; all zipped; or the `paired` keys zipped with each other (the keys of
    them that the grid has) and crossed with the rest."""

    axes: tuple[Axis, ...]
    zipped: bool = False
    paired: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        keys = [a.key for a in self.axes]
        dup = next((k for k in keys if keys.count(k) > 1), None)
        if dup:
            raise MeshcError(f"'{dup}' is given twice", where="--grid",
                             hint="give all its values in one --grid KEY=V1,V2")
        for group in self.groups():
            if len(group) == 1 and not self.zipped and \
                    len(set(map(repr, group[0].values))) != len(group[0].values):
                # in a product, a repeated value is the same point twice
                raise MeshcError(f"'{group[0].key}' repeats a value", where="--grid",
                                 hint="--zip pairs lists, where values may repeat")
            if len({len(a.values) for a in group}) > 1:
                sizes = ", ".join(f"{a.key}: {len(a.values)}" for a in group)
                what = "--zip pairs" if self.zipped else \
                    f"{' and '.join(a.key for a in group)} are paired:"
                raise MeshcError(f"{what} lists of one length, got {sizes}", where="--grid")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(a.key for a in self.axes)

    def groups(self) -> list[list[Axis]]:
        """What the product runs over, in axis order: each axis alone, or zipped together
        (all of them, or the paired ones, placed where the first of them is)."""
        together = list(self.axes) if self.zipped else [a for a in self.axes
                                                        if a.key in self.paired]
        out: list[list[Axis]] = []
        for a in self.axes:
            if a not in together:
                out.append([a])
            elif a is together[0]:
                out.append(together)
        return out

    def points(self) -> tuple[Point, ...]:
        units = [list(zip(*(a.values for a in g), strict=True)) for g in self.groups()]
        keys = [[a.key for a in g] for g in self.groups()]
        out = []
        for i, combo in enumerate(itertools.product(*units)):
            values = {k: v for ks, vs in zip(keys, combo, strict=True)
                      for k, v in zip(ks, vs, strict=True)}
            out.append(Point(i, tuple((k, values[k]) for k in self.keys)))
        return tuple(out)

    def override(self, axes: Iterable[Axis]) -> Grid:
        """This grid with axes replaced (same key) or added: a study's grid under --grid."""
        given = {a.key: a for a in axes}
        kept = tuple(given.pop(a.key, a) for a in self.axes)
        return Grid(kept + tuple(given.values()), self.zipped, self.paired)


def parse_grid(args: Iterable[str], zipped: bool = False, paired: tuple[str, ...] = ()
               ) -> Grid:
    return Grid(tuple(parse_axis(a) for a in args), zipped, paired)


def settings(fixed: Mapping[str, Any], point: Point) -> dict[str, Any]:
    """Everything a point compiles with: the defaults, the sweep's fixed values, its own."""
    return {**DEFAULTS, **fixed, **dict(point.values)}

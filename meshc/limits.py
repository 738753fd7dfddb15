"""Work that cannot finish in reasonable time or memory is refused up front.

Every limit has a name, a default sized for a 2-core, 24 GiB machine, and a unit. A user
raises one with `meshc --limit NAME=VALUE ...` (or `MESHC_LIMIT_NAME=VALUE` in the
environment); `refuse` builds the message that names the figure, the limit and that option.
docs/conventions.md lists them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from meshc.errors import MeshcError


@dataclass(frozen=True)
class Limit:
    name: str
    default: int
    unit: str
    what: str  # what it bounds, for docs and `meshc --limit help`


LIMITS: dict[str, Limit] = {lim.name: lim for lim in (
    Limit("text_mb", 64, "MB", "size of a text input (spec, config.json, hardware, .mlir)"),
    Limit("onnx_mb", 4096, "MB", "size of an .onnx file"),
    Limit("nodes", 1_000_000, "nodes", "nodes and values in one input after YAML aliases"),
    Limit("ops", 50_000, "ops", "graph ops in one imported model"),
    Limit("dim", 1 << 40, "elements", "one tensor dimension, and the elements of one tensor"),
    Limit("cores", 4096, "cores", "cores of one mesh"),
    # map-mesh holds every tile of a phase in arrays: measured ~68 B and ~1.4 us (CP-SAT
    # mapper, then simulation) per tile on llama3-8b / mesh-8x8 (41 M tiles: 2.8 GB, 62 s),
    # so 64 M tiles is ~4.4 GB and ~1.5 min
    Limit("tiles", 64_000_000, "tiles", "tiles of one phase after tile-grain"),
    # cost grows faster than the ops split-rows makes (547 x blocks on llama3-8b): with HEFT
    # 16 blocks took 33 s and 32 blocks 95 s (tile-grain, map-mesh, simulation) on mesh-8x8
    Limit("row_blocks", 32, "blocks", "row blocks of split-rows"),
)}

_overrides: dict[str, int] = {}


def get(name: str) -> int:
    """The limit in force: `meshc --limit`, then MESHC_LIMIT_<NAME>, then the default."""
    if name in _overrides:
        return _overrides[name]
    env = os.environ.get(f"MESHC_LIMIT_{name.upper()}")
    if env is not None:
        return _parse(name, env, f"MESHC_LIMIT_{name.upper()}")
    return LIMITS[name].default


def set_limits(assignments: tuple[str, ...]) -> None:
    """Applies `NAME=VALUE` assignments from the command line."""
    for a in assignments:
        name, sep, value = a.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in LIMITS:
            raise MeshcError(f"'{a}' is not NAME=VALUE with a known limit name",
                             where="--limit", hint=f"limits: {', '.join(LIMITS)}")
        _overrides[name] = _parse(name, value, "--limit")


def reset() -> None:
    _overrides.clear()


def refuse(name: str, figure: int | float, what: str) -> MeshcError:
    """The error for work over a limit: the figure, the limit and how to raise it."""
    lim = LIMITS[name]
    return MeshcError(
        f"{what}: {figure:,.0f} {lim.unit} is over the limit of {get(name):,} {lim.unit}",
        hint=f"raise it with `meshc --limit {name}=N ...` if the machine has the time "
             "and memory")


def check(name: str, figure: int | float, what: str) -> None:
    if figure > get(name):
        raise refuse(name, figure, what)


def _parse(name: str, value: str, where: str) -> int:
    v = value.strip().replace("_", "")
    if not v.isdigit() or len(v) > 18 or int(v) <= 0:
        raise MeshcError(f"limit {name} must be a positive integer, got '{value}'", where=where)
    return int(v)

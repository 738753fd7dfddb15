"""Checks made before any solve; each failure names the resource, demand vs capacity, and a fix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshc import limits
from meshc.errors import MeshcError
from meshc.mappers.problem import Core, MappingProblem, Op
from meshc.units import fmt_bytes


def _b(n: int | float) -> str:
    return fmt_bytes(int(n))


def usable_cores(problem: MappingProblem, op: Op) -> tuple[Core, ...]:
    """Cores of the op's region whose type runs the op and whose SRAM holds one tile."""
    m = problem.machine
    fits = frozenset(t for t in op.tile_cycles
                     if t in m.sram_bytes and m.sram_bytes[t] >= op.sram_bytes_per_tile)
    return _memo(problem.regions[op.region], m.core_types, fits)


Grid = Sequence[Sequence[str]]
# (id(region), id(grid), types) -> (region, grid, cores): the objects are held, so their
# ids cannot be reused while an entry lives. Every op of every layer asks with the same few
# (region, types) pairs, and check_feasible and bisection_bound both ask per op.
_MEMO: dict[tuple[int, int, frozenset[str] | None], tuple[object, object, tuple[Any, ...]]] = {}


def _memo(region: tuple[Core, ...], grid: Grid, types: frozenset[str] | None) -> tuple[Any, ...]:
    """The cores of `region` of one of `types`, or with `types` None its sorted types."""
    key = (id(region), id(grid), types)
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is region and hit[1] is grid:
        return hit[2]
    if len(_MEMO) >= 4096:
        _MEMO.clear()
    got: tuple[Any, ...]
    if types is None:
        got = tuple(sorted({grid[r][c] for r, c in region}))
    else:
        got = tuple(k for k in region if grid[k[0]][k[1]] in types)
    _MEMO[key] = (region, grid, got)
    return got


def _check_op(problem: MappingProblem, op: Op) -> None:
    m = problem.machine
    region = problem.regions[op.region]
    types = list(_memo(region, m.core_types, None))
    runnable = [t for t in types if t in op.tile_cycles]
    where = f"op {op.name}"
    if not runnable:
        raise MeshcError(
            f"region {op.region!r} has no core able to run it: the op has costs for core types "
            f"{sorted(op.tile_cycles)}, the region's cores are of types {types}",
            where=where,
            hint="assign the op to a region with one of those core types, or give the cost "
            "model a cost for one of the region's types",
        )
    if not usable_cores(problem, op):
        sram = ", ".join(f"cores of type {t} have {_b(m.sram_bytes[t])}" for t in runnable)
        raise MeshcError(
            f"tile needs {_b(op.sram_bytes_per_tile)} of SRAM, {sram}",
            where=where,
            hint="use a smaller grain (tile-grain{grain=...}) or a core type with more SRAM",
        )
    if op.hbm_bytes and not m.hbm_ports:
        raise MeshcError(
            f"it streams {_b(op.hbm_bytes)} over HBM but the machine has no HBM port",
            where=where,
            hint="add HBM ports to the hardware, or keep the op's weights and KV cache in SRAM",
        )


def check_feasible(problem: MappingProblem) -> None:
    """Raise `MeshcError` on the first resource the problem cannot fit in, or when its tiles
    would not fit the memory of this process (the schedule holds every tile)."""
    tiles = sum(op.n_tiles for op in problem.ops)
    if tiles > limits.get("tiles"):
        raise limits.refuse("tiles", tiles, "too many tiles to map").located(where=problem.name)
    for op in problem.ops:
        _check_op(problem, op)
    cap = problem.machine.hbm_capacity_bytes
    if cap is not None and problem.hbm_resident_bytes > cap:
        raise MeshcError(
            f"HBM must hold {fmt_bytes(problem.hbm_resident_bytes)} (weights not resident in "
            f"SRAM plus the largest phase's KV cache) but has {fmt_bytes(cap)}",
            where=problem.name,
            hint="quantize weights or the KV cache (lower-quant), shorten the context, or use "
            "hardware with more HBM",
        )

"""Checks made before any solve; each failure names the resource, demand vs capacity, and a fix."""

from __future__ import annotations

from meshc import limits
from meshc.errors import MeshcError
from meshc.mappers.problem import Core, MappingProblem, Op
from meshc.units import fmt_bytes


def _b(n: int | float) -> str:
    return fmt_bytes(int(n))


def usable_cores(problem: MappingProblem, op: Op) -> tuple[Core, ...]:
    """Cores of the op's region whose type runs the op and whose SRAM holds one tile."""
    m = problem.machine
    return tuple(
        k for k in problem.regions[op.region]
        if m.core_type(k) in op.tile_cycles and m.sram_bytes[m.core_type(k)]
        >= op.sram_bytes_per_tile
    )


def _check_op(problem: MappingProblem, op: Op) -> None:
    m = problem.machine
    region = problem.regions[op.region]
    types = sorted({m.core_type(k) for k in region})
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

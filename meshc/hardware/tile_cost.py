"""Cycles of one tile of a tiled op on one core: the single rule the mapper (through the
tile-grain and map-mesh passes) and the simulator share, so that their figures can be
compared. `tile_cycles_array` prices many candidate tiles at once; `tile_cycles` one tile."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from meshc.hardware import CoreType
from meshc.hardware.cost import gemm_cycles, vector_cycles
from meshc.hardware.precision import precision_bits

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


class TileLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def precision(self) -> str: ...
    @property
    def tile_shape(self) -> tuple[int, int, int]: ...
    @property
    def tile_work(self) -> object: ...  # Mapping[str, int] of meshc.ir.tile.TILE_WORK_FIELDS
    @property
    def stationary_bits(self) -> float | None: ...  # gemm tiles: see meshc.ir.tile


def tile_cycles_array(kind: str, core: CoreType, precision: str, m: ArrayLike, n: ArrayLike,
                      k: ArrayLike, vector_ops: ArrayLike, transcendental_ops: ArrayLike,
                      moved_bytes: ArrayLike, stationary_bits: float | None = None
                      ) -> np.ndarray:
    """Cycles of each tile (m x n output, k deep): gemm = the systolic array's cycles at the
    execution precision (cost.gemm_cycles, any dataflow) plus the tile's vector work (e.g.
    softmax inside attention); vector = the vector unit; memory = SRAM bandwidth. Never
    below moved_bytes over the SRAM bandwidth, never below 1. A gemm tile's held operand
    (B: the weight, a matmul's rhs, attention's K/V cache) loads at `stationary_bits`, its
    stored width as the tile records it (meshc.ir.tile), at most the execution width."""
    cycles = np.zeros(np.shape(m), dtype=np.float64)
    if kind == "gemm" and core.can_gemm:
        if stationary_bits is None:
            raise ValueError("a gemm tile's cycles need stationary_bits, the stored bits of "
                             "the operand its systolic array holds")
        p = core.exec_precision(precision)
        bits = min(float(stationary_bits), precision_bits(p))
        cycles = cycles + gemm_cycles(m, k, n, core, p, stationary_bits=bits)
    if kind in ("gemm", "vector"):
        cycles = cycles + vector_cycles(vector_ops, transcendental_ops, core)
    floor = np.asarray(moved_bytes, dtype=np.float64) / core.sram_bytes_per_cycle
    return np.maximum(1, np.ceil(np.maximum(cycles, floor))).astype(np.int64)


def tile_cycles(tile: TileLike, core: CoreType) -> int:
    """tile_cycles_array for one tile of a tile-level op."""
    w = tile.tile_work
    m, n, k = tile.tile_shape
    moved = w["in_bytes"] + w["weight_bytes"] + w["out_bytes"]  # type: ignore[index]
    return int(tile_cycles_array(tile.kind, core, tile.precision, [m], [n], [k],
                                 [w["vector_ops"]], [w["transcendental_ops"]], [moved],  # type: ignore[index]
                                 tile.stationary_bits)[0])

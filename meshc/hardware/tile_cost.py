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


def weight_bits(core: CoreType, precision: str, m: ArrayLike, n: ArrayLike, k: ArrayLike,
                weight_bytes: ArrayLike) -> np.ndarray:
    """Stored bits per element of a gemm tile's k x n weights, which a weight-stationary
    array loads (cost.load_cycles): its weight bytes (group scales included: they travel
    with the weights) over k * n, at most the execution width; the execution width when it
    has no weights (a matmul of activations, attention's K and V)."""
    exec_bits = precision_bits(core.exec_precision(precision))
    w = np.asarray(weight_bytes, dtype=np.float64)
    elements = np.asarray(k, dtype=np.float64) * np.asarray(n, dtype=np.float64)
    bits = np.minimum(w * 8 / np.maximum(elements, 1), exec_bits)
    return np.where(w > 0, bits, exec_bits) + np.zeros(np.shape(m))


def tile_cycles_array(kind: str, core: CoreType, precision: str, m: ArrayLike, n: ArrayLike,
                      k: ArrayLike, vector_ops: ArrayLike, transcendental_ops: ArrayLike,
                      moved_bytes: ArrayLike, weight_bytes: ArrayLike = 0) -> np.ndarray:
    """Cycles of each tile (m x n output, k deep): gemm = the systolic array's cycles at the
    execution precision (cost.gemm_cycles, any dataflow; weights load at their stored width,
    `weight_bits`) plus the tile's vector work (e.g. softmax inside attention); vector = the
    vector unit; memory = SRAM bandwidth. Never below moved_bytes over the SRAM bandwidth,
    never below 1."""
    cycles = np.zeros(np.shape(m), dtype=np.float64)
    if kind == "gemm" and core.can_gemm:
        p = core.exec_precision(precision)
        cycles = cycles + gemm_cycles(m, k, n, core, p,
                                      weight_bits=weight_bits(core, p, m, n, k, weight_bytes))
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
                                 [w["weight_bytes"]])[0])  # type: ignore[index]

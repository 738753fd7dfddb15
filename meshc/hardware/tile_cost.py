"""Cycles of one tile of a tiled op on one core: the single rule the mapper (through the
map-mesh pass) and the simulator share, so that their figures can be compared."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from meshc.hardware import CoreType
from meshc.hardware.cost import gemm_cycles, vector_cycles


class TileLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def precision(self) -> str: ...
    @property
    def tile_shape(self) -> tuple[int, int, int]: ...
    @property
    def tile_work(self) -> object: ...  # Mapping[str, int] of meshc.ir.tile.TILE_WORK_FIELDS


def tile_cycles(tile: TileLike, core: CoreType) -> int:
    """gemm: the systolic array's cycles (fill, drain, folds) plus the tile's vector work
    (e.g. softmax inside attention); vector: the vector unit; memory: SRAM bandwidth.
    Never below the SRAM bandwidth the tile's bytes need, never below 1."""
    w = tile.tile_work
    m, n, k = tile.tile_shape
    moved = w["in_bytes"] + w["weight_bytes"] + w["out_bytes"]  # type: ignore[index]
    floor = moved / core.sram_bytes_per_cycle
    cycles = 0.0
    if tile.kind == "gemm" and core.can_gemm:
        arr = np.array
        cycles = float(gemm_cycles(arr([m]), arr([k]), arr([n]), core,
                                   core.exec_precision(tile.precision))[0])
    if tile.kind in ("gemm", "vector") and (w["vector_ops"] or w["transcendental_ops"]):  # type: ignore[index]
        cycles += float(vector_cycles(np.array([w["vector_ops"]]),  # type: ignore[index]
                                      np.array([w["transcendental_ops"]]), core)[0])  # type: ignore[index]
    return max(1, int(np.ceil(max(cycles, floor))))

"""What the simulator replays: placed, tiled ops and their data dependencies, as values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from meshc.result import Rect, Steps, rect_cores


@dataclass(frozen=True)
class SimOp:
    """One tiled op with the mapper's placement. Per-tile figures are of ONE tile."""

    name: str
    op_class: str
    kind: str  # gemm | vector | memory
    layer: int
    block: str
    region: str
    precision: str
    n_tiles: int
    tile_shape: tuple[int, int, int]  # (m, n, k)
    tile_work: Mapping[str, int]  # meshc.ir.tile.TILE_WORK_FIELDS
    padded_macs: int
    hbm_read_bytes: int
    hbm_write_bytes: int
    rect: Rect
    planned_start_cycles: int
    planned_end_cycles: int
    step: Steps = (1, 1)
    # stored bits per element of the operand a gemm tile's array holds (meshc.ir.tile);
    # None for vector and memory tiles
    stationary_bits: float | None = None
    # the memory hierarchy (sim/memory.py); defaults: a value nobody homes, nothing resident
    out_bytes: int = 0  # bytes of the op's result tensor
    # (phase input index, bytes) of the phase's inputs it reads: they start off chip, and
    # the first reader in replay order brings one on chip for the others (sim/memory.py)
    args: tuple[tuple[int, int], ...] = ()
    is_output: bool = False  # its result is a phase output: it ends off chip
    offchip_copy: bool = False  # its result is in off-chip memory too (a KV cache in HBM)
    resident: tuple[tuple[str, int], ...] = ()  # (parameter, bytes) it keeps in SRAM

    @property
    def cores(self) -> tuple[tuple[int, int], ...]:
        return rect_cores(self.rect, self.step)

    def total(self, field: str) -> int:
        return self.tile_work[field] * self.n_tiles


@dataclass(frozen=True)
class SimEdge:
    src: int  # index into the op list
    dst: int
    bytes: int

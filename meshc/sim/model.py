"""What the simulator replays: placed, tiled ops and their data dependencies, as values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Rect = tuple[int, int, int, int]


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

    @property
    def cores(self) -> tuple[tuple[int, int], ...]:
        r0, c0, r1, c1 = self.rect
        return tuple((r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1))

    def total(self, field: str) -> int:
        return self.tile_work[field] * self.n_tiles


@dataclass(frozen=True)
class SimEdge:
    src: int  # index into the op list
    dst: int
    bytes: int

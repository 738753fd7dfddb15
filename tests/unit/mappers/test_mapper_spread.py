"""The tile-spreading rule (meshc.hardware.spread), as the mapper and the backends use it."""

from __future__ import annotations

import numpy as np
from mapper_builders import OpSpec, machine, problem

from meshc.hardware.spread import even_split, tile_cores, tiles_per_core, waves
from meshc.mappers.rects import Rect
from meshc.mappers.tiles import spread_tiles
from meshc.result import rect_cores


def test_round_robin_over_row_major_cores() -> None:
    core, wave = tile_cores(8, 3)
    assert core.tolist() == [0, 1, 2, 0, 1, 2, 0, 1]
    assert wave.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert tiles_per_core(8, 3) == [3, 3, 2] == np.bincount(core, minlength=3).tolist()
    assert waves(8, 3) == 3 and waves(6, 3) == 2
    assert even_split(10, 4) == [3, 3, 2, 2]
    assert tiles_per_core(2, 4) == [1, 1, 0, 0]


def test_the_mapper_places_tiles_by_the_rule() -> None:
    p = problem(machine(2, 3), [OpSpec(tiles=8, cycles=10)], [])
    rect = Rect(r0=0, c0=0, r1=1, c1=2)
    _, rows, cols, start, end = spread_tiles(p, 0, rect, 0, 30)
    cores = rect_cores((0, 0, 1, 2))
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == [cores[k % 6] for k in range(8)]
    assert start.tolist() == [0] * 6 + [15] * 2  # 2 waves over 30 cycles
    assert (end - start).tolist() == [10] * 8

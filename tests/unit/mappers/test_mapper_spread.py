"""The tile-spreading rule (meshc.hardware.spread), as the mapper and the backends use it."""

from __future__ import annotations

import numpy as np

from meshc.hardware.spread import even_split, tile_cores, tiles_per_core, waves


def test_round_robin_over_row_major_cores() -> None:
    core, wave = tile_cores(8, 3)
    assert core.tolist() == [0, 1, 2, 0, 1, 2, 0, 1]
    assert wave.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert tiles_per_core(8, 3) == [3, 3, 2] == np.bincount(core, minlength=3).tolist()
    assert waves(8, 3) == 3 and waves(6, 3) == 2
    assert even_split(10, 4) == [3, 3, 2, 2]
    assert tiles_per_core(2, 4) == [1, 1, 0, 0]

"""Clock domains: each core type runs at its own clock_hz, the NoC and HBM at the NoC's.

The mapper's problem and the simulator count time in cycles of ONE clock, the NoC's; a
tile's cycles on a core type are converted here, and only here: a core at half the NoC's
clock takes twice as many NoC cycles for the same tile.
"""

from __future__ import annotations

import math

from meshc.hardware.model import CoreType, Hardware
from meshc.hardware.tile_cost import TileLike, tile_cycles


def to_noc_cycles(core_cycles: float, core: CoreType, hw: Hardware) -> int:
    """`core_cycles` of `core`'s clock in whole NoC cycles (rounded up)."""
    ratio = hw.noc.clock_hz / core.clock_hz  # first, so that equal clocks give exactly 1.0
    return math.ceil(core_cycles * ratio)


def tile_noc_cycles(tile: TileLike, core: CoreType, hw: Hardware) -> int:
    """NoC cycles of one tile on one core of `core`'s type: seconds = tile cycles / core
    clock, in the NoC's clock."""
    return to_noc_cycles(tile_cycles(tile, core), core, hw)

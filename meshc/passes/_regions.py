"""Region sizing and weight fit for partition-attn-mlp: pure functions on plain values.

The attention region grows inward from the cores the HBM stacks attach to: cores are
ordered by Manhattan distance to the nearest attached core (ties row-major), and the first
`n` of that order form the region. A *ring* is the set of cores at one distance (an edge
column when a stack attaches along a column).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Core = tuple[int, int]

# Fraction of every core's SRAM kept for tile working sets (double-buffered tile inputs,
# weights and outputs plus accumulators); resident weights may use the rest.
TILE_RESERVE = 0.25


def hbm_order(rows: int, cols: int, attach: Iterable[Core]) -> list[tuple[int, Core]]:
    """(distance to the nearest HBM-attached core, core) for every core, nearest first.
    Without HBM, distance counts from the west edge (column 0)."""
    anchors = sorted(set(attach)) or [(r, 0) for r in range(rows)]
    out = []
    for r in range(rows):
        for c in range(cols):
            d = min(abs(r - ar) + abs(c - ac) for ar, ac in anchors)
            out.append((d, (r, c)))
    return sorted(out)


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def attention_cores(rows: int, cols: int, attach: Iterable[Core], frac: float,
                    snap: bool) -> tuple[Core, ...]:
    """The attention region: round(frac * cores) cores nearest HBM, at least 1 and leaving
    at least 1 for the MLP. With `snap`, whole rings only (the ring count whose size is
    closest to the target), unless the first ring alone leaves no MLP core.
    Raises ValueError on a single-core mesh or a fraction outside [0, 1]."""
    n = rows * cols
    if n < 2:
        raise ValueError(f"disaggregation needs at least 2 cores; the mesh is {rows}x{cols}")
    if not 0.0 <= frac <= 1.0:
        raise ValueError(f"the attention fraction must be in [0, 1], got {frac}")
    order = hbm_order(rows, cols, attach)
    want = min(max(_round(frac * n), 1), n - 1)
    if snap:
        sizes = []
        for d in sorted({dist for dist, _ in order}):
            size = sum(1 for dist, _ in order if dist <= d)
            if size <= n - 1:
                sizes.append(size)
        if sizes:
            want = min(sizes, key=lambda s: (abs(s - want), s))
    return tuple(sorted(core for _, core in order[:want]))


def auto_fraction(attention_cycles: float, mlp_cycles: float) -> float:
    """The attention share of the estimated work (0.5 when there is none)."""
    total = attention_cycles + mlp_cycles
    return 0.5 if total <= 0 else attention_cycles / total


def roofline_cycles(macs: float, vector_ops: float, transcendental_ops: float,
                    bytes_moved: float, macs_per_cycle: float, lanes: float,
                    transcendental_per_cycle: float, sram_bytes_per_cycle: float) -> float:
    """Work estimate of one op on one average core: compute or SRAM traffic, the larger."""
    compute = (macs / macs_per_cycle + vector_ops / lanes
               + transcendental_ops / transcendental_per_cycle)
    return max(compute, bytes_moved / sram_bytes_per_cycle)


@dataclass(frozen=True, slots=True)
class Fit:
    """Whether a group of weights fits a region's SRAM after the tile reserve.

    `per_layer` is the mean bytes one decoder layer adds to the group, `fixed` the bytes of
    the group outside the layers (embeddings, LM head; KV cache on a machine without HBM).
    """

    what: str  # e.g. "MLP weights"
    region: str
    need: int
    sram_bytes: int  # total SRAM of the region's cores
    n_cores: int
    layers: int = 0
    fixed: int = 0

    @property
    def hold(self) -> int:
        return math.floor(self.sram_bytes * (1 - TILE_RESERVE))

    @property
    def fits(self) -> bool:
        return self.need <= self.hold

    @property
    def short(self) -> int:
        return max(0, self.need - self.hold)

    @property
    def layers_that_fit(self) -> int:
        if self.layers <= 0:
            return 0
        per_layer = (self.need - self.fixed) / self.layers
        if per_layer <= 0:
            return self.layers
        return max(0, min(self.layers, math.floor((self.hold - self.fixed) / per_layer)))

    @property
    def sram_needed(self) -> int:
        """Region SRAM at which the group would fit with the reserve kept."""
        return math.ceil(self.need / (1 - TILE_RESERVE))

    def note(self, suggest_int4: bool) -> str:
        levers: list[str] = []
        if suggest_int4:
            levers.append("use int4 weights (lower-quant{weights=int4})")
        if 0 < self.layers_that_fit < self.layers:
            levers.append(f"fewer layers per chip ({self.layers_that_fit} of {self.layers} fit)")
        levers.append(f"or a mesh with more SRAM ({self.sram_needed:,} B in the {self.region} "
                      "region)")
        if len(levers) == 1:
            levers[0] = levers[0].removeprefix("or ")
        pct = _round(100 * (1 - TILE_RESERVE))
        return (f"{self.what} need {self.need:,} B but the {self.region} region's SRAM holds "
                f"{self.hold:,} B ({pct}% of {self.sram_bytes:,} B on {self.n_cores} "
                f"core{'s' if self.n_cores != 1 else ''}; "
                f"the rest is kept for tiles), short by {self.short:,} B: "
                + ", ".join(levers))


def region_sram(cores: Sequence[Core], sram_of: dict[Core, int]) -> int:
    return sum(sram_of[c] for c in cores)

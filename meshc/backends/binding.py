"""What binds a phase: which resource its simulated latency is spent on.

Each resource's busy time as a share of the phase's latency:

* `compute`: the MACs at the chip's peak rate (= compute utilisation);
* `arrays`: the busiest core's busy time beyond its share of `compute`: time the arrays
  spend loading weights, filling and draining, and on padded tiles;
* `hbm`: every off-chip byte (weights and KV streamed, spills both ways, the phase's inputs
  and outputs, a cold run's weight loads) at the HBM bandwidth of all stacks;
* `noc`: the busiest NoC link's busy time.

The phase is bound by the largest share when it is at least `BOUND_SHARE`; below that no
resource is busy most of the time and the latency is the dependency chain's (ops waiting
for ops). A share can exceed 1 only by rounding.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from meshc.result import PhaseResult

BOUND_SHARE = 0.5
LABELS = {"compute": "compute (MACs at peak)",
          "arrays": "array time beyond MACs (weight loading, fill/drain, padding)",
          "hbm": "HBM bandwidth", "noc": "NoC links",
          "dependencies": "dependencies (no resource busy half the time)"}


@dataclass(frozen=True)
class Binding:
    bound_by: str  # a key of LABELS
    shares: dict[str, float]  # resource -> busy time / latency

    @property
    def label(self) -> str:
        return LABELS[self.bound_by]


def phase_binding(p: PhaseResult, hbm_bytes_per_s: float) -> Binding:
    lat = p.latency_s
    if lat <= 0:
        return Binding("dependencies", {k: 0.0 for k in ("compute", "arrays", "hbm", "noc")})
    compute = p.compute_utilization
    busiest = max(p.core_busy_s.values(), default=0.0) / lat
    hbm_bytes = (sum(o.hbm_read_bytes + o.hbm_write_bytes for o in p.ops) + p.spilled_bytes
                 + p.reloaded_bytes + p.input_offchip_bytes + p.output_offchip_bytes
                 + p.cold_load_bytes)
    link_busy: dict[object, float] = defaultdict(float)
    for t in p.transfers:
        for link in t.links:
            link_busy[link] += t.end_s - t.start_s
    shares = {
        "compute": compute,
        "arrays": max(0.0, busiest - compute),
        "hbm": hbm_bytes / hbm_bytes_per_s / lat if hbm_bytes_per_s > 0 else 0.0,
        "noc": max(link_busy.values(), default=0.0) / lat,
    }
    top = max(sorted(shares), key=lambda k: shares[k])
    return Binding(top if shares[top] >= BOUND_SHARE else "dependencies", shares)

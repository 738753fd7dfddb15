"""NoC transfers of a replay: a dependency's bytes as parallel XY-routed flows booked on
link timelines (sim/replay.py's module docstring gives the rule)."""

from __future__ import annotations

from functools import lru_cache

from meshc.hardware.transfers import flows, xy_route
from meshc.result import TransferRecord
from meshc.sim.model import SimOp
from meshc.sim.timeline import Timeline

Core = tuple[int, int]


def transfer(src: SimOp, dst: SimOp, n_bytes: int, ready: float,
             links: dict[tuple[Core, Core], Timeline], link_bw: float, router: int,
             pj_per_byte_hop: float, clock: float) -> tuple[float, float, list[TransferRecord]]:
    """Moves n_bytes from src's rectangle to dst's; returns (arrival, energy, records)."""
    if n_bytes <= 0:
        return ready, 0.0, []
    pairs = _flows(src.rect, src.step, dst.rect, dst.step)  # the mapper prices the same flows
    share = n_bytes / len(pairs)
    arrival = ready
    pj = 0.0
    recs = []
    for a, b in pairs:
        path = _route(a, b)
        if not path:
            continue  # same core: the data is already in its SRAM
        serial = share / link_bw
        # each link serves its flows in time order; a flow is through when its last link is
        booked = [links[link].reserve(ready, serial) for link in path]
        s = min(b[0] for b in booked)
        done = max(b[1] for b in booked) + router * len(path)
        arrival = max(arrival, done)
        pj += share * len(path) * pj_per_byte_hop
        recs.append(TransferRecord(src_op=src.name, dst_op=dst.name, src_core=a, dst_core=b,
                                   bytes=round(share), hops=len(path), start_s=s / clock,
                                   end_s=done / clock, links=path))
    return arrival, pj, recs


# repeated layers move data between the same rectangles: route each pair once
_flows = lru_cache(maxsize=1 << 12)(flows)


@lru_cache(maxsize=1 << 16)
def _route(a: Core, b: Core) -> tuple[tuple[Core, Core], ...]:
    return tuple(xy_route(a, b))

"""A dependency's bytes between two core rectangles: the NoC rule the mapper prices and the
simulator replays.

n bytes travel as k = min(|A|, |B|, MAX_FLOWS) flows of n / k bytes. Flow i leaves the
(i * |A| div k)-th core of A and enters the (i * |B| div k)-th core of B (row-major, evenly
spaced), XY-routed (along the row first, then the column). A link serves its flows one
after another at link_bytes_per_cycle; a flow is through when its last link has served it,
plus the router latency per hop. A flow from a core to itself moves nothing (the data is in
that core's SRAM).

On an otherwise idle NoC the links serve the flows in index order, so flow f is through after
rank_f * serial + router * hops_f cycles, where serial = n / (k * link_bytes_per_cycle) and
rank_f is the most flows j <= f that cross one of f's links. That is `alone_cycles`: the
mapper's transfer delay. The simulator books the same flows on link timelines shared with
every other transfer (meshc/sim/replay.py), which adds the contention the mapper leaves out.
"""

from __future__ import annotations

import math
from functools import lru_cache

Core = tuple[int, int]
Link = tuple[Core, Core]
Box = tuple[int, int, int, int]  # r0, c0, r1, c1 (inclusive)
Steps = tuple[int, int]

MAX_FLOWS = 8


def xy_route(src: Core, dst: Core) -> list[Link]:
    """Links crossed from src to dst: along the row first (X), then the column (Y)."""
    links = []
    r, c = src
    while c != dst[1]:
        nc = c + (1 if dst[1] > c else -1)
        links.append(((r, c), (r, nc)))
        c = nc
    while r != dst[0]:
        nr = r + (1 if dst[0] > r else -1)
        links.append(((r, c), (nr, c)))
        r = nr
    return links


def _n_cores(box: Box, step: Steps) -> tuple[int, int]:
    return (box[2] - box[0]) // step[0] + 1, (box[3] - box[1]) // step[1] + 1


def _core(box: Box, step: Steps, width: int, j: int) -> Core:
    """The j-th core (row-major) of a strided rectangle."""
    return box[0] + j // width * step[0], box[1] + j % width * step[1]


def flows(src: Box, src_step: Steps, dst: Box, dst_step: Steps) -> tuple[tuple[Core, Core], ...]:
    """The (source core, destination core) of every flow between two rectangles."""
    hs, ws = _n_cores(src, src_step)
    hd, wd = _n_cores(dst, dst_step)
    ns, nd = hs * ws, hd * wd
    k = min(ns, nd, MAX_FLOWS)
    return tuple((_core(src, src_step, ws, i * ns // k), _core(dst, dst_step, wd, i * nd // k))
                 for i in range(k))


def profile(pairs: tuple[tuple[Core, Core], ...]) -> tuple[tuple[int, int], ...]:
    """(rank, hops) of every flow that moves (see the module docstring), without the ones
    another flow dominates (no lower rank and no fewer hops). Cached on the flows' shape:
    the rule is the same wherever the two rectangles sit."""
    if not pairs:
        return ()
    r0 = min(min(a[0], b[0]) for a, b in pairs)
    c0 = min(min(a[1], b[1]) for a, b in pairs)
    return _profile(tuple(((a[0] - r0, a[1] - c0), (b[0] - r0, b[1] - c0)) for a, b in pairs))


@lru_cache(maxsize=1 << 16)
def _profile(pairs: tuple[tuple[Core, Core], ...]) -> tuple[tuple[int, int], ...]:
    load: dict[Link, int] = {}
    out = set()
    for a, b in pairs:
        path = xy_route(a, b)
        if not path:
            continue
        rank = 0
        for link in path:
            load[link] = load.get(link, 0) + 1
            rank = max(rank, load[link])
        out.add((rank, len(path)))
    return tuple(sorted(p for p in out
                        if not any(q != p and q[0] >= p[0] and q[1] >= p[1] for q in out)))


def alone_cycles(n_bytes: float, prof: tuple[tuple[int, int], ...], k: int,
                 link_bytes_per_cycle: float, router_latency_cycles: int) -> float:
    """Cycles from the producer's end to the last flow's arrival on an idle NoC."""
    if n_bytes <= 0 or not prof:
        return 0.0
    serial = n_bytes / k / link_bytes_per_cycle
    return max(rank * serial + router_latency_cycles * hops for rank, hops in prof)


def transfer_cycles(n_bytes: int, src: Box, src_step: Steps, dst: Box, dst_step: Steps,
                    link_bytes_per_cycle: float, router_latency_cycles: int) -> int:
    """`alone_cycles` of n bytes from rectangle src to rectangle dst, in whole cycles."""
    pairs = flows(src, src_step, dst, dst_step)
    t = alone_cycles(n_bytes, profile(pairs), len(pairs), link_bytes_per_cycle,
                     router_latency_cycles)
    return math.ceil(t - 1e-9)

"""From decisions to a `Schedule`: op placements in cycles and transfer endpoints.

A schedule lists no tiles. Spreading rule (meshc.hardware.spread): tile k of an op on a
rectangle of c cores (row-major) runs on core k mod c, as that core's (k div c)-th tile.
With w = ceil(n_tiles / c) waves and the op lasting D cycles, wave m starts at
start + m * floor(D / w) and a tile lasts its core type's tile_cycles. For a compute-bound
op on one core type that is tiles back to back; for an HBM-bound op the waves are paced
by the HBM stream; every tile ends by the op's end (validate.py says why).
"""

from __future__ import annotations

from meshc.hardware.ports import nearest_step
from meshc.mappers.instance import Instance
from meshc.mappers.plan import Plan
from meshc.mappers.problem import Core
from meshc.mappers.rects import Rect
from meshc.mappers.schedule import OpPlacement, Schedule, Transfer


def closest_cores(a: Rect, b: Rect) -> tuple[Core, Core]:
    """A pair of cores of `a` and `b` at the rectangles' Manhattan distance (for strided
    rectangles: the cores nearest to the closest points of the bounding boxes)."""
    r = min(max(b.r0, a.r0), a.r1)
    c = min(max(b.c0, a.c0), a.c1)
    src = (nearest_step(r, a.r0, a.r1, a.rs), nearest_step(c, a.c0, a.c1, a.cs))
    return src, (nearest_step(src[0], b.r0, b.r1, b.rs), nearest_step(src[1], b.c0, b.c1, b.cs))


def materialize(inst: Instance, plan: Plan) -> Schedule:
    """The schedule in cycles of a plan in units: start = start_units * scale, end = start +
    duration in cycles; each transfer leaves when its producer ends."""
    problem = inst.problem
    n = inst.n_ops
    rects = [inst.ops[i].rects[int(plan.cand[i])] for i in range(n)]
    start = [int(plan.start[i]) * inst.scale for i in range(n)]
    end = [start[i] + int(inst.ops[i].dur_cycles[int(plan.cand[i])]) for i in range(n)]
    places = tuple(
        OpPlacement(op=i, r0=r.r0, c0=r.c0, r1=r.r1, c1=r.c1, rs=r.rs, cs=r.cs,
                    start=start[i], end=end[i])
        for i, r in enumerate(rects)
    )
    transfers = []
    for e, edge in enumerate(problem.edges):
        a, b = rects[edge.src], rects[edge.dst]
        s_core, d_core = closest_cores(a, b)
        delay = inst.delay_cycles(e, int(plan.cand[edge.src]), int(plan.cand[edge.dst]))
        t0 = end[edge.src]
        transfers.append(Transfer(src=edge.src, dst=edge.dst, bytes=edge.bytes, start=t0,
                                  end=t0 + delay, src_core=s_core, dst_core=d_core))
    return Schedule(
        ops=places,
        transfers=tuple(transfers),
        makespan=max(end, default=0),
    )

"""From decisions to a `Schedule`: tiles on their cores and transfer endpoints.

Spreading rule (meshc.hardware.spread): tile k of an op on a rectangle of c cores
(row-major) runs on core k mod c, as that core's (k div c)-th tile. With
w = ceil(n_tiles / c) waves and the op lasting D cycles, wave m starts at
start + m * floor(D / w) and a tile lasts its core type's tile_cycles. For a compute-bound
op on one core type that is tiles back to back; for an HBM-bound op the waves are paced
by the HBM stream; every tile ends by the op's end.
"""

from __future__ import annotations

import numpy as np

from meshc.hardware.ports import nearest_step
from meshc.hardware.spread import tile_cores, waves
from meshc.mappers.instance import Instance
from meshc.mappers.plan import Plan
from meshc.mappers.problem import Core, MappingProblem
from meshc.mappers.rects import Rect
from meshc.mappers.schedule import OpPlacement, Schedule, TileArrays, Transfer


def spread_tiles(
    problem: MappingProblem, op_id: int, rect: Rect, start: int, end: int
) -> tuple[np.ndarray, ...]:
    """(op, row, col, start, end) arrays of one op's tiles, in tile order."""
    op = problem.ops[op_id]
    m = problem.machine
    c = rect.n_cores
    core, wave = tile_cores(op.n_tiles, c)
    period = (end - start) // waves(op.n_tiles, c)
    cycles = np.array([op.tile_cycles[m.core_type(x)] for x in rect.cores()], dtype=np.int64)
    t0 = start + wave * period
    return (
        np.full(op.n_tiles, op_id, dtype=np.int32),
        (rect.r0 + core // rect.width * rect.rs).astype(np.int32),
        (rect.c0 + core % rect.width * rect.cs).astype(np.int32),
        t0,
        t0 + cycles[core],
    )


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
    parts = [spread_tiles(problem, i, rects[i], start[i], end[i]) for i in range(n)]
    cols = [np.concatenate([p[j] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
            for j in range(5)]
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
        tiles=TileArrays(op=cols[0], row=cols[1], col=cols[2], start=cols[3], end=cols[4]),
        transfers=tuple(transfers),
        makespan=max(end, default=0),
    )

"""HEFT with insertion over candidate rectangles: the baseline, the CP-SAT hint, the fallback.

1. Upward rank of every op: its fastest duration plus the longest (transfer + rank) over its
   successors, transfers priced between the ops' fastest rectangles.
2. Ops in decreasing rank (ties: smaller id; a topological order since durations are >= 1).
3. Each op takes the candidate rectangle with the earliest finish, every core of the rectangle
   idle and the HBM share free for the whole duration, gaps before scheduled ops allowed.
   Ties: fewer cores, then lower candidate index. Candidates are tried in order of their
   lower bound (ready + duration) and the search stops once that bound passes the best finish.

Deterministic: no randomness, and every choice has a total tie-break.
"""

from __future__ import annotations

import numpy as np

from meshc.mappers.instance import Instance, IntArray
from meshc.mappers.plan import Plan, ready_times
from meshc.mappers.timeline import Timeline, core_atoms


def upward_ranks(inst: Instance) -> IntArray:
    """Rank per op in units (fastest durations, transfers between fastest rectangles)."""
    fast = [int(np.argmin(t.dur)) for t in inst.ops]
    rank = np.zeros(inst.n_ops, dtype=np.int64)
    for i in reversed(inst.problem.topo_order):
        tail = 0
        for e in inst.out_edges[i]:
            j = inst.problem.edges[e].dst
            tail = max(tail, inst.delay(e, fast[i], fast[j]) + int(rank[j]))
        rank[i] = int(inst.ops[i].dur[fast[i]]) + tail
    return rank


def heft(inst: Instance) -> Plan:
    """The HEFT plan of `inst` (units of `inst.scale`)."""
    n = inst.n_ops
    rank = upward_ranks(inst)
    order = sorted(range(n), key=lambda i: (-int(rank[i]), i))
    tables = list({id(t): t for t in inst.ops}.values())  # repeated layers share tables
    flat, n_atoms = core_atoms(s for t in tables for s in t.cores)
    pos = dict(zip(((id(t), c) for t in tables for c in range(len(t.cores))), flat, strict=True))
    tl = Timeline(n_atoms)
    cand = np.zeros(n, dtype=np.int64)
    start = np.zeros(n, dtype=np.int64)
    end = np.zeros(n, dtype=np.int64)
    for i in order:
        tab = inst.ops[i]
        ready = ready_times(inst, i, cand, end)
        bound = ready + tab.dur
        best: tuple[int, int, int] | None = None
        best_t = 0
        for c in np.lexsort((np.arange(len(bound)), tab.n_cores, bound)):
            c = int(c)
            if best is not None and bound[c] > best[0]:
                break
            d = int(tab.dur[c])
            t = tl.earliest(pos[id(tab), c], int(ready[c]), d, int(tab.hbm[c]))
            key = (t + d, int(tab.n_cores[c]), c)
            if best is None or key < best:
                best, best_t = key, t
        assert best is not None
        c = best[2]
        cand[i], start[i], end[i] = c, best_t, best[0]
        tl.add(pos[id(tab), c], best_t, best[0], int(tab.hbm[c]))
    return Plan(cand=cand, start=start)

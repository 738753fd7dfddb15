"""Lower bounds on the makespan, in cycles.

* `critical_path`: the longest dependency chain with every op on its fastest candidate and
  every transfer at its smallest byte term (no hop latency): full parallelism, no contention.
* `work`: for each region (and for the whole mesh), the least core-cycles of the ops confined
  to it (each op on its cheapest candidate: cores x duration) over its number of cores.
* `hbm`: all HBM bytes over the aggregate HBM bandwidth.
* `noc_bisection`: for every straight cut of the mesh, the bytes of dependencies whose
  producer's and consumer's usable cores lie on opposite sides, over the links crossing the
  cut in one direction. This bounds the *physical* machine (links are shared); the mapper's
  transfer rule does not model link sharing, so a mapper makespan below it means the transfer
  rule was optimistic for that problem.

`best` is the largest of the four. `model_bound` is the largest of the first three, which
hold for the mapper's own model too (the CP-SAT objective uses it).
"""

from __future__ import annotations

import math

import numpy as np

from meshc.mappers.feasibility import usable_cores
from meshc.mappers.instance import Instance, build_instance
from meshc.mappers.problem import MappingProblem

MODEL_BOUNDS = ("critical_path", "work", "hbm")


def critical_path_bound(inst: Instance) -> int:
    problem = inst.problem
    fin = np.zeros(inst.n_ops, dtype=np.int64)
    for i in problem.topo_order:
        ready = 0
        for e in inst.in_edges[i]:
            src = problem.edges[e].src
            byte_term = max(int(inst.src_bytes[e].min()), int(inst.dst_bytes[e].min()))
            ready = max(ready, int(fin[src]) + byte_term)
        fin[i] = ready + int(inst.ops[i].dur_cycles.min())
    return int(fin.max(initial=0))


def work_bound(inst: Instance) -> int:
    problem = inst.problem
    area = [int(t.area.min()) for t in inst.ops]
    mesh = {(r, c) for r in range(problem.machine.rows) for c in range(problem.machine.cols)}
    pools = [mesh, *(set(cores) for cores in problem.regions.values())]
    best = 0
    for pool in pools:
        total = sum(a for op, a in zip(problem.ops, area, strict=True)
                    if set(problem.regions[op.region]) <= pool)
        best = max(best, -(-total // len(pool)))
    return best


def hbm_bound(problem: MappingProblem) -> int:
    total = sum(op.hbm_bytes for op in problem.ops)
    if total == 0:
        return 0
    return math.ceil(total / problem.machine.hbm_bytes_per_cycle)


def bisection_bound(problem: MappingProblem) -> int:
    m = problem.machine
    spans = []
    for op in problem.ops:
        cores = usable_cores(problem, op)
        spans.append((min(r for r, _ in cores), max(r for r, _ in cores),
                      min(c for _, c in cores), max(c for _, c in cores)))
    best = 0
    for axis, n_cuts, links in ((0, m.rows - 1, m.cols), (1, m.cols - 1, m.rows)):
        for cut in range(n_cuts):
            fwd = back = 0
            for e in problem.edges:
                a, b = spans[e.src][2 * axis:2 * axis + 2], spans[e.dst][2 * axis:2 * axis + 2]
                if a[1] <= cut < b[0]:
                    fwd += e.bytes
                elif b[1] <= cut < a[0]:
                    back += e.bytes
            best = max(best, math.ceil(max(fwd, back) / (links * m.link_bytes_per_cycle)))
    return best


def bounds_of(inst: Instance) -> dict[str, int]:
    """All bounds of an instance's problem (see module docstring)."""
    problem = inst.problem
    out = {
        "critical_path": critical_path_bound(inst),
        "work": work_bound(inst),
        "hbm": hbm_bound(problem),
        "noc_bisection": bisection_bound(problem),
    }
    out["model_bound"] = max(out[k] for k in MODEL_BOUNDS)
    out["best"] = max(out["model_bound"], out["noc_bisection"])
    return out


def lower_bounds(problem: MappingProblem) -> dict[str, int]:
    """Lower bounds on the makespan of `problem`, in cycles (raises if it is infeasible)."""
    return bounds_of(build_instance(problem))

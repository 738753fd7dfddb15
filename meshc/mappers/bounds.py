"""Lower bounds on the makespan, in cycles.

* `critical_path`: the longest dependency chain with every op on its fastest candidate and
  every transfer at its smallest byte term (no hop latency): full parallelism, no contention.
* `work`: for each region (and for the whole mesh) K, and each threshold h, the ops confined to
  K that cannot start before h (their head) occupy at least W core-cycles (each op on its
  cheapest candidate: cores x duration), so the makespan is at least
  h + W / |K| + the least tail among them (time that must follow their end). Heads and tails
  are longest paths with fastest durations and least byte terms.
* `hbm`: likewise for HBM: h + (HBM bytes of the ops that cannot start before h) / bandwidth
  + their least tail.
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


def _heads_tails(inst: Instance) -> tuple[np.ndarray, np.ndarray]:
    """Per op: least time before its start and after its end (fastest durations, least byte
    terms, no hops)."""
    problem = inst.problem
    dmin = np.array([int(t.dur_cycles.min()) for t in inst.ops], dtype=np.int64)
    gap = [max(int(a.min()), int(b.min())) for a, b in zip(inst.src_bytes, inst.dst_bytes,
                                                           strict=True)]
    head = np.zeros(inst.n_ops, dtype=np.int64)
    tail = np.zeros(inst.n_ops, dtype=np.int64)
    for i in problem.topo_order:
        for e in inst.in_edges[i]:
            src = problem.edges[e].src
            head[i] = max(head[i], head[src] + dmin[src] + gap[e])
    for i in reversed(problem.topo_order):
        for e in inst.out_edges[i]:
            dst = problem.edges[e].dst
            tail[i] = max(tail[i], gap[e] + dmin[dst] + tail[dst])
    return head, tail


def critical_path_bound(inst: Instance) -> int:
    head, tail = _heads_tails(inst)
    dmin = np.array([int(t.dur_cycles.min()) for t in inst.ops], dtype=np.int64)
    return int((head + dmin + tail).max(initial=0))


def _packing_bound(head: np.ndarray, tail: np.ndarray, load: list[tuple[int, float]],
                   capacity: float) -> int:
    """max over thresholds h of h + load / capacity + least tail, over the (op, load) pairs
    whose op's head is at least h."""
    best, total, least = 0, 0.0, None
    for i, amount in sorted(load, key=lambda x: (-int(head[x[0]]), x[0])):
        total += amount
        least = int(tail[i]) if least is None else min(least, int(tail[i]))
        best = max(best, int(head[i]) + math.ceil(total / capacity) + least)
    return best


def work_bound(inst: Instance) -> int:
    """Per core pool (the mesh and each region): ops confined to it, cheapest core-cycles."""
    problem = inst.problem
    head, tail = _heads_tails(inst)
    area = [int(t.area.min()) for t in inst.ops]
    mesh = {(r, c) for r in range(problem.machine.rows) for c in range(problem.machine.cols)}
    pools = [mesh, *(set(cores) for cores in problem.regions.values())]
    best = 0
    for pool in pools:
        load = [(i, float(area[i])) for i, op in enumerate(problem.ops)
                if set(problem.regions[op.region]) <= pool]
        best = max(best, _packing_bound(head, tail, load, float(len(pool))))
    return best


def hbm_bound(inst: Instance) -> int:
    """HBM bytes over the HBM bandwidth, with heads and tails as in `work_bound`."""
    problem = inst.problem
    load = [(i, float(op.hbm_bytes)) for i, op in enumerate(problem.ops) if op.hbm_bytes]
    if not load:
        return 0
    head, tail = _heads_tails(inst)
    return _packing_bound(head, tail, load, problem.machine.hbm_bytes_per_cycle)


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
        "hbm": hbm_bound(inst),
        "noc_bisection": bisection_bound(problem),
    }
    out["model_bound"] = max(out[k] for k in MODEL_BOUNDS)
    out["best"] = max(out["model_bound"], out["noc_bisection"])
    return out


def lower_bounds(problem: MappingProblem) -> dict[str, int]:
    """Lower bounds on the makespan of `problem`, in cycles (raises if it is infeasible)."""
    return bounds_of(build_instance(problem))

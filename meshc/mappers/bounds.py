"""Lower bounds on the makespan, in cycles: physical ones, and stronger ones for the model.

Physical bounds hold for the machine however the simulator replays a schedule (tiles of an op
may stream HBM ahead of the op, transfers may overlap compute); they use only tile compute:

* `critical_path`: the longest dependency chain, each op at its least compute time (the
  busiest core of its best candidate under the spreading rule), transfers free.
* `work`: for each core pool K (the mesh and each region) and threshold h, the ops confined to
  K that cannot start before h (their head, on the same chain measure) need at least W
  core-cycles of tile compute, so the makespan is at least h + W / |K| + their least tail.
* `hbm`: all HBM bytes over the HBM bandwidth, without the spills the memory rule priced
  (mappers/offchip.py: an estimate on one order of the ops, which another order may avoid).
* `noc_bisection`: for every straight cut of the mesh, the bytes of dependencies whose
  producer's and consumer's usable cores lie on opposite sides, over the links crossing the
  cut in one direction.
* `segments`: ops every other op precedes or follows (separators: a layer's norms and
  residual adds) run one after another, and each stretch between two of them takes at least
  its longest chain and its compute over the cores it may use (`_segment_bound`).

`best` is the largest of the five: `stats.lower_bound`, the one reports compare with.

`model_bound` holds for the mapper's own model (op durations max(compute, HBM), transfer
delays, HBM rates spread over each op's run) and is stronger: the same three bounds with
model durations and least byte terms on the chains, HBM bytes with heads and tails, and
the segments with model durations, areas and HBM bytes. The
CP-SAT objective uses it; bench/bench_mapper.py divides makespans by it. It can exceed what
the simulator achieves (the 1x1 gpt2 prefill replays 0.03% below it). The model does not
share links, so the bisection bound is not part of it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from meshc.mappers.feasibility import usable_cores
from meshc.mappers.instance import Instance, IntArray, build_instance
from meshc.mappers.problem import Core, MappingProblem


def _heads_tails(inst: Instance, dur: IntArray, gap: Sequence[int]) -> tuple[
    IntArray, IntArray
]:
    """Per op: least time before its start and after its end, with per-op durations `dur`
    and per-edge least delays `gap`."""
    problem = inst.problem
    head = np.zeros(inst.n_ops, dtype=np.int64)
    tail = np.zeros(inst.n_ops, dtype=np.int64)
    for i in problem.topo_order:
        for e in inst.in_edges[i]:
            src = problem.edges[e].src
            head[i] = max(head[i], head[src] + dur[src] + gap[e])
    for i in reversed(problem.topo_order):
        for e in inst.out_edges[i]:
            dst = problem.edges[e].dst
            tail[i] = max(tail[i], gap[e] + dur[dst] + tail[dst])
    return head, tail


def _packing_bound(head: IntArray, tail: IntArray, load: list[tuple[int, float]],
                   capacity: float) -> int:
    """max over thresholds h of h + load / capacity + least tail, over the (op, load) pairs
    whose op's head is at least h."""
    best, total, least = 0, 0.0, None
    for i, amount in sorted(load, key=lambda x: (-int(head[x[0]]), x[0])):
        total += amount
        least = int(tail[i]) if least is None else min(least, int(tail[i]))
        best = max(best, int(head[i]) + math.ceil(total / capacity) + least)
    return best


def _work_bound(inst: Instance, head: IntArray, tail: IntArray, area: list[int]) -> int:
    problem = inst.problem
    mesh = {(r, c) for r in range(problem.machine.rows) for c in range(problem.machine.cols)}
    pools = [mesh, *(set(cores) for cores in problem.regions.values())]
    best = 0
    for pool in pools:
        load = [(i, float(area[i])) for i, op in enumerate(problem.ops)
                if set(problem.regions[op.region]) <= pool]
        best = max(best, _packing_bound(head, tail, load, float(len(pool))))
    return best


def separators(inst: Instance) -> list[bool]:
    """Per op: whether every other op is its ancestor or its descendant (a transformer
    layer's norms and residual adds): the graph runs through it."""
    problem = inst.problem
    n = inst.n_ops
    anc = [0] * n
    desc = [0] * n
    for i in problem.topo_order:
        for e in inst.in_edges[i]:
            src = problem.edges[e].src
            anc[i] |= anc[src] | (1 << src)
    for i in reversed(problem.topo_order):
        for e in inst.out_edges[i]:
            dst = problem.edges[e].dst
            desc[i] |= desc[dst] | (1 << dst)
    return [(anc[i] | desc[i]).bit_count() == n - 1 for i in range(n)]


def typed_load(work: Sequence[Mapping[str, int]], cores: Mapping[str, int]) -> int:
    """Least time in which `cores` (type -> count) run every op's tile compute, an op's
    work on a type being `work[op][type]` core-cycles (absent: it cannot run there), its
    tiles split between types at will (a relaxation, so a lower bound). One type: the work
    over the cores. Two (an MLP core among attention cores): exact, the ops the slower
    type is least bad at going to it first. More: each op at its best type over all cores."""
    types = sorted(t for t in cores if cores[t] > 0)
    if not work:
        return 0
    if len(types) != 2:
        best = [min(w[t] for t in types if t in w) for w in work]
        return math.ceil(sum(best) / sum(cores[t] for t in types))
    fast, slow = types
    inf = float("inf")
    pairs = [(float(w.get(fast, inf)), float(w.get(slow, inf))) for w in work]
    # ops that cannot run on `fast` go to `slow` first, then by slow / fast work ascending
    pairs.sort(key=lambda p: (p[0] != inf, p[1] / p[0] if p[0] != inf else 0.0))

    def fits(t: float) -> bool:
        room, need = cores[slow] * t, 0.0
        for wf, ws in pairs:
            y = min(1.0, room / ws) if ws != inf else 0.0
            room -= y * ws
            need += (1 - y) * wf if y < 1 else 0.0
        return need <= cores[fast] * t

    lo, hi = 0.0, sum(min(p) for p in pairs) / min(cores[fast], cores[slow])
    for _ in range(60):  # bisection on a monotone test; 2^-60 of the range
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    # lo is below the least fractional time T* (or 0), and a makespan is a whole number of
    # cycles >= T*: so >= ceil(lo), with a margin for the floats of the test
    return math.ceil(lo * (1 - 1e-9))


def _segment_bound(inst: Instance, dur: IntArray, area: Sequence[int],
                   hbm: Sequence[int]) -> int:
    """Separators run one after another, and between two of them every op of the segment
    must run: after the first has ended and before the second starts. So the makespan is
    at least the separators' least durations plus, per segment, the most of its longest
    chain (least durations, transfers free), its least core-cycles over the cores it may
    use (also split by core type: `typed_load`), and its HBM bytes over the bandwidth.
    Where the model's other bounds let parallel branches (q, k and v; gate and up) each
    take the whole mesh at once, this does not."""
    problem = inst.problem
    sep = separators(inst)
    bw = problem.machine.hbm_bytes_per_cycle
    total = 0
    seg: list[int] = []

    def close() -> int:
        if not seg:
            return 0
        finish: dict[int, int] = {}
        for i in seg:  # seg is in topological order
            start = max((finish.get(problem.edges[e].src, 0) for e in inst.in_edges[i]),
                        default=0)
            finish[i] = start + int(dur[i])
        cores = set().union(*(problem.regions[problem.ops[i].region] for i in seg))
        m = problem.machine
        load = max(math.ceil(sum(area[i] for i in seg) / len(cores)), typed_load(
            [{t: problem.ops[i].n_tiles * c for t, c in problem.ops[i].tile_cycles.items()}
             for i in seg], Counter(m.core_type(c) for c in cores)))
        stream = math.ceil(sum(hbm[i] for i in seg) / bw) if bw else 0
        seg.clear()
        return max(max(finish.values()), load, stream)

    for i in problem.topo_order:
        if sep[i]:
            total += close() + int(dur[i])
        else:
            seg.append(i)
    return total + close()


def physical_bounds(inst: Instance) -> dict[str, int]:
    """critical_path, work and hbm of the physical machine (module docstring)."""
    problem = inst.problem
    busy = np.array([int(t.busy.min()) for t in inst.ops], dtype=np.int64)
    head, tail = _heads_tails(inst, busy, [0] * len(problem.edges))
    total = sum(op.hbm_bytes - op.spill_bytes for op in problem.ops)
    work = [int(t.work.min()) for t in inst.ops]
    return {
        "critical_path": int((head + busy + tail).max(initial=0)),
        "work": _work_bound(inst, head, tail, work),
        "hbm": math.ceil(total / problem.machine.hbm_bytes_per_cycle) if total else 0,
        "segments": _segment_bound(inst, busy, work, [0] * inst.n_ops),
    }


def model_bound(inst: Instance) -> int:
    """The strongest bound valid for the mapper's model (module docstring)."""
    problem = inst.problem
    dur = np.array([int(t.dur_cycles.min()) for t in inst.ops], dtype=np.int64)
    gap = [int(t.min()) for t in inst.delay_tabs]
    head, tail = _heads_tails(inst, dur, gap)
    area = [int(t.area.min()) for t in inst.ops]
    bound = max(int((head + dur + tail).max(initial=0)), _work_bound(inst, head, tail, area),
                _segment_bound(inst, dur, area, [op.hbm_bytes for op in problem.ops]))
    load = [(i, float(op.hbm_bytes)) for i, op in enumerate(problem.ops) if op.hbm_bytes]
    if load:
        bound = max(bound, _packing_bound(head, tail, load,
                                          problem.machine.hbm_bytes_per_cycle))
    return bound


def bisection_bound(problem: MappingProblem) -> int:
    m = problem.machine
    spans = []
    seen: dict[int, tuple[tuple[Core, ...], tuple[int, int, int, int]]] = {}
    for op in problem.ops:
        cores = usable_cores(problem, op)
        if id(cores) not in seen:  # ops of repeated layers share one (memoised) tuple
            seen[id(cores)] = cores, (min(r for r, _ in cores), max(r for r, _ in cores),
                                      min(c for _, c in cores), max(c for _, c in cores))
        spans.append(seen[id(cores)][1])
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
    out = physical_bounds(inst)
    out["noc_bisection"] = bisection_bound(inst.problem)
    out["best"] = max(out.values())
    out["model_bound"] = max(model_bound(inst), out["critical_path"], out["work"], out["hbm"],
                             out["segments"])
    return out


def lower_bounds(problem: MappingProblem) -> dict[str, int]:
    """Lower bounds on the makespan of `problem`, in cycles (raises if it is infeasible):
    critical_path, work, hbm, noc_bisection, segments, best (the largest of these five) and
    model_bound (valid for the mapper's model only)."""
    return bounds_of(build_instance(problem))

"""Constraint families of the window model, one function each (switchable by name).

* no_overlap: one NoOverlap per core over the intervals of every candidate rectangle
  containing that core, plus the fixed context's intervals on it.
* precedence: for each dependency into a free op,
  scale * (s_dst - e_src) >= router_latency * (dr + dc) + bw, with
  dr >= r0_a - r1_b, dr >= r0_b - r1_a (dr >= 0), likewise dc on columns, and bw at least the
  byte term of each end (ceil(bytes / (link * cores))). Since the delay is only a lower bound
  on s_dst, these inequalities are exact: the rectangle distance max(0, .) + max(0, .) and
  the byte term over the smaller rectangle, with no per-pair literals.
* hbm: one cumulative over all intervals that stream HBM, demand = the op's share.
* area: redundant cumulatives, one per core pool (the mesh and each region), demand = the
  rectangle's cores inside the pool; they give the LP the work bound.
"""

from __future__ import annotations

from collections.abc import Callable

from ortools.sat.python import cp_model

from meshc.mappers.costs import HBM_SHARES
from meshc.mappers.cpsat.model import WindowModel
from meshc.mappers.rects import Rect


def _intervals_by_core(wm: WindowModel) -> dict[int, list[cp_model.IntervalVar]]:
    by_core: dict[int, list[cp_model.IntervalVar]] = {}
    for i, ov in wm.free.items():
        for c, iv in enumerate(ov.intervals):
            for k in wm.inst.ops[i].cores[c]:
                by_core.setdefault(k, []).append(iv)
    for i, iv in wm.context.items():
        for k in wm.inst.ops[i].cores[int(wm.incumbent.cand[i])]:
            if k in by_core:
                by_core[k].append(iv)
    return by_core


def add_no_overlap(wm: WindowModel) -> None:
    for _core, ivs in sorted(_intervals_by_core(wm).items()):
        if len(ivs) > 1:
            wm.model.add_no_overlap(ivs)


def _rect(wm: WindowModel, i: int) -> Rect:
    return wm.inst.ops[i].rects[int(wm.incumbent.cand[i])]


def add_precedence(wm: WindowModel) -> None:
    inst, m = wm.inst, wm.model
    machine = inst.problem.machine
    lat = machine.router_latency_cycles
    for e, edge in enumerate(inst.problem.edges):
        a, b = edge.src, edge.dst
        if b not in wm.free:
            continue
        assert a in wm.free or a in wm.spec.fixed, "a window op depends on a re-timed op"
        ra, rb = _rect(wm, a), _rect(wm, b)
        delay: list[cp_model.LinearExprT] = []
        if lat > 0:
            for name, (lo, hi), span in (("dr", (0, 2), machine.rows), ("dc", (1, 3),
                                                                       machine.cols)):
                d = m.new_int_var(0, span - 1, f"{name}{e}")
                m.add(d >= wm.geom(a, lo) - wm.geom(b, hi))
                m.add(d >= wm.geom(b, lo) - wm.geom(a, hi))
                ga, gb = ra.as_tuple(), rb.as_tuple()
                wm.hints.append((d, max(0, ga[lo] - gb[hi], gb[lo] - ga[hi])))
                delay.append(lat * d)
        if edge.bytes:
            ts = [int(v) for v in inst.src_bytes[e]]
            td = [int(v) for v in inst.dst_bytes[e]]
            bw = m.new_int_var(max(min(ts), min(td)), max(ts + td), f"bw{e}")
            m.add(bw >= wm.by_candidate(a, ts))
            m.add(bw >= wm.by_candidate(b, td))
            wm.hints.append((bw, max(ts[int(wm.incumbent.cand[a])],
                                     td[int(wm.incumbent.cand[b])])))
            delay.append(bw)
        m.add(inst.scale * (wm.start(b) - wm.end(a)) >= sum(delay))


def _cumulative(wm: WindowModel, demand: Callable[[int, int], int], capacity: int) -> None:
    ivs, dem = [], []
    for i, ov in wm.free.items():
        for c, iv in enumerate(ov.intervals):
            q = demand(i, c)
            if q > 0:
                ivs.append(iv)
                dem.append(q)
    if not ivs:
        return
    for i, iv in wm.context.items():
        q = demand(i, int(wm.incumbent.cand[i]))
        if q > 0:
            ivs.append(iv)
            dem.append(q)
    wm.model.add_cumulative(ivs, dem, capacity)


def add_hbm(wm: WindowModel) -> None:
    _cumulative(wm, lambda i, c: int(wm.inst.ops[i].hbm[c]), HBM_SHARES)


def add_area(wm: WindowModel) -> None:
    problem = wm.inst.problem
    cols = problem.machine.cols
    mesh = frozenset(range(problem.machine.rows * cols))
    pools = {mesh} | {frozenset(r * cols + c for r, c in cores)
                      for cores in problem.regions.values()}
    for pool in sorted(pools, key=lambda p: (len(p), sorted(p))):
        _cumulative(wm, lambda i, c, pool=pool: len(pool.intersection(wm.inst.ops[i].cores[c])),
                    len(pool))


def add_objective(wm: WindowModel) -> None:
    for (_op, ov), tail in zip(sorted(wm.free.items()), wm.spec.tail, strict=True):
        wm.model.add(wm.z >= ov.end + tail)
    wm.model.minimize(wm.z)


FAMILIES: dict[str, Callable[[WindowModel], None]] = {
    "no_overlap": add_no_overlap,
    "precedence": add_precedence,
    "hbm": add_hbm,
    "area": add_area,
}

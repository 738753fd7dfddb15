"""Constraint families of the window model, one function each (switchable by name).

* no_overlap: one NoOverlap per core over the intervals of every candidate rectangle
  containing that core, plus the fixed context's intervals on it.
* precedence: for each dependency into a free op, scale * (s_dst - e_src) >= delay, the
  transfer delay of the chosen pair of rectangles (instance.delay_tabs). With the producer
  fixed, delay is linear in the consumer's literals; with both free, a variable d above the
  least delay of each row and column (linear) and above each larger pair's delay when both
  literals hold. Since the delay is only a lower bound on s_dst, this is exact.
* hbm: one cumulative over all intervals that stream HBM, demand = the op's share.
* area: redundant cumulatives, one per core pool (the mesh and each region), demand = the
  rectangle's cores inside the pool; they give the LP the work bound.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from ortools.sat.python import cp_model

from meshc.mappers.costs import HBM_SHARES
from meshc.mappers.cpsat.model import WindowModel


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


def add_precedence(wm: WindowModel) -> None:
    inst, m = wm.inst, wm.model
    for e, edge in enumerate(inst.problem.edges):
        a, b = edge.src, edge.dst
        if b not in wm.free:
            continue
        assert a in wm.free or a in wm.spec.fixed, "a window op depends on a re-timed op"
        tab = inst.delay_tabs[e]
        if a not in wm.free:  # one row of the table: exact as a linear expression
            row = tab[int(wm.incumbent.cand[a])]
            delay: cp_model.LinearExprT = wm.by_candidate(b, [int(v) for v in row])
        else:
            delay = _pair_delay(wm, e, tab)
        m.add(inst.scale * (wm.start(b) - wm.end(a)) >= delay)


def _pair_delay(wm: WindowModel, e: int, tab: np.ndarray) -> cp_model.IntVar:
    """A variable at least the delay of the chosen (src, dst) pair: above each row's and
    column's least value by linear terms, above the rest pair by pair (enforced by both
    candidates' literals); exact, since the delay only bounds the consumer's start."""
    edge = wm.inst.problem.edges[e]
    lits_a, lits_b = wm.free[edge.src].lits, wm.free[edge.dst].lits
    d = wm.model.new_int_var(int(tab.min()), int(tab.max()), f"d{e}")
    row, col = tab.min(axis=1), tab.min(axis=0)
    wm.model.add(d >= wm.by_candidate(edge.src, [int(v) for v in row]))
    wm.model.add(d >= wm.by_candidate(edge.dst, [int(v) for v in col]))
    floor = np.maximum(row[:, None], col[None, :])
    for i, j in zip(*np.nonzero(tab > floor), strict=True):
        wm.model.add(d >= int(tab[i, j])).only_enforce_if([lits_a[i], lits_b[j]])
    wm.hints.append((d, int(tab[wm.incumbent.cand[edge.src], wm.incumbent.cand[edge.dst]])))
    return d


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
        _cumulative(wm, _cores_in(wm, pool), len(pool))


def _cores_in(wm: WindowModel, pool: frozenset[int]) -> Callable[[int, int], int]:
    """Demand of op i's candidate c on `pool`: its cores there."""
    return lambda i, c: len(pool.intersection(wm.inst.ops[i].cores[c]))


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

"""A plan: the mapper's decisions in time units (candidate rectangle and start per op)."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from meshc.mappers.instance import Instance, IntArray
from meshc.mappers.timeline import Timeline, core_atoms


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """`cand[i]` indexes `inst.ops[i].rects`; `start[i]` is in units of `inst.scale` cycles."""

    cand: IntArray
    start: IntArray

    def ends(self, inst: Instance) -> IntArray:
        return self.start + np.array(
            [inst.ops[i].dur[c] for i, c in enumerate(self.cand)], dtype=np.int64
        )

    def makespan(self, inst: Instance) -> int:
        return int(self.ends(inst).max(initial=0))

    def order(self) -> list[int]:
        """Ops by (start, id): a topological order, since every duration is >= 1."""
        return sorted(range(len(self.start)), key=lambda i: (int(self.start[i]), i))


def keyed_order(inst: Instance, key: Sequence[int] | IntArray) -> list[int]:
    """A topological order taking, among the ops whose predecessors are all listed, the one
    of least (key, id) first: an order by `key` repaired where it would list an op before
    one of its predecessors."""
    edges = inst.problem.edges
    missing = [len(ins) for ins in inst.in_edges]
    ready = [(int(key[i]), i) for i in range(inst.n_ops) if not missing[i]]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        _, i = heapq.heappop(ready)
        order.append(i)
        for e in inst.out_edges[i]:
            j = edges[e].dst
            missing[j] -= 1
            if not missing[j]:
                heapq.heappush(ready, (int(key[j]), j))
    return order


def _by_source(inst: Instance, i: int, cand: IntArray, end: IntArray
               ) -> list[list[int]]:
    """Op i's in-edges grouped by their producer's rectangle, each group by producer end:
    transfers out of one rectangle into one take the same links (meshc.hardware.transfers),
    so they follow one another, as the simulator runs them."""
    edges = inst.problem.edges
    groups: dict[object, list[int]] = {}
    for e in inst.in_edges[i]:
        src = edges[e].src
        groups.setdefault(inst.ops[src].rects[int(cand[src])], []).append(e)
    return [sorted(g, key=lambda e: (int(end[edges[e].src]), e)) for g in groups.values()]


def ready_times(inst: Instance, i: int, cand: IntArray, end: IntArray) -> IntArray:
    """Per candidate of op i: when all its inputs have arrived (units); transfers from one
    rectangle arrive one after another (`_by_source`)."""
    ready = np.zeros(len(inst.ops[i].rects), dtype=np.int64)
    edges = inst.problem.edges
    for group in _by_source(inst, i, cand, end):
        t = np.zeros_like(ready)
        for e in group:
            src = edges[e].src
            t = np.maximum(t, end[src]) + inst.delays(e, int(cand[src]))
        np.maximum(ready, t, out=ready)
    return ready


def ready_time(inst: Instance, i: int, c: int, cand: IntArray, end: IntArray) -> int:
    """When all inputs of op i have arrived on its candidate c (units): `ready_times` for one
    candidate, without arrays."""
    edges = inst.problem.edges
    ready = 0
    for group in _by_source(inst, i, cand, end):
        t = 0
        for e in group:
            src = edges[e].src
            t = max(t, int(end[src])) + inst.delay(e, int(cand[src]), c)
        ready = max(ready, t)
    return ready


def list_schedule(
    inst: Instance, cand: IntArray, order: Sequence[int],
    pinned: Mapping[int, int] | None = None,
) -> Plan:
    """Time ops with fixed rectangles: pinned ops at their given start, then the others in
    `order` at their earliest feasible start (insertion). `order` must list every predecessor
    of an op before it (or pin it). Starting from a feasible plan's start order, no op starts
    later than in that plan."""
    pinned = pinned or {}
    n = inst.n_ops
    # the rectangles are fixed: book atoms of cores, not every core (timeline.core_atoms)
    atoms, n_atoms = core_atoms(inst.ops[i].cores[int(cand[i])] for i in range(n))
    tl = Timeline(n_atoms)
    start = np.zeros(n, dtype=np.int64)
    end = np.zeros(n, dtype=np.int64)
    for i in sorted(pinned):
        tab, c = inst.ops[i], int(cand[i])
        start[i], end[i] = pinned[i], pinned[i] + tab.dur[c]
        tl.add(atoms[i], int(start[i]), int(end[i]), int(tab.hbm[c]))
    for i in order:
        if i in pinned:
            continue
        tab, c = inst.ops[i], int(cand[i])
        ready = ready_time(inst, i, c, cand, end)
        d = int(tab.dur[c])
        t = tl.earliest(atoms[i], ready, d, int(tab.hbm[c]))
        start[i], end[i] = t, t + d
        tl.add(atoms[i], t, t + d, int(tab.hbm[c]))
    return Plan(cand=np.asarray(cand, dtype=np.int64).copy(), start=start)

"""Windows for large-neighbourhood search: which ops to re-solve, which to keep, which to re-time.

A window W is a run of consecutive layers (ops without a layer join the layer of their latest
ancestor), at most `window_ops` ops (a single layer larger than that is cut by start time),
closed under paths (an op on a path between two window ops is in the window). Against the
incumbent plan, the other ops split into

* fixed F: the ancestors of W and every op starting before W's first op; they keep their
  rectangle and start, and appear in the window model as constants;
* re-timed R: the rest (W's descendants among them); they keep their rectangle and are
  re-timed by list scheduling after the window is solved.

The window model minimises z >= end_i + tail_i over i in W, where tail_i is the incumbent's
longest path from i's end through ops outside W (transfer + duration), so a window is not
blind to the layers after it. The new whole schedule is accepted only if its makespan improves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meshc.mappers.instance import Instance
from meshc.mappers.plan import Plan


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowSpec:
    """One window against an incumbent: free ops, constant context, bounds, objective tails."""

    ops: tuple[int, ...]
    fixed: tuple[int, ...]
    retimed: tuple[int, ...]
    est: tuple[int, ...]  # per window op: earliest start (units)
    tail: tuple[int, ...]  # per window op: incumbent tail beyond the window (units)
    z_incumbent: int  # max(end + tail) over the window in the incumbent


def effective_layers(inst: Instance) -> list[int]:
    """Layer per op; ops with layer -1 take the largest effective layer of their predecessors."""
    problem = inst.problem
    eff = [op.layer for op in problem.ops]
    for i in problem.topo_order:
        if eff[i] < 0:
            srcs = [eff[problem.edges[e].src] for e in inst.in_edges[i]]
            eff[i] = max(srcs, default=-1)
    return eff


def window_chunks(inst: Instance, plan: Plan, window_ops: int, first: int | None = None) -> list[
    tuple[int, ...]
]:
    """Windows covering all ops: consecutive layers, at most `window_ops` ops each (the first
    at most `first`, so that a second pass can straddle the first pass's boundaries)."""
    eff = effective_layers(inst)
    layers = sorted(set(eff))
    by_layer: dict[int, list[int]] = {layer: [] for layer in layers}
    for i in plan.order():
        by_layer[eff[i]].append(i)
    groups: list[list[int]] = []
    for layer in layers:
        ops = by_layer[layer]
        groups += [ops[k:k + window_ops] for k in range(0, len(ops), window_ops)]
    chunks: list[list[int]] = []
    current: list[int] = []
    for group in groups:
        cap = window_ops if chunks or first is None else first
        if current and len(current) + len(group) > cap:
            chunks.append(current)
            current = []
        current = current + group
    if current:
        chunks.append(current)
    return [tuple(sorted(c)) for c in chunks]


def _reach(inst: Instance, seeds: set[int], forward: bool) -> set[int]:
    edges = inst.problem.edges
    adj = inst.out_edges if forward else inst.in_edges
    seen: set[int] = set()
    stack = list(seeds)
    while stack:
        i = stack.pop()
        for e in adj[i]:
            j = edges[e].dst if forward else edges[e].src
            if j not in seen:
                seen.add(j)
                stack.append(j)
    return seen


def tails_outside(inst: Instance, plan: Plan, window: set[int]) -> np.ndarray:
    """Per op: the incumbent's longest (transfer + duration) path after its end through ops
    outside `window` (units)."""
    problem = inst.problem
    tail = np.zeros(inst.n_ops, dtype=np.int64)
    for i in reversed(problem.topo_order):
        best = 0
        for e in inst.out_edges[i]:
            j = problem.edges[e].dst
            if j in window:
                continue
            d = inst.delay(e, int(plan.cand[i]), int(plan.cand[j]))
            best = max(best, d + int(inst.ops[j].dur[plan.cand[j]]) + int(tail[j]))
        tail[i] = best
    return tail


def _earliest_starts(inst: Instance, plan: Plan, window: set[int], fixed: set[int]) -> dict[
    int, int
]:
    problem = inst.problem
    ends = plan.ends(inst)
    est: dict[int, int] = {}
    for i in problem.topo_order:
        if i not in window:
            continue
        t = 0
        for e in inst.in_edges[i]:
            src = problem.edges[e].src
            if src in fixed:
                t = max(t, int(ends[src]) + int(inst.delays(e, int(plan.cand[src])).min()))
            elif src in window:
                least = max(int(inst.src_bytes[e].min()), int(inst.dst_bytes[e].min()))
                t = max(t, est[src] + int(inst.ops[src].dur.min())
                        + -(-least // inst.scale))
        est[i] = t
    return est


def window_spec(inst: Instance, plan: Plan, ops: tuple[int, ...]) -> WindowSpec:
    """The window `ops` (closed under paths) against the incumbent `plan`."""
    seeds = set(ops)
    window = seeds | (_reach(inst, seeds, True) & _reach(inst, seeds, False))
    ancestors = _reach(inst, window, False) - window
    t0 = min(int(plan.start[i]) for i in window)
    fixed = {i for i in range(inst.n_ops) if i not in window
             and (i in ancestors or int(plan.start[i]) < t0)}
    retimed = set(range(inst.n_ops)) - window - fixed
    tail = tails_outside(inst, plan, window)
    est = _earliest_starts(inst, plan, window, fixed)
    ends = plan.ends(inst)
    w = tuple(sorted(window))
    return WindowSpec(
        ops=w, fixed=tuple(sorted(fixed)), retimed=tuple(sorted(retimed)),
        est=tuple(est[i] for i in w), tail=tuple(int(tail[i]) for i in w),
        z_incumbent=max(int(ends[i] + tail[i]) for i in w),
    )

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

Row blocks. A layer split into row blocks (the split-rows pass: block j of every op handles
token rows j, attention of block j reads the K/V of blocks 0..j) is recognised from the graph
(`find_row_blocks`). Its blocks pipeline: block j's attention side runs while block j - 1's
MLP does. Windows then take *groups* instead of whole layers (group j: block j's
attention-side ops and block j - 1's other ops, the ops that run together), ordered by
(layer, group, start); every op ordered before W is fixed too (earlier groups overlap W in
time); and an op's *twin*, the same op in the next block, counts as its successor in the
tails (in a pipeline it follows on the same cores). Without these, 12-op windows cut by
start time could not turn HEFT's stage-by-stage plan (every block's q, then every block's k
...) into a pipeline: on the synthetic 4-block layer they gained 3% (4x4) and 8-13% (8x8)
over HEFT, where one solve of the whole 44-op layer gained 19-24% in 50-70 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meshc.mappers.instance import Instance, IntArray
from meshc.mappers.plan import Plan
from meshc.mappers.problem import MappingProblem, Op


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


def _signature(op: Op) -> tuple[object, ...]:
    # not its HBM bytes: the memory hierarchy's traffic (mappers/offchip.py) differs from
    # block to block (the first block reads the phase's inputs; spills follow the order)
    return op.block, op.region, op.n_tiles, tuple(op.tile_cycles.items())


def find_row_blocks(inst: Instance, eff: list[int]) -> list[int]:
    """Per op: its row block within its effective layer, 0 unless the layer is split.

    A layer split into row blocks (split-rows) has one sink per block, an op without a
    successor in the layer (block j's down projection or residual add). Sinks are ranked by
    their number of ancestors in the layer (causal attention makes block j's sink depend on
    blocks 0..j), and an op belongs to the first-ranked sink it reaches. A layer counts as
    split only if it has several sinks, every block has attention-side ops and others, and
    the other ops are alike in every block (same block, region and tile costs in id order; the
    attention side may differ, as KV-cache appends and causal attention do)."""
    problem = inst.problem
    succ = [sorted({problem.edges[e].dst for e in inst.out_edges[i]
                    if eff[problem.edges[e].dst] == eff[i]}) for i in range(inst.n_ops)]
    anc = [0] * inst.n_ops  # bit set of same-layer ancestors
    for i in problem.topo_order:
        for j in succ[i]:
            anc[j] |= anc[i] | (1 << i)
    rank: dict[int, int] = {}
    sinks: dict[int, int] = {}  # per layer: sinks ranked so far
    for i in sorted((i for i in range(inst.n_ops) if not succ[i]),
                    key=lambda i: (eff[i], anc[i].bit_count(), i)):
        rank[i] = sinks.get(eff[i], 0)
        sinks[eff[i]] = rank[i] + 1
    block = [0] * inst.n_ops
    for i in reversed(problem.topo_order):
        block[i] = min((block[j] for j in succ[i]), default=rank.get(i, 0))
    sides: dict[tuple[int, int], set[bool]] = {}
    rest: dict[tuple[int, int], list[tuple[object, ...]]] = {}
    for i, op in enumerate(problem.ops):
        key = (eff[i], block[i])
        sides.setdefault(key, set()).add(op.block == "attention")
        rest.setdefault(key, [])
        if op.block != "attention":
            rest[key].append(_signature(op))
    split = {layer for layer, b in rest if b} - {
        layer for (layer, b), sig in rest.items()
        if sig != rest[layer, 0] or len(sides[layer, b]) < 2}
    return [b if eff[i] in split else 0 for i, b in enumerate(block)]


@dataclass(frozen=True, slots=True)
class Layout:
    """Per op: its effective layer, its group within the layer and its twin.

    The group is 0 except in a layer split into row blocks, where group j holds the
    attention-side ops of row block j and the other ops of row block j - 1: in a pipelined
    schedule they run at the same time. The twin of an op of row block j is the same op of
    row block j + 1 (-1 if none), which in a pipeline follows it on the same resources.
    `tail_order` is a topological order of the edges and the links op -> twin."""

    layer: tuple[int, ...]
    group: tuple[int, ...]
    twin: tuple[int, ...]
    tail_order: tuple[int, ...]

    @property
    def split(self) -> bool:
        return any(self.group)


def _twins(problem: MappingProblem, eff: list[int], blocks: list[int]) -> list[int]:
    """Per op of row block j: the op of row block j + 1 with the same signature and rank
    among the ops of that signature (in id order), or -1."""
    members: dict[tuple[int, int], dict[tuple[object, ...], list[int]]] = {}
    for i, b in enumerate(blocks):
        members.setdefault((eff[i], b), {}).setdefault(_signature(problem.ops[i]), []).append(i)
    twin = [-1] * len(blocks)
    for (layer, b), by_sig in members.items():
        nxt = members.get((layer, b + 1), {})
        for sig, ops in by_sig.items():
            for i, j in zip(ops, nxt.get(sig, ()), strict=False):
                twin[i] = j
    return twin


def _topological(inst: Instance, twin: list[int]) -> tuple[int, ...] | None:
    """A topological order of the edges plus the links op -> twin (smallest id first), or
    None if they form a cycle."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(range(inst.n_ops))
    g.add_edges_from((e.src, e.dst) for e in inst.problem.edges)
    g.add_edges_from((i, t) for i, t in enumerate(twin) if t >= 0)
    try:
        return tuple(nx.lexicographical_topological_sort(g))
    except nx.NetworkXUnfeasible:
        return None


def layout_of(inst: Instance, *, row_blocks: bool = True) -> Layout:
    """The layout of `inst`, with its row blocks unless `row_blocks` is False. Row blocks are
    used only if every edge goes to the same or a later (layer, group), so that the window
    order is a topological order."""
    eff = effective_layers(inst)
    blocks = find_row_blocks(inst, eff) if row_blocks else [0] * inst.n_ops
    split = {eff[i] for i, b in enumerate(blocks) if b}
    group = [b + (op.block != "attention") if eff[i] in split else 0
             for i, (b, op) in enumerate(zip(blocks, inst.problem.ops, strict=True))]
    if any((eff[e.src], group[e.src]) > (eff[e.dst], group[e.dst]) for e in inst.problem.edges):
        group = [0] * inst.n_ops
    unsplit = Layout(layer=tuple(eff), group=(0,) * inst.n_ops, twin=(-1,) * inst.n_ops,
                     tail_order=inst.problem.topo_order)
    if not any(group):
        return unsplit
    twin = _twins(inst.problem, eff, blocks)
    order = _topological(inst, twin)
    if order is None:
        return unsplit
    return Layout(layer=tuple(eff), group=tuple(group), twin=tuple(twin), tail_order=order)


def sides_in_one_region(inst: Instance, layout: Layout) -> bool:
    """Whether the attention side and the other ops of the split layers use the same regions
    (the default pipeline's one shared region): then blocks can overlap on any cores
    whatever the order, and the pipelined start lost to HEFT's on every problem measured."""
    split = {layer for layer, g in zip(layout.layer, layout.group, strict=True) if g}
    sides: dict[bool, set[str]] = {True: set(), False: set()}
    for op, layer in zip(inst.problem.ops, layout.layer, strict=True):
        if layer in split:
            sides[op.block == "attention"].add(op.region)
    return sides[True] == sides[False]


def window_order(layout: Layout, plan: Plan) -> list[int]:
    """Ops by (effective layer, group, start in `plan`, id): a topological order."""
    return sorted(range(len(layout.layer)),
                  key=lambda i: (layout.layer[i], layout.group[i], int(plan.start[i]), i))


def window_chunks(inst: Instance, plan: Plan, window_ops: int, first: int | None = None,
                  layout: Layout | None = None) -> list[tuple[int, ...]]:
    """Windows covering all ops: consecutive groups (layers, or the groups of a layer split
    into row blocks), at most `window_ops` ops each (the first at most `first`, so that a
    second pass can straddle the first pass's boundaries); a larger group is cut by start
    time."""
    layout = layout or layout_of(inst)
    groups: list[list[int]] = []
    key = None
    for i in window_order(layout, plan):
        if (layout.layer[i], layout.group[i]) != key:
            key = (layout.layer[i], layout.group[i])
            groups.append([])
        groups[-1].append(i)
    pieces = [ops[k:k + window_ops] for ops in groups for k in range(0, len(ops), window_ops)]
    chunks: list[list[int]] = []
    current: list[int] = []
    for piece in pieces:
        cap = window_ops if chunks or first is None else first
        if current and len(current) + len(piece) > cap:
            chunks.append(current)
            current = []
        current = current + piece
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


def tails_outside(inst: Instance, plan: Plan, window: set[int],
                  layout: Layout | None = None) -> IntArray:
    """Per op: the incumbent's longest (transfer + duration) path after its end through ops
    outside `window` (units). With row blocks, an op's twin outside the window counts as a
    successor (no transfer): the window then sees that the next row block's same op has to
    follow on the same resources."""
    problem = inst.problem
    twin = layout.twin if layout is not None else (-1,) * inst.n_ops
    order = layout.tail_order if layout is not None else problem.topo_order
    tail = np.zeros(inst.n_ops, dtype=np.int64)
    for i in reversed(order):
        best = 0
        for e in inst.out_edges[i]:
            j = problem.edges[e].dst
            if j in window:
                continue
            d = inst.delay(e, int(plan.cand[i]), int(plan.cand[j]))
            best = max(best, d + int(inst.ops[j].dur[plan.cand[j]]) + int(tail[j]))
        j = twin[i]
        if j >= 0 and j not in window:
            best = max(best, int(inst.ops[j].dur[plan.cand[j]]) + int(tail[j]))
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
                least = int(inst.delay_tabs[e].min())
                t = max(t, est[src] + int(inst.ops[src].dur.min())
                        + -(-least // inst.scale))
        est[i] = t
    return est


def window_spec(inst: Instance, plan: Plan, ops: tuple[int, ...],
                layout: Layout | None = None) -> WindowSpec:
    """The window `ops` (closed under paths) against the incumbent `plan`."""
    seeds = set(ops)
    window = seeds | (_reach(inst, seeds, True) & _reach(inst, seeds, False))
    ancestors = _reach(inst, window, False) - window
    t0 = min(int(plan.start[i]) for i in window)
    fixed = {i for i in range(inst.n_ops) if i not in window
             and (i in ancestors or int(plan.start[i]) < t0)}
    layout = layout or layout_of(inst)
    if layout.split:  # row blocks overlap in time: every op ordered before W is decided
        order = window_order(layout, plan)
        pos = {op: k for k, op in enumerate(order)}
        fixed |= set(order[:min(pos[i] for i in window)]) - window
    retimed = set(range(inst.n_ops)) - window - fixed
    tail = tails_outside(inst, plan, window, layout)
    est = _earliest_starts(inst, plan, window, fixed)
    ends = plan.ends(inst)
    w = tuple(sorted(window))
    return WindowSpec(
        ops=w, fixed=tuple(sorted(fixed)), retimed=tuple(sorted(retimed)),
        est=tuple(est[i] for i in w), tail=tuple(int(tail[i]) for i in w),
        z_incumbent=max(int(ends[i] + tail[i]) for i in w),
    )

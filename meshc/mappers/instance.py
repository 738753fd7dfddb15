"""Precomputed candidate tables shared by HEFT, re-timing and CP-SAT.

An `Instance` is a `MappingProblem` plus its candidate rectangles and, per candidate, the
duration and HBM share, in *time units* of `scale` cycles each (durations and delays are
rounded up, so a schedule feasible in units is feasible in cycles after multiplying starts
by `scale`). `scale=1` is the exact cycle model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshc.mappers.costs import Profiles, delay_table, duration_cycles, flow_profiles, hbm_share
from meshc.mappers.feasibility import check_feasible, usable_cores
from meshc.mappers.problem import MappingProblem, Op
from meshc.mappers.rects import Rect, candidate_rects

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class OpTable:
    """One op's candidates: rectangles and per-candidate numbers (index = candidate id)."""

    rects: tuple[Rect, ...]
    geom: IntArray  # (k, 4): r0, c0, r1, c1
    n_cores: IntArray
    cores: tuple[tuple[int, ...], ...]  # flat core ids (row * cols + col), row-major
    dur_cycles: IntArray
    dur: IntArray  # units
    hbm: IntArray  # HBM share of HBM_SHARES
    busy: IntArray  # cycles until the busiest core of the candidate finished its tiles
    work: IntArray  # core-cycles of tile compute on the candidate (no idle, no HBM stretch)

    @property
    def area(self) -> IntArray:
        """Core-cycles occupied by each candidate."""
        return self.n_cores * self.dur_cycles


def _ceil_div(a: IntArray | int, b: int) -> IntArray:
    return -(-np.asarray(a, dtype=np.int64) // b)


def _undominated(op: Op, rects: tuple[Rect, ...], dur: list[int]) -> list[int]:
    """Indices of candidates not dominated by a strictly smaller one inside them that is no
    slower (and, for an op streaming HBM, exactly as fast, so its HBM rate is the same)."""
    cores = [frozenset(r.cores()) for r in rects]
    keep = []
    for a in range(len(rects)):
        dominated = any(
            cores[b] < cores[a] and dur[b] <= dur[a] and (not op.hbm_bytes or dur[b] == dur[a])
            for b in range(len(rects))
        )
        if not dominated:
            keep.append(a)
    return keep


def _op_table(problem: MappingProblem, i: int, scale: int) -> OpTable:
    op = problem.ops[i]
    m = problem.machine
    usable = {k: m.core_type(k) for k in usable_cores(problem, op)}
    every = candidate_rects(usable, op.n_tiles, problem.max_candidates)
    every_dur = [duration_cycles(op, r, m) for r in every]
    keep = _undominated(op, every, every_dur)
    rects = tuple(every[k] for k in keep)
    dur_c = np.array([every_dur[k] for k in keep], dtype=np.int64)
    per_core = [_tile_cycles_per_core(op, r, problem) for r in rects]
    return OpTable(
        rects=rects,
        geom=np.array([r.as_tuple() for r in rects], dtype=np.int64).reshape(-1, 4),
        n_cores=np.array([r.n_cores for r in rects], dtype=np.int64),
        cores=tuple(tuple(r * m.cols + c for r, c in rect.cores()) for rect in rects),
        dur_cycles=dur_c,
        dur=_ceil_div(dur_c, scale),
        hbm=np.array([hbm_share(op, int(d), m) for d in dur_c], dtype=np.int64),
        busy=np.array([max(c) for c in per_core], dtype=np.int64),
        work=np.array([sum(c) for c in per_core], dtype=np.int64),
    )


def _tile_cycles_per_core(op: Op, rect: Rect, problem: MappingProblem) -> list[int]:
    """Compute cycles of each core of `rect` under the spreading rule (tiles.py)."""
    c = rect.n_cores
    base, extra = divmod(op.n_tiles, c)
    return [(base + (j < extra)) * op.tile_cycles[problem.machine.core_type(k)]
            for j, k in enumerate(rect.cores())]


def _signature(problem: MappingProblem, i: int) -> tuple[object, ...]:
    """Everything an op's table depends on: ops of repeated layers share one table."""
    op = problem.ops[i]
    return (op.region, op.n_tiles, tuple(op.tile_cycles.items()), op.sram_bytes_per_tile,
            op.hbm_bytes)


@dataclass(frozen=True, slots=True, eq=False)
class Instance:
    """A problem with candidate tables in units of `scale` cycles."""

    problem: MappingProblem
    scale: int
    ops: tuple[OpTable, ...]
    in_edges: tuple[tuple[int, ...], ...]
    out_edges: tuple[tuple[int, ...], ...]
    delay_tabs: tuple[IntArray, ...]  # per edge: delay (cycles), (src candidates, dst candidates)

    @property
    def n_ops(self) -> int:
        return len(self.ops)

    def delays_cycles(self, e: int, src_cand: int) -> IntArray:
        """Transfer delay (cycles) of edge `e` from `src_cand` to every dst candidate."""
        row: IntArray = self.delay_tabs[e][src_cand]
        return row

    def delays(self, e: int, src_cand: int) -> IntArray:
        """Transfer delay (units) of edge `e` from `src_cand` to every dst candidate."""
        return _ceil_div(self.delays_cycles(e, src_cand), self.scale)

    def delay(self, e: int, src_cand: int, dst_cand: int) -> int:
        """Transfer delay (units) of edge `e` between two chosen candidates."""
        return -(-self.delay_cycles(e, src_cand, dst_cand) // self.scale)

    def delay_cycles(self, e: int, src_cand: int, dst_cand: int) -> int:
        """Transfer delay (cycles) of edge `e` between two chosen candidates."""
        return int(self.delay_tabs[e][src_cand, dst_cand])


def build_instance(problem: MappingProblem, scale: int = 1) -> Instance:
    """Check feasibility and precompute candidate tables (raises `MeshcError` if infeasible)."""
    check_feasible(problem)
    tables: dict[tuple[object, ...], OpTable] = {}
    ops = []
    for i in range(len(problem.ops)):
        key = _signature(problem, i)
        if key not in tables:
            tables[key] = _op_table(problem, i, scale)
        ops.append(tables[key])
    ins: list[list[int]] = [[] for _ in ops]
    outs: list[list[int]] = [[] for _ in ops]
    profs: dict[tuple[int, int], Profiles] = {}
    tabs: dict[tuple[int, int, int], IntArray] = {}
    delay_tabs = []
    sent = [0] * len(ops)  # bytes of the producer's earlier outputs: they leave first
    for e, edge in enumerate(problem.edges):
        ins[edge.dst].append(e)
        outs[edge.src].append(e)
        a, b = ops[edge.src], ops[edge.dst]
        sent[edge.src] += edge.bytes
        n = sent[edge.src] if edge.bytes else 0
        key = (n, id(a), id(b))  # repeated layers share tables: price each pair once
        if key not in tabs:
            if (id(a), id(b)) not in profs:
                profs[id(a), id(b)] = flow_profiles(a.rects, b.rects)
            tabs[key] = delay_table(n, profs[id(a), id(b)], len(a.rects), problem.machine)
        delay_tabs.append(tabs[key])
    return Instance(
        problem=problem, scale=scale, ops=tuple(ops),
        in_edges=tuple(map(tuple, ins)), out_edges=tuple(map(tuple, outs)),
        delay_tabs=tuple(delay_tabs),
    )


def rescale(inst: Instance, scale: int) -> Instance:
    """The same instance in units of `scale` cycles (candidate sets are identical)."""
    if scale == inst.scale:
        return inst
    scaled: dict[int, OpTable] = {}
    for t in inst.ops:
        if id(t) not in scaled:
            scaled[id(t)] = OpTable(rects=t.rects, geom=t.geom, n_cores=t.n_cores, cores=t.cores,
                                    dur_cycles=t.dur_cycles, dur=_ceil_div(t.dur_cycles, scale),
                                    hbm=t.hbm, busy=t.busy, work=t.work)
    return Instance(problem=inst.problem, scale=scale, ops=tuple(scaled[id(t)] for t in inst.ops),
                    in_edges=inst.in_edges, out_edges=inst.out_edges,
                    delay_tabs=inst.delay_tabs)

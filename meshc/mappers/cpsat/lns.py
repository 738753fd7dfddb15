"""CP-SAT improvement of a HEFT plan: one exact solve, or windows of layers (LNS).

1. Pick the time unit: `scale` cycles with the HEFT makespan at most `max_horizon_units`.
2. The incumbent is HEFT's plan re-timed in units (same rectangles, same order). With row
   blocks (windows.py) and more than one window, it is re-timed in the window order (group
   by group) instead: often longer than HEFT's plan, but pipelined as the windows expect. If
   the search from there (step 3) ends no better than HEFT's plan, step 3 runs again from
   HEFT's plan with windows of whole layers, as without row blocks (with weights streamed
   from HBM the stage-by-stage order of HEFT can be the better one). When the attention
   side and the MLP side use the same regions (the default pipeline's one shared region),
   the search goes to windows of layers directly: there the pipelined start lost to HEFT on
   every problem measured.
3. If all ops fit in one window: one solve of the whole problem with the full budget.
   Otherwise: passes over windows of consecutive layers (odd passes shifted by half a window),
   each window solved with the rest fixed or re-timed (windows.py); a window's result is kept
   only if the whole plan's makespan improves. When a window improves, its placement is also
   tried on every later window of the same shape (identical layers): all of them take the
   solved window's rectangles, the plan is re-timed (in the incumbent's order, then if that
   is not better in the solved window's order, `_replica_order`), and it is kept if the
   makespan improves;
   those windows are then skipped in that pass. A window whose shape already failed to improve
   in the pass is skipped too (identical layers in the same situation). A window already
   solved (or skipped for its shape) is solved again only if a kept result decided one of its
   ops anew since (its own or another window's, or a replication): the others are where the
   last solve left them, save re-timing. Each
   solve gets max(MIN_WINDOW_DTIME, time_budget / number of windows) deterministic time and,
   at that floor (the budget spread over many windows), at most `window_rounds(dtime)` rounds
   of CP-SAT tasks (params.py); the first pass visits every window (so it may exceed
   `time_budget`), later
   passes run while budget remains; the search stops after a pass (the second or later)
   that improves nothing, when the plan reaches the lower bound, or when the wall-clock cap
   fires.
4. The best plan is re-timed in cycles in its start order, which removes rounding slack and
   never delays an op.

The budget is counted in requested deterministic time, so the sequence of solves, and with it
the result, does not depend on the machine's speed (unless the wall-clock cap fires).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from meshc.mappers.cpsat.params import window_rounds
from meshc.mappers.cpsat.solve import SolveRequest, close_worker, solve_window
from meshc.mappers.instance import Instance, rescale
from meshc.mappers.options import MapperOptions
from meshc.mappers.plan import Plan, keyed_order, list_schedule
from meshc.mappers.tiles import materialize
from meshc.mappers.validate import validate
from meshc.mappers.windows import (
    Layout,
    WindowSpec,
    layout_of,
    sides_in_one_region,
    window_chunks,
    window_order,
    window_spec,
)

MIN_WINDOW_DTIME = 0.02


@dataclass(frozen=True, slots=True, kw_only=True)
class CpsatOutcome:
    """`plan` is in cycles (scale 1) or None when no solve returned a solution;
    `raw_errors` are the validator's findings on the schedule exactly as CP-SAT (and the
    window composition) produced it, before re-timing."""

    plan: Plan | None
    raw_errors: tuple[str, ...]
    status: str
    scale: int
    windows_solved: int
    windows_accepted: int
    windows_replicated: int
    deterministic_time: float
    wall_limit_hit: bool
    notes: tuple[str, ...]


@dataclass(slots=True)
class _Search:
    """Mutable state of one LNS run (internal)."""

    inst: Instance
    options: MapperOptions
    layout: Layout
    incumbent: Plan
    deadline: float
    z_lower: int
    cap_rounds: bool = False  # windows of an LNS: cap the rounds of tasks at the floor budget
    spent: float = 0.0
    dtime: float = 0.0
    solved: int = 0
    accepted: int = 0
    replicated: int = 0
    wall_hit: bool = False
    statuses: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # (window, dtime) -> the incumbent it was solved against and not kept for
    tried: dict[tuple[WindowSpec, float], Plan] = field(default_factory=dict)
    changes: int = 0  # results kept so far (solves and replications)
    changed_at: dict[int, int] = field(default_factory=dict)  # op -> `changes` when it changed
    solved_at: dict[tuple[int, ...], int] = field(default_factory=dict)  # window -> `changes`

    def stale(self, ops: tuple[int, ...]) -> bool:
        """Whether window `ops` is new or one of its ops changed since it was last solved."""
        last = self.solved_at.get(ops)
        return last is None or any(self.changed_at.get(i, -1) >= last for i in ops)

    def _kept(self, plan: Plan, ops: Iterable[int]) -> None:
        self.incumbent = plan
        for i in ops:
            self.changed_at[i] = self.changes
        self.changes += 1

    def solve(self, ops: tuple[int, ...], step: float) -> dict[int, tuple[int, int]] | None:
        """Solve one window; keep its result if the whole plan improves. Returns the
        decisions when they were kept. A window already solved against the same incumbent
        with the same time is not solved again: the solve is deterministic, so it would
        fail again (a shifted pass often cuts the same windows as the pass before). Its
        time still counts, so the solves after it are those there would have been."""
        wall_left = self.deadline - time.perf_counter()
        self.spent += step
        self.solved_at[ops] = self.changes
        spec = window_spec(self.inst, self.incumbent, ops, self.layout)
        if self.tried.get((spec, step)) is self.incumbent:
            return None
        self.tried[spec, step] = self.incumbent
        res = solve_window(SolveRequest(
            inst=self.inst, spec=spec, incumbent=self.incumbent, z_lower=self.z_lower,
            dtime=step, wall_s=wall_left, seed=self.options.seed, workers=self.options.workers,
            disabled=self.options.disabled_families,
            rounds=window_rounds(step) if self.cap_rounds and step <= MIN_WINDOW_DTIME else 0))
        self.solved += 1
        self.dtime += res.deterministic_time
        self.wall_hit = self.wall_hit or res.wall_limit_hit
        self.statuses.append(res.status)
        if res.retried_after:
            self.notes.append(f"window {self.solved}: OR-Tools {res.retried_after}, solved "
                              "again with one worker, no interleaving")
        if res.decisions is None:
            self.notes.append(f"window {self.solved} ({len(spec.ops)} ops): {res.status}, "
                              "no solution")
            return None
        plan = _compose(self.inst, self.incumbent, spec, res.decisions)
        if plan.makespan(self.inst) >= self.incumbent.makespan(self.inst):
            return None
        self._kept(plan, spec.ops)
        self.accepted += 1
        return res.decisions

    def replicate(self, ops: tuple[int, ...], targets: list[tuple[int, ...]]) -> bool:
        """Give every target window the rectangles of window `ops` (op by op, in id order);
        keep it if the re-timed plan improves, in the incumbent's order or else in the
        solved window's (`_replica_order`)."""
        cand = self.incumbent.cand.copy()
        for target in targets:
            for mine, theirs in zip(ops, target, strict=True):
                cand[theirs] = cand[mine]
        for order in (self.incumbent.order(), _replica_order(self.inst, self.incumbent, ops,
                                                              targets)):
            plan = list_schedule(self.inst, cand, order)
            if plan.makespan(self.inst) < self.incumbent.makespan(self.inst):
                self._kept(plan, (i for target in targets for i in target))
                self.replicated += len(targets)
                return True
        return False


def _replica_order(inst: Instance, plan: Plan, ops: tuple[int, ...],
                   targets: list[tuple[int, ...]]) -> list[int]:
    """The order of `plan` with every target window's ops ordered as their counterparts in
    window `ops` (each target keeps its first start; the offsets are the solved window's):
    the solved window may run its ops in another order (side by side on smaller
    rectangles), which its rectangles need. Precedence first where the offsets disagree."""
    key = plan.start.copy()
    base = min(int(plan.start[i]) for i in ops)
    for target in targets:
        first = min(int(plan.start[i]) for i in target)
        for mine, theirs in zip(ops, target, strict=True):
            key[theirs] = first + int(plan.start[mine]) - base
    return keyed_order(inst, key)


def _shape(inst: Instance, ops: tuple[int, ...]) -> tuple[object, ...]:
    """Windows of equal shape have the same op tables in id order and the same inner edges."""
    pos = {op: k for k, op in enumerate(ops)}
    edges = inst.problem.edges
    inner = sorted((pos[edges[e].src], pos[edges[e].dst], edges[e].bytes)
                   for i in ops for e in inst.out_edges[i] if edges[e].dst in pos)
    return tuple(id(inst.ops[i]) for i in ops), tuple(inner)


def _compose(inst: Instance, incumbent: Plan, spec: WindowSpec,
             decisions: dict[int, tuple[int, int]]) -> Plan:
    cand = incumbent.cand.copy()
    pinned = {i: int(incumbent.start[i]) for i in spec.fixed}
    for i, (c, s) in decisions.items():
        cand[i] = c
        pinned[i] = s
    return list_schedule(inst, cand, incumbent.order(), pinned)


def choose_scale(horizon_cycles: int, max_units: int) -> int:
    return max(1, math.ceil(horizon_cycles / max_units))


def _one_pass(search: _Search, chunks: list[tuple[int, ...]], per_window: float,
              first_pass: bool) -> bool:
    """Solve (or replicate into) every window once; whether anything improved."""
    budget = search.options.time_budget
    shapes = [_shape(search.inst, ops) for ops in chunks]
    skip: set[int] = set()
    failed: set[object] = set()
    improved = False
    for k, ops in enumerate(chunks):
        if shapes[k] in failed:  # as good as solved: its twin just was
            search.solved_at[ops] = search.changes
        if k in skip or shapes[k] in failed or not search.stale(ops):
            continue
        if not first_pass and search.spent + MIN_WINDOW_DTIME > budget:
            break
        if search.wall_hit or time.perf_counter() >= search.deadline:
            search.wall_hit = True
            break
        step = per_window if first_pass else min(per_window, budget - search.spent)
        if search.solve(ops, step) is None:
            failed.add(shapes[k])
            continue
        improved = True
        later = [j for j in range(k + 1, len(chunks)) if shapes[j] == shapes[k]]
        if later and search.replicate(ops, [chunks[j] for j in later]):
            skip.update(later)
    return improved


def _passes(search: _Search, chunks: list[tuple[int, ...]], model_bound: int) -> None:
    """Passes over the windows `chunks` (re-cut after every pass) until one of the stops."""
    inst, options = search.inst, search.options
    single = len(chunks) == 1
    per_window = options.time_budget if single else max(
        MIN_WINDOW_DTIME, options.time_budget / len(chunks))
    n_pass = 0
    while True:
        improved = _one_pass(search, chunks, per_window, first_pass=n_pass == 0)
        n_pass += 1
        done = search.incumbent.makespan(inst) * inst.scale <= model_bound
        if (single or done or search.wall_hit or (not improved and n_pass >= 2)
                or search.spent + MIN_WINDOW_DTIME > options.time_budget):
            break
        first = options.window_ops // 2 if n_pass % 2 else None
        chunks = window_chunks(inst, search.incumbent, options.window_ops, first, search.layout)


def _layer_windows(search: _Search, heft_units: Plan) -> list[tuple[int, ...]]:
    """Back to HEFT's plan with windows of whole layers (row blocks ignored)."""
    search.layout = layout_of(search.inst, row_blocks=False)
    search.incumbent = heft_units
    search.solved_at.clear()  # solved against another plan: every window is new again
    return window_chunks(search.inst, heft_units, search.options.window_ops,
                         layout=search.layout)


def _search(search: _Search, chunks: list[tuple[int, ...]], heft_units: Plan,
            model_bound: int) -> None:
    """Steps 2 and 3 of the module docstring."""
    inst, layout, options = search.inst, search.layout, search.options
    pipelined = layout.split and len(chunks) > 1
    if pipelined and sides_in_one_region(inst, layout):
        pipelined = False
        search.notes.append("row blocks with attention and MLP in one region: windows of "
                            "layers from HEFT's plan")
        chunks = _layer_windows(search, heft_units)
    if pipelined:  # HEFT's rectangles, re-timed in pipeline order
        search.incumbent = list_schedule(inst, heft_units.cand, window_order(layout, heft_units))
        chunks = window_chunks(inst, search.incumbent, options.window_ops, layout=layout)
    _passes(search, chunks, model_bound)
    if (pipelined and not search.wall_hit
            and search.incumbent.makespan(inst) >= heft_units.makespan(inst)):
        search.notes.append("row-block windows did not beat HEFT; then windows of layers "
                            "from HEFT's plan")
        search.spent = 0.0
        _passes(search, _layer_windows(search, heft_units), model_bound)


def improve(inst1: Instance, heft_plan: Plan, model_bound: int,
            options: MapperOptions) -> CpsatOutcome:
    """Improve `heft_plan` (cycles) with CP-SAT; see the module docstring."""
    scale = choose_scale(heft_plan.makespan(inst1), options.max_horizon_units)
    inst = rescale(inst1, scale)
    heft_units = list_schedule(inst, heft_plan.cand, heft_plan.order())
    layout = layout_of(inst)
    chunks = window_chunks(inst, heft_units, options.window_ops, layout=layout)
    single = len(chunks) == 1
    search = _Search(inst=inst, options=options, layout=layout, incumbent=heft_units,
                     deadline=time.perf_counter() + options.wall_limit_s,
                     z_lower=-(-model_bound // scale) if single else 0, cap_rounds=not single)
    try:
        _search(search, chunks, heft_units, model_bound)
    finally:
        close_worker()  # the solving child lives as long as the search
    notes = list(search.notes)
    if search.wall_hit:
        notes.append("the wall-clock cap fired: this result is not reproducible")
    common: dict[str, Any] = {
        "scale": scale, "windows_solved": search.solved, "windows_accepted": search.accepted,
        "windows_replicated": search.replicated, "deterministic_time": search.dtime,
        "wall_limit_hit": search.wall_hit, "notes": tuple(notes)}
    if not any(s in ("OPTIMAL", "FEASIBLE") for s in search.statuses):
        status = search.statuses[-1] if search.statuses else "NOT_RUN"
        return CpsatOutcome(plan=None, raw_errors=(), status=status,
                            **common)
    proved = single and scale == 1 and search.statuses[0] == "OPTIMAL"
    final = list_schedule(inst1, search.incumbent.cand, search.incumbent.order())
    raw_errors = tuple(validate(inst1.problem, materialize(inst, search.incumbent)))
    return CpsatOutcome(plan=final, raw_errors=raw_errors,
                        status="OPTIMAL" if proved else "FEASIBLE", **common)

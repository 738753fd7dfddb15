"""CP-SAT improvement of a HEFT plan: one exact solve, or windows of layers (LNS).

1. Pick the time unit: `scale` cycles with the HEFT makespan at most `max_horizon_units`.
2. The incumbent is HEFT's plan re-timed in units (same rectangles, same order).
3. If all ops fit in one window: one solve of the whole problem with the full budget.
   Otherwise: passes over windows of consecutive layers (odd passes shifted by half a window),
   each window solved with the rest fixed or re-timed (windows.py); a window's result is kept
   only if the whole plan's makespan improves. Each window gets
   max(MIN_WINDOW_DTIME, time_budget / number of windows); the first pass visits every window
   (so it may exceed `time_budget`), later passes run while budget remains and stop after a
   pass (the second or later) that improves nothing, or when the wall-clock cap fires.
4. The best plan is re-timed in cycles in its start order, which removes rounding slack and
   never delays an op.

The budget is counted in requested deterministic time, so the sequence of solves, and with it
the result, does not depend on the machine's speed (unless the wall-clock cap fires).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from meshc.mappers.cpsat.solve import solve_window
from meshc.mappers.instance import Instance, rescale
from meshc.mappers.options import MapperOptions
from meshc.mappers.plan import Plan, list_schedule
from meshc.mappers.schedule import Schedule
from meshc.mappers.tiles import materialize
from meshc.mappers.windows import WindowSpec, window_chunks, window_spec

MIN_WINDOW_DTIME = 0.05


@dataclass(frozen=True, slots=True, kw_only=True)
class CpsatOutcome:
    """`plan` is in cycles (scale 1) or None when no solve returned a solution; `raw` is the
    schedule exactly as CP-SAT (and the window composition) produced it, before re-timing,
    for validation."""

    plan: Plan | None
    raw: Schedule | None
    status: str
    scale: int
    windows_solved: int
    windows_accepted: int
    deterministic_time: float
    wall_limit_hit: bool
    notes: tuple[str, ...]


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


def improve(inst1: Instance, heft_plan: Plan, model_bound: int,
            options: MapperOptions) -> CpsatOutcome:
    """Improve `heft_plan` (cycles) with CP-SAT; see the module docstring."""
    deadline = time.perf_counter() + options.wall_limit_s
    scale = choose_scale(heft_plan.makespan(inst1), options.max_horizon_units)
    inst = rescale(inst1, scale)
    incumbent = list_schedule(inst, heft_plan.cand, heft_plan.order())
    chunks = window_chunks(inst, incumbent, options.window_ops)
    single = len(chunks) == 1
    budget = options.time_budget
    per_window = budget if single else max(MIN_WINDOW_DTIME, budget / len(chunks))
    spent = dtime = 0.0
    solved = accepted = 0
    wall_hit = False
    statuses: list[str] = []
    notes: list[str] = []
    n_pass = 0
    while not wall_hit:
        if n_pass:
            first = options.window_ops // 2 if n_pass % 2 else None
            chunks = window_chunks(inst, incumbent, options.window_ops, first)
        improved = False
        for ops in chunks:
            if n_pass and spent + MIN_WINDOW_DTIME > budget:
                break
            wall_left = deadline - time.perf_counter()
            if wall_left <= 0:
                wall_hit = True
                break
            step = per_window if not n_pass else min(per_window, budget - spent)
            spent += step
            spec = window_spec(inst, incumbent, ops)
            res = solve_window(inst, spec, incumbent, z_lower=-(-model_bound // scale) if single
                               else 0, dtime=step, wall_s=wall_left, seed=options.seed,
                               workers=options.workers, disabled=options.disabled_families)
            solved += 1
            dtime += res.deterministic_time
            wall_hit = wall_hit or res.wall_limit_hit
            statuses.append(res.status)
            if res.decisions is None:
                notes.append(f"window {solved} ({len(spec.ops)} ops): {res.status}, no solution")
                continue
            plan = _compose(inst, incumbent, spec, res.decisions)
            if plan.makespan(inst) < incumbent.makespan(inst):
                incumbent, improved = plan, True
                accepted += 1
        n_pass += 1
        if single or spent + MIN_WINDOW_DTIME > budget or (not improved and n_pass >= 2):
            break
    if wall_hit:
        notes.append("the wall-clock cap fired: this result is not reproducible")
    found = [s for s in statuses if s in ("OPTIMAL", "FEASIBLE")]
    if not found:
        return CpsatOutcome(plan=None, raw=None, status=statuses[-1] if statuses else "NOT_RUN",
                            scale=scale, windows_solved=solved, windows_accepted=accepted,
                            deterministic_time=dtime, wall_limit_hit=wall_hit,
                            notes=tuple(notes))
    proved = single and scale == 1 and statuses[0] == "OPTIMAL"
    final = list_schedule(inst1, incumbent.cand, incumbent.order())
    return CpsatOutcome(plan=final, raw=materialize(inst, incumbent),
                        status="OPTIMAL" if proved else "FEASIBLE", scale=scale,
                        windows_solved=solved, windows_accepted=accepted,
                        deterministic_time=dtime, wall_limit_hit=wall_hit, notes=tuple(notes))

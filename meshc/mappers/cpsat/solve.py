"""Build, hint and solve one window model; read the free ops' decisions back."""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from meshc.mappers.cpsat.families import FAMILIES, add_objective
from meshc.mappers.cpsat.model import build_variables
from meshc.mappers.cpsat.params import configure
from meshc.mappers.instance import Instance
from meshc.mappers.plan import Plan
from meshc.mappers.windows import WindowSpec

FULL_SEARCH_OPS = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowSolve:
    """Outcome of one window solve. `decisions[i] = (candidate, start)` for each free op, or
    None when CP-SAT returned no solution."""

    status: str
    decisions: dict[int, tuple[int, int]] | None
    objective: int | None
    wall_s: float
    deterministic_time: float
    wall_limit_hit: bool


def solve_window(
    inst: Instance, spec: WindowSpec, incumbent: Plan, *, z_lower: int, dtime: float,
    wall_s: float, seed: int, workers: int, disabled: tuple[str, ...] = (),
) -> WindowSolve:
    """Solve the window `spec` against `incumbent` with a complete hint from it. Windows of
    at most `FULL_SEARCH_OPS` ops get the full portfolio (it can prove optimality); larger
    ones only CP-SAT's LNS workers."""
    wm = build_variables(inst, spec, incumbent, z_lower)
    for name, add in FAMILIES.items():
        if name not in disabled:
            add(wm)
    add_objective(wm)
    for var, value in wm.hints:
        wm.model.add_hint(var, value)
    solver = cp_model.CpSolver()
    configure(solver, dtime=dtime, wall_s=wall_s, seed=seed, workers=workers,
              lns_only=len(spec.ops) > FULL_SEARCH_OPS)
    code = solver.solve(wm.model)
    status = solver.status_name(code)
    hit = solver.wall_time >= 0.98 * wall_s and status != "OPTIMAL"
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return WindowSolve(status=status, decisions=None, objective=None,
                           wall_s=solver.wall_time, deterministic_time=solver.deterministic_time,
                           wall_limit_hit=hit)
    decisions = {}
    for i, ov in wm.free.items():
        cand = next(c for c, x in enumerate(ov.lits) if solver.boolean_value(x))
        decisions[i] = (cand, int(solver.value(ov.start)))
    return WindowSolve(status=status, decisions=decisions, objective=int(solver.objective_value),
                       wall_s=solver.wall_time, deterministic_time=solver.deterministic_time,
                       wall_limit_hit=hit)

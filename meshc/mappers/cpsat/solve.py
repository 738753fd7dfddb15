"""Build, hint and solve one window model; read the free ops' decisions back.

Each solve runs in a forked child process. OR-Tools 9.15 can abort the whole process with a
failed native CHECK (`heuristics.fixed_search != nullptr`) when interleaved search proves a
small model optimal while other subsolvers are still loading; we reproduced it on 2-6 op
windows. In a child, such an abort only costs a retry: the window is solved again, still in a
child, with one worker and no interleaving (a sequential search, deterministic on its own).
If that fails too the window has no solution (status CRASHED) and the mapper carries on.
Where fork is unavailable, or with MESHC_CPSAT_INPROCESS=1, it solves in-process.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import multiprocessing as mp
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection

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
    retried_after: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SolveRequest:
    inst: Instance
    spec: WindowSpec
    incumbent: Plan
    z_lower: int
    dtime: float
    wall_s: float
    seed: int
    workers: int
    disabled: tuple[str, ...] = ()
    sequential: bool = False


def _solve_here(req: SolveRequest) -> WindowSolve:
    wm = build_variables(req.inst, req.spec, req.incumbent, req.z_lower)
    for name, add in FAMILIES.items():
        if name not in req.disabled:
            add(wm)
    add_objective(wm)
    for var, value in wm.hints:
        wm.model.add_hint(var, value)
    solver = cp_model.CpSolver()
    configure(solver, dtime=req.dtime, wall_s=req.wall_s, seed=req.seed, workers=req.workers,
              lns_only=len(req.spec.ops) > FULL_SEARCH_OPS)
    if req.sequential:
        solver.parameters.interleave_search = False
        solver.parameters.num_workers = 1
    code = solver.solve(wm.model)
    status = solver.status_name(code)
    hit = solver.wall_time >= 0.98 * req.wall_s and status != "OPTIMAL"
    decisions = None
    objective = None
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        decisions = {}
        for i, ov in wm.free.items():
            cand = next(c for c, x in enumerate(ov.lits) if solver.boolean_value(x))
            decisions[i] = (cand, int(solver.value(ov.start)))
        objective = int(solver.objective_value)
    return WindowSolve(status=status, decisions=decisions, objective=objective,
                       wall_s=solver.wall_time, deterministic_time=solver.deterministic_time,
                       wall_limit_hit=hit)


def _child(conn: Connection, req: SolveRequest) -> None:
    if not os.environ.get("MESHC_CPSAT_LOG"):  # keep a native abort's stack trace quiet
        faulthandler.disable()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    conn.send(_solve_here(req))
    conn.close()


def solve_window(req: SolveRequest) -> WindowSolve:
    """Solve the window `req.spec` against `req.incumbent` with a complete hint from it.
    Windows of at most `FULL_SEARCH_OPS` ops get the full portfolio (it can prove
    optimality); larger ones only CP-SAT's LNS workers."""
    if os.environ.get("MESHC_CPSAT_INPROCESS") or "fork" not in mp.get_all_start_methods():
        return _solve_here(req)
    first = _solve_in_child(req)
    if not first.status.startswith("CRASHED"):
        return first
    again = _solve_in_child(dataclasses.replace(req, sequential=True))
    return dataclasses.replace(again, retried_after=first.status)


def _solve_in_child(req: SolveRequest) -> WindowSolve:
    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, req), daemon=True)
    proc.start()
    send.close()
    try:
        result: WindowSolve = receive.recv()
    except EOFError:
        proc.join()
        result = WindowSolve(status=f"CRASHED (exit code {proc.exitcode})", decisions=None,
                             objective=None, wall_s=0.0, deterministic_time=0.0,
                             wall_limit_hit=False)
    proc.join()
    receive.close()
    return result

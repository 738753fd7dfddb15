"""Build, hint and solve one window model; read the free ops' decisions back.

Each solve runs in a forked child process. OR-Tools 9.15 can abort the whole process with a
failed native CHECK (`heuristics.fixed_search != nullptr`) when interleaved search proves a
small model optimal while other subsolvers are still loading; we reproduced it on 2-6 op
windows. In a child, such an abort only costs a retry: the window is solved again, still in a
child, with one worker and no interleaving (a sequential search, deterministic on its own).
If that fails too the window has no solution (status CRASHED) and the mapper carries on.
The child lives on and solves the next windows of the same instance (it has the instance
from the fork; a request carries the rest): a fork per window cost about 40 ms of CPU on
llama3-8b (2,121 ops). `close_worker` ends it; an abort ends it too, and the next solve
forks a new one. Where fork is unavailable, or with MESHC_CPSAT_INPROCESS=1, it solves
in-process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import faulthandler
import multiprocessing as mp
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

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
    rounds: int = 0  # at most this many rounds of tasks (params.configure), 0: no cap


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
              lns_only=len(req.spec.ops) > FULL_SEARCH_OPS, rounds=req.rounds)
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


@dataclass(slots=True)
class _Worker:
    """A forked child serving solve requests for `inst`, and the parent's end of its pipe."""

    inst: Instance
    proc: BaseProcess
    conn: Connection


_live: list[_Worker] = []  # at most one: the worker of the instance being searched


def _serve(conn: Connection, inst: Instance) -> None:
    if not os.environ.get("MESHC_CPSAT_LOG"):  # keep a native abort's stack trace quiet
        faulthandler.disable()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    while (fields := conn.recv()) is not None:
        conn.send(_solve_here(SolveRequest(inst=inst, **fields)))
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


def close_worker() -> None:
    """End the solving child, if any (the next solve forks a new one)."""
    while _live:
        w = _live.pop()
        with contextlib.suppress(OSError):  # it may have died already
            w.conn.send(None)
        w.proc.join()
        w.conn.close()


def _worker_for(inst: Instance) -> _Worker:
    if _live and _live[0].inst is inst and _live[0].proc.is_alive():
        return _live[0]
    close_worker()
    ctx = mp.get_context("fork")
    mine, theirs = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(theirs, inst), daemon=True)
    proc.start()
    theirs.close()
    _live.append(_Worker(inst=inst, proc=proc, conn=mine))
    return _live[0]


def _solve_in_child(req: SolveRequest) -> WindowSolve:
    w = _worker_for(req.inst)
    fields = {f.name: getattr(req, f.name) for f in dataclasses.fields(req) if f.name != "inst"}
    try:
        w.conn.send(fields)
        result: WindowSolve = w.conn.recv()
    except (EOFError, OSError):
        w.proc.join()
        result = WindowSolve(status=f"CRASHED (exit code {w.proc.exitcode})", decisions=None,
                             objective=None, wall_s=0.0, deterministic_time=0.0,
                             wall_limit_hit=False)
        close_worker()
    return result

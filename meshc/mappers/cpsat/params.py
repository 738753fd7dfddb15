"""CP-SAT parameters: deterministic by construction (notes/cpsat.md, "Determinism")."""

from __future__ import annotations

from ortools.sat.python import cp_model


def configure(solver: cp_model.CpSolver, *, dtime: float, wall_s: float, seed: int,
              workers: int) -> None:
    """Interleaved search with a deterministic-time limit, fixed seed and worker count.

    `wall_s` is only a safety cap: when it binds, the run is no longer reproducible. Probing
    is off: at default level it spends the whole budget in presolve on these models."""
    p = solver.parameters
    p.interleave_search = True
    p.max_deterministic_time = max(dtime, 1e-3)
    p.max_time_in_seconds = max(wall_s, 1e-3)
    p.random_seed = seed
    p.num_workers = workers
    p.cp_model_probing_level = 0
    p.log_search_progress = bool(__import__("os").environ.get("MESHC_CPSAT_LOG"))

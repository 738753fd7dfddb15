"""CP-SAT parameters: deterministic by construction (notes/cpsat.md, "Determinism").

Set MESHC_CPSAT_LOG=1 in the environment to see CP-SAT's search log.
"""

from __future__ import annotations

import os

from ortools.sat.python import cp_model

# Full subsolvers whose deterministic time is worst calibrated on these models: a 1.0-dtime
# chunk of them ran 20-80 s of wall time on the bench problems.
SLOW_SUBSOLVERS = ("fixed", "max_lp_sym")


def configure(solver: cp_model.CpSolver, *, dtime: float, wall_s: float, seed: int,
              workers: int, lns_only: bool) -> None:
    """Interleaved search with a deterministic-time limit, fixed seed and worker count.

    `wall_s` is only a safety cap: when it binds, the run is no longer reproducible. Probing
    is off: at default level it spends the whole budget in presolve on these models.
    `lns_only` keeps only the LNS subsolvers (small deterministic tasks, no proofs): in
    interleaved mode a full subsolver works in chunks of 1.0 deterministic time, which
    overshoots small budgets by far on larger windows."""
    p = solver.parameters
    p.interleave_search = True
    p.max_deterministic_time = max(dtime, 1e-3)
    p.max_time_in_seconds = max(wall_s, 1e-3)
    p.random_seed = seed
    p.num_workers = workers
    p.cp_model_probing_level = 0
    p.use_lns_only = lns_only
    p.ignore_subsolvers.extend(SLOW_SUBSOLVERS)
    p.log_search_progress = bool(os.environ.get("MESHC_CPSAT_LOG"))

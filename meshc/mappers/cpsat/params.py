"""CP-SAT parameters: deterministic by construction (notes/cpsat.md, "Determinism").

Set MESHC_CPSAT_LOG=1 in the environment to see CP-SAT's search log.
"""

from __future__ import annotations

import math
import os

from ortools.sat.python import cp_model

# Full subsolvers whose deterministic time is worst calibrated on these models: a 1.0-dtime
# chunk of them ran 20-80 s of wall time on the bench problems.
SLOW_SUBSOLVERS = ("fixed", "max_lp_sym")
# Windows of an LNS at the floor budget run rounds of ROUND_TASKS tasks (CP-SAT's default is
# 3 per worker), at most ROUNDS_PER_DTIME * dtime rounds (5 at 0.02). The first tasks of the
# full subsolvers (loading, LP) count little deterministic time: a 0.02 window of llama3-8b
# in 4 row blocks on mesh-8x8 ran up to 10 rounds of 2 tasks (0.8 s of wall time) before its
# limit. Measured on the bench_compile row-block rows and bench_mapper's pipeline rows: with
# rounds of 3, 4 to 7 rounds kept every schedule at least as good as without a cap, 5 at the
# least CPU; rounds of 2 or 4 lost 0.05-1.3% on the disaggregated 4-block prefill.
ROUND_TASKS = 3
ROUNDS_PER_DTIME = 250


def window_rounds(dtime: float) -> int:
    """At most this many rounds of tasks for a window of `dtime` deterministic time."""
    return max(1, math.ceil(dtime * ROUNDS_PER_DTIME))


def configure(solver: cp_model.CpSolver, *, dtime: float, wall_s: float, seed: int,
              workers: int, lns_only: bool, rounds: int = 0) -> None:
    """Interleaved search with a deterministic-time limit, fixed seed and worker count.

    `wall_s` is only a safety cap: when it binds, the run is no longer reproducible. Probing
    is off: at default level it spends the whole budget in presolve on these models.
    `lns_only` keeps only the LNS subsolvers (small deterministic tasks, no proofs): in
    interleaved mode a full subsolver works in chunks of 1.0 deterministic time, which
    overshoots small budgets by far on larger windows. `rounds` > 0 (windows of an LNS at
    the floor budget): rounds of `ROUND_TASKS` tasks, at most `rounds` of them; the limits
    are checked between rounds, so a small budget stops after fewer tasks. Both are counts,
    so the run stays deterministic."""
    p = solver.parameters
    p.interleave_search = True
    p.max_deterministic_time = max(dtime, 1e-3)
    p.max_time_in_seconds = max(wall_s, 1e-3)
    p.random_seed = seed
    p.num_workers = workers
    p.cp_model_probing_level = 0
    p.use_lns_only = lns_only
    if rounds > 0:
        p.interleave_batch_size = ROUND_TASKS
        p.max_num_deterministic_batches = rounds
    p.ignore_subsolvers.extend(SLOW_SUBSOLVERS)
    p.log_search_progress = bool(os.environ.get("MESHC_CPSAT_LOG"))

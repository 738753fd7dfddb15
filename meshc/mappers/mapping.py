"""`map_problem`: feasibility, bounds, HEFT, CP-SAT, validation, fallback."""

from __future__ import annotations

import time

from meshc.errors import MeshcError
from meshc.mappers.bounds import bounds_of
from meshc.mappers.heft import heft
from meshc.mappers.instance import build_instance
from meshc.mappers.options import MapperOptions, MappingResult, MappingStats
from meshc.mappers.problem import MappingProblem
from meshc.mappers.schedule import Schedule
from meshc.mappers.tiles import materialize
from meshc.mappers.validate import validate


def _checked(problem: MappingProblem, schedule: Schedule, who: str) -> Schedule:
    errors = validate(problem, schedule)
    if errors:
        raise MeshcError(
            f"internal error: the {who} schedule is invalid: " + "; ".join(errors[:5]),
            where=problem.name, hint="please report this with the input that caused it",
        )
    return schedule


def map_problem(problem: MappingProblem, options: MapperOptions | None = None) -> MappingResult:
    """Place and time every op of `problem`; the schedule returned always passes `validate`.

    Raises `MeshcError` when the problem cannot fit (feasibility.py). With mapper "cpsat" the
    result is never worse than HEFT's: an UNKNOWN or invalid CP-SAT result falls back to HEFT
    and `stats.status == "FALLBACK"`."""
    options = options or MapperOptions()
    t0 = time.perf_counter()
    inst = build_instance(problem)
    bounds = bounds_of(inst)
    heft_plan = heft(inst)
    heft_schedule = _checked(problem, materialize(inst, heft_plan), "HEFT")
    heft_makespan = heft_schedule.makespan

    def result(schedule: Schedule, status: str, **extra: object) -> MappingResult:
        stats = MappingStats(
            solver=options.mapper, status=status, makespan=schedule.makespan,
            heft_makespan=heft_makespan, lower_bound=bounds["best"],
            lower_bounds=bounds, solve_time_s=round(time.perf_counter() - t0, 3),
            options=options, **extra,  # type: ignore[arg-type]
        )
        return MappingResult(schedule=schedule, stats=stats)

    if options.mapper == "heft":
        return result(heft_schedule, "HEFT", fell_back=False, wall_limit_hit=False)
    gap = heft_schedule.makespan / max(1, bounds["model_bound"]) - 1
    if gap <= options.near_bound:  # no search can gain more than the gap: spend no solver time
        status = "OPTIMAL" if gap <= 0 else "FEASIBLE"
        note = f"HEFT is within {gap:.2%} of the lower bound; CP-SAT not run"
        return result(heft_schedule, status, fell_back=False, wall_limit_hit=False,
                      notes=(note,))
    from meshc.mappers.cpsat import improve  # ortools is loaded only when CP-SAT is asked for

    out = improve(inst, heft_plan, bounds["model_bound"], options)
    common = {"scale": out.scale, "windows_solved": out.windows_solved,
              "windows_accepted": out.windows_accepted,
              "windows_replicated": out.windows_replicated,
              "deterministic_time": round(out.deterministic_time, 6),
              "wall_limit_hit": out.wall_limit_hit}
    notes = list(out.notes)
    if out.plan is None:
        why = f"CP-SAT returned no solution ({out.status}); returning HEFT's schedule"
        return result(heft_schedule, "FALLBACK", fell_back=True,
                      notes=(*notes, why), fallback_reason=why, **common)
    schedule = materialize(inst, out.plan)
    errors = list(out.raw_errors) or validate(problem, schedule)
    if errors:
        why = "CP-SAT schedule failed validation, returning HEFT's: " + "; ".join(errors[:3])
        return result(heft_schedule, "FALLBACK", fell_back=True,
                      notes=(*notes, why), fallback_reason=why, **common)
    if schedule.makespan > heft_makespan:
        why = (f"CP-SAT's schedule ({schedule.makespan:,} cycles) is longer than HEFT's "
               f"({heft_makespan:,}); returning HEFT's")
        return result(heft_schedule, out.status, fell_back=False,
                      notes=tuple(notes), fallback_reason=why, **common)
    return result(schedule, out.status, fell_back=False, notes=tuple(notes), **common)

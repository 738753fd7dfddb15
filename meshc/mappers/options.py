"""Mapper options (the map-mesh pass options) and the result values."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from meshc.errors import MeshcError
from meshc.mappers.schedule import Schedule

MapperName = Literal["cpsat", "heft"]
FAMILIES: tuple[str, ...] = ("no_overlap", "precedence", "hbm", "area")


@dataclass(frozen=True, slots=True, kw_only=True)
class MapperOptions:
    """How to map.

    * `mapper`: "cpsat" (HEFT, then CP-SAT improving it) or "heft" (HEFT only).
    * `time_budget`: CP-SAT deterministic time, summed over all window solves (each window
      gets at least 0.02). It is not seconds: on these models one unit took 2-60 s of wall
      time on the 2-core development machine.
    * `wall_limit_s`: wall-clock safety cap over the whole CP-SAT phase. When it fires, the
      result is still valid but no longer reproducible, and `stats.wall_limit_hit` says so.
    * `seed`, `workers`: CP-SAT random seed and worker count (fixed for determinism).
    * `window_ops`: at most this many ops are re-solved together (a window of layers, LNS).
      Windows of at most 16 ops get CP-SAT's full portfolio and usually solve to optimality in
      about a second; larger ones only CP-SAT's LNS workers, at far more wall time per unit.
    * `max_horizon_units`: CP-SAT works in time units of `scale` cycles with the horizon at
      most this many units; schedules are returned in cycles.
    * `near_bound`: when HEFT is within this fraction of the lower bound, CP-SAT is not run
      (it could gain at most that much); negative to always run it.
    * `disabled_families`: CP-SAT constraint families to leave out, among `FAMILIES`. The
      redundant "area" family is off by default (it made search 7x slower per unit of
      deterministic time on the bench problems and found nothing more). Leaving out a
      required family is for diagnosis: the result then fails validation and falls back.
    """

    mapper: MapperName = "cpsat"
    time_budget: float = 2.0
    wall_limit_s: float = 300.0
    seed: int = 0
    workers: int = 2
    window_ops: int = 12
    max_horizon_units: int = 10_000_000
    near_bound: float = 0.005
    disabled_families: tuple[str, ...] = ("area",)

    def __post_init__(self) -> None:
        where = "mapper options"
        if self.mapper not in ("cpsat", "heft"):
            raise MeshcError(f"mapper is {self.mapper!r}; choose cpsat or heft", where=where)
        # named as the map-mesh options (budget, wall, ...), which is where users set them;
        # nan passes `<= 0`, so finiteness is checked on its own
        for option, value in (("budget", self.time_budget), ("wall", self.wall_limit_s)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise MeshcError(f"{option} must be a finite positive number, got {value!r}",
                                 where="map-mesh")
        for option, value in (("workers", self.workers), ("window", self.window_ops)):
            if not isinstance(value, int) or value < 1:
                raise MeshcError(f"{option} must be a positive integer, got {value!r}",
                                 where="map-mesh")
        if self.max_horizon_units < 100:
            raise MeshcError("max_horizon_units must be >= 100", where=where)
        unknown = sorted(set(self.disabled_families) - set(FAMILIES))
        if unknown:
            raise MeshcError(f"unknown constraint families {unknown}; known: {FAMILIES}",
                             where=where)


@dataclass(frozen=True, slots=True, kw_only=True)
class MappingStats:
    """What the mapper did. `status`: OPTIMAL (CP-SAT proved it), FEASIBLE (CP-SAT improved or
    matched HEFT without proof), HEFT (HEFT was asked for), FALLBACK (CP-SAT failed: no
    solution, UNKNOWN or an invalid result; the HEFT schedule is returned, `notes` say why).
    `fallback_reason`: one line saying why HEFT's schedule was returned although CP-SAT ran
    (it failed, or its schedule was longer); "" when the mapper's own schedule was kept."""

    solver: MapperName
    status: str
    makespan: int
    heft_makespan: int
    lower_bound: int
    lower_bounds: dict[str, int]
    solve_time_s: float
    fell_back: bool
    wall_limit_hit: bool
    options: MapperOptions
    scale: int = 1
    windows_solved: int = 0
    windows_accepted: int = 0
    windows_replicated: int = 0
    deterministic_time: float = 0.0
    fallback_reason: str = ""
    notes: tuple[str, ...] = field(default=())

    def to_json_dict(self) -> dict[str, Any]:
        """Plain content (solve_time_s is wall time and varies between runs)."""
        out = asdict(self)
        out["options"] = asdict(self.options)
        return out


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MappingResult:
    """A validated schedule and how it was obtained."""

    schedule: Schedule
    stats: MappingStats

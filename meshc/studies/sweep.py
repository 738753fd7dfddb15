"""A sweep as a value, and running it: points -> tasks -> cached or computed outcomes.

A bad grid (an override the model or the hardware does not have or refuses) is an error
before any work; a point over a limit or that does not fit is a failed row: the sweep
never stops for one point.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from meshc.studies import engine
from meshc.studies.cache import Cache
from meshc.studies.grid import Axis, Grid, Point, settings
from meshc.studies.run import Outcome
from meshc.studies.table import Table, build
from meshc.studies.tasks import PointFailure, Task, resolve

# (point, its stored outcome, from the cache?) as each point finishes
OnPoint = Callable[[Point, dict[str, Any], bool], None]


@dataclass(frozen=True)
class Sweep:
    """Models x hardware x grid, over fixed settings (grid.DEFAULTS overridden)."""

    models: tuple[str, ...]
    hws: tuple[str, ...]
    grid: Grid
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def full_grid(self) -> Grid:
        """The grid with `model` and `hw` axes when more than one is given."""
        inputs = [Axis(k, v) for k, v in (("model", self.models), ("hw", self.hws))
                  if len(v) > 1 and k not in self.grid.keys]
        return Grid((*inputs, *self.grid.axes), self.grid.zipped, self.grid.paired)

    def point_settings(self, point: Point) -> dict[str, Any]:
        fixed = {"model": self.models[0], "hw": self.hws[0], **self.fixed}
        return settings(fixed, point)


@dataclass(frozen=True)
class Results:
    table: Table
    internal: tuple[str, ...]  # points that hit a bug in meshc: "label: reason"
    computed: int  # points compiled (the rest came from the cache or failed up front)
    cpu_s: float  # CPU seconds of the compiled points (for the benchmark)


def prepare(sweep: Sweep) -> list[tuple[Point, Task | dict[str, Any]]]:
    """Each point's task, or its failed outcome when it cannot run."""
    out: list[tuple[Point, Task | dict[str, Any]]] = []
    for p in sweep.full_grid().points():
        try:
            out.append((p, resolve(p.index, sweep.point_settings(p))))
        except PointFailure as e:
            out.append((p, Outcome(False, " ".join(str(e).split())).stored()))
    return out


def execute(sweep: Sweep, cache: Cache, jobs: int, engine_name: str = "local",
            ray_address: str | None = None, on_point: OnPoint | None = None) -> Results:
    """Runs the points the cache does not hold; stores each outcome as it finishes."""
    tell = on_point or (lambda _p, _o, _c: None)
    prepared = prepare(sweep)
    stored: dict[int, dict[str, Any]] = {}
    todo: list[Task] = []
    for p, t in prepared:
        hit = cache.get(t.key) if isinstance(t, Task) else t
        if hit is None:
            todo.append(t)  # type: ignore[arg-type]
        else:
            stored[p.index] = {k: hit[k] for k in ("ok", "reason", "metrics")}
            tell(p, stored[p.index], True)
    points = {p.index: p for p, _ in prepared}
    internal: list[str] = []
    cpu = [0.0]

    def done(task: Task, outcome: Outcome) -> None:
        record = json.loads(json.dumps(outcome.stored()))  # exactly what the cache returns
        if outcome.internal:
            internal.append(f"{points[task.index].label}: {outcome.reason}")
        else:
            cache.put(task.key, record)
        stored[task.index] = record
        cpu[0] += outcome.cpu_s
        tell(points[task.index], record, False)

    engine.run(todo, done, jobs, engine_name, ray_address)
    grid = sweep.full_grid()
    table = build(grid.keys, [(dict(p.values), stored[p.index]) for p, _ in prepared])
    return Results(table, tuple(internal), len(todo), cpu[0])

"""The mapper refuses work over the limits, and bad map-mesh options by their names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mapper_builders import OpSpec, machine, problem

from meshc import limits
from meshc.errors import MeshcError
from meshc.mappers import MapperOptions, map_problem


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    limits.reset()
    yield
    limits.reset()


def test_tiles_over_the_limit_are_refused_before_any_schedule() -> None:
    p = problem(machine(2, 2), [OpSpec(600, 5), OpSpec(401, 5)], [(0, 1, 0)])
    limits.set_limits(("tiles=1001",))
    map_problem(p, MapperOptions(mapper="heft"))  # 1,001 tiles: at the limit
    limits.set_limits(("tiles=1000",))
    with pytest.raises(MeshcError) as err:
        map_problem(p, MapperOptions(mapper="heft"))
    assert str(err.value).startswith("tiny: too many tiles to map: 1,001 tiles is over the "
                                      "limit of 1,000 tiles")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0.0, -1.0])
@pytest.mark.parametrize("option", ["budget", "wall"])
def test_budget_and_wall_must_be_finite_and_positive(option: str, value: float) -> None:
    field = {"budget": "time_budget", "wall": "wall_limit_s"}[option]
    with pytest.raises(MeshcError) as err:
        MapperOptions(**{field: value})
    assert str(err.value) == (f"map-mesh: {option} must be a finite positive number, "
                              f"got {value!r}")


def test_workers_must_be_a_positive_integer() -> None:
    with pytest.raises(MeshcError, match="map-mesh: workers must be a positive integer, got 0"):
        MapperOptions(workers=0)

"""HEFT and the lower bounds: valid, deterministic, fast at 5,000 ops."""

from __future__ import annotations

import json
import time

from hypothesis import given, settings
from mapper_builders import small_problems
from mapper_synthetic import decoder_problem

from meshc.mappers import MapperOptions, MappingProblem, lower_bounds, map_problem, validate

HEFT = MapperOptions(mapper="heft")


def test_heft_on_decoder_layers_is_valid_and_above_bounds() -> None:
    for rows, grain, groups in ((4, 64, False), (8, 128, True), (8, 256, False)):
        p = decoder_problem(rows, rows, grain=grain, layers=2, head_groups=groups)
        res = map_problem(p, HEFT)
        assert validate(p, res.schedule) == []
        bounds = lower_bounds(p)
        assert bounds["model_bound"] <= res.schedule.makespan
        assert res.stats.status == "HEFT" and res.stats.lower_bound == bounds["best"]


def test_heft_is_deterministic() -> None:
    p = decoder_problem(8, 8, layers=3, head_groups=True)
    dumps = {json.dumps(map_problem(p, HEFT).schedule.to_json_dict(), sort_keys=True)
             for _ in range(2)}
    assert len(dumps) == 1


def test_heft_handles_5000_ops_in_seconds() -> None:
    p = decoder_problem(8, 8, layers=150, head_groups=True)
    assert len(p.ops) >= 5000
    start = time.perf_counter()
    res = map_problem(p, HEFT)
    assert time.perf_counter() - start < 8.0
    assert len(res.schedule.ops) == len(p.ops)


@settings(max_examples=25, deadline=None)
@given(small_problems())
def test_heft_is_valid_on_random_problems(p: MappingProblem) -> None:
    res = map_problem(p, HEFT)
    assert validate(p, res.schedule) == []
    assert lower_bounds(p)["model_bound"] <= res.schedule.makespan

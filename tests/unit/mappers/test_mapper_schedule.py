"""The schedule value: transfers, deterministic JSON content."""

from __future__ import annotations

import json

from mapper_synthetic import decoder_problem

from meshc.mappers import MapperOptions, map_problem


def test_transfers_and_json_content() -> None:
    p = decoder_problem(4, 4, grain=256)
    s = map_problem(p, MapperOptions(mapper="heft")).schedule
    assert len(s.transfers) == len(p.edges)
    data = s.to_json_dict()
    assert sorted(data) == ["makespan_cycles", "ops", "schema_version", "transfers"]
    assert data["makespan_cycles"] == s.makespan == max(o["end"] for o in data["ops"])
    assert [o["op"] for o in data["ops"]] == list(range(len(p.ops)))
    json.dumps(data, sort_keys=True)

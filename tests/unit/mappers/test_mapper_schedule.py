"""The schedule value: tile spreading rule, transfers, deterministic JSON content."""

from __future__ import annotations

import json

import numpy as np

from meshc.mappers import MapperOptions, map_problem
from meshc.mappers.synthetic import decoder_problem


def test_tiles_follow_the_spreading_rule() -> None:
    p = decoder_problem(4, 4, grain=256)
    s = map_problem(p, MapperOptions(mapper="heft")).schedule
    for place in s.ops:
        mine = s.tiles.op == place.op
        rows, cols = s.tiles.row[mine], s.tiles.col[mine]
        width = (place.c1 - place.c0) // place.cs + 1
        n_cores = width * ((place.r1 - place.r0) // place.rs + 1)
        k = np.arange(p.ops[place.op].n_tiles)
        assert not np.any((rows - place.r0) % place.rs) and not np.any((cols - place.c0)
                                                                       % place.cs)
        assert np.array_equal((rows - place.r0) // place.rs * width
                              + (cols - place.c0) // place.cs, k % n_cores)
        assert s.tiles.start[mine].min() == place.start
        assert s.tiles.end[mine].max() <= place.end


def test_transfers_and_json_content() -> None:
    p = decoder_problem(4, 4, grain=256)
    s = map_problem(p, MapperOptions(mapper="heft")).schedule
    assert len(s.transfers) == len(p.edges)
    data = s.to_json_dict()
    assert sorted(data) == ["makespan_cycles", "ops", "schema_version", "tiles", "transfers"]
    assert data["makespan_cycles"] == s.makespan == max(o["end"] for o in data["ops"])
    assert len(data["tiles"]["op"]) == sum(op.n_tiles for op in p.ops)
    json.dumps(data, sort_keys=True)
    assert not s.tiles.start.flags.writeable

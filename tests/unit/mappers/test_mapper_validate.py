"""The validator accepts the mappers' schedules and catches each kind of broken one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from meshc.mappers import MapperOptions, MappingProblem, Schedule, map_problem, validate
from meshc.mappers.schedule import TileArrays
from meshc.mappers.synthetic import decoder_problem


@pytest.fixture(scope="module")
def mapped() -> tuple[MappingProblem, Schedule]:
    p = decoder_problem(4, 4, grain=256, seq=512)
    return p, map_problem(p, MapperOptions(mapper="heft")).schedule


def _move(s: Schedule, op: int, to: int) -> Schedule:
    """Op `op` (its placement and tiles) moved to start at `to`; transfers untouched."""
    place = s.ops[op]
    delta = to - place.start
    ops = list(s.ops)
    ops[op] = dataclasses.replace(place, start=place.start + delta, end=place.end + delta)
    mine = s.tiles.op == op
    tiles = TileArrays(op=s.tiles.op, row=s.tiles.row, col=s.tiles.col,
                       start=np.where(mine, s.tiles.start + delta, s.tiles.start),
                       end=np.where(mine, s.tiles.end + delta, s.tiles.end))
    return dataclasses.replace(s, ops=tuple(ops), tiles=tiles,
                               makespan=max(p.end for p in ops))


def _sharing_pair(s: Schedule) -> tuple[int, int]:
    cores = [{(r, c) for r in range(p.r0, p.r1 + 1, p.rs) for c in range(p.c0, p.c1 + 1, p.cs)}
             for p in s.ops]
    for a in range(len(s.ops)):
        for b in range(a + 1, len(s.ops)):
            if cores[a] & cores[b]:
                return a, b
    raise AssertionError("no two ops share a core")


def test_valid_schedule_passes(mapped: tuple[MappingProblem, Schedule]) -> None:
    p, s = mapped
    assert validate(p, s) == []


def test_overlap_is_caught(mapped: tuple[MappingProblem, Schedule]) -> None:
    p, s = mapped
    a, b = _sharing_pair(s)
    errors = validate(p, _move(s, b, s.ops[a].start))
    assert any("at once" in e for e in errors)


def test_broken_dependency_is_caught(mapped: tuple[MappingProblem, Schedule]) -> None:
    p, s = mapped
    edge = p.edges[0]
    errors = validate(p, _move(s, edge.dst, s.ops[edge.src].start))
    assert any("before its input" in e for e in errors)


def test_too_early_transfer_is_caught(mapped: tuple[MappingProblem, Schedule]) -> None:
    p, s = mapped
    k = next(i for i, t in enumerate(s.transfers) if t.end > t.start)
    transfers = list(s.transfers)
    transfers[k] = dataclasses.replace(transfers[k], end=transfers[k].start)
    errors = validate(p, dataclasses.replace(s, transfers=tuple(transfers)))
    assert any("cycles, needs" in e for e in errors)


def test_sram_overflow_is_caught(mapped: tuple[MappingProblem, Schedule]) -> None:
    p, s = mapped
    small = dataclasses.replace(p.machine, sram_bytes={"attn": 4096, "mlp": 4096})
    errors = validate(dataclasses.replace(p, machine=small), s)
    assert any("tile working sets" in e and "its SRAM is 4,096 B" in e for e in errors)


def test_hbm_overuse_is_caught(mapped: tuple[MappingProblem, Schedule]) -> None:
    p, s = mapped
    ports = tuple(dataclasses.replace(q, bytes_per_cycle=1.0) for q in p.machine.hbm_ports)
    slow = dataclasses.replace(p.machine, hbm_ports=ports)
    errors = validate(dataclasses.replace(p, machine=slow), s)
    assert any("HBM carries" in e for e in errors)


def test_missing_tiles_are_caught(mapped: tuple[MappingProblem, Schedule]) -> None:
    p, s = mapped
    keep = s.tiles.op != 0
    t = s.tiles
    tiles = TileArrays(op=t.op[keep], row=t.row[keep], col=t.col[keep], start=t.start[keep],
                       end=t.end[keep])
    errors = validate(p, dataclasses.replace(s, tiles=tiles))
    assert any("tiles scheduled" in e for e in errors)


def test_tile_between_the_columns_of_a_strided_rectangle_is_caught(
    mapped: tuple[MappingProblem, Schedule],
) -> None:
    # the split mesh's attention region is its two edge columns: one strided rectangle
    p, s = mapped
    strided = next(q for q in s.ops if q.cs > 1)
    assert strided.c0 == 0 and strided.c1 == 3
    k = int(np.flatnonzero(s.tiles.op == strided.op)[0])
    col = s.tiles.col.copy()
    col[k] = 1  # inside the bounding box, not one of the rectangle's columns
    tiles = dataclasses.replace(s.tiles, col=col)
    errors = validate(p, dataclasses.replace(s, tiles=tiles))
    assert any("leaves its op's rectangle" in e for e in errors)

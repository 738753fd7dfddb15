"""The validator accepts the mappers' schedules and catches each kind of broken one: mutations
of a mapped decoder layer, and hand-computed schedules on tiny meshes."""

from __future__ import annotations

import dataclasses

import pytest
from mapper_builders import OpSpec, machine, problem
from mapper_synthetic import decoder_problem

from meshc.mappers import (
    MapperOptions,
    MappingProblem,
    OpPlacement,
    Schedule,
    Transfer,
    map_problem,
    validate,
)


@pytest.fixture(scope="module")
def mapped() -> tuple[MappingProblem, Schedule]:
    p = decoder_problem(4, 4, grain=256, seq=512)
    return p, map_problem(p, MapperOptions(mapper="heft")).schedule


def _move(s: Schedule, op: int, to: int) -> Schedule:
    """Op `op` moved to start at `to`; transfers untouched."""
    place = s.ops[op]
    ops = list(s.ops)
    ops[op] = dataclasses.replace(place, start=to, end=place.end + to - place.start)
    return dataclasses.replace(s, ops=tuple(ops), makespan=max(p.end for p in ops))


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


def test_strided_rectangle_made_dense_is_caught(mapped: tuple[MappingProblem, Schedule]) -> None:
    # an op on the attention cores, the mesh's two edge columns: one strided rectangle; made
    # dense, it takes the MLP columns in between, where another op runs at the same time
    p, s = mapped
    strided = next(q for q in s.ops if q.cs > 1)
    assert strided.c0 == 0 and strided.c1 == 3
    ops = list(s.ops)
    ops[strided.op] = dataclasses.replace(strided, cs=1)  # takes the two middle columns too
    errors = validate(p, dataclasses.replace(s, ops=tuple(ops)))
    assert any(e.startswith("core (0, 1) is held by ops") and p.ops[strided.op].name in e
               for e in errors)


# --- hand-computed schedules: a 1x3 mesh, tiles of 10 cycles and 1,024 B, links of 8 B per
# cycle and 2 cycles per router ------------------------------------------------------------

def _place(op: int, c0: int, c1: int, start: int, end: int, cs: int = 1) -> OpPlacement:
    return OpPlacement(op=op, r0=0, c0=c0, r1=0, c1=c1, cs=cs, start=start, end=end)


def _schedule(places: list[OpPlacement], transfers: tuple[Transfer, ...] = ()) -> Schedule:
    return Schedule(ops=tuple(places), transfers=transfers, makespan=max(p.end for p in places))


def _send(start: int, end: int, n_bytes: int = 64) -> Transfer:
    """op 0 on core (0, 0) -> op 1 on core (0, 1)."""
    return Transfer(src=0, dst=1, bytes=n_bytes, start=start, end=end, src_core=(0, 0),
                    dst_core=(0, 1))


def test_duration_is_waves_times_the_slowest_tile() -> None:
    p = problem(machine(1, 3), [OpSpec(tiles=5, cycles=10)], [])
    # 5 tiles on 2 cores: 3 waves of 10 cycles; on 3 cores: 2 waves
    assert validate(p, _schedule([_place(0, 0, 1, 0, 30)])) == []
    assert validate(p, _schedule([_place(0, 0, 2, 0, 20)])) == []
    assert validate(p, _schedule([_place(0, 0, 1, 0, 29)])) == [
        "op op0: runs 29 cycles from 0, needs 30"]
    assert validate(p, _schedule([_place(0, 0, 1, -1, 29)])) == [
        "op op0: runs 30 cycles from -1, needs 30"]


def test_hbm_stream_sets_the_duration_and_shares_the_bandwidth() -> None:
    # 400 B at 16 B/cycle: 25 cycles, more than one wave of 10
    p = problem(machine(1, 3, hbm=16.0), [OpSpec(tiles=1, cycles=10, hbm=400)] * 2, [])
    assert validate(p, _schedule([_place(0, 0, 0, 0, 25), _place(1, 1, 1, 25, 50)])) == []
    assert validate(p, _schedule([_place(0, 0, 0, 0, 24), _place(1, 1, 1, 25, 50)])) == [
        "op op0: runs 24 cycles from 0, needs 25",
        "HBM carries 16.67 B/cycle at cycle 0, its bandwidth is 16.00 B/cycle"]
    # side by side on two cores: 16 + 16 B/cycle
    assert validate(p, _schedule([_place(0, 0, 0, 0, 25), _place(1, 1, 1, 0, 25)])) == [
        "HBM carries 32.00 B/cycle at cycle 0, its bandwidth is 16.00 B/cycle"]


def test_a_core_is_held_by_one_op_at_a_time() -> None:
    p = problem(machine(1, 3), [OpSpec(tiles=2, cycles=10), OpSpec(tiles=1, cycles=10)], [])
    assert validate(p, _schedule([_place(0, 0, 1, 0, 10), _place(1, 2, 2, 0, 10)])) == []
    assert validate(p, _schedule([_place(0, 0, 1, 0, 10), _place(1, 1, 1, 10, 20)])) == []
    assert validate(p, _schedule([_place(0, 0, 1, 0, 10), _place(1, 1, 2, 9, 19)])) == [
        "core (0, 1) is held by ops op0 and op1 at once"]


def test_rectangle_must_lie_in_the_region() -> None:
    edges = {"edges": ((0, 0), (0, 2))}
    p = problem(machine(1, 3), [OpSpec(tiles=2, cycles=10, region="edges")], [], edges)
    assert validate(p, _schedule([_place(0, 0, 2, 0, 10, cs=2)])) == []
    assert validate(p, _schedule([_place(0, 0, 2, 0, 10)])) == [
        "op op0: core (0, 1) is not a core of region 'edges' able to run it"]
    assert validate(p, _schedule([_place(0, 0, 3, 0, 10)])) == [
        "op op0: rectangle (0, 0, 0, 3) step (1, 1) is not inside the mesh"]


def test_sram_counts_only_the_cores_that_run_a_tile() -> None:
    # one tile of 1,024 B on a 2-core rectangle: core (0, 1) holds the op but runs nothing
    p = problem(machine(1, 3, sram=1000), [OpSpec(tiles=1, cycles=10)], [])
    assert validate(p, _schedule([_place(0, 0, 1, 0, 10)])) == [
        "core (0, 0) holds 1,024 B of tile working sets at cycle 0, its SRAM is 1,000 B"]
    p = problem(machine(1, 3, sram=1024), [OpSpec(tiles=1, cycles=10)], [])
    assert validate(p, _schedule([_place(0, 0, 1, 0, 10)])) == []


def test_transfers_are_checked_against_their_dependency() -> None:
    p = problem(machine(1, 3), [OpSpec(tiles=1, cycles=10)] * 2, [(0, 1, 64)])
    ops = [_place(0, 0, 0, 0, 10), _place(1, 1, 1, 20, 30)]
    # one flow of 64 B over one link of 8 B/cycle, one router: 8 + 2 cycles
    assert validate(p, _schedule(ops, (_send(10, 20),))) == []
    assert validate(p, _schedule(ops, (_send(9, 19),))) == [
        "transfer op0 -> op1 leaves at 9, before its producer ends at 10"]
    assert validate(p, _schedule(ops, (_send(10, 19),))) == [
        "transfer op0 -> op1 takes 9 cycles, needs 10"]
    assert validate(p, _schedule(ops, (_send(11, 21),))) == [
        "op op1 starts at 20, before its input from op0 arrives at 21"]
    assert validate(p, _schedule(ops, ())) == ["dependency op0 -> op1 (64 B) has no transfer"]
    away = dataclasses.replace(_send(10, 20), dst_core=(0, 2))
    assert validate(p, _schedule(ops, (away,))) == [
        "transfer op0 -> op1 has endpoints outside the two ops' rectangles"]
    assert validate(p, _schedule(ops, (_send(10, 20), _send(10, 20, 8)))) == [
        "transfer op 0 -> op 1 (8 B) belongs to no dependency"]


def test_makespan_is_the_last_end() -> None:
    p = problem(machine(1, 3), [OpSpec(tiles=1, cycles=10)], [])
    s = dataclasses.replace(_schedule([_place(0, 0, 0, 0, 10)]), makespan=11)
    assert validate(p, s) == ["makespan is 11, the last op ends at 10"]

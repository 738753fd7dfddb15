"""CP-SAT: optimal on tiny instances (checked by brute force), never worse than HEFT,
deterministic, and falling back to HEFT when it fails."""

from __future__ import annotations

import dataclasses
import json
import math
from fractions import Fraction
from itertools import permutations, product

import pytest
from hypothesis import given, settings
from mapper_builders import OpSpec, machine, problem, small_problems
from mapper_synthetic import decoder_problem

from meshc.hardware.transfers import transfer_cycles
from meshc.mappers import Edge, MapperOptions, MappingProblem, lower_bounds, map_problem, validate
from meshc.mappers.heft import heft
from meshc.mappers.instance import build_instance
from meshc.mappers.rects import Rect
from meshc.mappers.windows import layout_of, tails_outside, window_order, window_spec

QUICK = MapperOptions(time_budget=0.05)


def _cores(r: Rect) -> set[tuple[int, int]]:
    return {(a, b) for a in range(r.r0, r.r1 + 1) for b in range(r.c0, r.c1 + 1)}


def brute_force(p: MappingProblem) -> int:
    """Least makespan over every candidate choice and every precedence-feasible list, each
    scheduled by the serial schedule generation scheme (its active schedules contain an
    optimum). Durations, delays and HBM rates are recomputed here from the documented rules."""
    m, n = p.machine, len(p.ops)
    cands = [t.rects for t in build_instance(p).ops]  # the candidate set defines the problem
    bw = sum(q.bytes_per_cycle for q in m.hbm_ports)

    def duration(i: int, r: Rect) -> int:
        op = p.ops[i]
        pace = max(op.tile_cycles[m.core_types[a][b]] for a, b in _cores(r))
        stream = math.ceil(op.hbm_bytes / bw) if op.hbm_bytes else 0
        return max(math.ceil(op.n_tiles / r.n_cores) * pace, stream)

    def delay(nbytes: int, a: Rect, b: Rect) -> int:  # the hardware layer's rule
        return transfer_cycles(nbytes, a.as_tuple(), a.steps, b.as_tuple(), b.steps,
                               m.link_bytes_per_cycle, m.router_latency_cycles)

    orders = [o for o in permutations(range(n))
              if all(o.index(e.src) < o.index(e.dst) for e in p.edges)]
    best = math.inf
    for choice in product(*(range(len(c)) for c in cands)):
        rects = [cands[i][c] for i, c in enumerate(choice)]
        dur = [duration(i, r) for i, r in enumerate(rects)]
        rate = [Fraction(p.ops[i].hbm_bytes, dur[i]) for i in range(n)]
        for order in orders:
            start: dict[int, int] = {}
            for i in order:
                ready = max((start[e.src] + dur[e.src] + delay(e.bytes, rects[e.src], rects[i])
                             for e in p.edges if e.dst == i), default=0)
                for t in sorted({ready} | {start[j] + dur[j] for j in start
                                           if start[j] + dur[j] > ready}):
                    busy = [j for j in start if start[j] < t + dur[i] and t < start[j] + dur[j]]
                    if any(_cores(rects[j]) & _cores(rects[i]) for j in busy):
                        continue
                    points = [t] + [start[j] for j in busy if start[j] > t]
                    if all(rate[i] + sum(rate[j] for j in busy
                                         if start[j] <= x < start[j] + dur[j]) <= bw
                           for x in points):
                        start[i] = t
                        break
            best = min(best, max(start[i] + dur[i] for i in range(n)))
    return int(best)


TINY = [
    problem(machine(2, 2), [OpSpec(2, 10), OpSpec(1, 7), OpSpec(2, 5), OpSpec(1, 4)],
            [(0, 2, 64), (1, 2, 0), (0, 3, 512)]),
    problem(machine(1, 3, latency=5), [OpSpec(3, 6), OpSpec(2, 9), OpSpec(1, 4)],
            [(0, 2, 96)]),
    problem(machine(2, 2, hbm=8.0), [OpSpec(1, 5, hbm=160), OpSpec(2, 6, hbm=80),
                                     OpSpec(1, 3)], [(0, 2, 16), (1, 2, 16)]),
]


@pytest.mark.parametrize("p", TINY, ids=["dag4", "row3", "hbm3"])
def test_cpsat_matches_brute_force_optimum(p: MappingProblem) -> None:
    res = map_problem(p, MapperOptions(time_budget=1.0))
    assert validate(p, res.schedule) == []
    assert res.stats.status == "OPTIMAL"
    optimum = brute_force(p)
    assert res.schedule.makespan == optimum
    assert lower_bounds(p)["model_bound"] <= optimum


@settings(max_examples=8, deadline=None)
@given(small_problems())
def test_cpsat_never_worse_than_heft(p: MappingProblem) -> None:
    res = map_problem(p, QUICK)
    assert validate(p, res.schedule) == []
    assert res.schedule.makespan <= res.stats.heft_makespan
    assert res.stats.lower_bound <= res.schedule.makespan


def _dump(p: MappingProblem, options: MapperOptions) -> bytes:
    return json.dumps(map_problem(p, options).schedule.to_json_dict(), sort_keys=True).encode()


def test_three_runs_give_identical_bytes() -> None:
    p = decoder_problem(4, 4, grain=128)
    options = MapperOptions(time_budget=0.3)
    assert len({_dump(p, options) for _ in range(3)}) == 1


def test_windows_improve_and_stay_deterministic() -> None:
    p = decoder_problem(4, 4, grain=256, layers=3)
    options = MapperOptions(time_budget=0.3, window_ops=12)
    res = map_problem(p, options)
    assert res.stats.windows_accepted >= 1
    assert res.stats.windows_solved + res.stats.windows_replicated >= 3
    assert res.schedule.makespan < res.stats.heft_makespan
    assert validate(p, res.schedule) == []
    assert len({_dump(p, options) for _ in range(2)}) == 1


def test_invalid_cpsat_result_falls_back_to_heft() -> None:
    p = problem(machine(1, 1), [OpSpec(2, 10), OpSpec(3, 10)], [])
    res = map_problem(p, MapperOptions(time_budget=0.2, near_bound=-1,
                                       disabled_families=("no_overlap", "area")))
    assert res.stats.status == "FALLBACK" and res.stats.fell_back
    assert any("failed validation" in n for n in res.stats.notes)
    assert res.schedule.makespan == res.stats.heft_makespan
    assert validate(p, res.schedule) == []


def test_wall_cap_falls_back_and_says_so() -> None:
    p = decoder_problem(4, 4)
    res = map_problem(p, MapperOptions(wall_limit_s=1e-9, near_bound=-1))
    assert res.stats.status == "FALLBACK" and res.stats.wall_limit_hit
    assert res.schedule.makespan == res.stats.heft_makespan


def test_a_native_abort_in_cpsat_only_costs_the_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OR-Tools can abort the process on a failed CHECK; solves run in a forked child."""
    import os

    import meshc.mappers.cpsat.solve as solve

    monkeypatch.delenv("MESHC_CPSAT_INPROCESS", raising=False)
    monkeypatch.setattr(solve, "_solve_here", lambda req: os.abort())
    p = decoder_problem(4, 4)
    res = map_problem(p, QUICK)
    assert res.stats.status == "FALLBACK" and res.stats.fell_back
    assert any("CRASHED" in n for n in res.stats.notes)
    assert validate(p, res.schedule) == []


def test_heft_at_the_bound_skips_the_solver() -> None:
    p = problem(machine(1, 1), [OpSpec(2, 10), OpSpec(3, 10)], [])
    res = map_problem(p, MapperOptions(time_budget=0.2))
    assert res.stats.status == "OPTIMAL" and not res.stats.fell_back
    assert res.stats.deterministic_time == 0 and res.stats.windows_solved == 0
    assert any("CP-SAT not run" in n for n in res.stats.notes)
    assert res.schedule.makespan == res.stats.heft_makespan == res.stats.lower_bound


def test_row_blocks_are_recognised_from_the_graph() -> None:
    p = decoder_problem(4, 4, parts=4, resident_mlp=True)
    inst = build_instance(p)
    layout = layout_of(inst)
    assert layout.split
    for op in p.ops:  # L0.p<j>.<name>
        j = int(op.name.split(".")[1][1:])
        assert layout.group[op.id] == j + (op.block != "attention"), op.name
        twin = layout.twin[op.id]
        if j == 3 or op.name.endswith("attention"):  # causal: block j + 1 attends further
            assert twin == -1
        else:
            assert p.ops[twin].name == op.name.replace(f".p{j}.", f".p{j + 1}.")
    plan = heft(inst)
    order = window_order(layout, plan)
    pos = {i: k for k, i in enumerate(order)}
    assert all(pos[e.src] < pos[e.dst] for e in p.edges)
    for unsplit in (decoder_problem(4, 4, layers=3, head_groups=True),
                    problem(machine(2, 2), [OpSpec(1, 5), OpSpec(1, 5)], [])):
        layout = layout_of(build_instance(unsplit))
        assert not layout.split and set(layout.twin) == {-1}


def test_a_row_block_window_fixes_earlier_groups_and_sees_twins() -> None:
    p = decoder_problem(4, 4, parts=4, resident_mlp=True)
    inst = build_instance(p)
    layout = layout_of(inst)
    plan = heft(inst)
    ops = tuple(i for i in range(len(p.ops)) if layout.group[i] == 2)
    spec = window_spec(inst, plan, ops, layout)
    assert spec.ops == ops
    assert {i for i in range(len(p.ops)) if layout.group[i] < 2} <= set(spec.fixed)
    assert set(spec.retimed) | set(spec.fixed) | set(ops) == set(range(len(p.ops)))
    down = next(i for i in ops if p.ops[i].name == "L0.p1.down")  # a sink: only its twin
    twin = layout.twin[down]
    assert spec.tail[ops.index(down)] == inst.ops[twin].dur[plan.cand[twin]] + int(
        tails_outside(inst, plan, set(ops), layout)[twin])
    assert tails_outside(inst, plan, set(ops))[down] == 0


def test_row_block_windows_pipeline_and_stay_deterministic() -> None:
    """Windows of 12 ops cut by start time gained 3% here; row-block windows pipeline the
    blocks (about 23%; one solve of the whole layer: 24% in about a minute)."""
    p = decoder_problem(4, 4, parts=4, resident_mlp=True)
    options = MapperOptions(time_budget=0.2)
    res = map_problem(p, options)
    assert res.stats.windows_solved > 1
    assert res.schedule.makespan < 0.85 * res.stats.heft_makespan
    assert validate(p, res.schedule) == []
    assert len({_dump(p, options) for _ in range(2)}) == 1


def test_row_blocks_may_differ_on_the_attention_side() -> None:
    """As split-rows leaves it: block j < last appends to the KV cache in an op of its own
    that also feeds the next block's attention (the last one joins its attention's group)."""
    p = decoder_problem(4, 4, parts=2, resident_mlp=True)
    by_name = {o.name: o.id for o in p.ops}
    k0 = p.ops[by_name["L0.p0.k"]]
    append = dataclasses.replace(k0, id=len(p.ops), name="L0.p0.kv_append", region="attn",
                                 hbm_read_bytes=0)
    edges = [Edge(src=k0.id, dst=append.id, bytes=64)] + [
        Edge(src=append.id, dst=by_name[f"L0.p{j}.attention"], bytes=64) for j in (0, 1)]
    p = dataclasses.replace(p, ops=(*p.ops, append), edges=(*p.edges, *edges))
    layout = layout_of(build_instance(p))
    assert layout.split and layout.group[append.id] == 0
    assert layout.twin[by_name["L0.p0.down"]] == by_name["L0.p1.down"]


def test_row_block_windows_fall_back_to_layer_windows() -> None:
    """With weights streamed per block the pipelined start can lose to HEFT's order; the
    search then runs again from HEFT's plan with windows of layers."""
    p = decoder_problem(4, 4, grain=256, parts=2)
    res = map_problem(p, MapperOptions(time_budget=0.2))
    assert any("row-block windows did not beat HEFT" in n for n in res.stats.notes)
    assert res.schedule.makespan < res.stats.heft_makespan
    assert validate(p, res.schedule) == []


def test_row_blocks_in_one_region_use_windows_of_layers() -> None:
    """Attention and MLP in one region (the default pipeline): blocks overlap on any cores
    whatever the order, so the search starts from HEFT's plan with windows of layers."""
    p = decoder_problem(4, 4, parts=4, resident_mlp=True)
    p = dataclasses.replace(p, ops=tuple(dataclasses.replace(o, region="all") for o in p.ops))
    assert layout_of(build_instance(p)).split
    res = map_problem(p, MapperOptions(time_budget=0.1))
    assert any("in one region: windows of layers" in n for n in res.stats.notes)
    assert not any("did not beat HEFT" in n for n in res.stats.notes)
    assert res.schedule.makespan <= res.stats.heft_makespan
    assert validate(p, res.schedule) == []


def test_a_window_is_not_solved_twice_against_the_same_incumbent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A shifted pass that cuts the same windows, with nothing kept since, solves none of
    them again: the solve is deterministic, its result would be rejected again (such a
    window is not even visited: none of its ops changed since it was solved)."""
    from meshc.mappers.cpsat import lns
    from meshc.mappers.cpsat.solve import WindowSolve

    solved: list[object] = []
    visits: list[tuple[int, ...]] = []
    visit = lns._Search.solve

    def fake(req: lns.SolveRequest) -> WindowSolve:
        solved.append((req.spec, req.dtime))
        return WindowSolve(status="UNKNOWN", decisions=None, objective=None, wall_s=0.0,
                           deterministic_time=0.0, wall_limit_hit=False)

    def counted(self: lns._Search, ops: tuple[int, ...], step: float) -> object:
        visits.append(ops)
        return visit(self, ops, step)

    monkeypatch.setattr(lns, "solve_window", fake)
    monkeypatch.setattr(lns._Search, "solve", counted)
    map_problem(decoder_problem(4, 4, grain=256, layers=3),
                MapperOptions(time_budget=5.0, window_ops=12))
    assert solved and len(set(solved)) == len(solved)
    assert len(visits) == len(solved)

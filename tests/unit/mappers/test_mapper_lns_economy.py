"""What keeps the LNS cheap: replicas re-timed in the solved window's order (`keyed_order`),
windows solved again only when one of their ops changed, and the cap on CP-SAT's rounds of
tasks per window. Hand-computed cases."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from mapper_builders import OpSpec, machine, problem
from mapper_synthetic import decoder_problem
from ortools.sat.python import cp_model

from meshc.mappers import MapperOptions, map_problem, validate
from meshc.mappers.cpsat import lns
from meshc.mappers.cpsat.params import configure, window_rounds
from meshc.mappers.heft import heft
from meshc.mappers.instance import Instance, build_instance
from meshc.mappers.plan import Plan, keyed_order
from meshc.mappers.windows import layout_of


def test_keyed_order_follows_the_keys_where_precedence_allows() -> None:
    p = problem(machine(1, 1), [OpSpec(1, 5)] * 4, [(0, 2, 0), (1, 3, 0)])
    inst = build_instance(p)
    # op 2 has the least key but waits for op 0; op 3 waits for op 1
    assert keyed_order(inst, [5, 9, 0, 1]) == [0, 2, 1, 3]
    assert keyed_order(inst, [0, 0, 0, 0]) == [0, 1, 2, 3]  # ties: smaller id first


def test_a_replica_runs_its_ops_in_the_solved_windows_order() -> None:
    p = problem(machine(1, 1), [OpSpec(1, 5)] * 4, [])
    inst = build_instance(p)
    # window (0, 1) now runs op 1 first, 10 units before op 0; the target (2, 3) keeps its
    # first start (20): keys 2 -> 30, 3 -> 20
    plan = Plan(cand=np.zeros(4, dtype=np.int64), start=np.array([10, 0, 20, 25]))
    assert lns._replica_order(inst, plan, (0, 1), [(2, 3)]) == [1, 0, 3, 2]


def test_a_window_is_solved_again_only_when_one_of_its_ops_changed() -> None:
    inst = build_instance(decoder_problem(4, 4))
    plan = heft(inst)
    search = lns._Search(inst=inst, options=MapperOptions(), layout=layout_of(inst),
                         incumbent=plan, deadline=math.inf, z_lower=0)
    window = (0, 1)
    assert search.stale(window)  # never solved
    search.solved_at[window] = search.changes
    assert not search.stale(window)
    search._kept(plan, [2, 3])  # another window's result: this one is where it was left
    assert not search.stale(window)
    search._kept(plan, [1])
    assert search.stale(window)
    search.solved_at[window] = search.changes  # its own result kept: it may go further
    search._kept(plan, [0])
    assert search.stale(window)


def test_lns_windows_cap_the_rounds_of_tasks() -> None:
    assert [window_rounds(d) for d in (0.001, 0.01, 0.02)] == [1, 3, 5]
    capped, plain = cp_model.CpSolver(), cp_model.CpSolver()
    configure(capped, dtime=0.02, wall_s=10.0, seed=0, workers=2, lns_only=False, rounds=5)
    configure(plain, dtime=2.0, wall_s=10.0, seed=0, workers=2, lns_only=False)
    assert capped.parameters.max_num_deterministic_batches == 5
    assert capped.parameters.interleave_batch_size == 3  # tasks per round
    assert plain.parameters.max_num_deterministic_batches == 0  # one solve: no cap
    assert plain.parameters.interleave_batch_size == 0


def test_row_block_layers_in_one_region_stay_valid_and_deterministic() -> None:
    p = decoder_problem(4, 4, layers=2, parts=4, resident_mlp=True)
    p = dataclasses.replace(p, ops=tuple(dataclasses.replace(o, region="all") for o in p.ops))
    options = MapperOptions(time_budget=0.2)
    first, second = map_problem(p, options), map_problem(p, options)
    assert validate(p, first.schedule) == []
    assert first.schedule.makespan <= first.stats.heft_makespan
    assert first.schedule.to_json_dict() == second.schedule.to_json_dict()


def test_one_child_solves_every_window_of_a_search(monkeypatch: pytest.MonkeyPatch) -> None:
    from meshc.mappers.cpsat import solve

    monkeypatch.delenv("MESHC_CPSAT_INPROCESS", raising=False)
    children: list[int | None] = []
    worker_for = solve._worker_for

    def counted(inst: Instance) -> solve._Worker:
        w = worker_for(inst)
        children.append(w.proc.pid)
        return w

    monkeypatch.setattr(solve, "_worker_for", counted)
    p = decoder_problem(4, 4, parts=4, resident_mlp=True)
    res = map_problem(p, MapperOptions(time_budget=0.2))
    assert res.stats.windows_solved > 1 and len(children) == res.stats.windows_solved
    assert len(set(children)) == 1
    assert solve._live == []  # ended with the search
    assert validate(p, res.schedule) == []

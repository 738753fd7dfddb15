"""The segment bound (mappers/bounds.py): separators run one after another, and the ops
between two of them share the mesh, by hand."""

from __future__ import annotations

from mapper_builders import OpSpec, machine, problem

from meshc.mappers.bounds import lower_bounds, separators, typed_load
from meshc.mappers.heft import heft
from meshc.mappers.instance import build_instance
from meshc.mappers.problem import MappingProblem


def _diamond() -> MappingProblem:  # op0 -> {op1, op2} -> op3 on 1x2, transfers free
    return problem(machine(1, 2), [OpSpec(1, 10), OpSpec(2, 10), OpSpec(2, 10), OpSpec(1, 10)],
                   [(0, 1, 0), (0, 2, 0), (1, 3, 0), (2, 3, 0)])


def test_separators_are_the_ops_every_path_runs_through() -> None:
    assert separators(build_instance(_diamond())) == [True, False, False, True]


def test_parallel_branches_share_the_mesh_in_the_bound() -> None:
    # op1 and op2 take 10 cycles on both cores or 20 on one (20 core-cycles either way), so
    # between op0 and op3 they need 40 core-cycles of 2 cores: 20; with op0 and op3, 40.
    # The chain (30) and the work bound (35: op1..op3 need 50 core-cycles after cycle 10)
    # let both branches have the whole mesh at once.
    b = lower_bounds(_diamond())
    assert (b["critical_path"], b["work"], b["segments"]) == (30, 35, 40)
    assert b["best"] == b["model_bound"] == 40
    inst = build_instance(_diamond())
    assert heft(inst).makespan(inst) == 40  # met: the bound is exact here


def test_without_separators_inside_it_is_the_chain_and_the_work() -> None:
    # two independent chains: no op is a separator, one segment of everything
    p = problem(machine(1, 2), [OpSpec(1, 10)] * 4, [(0, 1, 0), (2, 3, 0)])
    assert separators(build_instance(p)) == [False] * 4
    assert lower_bounds(p)["segments"] == 20  # max(chain 20, 40 core-cycles / 2 cores)


def test_typed_load_splits_the_work_between_core_types() -> None:
    assert typed_load([{"a": 100}, {"a": 60}], {"a": 4}) == 40  # one type: work / cores
    # 100 core-cycles on the fast core or 400 on the slow one: a fifth on the slow core,
    # (1 - y) 100 = 400 y = 80
    assert typed_load([{"f": 100, "s": 400}], {"f": 1, "s": 1}) == 80
    # an op the slow core cannot run stays on the fast one; the other fills the slow one
    assert typed_load([{"f": 100}, {"f": 100, "s": 100}], {"f": 1, "s": 1}) == 100
    # the slow core takes the op it is least bad at, B (2x) before A (4x): it runs 2/3 of
    # B (133.3 cycles) while the fast one runs A and B's last third (133.3): ceil -> 134
    assert typed_load([{"f": 100, "s": 400}, {"f": 100, "s": 200}], {"f": 1, "s": 1}) == 134

"""The segment bound (mappers/bounds.py): separators run one after another, and the ops
between two of them share the mesh, by hand."""

from __future__ import annotations

from mapper_builders import OpSpec, machine, problem

from meshc.mappers.bounds import lower_bounds, separators
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

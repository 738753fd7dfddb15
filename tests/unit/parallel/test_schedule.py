"""The micro-batch pipeline (meshc/parallel/schedule.py) on hand-drawn timelines."""

from __future__ import annotations

import itertools
import time

import pytest

from meshc.errors import MeshcError
from meshc.parallel.charges import LinkCharge, StepCharge
from meshc.parallel.schedule import Timeline, pipeline


def link(kind: str, time_s: float, label: str = "x") -> LinkCharge:
    return LinkCharge(kind, label, 2, "ring", 100.0, time_s, 200.0, 10.0)


def step(name: str, group: str = "tpu", subgroup: int = 0, compute_s: float = 1.0,
         collectives: tuple[LinkCharge, ...] = (), send: LinkCharge | None = None) -> StepCharge:
    return StepCharge(name, name, group, subgroup, 1, "chip", compute_s, 1.0, 1.0, 0.0, 0.0,
                      0, collectives, send)


def times(t: Timeline) -> dict[tuple[int, int], tuple[float, float]]:
    """(step, micro-batch) -> (start, end)."""
    return {(s.step, s.micro_batch): (s.start_s, s.end_s) for s in t.slots}


def test_one_step_is_compute_then_collectives() -> None:
    t = pipeline([step("s", compute_s=2.0,
                       collectives=(link("all_reduce", 0.5), link("all_to_all", 0.25)))], 1)
    assert times(t) == {(0, 0): (0.0, 2.75)}
    assert t.makespan_s == 2.75
    assert t.busy_s == {("tpu", 0): 2.75}


def test_four_equal_stages_one_micro_batch() -> None:
    t = pipeline([step(f"s{i}", subgroup=i) for i in range(4)], 1)
    assert times(t) == {(i, 0): (float(i), float(i + 1)) for i in range(4)}
    assert t.makespan_s == 4.0
    assert max(t.busy_s.values()) == 1.0


def test_four_equal_stages_four_micro_batches_is_gpipe() -> None:
    # (m + p - 1) x t = 7; stage i runs micro-batch j from i + j; every stage busy m x t
    t = pipeline([step(f"s{i}", subgroup=i, compute_s=2.0) for i in range(4)], 4)
    assert t.makespan_s == 14.0
    assert times(t) == {(i, j): (2.0 * (i + j), 2.0 * (i + j + 1))
                        for i in range(4) for j in range(4)}
    assert t.busy_s == {("tpu", i): 8.0 for i in range(4)}
    assert t.resources == tuple(("tpu", i) for i in range(4))


def test_unequal_stages_wait_for_the_slow_one() -> None:
    # s0 1 s, s1 3 s, 3 micro-batches: s1 runs back to back from 1 s: 1 + 3 x 3
    t = pipeline([step("s0", subgroup=0), step("s1", subgroup=1, compute_s=3.0)], 3)
    assert times(t)[(1, 0)] == (1.0, 4.0)
    assert times(t)[(1, 1)] == (4.0, 7.0)
    assert times(t)[(1, 2)] == (7.0, 10.0)
    assert t.makespan_s == 10.0
    assert t.busy_s == {("tpu", 0): 3.0, ("tpu", 1): 9.0}


def test_attention_and_mlp_chips_ping_pong() -> None:
    # two layers, attention (A) and MLP (M) each 1 s, 2 micro-batches:
    #   A: A0.0 [0,1]  A0.1 [1,2]  A1.0 [2,3]  A1.1 [3,4]
    #   M:             M0.0 [1,2]  M0.1 [2,3]  M1.0 [3,4]  M1.1 [4,5]
    chain = [step("A0", "attention"), step("M0", "mlp"), step("A1", "attention"),
             step("M1", "mlp")]
    t = pipeline(chain, 2)
    assert times(t) == {
        (0, 0): (0.0, 1.0), (0, 1): (1.0, 2.0), (2, 0): (2.0, 3.0), (2, 1): (3.0, 4.0),
        (1, 0): (1.0, 2.0), (1, 1): (2.0, 3.0), (3, 0): (3.0, 4.0), (3, 1): (4.0, 5.0)}
    assert t.makespan_s == 5.0
    assert t.busy_s == {("attention", 0): 4.0, ("mlp", 0): 4.0}


def test_ties_go_to_the_lower_micro_batch() -> None:
    # two steps on one resource: at 1 s, X of micro-batch 1 and Y of micro-batch 0 can both
    # start; micro-batch 0 goes first
    t = pipeline([step("X"), step("Y")], 2)
    assert [(s.step, s.micro_batch, s.start_s) for s in t.slots] == [
        (0, 0, 0.0), (1, 0, 1.0), (0, 1, 2.0), (1, 1, 3.0)]
    assert t.makespan_s == 4.0


def test_a_send_delays_the_next_step_but_frees_its_chips() -> None:
    chain = [step("s0", subgroup=0, send=link("send", 0.5)), step("s1", subgroup=1)]
    one = pipeline(chain, 1)
    assert times(one) == {(0, 0): (0.0, 1.0), (1, 0): (1.5, 2.5)}
    two = pipeline(chain, 2)
    # s0 takes micro-batch 1 at once (1 s, not 1.5 s); s1 waits for its send (2.5 s)
    assert times(two) == {(0, 0): (0.0, 1.0), (0, 1): (1.0, 2.0), (1, 0): (1.5, 2.5),
                          (1, 1): (2.5, 3.5)}
    assert two.makespan_s == 3.5
    assert two.busy_s == {("tpu", 0): 2.0, ("tpu", 1): 2.0}


def test_the_last_steps_send_counts_in_the_makespan() -> None:
    t = pipeline([step("s0", send=link("send", 0.25))], 2)
    assert t.makespan_s == 2.25


def test_a_resource_used_twice_in_the_chain() -> None:
    # stage 0 runs steps 0 and 2, stage 1 step 1: s0.0 [0,1], s1.0 [1,2], s2.0 [2,3]
    t = pipeline([step("a", subgroup=0), step("b", subgroup=1), step("c", subgroup=0)], 1)
    assert times(t) == {(0, 0): (0.0, 1.0), (1, 0): (1.0, 2.0), (2, 0): (2.0, 3.0)}
    assert t.busy_s == {("tpu", 0): 2.0, ("tpu", 1): 1.0}


def test_deterministic_and_fast() -> None:
    chain = [step(f"s{i}", "attention" if i % 2 else "mlp", i // 8,
                  compute_s=1e-3 * (1 + i % 5), collectives=(link("all_reduce", 1e-4),),
                  send=link("send", 3e-5))
             for i in range(160)]
    best = float("inf")
    for _ in range(3):  # the best of three: the machine is shared
        start = time.perf_counter()
        t = pipeline(chain, 16)
        best = min(best, time.perf_counter() - start)
    assert best < 0.1
    assert len(t.slots) == 160 * 16
    assert pipeline(chain, 16) == t
    # no resource runs two steps at once
    by_res: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for s in t.slots:
        by_res.setdefault(s.resource, []).append((s.start_s, s.end_s))
    for spans in by_res.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


@pytest.mark.parametrize("mb", [0, -1, True, 1.5])
def test_refuses_fewer_than_one_micro_batch(mb: object) -> None:
    with pytest.raises(MeshcError, match="micro-batches must be a whole number >= 1"):
        pipeline([step("s")], mb)  # type: ignore[arg-type]


def test_refuses_a_negative_time_and_an_empty_chain() -> None:
    with pytest.raises(ValueError, match="step 'bad'"):
        pipeline([step("bad", compute_s=-1.0)], 1)
    with pytest.raises(ValueError, match="step 'nan'"):
        pipeline([step("nan", collectives=(link("all_reduce", float("nan")),))], 1)
    with pytest.raises(ValueError, match="no step"):
        pipeline([], 1)


def test_rounds_start_a_micro_batch_again_when_it_arrives() -> None:
    # decode: 4 stages of 1 s; one micro-batch takes turns through them, 4 s a token; four
    # keep every stage busy, still 4 s a round but four tokens
    chain = [step(f"s{i}", subgroup=i) for i in range(4)]
    assert pipeline(chain, 1, rounds=3).round_ends_s == (4.0, 8.0, 12.0)
    four = pipeline(chain, 4, rounds=3)
    assert four.round_ends_s == (7.0, 11.0, 15.0)
    assert len(four.slots) == 4 * 4 * 3
    assert pipeline(chain, 4).round_ends_s == (7.0,)


def test_a_stages_links_carry_its_send_before_its_next_all_reduce() -> None:
    # s0: 0.2 s compute, 0.5 s all-reduce, a 1 s send. Micro-batch 1's all-reduce waits for
    # micro-batch 0's send to leave the links (0.7 -> 1.7), its own send follows (2.2 -> 3.2)
    chain = [step("s0", subgroup=0, compute_s=0.2, collectives=(link("all_reduce", 0.5),),
                  send=link("send", 1.0)), step("s1", subgroup=1, compute_s=0.1)]
    t = times(pipeline(chain, 2))
    assert t[(0, 0)] == pytest.approx((0.0, 0.7)) and t[(1, 0)] == pytest.approx((1.7, 1.8))
    assert t[(0, 1)] == pytest.approx((0.7, 2.2)) and t[(1, 1)] == pytest.approx((3.2, 3.3))

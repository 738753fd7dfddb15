"""The transfer delay: the simulator's flow rule (meshc.hardware.transfers) on hand-computed
cases, and the mapper's delay tables equal to it pair by pair."""

from __future__ import annotations

from mapper_builders import OpSpec, machine, problem

from meshc.hardware.transfers import MAX_FLOWS, flows, profile, transfer_cycles, xy_route
from meshc.mappers.instance import build_instance

ONE = (1, 1)


def cycles(n: int, src: tuple[int, int, int, int], dst: tuple[int, int, int, int],
           src_step: tuple[int, int] = ONE, dst_step: tuple[int, int] = ONE) -> int:
    return transfer_cycles(n, src, src_step, dst, dst_step, 64.0, 2)


def test_xy_route_goes_along_the_row_first() -> None:
    assert xy_route((0, 0), (1, 2)) == [((0, 0), (0, 1)), ((0, 1), (0, 2)), ((0, 2), (1, 2))]
    assert xy_route((1, 1), (1, 1)) == []


def test_one_flow_pays_its_bytes_once_and_the_router_per_hop() -> None:
    # 640 B / 64 B per cycle = 10 cycles, plus 3 hops x 2 cycles
    assert cycles(640, (0, 0, 0, 0), (0, 3, 0, 3)) == 16


def test_a_flow_to_its_own_core_is_free() -> None:
    assert cycles(1 << 20, (2, 2, 2, 2), (2, 2, 2, 2)) == 0
    assert cycles(0, (0, 0, 0, 0), (0, 3, 0, 3)) == 0


def test_parallel_flows_share_the_bytes() -> None:
    # two flows of 640 B, one hop each on their own link: 10 + 2
    assert cycles(1280, (0, 0, 0, 1), (1, 0, 1, 1)) == 12


def test_flows_that_share_a_link_queue_on_it() -> None:
    # (0,0)->(0,2) and (0,1)->(0,3) both cross (0,1)->(0,2): the second flow waits for the
    # first there: 2 x 10 + 2 hops x 2 = 24 (the first alone would take 14)
    assert profile(flows((0, 0, 0, 1), ONE, (0, 2, 0, 3), ONE)) == ((2, 2),)
    assert cycles(1280, (0, 0, 0, 1), (0, 2, 0, 3)) == 24


def test_at_most_max_flows_between_evenly_spaced_cores() -> None:
    pairs = flows((0, 0, 0, 15), ONE, (1, 0, 1, 15), ONE)
    assert len(pairs) == MAX_FLOWS == 8
    assert [a for a, _ in pairs] == [(0, c) for c in range(0, 16, 2)]
    # 8 flows of 1/8 of the bytes, one hop each: 8192 / 8 / 64 + 2
    assert cycles(8192, (0, 0, 0, 15), (1, 0, 1, 15)) == 18


def test_strided_rectangles_use_their_own_cores() -> None:
    # the two edge columns of a 2x4 mesh (columns 0 and 3) to column 1
    pairs = flows((0, 0, 1, 3), (1, 3), (0, 1, 1, 1), ONE)
    assert pairs == (((0, 0), (0, 1)), ((1, 0), (1, 1)))


def test_the_rule_does_not_depend_on_where_the_rectangles_sit() -> None:
    assert cycles(4096, (0, 0, 1, 1), (3, 4, 4, 6)) == cycles(4096, (2, 1, 3, 2), (5, 5, 6, 7))


def test_the_mappers_delay_tables_are_the_rule() -> None:
    """Pair by pair; a producer's second output leaves after its first (1000 + 333 B)."""
    m = machine(3, 4, link=16.0, latency=3)
    p = problem(m, [OpSpec(tiles=12, cycles=40), OpSpec(tiles=5, cycles=30),
                    OpSpec(tiles=3, cycles=20)], [(0, 1, 1000), (0, 2, 333), (1, 2, 0)])
    inst = build_instance(p)
    priced = [1000, 1333, 0]
    for e, edge in enumerate(p.edges):
        srcs, dsts = inst.ops[edge.src].rects, inst.ops[edge.dst].rects
        assert inst.delay_tabs[e].shape == (len(srcs), len(dsts))
        for i, a in enumerate(srcs):
            for j, b in enumerate(dsts):
                want = transfer_cycles(priced[e], a.as_tuple(), a.steps, b.as_tuple(), b.steps,
                                       16.0, 3)
                assert inst.delay_cycles(e, i, j) == want
    assert int(inst.delay_tabs[0].max()) > 0 and int(inst.delay_tabs[2].max()) == 0

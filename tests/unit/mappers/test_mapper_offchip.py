"""The off-chip traffic priced into a mapping problem (meshc/mappers/offchip.py), by hand."""

from __future__ import annotations

from mapper_builders import OpSpec, machine, problem

from meshc.mappers.offchip import OpMemory, price_offchip

CORES = ((0, 0), (0, 1))  # sram 10_000 B each; every op's tile works in 1_024 B
# an op's tiles spread from (0, 0), the busiest core, where the rule counts (offchip.py)


def _price(specs: list[OpSpec], edges: list[tuple[int, int, int]], memory: list[OpMemory],
           *, hbm: float = 16.0, resident: dict[tuple[int, int], int] | None = None):
    m = machine(1, 2, sram=10_000, hbm=hbm)
    p = problem(m, specs, edges, {"all": CORES})
    ops, out = price_offchip(p.ops, p.edges, memory, m, p.regions, resident or {})
    return [(o.hbm_read_bytes, o.hbm_write_bytes) for o in ops], {(e.src, e.dst): e.bytes
                                                                  for e in out}


def test_nothing_is_added_without_off_chip_memory() -> None:
    traffic, edges = _price([OpSpec(1, 10)] * 2, [(0, 1, 64)],
                            [OpMemory(home_bytes=50_000, args=((0, 100),)),
                             OpMemory(home_bytes=10, is_output=True)], hbm=0.0)
    assert traffic == [(0, 0), (0, 0)] and edges == {(0, 1): 64}


def test_a_shared_input_is_read_once_and_passed_on_by_its_first_reader() -> None:
    memory = [OpMemory(home_bytes=0, args=((0, 1_000),)), OpMemory(home_bytes=0, args=((0, 1_000),)),
              OpMemory(home_bytes=0, args=((0, 1_000), (1, 7)))]
    traffic, edges = _price([OpSpec(1, 10)] * 3, [(0, 1, 64)], memory)
    assert traffic == [(1_000, 0), (0, 0), (7, 0)]  # input 1 has one reader: it reads it
    assert edges == {(0, 1): 1_064, (0, 2): 1_000}


def test_a_phase_output_is_written_off_chip() -> None:
    traffic, _ = _price([OpSpec(1, 10)], [], [OpMemory(home_bytes=500, is_output=True)])
    assert traffic == [(0, 500)]


def test_a_result_that_cannot_stay_on_its_region_goes_off_chip_and_comes_back() -> None:
    # 30_000 B over 2 tiles on 2 cores: 15_000 B a core > 10_000 - 1_024 of room
    specs = [OpSpec(2, 10), OpSpec(1, 10, hbm=5), OpSpec(1, 10)]
    traffic, edges = _price(specs, [(0, 1, 30_000), (0, 2, 30_000)],
                            [OpMemory(home_bytes=30_000)] + [OpMemory(home_bytes=0)] * 2)
    assert traffic == [(0, 30_000), (5 + 30_000, 0), (30_000, 0)]
    assert edges == {(0, 1): 0, (0, 2): 0}  # read back from off chip, not over the NoC


def test_results_used_furthest_ahead_leave_when_the_core_is_full() -> None:
    # every op spreads 2 tiles from the region's first core, which holds half of each
    # result: three 4_000 B halves live until op 3 do not fit its 10_000 B, so at op 2's end
    # one leaves: all are next used by op 3, so the first produced (ties: lowest id)
    specs = [OpSpec(2, 10)] * 3 + [OpSpec(1, 10)]
    edges = [(0, 3, 8_000), (1, 3, 8_000), (2, 3, 8_000)]
    memory = [OpMemory(home_bytes=8_000)] * 3 + [OpMemory(home_bytes=0)]
    traffic, out = _price(specs, edges, memory)
    assert traffic == [(0, 8_000), (0, 0), (0, 0), (8_000, 0)]
    assert out == {(0, 3): 0, (1, 3): 8_000, (2, 3): 8_000}


def test_resident_weights_take_their_room_first() -> None:
    # two results' halves (4_250 B each) and op 2's tile fit the first core's 10_000 B, but
    # not beside its 2_000 B of resident weights
    specs = [OpSpec(2, 10), OpSpec(2, 10), OpSpec(1, 10)]
    edges = [(0, 2, 8_500), (1, 2, 8_500)]
    memory = [OpMemory(home_bytes=8_500)] * 2 + [OpMemory(home_bytes=0)]
    assert _price(specs, edges, memory)[0] == [(0, 0)] * 3
    traffic, _ = _price(specs, edges, memory, resident={(0, 0): 2_000, (0, 1): 2_000})
    assert traffic == [(0, 8_500), (0, 0), (8_500, 0)]


def test_an_input_pushed_out_by_its_readers_working_set_is_read_back() -> None:
    # op 2's tile needs 1_024 B beside its inputs' halves (4_750 + 4_500 B) on the first
    # core: nothing else can go, so one of its inputs leaves (ties: lowest id) and op 2
    # reads it back from off chip
    specs = [OpSpec(2, 10)] * 3
    edges = [(0, 2, 9_500), (1, 2, 9_000)]
    memory = [OpMemory(home_bytes=9_500), OpMemory(home_bytes=9_000), OpMemory(home_bytes=0)]
    traffic, out = _price(specs, edges, memory)
    assert traffic == [(0, 9_500), (0, 0), (9_500, 0)]
    assert out == {(0, 2): 0, (1, 2): 9_000}


def test_results_that_fit_stay_and_cross_the_noc() -> None:
    traffic, edges = _price([OpSpec(1, 10)] * 2, [(0, 1, 8)], [OpMemory(home_bytes=8)] * 2)
    assert traffic == [(0, 0), (0, 0)] and edges == {(0, 1): 8}


def test_spills_are_marked_apart_from_inputs_and_outputs() -> None:
    # the physical HBM bound leaves the spills out (mappers/bounds.py): they are marked
    m = machine(1, 2, sram=10_000, hbm=16.0)
    p = problem(m, [OpSpec(2, 10)] * 2, [(0, 1, 30_000)], {"all": CORES})
    memory = [OpMemory(home_bytes=30_000, args=((0, 100),)), OpMemory(home_bytes=50,
                                                                       is_output=True)]
    ops, _ = price_offchip(p.ops, p.edges, memory, m, p.regions, {})
    assert [(o.hbm_bytes, o.spill_bytes) for o in ops] == [(100 + 30_000, 30_000),
                                                           (30_000 + 50, 30_000)]

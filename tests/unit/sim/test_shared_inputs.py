"""A phase input several ops read comes from off chip once: the first reader replayed brings it
on chip, it stays on that reader's cores until its last reader ends, and the others take it
over the NoC (or from the same core); where it does not fit, each reader reads it off chip."""

from __future__ import annotations

import pytest

from meshc.hardware import load_hardware
from meshc.hardware.tile_energy import offchip_pj_per_byte
from meshc.sim.model import SimOp
from meshc.sim.replay import simulate

HW = load_hardware("mesh-2x2")  # 512 KiB per core; ports (0,0), (1,0) at 32 B/cycle; links 32 B/cycle
KIB = 1024


def reader(name: str, start: int, core: tuple[int, int], n_bytes: int) -> SimOp:
    """One vector tile of 100 cycles (1600 ops on 16 lanes) with a 64 KiB working set,
    reading phase input 0 (`n_bytes`)."""
    work = {"macs": 0, "vector_ops": 1600, "transcendental_ops": 0, "in_bytes": 0,
            "weight_bytes": 0, "out_bytes": 0, "sram_bytes": 64 * KIB}
    return SimOp(name=name, op_class="activation", kind="vector", layer=0, block="mlp",
                 region="shared", precision="bf16", n_tiles=1, tile_shape=(1, 1, 1),
                 tile_work=work, padded_macs=0, hbm_read_bytes=0, hbm_write_bytes=0,
                 rect=(*core, *core), planned_start_cycles=start, planned_end_cycles=start + 1,
                 args=((0, n_bytes),))


def test_an_input_read_by_three_ops_is_read_off_chip_once() -> None:
    n = 64 * KIB
    ops = [reader("a", 0, (0, 1), n), reader("b", 1, (1, 1), n), reader("c", 2, (0, 1), n)]
    sim = simulate(ops, [], HW)
    a, b, c = sim.ops
    assert (a.input_read_bytes, b.input_read_bytes, c.input_read_bytes) == (n, 0, 0)
    # a: 65,536 B over two 32 B/cycle ports = 1,024 cycles, longer than its 100-cycle tile
    assert (a.start_s, a.end_s) == pytest.approx((0, 1024e-9))
    # b: from a's core (0,1) to (1,1), one hop: 65,536 / 32 = 2,048 cycles + 1 router cycle
    assert (b.start_s, b.end_s) == pytest.approx((3073e-9, 3173e-9))
    # c runs on a's core: the input is already there
    assert (c.start_s, c.end_s) == pytest.approx((1024e-9, 1124e-9))
    assert sim.latency_s == pytest.approx(3173e-9)
    # the input lives on (0,1) from a's end until b's: with c's working set, 128 KiB
    assert sim.sram_peak_bytes["0,1"] == n + 64 * KIB
    assert sim.sram_peak_bytes["1,1"] == 64 * KIB
    hrd, _ = offchip_pj_per_byte(HW)
    assert sim.energy_breakdown_pj["hbm"] == pytest.approx(n * hrd)
    # NoC: each port's half to (0,1), 1 and 2 hops, then a's copy to b, 1 hop
    hop = HW.noc.pj_per_byte_hop
    assert sim.energy_breakdown_pj["noc"] == pytest.approx((n / 2 * (1 + 2) + n) * hop)
    assert [(t.src_op, t.dst_op, t.bytes, t.hops) for t in sim.transfers] == [("a", "b", n, 1)]


def test_an_input_too_big_to_stay_is_read_off_chip_by_every_reader() -> None:
    n = 600 * KIB  # more than a core's 512 KiB: it never has a home on chip
    ops = [reader("a", 0, (0, 1), n), reader("b", 1, (1, 1), n), reader("c", 2, (0, 1), n)]
    sim = simulate(ops, [], HW)
    assert [o.input_read_bytes for o in sim.ops] == [n, n, n]
    assert sum(o.spill_write_bytes for o in sim.ops) == 0  # it is off chip already
    assert not sim.transfers
    assert max(sim.sram_peak_bytes.values()) == 64 * KIB


def test_without_offchip_memory_inputs_stay_free() -> None:
    hw = load_hardware("cerebras-like")  # no HBM: the phase's inputs are nowhere, as before
    ops = [reader("a", 0, (0, 0), 1000), reader("b", 1, (0, 1), 1000)]
    ops = [SimOp(**{**o.__dict__, "tile_work": {**o.tile_work, "sram_bytes": 1000}}) for o in ops]
    sim = simulate(ops, [], hw)
    assert [o.input_read_bytes for o in sim.ops] == [0, 0] and not sim.transfers

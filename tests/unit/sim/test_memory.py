"""Every value has a home: SRAM occupancy per core, spills off chip, phase inputs and outputs."""

from __future__ import annotations

from functools import cache

import pytest

from meshc.driver import CompileOptions, compile_model
from meshc.errors import MeshcError
from meshc.frontends import ModelRequest
from meshc.frontends.transformer import Shape
from meshc.hardware import load_hardware
from meshc.hardware.tile_energy import offchip_pj_per_byte, sram_pj_per_byte
from meshc.result import PhaseResult
from meshc.sim.memory import peak_of
from meshc.sim.model import SimEdge, SimOp
from meshc.sim.replay import simulate

HW = load_hardware("mesh-2x2")  # 512 KiB per core; 2 ports (0,0), (1,0) at 32 B/cycle each
KIB = 1024


def op(name: str, start: int, out: int = 0, ws: int = 64 * KIB, core: tuple[int, int] = (0, 1),
       **kw: object) -> SimOp:
    """One vector tile of 100 cycles (1600 ops on 16 lanes) on one core."""
    work = {"macs": 0, "vector_ops": 1600, "transcendental_ops": 0, "in_bytes": 0,
            "weight_bytes": 0, "out_bytes": 0, "sram_bytes": ws}
    return SimOp(name=name, op_class="activation", kind="vector", layer=0, block="mlp",
                 region="shared", precision="bf16", n_tiles=1, tile_shape=(1, 1, 1),
                 tile_work=work, padded_macs=0, hbm_read_bytes=0, hbm_write_bytes=0,
                 rect=(*core, *core), planned_start_cycles=start, planned_end_cycles=start + 1,
                 out_bytes=out, **kw)  # type: ignore[arg-type]


def test_peak_of_intervals() -> None:
    assert peak_of([]) == 0
    assert peak_of([(0, 10, 5), (5, 15, 7), (10, 20, 1)]) == 12  # [5, 10): 5 + 7
    assert peak_of([(0, 10, 5), (10, 20, 6)]) == 6  # half open: one ends as the next starts


def test_a_value_lives_on_its_producer_until_its_last_consumer_ends() -> None:
    # a (300 KiB out) -> b (100 KiB out) -> c, and a -> c: a's output is held through b
    ops = [op("a", 0, out=300 * KIB), op("b", 1, out=100 * KIB), op("c", 2)]
    edges = [SimEdge(0, 1, 300 * KIB), SimEdge(0, 2, 300 * KIB), SimEdge(1, 2, 100 * KIB)]
    sim = simulate(ops, edges, HW)
    # during b: a's 300 + b's working set 64; after b: 300 + 100; during c: 400 + 64
    assert sim.sram_peak_bytes["0,1"] == (300 + 100 + 64) * KIB
    assert sim.sram_peak_bytes["0,0"] == 0
    assert sum(o.spill_write_bytes for o in sim.ops) == 0
    assert sim.latency_s == pytest.approx(300e-9)  # three 100-cycle tiles on one core


def test_the_value_used_last_is_spilled_and_read_back() -> None:
    # a and b each leave 300 KiB on a 512 KiB core; a is read by d, planned after c
    ops = [op("a", 0, out=300 * KIB), op("b", 1, out=300 * KIB), op("c", 2), op("d", 3)]
    edges = [SimEdge(0, 3, 300 * KIB), SimEdge(1, 2, 300 * KIB)]
    sim = simulate(ops, edges, HW)
    a, b, c, d = sim.ops
    assert (a.spill_write_bytes, b.spill_write_bytes) == (300 * KIB, 0)
    assert (c.spill_read_bytes, d.spill_read_bytes) == (0, 300 * KIB)
    # a's copy: 307,200 B over 64 B/cycle, streamed from a's start (0) = 4,800 cycles; b's
    # output needs that room, so b ends at 4,800, c at 4,900; d reads a back (4,800 cycles)
    assert b.end_s == pytest.approx(4800e-9)
    assert d.end_s == pytest.approx((4900 + 4800) * 1e-9)
    cap = HW.core_types["core"].sram_bytes
    assert max(sim.sram_peak_bytes.values()) <= cap
    assert sim.sram_peak_bytes["0,1"] == (300 + 64) * KIB  # during b: a still there
    # spill energy: written (SRAM read + off-chip write) and read back (off-chip read +
    # SRAM write), plus the NoC from the ports (0,0) and (1,0) to (0,1): 1 and 2 hops
    rd, wr = sram_pj_per_byte(HW.core_types["core"], HW)
    hrd, hwr = offchip_pj_per_byte(HW)
    n = 300 * KIB
    noc = 2 * (n / 2) * (1 + 2) * HW.noc.pj_per_byte_hop
    assert a.spill_energy_pj + d.spill_energy_pj == pytest.approx(
        n * (rd + hwr) + n * (hrd + wr) + noc)


def test_an_output_too_big_for_its_core_streams_out_as_produced() -> None:
    ops = [op("a", 0, out=600 * KIB), op("b", 1)]
    sim = simulate(ops, [SimEdge(0, 1, 600 * KIB)], HW)
    a, b = sim.ops
    assert a.spill_write_bytes == b.spill_read_bytes == 600 * KIB
    assert a.end_s == pytest.approx(600 * KIB / 64 * 1e-9)  # the write outlasts the tile
    assert sim.sram_peak_bytes["0,1"] == 64 * KIB


def test_inputs_start_and_outputs_end_off_chip() -> None:
    ops = [op("a", 0, out=6400, args=((0, 12800),), is_output=True)]
    sim = simulate(ops, [], HW)
    a = sim.ops[0]
    assert (a.input_read_bytes, a.output_write_bytes) == (12800, 6400)
    # 19,200 B over two 32 B/cycle ports: 300 cycles, longer than the 100-cycle tile
    assert sim.latency_s == pytest.approx(300e-9)
    hrd, hwr = offchip_pj_per_byte(HW)
    assert sim.energy_breakdown_pj["hbm"] == pytest.approx(12800 * hrd + 6400 * hwr)
    assert a.spill_write_bytes == 0


def test_resident_weights_hold_their_cores_for_the_whole_phase() -> None:
    two = op("w", 0, core=(0, 0), resident=(("L0.w", 200 * KIB),))
    two = SimOp(**{**two.__dict__, "rect": (0, 0, 0, 1), "n_tiles": 2})
    sim = simulate([two], [], HW)
    assert sim.sram_peak_bytes["0,0"] == sim.sram_peak_bytes["0,1"] == (100 + 64) * KIB
    assert sim.sram_peak_bytes["1,1"] == 0


def test_overflow_without_offchip_memory_names_the_core() -> None:
    hw = load_hardware("cerebras-like")  # no HBM; 48,889 B per core
    ops = [op("a", 0, out=30_000, ws=1000, core=(0, 0)), op("b", 1, out=30_000, ws=1000,
                                                            core=(0, 0)), op("c", 2, core=(0, 0))]
    with pytest.raises(MeshcError, match=r"core 0,0 needs 60,000 B of SRAM .* has 48,889 B"):
        simulate(ops, [SimEdge(0, 2, 30_000), SimEdge(1, 2, 30_000)], hw)


@cache
def gpt2_prefill_2x2() -> PhaseResult:
    req = ModelRequest("gpt2", ("prefill",), Shape(batch=1, seq=128, kv_len=128))
    return compile_model(req, "mesh-2x2", CompileOptions(mapper="heft")).phase("prefill")


def test_a_model_that_spills_never_exceeds_any_core() -> None:
    p = gpt2_prefill_2x2()
    hw = load_hardware("mesh-2x2")
    cap = {f"{r},{c}": hw.core_types[t].sram_bytes for r, c, t in hw.cores}
    assert p.spilled_bytes > 0 and p.reloaded_bytes >= p.spilled_bytes
    assert all(p.sram_peak_bytes[k] <= cap[k] for k in cap)
    assert max(p.sram_peak_bytes.values()) > cap["0,0"] // 2  # occupancy, not one tile
    assert 0 < p.spill_energy_pj < p.energy_pj
    assert p.input_offchip_bytes == 2 * 128 * 4  # token ids and positions, int32
    assert p.output_offchip_bytes == 50257 * 2  # the last token's bf16 logits


def test_report_json_gives_the_memory_figures() -> None:
    from meshc.backends.report import memory_json

    p = gpt2_prefill_2x2()
    assert memory_json(p) == {
        "spilled_bytes": p.spilled_bytes, "reloaded_bytes": p.reloaded_bytes,
        "spill_energy_pj": p.spill_energy_pj, "input_offchip_bytes": 1024,
        "output_offchip_bytes": 100514}

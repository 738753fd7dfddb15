"""meshc against Stream 2.1.1 (fixtures/stream.json) on the twins of its machines,
stream_tpu_like_quad_core.yaml and stream_simba.yaml, and its workloads (stream/*.onnx).

meshc compiles cold runs (CompileOptions(cold=True)): Stream starts every weight in DRAM.
Issue 12's goal is latency and energy within 1.5x of Stream's on every row; docs/fidelity.md
gives the table and the reasons for the two figures it misses (NOT_YET). Asserted: the twins are
the fixture's machines, the MAC counts are Stream's, Stream's DRAM port carries the workload's
inputs, weights and outputs, every other ratio is within 1.5x, and the meshc / Stream ratios lie
in the bands measured when the table was written (BANDS), so a change that moves them fails
here and the docs get updated.
Latency is compared in cycles (the twins' 1 GHz clock)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from peer_fixtures import load_fixture

from meshc.hardware import load_hardware

sys.path.insert(0, str(Path(__file__).parent / "stream"))
from meshc_twins import CLOCK_HZ, TWINS, meshc_row

FIXTURE = load_fixture("stream")
ROWS = {(r["machine"].removesuffix(".yaml"), r["workload"]): r for r in FIXTURE["rows"]}
IDS = [f"{m}-{w}" for m, w in ROWS]

# (latency, energy, DRAM bytes) meshc / Stream per row as measured (docs/fidelity.md), each
# asserted within TOL of its value: meshc's simulator and mapper are still changing (issue 12).
BANDS: dict[tuple[str, str], tuple[float, float, float]] = {
    ("tpu_like_quad_core", "attention_head"): (1.098, 1.002, 1.135),
    ("tpu_like_quad_core", "mha"): (0.640, 0.686, 0.692),
    ("tpu_like_quad_core", "swiglu"): (1.020, 0.952, 1.000),
    ("tpu_like_quad_core", "attention_mlp"): (0.807, 0.597, 0.771),
    ("simba", "attention_head"): (1.089, 1.097, 1.135),
    ("simba", "mha"): (0.801, 0.797, 0.828),
    ("simba", "swiglu"): (0.957, 0.668, 1.000),
    ("simba", "attention_mlp"): (1.006, 0.954, 1.069),
}
TOL = 0.15  # relative
GOAL = 1.5
# docs/fidelity.md: the energy of the TPU-like attention + MLP (LOMA's mappings of its small
# GEMMs re-read weight registers and partial sums in SRAM that meshc's one mapping per
# dataflow does not) and the latency of the TPU-like MHA (both port-bound: Stream's tiling
# moves 1.44x the bytes meshc reads once)
NOT_YET = {(("tpu_like_quad_core", "attention_mlp"), "energy"),
           (("tpu_like_quad_core", "mha"), "latency")}


def _core(machine: str, name: str) -> dict[str, Any]:
    files = FIXTURE["machines"][f"{machine}.yaml"]["core_files"]
    return next(f["parsed"] for k, f in files.items() if Path(k).name == name)


@pytest.mark.parametrize(("machine", "core", "kind", "sram", "offchip"), [
    ("tpu_like_quad_core", "tpu_like.yaml", "tpu", "sram_2MB", "offchip.yaml"),
    ("simba", "simba_chiplet.yaml", "chiplet", "global_buffer", "simba_offchip.yaml"),
])
def test_the_twin_is_the_fixture_machine(machine: str, core: str, kind: str, sram: str,
                                          offchip: str) -> None:
    hw = load_hardware(str(TWINS[f"{machine}.yaml"]))
    fx, top = _core(machine, core), FIXTURE["machines"][f"{machine}.yaml"]["parsed"]
    ct = hw.core_types[kind]
    macs = 1
    for s in fx["operational_array"]["sizes"]:
        macs *= s
    assert ct.array_rows * ct.array_cols == macs == ct.macs_per_cycle["bf16"]
    assert set(hw.energy.pj_per_mac.values()) >= {fx["operational_array"]["unit_energy"]}
    n_compute = sum(1 for f in top["cores"].values() if Path(f).name == core)
    assert hw.core_counts[kind] == n_compute
    mem = fx["memories"][sram]
    port_bytes = mem["ports"][0]["bandwidth_max"] / 8
    assert ct.sram_bytes * 8 == mem["size"]
    assert ct.sram_bytes_per_cycle == port_bytes
    assert ct.energy.sram_read_pj_per_byte == pytest.approx(mem["r_cost"] / port_bytes)
    assert ct.energy.sram_write_pj_per_byte == pytest.approx(mem["w_cost"] / port_bytes)
    reg = ct.energy.weight_register
    wreg = next(m for m in fx["memories"].values() if m["operands"] == ["I2"] and not m["served_dimensions"])
    assert reg is not None and (reg.bytes * 8, reg.read_pj, reg.write_pj) == (
        wreg["size"], wreg["r_cost"], wreg["w_cost"])
    buffers = {"input_buffer": ct.energy.input_buffer, "weight_buffer": ct.energy.weight_buffer,
               "accumulation_buffer": ct.energy.accumulation_buffer}
    for name, buf in buffers.items():  # simba's per-PE buffers; the TPU-like core has none
        if name not in fx["memories"]:
            assert buf is None
            continue
        m = fx["memories"][name]
        assert buf is not None and (buf.bytes * 8, buf.read_pj, buf.write_pj, buf.word_bits) == (
            m["size"], m["r_cost"], m["w_cost"], m["ports"][0]["bandwidth_max"])
    dram = _core(machine, offchip)["memories"]["dram"]
    (stack,) = hw.hbm_stacks
    bits = dram["ports"][0]["bandwidth_max"]
    assert stack.bytes_per_s == bits * CLOCK_HZ / 8
    assert stack.pj_per_bit == pytest.approx(dram["r_cost"] / bits) == pytest.approx(dram["w_cost"] / bits)
    links = {c["bandwidth"] for c in top["core_connectivity"] if c["type"] == "link"
             and top["offchip_core_id"] not in c["cores"]}
    assert {hw.noc.link_bytes_per_cycle * 8} == links
    assert hw.noc.pj_per_byte_hop == top["unit_energy_cost"] == 0


@pytest.mark.parametrize("key", ROWS, ids=IDS)
def test_macs_are_streams_operation_counts(key: tuple[str, str]) -> None:
    r = meshc_row(ROWS[key])
    assert r.macs == r.stream_macs


@pytest.mark.parametrize("key", ROWS, ids=IDS)
def test_mac_energy_is_streams_unit_energy_per_operation(key: tuple[str, str]) -> None:
    # both twins' arrays price a MAC at their operational_array unit_energy (0.04 pJ)
    r = meshc_row(ROWS[key])
    assert r.mac_pj == pytest.approx(r.stream_macs * 0.04, rel=1e-9)


@pytest.mark.parametrize("key", ROWS, ids=IDS)
def test_streams_dram_port_carries_inputs_weights_and_outputs(key: tuple[str, str]) -> None:
    # Stream starts every input and weight in DRAM: its port moves 0.88-1.44x of the
    # workload's inputs + weights + outputs (MHA re-fetches; the attention head keeps some
    # of its output on chip). meshc's port must carry the same once it streams them.
    r = meshc_row(ROWS[key])
    assert 0.85 < r.stream_dram_bytes / r.offchip_bytes < 1.6


@pytest.mark.parametrize("key", ROWS, ids=IDS)
def test_meshc_reads_every_input_once(key: tuple[str, str]) -> None:
    # a cold run, as Stream's: meshc's port moves the inputs, weights (graph inputs, or
    # SwiGLU's initializers resident in SRAM, loaded once) and outputs once each (the
    # attention's I feeds Q, K and V), up to the rounding of each port's share of each load
    r = meshc_row(ROWS[key])
    assert r.hbm_bytes == pytest.approx(r.offchip_bytes, abs=8, rel=1e-4)


@pytest.mark.parametrize("key", ROWS, ids=IDS)
def test_ratios_lie_in_the_measured_bands(key: tuple[str, str]) -> None:
    r = meshc_row(ROWS[key])
    latency, energy, dram = BANDS[key]
    assert r.latency_ratio == pytest.approx(latency, rel=TOL)
    assert r.energy_ratio == pytest.approx(energy, rel=TOL)
    assert r.hbm_bytes / r.stream_dram_bytes == pytest.approx(dram, rel=TOL, abs=0.02)


@pytest.mark.parametrize("key", ROWS, ids=IDS)
def test_within_the_goal_of_streams_figures(key: tuple[str, str]) -> None:
    r = meshc_row(ROWS[key])
    for what, ratio in (("latency", r.latency_ratio), ("energy", r.energy_ratio)):
        if (key, what) not in NOT_YET:
            assert 1 / GOAL <= ratio <= GOAL, f"{what} {ratio:.3f}x"

"""`meshc hw cost`'s energy by memory level against ZigZag 3.9.1 (fixtures/zigzag.json) on
the twin of its TPU-like 128x128 core, zigzag_tpu_like_128x128.yaml.

ZigZag charges word accesses x pJ per access per level (README section 2). meshc's levels
map onto its memories: reg_weight -> rf_128B, reg_accumulator -> rf_2B, sram -> sram_2MB,
hbm -> dram. The goal of issue 12: the 512x4096x4096 int8 GEMM within 10% in total and 20%
per level. meshc has no int16, so the 16-bit row runs at bf16, which the twin prices as
ZigZag does (0.04 pJ per MAC, 16-bit words)."""

from __future__ import annotations

import pytest
from peer_fixtures import ZIGZAG_TWIN as TWIN
from peer_fixtures import load_fixture, meshc_levels, zigzag_levels

from meshc.hardware import load_hardware

FIXTURE = load_fixture("zigzag")
ROWS = {c["name"]: c for c in FIXTURE["cases"]}


def test_the_twin_is_the_fixture_core() -> None:
    zz = FIXTURE["hardware"]["tpu_like_128"]["as_used_by_zigzag"]
    lv = {m["name"]: m for m in zz["memory_levels_bottom_up"]}
    hw = load_hardware(str(TWIN))
    ct = hw.core_types["tpu"]
    assert (ct.array_rows, ct.array_cols) == (zz["array_dims"]["D1"], zz["array_dims"]["D2"])
    assert set(hw.energy.pj_per_mac.values()) >= {zz["mac_pj"]}
    assert not hw.energy_spec.mac_includes_accumulator
    for reg, name in ((ct.energy.weight_register, "rf_128B"), (ct.energy.accumulator, "rf_2B")):
        assert reg is not None
        assert (reg.bytes * 8, reg.read_pj, reg.write_pj) == (
            lv[name]["size_bits"], lv[name]["read_pj_per_access"], lv[name]["write_pj_per_access"])
        assert reg.word_bits == lv[name]["ports"][0]["bw_max_bits"]
    sram, port = lv["sram_2MB"], lv["sram_2MB"]["ports"][0]["bw_max_bits"] // 8
    assert ct.sram_bytes * 8 == sram["size_bits"]
    assert ct.energy.sram_read_pj_per_byte == pytest.approx(sram["read_pj_per_access"] / port)
    assert ct.energy.sram_write_pj_per_byte == pytest.approx(sram["write_pj_per_access"] / port)
    dram, stack = lv["dram"], hw.hbm_stacks[0]
    word = dram["ports"][0]["bw_max_bits"]
    assert stack.pj_per_bit == pytest.approx(dram["read_pj_per_access"] / word)
    assert stack.write_pj == pytest.approx(dram["write_pj_per_access"] / word)


@pytest.mark.parametrize("name", ["gemm_512x4096x4096_int8", "gemm_512x4096x4096_int16"])
def test_512x4096x4096_total_within_10_percent_and_each_level_within_20(name: str) -> None:
    ours, theirs = meshc_levels(ROWS[name]), zigzag_levels(ROWS[name])
    assert ours["total"] == pytest.approx(theirs["total"], rel=0.10)
    for level in ("mac", "rf_128B", "rf_2B", "sram_2MB", "dram"):
        assert ours[level] == pytest.approx(theirs[level], rel=0.20), level


def test_main_row_mac_and_registers_count_as_zigzag_does() -> None:
    # 2^33 MACs at 0.04 pJ; the accumulator 4 accesses per MAC at 0.021 pJ; each weight
    # written into its PE once and read once (re-reading an unchanged word is free)
    ours, theirs = meshc_levels(ROWS["gemm_512x4096x4096_int8"]), zigzag_levels(
        ROWS["gemm_512x4096x4096_int8"])
    for level in ("mac", "rf_128B", "rf_2B"):
        assert ours[level] == pytest.approx(theirs[level], rel=1e-6), level


def test_gemv_total_within_10_percent() -> None:
    # The weights' DRAM reads are 99.7% of ZigZag's total. Per level meshc differs: its
    # weights pass through the SRAM (ZigZag's go from DRAM straight to the PE registers,
    # 0.2 uJ of SRAM against meshc's 53), and LOMA's mapping for M = 1 charges the
    # accumulator 2 accesses per MAC, not 4 (docs/fidelity.md).
    row = ROWS["gemv_1x4096x4096_int8"]
    ours, theirs = meshc_levels(row), zigzag_levels(row)
    assert ours["total"] == pytest.approx(theirs["total"], rel=0.10)
    assert ours["dram"] == pytest.approx(theirs["dram"], rel=0.01)

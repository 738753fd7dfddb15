"""Energy by memory level (hardware/tile_energy.py) on cases worked by hand."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from meshc.errors import MeshcError
from meshc.hardware import CoreType, Hardware, validate_hardware
from meshc.hardware.cost import gemm_energy_pj, gemm_sram_bytes
from meshc.hardware.load import preset_path
from meshc.hardware.tile_energy import (
    components,
    gemm_energy_by_level,
    gemm_offchip_bytes,
    gemm_sram_traffic,
    offchip_pj_per_byte,
    stream_energy_by_level,
)
from meshc.inputs import parse_yaml

REGS = {"weight_register": {"bytes": 4, "read_pj": 0.1, "write_pj": 0.2, "word_bits": 8},
        "input_register": {"bytes": 2, "read_pj": 0.01, "write_pj": 0.02, "word_bits": 16},
        "accumulator": {"bytes": 4, "read_pj": 0.03, "write_pj": 0.05, "word_bits": 32},
        "sram_read_pj_per_byte": 1.0, "sram_write_pj_per_byte": 2.0}


def spec() -> dict[str, Any]:
    """mesh-4x4 as a schema-1 file (no core energy blocks, the default accumulator rule):
    each test adds the energies it checks."""
    path = preset_path("mesh-4x4")
    s: dict[str, Any] = parse_yaml(path.read_text(), str(path))
    for ct in s["core_types"].values():
        ct.pop("energy", None)
    s["energy"].pop("mac_includes_accumulator", None)
    return s


def with_registers() -> Hardware:
    s = spec()
    for ct in s["core_types"].values():
        ct["energy"] = copy.deepcopy(REGS)
    s["energy"]["mac_includes_accumulator"] = False
    return validate_hardware(s)


def test_schema_1_files_charge_no_registers_and_one_sram_figure() -> None:
    hw = validate_hardware(spec())  # WS 16x16, 7 nm: 1.0625 pJ/B at the 32 KiB macro
    lv = gemm_energy_by_level(4, 32, 16, hw.core_types["mlp"], "bf16", hw)
    assert float(lv["reg_weight"] + lv["reg_input"] + lv["reg_accumulator"]) == 0
    r, w = gemm_sram_traffic(4, 32, 16, hw.core_types["mlp"], "bf16")
    assert float(lv["sram_read"]) == pytest.approx(float(r) * 1.0625)
    assert float(lv["sram_write"]) == pytest.approx(float(w) * 1.0625)


def test_weight_stationary_levels() -> None:
    hw = with_registers()
    lv = gemm_energy_by_level(4, 32, 16, hw.core_types["mlp"], "bf16", hw)
    assert float(lv["mac"]) == pytest.approx(2048 * 0.32)  # 4*32*16 MACs at 7 nm bf16
    # B held: 512 weights loaded, each one write and one read of 2 words (16 bits, 8-bit port)
    assert float(lv["reg_weight"]) == pytest.approx(512 * 2 * (0.2 + 0.1))  # 307.2
    # A moves: a write and a read per MAC, one 16-bit word each
    assert float(lv["reg_input"]) == pytest.approx(2048 * (0.02 + 0.01))  # 61.44
    # partial sums flow through: 2 writes and 2 reads per MAC, a 16-bit sum in a 32-bit word
    assert float(lv["reg_accumulator"]) == pytest.approx(2048 * 2 * (0.05 + 0.03))  # 327.68
    # 2 folds over k, 1 over n: A 128 el, B 512, C 64 read back; C 128 written; 2 B each
    assert float(lv["sram_read"]) == pytest.approx((128 + 512 + 64) * 2 * 1.0)
    assert float(lv["sram_write"]) == pytest.approx(128 * 2 * 2.0)
    r, w = gemm_sram_traffic(4, 32, 16, hw.core_types["mlp"], "bf16")
    assert float(r + w) == float(gemm_sram_bytes(4, 32, 16, hw.core_types["mlp"], "bf16"))


def test_output_stationary_registers() -> None:
    hw = with_registers()  # attention: 8x8 output stationary
    lv = gemm_energy_by_level(8, 4, 8, hw.core_types["attention"], "int8", hw)
    assert float(lv["reg_weight"]) == pytest.approx(256 * (0.2 + 0.1))  # B moves: per MAC
    assert float(lv["reg_input"]) == pytest.approx(256 * (0.02 + 0.01))  # 8 bits: 1 word
    # sums stay: a write and a read per MAC, then one read per output drained (64)
    assert float(lv["reg_accumulator"]) == pytest.approx(256 * 0.05 + (256 + 64) * 0.03)


def test_tiles_macs_and_offchip_bytes() -> None:
    hw = with_registers()
    mlp = hw.core_types["mlp"]
    one = gemm_energy_by_level(4, 32, 16, mlp, "bf16", hw)
    three = gemm_energy_by_level(4, 32, 16, mlp, "bf16", hw, tiles=3, macs=5000,
                                 offchip_read_bytes=100, offchip_write_bytes=10)
    assert float(three["mac"]) == pytest.approx(5000 * 0.32)
    assert float(three["reg_weight"]) == pytest.approx(3 * float(one["reg_weight"]))
    rd, wr = offchip_pj_per_byte(hw)
    assert (rd, wr) == pytest.approx((8 * 3.97, 8 * 3.97))  # mesh-4x4: HBM2 3.97 pJ/bit
    assert float(three["hbm_read"]) == pytest.approx(100 * rd)
    assert float(three["hbm_write"]) == pytest.approx(10 * wr)
    # off-chip bytes land in SRAM (a write) and leave from it (a read)
    assert float(three["sram_write"]) == pytest.approx(3 * float(one["sram_write"]) + 100 * 2.0)
    assert float(three["sram_read"]) == pytest.approx(3 * float(one["sram_read"]) + 10 * 1.0)
    s = stream_energy_by_level(30, 20, mlp, hw, offchip_read_bytes=5)
    assert float(s["sram_read"]) == 30.0 and float(s["sram_write"]) == (20 + 5) * 2.0
    assert set(components(three)) == {"mac", "reg", "sram", "hbm"}
    assert set(gemm_energy_pj(4, 32, 16, mlp, "bf16", hw)) == {"mac", "reg", "sram"}


def test_offchip_bytes_reread_what_does_not_fit() -> None:
    ws = CoreType(array_rows=8, array_cols=8, dataflow="weight_stationary",
                  macs_per_cycle={"int8": 64}, vector_lanes=1, transcendental_per_cycle=1,
                  sram_bytes=4096, sram_bytes_per_cycle=64, clock_hz=1e9)
    # fits: A 16 + B 16 read, C 4x4 at 16 bits written
    r, w = gemm_offchip_bytes(4, 4, 4, ws, "int8")
    assert (float(r), float(w)) == (32, 32)
    # 64^3 int8: A 4096 B does not fit 4096 B; slices 2 * (64*8 + 8*8) = 1152 B leave 2944,
    # i.e. 2 column folds of 64x8 partial sums (1024 B each): A read ceil(8 / 2) = 4 times
    r, w = gemm_offchip_bytes(64, 64, 64, ws, "int8")
    assert (float(r), float(w)) == (4 * 4096 + 4096, 64 * 64 * 2)


@pytest.mark.parametrize(("included", "give", "words"), [
    (True, True, "charged twice"),
    (False, False, "missing"),
])
def test_mac_and_accumulator_are_charged_exactly_once(included: bool, give: bool,
                                                      words: str) -> None:
    s = spec()
    s["energy"]["mac_includes_accumulator"] = included
    if give:
        s["core_types"]["mlp"]["energy"] = {"accumulator": REGS["accumulator"]}
    with pytest.raises(MeshcError) as e:
        validate_hardware(s)
    assert "core_types." in str(e.value) and words in str(e.value)


def test_a_word_wider_than_its_register_is_refused() -> None:
    s = spec()
    s["core_types"]["mlp"]["energy"] = {"weight_register": dict(REGS["weight_register"],
                                                                word_bits=64)}
    with pytest.raises(MeshcError, match=r"weight_register\.word_bits"):
        validate_hardware(s)

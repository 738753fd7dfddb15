"""Every preset charges its per-PE registers (issue 12) by the one rule of docs/hardware.md,
"Register energies": a register access costs a fixed share of the node's int8 MAC."""

from __future__ import annotations

from typing import Any

import pytest

from meshc.commands.hw import gemm_report
from meshc.hardware import Hardware, load_hardware, preset_names, validate_hardware
from meshc.hardware.load import preset_path
from meshc.hardware.precision import precision_bits
from meshc.inputs import parse_yaml

# ZigZag 3.9.1's example hardware (edge_tpu_like.yaml, tesla_npu_like.yaml): an 8-bit rf_1B
# access costs 0.01 pJ and a 32-bit rf_4B access 0.022 pJ against its 0.04 pJ int8 MAC.
OPERAND_SHARE = 0.01 / 0.04
ACCUMULATOR_SHARE = 0.022 / 0.04
GEMM = (256, 512, 256)


def without_registers(name: str) -> Hardware:
    """The preset with its core energy blocks removed: the schema-1 model, no registers."""
    path = preset_path(name)
    s: dict[str, Any] = parse_yaml(path.read_text(), str(path))
    for ct in s["core_types"].values():
        ct.pop("energy", None)
    s["energy"].pop("mac_includes_accumulator", None)
    return validate_hardware(s)


@pytest.mark.parametrize("name", preset_names())
def test_every_array_core_has_its_registers_at_the_node_rule(name: str) -> None:
    hw = load_hardware(name)
    assert not hw.energy_spec.mac_includes_accumulator  # the MAC is a multiply plus an add
    int8 = hw.energy.pj_per_mac["int8"]
    for ct in hw.core_types.values():
        if not ct.can_gemm:
            continue
        widest = max(precision_bits(p) for p in ct.macs_per_cycle)
        e = ct.energy
        for reg, bits, share in ((e.weight_register, 8, OPERAND_SHARE),
                                 (e.input_register, 8, OPERAND_SHARE),
                                 (e.accumulator, 32, ACCUMULATOR_SHARE)):
            assert reg is not None
            assert reg.word_bits == bits
            assert reg.read_pj == reg.write_pj == pytest.approx(share * int8, rel=1e-3)
        assert e.weight_register is not None and e.input_register is not None
        assert 8 * e.input_register.bytes >= widest
        assert 8 * e.weight_register.bytes >= widest * (2 if ct.double_buffered else 1)


@pytest.mark.parametrize("name", preset_names())
def test_registers_add_the_reg_level_of_hw_cost_and_nothing_else(name: str) -> None:
    hw = load_hardware(name)
    got = gemm_report(hw, GEMM, "bf16")
    bare = gemm_report(without_registers(name), GEMM, "bf16")
    lv, parts = got["energy_by_level_pj"], got["energy_breakdown_pj"]
    assert all(lv[r] > 0 for r in ("reg_weight", "reg_input", "reg_accumulator"))
    assert parts["reg"] == pytest.approx(lv["reg_weight"] + lv["reg_input"]
                                         + lv["reg_accumulator"])
    assert bare["energy_breakdown_pj"]["reg"] == 0
    assert got["cycles"] == bare["cycles"]  # energy only: latency does not move
    for c in ("mac", "sram", "hbm", "static"):
        assert parts[c] == bare["energy_breakdown_pj"][c]
    assert got["energy_pj"] - bare["energy_pj"] == pytest.approx(parts["reg"])


def test_tpu_v5e_registers_by_hand() -> None:
    # one 128x128x128 bf16 tile, weight stationary; 7 nm: int8 MAC 0.077, bf16 MAC 0.32 pJ
    r = gemm_report(load_hardware("tpu-v5e-like"), (128, 128, 128), "bf16", offchip=False)
    lv, macs = r["energy_by_level_pj"], 128**3
    op, acc = 0.25 * 0.077, 0.55 * 0.077  # 0.01925 and 0.04235 pJ per access
    assert lv["mac"] == pytest.approx(macs * 0.32)
    # 16384 weights loaded, each a write and a read of 2 bytes on an 8-bit port
    assert lv["reg_weight"] == pytest.approx(128 * 128 * 2 * 2 * op)  # 1261.6
    # A moves through: a write and a read of 2 bytes per MAC
    assert lv["reg_input"] == pytest.approx(macs * 2 * 2 * op)  # 161,481
    # sums flow down: 2 writes and 2 reads per MAC, a 16-bit sum in one 32-bit access
    assert lv["reg_accumulator"] == pytest.approx(macs * 4 * acc)  # 355,258

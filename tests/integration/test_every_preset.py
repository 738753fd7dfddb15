"""Every preset compiles a small model end to end (a regression guard: the simulator's
memory model once refused gpt2 on mesh-16x16 because resident weights were homed on one
op's rectangle instead of the region partition-attn-mlp sized them for)."""

from __future__ import annotations

import pytest

from meshc.driver import CompileOptions, compile_model
from meshc.frontends import ModelRequest
from meshc.frontends.transformer import Shape
from meshc.hardware import load_hardware, preset_names


@pytest.mark.parametrize("hw_name", preset_names())
def test_a_small_model_compiles_on_every_preset(hw_name: str) -> None:
    hw = load_hardware(hw_name)
    model = "gpt2" if hw.hbm_stacks else "minilm-l6"  # SRAM-only chips hold only the small one
    result = compile_model(ModelRequest(model, shape=Shape(1, 64, 64)), hw_name,
                           CompileOptions(mapper="heft"))
    assert result.phases
    capacity = {f"{r},{c}": hw.core_types[t].sram_bytes for r, c, t in hw.cores}
    for p in result.phases:
        assert p.latency_s > 0 and p.energy_pj > 0
        assert all(peak <= capacity[core] for core, peak in p.sram_peak_bytes.items())

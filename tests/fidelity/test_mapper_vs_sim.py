"""The mapper's predicted makespan and the simulated latency within 10% (issue 12).

Both price a transfer with the rule of meshc.hardware.transfers (the simulator adds the
contention between transfers), op durations with the same tile cycles, clocks, ports and
spreading rule. `bench/bench_fidelity.py mapper` prints every preset and model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meshc.driver import CompileOptions, compile_model
from meshc.frontends import ModelRequest

MESH_32 = str(Path(__file__).parent / "mesh-32x32.yaml")
GOAL = 0.10


def ratios(model: str, hw: str) -> dict[str, float]:
    """simulated / predicted per phase, HEFT mapping."""
    r = compile_model(ModelRequest(source=model), hw, CompileOptions(mapper="heft"))
    return {p.name: p.latency_s / p.mapper.makespan_s for p in r.phases}


@pytest.mark.parametrize("hw", ["mesh-4x4", "mesh-8x8", "tpu-v6e-like", "wormhole-n300-like"])
def test_gpt2_prediction_within_ten_percent(hw: str) -> None:
    got = ratios("gpt2", hw)
    assert set(got) == {"prefill", "decode"}
    assert all(abs(v - 1) <= GOAL for v in got.values()), got


@pytest.mark.slow
@pytest.mark.parametrize("model,hw", [("llama3-8b", "mesh-16x16"), ("llama3-8b", MESH_32)])
def test_large_meshes_within_ten_percent(model: str, hw: str) -> None:
    got = ratios(model, hw)
    assert all(abs(v - 1) <= GOAL for v in got.values()), got

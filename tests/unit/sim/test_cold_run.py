"""A cold run: resident weights start off chip; each (weight, home cores) is loaded once through
the ports before the first op that reads it, and every op that reads it waits for the load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from meshc.cli import main
from meshc.hardware import load_hardware
from meshc.hardware.tile_energy import offchip_pj_per_byte, sram_pj_per_byte
from meshc.sim.model import SimOp
from meshc.sim.replay import simulate

HW = load_hardware("mesh-2x2")  # ports (0,0), (1,0) at 32 B/cycle each; 1 GHz
KIB = 1024
SPEC = Path(__file__).parents[2] / "fixtures" / "spec" / "tiny-llama.yaml"


def op(name: str, start: int, core: tuple[int, int], weight: tuple[str, int]) -> SimOp:
    """One vector tile of 100 cycles (1600 ops on 16 lanes) keeping `weight` in SRAM."""
    work = {"macs": 0, "vector_ops": 1600, "transcendental_ops": 0, "in_bytes": 0,
            "weight_bytes": 0, "out_bytes": 0, "sram_bytes": 4 * KIB}
    return SimOp(name=name, op_class="activation", kind="vector", layer=0, block="mlp",
                 region="shared", precision="bf16", n_tiles=1, tile_shape=(1, 1, 1),
                 tile_work=work, padded_macs=0, hbm_read_bytes=0, hbm_write_bytes=0,
                 rect=(*core, *core), planned_start_cycles=start, planned_end_cycles=start + 1,
                 resident=(weight,))


OPS = [op("a", 0, (0, 1), ("w", 64 * KIB)), op("b", 1, (1, 1), ("v", 32 * KIB)),
       op("c", 2, (0, 1), ("w", 64 * KIB))]


def test_warm_run_loads_nothing() -> None:
    sim = simulate(OPS, [], HW)
    assert [t for o in sim.ops for t in (o.start_s, o.end_s)] == pytest.approx(
        [0, 100e-9, 0, 100e-9, 100e-9, 200e-9])
    assert not sim.hbm and sim.energy_breakdown_pj["hbm"] == 0


def test_cold_run_loads_each_weight_once_before_its_first_reader() -> None:
    sim = simulate(OPS, [], HW, cold=True)
    a, b, c = sim.ops
    assert (a.cold_load_bytes, b.cold_load_bytes, c.cold_load_bytes) == (64 * KIB, 32 * KIB, 0)
    # a: 64 KiB, half per port at 32 B/cycle = 1,024 cycles, then its 100-cycle tile
    assert (a.start_s, a.end_s) == pytest.approx((1024e-9, 1124e-9))
    # b: 16 KiB per port = 512 cycles, behind a's load on both ports
    assert (b.start_s, b.end_s) == pytest.approx((1536e-9, 1636e-9))
    # c reads w on the same core: loaded already, it only waits for a
    assert (c.start_s, c.end_s) == pytest.approx((1124e-9, 1224e-9))
    assert sum(h.read_bytes for h in sim.hbm) == 96 * KIB
    hrd, _ = offchip_pj_per_byte(HW)
    _, swr = sram_pj_per_byte(HW.core_types["core"], HW)
    warm = simulate(OPS, [], HW).energy_breakdown_pj
    assert sim.energy_breakdown_pj["hbm"] == pytest.approx(96 * KIB * hrd)
    assert sim.energy_breakdown_pj["sram"] - warm["sram"] == pytest.approx(96 * KIB * swr)
    # NoC: each port's half of w to (0,1) (1 and 2 hops), of v to (1,1) (2 and 1 hops)
    hop = HW.noc.pj_per_byte_hop
    assert sim.energy_breakdown_pj["noc"] == pytest.approx((32 * KIB * 3 + 16 * KIB * 3) * hop)


def test_cold_run_without_offchip_memory_has_nothing_to_load() -> None:
    hw = load_hardware("cerebras-like")  # no HBM
    ops = [op("a", 0, (0, 0), ("w", 4 * KIB))]
    cold, warm = simulate(ops, [], hw, cold=True), simulate(ops, [], hw)
    assert cold.ops[0].cold_load_bytes == 0
    assert cold.energy_breakdown_pj == warm.energy_breakdown_pj
    assert cold.latency_s == warm.latency_s


def test_cli_cold_run_loads_the_resident_weights(tmp_path: Path) -> None:
    args = ["compile", str(SPEC), "--hw", "mesh-4x4", "--phase", "prefill", "--seq", "32",
            "--kv-len", "32", "--mapper", "heft", "--backend", "report"]
    runs = {}
    for name, extra in (("warm", []), ("cold", ["--cold"])):
        res = CliRunner().invoke(main, [*args, *extra, "-o", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        runs[name] = json.loads((tmp_path / name / "report.json").read_text())
    warm, cold = runs["warm"], runs["cold"]
    assert "cold" not in warm["options"] and cold["options"]["cold"] is True
    assert "cold_load_bytes" not in warm["phases"]["prefill"]["memory"]
    # every weight is resident on mesh-4x4, each loaded once
    assert warm["weight_bytes"]["hbm"] == 0
    assert cold["phases"]["prefill"]["memory"]["cold_load_bytes"] == warm["weight_bytes"]["sram"]
    for key in ("latency_s", "energy_pj"):
        assert cold["phases"]["prefill"][key] > warm["phases"]["prefill"][key]
    assert "Cold run: resident weights start off chip" in (tmp_path / "cold" / "report.md").read_text()

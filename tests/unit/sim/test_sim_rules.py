"""The simulator and the mapper share one rule for clocks, HBM ports and tile spreading."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshc.hardware import load_hardware
from meshc.hardware.clocks import tile_noc_cycles
from meshc.hardware.load import preset_path
from meshc.hardware.ports import hbm_ports
from meshc.hardware.tile_cost import tile_cycles
from meshc.passes.map_mesh import machine_of
from meshc.sim.model import SimOp
from meshc.sim.replay import simulate


def vector_op(n_tiles: int = 8, rect: tuple[int, int, int, int] = (0, 0, 0, 0),
              hbm: int = 0) -> SimOp:
    work = {"macs": 0, "vector_ops": 1600, "transcendental_ops": 0, "in_bytes": 64,
            "weight_bytes": 0, "out_bytes": 64, "sram_bytes": 128}
    return SimOp(name="v", op_class="activation", kind="vector", layer=0, block="mlp",
                 region="shared", precision="bf16", n_tiles=n_tiles, tile_shape=(1, 1, 1),
                 tile_work=work, padded_macs=0, hbm_read_bytes=hbm, hbm_write_bytes=0,
                 rect=rect, planned_start_cycles=0, planned_end_cycles=1)


@pytest.fixture
def slow_core_hw(tmp_path: Path):
    """mesh-2x2 with its cores at half the NoC's clock (0.5 GHz against 1 GHz)."""
    data = yaml.safe_load(preset_path("mesh-2x2").read_text())
    data["core_types"]["core"]["clock_hz"] = 0.5e9
    data["name"] = "mesh-2x2-slow-cores"
    path = tmp_path / "slow.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_hardware(path)


def test_a_core_at_half_the_noc_clock_takes_twice_as_long(slow_core_hw) -> None:
    fast = load_hardware("mesh-2x2")
    op = vector_op()
    core = fast.core_types["core"]
    cycles = tile_cycles(op, core)
    assert cycles == 1600 // 16  # 16 lanes: 100 core cycles a tile
    assert tile_noc_cycles(op, core, fast) == 100
    assert tile_noc_cycles(op, slow_core_hw.core_types["core"], slow_core_hw) == 200
    # 8 tiles on one core: 800 cycles at 1 GHz = 0.8 us; at 0.5 GHz 1.6 us
    assert simulate([op], [], fast).latency_s == pytest.approx(0.8e-6)
    assert simulate([op], [], slow_core_hw).latency_s == pytest.approx(1.6e-6)
    # the NoC keeps its clock: the mapper's machine counts NoC cycles
    assert machine_of(slow_core_hw).clock_hz == 1e9


def test_every_attach_core_is_a_port() -> None:
    aie = load_hardware("aie-ml-like")
    ports = hbm_ports(aie)
    assert [p.core for p in ports] == [(0, c) for c in range(8)]
    assert all(p.bytes_per_s == pytest.approx(60e9 / 8) for p in ports)
    m = machine_of(aie)
    assert [p.core for p in m.hbm_ports] == [p.core for p in ports]
    assert m.hbm_bytes_per_cycle == pytest.approx(60e9 / aie.noc.clock_hz)


def test_hbm_bytes_come_from_every_port_to_the_nearest_core() -> None:
    hw = load_hardware("mesh-4x4")  # one stack at (0..3, 0), 64 B/cycle: 16 per port
    op = vector_op(n_tiles=2, rect=(0, 2, 0, 3), hbm=4 * 6400)
    sim = simulate([op], [], hw)
    assert sorted(h.port for h in sim.hbm) == [(r, 0) for r in range(4)]
    assert all(h.read_bytes == 6400 for h in sim.hbm)
    # each port's 6400 B at 16 B/cycle: 400 cycles, all four in parallel
    assert max(h.end_s for h in sim.hbm) == pytest.approx(400 / hw.noc.clock_hz)
    # from (r, 0) to the rectangle's nearest core (0, 2): r + 2 hops
    hops = sum(r + 2 for r in range(4))
    assert sim.energy_breakdown_pj["noc"] == pytest.approx(6400 * hops * hw.noc.pj_per_byte_hop)

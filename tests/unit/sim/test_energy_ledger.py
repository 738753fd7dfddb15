"""The simulator's energy ledger charges a GEMM exactly what `meshc hw cost` charges it:
one rule by memory level (hardware/tile_energy.py), per-fold SRAM re-reads included."""

from __future__ import annotations

import pytest

from meshc.commands.hw import gemm_report
from meshc.hardware import load_hardware
from meshc.sim.model import SimOp
from meshc.sim.replay import simulate

HW = load_hardware("mesh-4x4")  # (0, 1) holds an mlp core: 16x16 weight stationary


def gemm_op(m: int, k: int, n: int, tiles: int = 1, hbm_read: int = 0) -> SimOp:
    work = {"macs": m * k * n, "vector_ops": 0, "transcendental_ops": 0, "in_bytes": 2 * m * k,
            "weight_bytes": 2 * k * n, "out_bytes": 2 * m * n, "sram_bytes": 0}
    return SimOp(name="g", op_class="linear", kind="gemm", layer=0, block="mlp", region="mlp",
                 precision="bf16", n_tiles=tiles, tile_shape=(m, n, k), tile_work=work,
                 padded_macs=0, hbm_read_bytes=hbm_read, hbm_write_bytes=0, rect=(1, 1, 1, 1),
                 planned_start_cycles=0, planned_end_cycles=1, stationary_bits=16.0)


def test_the_ledger_charges_what_hw_cost_charges() -> None:
    # 64x512x256: 32 folds over k and 16 over n: A is re-read 16 times, partial sums 31
    m, k, n = 64, 512, 256
    sim = simulate([gemm_op(m, k, n)], [], HW)
    cost = gemm_report(HW, (m, k, n), "bf16", "mlp", offchip=False)["energy_breakdown_pj"]
    for part in ("mac", "reg", "sram"):
        assert sim.energy_breakdown_pj[part] == pytest.approx(cost[part]), part
    # the tile's operands once would be (64*512 + 512*256 + 64*256) * 2 B = 360 KiB; the
    # folds move A 16x, C 32 writes + 31 reads: (524288 + 131072 + 1032192) * 2 B
    assert sim.ops[0].sram_bytes == (524288 + 131072 + 1032192) * 2


def test_offchip_bytes_are_charged_at_hbm_and_land_in_sram() -> None:
    base = simulate([gemm_op(16, 16, 16, tiles=4)], [], HW).energy_breakdown_pj
    more = simulate([gemm_op(16, 16, 16, tiles=4, hbm_read=1000)], [], HW).energy_breakdown_pj
    assert more["hbm"] - base["hbm"] == pytest.approx(1000 * 8 * 3.97)  # HBM2 3.97 pJ/bit
    assert more["sram"] - base["sram"] == pytest.approx(1000 * 1.0625)  # 7 nm, 32 KiB macro
    assert set(more) == {"mac", "reg", "vector", "transcendental", "sram", "noc", "hbm",
                         "static"}

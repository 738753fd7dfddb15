"""The cost model against cases worked by hand (SCALE-Sim: folds of load + R + C - 2 + T,
minus 1 in all; tests/fidelity/test_scalesim.py checks the same rule against SCALE-Sim)."""

from __future__ import annotations

import numpy as np
import pytest

from meshc.errors import MeshcError
from meshc.hardware import CoreType, load_hardware
from meshc.hardware.cost import (
    gemm_cycles,
    gemm_energy_pj,
    gemm_ideal_cycles,
    gemm_sram_bytes,
    gemm_sram_elements,
    load_cycles,
    noc_energy_pj,
    static_energy_pj,
)
from meshc.hardware.tile_cost import tile_cycles_array
from meshc.hardware.tile_energy import offchip_pj_per_byte

UNBOUNDED = float(1 << 24)  # SRAM bytes/cycle high enough never to bind (the ceiling)


def core(n: int, dataflow: str, sram_bytes_per_cycle: float = UNBOUNDED,
         double_buffered: bool = False) -> CoreType:
    return CoreType(array_rows=n, array_cols=n, dataflow=dataflow,  # type: ignore[arg-type]
                    double_buffered=double_buffered,
                    macs_per_cycle={"bf16": n * n, "int8": 2 * n * n}, vector_lanes=16,
                    transcendental_per_cycle=2, sram_bytes=1 << 20,
                    sram_bytes_per_cycle=sram_bytes_per_cycle, clock_hz=1e9)


OS8, WS8 = core(8, "output_stationary"), core(8, "weight_stationary")
IS8 = core(8, "input_stationary")
OS128, WS128 = core(128, "output_stationary"), core(128, "weight_stationary")


@pytest.mark.parametrize(("c", "mkn", "cycles"), [
    # 8x8 output stationary: S_R = m, S_C = n, T = k, nothing to load: R + C - 2 + T per fold
    (OS8, (8, 8, 8), (8 + 8 - 2 + 8) - 1),                      # 1 fold: 21
    (OS8, (9, 8, 8), 2 * (8 + 8 - 2 + 8) - 1),                  # ragged m: ceil(9/8)=2 folds: 43
    (OS8, (16, 100, 24), 2 * 3 * (8 + 8 - 2 + 100) - 1),        # 2*3 folds of 114: 683
    (OS8, (1, 8, 1), (8 + 8 - 2 + 8) - 1),                      # 1x1 output pays the full array
    # 8x8 weight stationary: S_R = k, S_C = n, T = m, load R: 2R + C - 2 + T per fold
    (WS8, (8, 8, 8), (2 * 8 + 8 - 2 + 8) - 1),                  # 29
    (WS8, (100, 20, 8), 3 * (2 * 8 + 8 - 2 + 100) - 1),         # ceil(20/8)=3 folds: 365
    (WS8, (1, 64, 64), 8 * 8 * (2 * 8 + 8 - 2 + 1) - 1),        # GEMV: 64 folds of 23: 1471
    # 8x8 input stationary: S_R = k, S_C = m, T = n, load R
    (IS8, (8, 8, 8), (2 * 8 + 8 - 2 + 8) - 1),                  # 29
    (IS8, (100, 20, 8), 3 * 13 * (2 * 8 + 8 - 2 + 8) - 1),      # 3*13 folds of 30: 1169
    (IS8, (1, 64, 64), 8 * (2 * 8 + 8 - 2 + 64) - 1),           # GEMV: 8 folds of 86: 687
    # 128x128
    (OS128, (128, 128, 128), (128 + 128 - 2 + 128) - 1),        # 381
    (OS128, (129, 64, 130), 2 * 2 * (128 + 128 - 2 + 64) - 1),  # ragged both: 4 x 318 - 1
    (WS128, (512, 256, 128), 2 * (2 * 128 + 128 - 2 + 512) - 1),  # 2 folds of 894: 1787
    (WS128, (1, 129, 1), 2 * (2 * 128 + 128 - 2 + 1) - 1),      # ragged k: 2 x 383 - 1 = 765
])
def test_hand_computed_cycles(c: CoreType, mkn: tuple[int, int, int], cycles: int) -> None:
    assert int(gemm_cycles(*mkn, c, "bf16")) == cycles


def test_input_stationary_is_weight_stationary_with_m_and_n_swapped() -> None:
    rng = np.random.default_rng(1)
    m, k, n = (rng.integers(1, 300, 40) for _ in range(3))
    assert gemm_cycles(m, k, n, IS8, "bf16").tolist() == gemm_cycles(n, k, m, WS8, "bf16").tolist()


def test_one_by_one_array_never_below_ideal() -> None:
    # R + C - 2 = 0: folds of T cycles, and SCALE-Sim's -1 would undercut m*k*n MACs
    one = CoreType(array_rows=1, array_cols=1, dataflow="output_stationary",
                   macs_per_cycle={"bf16": 1}, vector_lanes=1, transcendental_per_cycle=1,
                   sram_bytes=1024, sram_bytes_per_cycle=UNBOUNDED, clock_hz=1e9)
    assert int(gemm_cycles(2, 3, 1, one, "bf16")) == 6  # 2 folds of 3 - 1 = 5 < 6 MACs


DB8 = core(8, "weight_stationary", double_buffered=True)
DB128 = core(128, "weight_stationary", double_buffered=True)
DBOS8 = core(8, "output_stationary", double_buffered=True)
DBIS8 = core(8, "input_stationary", double_buffered=True)


@pytest.mark.parametrize(("c", "mkn", "cycles"), [
    # double-buffered: the first fold in full, each later one max(stream, load), minus 1
    (DB8, (8, 8, 8), (2 * 8 + 8 - 2 + 8) - 1),                  # one fold: as SCALE-Sim, 29
    (DB8, (1, 64, 64), (2 * 8 + 8 - 2 + 1) + 63 * 8 - 1),       # GEMV pays the load: 526
    (DB8, (100, 20, 8), (2 * 8 + 8 - 2 + 100) + 2 * 100 - 1),   # 3 folds: 122 + 200 - 1
    (DB128, (512, 256, 128), (2 * 128 + 128 - 2 + 512) + 512 - 1),  # 894 + 512 - 1 = 1405
    # output stationary loads nothing: later folds cost their stream
    (DBOS8, (16, 100, 24), (8 + 8 - 2 + 100) + 5 * 100 - 1),    # 114 + 500 - 1 = 613
    (DBOS8, (1, 64, 64), (8 + 8 - 2 + 64) + 7 * 64 - 1),        # 78 + 448 - 1 = 525
    # input stationary hides its A load like WS hides B, and waits for it when n is short
    (DBIS8, (1, 64, 64), (2 * 8 + 8 - 2 + 64) + 7 * 64 - 1),    # 86 + 448 - 1 = 533
    (DBIS8, (16, 64, 2), (2 * 8 + 8 - 2 + 2) + 15 * 8 - 1),     # 16 folds: 24 + 120 - 1
])
def test_hand_computed_double_buffered(c: CoreType, mkn: tuple[int, int, int],
                                       cycles: int) -> None:
    assert int(gemm_cycles(*mkn, c, "bf16")) == cycles


def test_ideal_cycles() -> None:
    assert int(gemm_ideal_cycles(16, 100, 24, OS8, "bf16")) == 16 * 100 * 24 // 64  # 600
    assert int(gemm_ideal_cycles(512, 256, 128, WS128, "bf16")) == 1024  # 2^24 / 2^14
    assert int(gemm_ideal_cycles(1, 1, 1, OS8, "bf16")) == 1  # ceil(1/64)


def test_precision_scales_the_stream() -> None:
    # int8 runs 2 MACs per PE per cycle: T = 8 streams in ceil(8 * 64 / 128) = 4 cycles
    assert int(gemm_cycles(8, 8, 8, OS8, "int8")) == 8 + 8 - 2 + 4 - 1  # 17
    # int4 is not supported and runs at int8; fp8 runs at bf16
    assert int(gemm_cycles(8, 8, 8, OS8, "int4")) == 17
    assert int(gemm_cycles(8, 8, 8, OS8, "fp8")) == 21
    assert int(gemm_ideal_cycles(8, 8, 8, OS8, "int8")) == 4


def test_narrow_operands_load_faster() -> None:
    # the load path carries one row of C bf16 weights per cycle (2C bytes): a 128 x 128 fold
    # of B loads in 128 cycles at bf16, 64 at int8, 32 at int4, 33 at int4 + a 16-bit scale
    # per 128 weights (4.125 bits: ceil(128 * 4.125 / 16))
    assert [int(load_cycles(WS128, b)) for b in (16, 8, 4, 4.125)] == [128, 64, 32, 33]
    # the serial fold: load + R + C - 2 + T, B at its stored width, the stream at int8
    assert int(gemm_cycles(512, 256, 128, WS128, "int8")) == 2 * (64 + 254 + 256) - 1
    assert int(gemm_cycles(512, 256, 128, WS128, "bf16", weight_precision="int4")) == \
        2 * (32 + 254 + 512) - 1
    # input stationary holds A: the activations' width sets its load, not the weights'
    is128 = core(128, "input_stationary")
    assert int(gemm_cycles(128, 256, 512, is128, "bf16", weight_precision="int4")) == \
        2 * (128 + 254 + 512) - 1
    # a 1 x 4096 x 4096 GEMV double-buffered: 32 x 32 folds, stream 1, load 32 at int4
    db = core(128, "weight_stationary", double_buffered=True)
    assert int(gemm_cycles(1, 4096, 4096, db, "bf16", weight_precision="int4")) == \
        (32 + 254 + 1) + (32 * 32 - 1) * 32 - 1
    # a path given in the core: 128 B/cycle is half a bf16 row, so a bf16 fold takes 256
    slow = CoreType(**{**WS128.model_dump(), "weight_load_bytes_per_cycle": 128.0})
    assert int(load_cycles(slow, 16)) == 256
    with pytest.raises(ValueError, match="array_rows and array_cols are 0"):
        CoreType(array_rows=0, array_cols=0, weight_load_bytes_per_cycle=64, vector_lanes=16,
                 transcendental_per_cycle=1, sram_bytes=1 << 20, sram_bytes_per_cycle=64,
                 clock_hz=1e9)


def test_a_gemm_tile_loads_its_held_operand_at_its_recorded_width() -> None:
    # a 1 x 128 x 128 GEMV tile on a 128 x 128 WS array: the fold loads at the stored bits
    # the tile records (tile.compute's stationary_bits), at most the execution width
    def gemv(bits: float) -> int:
        return int(tile_cycles_array("gemm", WS128, "bf16", [1], [128], [128], [0], [0], [0],
                                     bits)[0])

    assert gemv(4) == 32 + 254 + 1 - 1  # int4
    assert gemv(4.125) == 33 + 254 + 1 - 1  # int4 + a 16-bit scale per 128 weights
    assert gemv(8) == 64 + 254 + 1 - 1  # int8 (a KV cache): half the bf16 load
    assert gemv(16) == gemv(32) == 128 + 254 + 1 - 1  # bf16; f32 capped at bf16 execution
    with pytest.raises(ValueError, match="stationary_bits"):
        tile_cycles_array("gemm", WS128, "bf16", [1], [128], [128], [0], [0], [0])
    # vector and memory tiles hold nothing in an array
    assert tile_cycles_array("vector", WS128, "bf16", [1], [128], [1], [640], [0], [0])[0] > 0


def test_sram_bandwidth_bounds_the_tile() -> None:
    # OS 8x8x8 bf16: A 64 el * 1 column fold + B 64 el * 1 row fold + C 64 el, 2 B each
    assert float(gemm_sram_bytes(8, 8, 8, OS8, "bf16")) == (64 + 64 + 64) * 2  # 384
    slow = core(8, "output_stationary", sram_bytes_per_cycle=8)
    assert int(gemm_cycles(8, 8, 8, slow, "bf16")) == 384 // 8  # 48 > 21 compute
    # WS 100x20x8: B 160 el once, A 2000 el * 1 column fold, C 800 el written 3 times
    # (one per fold over k) and read back twice: (160 + 2000 + 800 * 5) * 2 B
    assert float(gemm_sram_bytes(100, 20, 8, WS8, "bf16")) == (160 + 2000 + 4000) * 2
    # IS 100x20x8: A 2000 el once, B 160 el once per fold over m (ceil(100/8) = 13), C as WS
    assert {k: int(v) for k, v in gemm_sram_elements(100, 20, 8, IS8).items()} == {
        "a_read": 2000, "b_read": 160 * 13, "c_write": 800 * 3, "c_read": 800 * 2}
    assert float(gemm_sram_bytes(100, 20, 8, IS8, "bf16")) == (2000 + 2080 + 4000) * 2
    # int8 operands are 1 byte, results 2 (bf16); int4 weights are half a byte
    assert float(gemm_sram_bytes(8, 8, 8, OS8, "int8")) == 64 + 64 + 64 * 2
    assert float(gemm_sram_bytes(8, 8, 8, OS8, "bf16", weight_precision="int4")) == (
        64 * 2 + 64 * 0.5 + 64 * 2)


def test_vectorised_equals_scalar() -> None:
    rng = np.random.default_rng(0)
    m, k, n = (rng.integers(1, 300, 50) for _ in range(3))
    many = gemm_cycles(m, k, n, WS8, "bf16")
    assert many.shape == (50,)
    assert [int(gemm_cycles(a, b, c, WS8, "bf16")) for a, b, c in zip(m, k, n, strict=True)] \
        == many.tolist()


def test_gemm_energy_hand_computed() -> None:
    hw = load_hardware("mesh-4x4")  # 7 nm: bf16 MAC 0.32 pJ, int8 0.077; SRAM 1.0625 pJ/B
    mlp, att = hw.core_types["mlp"], hw.core_types["attention"]
    e = gemm_energy_pj(16, 16, 16, mlp, "bf16", hw)
    assert float(e["mac"]) == pytest.approx(16**3 * 0.32)  # 1310.72
    # WS 16x16x16 on 16x16: B 256 el, A 256 el, C 256 el (one fold over k), 2 B each
    assert float(e["sram"]) == pytest.approx(3 * 256 * 2 * 1.0625)  # 1632
    # attention has no int4: it multiplies at int8
    assert float(gemm_energy_pj(8, 8, 8, att, "int4", hw)["mac"]) == pytest.approx(512 * 0.077)


def test_noc_hbm_static_energy() -> None:
    hw = load_hardware("mesh-4x4")  # 1.12 pJ/B/hop, HBM 3.97 pJ/bit, 0.05 W/core
    assert float(noc_energy_pj(100, 3, hw)) == pytest.approx(100 * 3 * 1.12)
    read, write = offchip_pj_per_byte(hw)  # no write figure: writes cost as reads
    assert (read, write) == (pytest.approx(8 * 3.97), pytest.approx(8 * 3.97))
    assert float(static_energy_pj(1e-6, 16, hw)) == pytest.approx(1e-6 * 16 * 0.05 * 1e12)
    assert offchip_pj_per_byte(load_hardware("groq-like")) == (0.0, 0.0)


def test_bad_tiles_and_cores() -> None:
    with pytest.raises(MeshcError, match="dimension k must be at least 1"):
        gemm_cycles([4, 4], [4, 0], [4, 4], OS8, "bf16")
    vec = CoreType(array_rows=0, array_cols=0, vector_lanes=8, transcendental_per_cycle=1,
                   sram_bytes=1024, sram_bytes_per_cycle=8, clock_hz=1e9)
    assert not vec.can_gemm
    with pytest.raises(MeshcError, match="no systolic array"):
        gemm_cycles(1, 1, 1, vec, "bf16")


def test_yaml_cores_may_be_input_stationary(spec, write_spec) -> None:  # type: ignore[no-untyped-def]
    spec["core_types"]["mlp"]["dataflow"] = "input_stationary"
    ct = load_hardware(write_spec(spec, "is.yaml")).core_types["mlp"]  # 16x16, serial
    # 1x64x64: ceil(64/16) * ceil(1/16) = 4 folds of 16 + 16 + 16 - 2 + 64 = 110
    assert int(gemm_cycles(1, 64, 64, ct, "bf16")) == 4 * 110 - 1
    spec["core_types"]["mlp"]["dataflow"] = "row_stationary"
    with pytest.raises(MeshcError, match=r"core_types\.mlp\.dataflow: .*input_stationary"):
        load_hardware(write_spec(spec, "rs.yaml"))

"""The cost model against cases worked by hand (SCALE-Sim: per fold 2R + C + T - 2)."""

from __future__ import annotations

import numpy as np
import pytest

from meshc.errors import MeshcError
from meshc.hardware import CoreType, load_hardware
from meshc.hardware.cost import (
    ACTIVATION_OPS,
    activation_ops,
    gemm_cycles,
    gemm_energy_pj,
    gemm_ideal_cycles,
    gemm_sram_bytes,
    hbm_energy_pj,
    noc_energy_pj,
    static_energy_pj,
    vector_cycles,
    vector_energy_pj,
)

UNBOUNDED = float(1 << 24)  # SRAM bytes/cycle high enough never to bind (the ceiling)


def core(n: int, dataflow: str, sram_bytes_per_cycle: float = UNBOUNDED,
         double_buffered: bool = False) -> CoreType:
    return CoreType(array_rows=n, array_cols=n, dataflow=dataflow,  # type: ignore[arg-type]
                    double_buffered=double_buffered,
                    macs_per_cycle={"bf16": n * n, "int8": 2 * n * n}, vector_lanes=16,
                    transcendental_per_cycle=2, sram_bytes=1 << 20,
                    sram_bytes_per_cycle=sram_bytes_per_cycle, clock_hz=1e9)


OS8, WS8 = core(8, "output_stationary"), core(8, "weight_stationary")
OS128, WS128 = core(128, "output_stationary"), core(128, "weight_stationary")


@pytest.mark.parametrize(("c", "mkn", "cycles"), [
    # 8x8 output stationary: S_R = m, S_C = n, T = k
    (OS8, (8, 8, 8), 2 * 8 + 8 - 2 + 8),                       # 1 fold: 30
    (OS8, (9, 8, 8), 2 * (2 * 8 + 8 - 2 + 8)),                 # ragged m: ceil(9/8)=2 folds: 60
    (OS8, (16, 100, 24), 2 * 3 * (2 * 8 + 8 - 2 + 100)),       # 2*3 folds of 122: 732
    (OS8, (1, 8, 1), 2 * 8 + 8 - 2 + 8),                       # 1x1 output pays the full array
    # 8x8 weight stationary: S_R = k, S_C = n, T = m
    (WS8, (8, 8, 8), 2 * 8 + 8 - 2 + 8),                       # 30
    (WS8, (100, 20, 8), 3 * (2 * 8 + 8 - 2 + 100)),            # ceil(20/8)=3 folds: 366
    (WS8, (1, 64, 64), 8 * 8 * (2 * 8 + 8 - 2 + 1)),           # GEMV: 64 folds of 23: 1472
    # 128x128
    (OS128, (128, 128, 128), 2 * 128 + 128 - 2 + 128),         # 510
    (OS128, (129, 64, 130), 2 * 2 * (2 * 128 + 128 - 2 + 64)),  # ragged both: 4 x 446 = 1784
    (WS128, (512, 256, 128), 2 * (2 * 128 + 128 - 2 + 512)),   # 2 folds of 894: 1788
    (WS128, (1, 129, 1), 2 * (2 * 128 + 128 - 2 + 1)),         # ragged k: 2 x 383 = 766
])
def test_hand_computed_cycles(c: CoreType, mkn: tuple[int, int, int], cycles: int) -> None:
    assert int(gemm_cycles(*mkn, c, "bf16")) == cycles


DB8 = core(8, "weight_stationary", double_buffered=True)
DB128 = core(128, "weight_stationary", double_buffered=True)


@pytest.mark.parametrize(("c", "mkn", "cycles"), [
    # double-buffered: the first fold pays 2R + C - 2 + stream, each later one max(stream, R)
    (DB8, (8, 8, 8), 2 * 8 + 8 - 2 + 8),                        # one fold: as SCALE-Sim, 30
    (DB8, (1, 64, 64), (2 * 8 + 8 - 2 + 1) + 63 * 8),           # GEMV: 23 + 63 loads of 8 = 527
    (DB8, (100, 20, 8), (2 * 8 + 8 - 2 + 100) + 2 * 100),       # 3 folds: 122 + 2 * 100 = 322
    (DB128, (512, 256, 128), (2 * 128 + 128 - 2 + 512) + 512),  # 894 + 512 = 1406
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
    assert int(gemm_cycles(8, 8, 8, OS8, "int8")) == 2 * 8 + 8 - 2 + 4  # 26
    # int4 is not supported and runs at int8; fp8 runs at bf16
    assert int(gemm_cycles(8, 8, 8, OS8, "int4")) == 26
    assert int(gemm_cycles(8, 8, 8, OS8, "fp8")) == 30
    assert int(gemm_ideal_cycles(8, 8, 8, OS8, "int8")) == 4


def test_sram_bandwidth_bounds_the_tile() -> None:
    # OS 8x8x8 bf16: A 64 el * 1 column fold + B 64 el * 1 row fold + C 64 el, 2 B each
    assert float(gemm_sram_bytes(8, 8, 8, OS8, "bf16")) == (64 + 64 + 64) * 2  # 384
    slow = core(8, "output_stationary", sram_bytes_per_cycle=8)
    assert int(gemm_cycles(8, 8, 8, slow, "bf16")) == 384 // 8  # 48 > 30 compute
    # WS 100x20x8: B 160 el once, A 2000 el * 1 column fold, C 800 el written 3 times
    # (one per fold over k) and read back twice: (160 + 2000 + 800 * 5) * 2 B
    assert float(gemm_sram_bytes(100, 20, 8, WS8, "bf16")) == (160 + 2000 + 4000) * 2
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


def test_activations_silu_and_gelu_dearer_than_relu() -> None:
    hw = load_hardware("mesh-4x4")
    c = hw.core_types["mlp"]  # 16 lanes, 2 transcendental per cycle
    relu = activation_ops("relu", 1024)
    silu = activation_ops("silu", 1024)
    assert (int(relu[0]), int(relu[1])) == (1024, 0)
    assert int(vector_cycles(*relu, c)) == 1024 // 16  # 64
    assert int(vector_cycles(*silu, c)) == 2048 // 16 + 2048 // 2  # 128 + 1024
    def total(kind: str) -> float:
        return sum(float(v) for v in vector_energy_pj(*activation_ops(kind, 1024), hw).values())
    assert total("relu") == pytest.approx(1024 * 0.845)
    assert total("silu") == pytest.approx(2048 * 0.845 + 2048 * 3.8)
    for kind in ("silu", "gelu", "gelu_tanh", "sigmoid"):
        assert total(kind) > total("relu")
        assert int(vector_cycles(*activation_ops(kind, 1024), c)) > 64
    assert set(ACTIVATION_OPS) >= {"relu", "gelu", "gelu_tanh", "silu", "sigmoid", "exp",
                                   "rsqrt"}
    with pytest.raises(MeshcError, match="unknown activation"):
        activation_ops("swish2", 1)


def test_noc_hbm_static_energy() -> None:
    hw = load_hardware("mesh-4x4")  # 1.12 pJ/B/hop, HBM 3.97 pJ/bit, 0.05 W/core
    assert float(noc_energy_pj(100, 3, hw)) == pytest.approx(100 * 3 * 1.12)
    assert float(hbm_energy_pj(1000, hw)) == pytest.approx(1000 * 8 * 3.97)
    assert float(hbm_energy_pj(1000, hw, stack=0)) == pytest.approx(1000 * 8 * 3.97)
    assert float(static_energy_pj(1e-6, 16, hw)) == pytest.approx(1e-6 * 16 * 0.05 * 1e12)
    with pytest.raises(MeshcError, match="no HBM stack 3"):
        hbm_energy_pj(1, hw, stack=3)
    with pytest.raises(MeshcError, match="no HBM"):
        hbm_energy_pj(1, load_hardware("groq-like"))


def test_bad_tiles_and_cores() -> None:
    with pytest.raises(MeshcError, match="dimension k must be at least 1"):
        gemm_cycles([4, 4], [4, 0], [4, 4], OS8, "bf16")
    vec = CoreType(array_rows=0, array_cols=0, vector_lanes=8, transcendental_per_cycle=1,
                   sram_bytes=1024, sram_bytes_per_cycle=8, clock_hz=1e9)
    assert not vec.can_gemm
    with pytest.raises(MeshcError, match="no systolic array"):
        gemm_cycles(1, 1, 1, vec, "bf16")

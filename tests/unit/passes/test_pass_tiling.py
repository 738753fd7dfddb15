"""The grain search (meshc/passes/_tiling.py): hand-computed tiles, the search's choices,
and the property that no chosen tile breaks the SRAM budget (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshc.hardware import CoreType
from meshc.hardware.tile_cost import tile_cycles
from meshc.passes._tiling import (
    ATTENTION,
    GEMM,
    MEMORY,
    VECTOR,
    HwCoreCost,
    NoTileFits,
    Target,
    TileProblem,
    array_alignment,
    axis_candidates,
    candidates,
    choose,
    evaluate,
)


def core(rows: int = 16, cols: int = 16, dataflow: str = "output_stationary",
         sram: int = 524288, lanes: int = 16) -> CoreType:
    return CoreType.model_validate({
        "array_rows": rows, "array_cols": cols, "dataflow": dataflow,
        "macs_per_cycle": {"bf16": rows * cols, "int8": 2 * rows * cols},
        "vector_lanes": lanes, "transcendental_per_cycle": 2, "sram_bytes": sram,
        "sram_bytes_per_cycle": 128, "clock_hz": 1e9,
    })


def target(ct: CoreType, budget: int, n_cores: int = 4) -> Target:
    align = array_alignment([(ct.array_rows, ct.array_cols, ct.dataflow or "")])
    return Target(align=align, lanes=ct.vector_lanes, budget_bytes=budget, n_cores=n_cores,
                  costs=(HwCoreCost(ct, "bf16"),))


def test_axis_candidates_are_aligned_splits() -> None:
    assert axis_candidates(1, 16) == [1]
    assert axis_candidates(16, 16) == [16]
    c = axis_candidates(14336, 128)
    assert all(x % 128 == 0 for x in c)
    assert {128, 256, 8192, 7168, 14336} <= set(c)  # powers of two x 128, halves, the whole
    assert max(c) == 14336
    assert axis_candidates(129, 16)[-1] == 144  # one tile: rounded up to the array


def test_alignment_suits_every_array() -> None:
    os8 = (8, 8, "output_stationary")
    ws16 = (16, 16, "weight_stationary")
    assert array_alignment([os8]) == (8, 8, 1)  # OS holds m x n, k streams
    assert array_alignment([ws16]) == (1, 16, 16)  # WS holds k x n, m streams
    assert array_alignment([os8, ws16]) == (8, 16, 16)


def test_gemm_tile_by_hand() -> None:
    """[1 x 128] x [128 x 128] bf16 in (1, 64, 64) tiles: 2 x 2 tiles of 4,096 MACs."""
    p = TileProblem(GEMM, m=1, n=128, k=128, b_weight=True, macs=16384)
    e = evaluate(p, np.array([1]), np.array([64]), np.array([64]))
    assert (e["gm"][0], e["gn"][0], e["gk"][0]) == (1, 2, 2)
    assert e["macs"][0] == 4096 and e["padded_macs"][0] == 0
    assert (e["in_bytes"][0], e["weight_bytes"][0], e["out_bytes"][0]) == (128, 8192, 128)
    # double buffering plus the f32 accumulator of a K split
    assert e["sram_bytes"][0] == 2 * (128 + 8192 + 128) + 64 * 4


def test_int4_weight_tile_counts_group_scales() -> None:
    p = TileProblem(GEMM, m=1, n=128, k=128, b_bits=4, b_weight=True, group=128, macs=16384)
    e = evaluate(p, np.array([1]), np.array([32]), np.array([128]))
    assert e["weight_bytes"][0] == 32 * 128 // 2 + (32 * 128 // 128) * 2


def test_ragged_tiles_record_padding() -> None:
    """K = 129 in tiles of 80 (multiples of 16): 2 tiles cover 160 rows."""
    p = TileProblem(GEMM, m=1, n=16, k=129, b_weight=True, macs=129 * 16)
    e = evaluate(p, np.array([1]), np.array([16]), np.array([80]))
    assert e["gk"][0] == 2
    assert e["padded_macs"][0] == 2 * 80 * 16 - 129 * 16


def test_attention_tile_by_hand() -> None:
    """2 KV groups x 2 query rows, 17 cached rows, qk = v = 32 (as in tile-grain.mlir)."""
    p = TileProblem(ATTENTION, batch=2, m=2, n=64, k=17, qk=32, kv_width=64, macs=4352,
                    vector_ops=340, transcendental_ops=68)
    e = evaluate(p, np.array([2]), np.array([64]), np.array([17]))
    assert e["n_tiles"][0] == 2 and e["macs"][0] == 2176 and e["padded_macs"][0] == 0
    assert (e["vector_ops"][0], e["transcendental_ops"][0]) == (170, 34)
    assert e["in_bytes"][0] == 2 * 32 * 2 + 17 * 64 * 2
    assert e["sram_bytes"][0] == 2 * (2304 + 128) + (2 * 17 + 2 * 32) * 4


def test_vector_reduction_keeps_rows_whole() -> None:
    p = TileProblem(VECTOR, m=64, n=4096, in_bytes=64 * 4096 * 2, out_bytes=64 * 4096 * 2,
                    vector_ops=4 * 64 * 4096, split_n=False)
    c = candidates(p, target(core(), 1 << 20))
    assert set(c["tn"].tolist()) == {4096}
    assert set(c["tk"].tolist()) == {1}


def test_choose_minimises_time_within_budget() -> None:
    ct = core()
    p = TileProblem(GEMM, m=512, n=1024, k=1024, b_weight=True, macs=512 * 1024 * 1024)
    t = target(ct, 200_000)
    best = choose(p, t)
    assert best.work[-1] <= 200_000
    c = candidates(p, t)
    fits = c["sram_bytes"] <= 200_000
    cost = t.costs[0]
    moved = c["in_bytes"] + c["weight_bytes"] + c["out_bytes"]
    cyc = cost.cycles(GEMM, c["tm"], c["tn"], c["tk"], c["vector_ops"],
                      c["transcendental_ops"], moved, p.stationary_bits)
    est = -(-c["n_tiles"] // t.n_cores) * cyc
    assert best.est_cycles <= 1.02 * est[fits].min()


def test_fixed_grain_and_no_fit_message() -> None:
    p = TileProblem(GEMM, m=1, n=16384, k=16384, b_weight=True, macs=16384 * 16384)
    t = target(core(), 524288)
    assert choose(p, t, grain=128).shape == (1, 128, 128)
    with pytest.raises(NoTileFits, match=r"the grain-4096 tile \(m, n, k\) = \(1, 4096, 4096\) "
                       r"needs 67,158,016 B of SRAM with double buffering, but a core has "
                       r"524,288 B for tiles"):
        choose(p, t, grain=4096)


def test_estimate_matches_the_shared_tile_cost_rule() -> None:
    """The search ranks tiles with the rule the mapper and simulator use."""
    for ct in (core(), core(8, 8, "weight_stationary"), core(32, 16)):
        p = TileProblem(ATTENTION, batch=8, m=4, n=256, k=2049, qk=128, kv_width=256,
                        macs=8 * 4 * 2049 * 256, vector_ops=8 * 4 * 2049 * 5,
                        transcendental_ops=8 * 4 * 2049)
        t = target(ct, 400_000)
        best = choose(p, t)

        class View:
            kind = "gemm"
            precision = "bf16"
            stationary_bits = p.stationary_bits
            tile_shape = best.shape
            tile_work = dict(zip(("macs", "vector_ops", "transcendental_ops", "in_bytes",
                                  "weight_bytes", "out_bytes", "sram_bytes"), best.work,
                                 strict=True))

        assert best.tile_cycles == tile_cycles(View(), ct)


# --- property: no tile breaks the SRAM budget -------------------------------------------

cores = st.builds(
    core,
    rows=st.sampled_from([4, 8, 16, 32, 128, 320]),
    cols=st.sampled_from([4, 8, 16, 64, 128, 320]),
    dataflow=st.sampled_from(["output_stationary", "weight_stationary"]),
    sram=st.integers(16 * 1024, 64 * 1024 * 1024),
    lanes=st.sampled_from([8, 16, 32, 128]),
)
dims = st.integers(1, 20000)
bits = st.sampled_from([4, 8, 16, 32])


@st.composite
def problems(draw: st.DrawFn) -> TileProblem:
    family = draw(st.sampled_from([GEMM, ATTENTION, VECTOR, MEMORY]))
    m, n, k = draw(dims), draw(dims), draw(dims)
    a, b, o = draw(bits), draw(bits), draw(bits)
    if family == GEMM:
        return TileProblem(GEMM, batch=draw(st.integers(1, 64)), m=m, n=n, k=k, a_bits=a,
                           b_bits=b, out_bits=o, b_weight=draw(st.booleans()),
                           group=draw(st.sampled_from([0, 32, 128])), macs=m * n * k,
                           extra_macs=draw(st.integers(0, 10**9)))
    if family == ATTENTION:
        qk, v = draw(st.integers(1, 600)), draw(st.integers(1, 600))
        return TileProblem(ATTENTION, batch=draw(st.integers(1, 64)), m=m, n=qk + v, k=k,
                           qk=qk, kv_width=qk + v, a_bits=a, b_bits=b, out_bits=o,
                           weight_bytes=draw(st.integers(0, 10**8)))
    nbytes = m * n * a // 8
    return TileProblem(family, m=m, n=n, a_bits=a, out_bits=o, in_bytes=nbytes,
                       out_bytes=nbytes, weight_bytes=draw(st.integers(0, 10**5)),
                       vector_ops=4 * m * n, split_n=draw(st.booleans()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=problems(), ct=cores, frac=st.floats(0.05, 1.0), n_cores=st.integers(1, 256),
       grain=st.sampled_from([None, None, 16, 128, 1024]))
def test_no_tile_breaks_the_sram_budget(p: TileProblem, ct: CoreType, frac: float,
                                        n_cores: int, grain: int | None) -> None:
    budget = max(1, int(ct.sram_bytes * frac))
    t = target(ct, budget, n_cores)
    try:
        best = choose(p, t, grain)
    except NoTileFits:
        c = candidates(p, t, grain)
        assert c["sram_bytes"].min() > budget  # truly nothing fits
        return
    tm, tn, tk = best.shape
    assert best.work[-1] <= budget
    # the grid covers the op, alignment is kept, padding is what the grid adds
    assert best.grid[0] * tm >= p.batch * p.m and best.grid[1] * tn >= p.n
    assert best.grid[2] * tk >= p.k
    am, an, ak = t.align
    for size, full, a in ((tm, p.m, am), (tn, p.n, an), (tk, p.k, ak)):
        if p.family in (GEMM,) and grain is None:
            assert size == full or size % a == 0
    assert best.padded_macs >= 0
    assert best.n_tiles * best.work[0] - best.padded_macs == p.macs or best.padded_macs == 0

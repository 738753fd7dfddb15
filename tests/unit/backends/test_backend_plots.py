"""plots/*.png: valid, reproducible PNGs, fast on a large model."""

from __future__ import annotations

import time

import pytest
from conftest import emitted, synthetic_result

from meshc.backends.plots import RASTER_BINS, PlotsBackend, gantt_bars, gantt_raster, plot_files
from meshc.result import CompileResult

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_plot_is_a_png(result: CompileResult) -> None:
    arts = emitted("plots")
    assert sorted(arts) == sorted(path for _, path in plot_files(result))
    assert {"plots/gantt_prefill.png", "plots/gantt_decode.png", "plots/utilization.png",
            "plots/energy.png", "plots/roofline.png"} == set(arts)
    for content in arts.values():
        assert isinstance(content, bytes) and content.startswith(PNG)
        assert b"Software" not in content and b"matplotlib" not in content


def test_small_gantt_keeps_every_bar(result: CompileResult) -> None:
    p = result.phase("prefill")
    bars = gantt_bars(p, cols=2)
    assert bars is not None
    assert sum(map(len, bars.values())) == sum(len(o.cores) for o in p.ops)
    assert set(bars) == {o.op_class for o in p.ops}


def test_large_gantt_is_a_raster_of_the_busy_time() -> None:
    big = synthetic_result(layers=80, mesh=(8, 8))  # 800 ops, ~25k op-core bars
    p = big.phase("prefill")
    assert gantt_bars(p, cols=8) is None  # over MAX_BARS: drawn as a raster
    classes = sorted({o.op_class for o in p.ops})
    dominant, busy = gantt_raster(p, big.mesh, classes, RASTER_BINS, p.latency_s)
    assert dominant.shape == busy.shape == (64, RASTER_BINS)
    width = p.latency_s / RASTER_BINS
    # op time per core, binned, adds up to the time the ops occupy each core
    occupied = [0.0] * 64
    for o in p.ops:
        for r, c in o.cores:
            occupied[r * 8 + c] += o.end_s - o.start_s
    assert busy.sum(axis=1) * width == pytest.approx(occupied, rel=1e-4, abs=1e-12)
    assert ((dominant >= 0) == (busy > 0)).all()


def test_large_model_is_fast() -> None:
    big = synthetic_result(layers=80, mesh=(8, 8))
    t = time.perf_counter()
    arts = PlotsBackend().emit(big)
    elapsed = time.perf_counter() - t
    assert len(arts) == 5
    assert elapsed < 5.0, f"plots took {elapsed:.1f} s"

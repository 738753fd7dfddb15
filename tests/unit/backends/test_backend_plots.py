"""plots/*.png: valid, reproducible PNGs, fast on a large model."""

from __future__ import annotations

import time

from conftest import synthetic_result

from meshc.backends.plots import MAX_BARS, PlotsBackend, gantt_bars, plot_files
from meshc.result import CompileResult

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_plot_is_a_png(result: CompileResult) -> None:
    arts = PlotsBackend().emit(result)
    assert sorted(arts) == sorted(path for _, path in plot_files(result))
    assert {"plots/gantt_prefill.png", "plots/gantt_decode.png", "plots/utilization.png",
            "plots/energy.png", "plots/roofline.png"} == set(arts)
    for content in arts.values():
        assert isinstance(content, bytes) and content.startswith(PNG)
        assert b"Software" not in content and b"matplotlib" not in content


def test_small_gantt_keeps_every_bar(result: CompileResult) -> None:
    p = result.phase("prefill")
    bars, gap = gantt_bars(p)
    assert gap == 0
    assert sum(map(len, bars.values())) == sum(len(o.cores) for o in p.ops)


def test_large_model_is_capped_and_fast() -> None:
    big = synthetic_result(layers=80, mesh=(8, 8))  # 800 ops, ~25k op-core bars
    bars, gap = gantt_bars(big.phase("prefill"))
    assert gap > 0 and sum(map(len, bars.values())) <= MAX_BARS
    t = time.perf_counter()
    arts = PlotsBackend().emit(big)
    elapsed = time.perf_counter() - t
    assert len(arts) == 5
    assert elapsed < 5.0, f"plots took {elapsed:.1f} s"

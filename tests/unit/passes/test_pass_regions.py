"""Region growth and weight fit (meshc/passes/_regions.py), on plain values."""

from __future__ import annotations

import pytest

from meshc.passes._regions import (
    TILE_RESERVE,
    Fit,
    attention_cores,
    auto_fraction,
    hbm_order,
    roofline_cycles,
)

WEST = [(r, 0) for r in range(4)]  # mesh-4x4: one stack along column 0


def test_cores_are_ordered_by_distance_to_hbm() -> None:
    order = hbm_order(4, 4, WEST)
    assert [c for d, c in order[:4]] == WEST
    assert [d for d, _ in order] == sorted(d for d, _ in order)
    assert order[-1] == (3, (3, 3))


def test_without_hbm_the_west_edge_anchors() -> None:
    assert [c for _, c in hbm_order(2, 2, [])[:2]] == [(0, 0), (1, 0)]


def test_auto_snaps_to_whole_rings() -> None:
    # 19% of 16 cores is 3; the nearest whole ring is column 0 (4 cores)
    assert attention_cores(4, 4, WEST, 0.19, snap=True) == tuple(WEST)
    # 40% is 6: column 0 (4) is nearer than columns 0-1 (8)
    assert attention_cores(4, 4, WEST, 0.40, snap=True) == tuple(WEST)
    # 45% is 7: two columns (8) are nearer than one
    assert len(attention_cores(4, 4, WEST, 0.45, snap=True)) == 8


def test_explicit_fraction_takes_exactly_that_many_cores() -> None:
    cores = attention_cores(4, 4, WEST, 0.3, snap=False)
    assert cores == ((0, 0), (0, 1), (1, 0), (2, 0), (3, 0))


def test_regions_leave_at_least_one_core_each() -> None:
    assert len(attention_cores(4, 4, WEST, 0.0, snap=True)) == 4  # snapped to a ring
    assert len(attention_cores(4, 4, WEST, 0.0, snap=False)) == 1
    assert len(attention_cores(4, 4, WEST, 1.0, snap=False)) == 15
    # every core touches HBM (tpu-v6e-like, 1x2): the one ring is the whole mesh, so the
    # region takes part of it
    assert attention_cores(1, 2, [(0, 0), (0, 1)], 0.5, snap=True) == ((0, 0),)


def test_single_core_and_bad_fractions_raise() -> None:
    with pytest.raises(ValueError, match="at least 2 cores; the mesh is 1x1"):
        attention_cores(1, 1, [(0, 0)], 0.5, snap=True)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        attention_cores(4, 4, WEST, 1.5, snap=False)


def test_auto_fraction() -> None:
    assert auto_fraction(1.0, 3.0) == 0.25
    assert auto_fraction(0.0, 0.0) == 0.5


def test_roofline_takes_the_slower_of_compute_and_traffic() -> None:
    assert roofline_cycles(1024, 0, 0, 10, 256, 16, 2, 128) == 4.0
    assert roofline_cycles(1024, 0, 0, 1280, 256, 16, 2, 128) == 10.0


def test_fit_reports_the_exact_shortfall() -> None:
    f = Fit(what="MLP weights", region="mlp", need=786_688, sram_bytes=2 * 524_288,
            n_cores=2, layers=1)
    assert f.hold == int(2 * 524_288 * (1 - TILE_RESERVE)) == 786_432
    assert not f.fits and f.short == 256
    assert f.note(suggest_int4=True) == (
        "MLP weights need 786,688 B but the mlp region's SRAM holds 786,432 B (75% of "
        "1,048,576 B on 2 cores; the rest is kept for tiles), short by 256 B: use int4 weights "
        "(lower-quant{weights=int4}), or a mesh with more SRAM (1,048,918 B in the mlp region)")


def test_fit_suggests_fewer_layers_when_some_fit() -> None:
    # 10 layers of 100 B plus 50 B outside the layers, 400 B of room: 3 layers fit
    f = Fit(what="Weights", region="shared", need=1050, sram_bytes=533, n_cores=1,
            layers=10, fixed=50)
    assert f.hold == 399 and f.layers_that_fit == 3
    assert "fewer layers per chip (3 of 10 fit)" in f.note(suggest_int4=False)
    assert "int4" not in f.note(suggest_int4=False)
    assert Fit(what="W", region="r", need=10, sram_bytes=100, n_cores=1).fits

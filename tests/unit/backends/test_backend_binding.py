"""What binds a phase, on hand-computed phases."""

from __future__ import annotations

import dataclasses

import pytest

from meshc.backends.binding import phase_binding
from meshc.result import CompileResult, MapperStats, PhaseResult, TransferRecord

_M = MapperStats(solver="heft", status="HEFT", makespan_s=1.0, heft_makespan_s=1.0,
                 lower_bound_s=1.0, solve_time_s=0.0, fell_back=False)
# 1 s of latency on a 1 TFLOP/s chip of two cores
_P = PhaseResult(name="decode", tokens=1, latency_s=1.0, lower_bound_s=1.0, macs=0,
                 peak_flops=1e12, energy_breakdown_pj={}, energy_by_op_class_pj={},
                 core_busy_s={"0,0": 0.0, "0,1": 0.0}, sram_peak_bytes={}, mapper=_M, ops=(),
                 transfers=(), hbm=(), n_cores=2)


def test_compute_bound() -> None:
    p = dataclasses.replace(_P, macs=400_000_000_000, core_busy_s={"0,0": 0.85, "0,1": 0.8})
    b = phase_binding(p, 1e9)
    assert b.shares["compute"] == pytest.approx(0.8)  # 2 * 4e11 FLOP / 1e12 FLOP/s / 1 s
    assert b.shares["arrays"] == pytest.approx(0.05)
    assert b.bound_by == "compute"


def test_arrays_busy_beyond_macs_bind_a_gemv() -> None:
    p = dataclasses.replace(_P, macs=5_000_000_000, core_busy_s={"0,0": 0.9, "0,1": 0.2})
    b = phase_binding(p, 1e9)
    assert b.shares["arrays"] == pytest.approx(0.89)
    assert b.bound_by == "arrays"


def test_noc_and_dependencies() -> None:
    link = ((0, 0), (0, 1))
    t = TransferRecord(src_op="a", dst_op="b", src_core=(0, 0), dst_core=(0, 1), bytes=1,
                       hops=1, start_s=0.1, end_s=0.4, links=(link,))
    p = dataclasses.replace(_P, transfers=(t, dataclasses.replace(t, start_s=0.5, end_s=0.8)))
    assert phase_binding(p, 1e9).shares["noc"] == pytest.approx(0.6)
    assert phase_binding(p, 1e9).bound_by == "noc"
    assert phase_binding(_P, 1e9).bound_by == "dependencies"


def test_spills_and_phase_inputs_count_as_hbm_traffic(result: CompileResult) -> None:
    """0.5 s of off-chip traffic at 1 GB/s in a 1 s phase: half of it spills and inputs."""
    p = result.phase("decode")
    op = dataclasses.replace(p.ops[0], hbm_read_bytes=250_000_000, hbm_write_bytes=0,
                             spill_write_bytes=100_000_000, spill_read_bytes=100_000_000,
                             input_read_bytes=40_000_000, output_write_bytes=10_000_000)
    phase = dataclasses.replace(_P, ops=(op,))
    assert phase_binding(phase, 1e9).shares["hbm"] == pytest.approx(0.5)
    assert phase_binding(phase, 1e9).bound_by == "hbm"

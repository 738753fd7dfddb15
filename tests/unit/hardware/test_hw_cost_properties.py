"""Properties of the cost model over random tiles, on every preset's core types."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshc.hardware import PRECISIONS, CoreType, Hardware, load_hardware, preset_names
from meshc.hardware.cost import gemm_cycles, gemm_energy_pj, gemm_ideal_cycles

CORES: list[tuple[Hardware, CoreType]] = [
    (hw, ct) for hw in map(load_hardware, preset_names())
    for ct in hw.core_types.values() if ct.can_gemm
]


def _runnable(ct: CoreType) -> list[str]:
    """Precisions the core can execute (natively or widened)."""
    return [p for p in PRECISIONS if ct.can_run(p)]


dims = st.integers(1, 3000)
cases = st.sampled_from(CORES).flatmap(
    lambda hc: st.tuples(st.just(hc), st.sampled_from(_runnable(hc[1])), dims, dims, dims))
PROPS = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(cases)
def test_cycles_never_below_ideal(case) -> None:  # type: ignore[no-untyped-def]
    (_, ct), p, m, k, n = case
    ideal = int(gemm_ideal_cycles(m, k, n, ct, p))
    assert int(gemm_cycles(m, k, n, ct, p)) >= ideal
    # and the ideal is MACs over the array's MACs per cycle
    assert ideal * ct.macs_per_cycle[ct.exec_precision(p)] >= m * k * n


@PROPS
@given(cases)
def test_double_buffering_between_ideal_and_serial(case) -> None:  # type: ignore[no-untyped-def]
    (_, ct), p, m, k, n = case
    serial = int(gemm_cycles(m, k, n, ct.model_copy(update={"double_buffered": False}), p))
    db = int(gemm_cycles(m, k, n, ct.model_copy(update={"double_buffered": True}), p))
    assert int(gemm_ideal_cycles(m, k, n, ct, p)) <= db <= serial


@PROPS
@given(cases, st.integers(0, 2), st.integers(1, 500))
def test_monotone_in_each_dimension(case, axis: int, grow: int) -> None:  # type: ignore[no-untyped-def]
    (hw, ct), p, m, k, n = case
    small = [m, k, n]
    big = list(small)
    big[axis] += grow
    assert int(gemm_cycles(*big, ct, p)) >= int(gemm_cycles(*small, ct, p))
    e_small = gemm_energy_pj(*small, ct, p, hw)
    e_big = gemm_energy_pj(*big, ct, p, hw)
    for key in e_small:
        assert float(e_big[key]) >= float(e_small[key])


@PROPS
@given(cases)
def test_energy_non_negative(case) -> None:  # type: ignore[no-untyped-def]
    (hw, ct), p, m, k, n = case
    e = gemm_energy_pj(m, k, n, ct, p, hw)
    assert set(e) == {"mac", "reg", "sram"}
    assert all(float(v) >= 0 for v in e.values())


@PROPS
@given(cases)
def test_lower_precision_never_costs_more_per_mac(case) -> None:  # type: ignore[no-untyped-def]
    (hw, ct), _, m, k, n = case
    per_mac = [sum(float(v) for v in gemm_energy_pj(m, k, n, ct, p, hw).values()) / (m * k * n)
               for p in _runnable(ct)]
    assert per_mac == sorted(per_mac)

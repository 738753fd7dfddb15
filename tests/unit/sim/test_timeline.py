"""The simulator's resource timeline: bookings fill idle time in time order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from meshc.hardware.transfers import xy_route
from meshc.sim.timeline import Timeline


def test_a_later_booking_does_not_block_an_earlier_one() -> None:
    t = Timeline()
    assert t.reserve(100.0, 10.0) == (100.0, 110.0)
    assert t.reserve(0.0, 5.0) == (0.0, 5.0)  # replayed later, served first
    assert t.reserve(98.0, 6.0) == (98.0, 114.0)  # 2 before the busy span, 4 after it
    assert t.busy == [(0.0, 5.0), (98.0, 114.0)]


@given(st.lists(st.tuples(st.floats(0, 1e3), st.floats(0.1, 50)), max_size=30))
def test_bookings_never_overlap_and_keep_their_length(requests: list[tuple[float, float]]) -> None:
    t = Timeline()
    total = 0.0
    for start, dur in requests:
        first, last = t.reserve(start, dur)
        assert start <= first <= last
        assert last - first >= dur - 1e-9
        total += dur
    assert all(a[1] <= b[0] for a, b in zip(t.busy, t.busy[1:], strict=False))
    assert abs(sum(b - a for a, b in t.busy) - total) < 1e-6 * max(1.0, total)


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 30)), max_size=40))
def test_bookings_merge_like_a_whole_resort(requests: list[tuple[int, int]]) -> None:
    """reserve() re-merges only the intervals a booking touches; the busy list is what
    sorting and merging everything would give, touching intervals joined."""
    t = Timeline()
    for start, dur in requests:
        before = list(t.busy)
        t.reserve(float(start), float(dur))
        assert t.busy == _resorted(before + _gaps_filled(before, float(start), float(dur)))


def _gaps_filled(busy: list[tuple[float, float]], start: float,
                 dur: float) -> list[tuple[float, float]]:
    out, t, left = [], start, dur
    for a, b in [*busy, (float("inf"), float("inf"))]:
        if b <= t:
            continue
        if a > t:
            take = min(left, a - t)
            out.append((t, t + take))
            left -= take
            if left <= 0:
                break
        t = max(t, b)
    return out


def _resorted(busy: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(busy):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def test_xy_routes_along_the_row_then_the_column() -> None:
    assert xy_route((0, 0), (2, 1)) == [((0, 0), (0, 1)), ((0, 1), (1, 1)), ((1, 1), (2, 1))]
    assert xy_route((1, 1), (1, 1)) == []

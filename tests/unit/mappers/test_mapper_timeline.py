"""List scheduling's timeline: atoms of cores answer exactly as every core would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from meshc.mappers.timeline import Timeline, core_atoms

COLS = 6


def _rect(r0: int, c0: int, h: int, w: int) -> tuple[int, ...]:
    return tuple(r * COLS + c for r in range(r0, min(COLS, r0 + h))
                 for c in range(c0, min(COLS, c0 + w)))


def test_atoms_split_cores_by_the_sets_that_hold_them() -> None:
    whole, left = _rect(0, 0, 2, 2), _rect(0, 0, 2, 1)
    atoms, n = core_atoms([whole, left, whole])
    assert n == 2  # the left column, and the rest of the 2x2 square
    assert atoms[0] == atoms[2] == (0, 1)
    assert len(atoms[1]) == 1


rects = st.builds(_rect, st.integers(0, 5), st.integers(0, 5), st.integers(1, 6),
                  st.integers(1, 6))
bookings = st.lists(st.tuples(rects, st.integers(0, 100), st.integers(1, 30),
                              st.sampled_from([0, 0, 20_000, 50_000])), max_size=25)


@given(bookings)
def test_a_timeline_over_atoms_schedules_like_one_over_cores(ops: list[tuple[
        tuple[int, ...], int, int, int]]) -> None:
    atoms, n = core_atoms(cores for cores, _, _, _ in ops)
    by_core, by_atom = Timeline(COLS * COLS), Timeline(n)
    for (cores, ready, d, share), mine in zip(ops, atoms, strict=True):
        t = by_core.earliest(cores, ready, d, share)
        assert by_atom.earliest(mine, ready, d, share) == t
        by_core.add(cores, t, t + d, share)
        by_atom.add(mine, t, t + d, share)

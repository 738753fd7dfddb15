"""Candidate rectangles: inside the usable cores, few, deterministic."""

from __future__ import annotations

from meshc.mappers.rects import Rect, candidate_rects, rect_hops


def _grid(rows: int, cols: int, kind: str = "a") -> dict[tuple[int, int], str]:
    return {(r, c): kind for r in range(rows) for c in range(cols)}


def test_hops_between_rectangles() -> None:
    assert rect_hops(Rect(0, 0, 1, 1), Rect(1, 1, 2, 2)) == 0
    assert rect_hops(Rect(0, 0, 0, 0), Rect(2, 3, 3, 3)) == 5
    assert rect_hops(Rect(0, 0, 3, 0), Rect(0, 1, 3, 2)) == 1


def test_candidates_stay_in_usable_cores_and_are_capped() -> None:
    usable = _grid(8, 8)
    for n_tiles in (1, 5, 64, 1000):
        rects = candidate_rects(usable, n_tiles, 24)
        assert 1 <= len(rects) <= 24
        assert all(set(r.cores()) <= set(usable) for r in rects)
        assert rects == candidate_rects(usable, n_tiles, 24)
    assert Rect(0, 0, 7, 7) in candidate_rects(usable, 1000, 24)
    assert max(r.n_cores for r in candidate_rects(usable, 4, 24)) == 4


def test_non_rectangular_region_and_type_blocks() -> None:
    edges = {k: "attn" for k in _grid(4, 4) if k[1] in (0, 3)}
    rects = candidate_rects(edges, 64, 24)
    assert Rect(0, 0, 3, 0) in rects and Rect(0, 3, 3, 3) in rects
    # the two edge columns together, as one strided rectangle, and nothing in between
    assert Rect(0, 0, 3, 3, cs=3) in rects
    assert Rect(0, 0, 3, 3, cs=3).cores() == tuple((r, c) for r in range(4) for c in (0, 3))
    assert all(set(r.cores()) <= set(edges) for r in rects)
    assert all(r.width == 1 or r.cs == 3 for r in rects)
    mixed = _grid(4, 4, "attn") | {(r, c): "mlp" for r in range(4) for c in (1, 2)}
    assert Rect(0, 1, 3, 2) in candidate_rects(mixed, 64, 24)


def test_a_core_type_block_of_any_width_is_a_candidate() -> None:
    # mesh-8x8's layout: attention cores on the edge columns, 48 mlp cores in columns 1-6.
    # Widths come from the type's bounding box too, so the whole mlp block (6 wide, not a
    # power of two) is a candidate: a GEMM gets 48 fast cores, not 32.
    mixed = _grid(8, 8, "attention") | {(r, c): "mlp" for r in range(8) for c in range(1, 7)}
    assert Rect(0, 1, 7, 6) in candidate_rects(mixed, 14336, 24)

"""Core rectangles and the small, deterministic set of candidate rectangles per op.

An op runs on one axis-aligned rectangle of cores (`Rect`, inclusive bounds). Its candidates
are generated from the cores it may use (its region, restricted to cores whose type runs it
and whose SRAM holds one tile):

1. Side lengths are the powers of two below the region's bounding-box extent plus the full
   extent of the region's bounding box and of each core type's bounding box (so an 8-wide
   region whose fast cores fill its 6 middle columns offers widths 1, 2, 4, 6 and 8).
2. A shape (h, w) is kept when it is near-square (neither side more than twice the other) or
   spans one of those bounding boxes in one direction (full row or column spans).
3. Positions are aligned to the shape (row offsets multiple of h, column offsets of w) from
   the corner of the bounding box and from the corner of each core type's bounding box (so a
   block of fast cores in the middle of a mixed region is a candidate); a rectangle is kept
   only if every core in it is usable.
4. No rectangle larger than needed: if some kept rectangle holds all tiles in one wave, larger
   ones are dropped; and none so small that it needs more than `MAX_WAVE_RATIO` times the
   waves of the largest one.
5. While more than `max_candidates` remain, the shape with the most positions (ties: fewer
   cores) keeps every other position.

Candidates are sorted by (cores, height, row, col).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from meshc.mappers.problem import Core

MAX_WAVE_RATIO = 8


@dataclass(frozen=True, slots=True, order=True)
class Rect:
    """Cores r0..r1 x c0..c1, bounds inclusive."""

    r0: int
    c0: int
    r1: int
    c1: int

    @property
    def height(self) -> int:
        return self.r1 - self.r0 + 1

    @property
    def width(self) -> int:
        return self.c1 - self.c0 + 1

    @property
    def n_cores(self) -> int:
        return self.height * self.width

    def cores(self) -> tuple[Core, ...]:
        """The rectangle's cores in row-major order (the tile spreading order)."""
        return tuple((r, c) for r in range(self.r0, self.r1 + 1)
                     for c in range(self.c0, self.c1 + 1))

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.r0, self.c0, self.r1, self.c1)


def rect_hops(a: Rect, b: Rect) -> int:
    """Manhattan distance between the closest cores of `a` and `b` (0 if they overlap)."""
    dr = max(0, a.r0 - b.r1, b.r0 - a.r1)
    dc = max(0, a.c0 - b.c1, b.c0 - a.c1)
    return dr + dc


def _extents(n: int, full: Iterable[int]) -> list[int]:
    """Powers of two below `n`, plus the `full` extents of the bounding boxes."""
    sizes = set(full)
    p = 1
    while p < n:
        sizes.add(p)
        p *= 2
    return sorted(sizes)


def _bbox(cores: Iterable[Core]) -> Rect:
    rows = [r for r, _ in cores]
    cols = [c for _, c in cores]
    return Rect(min(rows), min(cols), max(rows), max(cols))


def _shape_rects(cores: frozenset[Core], h: int, w: int, boxes: list[Rect]) -> list[Rect]:
    out: set[Rect] = set()
    for box in boxes:
        for r0 in range(box.r0, box.r1 - h + 2, h):
            for c0 in range(box.c0, box.c1 - w + 2, w):
                rect = Rect(r0, c0, r0 + h - 1, c0 + w - 1)
                if all(core in cores for core in rect.cores()):
                    out.add(rect)
    return sorted(out)


def _waves(n_tiles: int, n_cores: int) -> int:
    return -(-n_tiles // n_cores)


def candidate_rects(
    usable: Mapping[Core, str], n_tiles: int, max_candidates: int
) -> tuple[Rect, ...]:
    """The candidate rectangles of an op with `n_tiles` tiles over the `usable` cores (core ->
    core type)."""
    cores = frozenset(usable)
    if not cores:
        return ()
    box = _bbox(cores)
    kinds = sorted(set(usable.values()))
    boxes = [box] + [_bbox([k for k in cores if usable[k] == kind]) for kind in kinds]
    heights = {b.height for b in boxes}
    widths = {b.width for b in boxes}
    by_shape: dict[tuple[int, int], list[Rect]] = {}
    for h in _extents(box.height, heights):
        for w in _extents(box.width, widths):
            square = max(h, w) <= 2 * min(h, w)
            if square or h in heights or w in widths:
                rects = _shape_rects(cores, h, w, boxes)
                if rects:
                    by_shape[(h, w)] = rects
    sizes = sorted({h * w for h, w in by_shape})
    one_wave = [s for s in sizes if s >= n_tiles]
    cap = one_wave[0] if one_wave else sizes[-1]
    best_waves = _waves(n_tiles, cap)
    by_shape = {
        s: r for s, r in by_shape.items()
        if s[0] * s[1] <= cap and _waves(n_tiles, s[0] * s[1]) <= MAX_WAVE_RATIO * best_waves
    }
    while sum(len(r) for r in by_shape.values()) > max_candidates:
        shape = max(sorted(by_shape), key=lambda s: (len(by_shape[s]), -s[0] * s[1]))
        if len(by_shape[shape]) > 1:
            by_shape[shape] = by_shape[shape][::2]
        else:
            del by_shape[min(sorted(by_shape), key=lambda s: s[0] * s[1])]
    rects = [r for rs in by_shape.values() for r in rs]
    return tuple(sorted(rects, key=lambda r: (r.n_cores, r.height, r.r0, r.c0)))
